"""Sample across the score range: :class:`StratifiedPruner`, :class:`CoverageCentricPruner`.

Both split the scores into strata and draw at random inside each stratum;
they differ in how the budget is spread. Stratified sampling keeps each
stratum's share of the data (a lower-variance random sample that still covers
every stratum); coverage-centric selection gives small strata - usually the
rare easy or hard regions - as much as the large ones.
"""

from __future__ import annotations

import numpy as np

from dprune.core.budget import BUDGET_CONSTRAINTS, fraction_count
from dprune.core.params import SEED, Interval, Options
from dprune.pruners.allocation import allocate, allocate_smallest_first, group_positions, sample_groups
from dprune.pruners.base import SCORE_PARAMETER_CONSTRAINTS, ScorePruner
from dprune.pruners.ranking import largest_positions, smallest_positions
from dprune.core.registry import register_pruner

STRATA_METHODS = ("quantile", "width")


def assign_strata(scores: np.ndarray, num_strata: int, method: str = "width") -> np.ndarray:
    """Stratum code in ``[0, num_strata)`` of every NaN-free score.

    Parameters
    ----------
    scores : numpy.ndarray
        Scores without NaN; ``-inf``/``+inf`` go to the first/last stratum.
    num_strata : int
        Number of strata.
    method : {"width", "quantile"}
        ``"width"``: equal-width bins between the smallest and largest finite
        score. ``"quantile"``: bins between score quantiles, so strata hold
        about equally many rows; equal scores always share a stratum, so heavy
        ties leave some strata empty.

    Returns
    -------
    numpy.ndarray
        Integer codes (uint8 for up to 256 strata), one per score.
    """
    n = scores.size
    dtype = np.uint8 if num_strata <= 256 else np.int64
    if n == 0 or num_strata == 1:
        return np.zeros(n, dtype=dtype)
    if method == "quantile":
        # Lower quantiles ("inverted_cdf"): every edge is a real score, infinities included.
        ranks = np.ceil(np.arange(1, num_strata) * (n / num_strata)).astype(np.int64) - 1
        edges = np.sort(scores)[np.clip(ranks, 0, n - 1)]
        if num_strata > 32:
            return np.searchsorted(edges, scores, side="left").astype(dtype)
        codes = np.zeros(n, dtype=dtype)
        for edge in np.unique(edges):
            codes += scores > edge  # number of distinct edges below the score
        return codes
    values = scores.astype(np.float64, copy=False)
    finite_mask = np.isfinite(values)
    finite = values if finite_mask.all() else values[finite_mask]
    if finite.size == 0:
        return np.where(values > 0, num_strata - 1, 0).astype(dtype)
    lo, hi = float(finite.min()), float(finite.max())
    if hi == lo:
        scaled = np.where(values > hi, float(num_strata), 0.0)
    elif np.isfinite(hi - lo):
        scaled = values - lo
        scaled /= hi - lo  # divide first: num_strata / (hi - lo) overflows for tiny ranges
        scaled *= num_strata
    else:  # the range overflows float64: scale the halves
        scaled = values / 2 - lo / 2
        scaled /= hi / 2 - lo / 2
        scaled *= num_strata
    np.floor(scaled, out=scaled)
    np.clip(scaled, 0, num_strata - 1, out=scaled)
    return scaled.astype(dtype)


