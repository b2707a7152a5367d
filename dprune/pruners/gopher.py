"""The Gopher quality filter (Rae et al. 2021) as a pruner: keep the rows that pass every rule.

Each rule bounds one statistic of :mod:`dprune.corpus.quality` (by default the paper's
:data:`~dprune.corpus.quality.GOPHER_RULES`); a row is dropped when any statistic falls
outside its bounds (closed bounds, as in :class:`~dprune.pruners.ranges.RangesPruner`). The
pruner says why: ``dropped_by_`` holds, for each row, the first rule (in the order of
``rules``) it failed, or ``""`` when it was kept, and ``failed_`` counts the rows failing
each rule (a row can fail several).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from datasets import Dataset

from dprune.core.base import Pruner
from dprune.corpus.quality import GOPHER_RULES, QUALITY_STATISTICS, quality_statistics
from dprune.core.params import NON_EMPTY_STR, NONE, Interval, Predicate
from dprune.core.registry import register_pruner
from dprune.pruners.ranges import RANGES
from dprune.scorers.corpus import text_batches

__all__ = ["GopherPruner"]


def _is_gopher_rules(value: Any) -> bool:
    return RANGES.accepts(value) and all(name in QUALITY_STATISTICS for name in value)


@register_pruner("gopher")
class GopherPruner(Pruner):
    """Keep the documents that satisfy every Gopher quality rule.

    This pruner has no budget: it keeps as many rows as pass.

    Parameters
    ----------
    rules : dict, optional
        Statistic name -> ``(low, high)`` inclusive bounds (``None`` leaves a side open);
        ``None`` applies the paper's thresholds (:data:`~dprune.corpus.quality.GOPHER_RULES`).
    text_column : str
        Column of documents.
    batch_size : int
        Rows whose statistics are computed at a time.
    """

    _parameter_constraints = {
        "rules": [NONE, Predicate(_is_gopher_rules, "a non-empty dict {statistic: (low, high)} of known "
                                                   "statistics with numeric or None bounds and low <= high")],
        "text_column": [NON_EMPTY_STR],
        "batch_size": [Interval(int, 1, None)],
    }

    def __init__(self, rules: dict | None = None, text_column: str = "text", batch_size: int = 10_000):
        self.rules = rules
        self.text_column = text_column
        self.batch_size = batch_size

    def required_columns(self) -> list[str]:
        return [self.text_column]

    def select_indices(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        rules = GOPHER_RULES if self.rules is None else self.rules
        names = list(rules)
        parts = [quality_statistics(batch, names) for batch in text_batches(dataset, self.text_column, self.batch_size)]
        values = {name: np.concatenate([part[name] for part in parts]) for name in names}
        failed = np.zeros((len(names), len(dataset)), dtype=bool)
        for r, (name, (low, high)) in enumerate(rules.items()):
            if low is not None:
                failed[r] |= values[name] < low
            if high is not None:
                failed[r] |= values[name] > high
        dropped = failed.any(axis=0)
        self.dropped_by_ = np.where(dropped, np.asarray(names, dtype=object)[failed.argmax(axis=0)], "").astype(object)
        self.failed_ = {name: int(failed[r].sum()) for r, name in enumerate(names)}
        return np.flatnonzero(~dropped)
