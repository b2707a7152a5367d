"""StratifiedPruner and CoverageCentricPruner: strata, allocation, coverage, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dprune import resolve_budget
from dprune.pruners import CoverageCentricPruner, StratifiedPruner, assign_strata
from pruner_cases import PROPERTY, budgets, score_arrays, scored_dataset

methods = st.sampled_from(["quantile", "width"])


# ---------------------------------------------------------------- strata
def test_width_strata_are_equal_width_and_put_infinities_at_the_ends():
    scores = np.array([0.0, 0.1, 0.5, 0.99, 1.0, -np.inf, np.inf])
    assert assign_strata(scores, 4, "width").tolist() == [0, 0, 2, 3, 3, 0, 3]
    assert assign_strata(np.array([2.0, 2.0, np.inf]), 3, "width").tolist() == [0, 0, 2]
    assert assign_strata(np.array([-1e308, 1e308]), 2, "width").tolist() == [0, 1]
    assert assign_strata(np.array([0.0, 5e-324, 1e-323]), 2, "width").tolist() == [0, 1, 1]


def test_quantile_strata_have_equal_counts_and_keep_ties_together():
    codes = assign_strata(np.arange(100.0)[::-1], 4, "quantile")
    assert np.bincount(codes).tolist() == [25, 25, 25, 25]
    tied = assign_strata(np.array([1.0] * 8 + [2.0, 3.0]), 5, "quantile")
    assert len(set(tied[:8].tolist())) == 1


@PROPERTY
@given(score_arrays(), st.integers(1, 12), methods)
def test_strata_codes_are_in_range_and_monotone(scores, num_strata, method):
    codes = assign_strata(scores, num_strata, method).astype(np.int64)
    assert codes.min() >= 0 and codes.max() < num_strata
    order = np.argsort(scores, kind="stable")
    assert np.all(np.diff(codes[order]) >= 0)


# ---------------------------------------------------------------- StratifiedPruner
@PROPERTY
@given(score_arrays(), budgets, st.integers(1, 8), methods, st.integers(0, 1000))
def test_stratified_exact_deterministic_and_covers_every_stratum(scores, k, num_strata, method, seed):
    pruner = StratifiedPruner(k=k, num_strata=num_strata, strata=method, seed=seed)
    kept = pruner.select_from_scores(scores)
    assert kept.size == resolve_budget(k, scores.size)
    assert np.all(np.diff(kept) > 0) and kept.max() < scores.size
    assert np.array_equal(kept, StratifiedPruner(k=k, num_strata=num_strata, strata=method, seed=seed).select_from_scores(scores))
    codes = assign_strata(scores, num_strata, method)
    present = set(codes.tolist())
    if kept.size >= len(present):
        assert set(codes[kept].tolist()) == present


def test_stratified_is_proportional():
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0, 1, 900), rng.normal(100, 1, 100)])
    kept = StratifiedPruner(k=100, num_strata=2, strata="width").select_from_scores(scores)
    assert np.count_nonzero(kept >= 900) == 10


def test_stratified_seeds_change_the_draw_but_not_the_counts():
    scores = np.arange(1000.0)
    a = StratifiedPruner(k=100, seed=1).select_from_scores(scores)
    b = StratifiedPruner(k=100, seed=2).select_from_scores(scores)
    assert not np.array_equal(a, b)
    assert np.array_equal(np.bincount(a // 100), np.bincount(b // 100))


def test_stratified_order_score_sorts_ascending():
    data = scored_dataset(np.random.default_rng(3).random(40))
    kept = StratifiedPruner(k=10, order="score").prune(data)["score"]
    assert kept == sorted(kept)


# ---------------------------------------------------------------- CoverageCentricPruner
@PROPERTY
@given(score_arrays(), budgets, st.floats(0, 0.99), st.integers(1, 8), st.sampled_from(["high", "low"]))
def test_ccs_exact_and_deterministic(scores, k, beta, num_strata, hardest):
    pruner = CoverageCentricPruner(k=k, beta=beta, num_strata=num_strata, hardest=hardest)
    kept = pruner.select_from_scores(scores)
    assert kept.size == resolve_budget(k, scores.size)
    assert np.unique(kept).size == kept.size and kept.max() < scores.size
    assert np.array_equal(kept, pruner.clone().select_from_scores(scores))


def test_ccs_drops_the_hardest_fraction_first():
    scores = np.arange(100.0)
    kept = CoverageCentricPruner(k=50, beta=0.2).select_from_scores(scores)
    assert kept.max() < 80
    kept = CoverageCentricPruner(k=50, beta=0.2, hardest="low").select_from_scores(scores)
    assert kept.min() >= 20


def test_ccs_cut_never_prevents_the_budget():
    kept = CoverageCentricPruner(k=90, beta=0.5).select_from_scores(np.arange(100.0))
    assert kept.size == 90 and kept.max() < 90


def test_ccs_favours_small_strata():
    # 990 easy rows in one stratum, 10 rare ones in another: CCS keeps all the rare rows.
    scores = np.concatenate([np.zeros(990), np.ones(10)])
    kept = CoverageCentricPruner(k=40, num_strata=2).select_from_scores(scores)
    assert np.count_nonzero(kept >= 990) == 10
    stratified = StratifiedPruner(k=40, num_strata=2, strata="width").select_from_scores(scores)
    assert np.count_nonzero(stratified >= 990) == 1  # its proportional share (0.4, raised to one row)


@pytest.mark.parametrize("pruner", [StratifiedPruner(k=3), CoverageCentricPruner(k=3, beta=0.5)])
def test_one_row_and_tiny_budgets(pruner):
    assert len(pruner.prune(scored_dataset([0.5]))) == 1
