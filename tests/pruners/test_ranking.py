"""TopKPruner and BottomKPruner: exact budgets, monotonicity, ties, order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from dprune import InvalidParameterError, resolve_budget
from dprune.pruners import BottomKPruner, TopKPruner
from dprune.pruners.ranking import largest_positions, smallest_positions
from pruner_cases import PROPERTY, budgets, score_arrays, scored_dataset


@PROPERTY
@given(score_arrays(), budgets)
def test_top_k_exact_monotone_deterministic(scores, k):
    pruner = TopKPruner(k=k)
    kept = pruner.select_from_scores(scores)
    n = scores.size
    assert kept.size == resolve_budget(k, n)
    assert np.unique(kept).size == kept.size and kept.min() >= 0 and kept.max() < n
    dropped = np.setdiff1d(np.arange(n), kept)
    if dropped.size:
        assert scores[kept].min() >= scores[dropped].max()
    # Sorted by score, highest first, ties by row position.
    assert np.array_equal(kept, np.lexsort((np.arange(n), -scores))[: kept.size])
    assert np.array_equal(kept, TopKPruner(k=k).select_from_scores(scores.copy()))


@PROPERTY
@given(score_arrays(), budgets)
def test_bottom_k_exact_monotone_original_order(scores, k):
    kept = BottomKPruner(k=k, order="original").select_from_scores(scores)
    n = scores.size
    assert kept.size == resolve_budget(k, n)
    assert np.all(np.diff(kept) > 0)
    dropped = np.setdiff1d(np.arange(n), kept)
    if dropped.size:
        assert scores[kept].max() <= scores[dropped].min()
    assert set(kept.tolist()) == set(np.lexsort((np.arange(n), scores))[: kept.size].tolist())


def test_ties_at_the_cut_go_to_earlier_rows():
    scores = np.array([1.0, 2.0, 2.0, 2.0, 0.0])
    assert TopKPruner(k=2).select_from_scores(scores).tolist() == [1, 2]
    assert BottomKPruner(k=2).select_from_scores(scores).tolist() == [4, 0]
    assert largest_positions(scores, 3).tolist() == [1, 2, 3]
    assert smallest_positions(scores, 0).size == 0


def test_budget_rule_count_fraction_and_overflow():
    data = scored_dataset([0.5, 0.1, 0.9, 0.3])
    assert len(TopKPruner(k=1).prune(data)) == 1
    assert len(TopKPruner(k=1.0).prune(data)) == 4
    assert len(TopKPruner(k=0.5).prune(data)) == 2
    assert len(TopKPruner(k=99).prune(data)) == 4


def test_default_order_is_by_score_like_the_original():
    data = scored_dataset([0.5, 0.1, 0.9, 0.3])
    assert TopKPruner(k=3).prune(data)["score"] == [0.9, 0.5, 0.3]
    assert BottomKPruner(k=3).prune(data)["score"] == [0.1, 0.3, 0.5]
    assert TopKPruner(k=3, order="original").prune(data)["score"] == [0.5, 0.9, 0.3]


@pytest.mark.parametrize("k", [True, 0, -1, 0.0, 1.5, float("nan"), "0.5", None])
def test_invalid_budgets_are_rejected_with_the_standard_message(k):
    with pytest.raises(InvalidParameterError, match=r"The 'k' parameter of TopKPruner must be a float in \(0, 1\] or an int >= 1\. Got"):
        TopKPruner(k=k).prune(scored_dataset([0.1, 0.2]))


def test_constructor_stores_parameters_unchanged_and_validates_late():
    pruner = TopKPruner(k="bad", order="nope")
    assert pruner.get_params() == {"k": "bad", "score_column": "score", "nan_policy": "raise", "order": "nope"}
