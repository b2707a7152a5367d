"""Score histograms of kept and dropped rows, on a log axis when a score is heavy-tailed.

The rule (:func:`heavy_tailed`): a score is drawn on a log axis when all its
finite values are positive and its largest value is at least
:data:`HEAVY_TAIL_RATIO` times its median. On a linear axis of ``B`` equal bins
such a score puts half its rows into the first ``B / ratio`` bins (perplexity on
the bundled data: one bar at the left edge); on a log axis the bins follow the
orders of magnitude instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BINS", "HEAVY_TAIL_RATIO", "Histogram", "heavy_tailed", "histogram"]

BINS = 40
HEAVY_TAIL_RATIO = 10.0


def heavy_tailed(values: np.ndarray) -> bool:
    """Whether ``values`` should be drawn on a log axis (see the module docstring)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size < 2 or finite.min() <= 0:
        return False
    return bool(finite.max() >= HEAVY_TAIL_RATIO * np.median(finite))


@dataclass(frozen=True)
class Histogram:
    """Counts of kept and dropped rows per bin; ``log`` says the edges are spaced logarithmically."""

    edges: np.ndarray
    kept: np.ndarray
    dropped: np.ndarray
    log: bool
    missing: int


def histogram(values: np.ndarray, kept: np.ndarray, *, bins: int = BINS) -> Histogram:
    """Bin every finite value of ``values``, split by ``kept``; ``missing`` counts NaN and infinite values."""
    values = np.asarray(values, dtype=np.float64)
    kept = np.asarray(kept, dtype=bool)
    finite = np.isfinite(values)
    log = heavy_tailed(values)
    if not finite.any():
        edges = np.array([0.0, 1.0])
    elif log:
        low, high = values[finite].min(), values[finite].max()
        edges = np.logspace(np.log10(low), np.log10(high), bins + 1)
        edges[[0, -1]] = low, high  # exact ends: 10 ** log10(x) may round below x and drop the largest value
    else:
        edges = np.histogram_bin_edges(values[finite], bins=bins)
    counts = [np.histogram(values[finite & part], bins=edges)[0] for part in (kept, ~kept)]
    return Histogram(edges, counts[0], counts[1], log, int((~finite).sum()))
