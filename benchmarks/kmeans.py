#!/usr/bin/env python
"""Benchmark: dPrune k-means against scikit-learn ``KMeans`` on 200,000 x 384 vectors, k = 100.

What is measured, on the same float32 data in the same run:

* **sklearn_n_init_10** -- ``KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)``,
  what the original dPrune ran (the quality reference);
* **sklearn_n_init_1** -- the same with ``n_init=1``;
* **ours** -- ``dprune.clustering.kmeans(x, k, seed=seed)`` (``algorithm="auto"``: k-means++
  and Lloyd on a 20,000-row sample, then Lloyd on all rows with BLAS distances), including
  the final assignment and the exact distance of every row to its centroid;
* **faiss** (only when ``faiss`` imports) -- ``kmeans(..., algorithm="faiss")``.

The data is a seeded gaussian mixture: ``k`` centres drawn from N(0, 0.25^2) per
dimension, mixture weights from a Dirichlet(2), and a per-cluster noise scale in
[0.5, 1.5] -- overlapping clusters, so k-means has real local optima and the quality
comparison means something. It is written once to a temporary ``.npy`` file; every
measurement runs in its own subprocess (no thread pool or cache carried over between
libraries). The fast methods run ``--rounds`` times, alternating; like ``timeit``, the
best (minimum) time of the rounds is the estimate used for the speedups, because on a
shared machine other processes only ever add time (medians are reported too).
``sklearn_n_init_10`` runs once (it takes minutes). ``inertia`` is the sum of squared
distances of all rows to their centroids, computed the same way for every method.

Usage::

    python benchmarks/kmeans.py            # 200,000 x 384, k = 100
    python benchmarks/kmeans.py --quick    # 60,000 x 384, k = 50 (still larger than the 40,000-row sample)

The last line of the output is one JSON object.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import json
import statistics
import subprocess
import tempfile
import time

import numpy as np


def make_data(n: int, dim: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, dim)).astype(np.float32) * 0.25
    weights = rng.dirichlet(np.full(k, 2.0))
    truth = rng.choice(k, n, p=weights)
    scale = rng.uniform(0.5, 1.5, k).astype(np.float32)
    return centers[truth] + rng.standard_normal((n, dim), dtype=np.float32) * scale[truth, None]


def inertia_of(x: np.ndarray, centroids: np.ndarray) -> float:
    from dprune.vectors.kmeans import assign_clusters

    _, distances = assign_clusters(x, centroids)
    d = distances.astype(np.float64)
    return float((d * d).sum())


def worker(method: str, data: str, k: int, seed: int) -> dict:
    import sklearn.cluster  # noqa: F401  (imports outside the timing)
    import torch  # noqa: F401

    import dprune.vectors.kmeans  # noqa: F401

    x = np.load(data)
    start = time.perf_counter()
    if method.startswith("sklearn"):
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters=k, n_init=10 if method == "sklearn_n_init_10" else 1, random_state=seed).fit(x)
        seconds = time.perf_counter() - start
        centroids, n_iter = model.cluster_centers_.astype(np.float32), int(model.n_iter_)
    else:
        from dprune.vectors.kmeans import kmeans

        result = kmeans(x, k, seed=seed, algorithm="faiss" if method == "faiss" else "auto")
        seconds = time.perf_counter() - start
        centroids, n_iter = result.centroids, result.n_iter
    return {"seconds": seconds, "inertia": inertia_of(x, centroids), "n_iter": n_iter}


def run_worker(method: str, data: str, k: int, seed: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", method, "--_data", data,
           "--k", str(k), "--seed", str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{method} worker failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"  {method:>18}: {result['seconds']:8.2f} s  inertia {result['inertia']:.6g}  iterations {result['n_iter']}",
          flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60,000 rows and k = 50 instead of 200,000 and 100")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the fast methods (medians are reported)")
    parser.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_data", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._worker:
        print(json.dumps(worker(args._worker, args._data, args.k, args.seed)))
        return 0

    n = args.rows or (60_000 if args.quick else 200_000)
    k = args.k or (50 if args.quick else 100)
    load_before = os.getloadavg()[0]
    try:
        import faiss  # noqa: F401

        fast = ["ours", "sklearn_n_init_1", "faiss"]
    except ImportError:
        fast = ["ours", "sklearn_n_init_1"]
    with tempfile.TemporaryDirectory(prefix="dprune-bench-kmeans-") as tmp:
        data = os.path.join(tmp, "x.npy")
        np.save(data, make_data(n, args.dim, k, args.seed))
        print(f"k-means benchmark: {n} x {args.dim} float32, k = {k}, seed {args.seed}", flush=True)
        runs: dict[str, list[dict]] = {m: [] for m in fast}
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", flush=True)
            for method in fast:
                runs[method].append(run_worker(method, data, k, args.seed))
        print("reference", flush=True)
        reference = run_worker("sklearn_n_init_10", data, k, args.seed)

    def summary(rs: list[dict]) -> dict:
        return {"seconds": round(min(r["seconds"] for r in rs), 3),
                "seconds_median": round(statistics.median(r["seconds"] for r in rs), 3),
                "inertia": statistics.median(r["inertia"] for r in rs),
                "n_iter": int(statistics.median(r["n_iter"] for r in rs))}

    ours, one = summary(runs["ours"]), summary(runs["sklearn_n_init_1"])
    result = {
        "benchmark": "kmeans",
        "rows": n, "dim": args.dim, "k": k, "seed": args.seed, "rounds": args.rounds,
        "ours": ours,
        "sklearn_n_init_1": one,
        "sklearn_n_init_10": {"seconds": round(reference["seconds"], 3), "inertia": reference["inertia"],
                              "n_iter": reference["n_iter"]},
        "speedup_vs_n_init_10": round(reference["seconds"] / ours["seconds"], 2),
        "speedup_vs_n_init_1": round(one["seconds"] / ours["seconds"], 2),
        "inertia_ratio_vs_n_init_10": round(ours["inertia"] / reference["inertia"], 5),
        "targets": {"speedup_vs_n_init_10": 20, "speedup_vs_n_init_1": 2, "inertia_ratio_vs_n_init_10_max": 1.01},
    }
    if "faiss" in runs:
        faiss_summary = summary(runs["faiss"])
        result["faiss"] = faiss_summary
        result["faiss_inertia_ratio_vs_n_init_10"] = round(faiss_summary["inertia"] / reference["inertia"], 5)
    result["passed"] = bool(result["speedup_vs_n_init_10"] >= 20 and result["speedup_vs_n_init_1"] >= 2
                            and result["inertia_ratio_vs_n_init_10"] <= 1.01)
    result["threads"] = os.cpu_count()
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
