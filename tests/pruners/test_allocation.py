"""Largest-remainder and coverage-centric allocation, grouping and sampling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dprune.pruners.allocation import (
    allocate,
    allocate_smallest_first,
    group_positions,
    largest_remainder,
    sample_groups,
)
from pruner_cases import PROPERTY

sizes_lists = st.lists(st.integers(0, 50), min_size=1, max_size=12).filter(lambda s: sum(s) > 0)


def test_largest_remainder_classic_example():
    # Quotas 4.29, 2.14, 0.57 (total 7): floors 4, 2, 0 and the leftover to the largest remainder.
    assert largest_remainder(7, [60, 30, 8]) == [4, 2, 1]
    assert largest_remainder(3, [1, 1, 1, 1]) == [1, 1, 1, 0]  # equal remainders: lower index first


def test_largest_remainder_rejects_zero_weights():
    with pytest.raises(ValueError, match="sum to 0"):
        largest_remainder(2, [0, 0])
    assert largest_remainder(0, [0, 0]) == [0, 0]


@PROPERTY
@given(st.integers(0, 200), st.lists(st.integers(0, 100), min_size=1, max_size=10).filter(lambda w: sum(w) > 0))
def test_largest_remainder_sums_and_stays_within_one_of_quota(total, weights):
    counts = largest_remainder(total, weights)
    assert sum(counts) == total
    for count, weight in zip(counts, weights):
        quota = total * weight / sum(weights)
        assert quota - 1 < count < quota + 1


@PROPERTY
@given(sizes_lists, st.data())
def test_allocate_is_exact_within_capacity_and_covers_groups(sizes, data):
    budget = data.draw(st.integers(0, sum(sizes)))
    counts = allocate(budget, sizes, sizes, minimum=1)
    assert sum(counts) == budget
    assert all(0 <= c <= s for c, s in zip(counts, sizes))
    if budget >= sum(1 for s in sizes if s):
        assert all(c >= 1 for c, s in zip(counts, sizes) if s)


@PROPERTY
@given(sizes_lists, st.data())
def test_allocate_equal_weights_redistributes_short_groups(sizes, data):
    budget = data.draw(st.integers(0, sum(sizes)))
    counts = allocate(budget, [1] * len(sizes), sizes)
    assert sum(counts) == budget
    # A group below the even share is full: its leftover went to the others.
    top = max(counts)
    assert all(c == s or c >= top - 1 for c, s in zip(counts, sizes))


def test_allocate_is_proportional_when_quotas_exceed_the_minimum():
    assert allocate(10, [900, 100], [900, 100], minimum=1) == [9, 1]
    assert allocate(10, [1000, 1], [1000, 1], minimum=1) == [9, 1]
    assert allocate(1, [1000, 1], [1000, 1], minimum=1) == [1, 0]  # budget too small for the floor


def test_allocate_fills_a_short_group_and_shares_its_leftover():
    # Quotas 5/5 but the second group holds only 2 rows.
    assert allocate(10, [1, 1], [20, 2]) == [8, 2]
    # Quotas 4.5, 2.7, 1.8; the 1.7 the second group cannot give is shared 50:20.
    assert allocate(9, [50, 30, 20], [50, 1, 50]) == [6, 1, 2]


def test_allocate_rejects_an_impossible_budget():
    with pytest.raises(ValueError, match="hold only 3"):
        allocate(4, [1, 2], [1, 2])


def test_smallest_first_matches_the_ccs_algorithm():
    # Budget 12 over sizes 2, 5, 30: 2 is kept whole, then 10 // 2 = 5, then the rest.
    assert allocate_smallest_first(12, [30, 2, 5]) == [5, 2, 5]
    assert allocate_smallest_first(9, [3, 3, 3]) == [3, 3, 3]
    assert allocate_smallest_first(4, [0, 10, 10]) == [0, 2, 2]


@PROPERTY
@given(sizes_lists, st.data())
def test_smallest_first_is_exact_and_even_for_large_groups(sizes, data):
    budget = data.draw(st.integers(0, sum(sizes)))
    counts = allocate_smallest_first(budget, sizes)
    assert sum(counts) == budget
    assert all(0 <= c <= s for c, s in zip(counts, sizes))
    partial = [c for c, s in zip(counts, sizes) if c < s]
    if partial:  # groups not kept whole get within one row of each other, and no less than full ones
        assert max(partial) - min(partial) <= 1
        assert all(c <= min(partial) + 1 for c, s in zip(counts, sizes) if c == s)


def test_group_positions_and_sampling():
    codes = np.array([2, 0, 2, 1, 0, 2], dtype=np.uint8)
    groups = group_positions(codes, 4)
    assert [g.tolist() for g in groups] == [[1, 4], [3], [0, 2, 5], []]
    drawn = sample_groups(groups, [1, 1, 2, 0], np.random.default_rng(0))
    assert drawn.size == 4 and len(set(drawn.tolist())) == 4
    assert set(drawn.tolist()) & {1, 4} and 3 in drawn.tolist()
    again = sample_groups(groups, [1, 1, 2, 0], np.random.default_rng(0))
    assert np.array_equal(drawn, again)
    assert sample_groups(groups, [0, 0, 0, 0], np.random.default_rng(0)).size == 0
