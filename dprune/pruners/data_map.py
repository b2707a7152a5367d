"""Select one region of a data map (Swayamdipta et al., EMNLP 2020).

"Dataset Cartography" places every training example by its *confidence* (mean
gold-label probability across epochs) and *variability* (its standard deviation),
both written by the data-map scorers in :mod:`dprune.scorers.dynamics`. The
paper trains on three selections of 33% each:

* ``"ambiguous"``: the most variable examples (best out-of-distribution results);
* ``"easy-to-learn"``: the most confident examples;
* ``"hard-to-learn"``: the least confident examples (rich in label errors).

:class:`DataMapRegionPruner` keeps exactly ``k`` rows of one region, ranking by
the statistic that defines it; ties go to earlier rows.
"""

from __future__ import annotations

import numpy as np

from dprune.core.budget import BUDGET_CONSTRAINTS
from dprune.dynamics.records import REGIONS
from dprune.core.params import NON_EMPTY_STR, Options
from dprune.pruners.base import SCORE_PARAMETER_CONSTRAINTS, ScorePruner
from dprune.pruners.ranking import largest_positions, smallest_positions
from dprune.core.registry import register_pruner

__all__ = ["DataMapRegionPruner"]


@register_pruner("data_map_region")
class DataMapRegionPruner(ScorePruner):
    """Keep the ``k`` examples of one data-map region.

    Parameters
    ----------
    region : {"ambiguous", "easy-to-learn", "hard-to-learn"}, default "ambiguous"
        ``"ambiguous"`` keeps the highest variability, ``"easy-to-learn"`` the highest
        confidence, ``"hard-to-learn"`` the lowest confidence.
    k : float or int, default 0.33
        Budget (the paper uses 33%); see :func:`dprune.core.budget.resolve_budget`.
    confidence_column : str, default "confidence"
        Column written by ``DataMapConfidenceScorer(..., score_column="confidence")``.
    variability_column : str, default "variability"
        Column written by ``DataMapVariabilityScorer(..., score_column="variability")``.
    nan_policy : {"raise", "drop", "last"}, default "raise"
    order : {"original", "score"}, default "original"
        ``"score"`` lists kept rows from the most typical of the region down.
    """

    _parameter_constraints = {
        "region": [Options(REGIONS)],
        "k": BUDGET_CONSTRAINTS,
        "confidence_column": [NON_EMPTY_STR],
        "variability_column": [NON_EMPTY_STR],
        **{k: v for k, v in SCORE_PARAMETER_CONSTRAINTS.items() if k != "score_column"},
    }

    def __init__(
        self,
        region: str = "ambiguous",
        k: float | int = 0.33,
        confidence_column: str = "confidence",
        variability_column: str = "variability",
        nan_policy: str = "raise",
        order: str = "original",
    ):
        self.region = region
        self.k = k
        self.confidence_column = confidence_column
        self.variability_column = variability_column
        self.nan_policy = nan_policy
        self.order = order

    @property
    def score_column(self) -> str:  # the statistic that defines the region
        return self.variability_column if self.region == "ambiguous" else self.confidence_column

    @property
    def descending(self) -> bool:
        return self.region != "hard-to-learn"

    def _select(self, scores: np.ndarray, budget, rng) -> np.ndarray:
        if self.descending:
            return largest_positions(scores, budget)
        return smallest_positions(scores, budget)
