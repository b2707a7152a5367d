"""Which two scores the data map plots, and which rows it shows.

With training dynamics the map is the data map of Swayamdipta et al. (2020):
confidence (mean probability of the gold label) against variability (its
spread over epochs). Without them it plots the first two score columns, or a
single score against a random jitter. Large datasets are shown through a
random sample (:func:`sample_positions`); counts elsewhere in the report use
every row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dprune.report.histograms import heavy_tailed
from dprune.report.table import score_columns

__all__ = ["DATA_MAP_COLUMNS", "MAX_POINTS", "DataMapAxes", "data_map_axes", "sample_positions"]

#: Rows the data map (and the report's row explorer) shows at most: a random sample beyond.
MAX_POINTS = 5000
#: Data-map columns, under the flow's names or plain ones.
DATA_MAP_COLUMNS = {
    "confidence": ("data_map_confidence", "confidence"),
    "variability": ("data_map_variability", "variability"),
    "correctness": ("data_map_correctness", "correctness"),
}


@dataclass(frozen=True)
class DataMapAxes:
    """The map's x and y columns (``y`` None: jitter) and whether each is drawn on a log axis.

    ``kind`` is ``"dynamics"``, ``"scores"``, ``"strip"`` (one score) or ``"none"`` (no score).
    """

    kind: str
    x: str | None = None
    y: str | None = None
    x_log: bool = False
    y_log: bool = False


def _find(table: pa.Table, role: str) -> str | None:
    return next((c for c in DATA_MAP_COLUMNS[role] if c in table.column_names), None)


def _log(table: pa.Table, column: str | None) -> bool:
    return column is not None and heavy_tailed(table.column(column).to_numpy(zero_copy_only=False))


def data_map_axes(table: pa.Table) -> DataMapAxes:
    """Choose the map's axes for a selection table (see the module docstring)."""
    confidence, variability = _find(table, "confidence"), _find(table, "variability")
    if confidence and variability:
        return DataMapAxes("dynamics", variability, confidence)
    scores = score_columns(table)
    if not scores:
        return DataMapAxes("none")
    if len(scores) == 1:
        return DataMapAxes("strip", scores[0], None, _log(table, scores[0]))
    return DataMapAxes("scores", scores[0], scores[1], _log(table, scores[0]), _log(table, scores[1]))


def sample_positions(num_rows: int, max_points: int = MAX_POINTS, *, seed: int = 0) -> np.ndarray:
    """All positions when ``num_rows <= max_points``, else a sorted random sample of ``max_points``."""
    if max_points < 1:
        raise ValueError(f"max_points must be an int >= 1. Got {max_points!r} instead.")
    if num_rows <= max_points:
        return np.arange(num_rows, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num_rows, size=max_points, replace=False)).astype(np.int64)
