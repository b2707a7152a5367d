"""Subprocess helper of ``tests/test_store_faults.py``: writes one multi-shard artifact.

Run as ``python tests/store_fault_worker.py ROOT KEY MODE VARIANT``. It prints ``ready`` when
it starts writing and ``shard I`` after each committed shard, so the parent can SIGKILL it
at a random point after a known amount of progress. ``MODE`` is ``table``
(``ArtifactStore.write_table``) or ``writer`` (``open_writer`` + ``put_file`` + ``commit``).
``VARIANT`` changes the data, to model a non-deterministic stage racing on one key.
"""

from __future__ import annotations

import os
import sys
import types

import numpy as np
import pyarrow as pa

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGE = "faults"
N_SHARDS = 10
ROWS_PER_SHARD = 20_000  # 3 columns of 8 bytes: ~480 KB per shard


def _store_module():
    """Import ``dprune.store``; in a fresh process, skip ``dprune/__init__`` (it imports
    ``datasets``, ~1 s) because these tests spawn dozens of workers."""
    if "dprune" not in sys.modules:
        pkg = types.ModuleType("dprune")
        pkg.__path__ = [os.path.join(REPO, "dprune")]
        sys.modules["dprune"] = pkg
    from dprune import store

    return store


def _column(values: np.ndarray) -> pa.Array:
    # Built from the buffer: pa.array() would import pandas (~0.3 s per worker).
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


def make_table(variant: int = 0) -> pa.Table:
    n = N_SHARDS * ROWS_PER_SHARD
    rng = np.random.default_rng(1234 + variant)
    columns = [np.arange(n, dtype=np.int64), rng.standard_normal(n), rng.integers(0, 1 << 40, n, dtype=np.int64)]
    return pa.Table.from_arrays([_column(c) for c in columns], names=["row_id", "x", "y"])


def payload(variant: int = 0) -> bytes:
    return bytes([variant % 256]) * 50_000


def write(root: str, key: str, mode: str, variant: int = 0, progress=None):
    """Write (or resume) the artifact; ``progress(i)`` is called after each shard commit."""
    store_mod = _store_module()
    store = store_mod.ArtifactStore(root)
    table = make_table(variant)
    config = {"mode": mode}
    if mode == "table":
        if progress is None:
            return store.write_table(STAGE, key, table, config=config, shard_rows=ROWS_PER_SHARD)
        original = store_mod.ShardedWriter.write_shard

        def write_shard(self, i, data):
            out = original(self, i, data)
            progress(i)
            return out

        store_mod.ShardedWriter.write_shard = write_shard
        try:
            return store.write_table(STAGE, key, table, config=config, shard_rows=ROWS_PER_SHARD)
        finally:
            store_mod.ShardedWriter.write_shard = original
    if mode == "writer":
        writer = store.open_writer(STAGE, key, config=config, num_shards=N_SHARDS)
        for i in writer.missing_shards():
            writer.write_shard(i, table.slice(i * ROWS_PER_SHARD, ROWS_PER_SHARD))
            if progress is not None:
                progress(i)
        writer.put_file("extra.bin", payload(variant))
        return writer.commit()
    raise ValueError(f"unknown mode {mode!r}")


if __name__ == "__main__":
    root_, key_, mode_, variant_ = sys.argv[1:5]

    def _progress(i: int) -> None:
        print(f"shard {i}", flush=True)

    print("ready", flush=True)
    write(root_, key_, mode_, int(variant_), _progress)
    print("done", flush=True)
