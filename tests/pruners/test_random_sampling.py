"""RandomPruner: exact budget, seeds, independence from scores."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dprune import resolve_budget
from dprune.pruners import RandomPruner
from pruner_cases import PROPERTY, budgets, score_arrays, scored_dataset


@PROPERTY
@given(score_arrays(nan=True), budgets, st.integers(0, 2**32))
def test_exact_unique_sorted_and_seeded(scores, k, seed):
    kept = RandomPruner(k=k, seed=seed).select_from_scores(np.zeros(scores.size))
    assert kept.size == resolve_budget(k, scores.size)
    assert np.all(np.diff(kept) > 0) and kept.min() >= 0 and kept.max() < scores.size
    assert np.array_equal(kept, RandomPruner(k=k, seed=seed).select_from_scores(np.zeros(scores.size)))


def test_ignores_scores_and_needs_no_score_column():
    data = scored_dataset(np.linspace(0, 1, 50)).remove_columns("score")
    pruner = RandomPruner(k=10)
    assert pruner.required_columns() == []
    assert len(pruner.prune(data)) == 10
    with_nan = scored_dataset([np.nan] * 50)
    assert RandomPruner(k=10).prune(with_nan)["row_id"] == pruner.prune(data)["row_id"]


def test_default_seed_is_42_and_seeds_change_the_sample():
    assert RandomPruner(k=1).seed == 42
    data = scored_dataset(np.zeros(200))
    a = RandomPruner(k=20, seed=1).prune(data)["row_id"]
    b = RandomPruner(k=20, seed=2).prune(data)["row_id"]
    assert a != b


def test_seed_none_is_allowed():
    assert len(RandomPruner(k=3, seed=None).prune(scored_dataset(np.zeros(10)))) == 3


def test_uniform_draw():
    hits = np.zeros(20)
    for seed in range(400):
        hits[RandomPruner(k=5, seed=seed).select_from_scores(np.zeros(20))] += 1
    assert hits.min() > 60 and hits.max() < 140  # expected 100 each
