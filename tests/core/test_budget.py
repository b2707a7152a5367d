"""The one budget rule shared by every pruner."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dprune import InvalidParameterError, resolve_budget


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
