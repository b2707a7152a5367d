"""Keep a score range: :class:`ThresholdPruner` (absolute bounds), :class:`QuantileBandPruner` (rank band).

Neither takes a budget ``k``: how many rows they keep follows from the bounds
(``ThresholdPruner``) or from the width of the band (``QuantileBandPruner``).
"""

from __future__ import annotations

import numbers

import numpy as np

from dprune.core.budget import fraction_count
from dprune.core.params import NONE, Interval, InvalidParameterError, Options, Predicate
from dprune.pruners.base import SCORE_PARAMETER_CONSTRAINTS, ScorePruner
from dprune.pruners.ranking import smallest_positions
from dprune.core.registry import register_pruner

INCLUSIVE = ("both", "left", "right", "neither")

#: CCNet-style buckets (Wenzek et al., LREC 2020) by ascending score: for
#: perplexity, "head" is the lowest-perplexity third.
NAMED_BANDS = {"head": (0.0, 1 / 3), "middle": (1 / 3, 2 / 3), "tail": (2 / 3, 1.0)}


@register_pruner("threshold")
class ThresholdPruner(ScorePruner):
    """Keep every row whose score lies within absolute bounds.

    This pruner has no budget: it keeps as many rows as fall in range (maybe
    none). Use :class:`QuantileBandPruner` for a range with a known size.

    Parameters
    ----------
    low, high : float or None, default=None
        Bounds; ``None`` leaves that side open. ``low`` must not exceed ``high``.
    inclusive : {"both", "left", "right", "neither"}, default="both"
        Which bounds are included (as in ``pandas.Series.between``).
    score_column : str, default="score"
        Column to compare.
    nan_policy : {"raise", "drop", "last"}, default="raise"
        NaN scores are never in range: ``"raise"`` reports them, the other
        two leave them out.
    order : {"original", "score"}, default="original"
        Dataset order, or ascending score.
    """

    _parameter_constraints = {
        "low": [NONE, Interval("real")],
        "high": [NONE, Interval("real")],
        "inclusive": [Options(INCLUSIVE)],
        **SCORE_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        low: float | None = None,
        high: float | None = None,
        inclusive: str = "both",
        score_column: str = "score",
        nan_policy: str = "raise",
        order: str = "original",
    ):
        self.low = low
        self.high = high
        self.inclusive = inclusive
        self.score_column = score_column
        self.nan_policy = nan_policy
        self.order = order

    def validate_params(self) -> None:
        super().validate_params()
        if self.low is not None and self.high is not None and self.high < self.low:
            raise InvalidParameterError(
                f"The 'high' parameter of {type(self).__name__} must be >= low ({self.low!r}). "
                f"Got {self.high!r} instead."
            )

    def drop_rules(self, dataset) -> list[str | None]:
        """``"<score_column> < low"`` / ``"> high"`` (``<=`` / ``>=`` for excluded bounds) or ``"... is NaN"``."""
        scores = np.asarray(self.read_scores(dataset), dtype=np.float64)
        column = self.score_column
        low_open = self.inclusive in ("both", "left")
        high_open = self.inclusive in ("both", "right")
        rules = np.full(scores.size, None, dtype=object)
        if self.high is not None:
            rules[scores > self.high if high_open else scores >= self.high] = (
                f"{column} {'>' if high_open else '>='} {self.high:g}")
        if self.low is not None:
            rules[scores < self.low if low_open else scores <= self.low] = f"{column} {'<' if low_open else '<='} {self.low:g}"
        rules[np.isnan(scores)] = f"{column} is NaN"
        return rules.tolist()

    def _select(self, scores, budget, rng):
        mask = np.ones(scores.size, dtype=bool)
        if self.low is not None:
            mask &= scores >= self.low if self.inclusive in ("both", "left") else scores > self.low
        if self.high is not None:
            mask &= scores <= self.high if self.inclusive in ("both", "right") else scores < self.high
        return np.flatnonzero(mask)


def _is_band(value) -> bool:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return False
    low, high = value
    reals = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    return reals and 0 <= low < high <= 1


@register_pruner("quantile_band")
class QuantileBandPruner(ScorePruner):
    """Keep the rows whose score rank falls within a quantile band.

    Rows are ranked by ascending score (ties by row position); with ``n``
    scored rows and ``band=(low, high)``, the rows ranked in
    ``[round(low * n), round(high * n))`` are kept. Bands that meet
    (``(0, 0.5)`` and ``(0.5, 1)``) split the data exactly, with no overlap.

    This pruner has no budget ``k``: the band width sets the size.

    Parameters
    ----------
    band : tuple of (float, float) or {"head", "middle", "tail"}, default=(0.25, 0.75)
        Quantile bounds with ``0 <= low < high <= 1``, or a CCNet-style named
        third of the data (Wenzek et al., "CCNet: Extracting High Quality
        Monolingual Datasets from Web Crawl Data", LREC 2020): ``"head"`` is
        the lowest third of the scores (for perplexity: the most fluent text),
        ``"middle"`` the next, ``"tail"`` the highest.
    score_column : str, default="score"
        Column to rank by.
    nan_policy : {"raise", "drop", "last"}, default="raise"
        NaN rows are never in a band: ``"raise"`` reports them, the other two
        leave them out and rank the rest.
    order : {"original", "score"}, default="original"
        Dataset order, or ascending score.
    """

    _parameter_constraints = {
        "band": [
            Predicate(_is_band, "a (low, high) pair with 0 <= low < high <= 1"),
            Options(tuple(NAMED_BANDS)),
        ],
        **SCORE_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        band: tuple[float, float] | str = (0.25, 0.75),
        score_column: str = "score",
        nan_policy: str = "raise",
        order: str = "original",
    ):
        self.band = band
        self.score_column = score_column
        self.nan_policy = nan_policy
        self.order = order

    def _select(self, scores, budget, rng):
        low, high = NAMED_BANDS[self.band] if isinstance(self.band, str) else self.band
        n = scores.size
        start, stop = fraction_count(low, n), fraction_count(high, n)
        mask = np.zeros(n, dtype=bool)
        mask[smallest_positions(scores, stop)] = True
        mask[smallest_positions(scores, start)] = False
        return np.flatnonzero(mask)
