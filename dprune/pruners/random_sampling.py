"""Uniform random selection, the baseline every pruning method must beat."""

from __future__ import annotations

import numpy as np
from datasets import Dataset

from dprune.core.budget import BUDGET_CONSTRAINTS
from dprune.core.params import SEED
from dprune.pruners.base import ScorePruner
from dprune.core.registry import register_pruner


@register_pruner("random")
class RandomPruner(ScorePruner):
    """Keep ``k`` rows drawn uniformly at random, ignoring every score.

    Parameters
    ----------
    k : float or int
        Budget: a float in (0, 1] is a fraction of the rows, an int >= 1 a
        count (above the dataset size, every row is kept).
    seed : int or None, default=42
        Seed of the draw. The original dPrune always used 42; ``None`` draws
        fresh entropy (not reproducible).

    Notes
    -----
    Kept rows are returned in dataset order. The sample is the same for a
    given seed and dataset size, whatever the scores.
    """

    _parameter_constraints = {"k": BUDGET_CONSTRAINTS, "seed": [SEED]}

    def __init__(self, k: float | int, seed: int | None = 42):
        self.k = k
        self.seed = seed

    def required_columns(self) -> list[str]:
        return []

    def read_scores(self, dataset: Dataset) -> np.ndarray:
        # Only the length matters: a zero-byte view, never a copy of the data.
        return np.broadcast_to(np.zeros(1, dtype=np.uint8), (len(dataset),))

    def _select(self, scores, budget, rng):
        rng = rng if rng is not None else np.random.default_rng(self.seed)
        return rng.choice(scores.size, size=budget, replace=False)
