"""Embeddings as a sharded, resumable artifact of the store.

:func:`embed_to_store` writes the vectors of a dataset's text column to
``{root}/embeddings/{key}/``, one shard per ``shard_rows`` rows, each committed as
soon as it is computed; a run killed half-way resumes at the first missing shard
(shards already written are never recomputed). :func:`read_embeddings` returns them
as one ``(n, dim)`` array for every scorer that needs vectors.

The key hashes (see :func:`embedding_key`):

* the *content* of the text column (its name does not matter), or a fingerprint the
  caller passes;
* the model identity (sha256 of the weight and config files of a model folder, or of
  the in-memory weights of a model object) and the tokenizer identity;
* the resolved pooling, normalization, ``max_length`` and precision;
* the storage dtype (``float32``, or ``float16`` to halve the size).

The batch size, the device and the shard size are not in the key: they do not change
the vectors beyond float rounding (the shard size is recorded in the writer's plan, so
a resumed run with another shard size starts over instead of mixing layouts).

Artifact schema: one column ``embedding`` of type ``fixed_size_list<float32|float16>[dim]``
aligned with the dataset's rows; the manifest's ``meta`` records ``dim``, ``num_rows``,
the dataset fingerprint and the text column.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa

from dprune.text.embedding import TextEmbedder, text_column_to_list
from dprune.core.fingerprint import compute_key, dataset_fingerprint as _fingerprint

__all__ = [
    "EMBEDDINGS_COLUMN",
    "EMBEDDINGS_STAGE",
    "EMBEDDINGS_STAGE_VERSION",
    "STORAGE_DTYPES",
    "embed_to_store",
    "embedding_key",
    "embeddings_to_table",
    "read_embeddings",
    "table_to_embeddings",
    "text_fingerprint",
    "vectors_for",
]

EMBEDDINGS_STAGE = "embeddings"
#: Bump when the embedding computation changes, so old artifacts are not reused.
EMBEDDINGS_STAGE_VERSION = 1
EMBEDDINGS_COLUMN = "embedding"
STORAGE_DTYPES = ("float32", "float16")
DEFAULT_SHARD_ROWS = 10_000


def _check_dtype(dtype: str) -> str:
    if dtype not in STORAGE_DTYPES:
        raise ValueError(
            f"The 'dtype' parameter of embed_to_store must be one of {STORAGE_DTYPES}. Got {dtype!r} instead."
        )
    return dtype


def text_fingerprint(dataset: Any, text_column: str) -> str:
    """Content hash of one text column (renamed, so the column's name does not enter it)."""
    from dprune.core.base import require_columns

    require_columns(dataset, [text_column], owner="embed_to_store")
    view = dataset.select_columns([text_column])
    if text_column != "text":
        view = view.rename_column(text_column, "text")
    return _fingerprint(view)


def embedding_key(
    embedder: TextEmbedder,
    *,
    fingerprint: str,
    dtype: str = "float32",
    parents: Sequence[Any] = (),
) -> tuple[str, dict]:
    """The store key and config of the embeddings of rows with ``fingerprint`` by ``embedder``."""
    config = {**embedder.identity(), **embedder.settings(), "dtype": _check_dtype(dtype)}
    key = compute_key(EMBEDDINGS_STAGE, EMBEDDINGS_STAGE_VERSION, config, parents=parents, inputs=(fingerprint,))
    return key, config


def embeddings_to_table(vectors: np.ndarray, dtype: str = "float32") -> pa.Table:
    """An ``(n, dim)`` array as a one-column table of fixed-size lists."""
    arr = np.ascontiguousarray(vectors, dtype=np.dtype(_check_dtype(dtype)))
    if arr.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (rows, dim); got shape {arr.shape}.")
    values = pa.array(arr.reshape(-1))
    return pa.table({EMBEDDINGS_COLUMN: pa.FixedSizeListArray.from_arrays(values, arr.shape[1])})


def embed_to_store(
    dataset: Any,
    store: Any,
    *,
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
    parents: Sequence[Any] = (),
    fingerprint: str | None = None,
    progress: bool | None = None,
    on_shard: Callable[[int, int, int], None] | None = None,
    embedder: TextEmbedder | None = None,
    shards: Sequence[int] | None = None,
) -> Any:
    """Embed ``dataset[text_column]`` into the store (resumable) and return the ``ArtifactRef``.

    Parameters
    ----------
    dataset : datasets.Dataset
    store : dprune.store.ArtifactStore
    text_column : str
    model, tokenizer, pooling, max_length, normalize, batch_size, device, precision, progress
        As for :class:`dprune.text.embedding.TextEmbedder` (ignored when ``embedder`` is given).
    dtype : {"float32", "float16"}
        Storage type of the vectors.
    shard_rows : int
        Rows per committed shard.
    parents : sequence of ArtifactRef
        Upstream artifacts (e.g. the dataset artifact), recorded and hashed into the key.
    fingerprint : str, optional
        Identity of the texts; default :func:`text_fingerprint` of the column.
    on_shard : callable, optional
        ``on_shard(index, start, stop)`` after each shard this call computed and committed.
    embedder : TextEmbedder, optional
        A ready embedder (its settings win over the keyword arguments above).
    shards : sequence of int, optional
        Compute only these shards (if missing) and return None without committing: how a
        workflow maps one task per shard. A later call without it commits.

    Returns
    -------
    dprune.store.ArtifactRef
        The existing artifact when the store already holds one for the same key.
    """
    from dprune.core.parallel import plan_shards

    _check_dtype(dtype)
    if isinstance(shard_rows, bool) or not isinstance(shard_rows, int) or shard_rows < 1:
        raise ValueError(
            f"The 'shard_rows' parameter of embed_to_store must be an int >= 1. Got {shard_rows!r} instead."
        )
    if embedder is None:
        embedder = TextEmbedder(model, tokenizer, pooling=pooling, max_length=max_length, normalize=normalize,
                                batch_size=batch_size, device=device, precision=precision, progress=progress,
                                owner="embed_to_store")
    if fingerprint is None:
        fingerprint = text_fingerprint(dataset, text_column)
    key, config = embedding_key(embedder, fingerprint=fingerprint, dtype=dtype, parents=parents)
    if store.exists(EMBEDDINGS_STAGE, key):
        return store.ref(EMBEDDINGS_STAGE, key)
    planned = plan_shards(len(dataset), shard_rows)
    dim = embedder.dimension
    schema = pa.schema([(EMBEDDINGS_COLUMN, pa.list_(pa.from_numpy_dtype(np.dtype(dtype)), dim))])
    writer = store.open_writer(
        EMBEDDINGS_STAGE, key, config=config, parents=parents,
        versions={"stage": EMBEDDINGS_STAGE_VERSION},
        meta={"dim": dim, "num_rows": len(dataset), "dataset_fingerprint": fingerprint, "text_column": text_column},
        num_shards=len(planned), schema=schema,
        plan={"rows_per_shard": shard_rows, "num_rows": len(dataset)},
    )
    todo = writer.missing_shards(len(planned))
    if shards is not None:
        todo = [index for index in todo if index in set(shards)]
    for index in todo:
        shard = planned[index]
        texts = text_column_to_list(dataset, text_column, shard.start, shard.stop)
        vectors = embedder.embed(texts, offset=shard.start)
        writer.write_shard(index, embeddings_to_table(vectors.reshape(len(texts), dim), dtype))
        if on_shard is not None:
            on_shard(index, shard.start, shard.stop)
    if shards is not None:
        return None
    return writer.commit(schema=schema)


def table_to_embeddings(table: Any, column: str = EMBEDDINGS_COLUMN, *, owner: str = "read_embeddings") -> np.ndarray:
    """A list column of an Arrow table or ``datasets.Dataset`` as an ``(n, dim)`` float32 array.

    Raises ``ValueError`` naming the column for nulls, ragged rows or a non-numeric type.
    """
    if hasattr(table, "with_format") and not isinstance(table, pa.Table):
        table = table.with_format("arrow")[column]
    elif isinstance(table, pa.Table):
        table = table.column(column)
    chunked = table if isinstance(table, pa.ChunkedArray) else pa.chunked_array([table])
    n = len(chunked)
    type_ = chunked.type
    if not (pa.types.is_list(type_) or pa.types.is_large_list(type_) or pa.types.is_fixed_size_list(type_)):
        raise ValueError(
            f"{owner}: column {column!r} must hold one vector (a list of numbers) per row; it has type {type_}. "
            "Store embeddings as a list column, e.g. Dataset.add_column(name, vectors.tolist())."
        )
    if not (pa.types.is_floating(type_.value_type) or pa.types.is_integer(type_.value_type)):
        raise ValueError(f"{owner}: column {column!r} holds lists of {type_.value_type}; expected numbers.")
    array = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
    if array.null_count:
        rows = np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))
        raise ValueError(
            f"{owner}: column {column!r} has missing vectors (None) at row position(s) {rows[:20].tolist()}. "
            "Every row needs a vector: drop or fill those rows."
        )
    if pa.types.is_fixed_size_list(type_):
        dim = type_.list_size
        values = array.flatten()
    else:
        import pyarrow.compute as pc

        lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
        dim = int(lengths[0]) if n else 0
        bad = np.flatnonzero(lengths != dim)
        if bad.size:
            raise ValueError(
                f"{owner}: column {column!r} has vectors of different lengths: row 0 has {dim} values but row "
                f"position(s) {bad[:20].tolist()} have {sorted(set(lengths[bad][:20].tolist()))}. "
                "Every row needs a vector of the same dimension."
            )
        values = array.flatten()
    if values.null_count:
        raise ValueError(f"{owner}: column {column!r} has missing (None) values inside vectors.")
    if n and dim == 0:
        raise ValueError(f"{owner}: column {column!r} holds empty vectors; expected one number per dimension.")
    flat = values.to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(n, dim)


