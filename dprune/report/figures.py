"""Static PNG figures of a selection, for the README and Prefect artifacts.

Score histograms of kept and dropped rows (log axis for heavy-tailed scores,
see :mod:`dprune.report.histograms`), the data map (confidence against
variability) when training dynamics are present, and the kept fraction per
class, cluster and flipped label, drawn with :class:`dprune.report.chart.Chart`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from dprune.report.chart import Chart
from dprune.report.data_map import MAX_POINTS, data_map_axes, sample_positions
from dprune.report.histograms import histogram
from dprune.report.summary import RETENTION_GROUPS
from dprune.report.table import KEPT

__all__ = ["DROPPED_COLOUR", "KEPT_COLOUR", "write_figures"]

KEPT_COLOUR, DROPPED_COLOUR, BAR_COLOUR = "#2e9e4f", "#d2453b", "#1f77b4"


def write_figures(table: pa.Table, summary: dict[str, Any], output_dir: Path) -> tuple[Path, ...]:
    """Write ``hist_<score>.png``, ``data_map.png`` and ``retention_<group>.png`` into ``output_dir``."""
    kept = table.column(KEPT).to_numpy(zero_copy_only=False).astype(bool)
    figures: list[Path] = []
    parts = (("kept", KEPT_COLOUR), ("dropped", DROPPED_COLOUR))

    for column, entry in summary["scores"].items():
        values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        hist = histogram(values, kept)
        chart = Chart((600, 320), xlim=(hist.edges[0], hist.edges[-1]),
                      ylim=(0, max(int(hist.kept.max(initial=0)), int(hist.dropped.max(initial=0)), 1)),
                      xlog=hist.log, title=f"{column}: kept vs dropped (dashed: kept range)",
                      xlabel=f"{column} (log axis)" if hist.log else column, ylabel="rows")
        chart.stairs(hist.kept, hist.edges, KEPT_COLOUR, alpha=0.7)
        chart.stairs(hist.dropped, hist.edges, DROPPED_COLOUR, alpha=0.6)
        for edge in {entry["kept_min"], entry["kept_max"]} - {None}:
            chart.vline(edge)
        chart.legend(parts)
        figures.append(chart.save(output_dir / f"hist_{column}.png"))

    axes = data_map_axes(table)
    if axes.kind == "dynamics":
        shown = sample_positions(table.num_rows, MAX_POINTS)  # one random order, so neither colour hides the other
        x, y = (table.column(c).to_numpy(zero_copy_only=False)[shown].astype(np.float64) for c in (axes.x, axes.y))
        sampled = f" ({len(shown):,} of {table.num_rows:,} rows)" if len(shown) < table.num_rows else ""
        chart = Chart((500, 450), xlim=_finite_range(x), ylim=_finite_range(y), title=f"Data map{sampled}",
                      xlabel="variability", ylabel="confidence")
        chart.points(x, y, np.where(kept[shown], KEPT_COLOUR, DROPPED_COLOUR).tolist())
        chart.legend(parts)
        figures.append(chart.save(output_dir / "data_map.png"))

    for key, _, label in RETENTION_GROUPS:
        entries = summary.get(key)
        if entries:
            chart = Chart((max(400, 25 * len(entries) + 200), 300), ylim=(0, 1),
                          categories=[str(e["group"]) for e in entries], title=f"Retention per {label}",
                          xlabel=label, ylabel="kept fraction")
            chart.bars([e["kept_fraction"] for e in entries], BAR_COLOUR)
            figures.append(chart.save(output_dir / f"retention_{key.removeprefix('by_')}.png"))
    return tuple(figures)


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    """The smallest and largest finite value (0 to 1 when there is none)."""
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
