"""Write a selection's report folder: ``report.html`` (interactive, offline) and the PNG figures.

:func:`build_report` takes the all-rows selection table (see
:mod:`dprune.report.table`); :func:`write_report` builds that table from a
scored dataset and the kept positions first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.outputs import OutputFiles
from dprune.data.labels import LabelMapping
from dprune.report.figures import write_figures
from dprune.report.data_map import MAX_POINTS
from dprune.report.interactive import write_interactive
from dprune.report.summary import summarize
from dprune.report.table import KEPT, ROW_ID, selection_table

__all__ = ["ReportPaths", "build_report", "write_report"]


@dataclass(frozen=True)
class ReportPaths(OutputFiles):
    """Files written by :func:`build_report`."""

    html: Path
    figures: tuple[Path, ...]


def build_report(
    table: pa.Table,
    output_dir: str | Path,
    *,
    title: str = "dPrune selection report",
    max_points: int = MAX_POINTS,
    seed: int = 0,
    figures: bool = True,
) -> ReportPaths:
    """Write ``report.html`` (and, with ``figures``, the PNGs) for a selection table into ``output_dir``."""
    missing = [c for c in (ROW_ID, KEPT) if c not in table.column_names]
    if missing:
        raise ValueError(
            f"A report table needs the columns {missing}; it has {table.column_names}. Build it with "
            "dprune.report.selection_table."
        )
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    summary = summarize(table)
    pngs = write_figures(table, summary, output) if figures else ()
    page = write_interactive(table, summary, output, title=title, max_points=max_points, seed=seed, figures=pngs)
    return ReportPaths(page, pngs)


def write_report(
    scored: Dataset,
    positions: np.ndarray,
    output_dir: str | Path,
    *,
    text_column: str | None = "text",
    label_column: str | None = "label",
    cluster_column: str | None = "cluster_id",
    score_columns: Sequence[str] | None = None,
    label_mapping: LabelMapping | None = None,
    dropped_by: Sequence[str | None] | None = None,
    audio_column: str | None = "audio",
    title: str = "dPrune selection report",
    max_points: int = MAX_POINTS,
    figures: bool = True,
) -> ReportPaths:
    """Write the report of the selection ``positions`` of ``scored`` (see :func:`selection_table`)."""
    table = selection_table(
        scored, positions, text_column=text_column if text_column in scored.column_names else None,
        label_column=label_column if label_column in scored.column_names else None,
        cluster_column=cluster_column if cluster_column in scored.column_names else None,
        score_columns=score_columns, label_mapping=label_mapping, dropped_by=dropped_by, audio_column=audio_column,
    )
    return build_report(table, output_dir, title=title, max_points=max_points, figures=figures)
