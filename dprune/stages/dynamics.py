"""Stage ``dynamics``: per-example training dynamics, one shard per (seed, epoch).

Four trainers write the same :class:`~dprune.dynamics.records.Dynamics` records: the
linear probe on an embeddings artifact (:func:`dprune.dynamics.probe.train_linear_probe`),
the small convolutional model on the log-mel frames of a speech dataset's clips
(:func:`dprune.dynamics.conv.train_conv_classifier`; its key hashes the frames' recipe and
every referenced audio file), partial fine-tuning of the top layers from a ``hidden_states`` artifact
(:func:`dprune.dynamics.partial.train_partial_finetune`; the artifact is a parent, computed
here when missing) and fine-tuning (:func:`dprune.dynamics.finetune.finetune_dynamics`). Each (seed, epoch)
shard is committed as soon as its epoch ends, and fine-tuning checkpoints once per
epoch, so a run killed mid-way resumes from its last checkpoint and recomputes only
the missing shards. The key covers the dataset artifact (and the embeddings artifact),
the method, every training setting and, for fine-tuning, the model's identity.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa

from dprune.audio.decode import decode_refs
from dprune.audio.features import LOG_MEL_RECIPE, log_mel_frames
from dprune.core.base import MissingColumnError, column_to_numpy, describe_value, require_columns
from dprune.data.audio import audio_files_identity, refs_from_arrow
from dprune.data.labels import encode_labels
from dprune.dynamics.conv import train_conv_classifier
from dprune.dynamics.finetune import finetune_dynamics
from dprune.dynamics.partial import DEFAULT_EPOCHS as PARTIAL_EPOCHS
from dprune.dynamics.partial import DEFAULT_TRAIN_LAYERS, train_partial_finetune
from dprune.dynamics.inputs import as_seeds, check_positive_int, dynamics_meta, row_id_type, row_ids
from dprune.dynamics.probe import train_linear_probe
from dprune.dynamics.records import dynamics_schema
from dprune.models import model_identity
from dprune.stages.embeddings import read_embeddings
from dprune.stages.hidden_states import hidden_states_stage, read_hidden_states
from dprune.stages.runner import Stage
from dprune.store import ArtifactRef

DYNAMICS = Stage("dynamics", version=4)  # 2: end-of-epoch evaluations (phase "eval"); 3: by fine-tuning too;
# 4: partial fine-tuning's defaults changed (3 layers, 64 tokens, every epoch evaluated)
METHODS = ("linear_probe", "conv_log_mel", "partial_finetune", "fine_tune")
#: Epochs of each method when none are given.
DEFAULT_EPOCHS = {"linear_probe": 10, "conv_log_mel": 30, "partial_finetune": PARTIAL_EPOCHS, "fine_tune": 2}
#: Seeds of each method when none are given (partial fine-tuning: the two its defaults were measured with).
DEFAULT_SEEDS = {"linear_probe": (0, 1, 2), "conv_log_mel": (0, 1, 2), "partial_finetune": (0, 1), "fine_tune": (0, 1, 2)}
#: Clips decoded at a time when the conv model's frames are computed.
DECODE_BATCH = 256
#: Settings of partial fine-tuning that belong to its hidden-states cache.
CACHE_SETTINGS = ("model", "text_column", "max_length", "storage_dtype", "device", "autocast")
def dynamics_stage(
    store: Any,
    dataset_ref: Any,
    *,
    method: str = "linear_probe",
    embeddings: Any = None,
    embedding_column: str = "embedding",
    audio_column: str = "audio",
    label_column: str = "label",
    id_column: str = "row_id",
    seeds: int | Sequence[int] | None = None,
    epochs: int | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    keep_checkpoints: bool = False,
    on_shard: Callable[[int, int], None] | None = None,
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
    method : {"linear_probe", "conv_log_mel", "partial_finetune", "fine_tune"}
    embeddings : str, ArtifactRef or numpy.ndarray
        Linear probe only: a vector column of the dataset, an artifact holding ``id_column``
        and ``embedding_column``, or an array row-aligned with the dataset.
    audio_column : str, default "audio"
        ``conv_log_mel`` only: the dataset's audio references.
    seeds, epochs
        Runs and passes (defaults: :data:`DEFAULT_SEEDS`, :data:`DEFAULT_EPOCHS`).
    checkpoint_dir : path, optional
        Fine-tuning checkpoints (default :func:`default_checkpoint_root`); removed after the
        commit unless ``keep_checkpoints``.
    on_shard : callable, optional
        ``on_shard(index, num_shards)`` after each (seed, epoch) shard this call wrote.
    **params
        Passed to :func:`train_linear_probe`, :func:`train_conv_classifier`, :func:`train_partial_finetune` (whose cache
        settings, :data:`CACHE_SETTINGS` and ``train_layers``, also shape the hidden-states
        artifact) or :func:`finetune_dynamics`.

    Returns
    -------
    ArtifactRef
        Read it with :meth:`Dynamics.from_store` or pass it to a dynamics scorer.
    """
    if method not in METHODS:
        raise ValueError(f"The 'method' parameter of dynamics_stage must be one of {METHODS}. Got {method!r} instead.")
    seeds = as_seeds(DEFAULT_SEEDS[method] if seeds is None else seeds, "dynamics_stage")
    epochs = epochs if epochs is not None else DEFAULT_EPOCHS[method]
    check_positive_int("epochs", epochs, "dynamics_stage")
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
            matrix = np.asarray(embeddings)
            config["embeddings"] = describe_value(matrix)
    elif method == "conv_log_mel":
        require_columns(dataset, [audio_column], owner="dynamics_stage(method='conv_log_mel')")
        config.update(audio_column=audio_column, frames=dict(LOG_MEL_RECIPE),
                      audio_files=audio_files_identity(dataset.with_format("arrow")[audio_column]))
    elif method == "partial_finetune":
        params.setdefault("train_layers", DEFAULT_TRAIN_LAYERS)
        config["params"] = dict(params)
        cache = {name: params[name] for name in CACHE_SETTINGS if name in params}
        states_ref = hidden_states_stage(store, dataset_ref, train_layers=params["train_layers"], **cache)
        parents.append(states_ref)
    else:
        config["model_identity"] = model_identity(params.get("model", "all-MiniLM-L6-v2"))
    key = DYNAMICS.key(config, parents=parents)
    existing = DYNAMICS.lookup(store, key)
    if existing is not None:
        return existing

    ids, used_id_column = row_ids(dataset, id_column)
    _, mapping = encode_labels(dataset, label_column, ids=ids, owner="dynamics_stage")
    meta = {"dynamics": dynamics_meta(method, mapping, used_id_column, len(dataset), seeds, config)}
    writer = DYNAMICS.open_writer(store, key, config=config, parents=parents, meta=meta,
                                  num_shards=len(seeds) * epochs, schema=dynamics_schema(row_id_type(ids)))
    shard = {seed: i for i, seed in enumerate(seeds)}

    def sink(seed: int, epoch: int, table: pa.Table) -> None:
        index = shard[seed] * epochs + epoch
        if not writer.has_shard(index):
            writer.write_shard(index, table)
            if on_shard is not None:
                on_shard(index, len(seeds) * epochs)

    def seed_done(seed: int) -> bool:
        return all(writer.has_shard(shard[seed] * epochs + e) for e in range(epochs))

    def stored(seed: int, epoch: int) -> bool:
        return writer.has_shard(shard[seed] * epochs + epoch)

    pending = [s for s in seeds if not seed_done(s)]
    if method == "linear_probe":
        if pending:
            train_linear_probe(dataset, matrix, label_column=label_column, id_column=id_column, epochs=epochs,
                               seeds=pending, epoch_sink=sink, skip=stored, **params)
    elif method == "conv_log_mel":
        if pending:
            train_conv_classifier(dataset, clip_frames(dataset, audio_column), label_column=label_column,
                                  id_column=id_column, epochs=epochs, seeds=pending, epoch_sink=sink, skip=stored,
                                  **params)
    elif method == "partial_finetune":
        if pending:
            settings = {k: v for k, v in params.items() if k != "text_column"}
            train_partial_finetune(dataset, states=read_hidden_states(store, parents[-1]), label_column=label_column,
                                   id_column=id_column, epochs=epochs, seeds=pending, epoch_sink=sink, skip=stored,
                                   **settings)
    else:
        root = os.fspath(checkpoint_dir) if checkpoint_dir is not None else default_checkpoint_root()
        folder = os.path.join(root, key)
        finetune_dynamics(dataset, label_column=label_column, id_column=id_column, epochs=epochs, seeds=seeds,
                          output_dir=folder, resume=True, epoch_sink=sink, skip_seed=seed_done, **params)
        ref = writer.commit()
        if not keep_checkpoints:
            shutil.rmtree(folder, ignore_errors=True)
        return ref
    return writer.commit()


