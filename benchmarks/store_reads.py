#!/usr/bin/env python
"""Benchmark: the cost of checking every shard's sha256 when an artifact is first read.

An embeddings-like artifact (float32 vectors, 384 dimensions; 256 MiB, or 32 MiB with
``--quick``) is written to a local store. Then, alternating, ``--rounds`` times:

* **baseline** -- ``read_table`` plus a full pass over the vectors when this process has
  already proved the shards (sizes checked, no hashing: what reads cost before checksums);
* **ours** -- the same after forgetting every proof, i.e. the first read in a process,
  which hashes every shard before memory-mapping it.

Both read the same files from the page cache. As in ``timeit``, the best time of the
rounds is the estimate (other processes on a shared machine only ever add time); medians
are printed too. The last line of the output is one JSON object.

Usage::

    python benchmarks/store_reads.py [--quick] [--rounds N]
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from dprune.store import ArtifactStore, checksums  # noqa: E402

DIM = 384


def _vectors(rows: int) -> pa.Table:
    flat = np.random.default_rng(0).standard_normal(rows * DIM, dtype=np.float32)
    return pa.table({"row_id": pa.array(np.arange(rows)),
                     "embedding": pa.FixedSizeListArray.from_arrays(pa.array(flat), DIM)})


def _read_and_touch(store: ArtifactStore, ref) -> float:
    start = time.perf_counter()
    table = store.read_table(ref)
    total = 0.0
    for chunk in table.column("embedding").chunks:
        total += float(np.asarray(chunk.values).sum())
    assert np.isfinite(total)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32 MiB instead of 256 MiB")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    mib = 32 if args.quick else 256
    rows = (mib << 20) // (DIM * 4)
    with tempfile.TemporaryDirectory() as tmp:
        store = ArtifactStore(os.path.join(tmp, "store"))
        ref = store.write_table("embeddings", "bench", _vectors(rows), config={}, shard_rows=max(1, rows // 8))
        _read_and_touch(store, ref)  # page cache warm, proofs recorded
        base, ours = [], []
        for _ in range(args.rounds):
            base.append(_read_and_touch(store, ref))
            checksums._PROOFS.clear()  # noqa: SLF001 - the benchmark forgets the proofs on purpose
            ours.append(_read_and_touch(store, ref))
    best_base, best_ours = min(base), min(ours)
    result = {
        "benchmark": "store_first_read_checksums",
        "baseline": "read_table + full pass, shards already proved (size checks only)",
        "ours": "read_table + full pass, first read in the process (sha256 of every shard)",
        "mib": mib, "rounds": args.rounds,
        "baseline_per_s": round(mib / best_base, 1), "ours_per_s": round(mib / best_ours, 1),
        "unit": "MiB/s",
        "baseline_median_s": round(statistics.median(base), 4), "ours_median_s": round(statistics.median(ours), 4),
        "checksum_overhead_s_per_gib": round((best_ours - best_base) * 1024 / mib, 3),
        "ratio": round(best_base / best_ours, 3),
        "target": "first-read overhead <= 1 s per GiB; later reads in the process cost nothing extra",
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
