"""Keep the highest or the lowest scores: :class:`TopKPruner`, :class:`BottomKPruner`.

Selection is a linear-time partition of the score array (``np.partition``),
not a full sort. Rows tied with the cut-off score are taken in row order, so
the result is exact and deterministic.
"""

from __future__ import annotations

import numpy as np

from dprune.core.budget import BUDGET_CONSTRAINTS
from dprune.pruners.base import SCORE_PARAMETER_CONSTRAINTS, ScorePruner
from dprune.core.registry import register_pruner


def smallest_positions(scores: np.ndarray, count: int) -> np.ndarray:
    """Ascending positions of the ``count`` smallest NaN-free scores; ties go to earlier rows."""
    n = scores.size
    if count >= n:
        return np.arange(n, dtype=np.int64)
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    cut = np.partition(scores, count - 1)[count - 1]
    mask = scores < cut
    ties = np.flatnonzero(scores == cut)[: count - int(np.count_nonzero(mask))]
    mask[ties] = True
    return np.flatnonzero(mask)


def largest_positions(scores: np.ndarray, count: int) -> np.ndarray:
    """Ascending positions of the ``count`` largest NaN-free scores; ties go to earlier rows."""
    n = scores.size
    if count >= n:
        return np.arange(n, dtype=np.int64)
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    cut = np.partition(scores, n - count)[n - count]
    mask = scores > cut
    ties = np.flatnonzero(scores == cut)[: count - int(np.count_nonzero(mask))]
    mask[ties] = True
    return np.flatnonzero(mask)


@register_pruner("top_k")
class TopKPruner(ScorePruner):
    """Keep the ``k`` rows with the highest scores.

    Parameters
    ----------
    k : float or int
        Budget: a float in (0, 1] is a fraction of the rows, an int >= 1 a
        count (above the dataset size, every row is kept). See
        :func:`dprune.core.budget.resolve_budget`.
    score_column : str, default="score"
        Column to rank by.
    nan_policy : {"raise", "drop", "last"}, default="raise"
        What to do with NaN scores (see :class:`~dprune.pruners.base.ScorePruner`).
    order : {"score", "original"}, default="score"
        ``"score"`` returns the kept rows from the highest score down (as the
        original dPrune did), ``"original"`` in dataset order.

    Notes
    -----
    Every kept score is >= every dropped score; among equal scores at the
    cut-off, earlier rows are kept.
    """

    descending = True
    _parameter_constraints = {"k": BUDGET_CONSTRAINTS, **SCORE_PARAMETER_CONSTRAINTS}

    def __init__(self, k: float | int, score_column: str = "score", nan_policy: str = "raise", order: str = "score"):
        self.k = k
        self.score_column = score_column
        self.nan_policy = nan_policy
        self.order = order

    def _select(self, scores, budget, rng):
        return largest_positions(scores, budget)


@register_pruner("bottom_k")
class BottomKPruner(ScorePruner):
    """Keep the ``k`` rows with the lowest scores.

    Parameters
    ----------
    k : float or int
        Budget: a float in (0, 1] is a fraction of the rows, an int >= 1 a
        count (above the dataset size, every row is kept).
    score_column : str, default="score"
        Column to rank by.
    nan_policy : {"raise", "drop", "last"}, default="raise"
        What to do with NaN scores (see :class:`~dprune.pruners.base.ScorePruner`).
    order : {"score", "original"}, default="score"
        ``"score"`` returns the kept rows from the lowest score up (as the
        original dPrune did), ``"original"`` in dataset order.

    Notes
    -----
    Every kept score is <= every dropped score; among equal scores at the
    cut-off, earlier rows are kept.
    """

    _parameter_constraints = {"k": BUDGET_CONSTRAINTS, **SCORE_PARAMETER_CONSTRAINTS}

    def __init__(self, k: float | int, score_column: str = "score", nan_policy: str = "raise", order: str = "score"):
        self.k = k
        self.score_column = score_column
        self.nan_policy = nan_policy
        self.order = order

    def _select(self, scores, budget, rng):
        return smallest_positions(scores, budget)
