"""How a budget ``k`` turns into a number of rows, for every pruner.

The rule is decided by the *type* of ``k``, never by its value alone:

* a ``float`` in (0, 1] is a fraction of the dataset: ``round(k * n)`` rows,
  rounding halves up, and at least one row of a non-empty dataset;
* an ``int`` >= 1 is a count of rows; a count above the dataset size keeps
  every row.

So ``k=1`` keeps one row and ``k=1.0`` keeps them all. ``bool`` is rejected,
as are zero, negatives, NaN and fractions above 1.
"""

from __future__ import annotations

import math
import numbers

from dprune.core.params import Interval, check_param

BUDGET_CONSTRAINTS = [Interval(float, 0, 1, closed="right"), Interval(int, 1, None)]


def resolve_budget(k: float | int, n_rows: int, *, owner: str = "Pruner", name: str = "k") -> int:
    """Return how many of ``n_rows`` rows the budget ``k`` keeps.

    Parameters
    ----------
    k : float or int
        A fraction in (0, 1] (float) or a count >= 1 (int).
    n_rows : int
        Number of rows available.
    owner, name : str
        Used in the error message when ``k`` is invalid.

    Returns
    -------
    int
        A number in ``[min(1, n_rows), n_rows]``.
    """
    check_param(owner, name, k, BUDGET_CONSTRAINTS)
    if n_rows <= 0:
        return 0
    if isinstance(k, numbers.Integral):
        return int(min(int(k), n_rows))
    return int(min(n_rows, max(1, math.floor(float(k) * n_rows + 0.5))))
