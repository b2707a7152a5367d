"""Embedding vectors as Arrow: one fixed-size list column, and back to an ``(n, dim)`` array."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["EMBEDDINGS_COLUMN", "STORAGE_DTYPES", "check_dtype", "embeddings_to_table", "table_to_embeddings"]

EMBEDDINGS_COLUMN = "embedding"
STORAGE_DTYPES = ("float32", "float16")


def check_dtype(dtype: str) -> str:
    """``dtype`` if it is a storage type of embeddings, else a ``ValueError`` naming the choices."""
    if dtype not in STORAGE_DTYPES:
        raise ValueError(
            f"The 'dtype' parameter of the embeddings stage must be one of {STORAGE_DTYPES}. Got {dtype!r} instead."
        )
    return dtype


def embeddings_to_table(vectors: np.ndarray, dtype: str = "float32") -> pa.Table:
    """An ``(n, dim)`` array as a one-column table of fixed-size lists."""
    arr = np.ascontiguousarray(vectors, dtype=np.dtype(check_dtype(dtype)))
    if arr.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (rows, dim); got shape {arr.shape}.")
    values = pa.array(arr.reshape(-1))
    return pa.table({EMBEDDINGS_COLUMN: pa.FixedSizeListArray.from_arrays(values, arr.shape[1])})


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

