"""PruningPipeline: one scorer (or several) followed by one pruner."""

from __future__ import annotations

from typing import Any, Sequence

from datasets import Dataset

from dprune.core.base import Pruner, Scorer


class PruningPipeline:
    """Chain scoring and pruning into one call.

    Parameters
    ----------
    scorer : Scorer or sequence of Scorer
        Scorers run in order; each adds its own score column.
    pruner : Pruner
        Selects the rows to keep from the scored dataset.
    """

    def __init__(self, scorer: Scorer | Sequence[Scorer], pruner: Pruner):
        scorers = list(scorer) if isinstance(scorer, (list, tuple)) else [scorer]
        for item in scorers:
            if not isinstance(item, Scorer):
                raise TypeError(f"scorer must be an instance of Scorer. Got {type(item).__name__} instead.")
        if not isinstance(pruner, Pruner):
            raise TypeError(f"pruner must be an instance of Pruner. Got {type(pruner).__name__} instead.")
        self.scorer = scorer
        self.pruner = pruner
        self._scorers = scorers

    def run(self, dataset: Dataset, **kwargs: Any) -> Dataset:
        """Score ``dataset`` with every scorer, then prune it; keyword arguments go to both."""
        scored = dataset
        for scorer in self._scorers:
            scored = scorer.score(scored, **kwargs)
        return self.pruner.prune(scored, **kwargs)
