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

from dprune.report.data_map import data_map_axes
from dprune.report.histograms import histogram
from dprune.report.summary import RETENTION_GROUPS
from dprune.report.table import KEPT

__all__ = ["write_figures"]


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
        ax.stairs(hist.kept, hist.edges, fill=True, alpha=0.7, label="kept", color="tab:green")
        ax.stairs(hist.dropped, hist.edges, fill=True, alpha=0.6, label="dropped", color="tab:red")
        for edge in {entry["kept_min"], entry["kept_max"]} - {None}:
            ax.axvline(edge, color="black", linestyle="--", linewidth=1)
        if hist.log:
            ax.set_xscale("log")
        ax.set_xlabel(f"{column} (log axis)" if hist.log else column)
        ax.set_ylabel("rows")
        ax.legend()
        ax.set_title(f"{column}: kept vs dropped (dashed: kept range)")
        figures.append(_save(fig, output_dir / f"hist_{column}.png", plt))

    axes = data_map_axes(table)
    if axes.kind == "dynamics":
        fig, ax = plt.subplots(figsize=(5, 4.5))
        x, y = (table.column(c).to_numpy(zero_copy_only=False) for c in (axes.x, axes.y))
        for part, mask, colour in (("kept", kept, "tab:green"), ("dropped", ~kept, "tab:red")):
            ax.scatter(x[mask], y[mask], s=3, alpha=0.5, color=colour, label=part)
        ax.set_xlabel("variability")
        ax.set_ylabel("confidence")
        ax.legend(markerscale=4)
        ax.set_title("Data map")
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
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
