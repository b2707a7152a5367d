"""Apply any budgeted pruner within each class: :class:`ClassBalancedPruner`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset

from dprune.core.base import Pruner
from dprune.core.budget import BUDGET_CONSTRAINTS, resolve_budget
from dprune.core.params import NON_EMPTY_STR, Options, Predicate
from dprune.pruners.allocation import allocate, group_positions
from dprune.pruners.base import ScorePruner, spawn_rngs
from dprune.core.registry import register_pruner


def _has_budget(value: Any) -> bool:
    """A pruner with a budget ``k`` of its own or in the pruner it wraps."""
    if not isinstance(value, Pruner):
        return False
    params = value.get_params()
    return "k" in params or _has_budget(params.get("pruner"))


def label_codes(dataset: Dataset, column: str) -> tuple[np.ndarray, list]:
    """Class code of every row (classes in sorted label order) and the labels.

    Hash-based (Arrow dictionary encoding), so it is linear in the number of
    rows for any label type.
    """
    values = dataset.with_format("arrow")[column]
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count:
        raise ValueError(
            f"Column {column!r} has {values.null_count} missing label(s) (of {len(values)} rows). "
            "Fill or drop them before balancing by class."
        )
    encoded = pc.dictionary_encode(values)
    dictionary = encoded.dictionary
    rank = np.empty(len(dictionary), dtype=np.int64)
    rank[pc.sort_indices(dictionary).to_numpy()] = np.arange(len(dictionary))
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    labels = pc.take(dictionary, pc.sort_indices(dictionary)).to_pylist()
    return codes, labels


@register_pruner("class_balanced")
class ClassBalancedPruner(Pruner):
    """Run a pruner inside each class so the kept set keeps (or evens out) the class mix.

    The budget ``k`` is split between classes by largest-remainder rounding
    (at least one row per class when the budget allows); a class that cannot
    give its share (too small, or NaN scores dropped) is kept whole and its
    leftover goes to the other classes, so the total is always exactly the
    budget. Within each class the wrapped pruner picks its rows with that
    class's count as budget; its own ``k`` is ignored.

    Parameters
    ----------
    pruner : Pruner
        Any pruner with a budget parameter ``k`` (TopK, BottomK, Random,
        Stratified, CoverageCentric, a custom one...). Random pruners get an
        independent stream per class, derived from their ``seed``.
    k : float or int
        Total budget: a float in (0, 1] is a fraction of the rows, an int >= 1
        a count (above the dataset size, every row is kept). Rows the wrapped
        pruner cannot keep (NaN scores under ``nan_policy="drop"``) do not count.
    label_column : str, default="label"
        Column with the class of each row (any hashable Arrow type, no nulls).
    mode : {"proportional", "equal"}, default="proportional"
        ``"proportional"`` keeps each class's share of the dataset;
        ``"equal"`` gives every class the same count (as far as its size allows).

    Notes
    -----
    Kept rows are returned in dataset order. Built-in score pruners run on
    slices of the score array; other pruners run on ``dataset.select`` of each
    class and must implement ``select_indices``.
    """

    _parameter_constraints = {
        "pruner": [Predicate(_has_budget, "a Pruner with a budget parameter 'k'")],
        "k": BUDGET_CONSTRAINTS,
        "label_column": [NON_EMPTY_STR],
        "mode": [Options(("proportional", "equal"))],
    }

    def __init__(self, pruner: Pruner, k: float | int, label_column: str = "label", mode: str = "proportional"):
        self.pruner = pruner
        self.k = k
        self.label_column = label_column
        self.mode = mode

    def required_columns(self) -> list[str]:
        inner = self.pruner.required_columns() if isinstance(self.pruner, Pruner) else []
        return [self.label_column] + [c for c in inner if c != self.label_column]

    def validate_params(self) -> None:
        super().validate_params()
        self.pruner.validate_params()

    def select_indices(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        codes, labels = label_codes(dataset, self.label_column)
        groups = group_positions(codes, len(labels))
        sizes = [g.size for g in groups]
        fast = isinstance(self.pruner, ScorePruner)
        if fast:
            scores = self.pruner.read_scores(dataset)
            self.pruner.capacity(scores)  # reports NaN for the whole column under nan_policy="raise"
            parts = [scores[g] for g in groups]
            capacity = [self.pruner.capacity(part) for part in parts]
        else:
            capacity = sizes
        budget = resolve_budget(self.k, sum(capacity), owner=type(self).__name__)
        weights = sizes if self.mode == "proportional" else [1] * len(sizes)
        counts = allocate(budget, weights, capacity, minimum=1)
        params = self.pruner.get_params()
        rngs = spawn_rngs(params["seed"], len(groups)) if "seed" in params else [None] * len(groups)
        mask = np.zeros(len(dataset), dtype=bool)
        for c, (members, count) in enumerate(zip(groups, counts)):
            if count == 0:
                continue
            if fast:
                local = self.pruner.select_from_scores(parts[c], budget=count, rng=rngs[c], ordered=False)
            else:
                inner = self.pruner.clone().set_params(k=int(count))
                local = inner.fit_indices(dataset.select(members), **kwargs)
            mask[members[local]] = True
        return np.flatnonzero(mask)
