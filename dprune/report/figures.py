"""Static PNG figures of a selection, for the README and Prefect artifacts.

Score histograms of kept and dropped rows (log axis for heavy-tailed scores,
see :mod:`dprune.report.histograms`), the data map (confidence against
variability) when training dynamics are present, and the kept fraction per
class, cluster and flipped label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from dprune.report.data_map import MAX_POINTS, data_map_axes, sample_positions
from dprune.report.histograms import histogram
from dprune.report.summary import RETENTION_GROUPS
from dprune.report.table import KEPT

__all__ = ["DROPPED_COLOUR", "KEPT_COLOUR", "write_figures"]

KEPT_COLOUR, DROPPED_COLOUR = "#2e9e4f", "#d2453b"


def write_figures(table: pa.Table, summary: dict[str, Any], output_dir: Path) -> tuple[Path, ...]:
    """Write ``hist_<score>.png``, ``data_map.png`` and ``retention_<group>.png`` into ``output_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = table.column(KEPT).to_numpy(zero_copy_only=False).astype(bool)
    figures: list[Path] = []

    for column, entry in summary["scores"].items():
        values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        hist = histogram(values, kept)
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.stairs(hist.kept, hist.edges, fill=True, alpha=0.7, label="kept", color=KEPT_COLOUR)
        ax.stairs(hist.dropped, hist.edges, fill=True, alpha=0.6, label="dropped", color=DROPPED_COLOUR)
        for edge in {entry["kept_min"], entry["kept_max"]} - {None}:
            ax.axvline(edge, color="black", linestyle="--", linewidth=1)
        if hist.log:
            ax.set_xscale("log")
        ax.set_xlabel(f"{column} (log axis)" if hist.log else column)
        ax.set_ylabel("rows")
        ax.legend(loc="upper right")
        ax.set_title(f"{column}: kept vs dropped (dashed: kept range)")
        figures.append(_save(fig, output_dir / f"hist_{column}.png", plt))

    axes = data_map_axes(table)
    if axes.kind == "dynamics":
        from matplotlib.lines import Line2D

        fig, ax = plt.subplots(figsize=(5, 4.5))
        shown = sample_positions(table.num_rows, MAX_POINTS)  # one random order, so neither colour hides the other
        x, y = (table.column(c).to_numpy(zero_copy_only=False)[shown] for c in (axes.x, axes.y))
        colours = np.where(kept[shown], KEPT_COLOUR, DROPPED_COLOUR)
        ax.scatter(x, y, s=4, alpha=0.6, c=colours)
        handles = [Line2D([], [], marker="o", linestyle="", color=c, label=part)
                   for part, c in (("kept", KEPT_COLOUR), ("dropped", DROPPED_COLOUR))]
        ax.legend(handles=handles, loc="upper right")  # "best" would scan every point
        ax.set_xlabel("variability")
        ax.set_ylabel("confidence")
        sampled = f" ({len(shown):,} of {table.num_rows:,} rows)" if len(shown) < table.num_rows else ""
        ax.set_title(f"Data map{sampled}")
        figures.append(_save(fig, output_dir / "data_map.png", plt))

    for key, _, label in RETENTION_GROUPS:
        entries = summary.get(key)
        if entries:
            fig, ax = plt.subplots(figsize=(max(4, 0.25 * len(entries) + 2), 3))
            ax.bar([str(e["group"]) for e in entries], [e["kept_fraction"] for e in entries], color="tab:blue")
            ax.set_ylim(0, 1)
            ax.set_xlabel(label)
            ax.set_ylabel("kept fraction")
            ax.set_title(f"Retention per {label}")
            figures.append(_save(fig, output_dir / f"retention_{key.removeprefix('by_')}.png", plt))
    return tuple(figures)


def _save(fig, path: Path, plt) -> Path:
    # Fixed margins: tight_layout would draw every figure twice.
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.17, top=0.88)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
