"""Partial fine-tuning from cached hidden states: the frozen lower layers run once, the top trains.

A transformer encoder of ``L`` layers is cut in two. The lower ``L - train_layers``
layers (and the embeddings) are frozen: :func:`encode_lower_layers` runs them once over
every text and keeps each text's hidden states, unpadded, in a :class:`HiddenStates`
(one flat ``(tokens, hidden)`` array in float16, bfloat16 or float32, plus row offsets).
:func:`train_partial` then trains copies of the top ``train_layers`` layers plus a
mean-pooling classification head from those states, for several epochs and seeds,
and records every presentation from its training forward pass in the same
:class:`~dprune.dynamics.records.Dynamics` records as the linear probe and full fine-tuning, so
every dynamics scorer reads it unchanged.

Speed: batches are formed from length-sorted pools (dynamic padding wastes little),
matrix products run under bfloat16 autocast where the CPU supports it
(:func:`autocast_dtype`), and the same code runs on a GPU when one is given.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_SEEDS",
    "DEFAULT_TRAIN_LAYERS",
    "STORAGE_DTYPES",
    "HiddenStates",
    "autocast_dtype",
    "build_top_classifier",
    "encode_lower_layers",
    "encoder_layers",
    "evaluate_states",
    "length_batches",
    "states_from_table",
    "states_to_table",
    "load_encoder_parts",
    "train_partial_finetune",
    "train_partial_run",
]

STORAGE_DTYPES = ("float16", "bfloat16", "float32")
#: The defaults of partial fine-tuning are the setting measured on the full bundled split with 10% of the
#: labels flipped (README "Cheaper routes to fine-tuning quality"): top 3 of MiniLM's 6 layers, 2 seeds x 2
#: epochs, 64 tokens, every epoch evaluated in eval mode; flipped-label AUROC 0.901 (EL2N or eval-mode margin
#: averaged over both epochs and seeds) in 427 CPU seconds with the lower-layer cache (three layers: 0.889
#: and two: 0.888 with 1 seed and the second epoch's evaluation only).
DEFAULT_TRAIN_LAYERS = 3
DEFAULT_EPOCHS = 2
DEFAULT_SEEDS = (0, 1)
DEFAULT_MAX_LENGTH = 64


def autocast_dtype(device: Any) -> Any:
    """The reduced-precision dtype autocast should use on ``device`` (None: stay in float32).

    CUDA: bfloat16 when supported, else float16. CPU: bfloat16 when the CPU has native
    bfloat16 instructions (AVX-512 BF16 or AMX), else None (emulated bfloat16 is slower
    than float32).
    """
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and torch.backends.mkldnn.is_available():
        try:
            if torch.ops.mkldnn._is_mkldnn_bf16_supported():
                return torch.bfloat16
        except (AttributeError, RuntimeError):  # pragma: no cover - older builds
            return None
    return None


def _autocast(device: Any, enabled: bool):
    import torch

    device = torch.device(device)
    dtype = autocast_dtype(device) if enabled else None
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass(frozen=True)
class HiddenStates:
    """Per-text hidden states of one layer, unpadded and concatenated.

    Attributes
    ----------
    values : numpy.ndarray of shape (total_tokens, hidden)
        float16 or float32 values; bfloat16 is held as its raw 16-bit patterns (uint16).
    offsets : numpy.ndarray of shape (n_rows + 1,)
        Row ``i`` owns ``values[offsets[i]:offsets[i + 1]]`` (its attention mask is all ones).
    dtype : {"float16", "bfloat16", "float32"}
        How ``values`` are stored.
    """

    values: np.ndarray
    offsets: np.ndarray
    dtype: str

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """Tokens per row."""
        return np.diff(self.offsets)

    @property
    def hidden_size(self) -> int:
        return int(self.values.shape[1])

    def batch(self, rows: np.ndarray, device: Any) -> tuple[Any, Any]:
        """Padded ``(len(rows), max_len, hidden)`` float32 states and a bool mask, on ``device``."""
        import torch

        lengths = self.lengths[rows]
        width = int(lengths.max())
        out = np.zeros((len(rows), width, self.hidden_size), dtype=self.values.dtype)
        for i, row in enumerate(rows):
            out[i, : lengths[i]] = self.values[self.offsets[row] : self.offsets[row + 1]]
        tensor = torch.from_numpy(out)
        if self.dtype == "bfloat16":
            tensor = tensor.view(torch.int16).view(torch.bfloat16)
        mask = torch.from_numpy(np.arange(width)[None, :] < lengths[:, None])
        return tensor.to(device).float(), mask.to(device)


def _from_tensor(tensor: Any, dtype: str) -> np.ndarray:
    import torch

    if dtype == "bfloat16":
        return tensor.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    return tensor.to(getattr(torch, dtype)).numpy()


def length_batches(lengths: np.ndarray, batch_size: int, *, order: np.ndarray | None = None,
                   pool: int = 50) -> Iterator[np.ndarray]:
    """Batches of row indices with similar lengths.

    ``order`` (default: by row) is cut into pools of ``pool * batch_size`` rows; each pool
    is sorted by length and cut into batches, so a shuffled ``order`` still gives random
    batches while padding stays small.
    """
    order = np.arange(len(lengths)) if order is None else np.asarray(order)
    size = pool * batch_size
    for start in range(0, len(order), size):
        chunk = order[start : start + size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        for b in range(0, len(chunk), batch_size):
            yield chunk[b : b + batch_size]


def load_encoder_parts(model: Any = None) -> tuple[Any, Any]:
    """(tokenizer, base encoder model) of ``model`` (default: the bundled MiniLM), in eval mode."""
    from transformers import AutoModel, AutoTokenizer

    from dprune.models import DEFAULT_MODEL, resolve_model_name

    path = resolve_model_name(model or DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path, attn_implementation="sdpa").eval()
    return tokenizer, encoder


def encoder_layers(encoder: Any) -> Any:
    """The ``ModuleList`` of transformer layers of a BERT-style encoder."""
    try:
        return encoder.encoder.layer
    except AttributeError as error:
        raise ValueError(
            f"Partial fine-tuning needs a BERT-style encoder (model.encoder.layer); {type(encoder).__name__} has "
            "none. Use a BERT, RoBERTa or MiniLM checkpoint."
        ) from error


def _extended_mask(mask: Any) -> Any:
    """(batch, 1, 1, seq) boolean mask for the attention layers (True: attend)."""
    return mask[:, None, None, :]


def encode_lower_layers(
    texts: Sequence[str],
    *,
    tokenizer: Any,
    encoder: Any,
    train_layers: int = 1,
    max_length: int = 128,
    batch_size: int = 64,
    storage_dtype: str = "float16",
    device: Any = None,
    autocast: bool = True,
) -> HiddenStates:
    """Run the embeddings and the frozen lower layers once; keep each text's hidden states.

    Parameters
    ----------
    texts : sequence of str
    tokenizer, encoder
        From :func:`load_encoder_parts`.
    train_layers : int, default 1
        Top layers left to train; the ``num_layers - train_layers`` below them run here.
    max_length : int, default 128
        Tokens per text after truncation.
    batch_size : int, default 64
        Texts per forward pass (batches are length-sorted).
    storage_dtype : {"float16", "bfloat16", "float32"}, default "float16"
    device : str or torch.device, optional
        Default: CUDA when available, else CPU.
    autocast : bool, default True
        Reduced-precision autocast where the device supports it (see :func:`autocast_dtype`).

    Returns
    -------
    HiddenStates
        Row ``i`` holds the states of ``texts[i]`` (its real tokens only).
    """
    import torch

    layers = encoder_layers(encoder)
    if not 1 <= train_layers <= len(layers):
        raise ValueError(
            f"The 'train_layers' parameter must be an int in [1, {len(layers)}] (the encoder has {len(layers)} layers). "
            f"Got {train_layers!r} instead."
        )
    if storage_dtype not in STORAGE_DTYPES:
        raise ValueError(f"The 'storage_dtype' parameter must be one of {STORAGE_DTYPES}. Got {storage_dtype!r} instead.")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    encoder = encoder.to(device).eval()
    frozen = layers[: len(layers) - train_layers]
    ids = tokenizer(list(texts), truncation=True, max_length=max_length, add_special_tokens=True)["input_ids"]
    lengths = np.fromiter((len(t) for t in ids), dtype=np.int64, count=len(ids))
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    hidden = encoder.config.hidden_size
    np_dtype = np.uint16 if storage_dtype == "bfloat16" else np.dtype(storage_dtype)
    values = np.empty((int(offsets[-1]), hidden), dtype=np_dtype)
    with torch.inference_mode(), _autocast(device, autocast):
        for rows in length_batches(lengths, batch_size, pool=len(ids) // batch_size + 1):
            width = int(lengths[rows].max())
            tokens = np.full((len(rows), width), tokenizer.pad_token_id or 0, dtype=np.int64)
            for i, row in enumerate(rows):
                tokens[i, : lengths[row]] = ids[row]
            tokens_t = torch.from_numpy(tokens).to(device)
            mask = torch.from_numpy(np.arange(width)[None, :] < lengths[rows][:, None]).to(device)
            states = encoder.embeddings(input_ids=tokens_t)
            extended = _extended_mask(mask)
            for layer in frozen:
                states = _layer_output(layer(states, attention_mask=extended))
            states = states.float().cpu()
            for i, row in enumerate(rows):
                values[offsets[row] : offsets[row + 1]] = _from_tensor(states[i, : lengths[row]], storage_dtype)
    return HiddenStates(values=values, offsets=offsets, dtype=storage_dtype)


def _layer_output(output: Any) -> Any:
    return output[0] if isinstance(output, tuple) else output


def build_top_classifier(encoder: Any, train_layers: int, num_labels: int, *, dropout: float = 0.1) -> Any:
    """Copies of the top ``train_layers`` layers of ``encoder`` + mean pooling + a linear head."""
    import torch

    layers = encoder_layers(encoder)

    class _Top(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(copy.deepcopy(list(layers[len(layers) - train_layers :])))
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(encoder.config.hidden_size, num_labels)

        def forward(self, states, mask):
            extended = _extended_mask(mask)
            for layer in self.layers:
                states = _layer_output(layer(states, attention_mask=extended))
            weights = mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            return self.head(self.dropout(pooled))

    return _Top()


def train_partial_run(
    states: HiddenStates,
    labels: np.ndarray,
    *,
    encoder: Any,
    train_layers: int,
    num_labels: int,
    seed: int,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 1e-4,
    head_learning_rate: float = 1e-3,
    weight_decay: float = 0.01,
    device: Any = None,
    autocast: bool = True,
    eval_epochs: Sequence[int] = (),
    on_epoch: Callable[[int, dict[str, np.ndarray], dict[str, np.ndarray] | None], Any] | None = None,
) -> None:
    """Train the top layers + head for one seed; ``on_epoch(epoch, columns, evaluation)`` gets each epoch's records.

    ``columns`` holds ``position`` and ``step`` plus the statistics of
    :func:`dprune.dynamics.records.batch_dynamics` for every presentation, in presentation order.
    After the epochs in ``eval_epochs``, ``evaluation`` holds the same for every row
    evaluated once in eval mode (no dropout) with the epoch's final weights; else None.
    """
    import torch

    from dprune.dynamics.records import batch_dynamics

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    model = build_top_classifier(encoder, train_layers, num_labels).to(device).train()
    head = list(model.head.parameters())
    body = [p for n, p in model.named_parameters() if not n.startswith("head.")]
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": learning_rate}, {"params": head, "lr": head_learning_rate}],
        weight_decay=weight_decay,
    )
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    lengths = states.lengths
    n = len(states)
    total = epochs * ((n + batch_size - 1) // batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1.0 - step / max(total, 1)))
    step = 0
    for epoch in range(epochs):
        batches = list(length_batches(lengths, batch_size, order=generator.permutation(n)))
        batches = [batches[i] for i in generator.permutation(len(batches))]
        stats, steps, positions = [], [], []
        for rows in batches:
            x, mask = states.batch(rows, device)
            target = y_all[rows].to(device)
            with _autocast(device, autocast):
                logits = model(x, mask)
            loss = torch.nn.functional.cross_entropy(logits.float(), target)
            stats.append(batch_dynamics(logits, target))
            steps.append(np.full(len(rows), step, dtype=np.int64))
            positions.append(rows)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
        columns = _merge(stats, positions, steps)
        evaluation = None
        if epoch in eval_epochs:
            evaluation = evaluate_states(model, states, labels, step=step, batch_size=4 * batch_size, device=device,
                                         autocast=autocast)
        if on_epoch is not None:
            on_epoch(epoch, columns, evaluation)


def evaluate_states(model: Any, states: HiddenStates, labels: np.ndarray, *, step: int, batch_size: int = 128,
                    device: Any = None, autocast: bool = True) -> dict[str, np.ndarray]:
    """Every row of ``states`` through ``model`` once in eval mode (no dropout, no gradients).

    Returns the columns of :func:`train_partial_run`'s records (``step`` filled with ``step``);
    the model is left in training mode.
    """
    import torch

    from dprune.dynamics.records import batch_dynamics

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    model.eval()
    stats, positions = [], []
    with torch.inference_mode():
        for rows in length_batches(states.lengths, batch_size, pool=len(states) // batch_size + 1):
            x, mask = states.batch(rows, device)
            with _autocast(device, autocast):
                stats.append(batch_dynamics(model(x, mask), y_all[rows].to(device)))
            positions.append(rows)
    model.train()
    return _merge(stats, positions, [np.full(len(p), step, dtype=np.int64) for p in positions])


def _merge(stats: list, positions: list, steps: list) -> dict[str, np.ndarray]:
    """Per-batch statistics joined into columns (``position``, ``step`` and the batch_dynamics fields)."""
    import torch

    columns = {"position": np.concatenate(positions), "step": np.concatenate(steps)}
    for field in ("pred", "correct", "prob", "margin", "loss", "el2n"):
        columns[field] = torch.cat([s[field] for s in stats]).cpu().numpy()
    return columns


def train_partial_finetune(
    dataset: Any,
    *,
    states: HiddenStates | None = None,
    model: Any = None,
    text_column: str = "text",
    label_column: str = "label",
    id_column: str | None = "row_id",
    train_layers: int = DEFAULT_TRAIN_LAYERS,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = 32,
    learning_rate: float = 3e-4,
    head_learning_rate: float = 1e-3,
    weight_decay: float = 0.01,
    max_length: int = DEFAULT_MAX_LENGTH,
    storage_dtype: str = "float16",
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    device: Any = None,
    autocast: bool = True,
    threads: int | None = None,
    eval_epochs: Sequence[int] | None = None,
    epoch_sink: Callable[[int, int, Any], Any] | None = None,
    skip: Callable[[int, int], bool] | None = None,
) -> Any:
    """Fine-tune the top layers of an encoder from cached hidden states and record its dynamics.

    Parameters
    ----------
    dataset : datasets.Dataset
        Texts (unless ``states`` are given), labels and (optionally) stable ids.
    states : HiddenStates, optional
        The output of :func:`encode_lower_layers` for these rows with the same ``model`` and
        ``train_layers`` (e.g. read back from the store); computed here when None.
    model : str or path, optional
        BERT-style checkpoint (default: the bundled all-MiniLM-L6-v2).
    text_column, label_column, id_column : str
        Columns of ``dataset``; labels may be int, str, bool or ClassLabel (mapping recorded).
    train_layers : int, default :data:`DEFAULT_TRAIN_LAYERS`
        Top layers trained (with the head); the layers below are frozen and cached.
    epochs, batch_size : int
        Passes over the data per seed (default :data:`DEFAULT_EPOCHS`) and rows per step.
    learning_rate, head_learning_rate, weight_decay : float
        AdamW settings of the layers and of the new head (linear decay to 0).
    max_length, storage_dtype
        Tokenization and cache settings of :func:`encode_lower_layers` (``max_length``
        default :data:`DEFAULT_MAX_LENGTH`).
    seeds : int or sequence of int, default :data:`DEFAULT_SEEDS`
        One run per seed (own head initialization, dropout and order); the layers start
        from the pretrained weights every time.
    device : str, optional
        Default: CUDA when available, else CPU.
    autocast : bool, default True
        bfloat16 autocast where the device has native support (:func:`autocast_dtype`).
    threads : int, optional
        Torch CPU threads for the run (default: leave torch's setting).
    eval_epochs : sequence of int, optional
        After these epochs every row is also evaluated in eval mode, recorded with
        ``phase="eval"`` (the EL2N of the paper); default: every epoch (averaging the
        evaluations of both epochs and seeds ranked flipped labels best, see
        :data:`DEFAULT_TRAIN_LAYERS`).
    epoch_sink : callable, optional
        ``epoch_sink(seed, epoch, table)`` after every epoch (to persist shards).
    skip : callable, optional
        ``skip(seed, epoch) -> bool``: the epoch is trained but not handed to the sink.

    Returns
    -------
    Dynamics
    """
    import pyarrow as pa
    import torch
    from datasets import Dataset

    from dprune.core.base import MissingColumnError
    from dprune.data.labels import encode_labels
    from dprune.dynamics.inputs import as_seeds, check_positive_int, dynamics_meta, row_ids
    from dprune.dynamics.records import Dynamics, check_eval_epochs, records_table

    owner = "train_partial_finetune"
    if not isinstance(dataset, Dataset):
        raise TypeError(f"{owner} expects a datasets.Dataset. Got {type(dataset).__name__} instead.")
    if len(dataset) == 0:
        raise ValueError(f"{owner} got an empty dataset (0 rows).")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("max_length", max_length),
                        ("train_layers", train_layers)):
        check_positive_int(name, value, owner)
    for name, value in (("learning_rate", learning_rate), ("head_learning_rate", head_learning_rate)):
        if not value > 0:
            raise ValueError(f"The {name!r} parameter of {owner} must be > 0. Got {value!r} instead.")
    if states is None and text_column not in dataset.column_names:
        raise MissingColumnError(
            f"{owner} needs a text column {text_column!r} (or precomputed states=) but the dataset has "
            f"{dataset.column_names}."
        )
    if states is not None and len(states) != len(dataset):
        raise ValueError(
            f"{owner}: states hold {len(states)} rows but the dataset has {len(dataset)}; they must be row-aligned."
        )
    seeds = as_seeds(seeds, owner)
    eval_epochs = check_eval_epochs(range(epochs) if eval_epochs is None else eval_epochs, epochs, owner)
    ids, used_id_column = row_ids(dataset, id_column)
    labels, mapping = encode_labels(dataset, label_column, ids=ids, owner=owner)
    tokenizer, encoder = load_encoder_parts(model)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    before = torch.get_num_threads()
    if threads is not None and device.type == "cpu":
        torch.set_num_threads(int(threads))
    try:
        if states is None:
            states = encode_lower_layers(
                dataset[text_column], tokenizer=tokenizer, encoder=encoder, train_layers=train_layers,
                max_length=max_length, storage_dtype=storage_dtype, device=device, autocast=autocast,
            )
        config = {"train_layers": train_layers, "epochs": epochs, "batch_size": batch_size,
                  "learning_rate": learning_rate, "head_learning_rate": head_learning_rate,
                  "weight_decay": weight_decay, "max_length": max_length, "storage_dtype": storage_dtype,
                  "eval_epochs": list(eval_epochs)}
        meta = dynamics_meta("partial_finetune", mapping, used_id_column, len(dataset), seeds, config)
        parts = []
        for seed in seeds:
            def on_epoch(epoch: int, columns: dict, evaluation: dict | None, seed: int = seed) -> None:
                tables = []
                for phase, part in (("train", columns), ("eval", evaluation)):
                    if part is None:
                        continue
                    positions = part["position"]
                    tables.append(records_table({
                        **part, "seed": np.full(len(positions), seed, dtype=np.int64),
                        "epoch": np.full(len(positions), epoch, dtype=np.int64), "row_id": ids[positions],
                        "label": labels[positions], "phase": np.full(len(positions), phase, dtype=object)}))
                table = pa.concat_tables(tables)
                if epoch_sink is not None and not (skip is not None and skip(seed, epoch)):
                    epoch_sink(seed, epoch, table)
                parts.append(table)

            train_partial_run(
                states, labels, encoder=encoder, train_layers=train_layers, num_labels=mapping.num_labels, seed=seed,
                epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                head_learning_rate=head_learning_rate, weight_decay=weight_decay, device=device, autocast=autocast,
                eval_epochs=eval_epochs, on_epoch=on_epoch,
            )
    finally:
        torch.set_num_threads(before)
    return Dynamics(pa.concat_tables(parts), meta)


def states_to_table(states: HiddenStates) -> Any:
    """An Arrow table of ``states``: per row its token count and its values as raw bytes."""
    import pyarrow as pa

    lengths = states.lengths
    flat = np.ascontiguousarray(states.values).view(np.uint8).reshape(-1)
    row_bytes = states.hidden_size * states.values.itemsize
    offsets = (states.offsets * row_bytes).astype(np.int64)
    column = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(states), [None, pa.py_buffer(offsets),
                                                                                 pa.py_buffer(flat)])
    return pa.table({"length": pa.array(lengths.astype(np.int32)), "states": column})


def states_from_table(table: Any, *, dtype: str, hidden_size: int) -> HiddenStates:
    """The inverse of :func:`states_to_table` (any number of concatenated shards)."""
    import pyarrow as pa

    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"Unknown storage dtype {dtype!r}; expected one of {STORAGE_DTYPES}.")
    lengths = table.column("length").to_numpy().astype(np.int64)
    column = table.column("states").combine_chunks()
    if isinstance(column, pa.ChunkedArray):  # pragma: no cover - combine_chunks of an empty column
        column = pa.concat_arrays(column.chunks) if column.num_chunks else pa.array([], pa.large_binary())
    buffers = column.buffers()
    byte_offsets = np.frombuffer(buffers[1], dtype=np.int64)[column.offset : column.offset + len(column) + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8)[byte_offsets[0] : byte_offsets[-1]] if len(column) else \
        np.zeros(0, np.uint8)
    np_dtype = np.uint16 if dtype == "bfloat16" else np.dtype(dtype)
    values = data.view(np_dtype).reshape(-1, hidden_size)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] != len(values):
        raise ValueError(
            f"Hidden-states table is inconsistent: its lengths sum to {offsets[-1]} tokens but it holds {len(values)} "
            f"rows of {hidden_size} {dtype} values. The artifact is damaged; delete it and recompute."
        )
    return HiddenStates(values=values, offsets=offsets, dtype=dtype)
