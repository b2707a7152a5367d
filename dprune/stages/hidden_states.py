"""Stage ``hidden_states``: the output of an encoder's frozen lower layers, sharded and resumable.

Partial fine-tuning (:mod:`dprune.dynamics.partial`) trains only the top layers of an
encoder; the layers below run once, here, and their per-token states are stored so
every seed, epoch and later run reads them instead of recomputing them. The key hashes
the content of the text column, the model's identity (its files' hash), how many lower
layers ran, ``max_length``, the storage dtype and the autocast dtype (bfloat16 autocast
changes the numbers). Artifact: per row ``length`` (int32 tokens) and ``states`` (the
``(length, hidden)`` values as raw bytes); ``meta`` records the dtype and hidden size.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import pyarrow as pa

from dprune.dynamics.partial import (
    DEFAULT_MAX_LENGTH,
    STORAGE_DTYPES,
    HiddenStates,
    autocast_dtype,
    encode_lower_layers,
    load_encoder_parts,
    states_from_table,
    states_to_table,
)
from dprune.models import DEFAULT_MODEL, model_identity, resolve_model_name
from dprune.stages.embeddings import text_fingerprint
from dprune.stages.runner import Stage, run_sharded

HIDDEN_STATES = Stage("hidden_states", version=1)
DEFAULT_SHARD_ROWS = 2_000
SCHEMA = pa.schema([("length", pa.int32()), ("states", pa.large_binary())])


def hidden_states_stage(
    store: Any,
    dataset_ref: Any,
    *,
    model: Any = None,
    train_layers: int,
    text_column: str = "text",
    max_length: int = DEFAULT_MAX_LENGTH,
    storage_dtype: str = "float16",
    batch_size: int = 64,
    device: Any = None,
    autocast: bool = True,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    shards: Sequence[int] | None = None,
    on_shard: Callable[[int, int, int], None] | None = None,
) -> Any:
    """Store the states entering the top ``train_layers`` layers of ``model`` for every text; return the artifact.

    Parameters
    ----------
    store : ArtifactStore
    dataset_ref : ArtifactRef
        The dataset artifact (a parent).
    model : str or path, optional
        BERT-style checkpoint (default: the bundled all-MiniLM-L6-v2).
    train_layers : int
        Layers left to train above the cached ones.
    text_column, max_length, storage_dtype, batch_size, device, autocast
        See :func:`dprune.dynamics.partial.encode_lower_layers` (batch size and device are
        not in the key).
    shard_rows : int
        Rows per committed shard.
    shards, on_shard
        As for :func:`dprune.stages.runner.run_sharded`.
    """
    import torch
    from transformers import AutoConfig

    if storage_dtype not in STORAGE_DTYPES:
        raise ValueError(
            f"The 'storage_dtype' parameter of the hidden_states stage must be one of {STORAGE_DTYPES}. "
            f"Got {storage_dtype!r} instead."
        )
    dataset = store.read(dataset_ref)
    model = model or DEFAULT_MODEL
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    compute_dtype = autocast_dtype(device) if autocast else None
    fingerprint = text_fingerprint(dataset, text_column)
    loaded: dict[str, Any] = {}

    def parts() -> tuple[Any, Any]:
        if not loaded:
            loaded["tokenizer"], loaded["encoder"] = load_encoder_parts(model)
        return loaded["tokenizer"], loaded["encoder"]

    settings = AutoConfig.from_pretrained(resolve_model_name(model))
    num_layers = int(settings.num_hidden_layers)
    if isinstance(train_layers, bool) or not isinstance(train_layers, int) or not 1 <= train_layers <= num_layers:
        raise ValueError(
            f"The 'train_layers' parameter of the hidden_states stage must be an int in [1, {num_layers}] (the "
            f"model has {num_layers} layers). Got {train_layers!r} instead."
        )
    config = {"model_identity": model_identity(model), "cached_layers": num_layers - train_layers,
              "max_length": max_length, "storage_dtype": storage_dtype, "compute_dtype": str(compute_dtype)}
    hidden_size = int(settings.hidden_size)

    def compute(table: pa.Table, start: int) -> pa.Table:
        tokenizer, encoder = parts()
        states = encode_lower_layers(table.column(text_column).to_pylist(), tokenizer=tokenizer, encoder=encoder,
                                     train_layers=train_layers, max_length=max_length, batch_size=batch_size,
                                     storage_dtype=storage_dtype, device=device, autocast=autocast)
        return states_to_table(states)

    return run_sharded(
        store, HIDDEN_STATES, config, compute, dataset=dataset, columns=[text_column], shard_rows=shard_rows,
        schema=SCHEMA, parents=[dataset_ref], inputs=(fingerprint,), shards=shards, on_shard=on_shard,
        meta={"storage_dtype": storage_dtype, "hidden_size": hidden_size, "dataset_fingerprint": fingerprint,
              "text_column": text_column},
    )


def read_hidden_states(store: Any, ref: Any) -> HiddenStates:
    """The states of a ``hidden_states`` artifact, row order kept."""
    meta = store.manifest(ref).get("meta", {})
    return states_from_table(store.read_table(ref), dtype=meta["storage_dtype"], hidden_size=int(meta["hidden_size"]))
