"""Keep the rows that satisfy every rule: :class:`RulePruner` over score columns, explained per row.

A rule bounds one column, ``{column: (low, high)}`` (inclusive; ``None`` leaves a side
open). A row is dropped when any value falls outside its bounds (a NaN always does);
``dropped_by_`` holds, for each row, the first rule (in the order given) it failed, or
``""`` when it was kept, and ``rule_failures_`` counts the rows failing each rule.
:func:`apply_rules` is the evaluation both this pruner and
:class:`~dprune.pruners.gopher.GopherPruner` use.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from datasets import Dataset

from dprune.core.base import Pruner, column_to_numpy
from dprune.core.params import Predicate
from dprune.core.registry import register_pruner

__all__ = ["RuleOutcome", "RulePruner", "apply_rules", "is_rules"]


def _is_bound(value: Any) -> bool:
    return value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool))


def is_rules(value: Any) -> bool:
    """True for a non-empty mapping ``{name: (low, high)}`` with numeric-or-None bounds, ``low <= high``."""
    if not isinstance(value, Mapping) or not value:
        return False
    for name, bounds in value.items():
        if not isinstance(name, str) or not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
            return False
        low, high = bounds
        if not (_is_bound(low) and _is_bound(high)) or (low is not None and high is not None and low > high):
            return False
    return True


@dataclass(frozen=True)
class RuleOutcome:
    """Which rows failed which rule: ``failed[r, i]`` for rule ``r`` (in order) and row ``i``."""

    names: list[str]
    failed: np.ndarray

    @property
    def kept(self) -> np.ndarray:
        return ~self.failed.any(axis=0)

    @property
    def dropped_by(self) -> np.ndarray:
        """For each row, the first rule it failed, or ``""``."""
        first = self.failed.argmax(axis=0)
        return np.where(self.kept, "", np.asarray(self.names, dtype=object)[first]).astype(object)

    @property
    def failures(self) -> dict[str, int]:
        return {name: int(self.failed[r].sum()) for r, name in enumerate(self.names)}


def apply_rules(values: Mapping[str, np.ndarray], rules: Mapping[str, tuple]) -> RuleOutcome:
    """Evaluate ``rules`` on ``values`` (rule name -> one value per row); NaN fails every rule."""
    names = list(rules)
    n = len(next(iter(values.values()))) if values else 0
    failed = np.zeros((len(names), n), dtype=bool)
    for r, name in enumerate(names):
        low, high = rules[name]
        column = np.asarray(values[name], dtype=np.float64)
        failed[r] = np.isnan(column)
        if low is not None:
            failed[r] |= column < low
        if high is not None:
            failed[r] |= column > high
    return RuleOutcome(names=names, failed=failed)


@register_pruner("rules")
class RulePruner(Pruner):
    """Keep the rows whose score columns all lie within their bounds.

    This pruner has no budget: it keeps as many rows as pass. The corpus preset of the
    prune flow uses it to drop duplicates and the rows failing the Gopher rules at once.

    Parameters
    ----------
    rules : dict
        Column -> ``(low, high)`` inclusive bounds (``None`` leaves a side open).
    """

    _parameter_constraints = {
        "rules": [Predicate(is_rules, "a non-empty dict {column: (low, high)} with numeric or None bounds "
                                      "and low <= high")],
    }

    def __init__(self, rules: dict):
        self.rules = rules

    def required_columns(self) -> list[str]:
        return list(self.rules) if is_rules(self.rules) else []

    def select_indices(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        values = {name: column_to_numpy(dataset, name).astype(np.float64) for name in self.rules}
        outcome = apply_rules(values, self.rules)
        self.dropped_by_ = outcome.dropped_by
        self.rule_failures_ = outcome.failures
        return np.flatnonzero(outcome.kept)
