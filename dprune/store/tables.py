"""Arrow tables in and out of shards: conversion, schema checks, serialization."""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa

from dprune.core.fingerprint import is_hf_dataset, iter_table_windows

__all__ = ["TARGET_SHARD_BYTES", "conform", "default_shard_rows", "schema_diff", "to_table", "write_shard_file"]

#: Default shard size for :meth:`ArtifactStore.write_table` when ``shard_rows`` is None.
TARGET_SHARD_BYTES = 128 << 20


def to_table(data: Any) -> pa.Table:
    """A shard's rows as one table (Datasets go through their indices mapping)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if is_hf_dataset(data):
        schema, windows = iter_table_windows(data, max(1, len(data)))
        tables = [conform(w, schema) for w in windows]
        return pa.concat_tables(tables) if tables else schema.empty_table()
    raise TypeError(
        f"Expected a pyarrow.Table, pyarrow.RecordBatch or datasets.Dataset, got "
        f"{type(data).__module__}.{type(data).__qualname__}."
    )


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema`` (same types required; metadata taken from ``schema``)."""
    if table.schema.equals(schema, check_metadata=True):
        return table
    if table.schema.equals(schema, check_metadata=False):
        return table.replace_schema_metadata(schema.metadata)
    return table.cast(schema)


def schema_diff(expected: pa.Schema, got: pa.Schema) -> str:
    """How ``got`` differs from ``expected``, in words."""
    exp = {f.name: f for f in expected}
    out = {f.name: f for f in got}
    parts = []
    missing = [n for n in exp if n not in out]
    extra = [n for n in out if n not in exp]
    if missing:
        parts.append(f"missing columns {missing}")
    if extra:
        parts.append(f"unexpected columns {extra}")
    for n in exp:
        if n in out and not exp[n].equals(out[n]):
            parts.append(f"column {n!r}: expected {exp[n].type} (nullable={exp[n].nullable}), "
                         f"got {out[n].type} (nullable={out[n].nullable})")
    if not parts and expected.names != got.names:
        parts.append(f"column order {got.names} instead of {expected.names}")
    return "; ".join(parts) or "schemas differ"


def write_shard_file(table: pa.Table, path: str) -> int:
    """Write ``table`` to the local file ``path`` as one Arrow IPC stream (chunks combined when they fit);
    return its size. The stream goes to the file as it is written, never whole into memory."""
    if any(col.num_chunks > 1 for col in table.columns):
        try:
            table = table.combine_chunks()
        except (pa.ArrowInvalid, pa.ArrowCapacityError):  # e.g. > 2 GiB of strings: keep chunks
            pass
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return os.path.getsize(path)


def default_shard_rows(data: Any) -> int:
    """Rows per shard that make shards of about :data:`TARGET_SHARD_BYTES`."""
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        nbytes, nrows = data.nbytes, data.num_rows
    elif is_hf_dataset(data):
        nbytes, nrows = data.data.nbytes, data.data.num_rows
    else:
        return 1 << 20
    if nrows == 0 or nbytes == 0:
        return 1 << 20
    return max(1, int(TARGET_SHARD_BYTES // max(1.0, nbytes / nrows)))