@register_pruner("stratified")
class StratifiedPruner(ScorePruner):
    """Stratified random sampling over score strata.

    The scores are cut into ``num_strata`` strata; the budget is shared
    between strata in proportion to their size (largest-remainder rounding,
    at least one row for every non-empty stratum when the budget allows, a
    short stratum's leftover going to the others) and rows are drawn
    uniformly at random inside each stratum.

    Parameters
    ----------
    k : float or int
        Budget: a float in (0, 1] is a fraction of the rows, an int >= 1 a
        count (above the dataset size, every row is kept).
    num_strata : int, default=10
        Number of strata.
    strata : {"quantile", "width"}, default="quantile"
        Quantile strata (about equal row counts) or equal-width score bins
        (see :func:`assign_strata`).
    seed : int or None, default=42
        Seed of the draws inside strata.
    score_column : str, default="score"
        Column to stratify on.
    nan_policy : {"raise", "drop", "last"}, default="raise"
        What to do with NaN scores (see :class:`~dprune.pruners.base.ScorePruner`).
    order : {"original", "score"}, default="original"
        Dataset order, or ascending score.

    Notes
    -----
    Unlike the original dPrune (the same number of rows from every quantile
    stratum, i.e. a random sample with an inexact size), the result has
    exactly the budget and each stratum keeps its share of the data.
    """

    _parameter_constraints = {
        "k": BUDGET_CONSTRAINTS,
        "num_strata": [Interval(int, 1, None)],
        "strata": [Options(STRATA_METHODS)],
        "seed": [SEED],
        **SCORE_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        k: float | int,
        num_strata: int = 10,
        strata: str = "quantile",
        seed: int | None = 42,
        score_column: str = "score",
        nan_policy: str = "raise",
        order: str = "original",
    ):
        self.k = k
        self.num_strata = num_strata
        self.strata = strata
        self.seed = seed
        self.score_column = score_column
        self.nan_policy = nan_policy
        self.order = order

    def _select(self, scores, budget, rng):
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        codes = assign_strata(scores, self.num_strata, self.strata)
        sizes = np.bincount(codes, minlength=self.num_strata).tolist()
        counts = allocate(budget, sizes, sizes, minimum=1)
        return sample_groups(group_positions(codes, self.num_strata), counts, rng)


@register_pruner("coverage_centric")
class CoverageCentricPruner(ScorePruner):
    """Coverage-centric coreset selection (CCS).

    Zheng, Liu, Chen & Prakash, "Coverage-centric Coreset Selection for High
    Pruning Rates", ICLR 2023. First drop the hardest ``beta`` fraction of the
    rows (likely mislabeled or unlearnable), then split the rest into
    ``num_strata`` equal-width score strata and share the budget from the
    smallest stratum up: each takes ``min(size, remaining_budget //
    remaining_strata)``. Rows are drawn uniformly at random inside strata.

    Parameters
    ----------
    k : float or int
        Budget: a float in (0, 1] is a fraction of the rows, an int >= 1 a
        count (above the dataset size, every row is kept).
    beta : float, default=0.0
        Hard cut-off rate in [0, 1). The paper uses 0 at low pruning rates and
        up to 0.3 at 90% pruning. The cut never removes so many rows that the
        budget cannot be met: at most ``n - budget`` rows are cut.
    num_strata : int, default=50
        Number of equal-width strata (the paper's default).
    hardest : {"high", "low"}, default="high"
        Which end of the score range is hard: ``"high"`` when a high score
        means hard (forgetting counts, EL2N, loss), ``"low"`` when a low one
        does (AUM, confidence).
    seed : int or None, default=42
        Seed of the draws inside strata.
    score_column : str, default="score"
        Column of difficulty scores.
    nan_policy : {"raise", "drop", "last"}, default="raise"
        What to do with NaN scores (see :class:`~dprune.pruners.base.ScorePruner`).
    order : {"original", "score"}, default="original"
        Dataset order, or ascending score.
    """

    _parameter_constraints = {
        "k": BUDGET_CONSTRAINTS,
        "beta": [Interval("real", 0, 1, closed="left")],
        "num_strata": [Interval(int, 1, None)],
        "hardest": [Options(("high", "low"))],
        "seed": [SEED],
        **SCORE_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        k: float | int,
        beta: float = 0.0,
        num_strata: int = 50,
        hardest: str = "high",
        seed: int | None = 42,
        score_column: str = "score",
        nan_policy: str = "raise",
        order: str = "original",
    ):
        self.k = k
        self.beta = beta
        self.num_strata = num_strata
        self.hardest = hardest
        self.seed = seed
        self.score_column = score_column
        self.nan_policy = nan_policy
        self.order = order

    def _select(self, scores, budget, rng):
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        n = scores.size
        cut = min(fraction_count(self.beta, n), n - budget)
        if cut > 0:
            # Keep the n - cut easiest rows.
            easiest = smallest_positions if self.hardest == "high" else largest_positions
            kept = easiest(scores, n - cut)
            scores = scores[kept]
        else:
            kept = None
        codes = assign_strata(scores, self.num_strata, "width")
        sizes = np.bincount(codes, minlength=self.num_strata).tolist()
        counts = allocate_smallest_first(budget, sizes)
        chosen = sample_groups(group_positions(codes, self.num_strata), counts, rng)
        return chosen if kept is None else kept[chosen]
