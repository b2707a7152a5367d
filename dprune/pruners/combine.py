"""Select on several score columns at once: :func:`combine_scores`, :class:`CombinedScorePruner`.

Design: combining is a pure function from score columns to one array, and
selection stays the job of the existing pruners. :func:`combine_scores` can be
called on its own (to inspect the combined score or write it as a column);
:class:`CombinedScorePruner` wraps any score-based pruner and hands it the
combined array instead of one column, so every selection rule (top-k,
stratified, CCS, quantile band, ...) works on combined scores without a new
pruner per rule or a ``score_columns`` option on each of them.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np
from datasets import Dataset

from dprune.core.base import column_to_numpy
from dprune.core.params import InstanceOf, InvalidParameterError, NONE, Options, Predicate
from dprune.pruners.base import ScorePruner, stable_argsort
from dprune.core.registry import register_pruner

COMBINE_METHODS = ("rank_mean", "zscore")


def normalized_ranks(values: np.ndarray) -> np.ndarray:
    """Rank of every value scaled to [0, 1] (0: smallest), ties sharing their mean rank; NaN stays NaN."""
    values = np.asarray(values, dtype=np.float64)
    nan = np.isnan(values)
    has_nan = bool(nan.any())
    v = values[~nan] if has_nan else values
    m = v.size
    if m == 0:
        return np.full(values.size, np.nan)
    order, new_value = stable_argsort(v, return_runs=True)
    if new_value.all():
        sorted_ranks = np.arange(m, dtype=np.float64)
    else:
        starts = np.flatnonzero(new_value)
        sizes = np.diff(np.append(starts, m))
        sorted_ranks = np.repeat(starts + (sizes - 1) / 2.0, sizes)
    del new_value
    ranks = np.empty(m)
    ranks[order] = sorted_ranks
    del order, sorted_ranks
    ranks *= 1.0 / (m - 1) if m > 1 else 0.0
    if m == 1:
        ranks[:] = 0.5
    if not has_nan:
        return ranks
    out = np.full(values.size, np.nan)
    out[~nan] = ranks
    return out


def zscores(values: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` over the finite values; ``+-inf`` and NaN are kept, a constant column gives 0."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    sample = values if finite.all() else values[finite]
    if sample.size == 0:
        return values.copy()
    # z-scores do not depend on scale: dividing by the largest magnitude first avoids overflow.
    scale = float(np.abs(sample).max()) or 1.0
    sample = sample / scale
    mean, std = float(sample.mean()), float(sample.std())
    out = values / scale
    out -= mean
    if std > 0:
        out /= std
    else:
        out[finite] = 0.0
    return out


def combine_scores(
    dataset: Dataset,
    columns: Sequence[str],
    method: str = "rank_mean",
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """Combine several score columns into one score per row.

    Parameters
    ----------
    dataset : datasets.Dataset
        Dataset holding the score columns.
    columns : sequence of str
        Score columns to combine.
    method : {"rank_mean", "zscore"}, default="rank_mean"
        ``"rank_mean"``: weighted mean of each column's rank scaled to [0, 1]
        (robust to scale and outliers; ties share their mean rank).
        ``"zscore"``: weighted mean of standardized scores (keeps distances;
        ``+-inf`` stay infinite).
    weights : sequence of float, optional
        One weight per column (default: equal). A negative weight flips a
        column, e.g. to combine a low-is-good perplexity with a high-is-good
        score. The result is divided by the sum of absolute weights.

    Returns
    -------
    numpy.ndarray
        float64, one value per row; NaN where any input is NaN.
    """
    weights = [1.0] * len(columns) if weights is None else [float(w) for w in weights]
    transform = normalized_ranks if method == "rank_mean" else zscores
    used = [(column, weight) for column, weight in zip(columns, weights) if weight != 0]

    def weighted(item: tuple[str, float]) -> np.ndarray:
        column, weight = item
        values = transform(column_to_numpy(dataset, column))
        values *= weight
        return values

    total = np.zeros(len(dataset))
    for item in used:
        total += weighted(item)
    total /= sum(abs(w) for w in weights)
    return total


def _is_columns(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(c, str) and c for c in value)
        and len(set(value)) == len(value)
    )


def _is_weights(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and all(isinstance(w, numbers.Real) and not isinstance(w, bool) and np.isfinite(w) for w in value)
        and any(w != 0 for w in value)
    )


@register_pruner("combined_score")
class CombinedScorePruner(ScorePruner):
    """Run a score-based pruner on a combination of several score columns.

    Parameters
    ----------
    pruner : ScorePruner
        The selection rule (e.g. ``TopKPruner(k=0.3)``); its budget, NaN policy
        and order apply, its ``score_column`` is ignored.
    score_columns : list of str
        Columns to combine (see :func:`combine_scores`).
    method : {"rank_mean", "zscore"}, default="rank_mean"
        How to put the columns on one scale.
    weights : list of float or None, default=None
        One weight per column; default equal. Negative weights flip a column.

    Examples
    --------
    >>> CombinedScorePruner(TopKPruner(k=0.5), ["el2n", "ppl"], weights=[1.0, -1.0])  # doctest: +SKIP
    """

    _parameter_constraints = {
        "pruner": [InstanceOf(ScorePruner, label="a score-based pruner (a ScorePruner such as TopKPruner)")],
        "score_columns": [Predicate(_is_columns, "a non-empty list of distinct column names")],
        "method": [Options(COMBINE_METHODS)],
        "weights": [NONE, Predicate(_is_weights, "a list of finite numbers, not all zero")],
    }

    def __init__(
        self,
        pruner: ScorePruner,
        score_columns: Sequence[str],
        method: str = "rank_mean",
        weights: Sequence[float] | None = None,
    ):
        self.pruner = pruner
        self.score_columns = score_columns
        self.method = method
        self.weights = weights

    def required_columns(self) -> list[str]:
        return list(self.score_columns)

    def validate_params(self) -> None:
        super().validate_params()
        self.pruner.validate_params()
        if self.weights is not None and len(self.weights) != len(self.score_columns):
            raise InvalidParameterError(
                f"The 'weights' parameter of {type(self).__name__} must have one weight per score column "
                f"({len(self.score_columns)}). Got {self.weights!r} instead."
            )

    def read_scores(self, dataset: Dataset) -> np.ndarray:
        return combine_scores(dataset, self.score_columns, self.method, self.weights)

    def capacity(self, scores: np.ndarray) -> int:
        self._check_nan(scores)
        return self.pruner.capacity(scores)

    def select_from_scores(self, scores, budget=None, rng=None, *, ordered=True):
        self._check_nan(scores)
        return self.pruner.select_from_scores(scores, budget=budget, rng=rng, ordered=ordered)

    def _check_nan(self, scores: np.ndarray) -> None:
        if self.pruner.nan_policy != "raise":
            return
        count = int(np.count_nonzero(np.isnan(scores)))
        if count:
            raise ValueError(
                f"{type(self).__name__} got {count} row(s) (of {len(scores)}) with a NaN in one of the "
                f"score columns {list(self.score_columns)}. Fix the scorers, or give the wrapped "
                f"{type(self.pruner).__name__} nan_policy='drop' or nan_policy='last'."
            )
