"""Selection speed and memory: every built-in pruner on one large score column.

Builds an in-memory dataset (``row_id``, ``label``, ``score``, ``score2``),
then for each pruner reports:

* ``seconds``: one ``prune(dataset)`` call, i.e. the selection plus the
  ``dataset.select`` index mapping (the first call of that pruner);
* ``select_seconds``: the selection alone (``fit_indices``), called again;
* ``rss_mb``: peak resident memory above its level before the ``prune`` call
  (sampled every 2 ms; includes Arrow buffers and ``dataset.select``);
* ``traced_mb``: peak of the numpy allocations of the selection
  (``tracemalloc``, in a separate run);
* ``peak_mb``: the larger of the two.

The baseline, run in the same process, is the original dPrune
``TopKPruner``: ``dataset.sort("score", reverse=True).select(range(k))``.

Usage::

    python benchmarks/selection.py            # 10 million rows
    python benchmarks/selection.py --quick    # 1 million rows

The last line printed is one JSON object with every number.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import threading
import time
import tracemalloc
import warnings
from typing import Callable

import numpy as np
import pyarrow as pa
from datasets import Dataset
from datasets.table import InMemoryTable

from dprune.pruners import (
    BottomKPruner,
    ClassBalancedPruner,
    CombinedScorePruner,
    CoverageCentricPruner,
    QuantileBandPruner,
    RandomPruner,
    StratifiedPruner,
    ThresholdPruner,
    TopKPruner,
)

TARGET_SECONDS = 3.0
TARGET_PEAK_MB = 1024.0
BUDGET = 0.5


def make_dataset(rows: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    table = pa.table(
        {
            "row_id": np.arange(rows, dtype=np.int64),
            "label": rng.integers(0, 10, rows),
            "score": rng.normal(size=rows),
            "score2": rng.random(rows),
        }
    )
    return Dataset(InMemoryTable(table))


def pruners() -> dict[str, Callable[[], object]]:
    return {
        "top_k": lambda: TopKPruner(k=BUDGET),
        "bottom_k": lambda: BottomKPruner(k=BUDGET),
        "random": lambda: RandomPruner(k=BUDGET),
        "stratified_quantile": lambda: StratifiedPruner(k=BUDGET, num_strata=10),
        "stratified_width": lambda: StratifiedPruner(k=BUDGET, num_strata=10, strata="width"),
        "coverage_centric": lambda: CoverageCentricPruner(k=BUDGET, beta=0.1, num_strata=50),
        "threshold": lambda: ThresholdPruner(low=-1.0, high=1.0),
        "quantile_band": lambda: QuantileBandPruner(band="middle"),
        "class_balanced_top_k": lambda: ClassBalancedPruner(TopKPruner(k=1), k=BUDGET),
        "combined_rank_mean_top_k": lambda: CombinedScorePruner(TopKPruner(k=BUDGET), ["score", "score2"]),
    }


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: peak RSS since start, the best available
        import resource

        scale = 1 if platform.system() == "Darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class RssPeak:
    """Samples the resident set size in a thread while the block runs."""

    def __enter__(self) -> "RssPeak":
        self.start = _rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def measure(run: Callable[[], object], traced: Callable[[], object] | None = None) -> dict:
    """Seconds and RSS peak of ``run``, then the traced numpy peak of ``traced`` (default ``run``)."""
    gc.collect()
    with RssPeak() as rss:
        start = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - start
    kept = len(result)
    del result
    gc.collect()
    tracemalloc.start()
    try:
        (traced or run)()
        traced_mb = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return {
        "seconds": round(seconds, 3),
        "peak_mb": round(max(traced_mb, rss.extra_mb), 1),
        "traced_mb": round(traced_mb, 1),
        "rss_mb": round(rss.extra_mb, 1),
        "kept": kept,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows to select from (default 10 million)")
    parser.add_argument("--quick", action="store_true", help="1 million rows")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = 1_000_000 if args.quick else args.rows

    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    dataset = make_dataset(rows, args.seed)
    results = {}
    for name, build in pruners().items():
        result = measure(lambda: build().prune(dataset), traced=lambda: build().fit_indices(dataset))
        start = time.perf_counter()
        build().fit_indices(dataset)
        result["select_seconds"] = round(time.perf_counter() - start, 3)
        results[name] = result
        print(f"{name:26s} {json.dumps(results[name])}", file=sys.stderr, flush=True)

    k = int(round(BUDGET * rows))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pyarrow deprecation inside datasets.sort
        baseline = measure(lambda: dataset.sort("score", reverse=True).select(range(k)))
    print(f"{'baseline (original top_k)':26s} {json.dumps(baseline)}", file=sys.stderr, flush=True)

    ours = results["top_k"]["seconds"]
    worst_seconds = max(r["seconds"] for r in results.values())
    worst_peak = max(r["peak_mb"] for r in results.values())
    return {
        "benchmark": "select",
        "rows": rows,
        "budget": BUDGET,
        "results": results,
        "baseline": 'original dPrune TopKPruner: dataset.sort("score", reverse=True).select(range(k))',
        "baseline_result": baseline,
        "ours_per_s": round(rows / ours),
        "baseline_per_s": round(rows / baseline["seconds"]),
        "ratio": round(baseline["seconds"] / ours, 2),
        "target": {"seconds": TARGET_SECONDS, "peak_mb": TARGET_PEAK_MB},
        "worst_seconds": worst_seconds,
        "worst_peak_mb": worst_peak,
        "meets_target": worst_seconds < TARGET_SECONDS and worst_peak < TARGET_PEAK_MB,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }


if __name__ == "__main__":
    print(json.dumps(main()))