def read_embeddings(store: Any, ref: Any) -> np.ndarray:
    """The vectors of an embeddings artifact as one ``(n, dim)`` float32 array (row order kept)."""
    table = store.read_table(ref)
    return table_to_embeddings(table, EMBEDDINGS_COLUMN)


def _is_artifact_ref(value: Any) -> bool:
    return all(isinstance(getattr(value, a, None), str) for a in ("root", "stage", "key"))


def vectors_for(
    dataset: Any,
    *,
    owner: str,
    text_column: str,
    embeddings_column: str | None = None,
    embeddings: Any = None,
    embedder: TextEmbedder | None = None,
) -> np.ndarray:
    """The ``(len(dataset), dim)`` vectors a scorer works on, from the first source given.

    1. ``embeddings_column``: a list column of the dataset (one vector per row);
    2. ``embeddings``: an ``(n, dim)`` array aligned with the dataset's rows, or the
       ``ArtifactRef`` of an embeddings artifact (see :func:`embed_to_store`);
    3. otherwise ``embedder`` embeds ``dataset[text_column]``.
    """
    n = len(dataset)
    if embeddings_column is not None:
        return table_to_embeddings(dataset, embeddings_column, owner=owner)
    if embeddings is not None:
        if _is_artifact_ref(embeddings):
            from dprune.store import ArtifactStore

            vectors = read_embeddings(ArtifactStore(embeddings.root), embeddings)
            what = f"the embeddings artifact {embeddings.stage}/{embeddings.key}"
        else:
            vectors = np.asarray(embeddings)
            what = "the 'embeddings' array"
            if vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.number):
                raise ValueError(
                    f"The 'embeddings' parameter of {owner} must be a numeric array of shape (rows, dim); "
                    f"got shape {vectors.shape} and dtype {vectors.dtype}."
                )
            vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape[0] != n:
            raise ValueError(
                f"{owner}: {what} has {vectors.shape[0]} rows but the dataset has {n}. Pass embeddings computed "
                "for exactly these rows, in the same order (after any select/filter/shuffle)."
            )
        return vectors
    if embedder is None:
        raise ValueError(f"{owner}: no embeddings column, no embeddings and no embedder to compute them.")
    import pyarrow.compute as pc

    column = dataset.with_format("arrow")[text_column]
    if pa.types.is_null(column.type) or column.null_count:
        rows = np.flatnonzero(pc.is_null(column).to_numpy(zero_copy_only=False))
        from dprune.text.embedding import _format_positions

        raise ValueError(
            f"{owner}: column {text_column!r} has None (missing) text at row position(s) "
            f"{_format_positions(rows.tolist())}. Drop those rows "
            f"(dataset.filter(lambda r: r[{text_column!r}] is not None)) or fill them with text "
            "(an empty string is embedded like any other text)."
        )
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise TypeError(
            f"{owner}: column {text_column!r} must hold text; it has type {column.type}. "
            "Pass text_column=<a string column> or embeddings_column=<a vector column>."
        )
    return embedder.embed(column.to_pylist())
