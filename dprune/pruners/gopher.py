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

    def _failures(self, dataset: Dataset) -> tuple[list[str], np.ndarray]:
        """Rule names (in order) and ``failed[r, i]``: row ``i`` breaks rule ``r``, as ``"word_count < 50"``."""
        rules = GOPHER_RULES if self.rules is None else self.rules
        names = list(rules)
        parts = [quality_statistics(batch, names) for batch in text_batches(dataset, self.text_column, self.batch_size)]
        checks, failed = [], []
        for name, (low, high) in rules.items():
            values = np.concatenate([part[name] for part in parts])
            if low is not None:
                checks.append((name, f"{name} < {low:g}"))
                failed.append(values < low)
            if high is not None:
                checks.append((name, f"{name} > {high:g}"))
                failed.append(values > high)
        return checks, np.array(failed, dtype=bool).reshape(len(checks), len(dataset))

    def drop_rules(self, dataset: Dataset) -> list[str | None]:
        """Per row, every Gopher rule it breaks (``"word_count < 50; stop_word_count < 2"``), None when kept."""
        self.validate_params()
        checks, failed = self._failures(dataset)
        return ["; ".join(checks[r][1] for r in np.flatnonzero(failed[:, i])) or None for i in range(len(dataset))]

    def select_indices(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        checks, failed = self._failures(dataset)
        dropped = failed.any(axis=0)
        names = np.asarray([name for name, _ in checks], dtype=object)
        self.dropped_by_ = np.where(dropped, names[failed.argmax(axis=0)] if len(checks) else "", "").astype(object)
        self.failed_ = {}
        for (name, _), row_failed in zip(checks, failed):
            self.failed_[name] = self.failed_.get(name, 0) + int(row_failed.sum())
        return np.flatnonzero(~dropped)
