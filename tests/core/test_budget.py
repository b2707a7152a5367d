"""The one budget rule shared by every pruner."""

from fractions import Fraction

import numpy as np
import pytest
from datasets import Dataset
from hypothesis import given
from hypothesis import strategies as st

from dprune import InvalidParameterError, TopKPruner, resolve_budget
from dprune.core.budget import fraction_count
from dprune.evaluation.noise import flip_labels
from dprune.pruners.stratified import CoverageCentricPruner
from dprune.pruners.threshold import QuantileBandPruner


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [(0.5, 4, 2), (1.0, 4, 4), (1, 4, 1), (10, 4, 4), (0.01, 10, 1), (0.25, 10, 3), (3, 0, 0), (np.int64(2), 5, 2)],
)
def test_resolution(k, n, expected):
    assert resolve_budget(k, n) == expected


@pytest.mark.parametrize("k", [True, False, 0, 0.0, -1, 1.5, float("nan"), "0.5", None])
def test_invalid_budgets_are_rejected_with_the_parameter_named(k):
    with pytest.raises(InvalidParameterError, match=r"The 'k' parameter of TopKPruner must be a float in \(0, 1\] or an int >= 1"):
        resolve_budget(k, 10, owner="TopKPruner")


@given(st.floats(min_value=1e-9, max_value=1.0), st.integers(min_value=1, max_value=10**7))
def test_fraction_is_within_bounds_and_close(k, n):
    kept = resolve_budget(k, n)
    assert 1 <= kept <= n
    assert abs(kept - k * n) <= max(0.5, 1 - k * n) + 1e-9


# --------------------------------------------------------------------------- exact arithmetic
def _exact_half_up(digits: int, places: int, n: int) -> int:
    """Oracle: round(digits / 10**places * n), halves up, in integers only."""
    scale = 10**places
    return (2 * digits * n + scale) // (2 * scale)


@given(st.integers(min_value=0, max_value=6).flatmap(
    lambda places: st.tuples(st.integers(min_value=1, max_value=10**places), st.just(places))),
    st.integers(min_value=0, max_value=10**9))
def test_fraction_count_is_exact_for_written_decimals(decimal, n):
    digits, places = decimal
    k = float(f"{digits}e-{places}")  # what a user writes: 0.58, 0.125, 1e-06 ...
    assert fraction_count(k, n) == _exact_half_up(digits, places, n)


@given(st.integers(min_value=1, max_value=10**6).flatmap(
    lambda d: st.tuples(st.integers(min_value=1, max_value=d), st.just(d))), st.integers(0, 10**6))
def test_fraction_count_of_rationals_is_exact(pair, n):
    num, den = pair
    assert fraction_count(Fraction(num, den), n) == (2 * num * n + den) // (2 * den)


@pytest.mark.parametrize(("k", "n", "expected"), [(0.58, 25, 15), (0.145, 100, 15), (0.5, 3, 2), (0.29, 50, 15)])
def test_half_way_budgets_round_up(k, n, expected):
    assert resolve_budget(k, n) == expected


def test_every_share_of_rows_uses_the_exact_count():
    """Budgets, the coverage-centric cut, quantile bands and label noise agree on 0.58 of 25 = 15."""
    scores = np.arange(25, dtype=np.float64)
    ds = Dataset.from_dict({"score": scores, "label": [i % 2 for i in range(25)]})
    assert len(TopKPruner(k=0.58).select_indices(ds)) == 15
    assert len(QuantileBandPruner(band=(0.0, 0.58)).select_indices(ds)) == 15
    kept = CoverageCentricPruner(k=0.4, beta=0.58, num_strata=1).select_indices(ds)  # cut the 15 hardest
    assert len(kept) == 10 and max(kept) < 10
    _, flipped = flip_labels(ds, 0.58, seed=0)
    assert int(np.sum(flipped)) == 15
