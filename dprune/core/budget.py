"""How a budget ``k`` turns into a number of rows, for every pruner.

The rule is decided by the *type* of ``k``, never by its value alone:

* a ``float`` in (0, 1] is a fraction of the dataset: ``round(k * n)`` rows,
  rounding halves up in exact decimal arithmetic (``k=0.58`` of 25 rows is 14.5,
  so 15 rows, although the float product is 14.499...), and at least one row of a
  non-empty dataset;
* an ``int`` >= 1 is a count of rows; a count above the dataset size keeps
  every row.

So ``k=1`` keeps one row and ``k=1.0`` keeps them all. ``bool`` is rejected,
as are zero, negatives, NaN and fractions above 1.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

from dprune.core.params import Interval, check_param

__all__ = ["BUDGET_CONSTRAINTS", "fraction_count", "resolve_budget"]

BUDGET_CONSTRAINTS = [Interval(float, 0, 1, closed="right"), Interval(int, 1, None)]


def fraction_count(fraction: float, n: int) -> int:
    """``round(fraction * n)``, halves rounded up, computed exactly on the decimal ``fraction`` reads as.

    A float is taken as its shortest decimal representation (``0.58`` is 58/100, not the
    binary value just below it), so the count is what the written fraction says. Every
    "keep / cut / flip this share of rows" in dPrune goes through this function.
    """
    exact = Fraction(fraction) if isinstance(fraction, numbers.Rational) else Fraction(repr(float(fraction)))
    return math.floor(exact * int(n) + Fraction(1, 2))


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
    return int(min(n_rows, max(1, fraction_count(k, n_rows))))
