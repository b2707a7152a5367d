"""Stage ``embeddings``: the vectors of a dataset's text column, sharded and resumable.

The key hashes the *content* of the text column (not its name), the encoder's identity
(a hash of a model folder's files or of in-memory weights, and the tokenizer), the
resolved pooling, normalization, ``max_length`` and precision, and the storage dtype.
Batch size, device and shard size are not in the key: they change the vectors by float
rounding at most (the shard size is recorded in the writer's plan, so a resumed run
with another shard size starts over instead of mixing layouts).

Artifact: one column ``embedding`` (``fixed_size_list<float32|float16>[dim]``) aligned
with the dataset's rows; ``meta`` records ``dim``, ``num_rows``, the texts' fingerprint
and the text column.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa

from dprune.core.base import require_columns
from dprune.core.fingerprint import dataset_fingerprint, parts_fingerprint
from dprune.stages.runner import Stage, run_sharded
from dprune.text.embedding import TextEmbedder
from dprune.vectors.arrays import EMBEDDINGS_COLUMN, check_dtype, embeddings_to_table, table_to_embeddings

EMBEDDINGS = Stage("embeddings", version=1)
DEFAULT_SHARD_ROWS = 10_000


def text_fingerprint(dataset: Any, text_column: str) -> str:
    """Content hash of one text column (renamed, so the column's name does not enter it)."""
    return dataset_fingerprint(_text_view(dataset, text_column))


#: ``(the dataset shards' sha256, text column) -> fingerprint``, for this process: each sharded stage's
#: shard tasks ask for the same fingerprint of the same stored dataset.
_STORED_TEXT_FINGERPRINTS: dict[tuple[tuple[str, ...], str, bool], str] = {}


def stored_text_fingerprint(store: Any, dataset_ref: Any, text_column: str, *, rename: bool = True) -> str:
    """:func:`text_fingerprint` of a stored dataset, computed once per process and shard by shard.

    ``rename=False`` hashes the column under its own name (``dataset_fingerprint`` of the
    column alone, as the perplexity stage keys its scores).

    Keyed by the content of the dataset's shards (their sha256, checked when they are read), so a
    shard task of a sharded stage neither hashes the whole column again nor keeps every page of the
    dataset mapped while it computes its own shard.
    """
    known = (tuple(shard["sha256"] for shard in store.manifest(dataset_ref)["shards"]), text_column, rename)
    if known not in _STORED_TEXT_FINGERPRINTS:
        if not known[0]:  # no shard to stream
            _STORED_TEXT_FINGERPRINTS[known] = dataset_fingerprint(_text_view(store.read(dataset_ref), text_column,
                                                                              rename))
        else:
            views = (_text_view(shard, text_column, rename) for shard in store.read_shards(dataset_ref))
            first = next(views)  # one pass over the shards: the first gives the schema, then its rows
            parts = (view.data.table for view in itertools.chain([first], views))
            _STORED_TEXT_FINGERPRINTS[known] = parts_fingerprint(first.features.arrow_schema, parts)
    return _STORED_TEXT_FINGERPRINTS[known]


def _text_view(dataset: Any, text_column: str, rename: bool = True) -> Any:
    require_columns(dataset, [text_column], owner="the embeddings stage")
    view = dataset.select_columns([text_column])
    return view.rename_column(text_column, "text") if rename and text_column != "text" else view


def embedding_key(
    embedder: TextEmbedder, *, fingerprint: str, dtype: str = "float32", parents: Sequence[Any] = ()
) -> tuple[str, dict]:
    """The store key and config of the embeddings of rows with ``fingerprint`` by ``embedder``."""
    config = {**embedder.identity(), **embedder.settings(), "dtype": check_dtype(dtype)}
    return EMBEDDINGS.key(config, parents=parents, inputs=(fingerprint,)), config


def embed_stage(
    store: Any,
    dataset_ref: Any = None,
    *,
    dataset: Any = None,
    text_column: str = "text",
    model: Any = None,
    tokenizer: Any = None,
    pooling: str = "auto",
    max_length: int | None = None,
    normalize: bool | None = None,
    batch_size: int = 64,
    device: Any = None,
    precision: str = "auto",
    dtype: str = "float32",
    shard_rows: int = DEFAULT_SHARD_ROWS,
    progress: bool | None = None,
    embedder: TextEmbedder | None = None,
    shards: Sequence[int] | None = None,
    on_shard: Callable[[int, int, int], None] | None = None,
) -> Any:
    """Embed ``text_column`` of the dataset artifact (or of ``dataset``) into the store and return the artifact.

    Parameters
    ----------
    store : ArtifactStore
    dataset_ref : ArtifactRef, optional
        The dataset artifact (a parent of the embeddings); or pass ``dataset`` itself.
    text_column : str
    model, tokenizer, pooling, max_length, normalize, batch_size, device, precision, progress
        As for :class:`dprune.text.embedding.TextEmbedder` (ignored when ``embedder`` is given).
    dtype : {"float32", "float16"}
        Storage type of the vectors.
    shard_rows : int
        Rows per committed shard.
    shards : sequence of int, optional
        Compute only these shards (if missing) and return None without committing (or the
        artifact, when already stored).
    on_shard : callable, optional
        ``on_shard(index, start, stop)`` after each shard this call computed.
    """
    check_dtype(dtype)
    if dataset is None:
        dataset = store.read(dataset_ref)
    parents = [dataset_ref] if dataset_ref is not None else []
    if embedder is None:
        embedder = TextEmbedder(model, tokenizer, pooling=pooling, max_length=max_length, normalize=normalize,
                                batch_size=batch_size, device=device, precision=precision, progress=progress,
                                owner="embed_stage")
    fingerprint = text_fingerprint(dataset, text_column)
    key, config = embedding_key(embedder, fingerprint=fingerprint, dtype=dtype, parents=parents)
    existing = EMBEDDINGS.lookup(store, key)
    if existing is not None or (shards is not None and not shards):  # before `embedder.dimension` loads the model
        return existing
    dim = embedder.dimension
    schema = pa.schema([(EMBEDDINGS_COLUMN, pa.list_(pa.from_numpy_dtype(np.dtype(dtype)), dim))])

    def compute(table: pa.Table, start: int) -> pa.Table:
        texts = table.column(text_column).to_pylist()
        vectors = embedder.embed(texts, offset=start)
        return embeddings_to_table(vectors.reshape(len(texts), dim), dtype)

    return run_sharded(
        store, EMBEDDINGS, config, compute, dataset=dataset, columns=[text_column], shard_rows=shard_rows,
        schema=schema, parents=parents, key=key, shards=shards, on_shard=on_shard,
        meta={"dim": dim, "dataset_fingerprint": fingerprint, "text_column": text_column},
    )


def read_embeddings(store: Any, ref: Any) -> np.ndarray:
    """The vectors of an embeddings artifact as one ``(n, dim)`` float32 array (row order kept)."""
    return table_to_embeddings(store.read_table(ref), EMBEDDINGS_COLUMN)