def clip_frames(dataset: Any, audio_column: str) -> list[np.ndarray]:
    """Every clip's log-mel frames (:func:`~dprune.audio.features.log_mel_frames`), decoded in batches."""
    column = dataset.with_format("arrow")[audio_column]
    frames: list[np.ndarray] = []
    for start in range(0, len(dataset), DECODE_BATCH):
        stop = min(start + DECODE_BATCH, len(dataset))
        clips = decode_refs(refs_from_arrow(column.slice(start, stop - start)), rows=range(start, stop)).audio
        frames.extend(log_mel_frames(clips))
    return frames


def default_checkpoint_root() -> str:
    """Where fine-tuning checkpoints go: ``$DPRUNE_CHECKPOINTS``, else ``~/.cache/dprune/checkpoints``."""
    return os.path.expanduser(os.environ.get("DPRUNE_CHECKPOINTS") or "~/.cache/dprune/checkpoints")


def train_stage(
    store: Any, dataset_ref: Any, embeddings_ref: Any = None, *, label_column: str = "label", **options: Any
) -> Any:
    """Record training dynamics: a linear probe on the embeddings artifact (default) or fine-tuning."""
    embeddings = read_embeddings(store, embeddings_ref) if embeddings_ref is not None else None
    return dynamics_stage(store, dataset_ref, embeddings=embeddings, label_column=label_column, **options)


def _embeddings_from_artifact(store, ref, dataset, id_column, embedding_column) -> np.ndarray:
    """Rows of an embeddings artifact, reordered to the dataset's rows by id."""
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
