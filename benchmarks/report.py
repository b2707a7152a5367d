#!/usr/bin/env python
"""Benchmark: building the selection report (interactive ``report.html`` plus PNG figures).

Two datasets, both with the scores the flow computes (perplexity, k-means
distance and cluster, AUM, data-map confidence and variability) and half the
rows kept:

* **bundled** -- the bundled Rotten Tomatoes train split (10,246 real texts);
  the scores are seeded random draws of realistic shape (perplexity log-normal),
  since computing real ones is the flow's job, not the report's;
* **100k** -- 100,000 rows: the bundled texts repeated, the same kind of scores.

For each: ``ours`` is :func:`dprune.report.build_report` (the page samples at
most ``MAX_POINTS`` rows for the map and the explorer, counts every row in the
histograms and bars, and writes the PNGs), timed alone and without the PNGs;
``baseline`` is the obvious alternative, one Plotly figure with every row as a
hover-able point (``plotly.graph_objects.Scatter`` + ``write_html`` with Plotly
inlined). Sizes are of ``report.html`` and of the whole report folder. With
Chromium installed, the time until the page has drawn everything is measured too.
Times are the best of ``--rounds`` (the machine is shared: other processes only
add time).

Usage::

    python benchmarks/report.py            # bundled + 100k, 3 rounds
    python benchmarks/report.py --quick    # bundled + 100k, 1 round, no browser

The last line of the output is one JSON object.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa


def make_table(texts: list[str], labels: list[str], n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    take = np.arange(n) % len(texts)
    return pa.table({
        "row_id": np.arange(n), "text": pa.array(texts).take(pa.array(take)),
        "label": pa.array(labels).take(pa.array(take)),
        "perplexity": np.exp(rng.normal(6, 1, n)), "kmeans_distance": rng.uniform(0.2, 0.9, n),
        "aum": rng.normal(0.5, 1, n), "data_map_confidence": rng.beta(2, 1, n),
        "data_map_variability": rng.uniform(0, 0.45, n), "cluster": rng.integers(0, 10, n),
        "kept": rng.random(n) < 0.5,
    })


def baseline(table: pa.Table, path: Path) -> None:
    import plotly.graph_objects as go

    x, y = (table.column(c).to_numpy() for c in ("data_map_variability", "data_map_confidence"))
    text = [f"{t[:280]}<br>label: {label}" for t, label in zip(table.column("text").to_pylist(),
                                                               table.column("label").to_pylist())]
    go.Figure(go.Scatter(x=x, y=y, mode="markers", text=text)).write_html(str(path), include_plotlyjs=True)


def best(function, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def page_seconds(html: Path) -> float | None:
    from dprune.report.browser import Chromium, find_chromium

    if find_chromium() is None:
        return None
    with Chromium() as browser:
        start = time.perf_counter()
        browser.open(html)
        seconds = time.perf_counter() - start
        if browser.errors:
            raise RuntimeError(f"the page logged errors: {browser.errors}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, no browser")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds

    from dprune.data import load_dataset
    from dprune.report import MAX_POINTS, build_report
    from dprune.report.table import label_names

    data = load_dataset("rotten_tomatoes", split="train")
    texts, labels = data["text"], label_names(data, "label").to_pylist()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, n in (("bundled", len(data)), (f"{args.rows // 1000}k", args.rows)):
            table = make_table(texts, labels, n)
            out = Path(tmp) / name
            ours = best(lambda: build_report(table, out / "ours"), rounds)
            html_only = best(lambda: build_report(table, out / "html", figures=False), rounds)
            base = best(lambda: baseline(table, out / "baseline.html"), rounds)
            page = None if args.quick else page_seconds(out / "ours" / "report.html")
            results[name] = {
                "rows": n, "map_points": min(n, MAX_POINTS), "seconds": round(ours, 3),
                "seconds_without_png": round(html_only, 3),
                "html_mb": round((out / "ours" / "report.html").stat().st_size / 1e6, 2),
                "folder_mb": round(folder_bytes(out / "ours") / 1e6, 2),
                "baseline_seconds": round(base, 3),
                "baseline_html_mb": round((out / "baseline.html").stat().st_size / 1e6, 2),
                "page_ready_seconds": None if page is None else round(page, 2),
            }
            print(f"{name:>8}: {n:>7,} rows  ours {ours:6.2f} s ({html_only:.2f} s without PNGs), "
                  f"report.html {results[name]['html_mb']} MB, folder {results[name]['folder_mb']} MB"
                  + ("" if page is None else f", page drawn in {page:.1f} s")
                  + f" | baseline {base:6.2f} s, {results[name]['baseline_html_mb']} MB", flush=True)
    big = results[f"{args.rows // 1000}k"]
    print(json.dumps({
        "benchmark": "report",
        "baseline": "one Plotly scatter of every row with hover text (write_html, Plotly inlined)",
        # Like for like: one HTML page each (ours without the PNGs, which the baseline does not draw).
        "ours_per_s": round(big["rows"] / big["seconds_without_png"], 1),
        "baseline_per_s": round(big["rows"] / big["baseline_seconds"], 1),
        "ratio": round(big["baseline_seconds"] / big["seconds_without_png"], 2),
        "target": "<= 5 s and <= 10 MB at 100k rows",
        "load_average": round(os.getloadavg()[0], 2),
        "results": results,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
