"""What every built-in pruner shares: one array of scores in, positions out.

:class:`ScorePruner` reads one numeric column (numpy, never pandas), applies
the NaN policy, resolves the budget with :func:`dprune.core.budget.resolve_budget`
and puts the kept positions in the requested order. A subclass writes one
method, ``_select(scores, budget, rng)``, on a NaN-free array.

Because the work happens on an array, wrappers reuse it without building
sub-datasets: :class:`~dprune.pruners.balanced.ClassBalancedPruner` calls
:meth:`ScorePruner.select_from_scores` once per class, and
:class:`~dprune.pruners.combine.CombinedScorePruner` feeds it a combined
score.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from datasets import Dataset

from dprune.core.base import DEFAULT_SCORE_COLUMN, Pruner, column_to_numpy
from dprune.core.budget import resolve_budget
from dprune.core.params import NON_EMPTY_STR, Options

NAN_POLICIES = ("raise", "drop", "last")
ORDERS = ("original", "score")

#: Constraints of the parameters every score-based pruner takes.
SCORE_PARAMETER_CONSTRAINTS = {
    "score_column": [NON_EMPTY_STR],
    "nan_policy": [Options(NAN_POLICIES)],
    "order": [Options(ORDERS)],
}


class ScorePruner(Pruner):
    """Base class of the pruners that select rows from one score array.

    Subclasses implement ``_select(scores, budget, rng)``: given NaN-free
    ``scores`` and the resolved ``budget`` (``None`` for pruners without a
    budget ``k``), return the kept positions in any order. The base class
    takes care of:

    * reading ``score_column`` as a numpy array (ints, floats, bools);
    * ``nan_policy``: ``"raise"`` (default) names the column and the number
      of NaN rows; ``"drop"`` never keeps a NaN row and resolves a fractional
      budget against the non-NaN rows; ``"last"`` ranks NaN rows after every
      score, so they are kept (in row order) only when the budget exceeds the
      scored rows. Pruners without a budget never keep NaN rows under
      ``"drop"`` or ``"last"``. ``+inf``/``-inf`` are valid extremes;
    * ``order``: ``"original"`` returns rows in dataset order, ``"score"``
      sorts them by score (descending when ``descending`` is true, as for
      :class:`~dprune.pruners.ranking.TopKPruner`, otherwise ascending), ties
      by row position.
    """

    #: Defaults for subclasses that do not take these parameters.
    score_column: str = DEFAULT_SCORE_COLUMN
    nan_policy: str = "raise"
    order: str = "original"
    #: Direction of ``order="score"``.
    descending: ClassVar[bool] = False

    def required_columns(self) -> list[str]:
        return [self.score_column]

    # ------------------------------------------------------------ hooks
    def _select(self, scores: np.ndarray, budget: int | None, rng: np.random.Generator | None) -> np.ndarray:
        """Return the kept positions of NaN-free ``scores`` (the one method to implement)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _select(scores, budget, rng).")

    def _has_budget(self) -> bool:
        return "k" in self.param_names()

    def _resolve_budget(self, n_rows: int) -> int | None:
        """Number of rows to keep out of ``n_rows`` usable rows; ``None`` when the pruner has no budget."""
        if not self._has_budget():
            return None
        return resolve_budget(self.k, n_rows, owner=type(self).__name__)

    # ------------------------------------------------------------ array API
    def read_scores(self, dataset: Dataset) -> np.ndarray:
        """The per-row values this pruner selects from, as a 1-d numeric numpy array."""
        values = column_to_numpy(dataset, self.score_column)
        if values.dtype.kind == "b":
            values = values.astype(np.uint8)
        if values.ndim != 1 or values.dtype.kind not in "iuf":
            raise TypeError(
                f"{type(self).__name__} needs numeric scores in column {self.score_column!r}; "
                f"got dtype {values.dtype} with shape {values.shape}. "
                "Point score_column at a float column written by a scorer."
            )
        return values

    def capacity(self, scores: np.ndarray) -> int:
        """How many rows of ``scores`` can be kept under the NaN policy (raises for ``"raise"``)."""
        nan_mask = self._nan_mask(scores)
        if nan_mask is None:
            return len(scores)
        if self.nan_policy == "drop":
            return len(scores) - int(np.count_nonzero(nan_mask))
        return len(scores)

    def select_from_scores(
        self,
        scores: np.ndarray,
        budget: int | None = None,
        rng: np.random.Generator | None = None,
        *,
        ordered: bool = True,
    ) -> np.ndarray:
        """Positions (into ``scores``) of the rows to keep, in output order.

        Parameters
        ----------
        scores : numpy.ndarray
            One value per row.
        budget : int, optional
            Number of rows to keep; by default ``k`` resolved against the usable rows.
        rng : numpy.random.Generator, optional
            Random source; by default one seeded with ``seed`` (random pruners only).
        ordered : bool, default=True
            Apply ``order``; ``False`` returns ascending positions (for callers that reorder anyway).

        Returns
        -------
        numpy.ndarray
            int64 positions, exactly ``budget`` of them when the pruner has a budget.
        """
        scores = np.asarray(scores)
        n = len(scores)
        nan_mask = self._nan_mask(scores)
        valid = None if nan_mask is None else np.flatnonzero(~nan_mask)
        usable = n if valid is None else valid.size
        if usable == 0 and n and budget is None and (self.nan_policy == "drop" or not self._has_budget()):
            raise ValueError(
                f"{type(self).__name__} found only NaN values in score column {self.score_column!r} "
                f"({n} rows). Check the scorer that wrote it."
            )
        if budget is None:
            budget = self._resolve_budget(usable if self.nan_policy == "drop" else n)
        take = None if budget is None else min(budget, usable)
        if valid is None:
            chosen = self._sorted_positions(self._select(scores, take, rng), n)
        elif usable:
            chosen = valid[self._sorted_positions(self._select(scores[valid], take, rng), usable)]
        else:
            chosen = valid
        if ordered:
            chosen = self._ordered(chosen, scores)
        if nan_mask is not None and self.nan_policy == "last" and budget is not None and budget > chosen.size:
            # NaN rows rank after every score: they fill the budget last, in row order.
            chosen = np.concatenate([chosen, np.flatnonzero(nan_mask)[: budget - chosen.size]])
            if self.order == "original" or not ordered:
                chosen = np.sort(chosen)
        return chosen

    def select_indices(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        return self.select_from_scores(self.read_scores(dataset))

    # ------------------------------------------------------------ helpers
    def _nan_mask(self, scores: np.ndarray) -> np.ndarray | None:
        """Boolean NaN mask, or ``None`` when there is no NaN; raises under ``nan_policy="raise"``."""
        if scores.dtype.kind != "f":
            return None
        mask = np.isnan(scores)
        count = int(np.count_nonzero(mask))
        if count == 0:
            return None
        if self.nan_policy == "raise":
            raise ValueError(
                f"{type(self).__name__} found {count} NaN value(s) in score column {self.score_column!r} "
                f"(of {len(scores)} rows). Fix the scorer, or set nan_policy='drop' to never keep them "
                "or nan_policy='last' to keep them only after every scored row."
            )
        return mask

    @staticmethod
    def _sorted_positions(positions: np.ndarray, n: int) -> np.ndarray:
        """``positions`` (unique) in ascending order, through a mask when that beats sorting."""
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size * 16 < n:
            return np.sort(positions)
        mask = np.zeros(n, dtype=bool)
        mask[positions] = True
        return np.flatnonzero(mask)

    def _ordered(self, positions: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Ascending ``positions`` in the requested output order."""
        if self.order != "score" or positions.size < 2:
            return positions
        return positions[stable_argsort(scores[positions], descending=self.descending)]


def order_keys(values: np.ndarray) -> np.ndarray:
    """uint64 keys with the same order as NaN-free numeric ``values`` (``-0.0`` equal to ``0.0``)."""
    kind = values.dtype.kind
    if kind == "u":
        return values.astype(np.uint64)
    if kind in "ib":
        return values.astype(np.int64).view(np.uint64) ^ np.uint64(1 << 63)
    bits = np.add(values, 0.0, dtype=np.float64).view(np.int64)  # + 0.0 turns -0.0 into 0.0
    flip = bits >> 63  # all ones for negative values, zero otherwise
    flip |= np.int64(-(2**63))
    bits ^= flip  # negative: flip every bit; positive: flip the sign bit
    return bits.view(np.uint64)


def _packed_argsort(keys: np.ndarray, bits: int, *, with_prefix: bool = False):
    """Positions sorted by the top ``64 - bits`` bits of ``keys``, then by position (``len(keys) <= 2**bits``).

    With ``with_prefix``, also return those top bits in sorted order.
    """
    shift = np.uint64(bits)
    packed = keys >> shift
    packed <<= shift
    packed |= np.arange(keys.size, dtype=np.uint64)
    packed.sort()  # SIMD sort of plain integers: much faster than an argsort
    prefix = packed >> shift if with_prefix else None
    packed &= (np.uint64(1) << shift) - np.uint64(1)
    order = packed.view(np.int64)
    return (order, prefix) if with_prefix else order


def stable_argsort(
    values: np.ndarray, *, descending: bool = False, return_runs: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Argsort of NaN-free numeric ``values``; equal values keep their input order in both directions.

    Faster than ``np.argsort(kind="stable")`` on large arrays: each value's
    order key is truncated and packed with its position into one uint64, which
    numpy sorts with SIMD. Rows whose truncated keys collide are then put in
    exact order by two more packed sorts over those rows only (by their low
    key bits, then stably by collision run).

    Parameters
    ----------
    values : numpy.ndarray
        1-d ints, floats or bools without NaN.
    descending : bool, default=False
        Largest first (ties still by position).
    return_runs : bool, default=False
        Also return a boolean mask over the sorted order, true where a new
        value starts (so runs of equal values can be found).
    """
    n = values.size
    keys = order_keys(values)
    if descending:
        np.invert(keys, out=keys)
    bits = max(1, (n - 1).bit_length())
    order, prefix = _packed_argsort(keys, bits, with_prefix=True)
    prefix_same = np.zeros(n, dtype=bool)
    np.equal(prefix[1:], prefix[:-1], out=prefix_same[1:])
    del prefix
    new_value = ~prefix_same if return_runs else None
    if prefix_same.any():
        # Rows in runs of equal truncated keys, currently in (run, position) order.
        in_run = prefix_same.copy()
        in_run[:-1] |= prefix_same[1:]
        members = np.flatnonzero(in_run)
        positions = order[members]
        full = keys[positions]
        run = np.cumsum(~prefix_same[members])
        same_run = run[1:] == run[:-1]
        if np.any(same_run & (full[1:] < full[:-1])):
            # Inside a run only the low `bits` key bits differ: sort the members by those bits
            # (then by member index, i.e. position), then stably by run.
            m_bits = max(1, (members.size - 1).bit_length())
            if bits + m_bits <= 64:
                by_low = _packed_argsort(full << np.uint64(64 - bits), m_bits)
                run_keys = run[by_low].astype(np.uint64) << np.uint64(64 - m_bits)
                resort = by_low[_packed_argsort(run_keys, m_bits)]
            else:  # pragma: no cover - billions of rows
                resort = np.lexsort((np.arange(members.size), full, run))
            positions, full = positions[resort], full[resort]
            order[members] = positions
        if return_runs:
            new_value[members[1:]] |= same_run & (full[1:] != full[:-1])
    if return_runs:
        return order, new_value
    return order


def spawn_rngs(seed: int | None, count: int) -> list[np.random.Generator]:
    """``count`` independent generators derived from one ``seed`` (fresh entropy when ``None``)."""
    return [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(count)]


def selected_row_ids(dataset: Dataset, selection: Any, id_column: str | None = "row_id") -> np.ndarray:
    """Stable ids of the kept rows, for a manifest of what a pruner kept.

    Parameters
    ----------
    dataset : datasets.Dataset
        The dataset the pruner ran on (not the pruned one).
    selection : Pruner or array-like of int
        A pruner that has run (its ``selected_indices_`` are used) or kept positions.
    id_column : str or None, default="row_id"
        Column holding stable row ids. When it is ``None`` or absent, the
        positions themselves are returned.

    Returns
    -------
    numpy.ndarray
        One id (or position) per kept row, in the pruner's output order.
    """
    if isinstance(selection, Pruner):
        positions = getattr(selection, "selected_indices_", None)
        if positions is None:
            raise ValueError(
                f"{type(selection).__name__} has not selected anything yet. "
                "Call prune(dataset) first, or pass the kept positions."
            )
    else:
        positions = selection
    positions = np.asarray(positions, dtype=np.int64)
    if id_column is None or id_column not in dataset.column_names:
        return positions
    return column_to_numpy(dataset, id_column)[positions]
