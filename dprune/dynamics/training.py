"""Training stage: runs that produce per-example training dynamics.

Two trainers produce the same :class:`~dprune.dynamics.records.Dynamics` (one table,
one row per presentation of an example, see :mod:`dprune.dynamics.records`):

* :func:`train_linear_probe` trains a softmax regression (or a one-hidden-layer
  MLP) on cached sentence embeddings with mini-batch SGD/Adam in torch. It
  takes seconds on CPU for tens of thousands of examples, and records every
  presentation from the training forward pass, exactly like the callback.
* :func:`finetune_dynamics` fine-tunes a transformer (default: the bundled
  all-MiniLM-L6-v2 with a classification head) with ``transformers.Trainer``
  and :class:`~dprune.dynamics.callback.ForgettingCallback`.

Both train one run per seed; the scorers average over seeds.

:func:`dynamics_stage` runs either trainer against an
:class:`~dprune.store.ArtifactStore`: the artifact gets one shard per (seed,
epoch), committed as soon as the epoch ends, and fine-tuning checkpoints once
per epoch, so a run killed mid-way resumes from its last checkpoint and
recomputes only the missing shards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.base import MissingColumnError
from dprune.dynamics.records import DYNAMICS_STAGE, Dynamics, _records_table, batch_dynamics, dynamics_schema
from dprune.data.labels import LabelMapping, encode_labels

__all__ = [
    "DYNAMICS_STAGE_VERSION",
    "dynamics_stage",
    "finetune_dynamics",
    "train_linear_probe",
]

#: Bump when the training recipe or the recorded statistics change.
DYNAMICS_STAGE_VERSION = 1
_METHODS = ("linear_probe", "fine_tune")


# --------------------------------------------------------------------------- inputs
def _as_seeds(seeds: int | Sequence[int], owner: str) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = [int(seeds)]
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise ValueError(
            f"The 'seeds' parameter of {owner} must be an int >= 0 or a non-empty list of them. Got {seeds!r} instead."
        )
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"The 'seeds' parameter of {owner} has duplicates: {seeds}. Each run needs its own seed.")
    return [int(s) for s in seeds]


def _check_positive_int(name: str, value: Any, owner: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"The {name!r} parameter of {owner} must be an int >= 1. Got {value!r} instead.")


def _ids_of(dataset: Dataset, id_column: str | None) -> tuple[np.ndarray, str | None]:
    from dprune.core.base import column_to_numpy

    if id_column is not None and id_column in dataset.column_names:
        ids = column_to_numpy(dataset, id_column)
        if len(np.unique(ids)) != len(ids):
            raise ValueError(
                f"The id column {id_column!r} has duplicate values; ids must identify rows uniquely. Deduplicate "
                "the ids or pass id_column=None to identify rows by position."
            )
        return ids, id_column
    return np.arange(len(dataset), dtype=np.int64), None


def _embedding_matrix(dataset: Dataset, embeddings: Any, owner: str) -> np.ndarray:
    """A float32 (n, d) matrix from an array or the name of a dataset column of vectors."""
    if isinstance(embeddings, str):
        if embeddings not in dataset.column_names:
            raise MissingColumnError(
                f"{owner}: embeddings={embeddings!r} names no column of the dataset (it has {dataset.column_names}). "
                "Pass a numpy array of shape (n_rows, dim) or the name of a column of vectors."
            )
        column = dataset.with_format("numpy")[embeddings]
        matrix = np.asarray(column if not isinstance(column, list) else np.stack(column))
    else:
        matrix = np.asarray(embeddings)
    if matrix.dtype == object or matrix.ndim != 2:
        raise ValueError(
            f"{owner}: embeddings must be a 2-D array of shape (n_rows, dim); got shape {matrix.shape} and dtype "
            f"{matrix.dtype}."
        )
    if matrix.shape[0] != len(dataset):
        raise ValueError(
            f"{owner}: embeddings have {matrix.shape[0]} rows but the dataset has {len(dataset)}; they must be "
            "row-aligned (embedding i belongs to dataset row i)."
        )
    matrix = matrix.astype(np.float32, copy=False)
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{owner}: embeddings contain NaN or infinite values.")
    return matrix


# --------------------------------------------------------------------------- linear probe
def train_linear_probe(
    dataset: Dataset,
    embeddings: np.ndarray | str,
    *,
    label_column: str = "label",
    id_column: str | None = "row_id",
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    weight_decay: float = 0.0,
    hidden_size: int = 0,
    standardize: bool = True,
    seeds: int | Sequence[int] = (0, 1, 2),
    device: str | None = None,
    epoch_sink: Callable[[int, int, pa.Table], Any] | None = None,
    skip: Callable[[int, int], bool] | None = None,
) -> Dynamics:
    """Train a linear probe (or small MLP) on embeddings and record its dynamics.

    Each seed draws its own initialization and its own shuffling; every epoch visits
    every example once in mini-batches of ``batch_size``, and each presentation is
    recorded from that mini-batch's forward pass (before the update it causes).

    Parameters
    ----------
    dataset : datasets.Dataset
        Provides the labels (``label_column``) and ids (``id_column``).
    embeddings : numpy.ndarray of shape (n_rows, dim) or str
        The vectors, row-aligned with ``dataset``, or the name of a dataset column of vectors.
    label_column : str, default "label"
        Class labels (int, str, bool or ClassLabel; mapped to ids, mapping recorded).
    id_column : str or None, default "row_id"
        Stable row ids recorded with each presentation (positions when absent).
    epochs, batch_size : int
        Passes over the data and mini-batch size.
    learning_rate, weight_decay : float
        Adam settings.
    hidden_size : int, default 0
        0: softmax regression; > 0: one hidden ReLU layer of that width.
    standardize : bool, default True
        Center and scale each embedding dimension first.
    seeds : int or sequence of int, default (0, 1, 2)
        One run per seed.
    device : str, optional
        Torch device (default CPU).
    epoch_sink : callable, optional
        ``epoch_sink(seed, epoch, table)`` after every epoch (to persist shards).
    skip : callable, optional
        ``skip(seed, epoch) -> bool``; the epoch is still trained but not handed to the sink.

    Returns
    -------
    Dynamics
    """
    import torch

    owner = "train_linear_probe"
    if not isinstance(dataset, Dataset):
        raise TypeError(f"{owner} expects a datasets.Dataset. Got {type(dataset).__name__} instead.")
    if len(dataset) == 0:
        raise ValueError(f"{owner} got an empty dataset (0 rows).")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        _check_positive_int(name, value, owner)
    if isinstance(hidden_size, bool) or not isinstance(hidden_size, (int, np.integer)) or hidden_size < 0:
        raise ValueError(f"The 'hidden_size' parameter of {owner} must be an int >= 0. Got {hidden_size!r} instead.")
    if not learning_rate > 0:
        raise ValueError(f"The 'learning_rate' parameter of {owner} must be > 0. Got {learning_rate!r} instead.")
    seeds = _as_seeds(seeds, owner)
    ids, used_id_column = _ids_of(dataset, id_column)
    labels, mapping = encode_labels(dataset, label_column, ids=ids, owner=owner)
    features = _embedding_matrix(dataset, embeddings, owner)
    if standardize:
        features = (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-6)
    device = torch.device(device or "cpu")
    x_all = torch.from_numpy(np.ascontiguousarray(features)).to(device)
    y_all = torch.from_numpy(labels).to(device)
    n, dim = features.shape
    num_labels = mapping.num_labels
    meta = _meta(
        "linear_probe", mapping, used_id_column, n, seeds,
        {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "weight_decay": weight_decay,
         "hidden_size": hidden_size, "standardize": standardize},
    )
    parts = []
    with _cpu_threads(1 if device.type == "cpu" else None):
        for seed in seeds:
            parts.extend(_probe_run(seed, x_all, y_all, ids, labels, num_labels, epochs, batch_size, learning_rate,
                                    weight_decay, hidden_size, epoch_sink, skip))
    return Dynamics(pa.concat_tables(parts), meta)


@contextlib.contextmanager
def _cpu_threads(count: int | None):
    """Run with ``count`` torch CPU threads: tiny matrix products are fastest (and do not fight
    other processes for cores) on one thread."""
    import torch

    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _probe_run(seed, x_all, y_all, ids, labels, num_labels, epochs, batch_size, learning_rate, weight_decay,
               hidden_size, epoch_sink, skip) -> list[pa.Table]:
    """One seed of :func:`train_linear_probe`: a table of records per epoch."""
    import torch

    n, dim = x_all.shape
    device = x_all.device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    torch.manual_seed(seed)
    if hidden_size:
        model = torch.nn.Sequential(
            torch.nn.Linear(dim, hidden_size), torch.nn.ReLU(), torch.nn.Linear(hidden_size, num_labels)
        )
    else:
        model = torch.nn.Linear(dim, num_labels)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    parts, step = [], 0
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator).to(device)
        stats, steps = [], []
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            logits = model(x_all[index])
            target = y_all[index]
            loss = torch.nn.functional.cross_entropy(logits, target)
            stats.append(batch_dynamics(logits, target))
            steps.append(np.full(len(index), step, dtype=np.int64))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
        positions = order.cpu().numpy()
        columns = {
            "seed": np.full(n, seed, dtype=np.int64),
            "epoch": np.full(n, epoch, dtype=np.int64),
            "step": np.concatenate(steps),
            "position": positions,
            "row_id": ids[positions],
            "label": labels[positions],
        }
        for field in ("pred", "correct", "prob", "margin", "loss", "el2n"):
            columns[field] = torch.cat([s[field] for s in stats]).cpu().numpy()
        table = _records_table(columns)
        if epoch_sink is not None and not (skip is not None and skip(seed, epoch)):
            epoch_sink(seed, epoch, table)
        parts.append(table)
    return parts


def _meta(source, mapping: LabelMapping, id_column, n, seeds, config) -> dict[str, Any]:
    return {
        "source": source,
        "mode": "forward",
        "num_labels": mapping.num_labels,
        "label_mapping": mapping.to_dict(),
        "id_column": id_column,
        "n_examples": int(n),
        "seeds": list(seeds),
        "config": config,
    }


# --------------------------------------------------------------------------- fine-tuning
def finetune_dynamics(
    dataset: Dataset,
    *,
    model: str | os.PathLike = "all-MiniLM-L6-v2",
    text_column: str = "text",
    label_column: str = "label",
    id_column: str | None = "row_id",
    epochs: int = 2,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    max_length: int = 128,
    seeds: int | Sequence[int] = (0,),
    output_dir: str | os.PathLike | None = None,
    resume: bool = True,
    training_args: Mapping[str, Any] | None = None,
    mode: str = "forward",
    epoch_sink: Callable[[int, int, pa.Table], Any] | None = None,
    skip_seed: Callable[[int], bool] | None = None,
) -> Dynamics:
    """Fine-tune a transformer classifier with ``Trainer`` and record its dynamics.

    The model is ``AutoModelForSequenceClassification.from_pretrained(model, num_labels=C)``
    (default: the bundled all-MiniLM-L6-v2 with a new classification head), trained once
    per seed with :class:`~dprune.dynamics.callback.ForgettingCallback` attached.

    Parameters
    ----------
    dataset : datasets.Dataset
        Texts, labels and (optionally) stable ids.
    model : str or path, default "all-MiniLM-L6-v2"
        Checkpoint to fine-tune (resolved with :func:`dprune.models.resolve_model_name`).
    text_column, label_column, id_column : str
        Columns of ``dataset``; labels may be int, str, bool or ClassLabel (mapping recorded).
    epochs, batch_size, learning_rate, max_length
        Training settings (``max_length``: tokens per text after truncation).
    seeds : int or sequence of int, default (0,)
        One fine-tuning run per seed.
    output_dir : path, optional
        Where checkpoints go (``seed-<n>/checkpoint-*``, one per epoch, the last kept).
        With ``resume=True`` a run finds its last checkpoint there and continues from it,
        dynamics included. ``None``: a temporary folder, no checkpoints.
    training_args : dict, optional
        Extra ``TrainingArguments`` (override the defaults above).
    mode : {"forward", "predict"}, default "forward"
        Callback mode; ``"predict"`` is the original end-of-epoch prediction pass.
    epoch_sink : callable, optional
        ``epoch_sink(seed, epoch, table)`` after each completed epoch.
    skip_seed : callable, optional
        ``skip_seed(seed) -> bool``: seeds to leave out (e.g. already stored).

    Returns
    -------
    Dynamics
        The runs that were trained (all seeds unless some were skipped).
    """
    import tempfile

    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )
    from transformers.trainer_utils import get_last_checkpoint

    from dprune.dynamics.callback import ForgettingCallback
    from dprune.models import resolve_model_name

    owner = "finetune_dynamics"
    if not isinstance(dataset, Dataset):
        raise TypeError(f"{owner} expects a datasets.Dataset. Got {type(dataset).__name__} instead.")
    if len(dataset) == 0:
        raise ValueError(f"{owner} got an empty dataset (0 rows).")
    if text_column not in dataset.column_names:
        raise MissingColumnError(f"{owner} needs a text column {text_column!r} but the dataset has {dataset.column_names}.")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("max_length", max_length)):
        _check_positive_int(name, value, owner)
    seeds = _as_seeds(seeds, owner)
    ids, used_id_column = _ids_of(dataset, id_column)
    labels, mapping = encode_labels(dataset, label_column, ids=ids, owner=owner)
    path = resolve_model_name(model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    train = _tokenized(dataset, tokenizer, text_column, max_length, labels, ids if used_id_column else None,
                       used_id_column)
    temporary = output_dir is None
    root = tempfile.mkdtemp(prefix="dprune-finetune-") if temporary else os.fspath(output_dir)
    config = {"model": os.fspath(model), "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
              "max_length": max_length, "mode": mode, **dict(training_args or {})}
    parts = []
    try:
        for seed in seeds:
            if skip_seed is not None and skip_seed(seed):
                continue
            seed_dir = os.path.join(root, f"seed-{seed}")
            settings = {
                "output_dir": seed_dir,
                "num_train_epochs": epochs,
                "per_device_train_batch_size": batch_size,
                "learning_rate": learning_rate,
                "seed": seed,
                "data_seed": seed,
                "save_strategy": "no" if temporary else "epoch",
                "save_total_limit": 1,
                "report_to": [],
                "logging_strategy": "no",
                "disable_tqdm": True,
                "dataloader_pin_memory": torch.cuda.is_available(),
                **dict(training_args or {}),
            }
            set_seed(seed)
            net = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=mapping.num_labels,
                id2label=dict(enumerate(mapping.names)), label2id={n: i for i, n in enumerate(mapping.names)},
            )
            sink = None if epoch_sink is None else (lambda epoch, table, seed=seed: epoch_sink(seed, epoch, table))
            callback = ForgettingCallback(mode=mode, id_column=used_id_column, seed=seed, epoch_sink=sink)
            trainer = Trainer(
                model=net, args=TrainingArguments(**settings), train_dataset=train,
                data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer, callbacks=[callback],
            )
            callback.trainer = trainer
            checkpoint = None
            if resume and not temporary and os.path.isdir(seed_dir):
                checkpoint = get_last_checkpoint(seed_dir)
            trainer.train(resume_from_checkpoint=checkpoint)
            parts.append(callback.dynamics.table)
            del trainer, net
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    finally:
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
    meta = _meta("fine_tune", mapping, used_id_column, len(dataset), seeds, config)
    table = pa.concat_tables(parts) if parts else dynamics_schema(_row_id_type(ids)).empty_table()
    return Dynamics(table, meta)


def _row_id_type(ids: np.ndarray) -> pa.DataType:
    return pa.string() if np.asarray(ids).dtype.kind in "OUS" else pa.int64()


def _tokenized(dataset, tokenizer, text_column, max_length, labels, ids, id_column) -> Dataset:
    """Token ids, ``labels`` (class ids) and the id column: what the Trainer needs, nothing else."""
    texts = dataset.select_columns([text_column])
    encoded = texts.map(
        lambda batch: tokenizer(batch[text_column], truncation=True, max_length=max_length),
        batched=True, remove_columns=[text_column], keep_in_memory=True, desc=None,
    )
    encoded = encoded.add_column("labels", labels.astype(np.int64))
    if id_column is not None:
        encoded = encoded.add_column(id_column, ids)
    return encoded


# --------------------------------------------------------------------------- store stage
def dynamics_stage(
    store: Any,
    dataset_ref: Any,
    *,
    method: str = "linear_probe",
    embeddings: Any = None,
    embedding_column: str = "embedding",
    label_column: str = "label",
    id_column: str = "row_id",
    seeds: int | Sequence[int] = (0, 1, 2),
    epochs: int | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    keep_checkpoints: bool = False,
    **params: Any,
) -> Any:
    """Train and store dynamics as an artifact with one shard per (seed, epoch).

    The key covers the dataset artifact (and embeddings artifact), the method and every
    training setting (and the model's weight hash for fine-tuning). When the artifact
    exists it is returned at once. Otherwise each (seed, epoch) shard is committed when
    its epoch ends; a killed run, called again, skips the stored shards, and fine-tuning
    resumes from the last per-epoch checkpoint under ``checkpoint_dir/<key>``.

    Parameters
    ----------
    store : ArtifactStore
    dataset_ref : ArtifactRef
        The dataset (from the load stage).
    method : {"linear_probe", "fine_tune"}
    embeddings : str, ArtifactRef or numpy.ndarray
        Linear probe only: a vector column of the dataset, an artifact holding ``id_column``
        and ``embedding_column``, or an array row-aligned with the dataset.
    seeds, epochs
        Runs and passes (``epochs`` default: 10 for the probe, 2 for fine-tuning).
    checkpoint_dir : path, optional
        Fine-tuning checkpoints (default ``$DPRUNE_CACHE/../checkpoints`` or
        ``~/.cache/dprune/checkpoints``); removed after the commit unless ``keep_checkpoints``.
    **params
        Passed to :func:`train_linear_probe` or :func:`finetune_dynamics`.

    Returns
    -------
    ArtifactRef
        Read it with :meth:`Dynamics.from_store` or pass it to a dynamics scorer.
    """
    from dprune.core.fingerprint import compute_key
    from dprune.models import model_identity
    from dprune.store import ArtifactRef

    if method not in _METHODS:
        raise ValueError(f"The 'method' parameter of dynamics_stage must be one of {_METHODS}. Got {method!r} instead.")
    seeds = _as_seeds(seeds, "dynamics_stage")
    epochs = epochs if epochs is not None else (10 if method == "linear_probe" else 2)
    _check_positive_int("epochs", epochs, "dynamics_stage")
    dataset = store.read(dataset_ref)
    parents = [dataset_ref]
    config: dict[str, Any] = {"method": method, "label_column": label_column, "id_column": id_column,
                              "seeds": seeds, "epochs": epochs, "params": dict(params)}
    matrix = None
    if method == "linear_probe":
        if embeddings is None:
            raise ValueError(
                "dynamics_stage(method='linear_probe') needs embeddings= (a column, an artifact or an array)."
            )
        if isinstance(embeddings, ArtifactRef):
            parents.append(embeddings)
            config["embedding_column"] = embedding_column
            matrix = _embeddings_from_artifact(store, embeddings, dataset, id_column, embedding_column)
        elif isinstance(embeddings, str):
            config["embeddings"] = embeddings
            matrix = embeddings
        else:
            from dprune.core.base import describe_value

            matrix = np.asarray(embeddings)
            config["embeddings"] = describe_value(matrix)
    else:
        config["model_identity"] = model_identity(params.get("model", "all-MiniLM-L6-v2"))
    key = compute_key(DYNAMICS_STAGE, DYNAMICS_STAGE_VERSION, config, parents=parents)
    if store.exists(DYNAMICS_STAGE, key):
        return store.ref(DYNAMICS_STAGE, key)

    ids, used_id_column = _ids_of(dataset, id_column)
    _, mapping = encode_labels(dataset, label_column, ids=ids, owner="dynamics_stage")
    meta = {"dynamics": _meta(method, mapping, used_id_column, len(dataset), seeds, config)}
    writer = store.open_writer(DYNAMICS_STAGE, key, config=config, parents=parents, meta=meta,
                               num_shards=len(seeds) * epochs, schema=dynamics_schema(_row_id_type(ids)))
    shard = {seed: i for i, seed in enumerate(seeds)}

    def sink(seed: int, epoch: int, table: pa.Table) -> None:
        index = shard[seed] * epochs + epoch
        if not writer.has_shard(index):
            writer.write_shard(index, table)

    def seed_done(seed: int) -> bool:
        return all(writer.has_shard(shard[seed] * epochs + e) for e in range(epochs))

    if method == "linear_probe":
        pending = [s for s in seeds if not seed_done(s)]
        if pending:
            train_linear_probe(dataset, matrix, label_column=label_column, id_column=id_column, epochs=epochs,
                               seeds=pending, epoch_sink=sink,
                               skip=lambda seed, epoch: writer.has_shard(shard[seed] * epochs + epoch), **params)
    else:
        root = os.fspath(checkpoint_dir) if checkpoint_dir is not None else _default_checkpoint_root()
        folder = os.path.join(root, key)
        finetune_dynamics(dataset, label_column=label_column, id_column=id_column, epochs=epochs, seeds=seeds,
                          output_dir=folder, resume=True, epoch_sink=sink, skip_seed=seed_done, **params)
        ref = writer.commit()
        if not keep_checkpoints:
            shutil.rmtree(folder, ignore_errors=True)
        return ref
    return writer.commit()


def _default_checkpoint_root() -> str:
    env = os.environ.get("DPRUNE_CACHE")
    base = os.path.dirname(os.path.abspath(os.path.expanduser(env))) if env else os.path.expanduser("~/.cache/dprune")
    return os.path.join(base, "checkpoints")


def _embeddings_from_artifact(store, ref, dataset, id_column, embedding_column) -> np.ndarray:
    """Rows of an embeddings artifact, reordered to the dataset's rows by id."""
    from dprune.core.base import column_to_numpy

    stored = store.read(ref)
    if embedding_column not in stored.column_names:
        raise MissingColumnError(
            f"Embeddings artifact {ref.name} has no column {embedding_column!r} (it has {stored.column_names}); "
            "pass embedding_column=<the vector column>."
        )
    vectors = np.asarray(stored.with_format("numpy")[embedding_column])
    if id_column in stored.column_names and id_column in dataset.column_names:
        stored_ids = column_to_numpy(stored, id_column)
        wanted = column_to_numpy(dataset, id_column)
        order = np.argsort(stored_ids, kind="stable")
        pos = np.searchsorted(stored_ids[order], wanted)
        pos = np.clip(pos, 0, len(order) - 1)
        found = stored_ids[order][pos] == wanted
        if not np.all(found):
            raise ValueError(
                f"Embeddings artifact {ref.name} lacks {int((~found).sum())} of the dataset's {id_column!r} values; "
                "embed the same dataset artifact."
            )
        return vectors[order[pos]]
    if len(vectors) != len(dataset):
        raise ValueError(
            f"Embeddings artifact {ref.name} has {len(vectors)} rows but the dataset has {len(dataset)}, and no "
            f"shared {id_column!r} column to match them."
        )
    return vectors
