"""combine_scores and CombinedScorePruner."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dprune import InvalidParameterError, resolve_budget
from dprune.pruners import BottomKPruner, CombinedScorePruner, QuantileBandPruner, StratifiedPruner, TopKPruner, combine_scores
from dprune.pruners.combine import normalized_ranks, zscores
from pruner_cases import SLOW_PROPERTY, budgets, score_arrays, scored_dataset


def test_normalized_ranks_share_ties_and_keep_nan():
    ranks = normalized_ranks(np.array([10.0, np.nan, -1.0, 10.0, 3.0]))
    np.testing.assert_allclose(ranks, [5 / 6, np.nan, 0.0, 5 / 6, 1 / 3])
    assert normalized_ranks(np.array([7.0])).tolist() == [0.5]


def test_zscores_keep_infinities_and_handle_constants():
    np.testing.assert_allclose(zscores(np.array([1.0, 3.0, np.inf])), [-1.0, 1.0, np.inf])
    assert zscores(np.array([2.0, 2.0])).tolist() == [0.0, 0.0]


def test_combine_rank_mean_with_weights_and_flips():
    data = scored_dataset([1.0, 2.0, 3.0])  # "other" is 2, 1, 0
    np.testing.assert_allclose(combine_scores(data, ["score", "other"]), [0.5, 0.5, 0.5])
    np.testing.assert_allclose(combine_scores(data, ["score", "other"], weights=[1.0, -1.0]), [-0.5, 0.0, 0.5])
    np.testing.assert_allclose(combine_scores(data, ["score"], method="zscore"), zscores(np.array([1.0, 2.0, 3.0])))


def test_nan_in_any_column_gives_nan():
    data = scored_dataset([1.0, np.nan, 3.0])
    combined = combine_scores(data, ["score", "other"])
    assert np.isnan(combined[1]) and not np.isnan(combined[[0, 2]]).any()
    with pytest.raises(ValueError, match=r"1 row\(s\) \(of 3\) with a NaN in one of the score columns \['score', 'other'\]"):
        CombinedScorePruner(TopKPruner(k=1), ["score", "other"]).prune(data)
    kept = CombinedScorePruner(TopKPruner(k=5, nan_policy="drop"), ["score", "other"]).prune(data)
    assert kept["row_id"] == [100, 102]


@SLOW_PROPERTY
@given(score_arrays(min_size=1, max_size=40), budgets, st.sampled_from(["rank_mean", "zscore"]))
def test_combined_pruner_exact_and_equal_to_inner_on_combined_scores(scores, k, method):
    data = scored_dataset(scores)
    combined = combine_scores(data, ["score", "other"], method=method)
    inner = TopKPruner(k=k, nan_policy="drop")
    pruner = CombinedScorePruner(inner, ["score", "other"], method=method)
    kept = pruner.fit_indices(data)
    assert np.array_equal(kept, inner.select_from_scores(combined))
    if not np.isnan(combined).any():
        assert kept.size == resolve_budget(k, scores.size)


def test_any_score_pruner_can_be_wrapped():
    data = scored_dataset(np.arange(20.0))
    assert len(CombinedScorePruner(StratifiedPruner(k=5), ["score", "other"], method="zscore", weights=[2, 1]).prune(data)) == 5
    assert len(CombinedScorePruner(QuantileBandPruner(band="head"), ["score"]).prune(data)) == 7
    assert CombinedScorePruner(BottomKPruner(k=2), ["score"]).prune(data)["score"] == [0.0, 1.0]


def test_parameters_are_checked():
    data = scored_dataset([1.0, 2.0])
    with pytest.raises(InvalidParameterError, match=r"'weights' parameter of CombinedScorePruner must have one weight per score column \(2\)"):
        CombinedScorePruner(TopKPruner(k=1), ["score", "other"], weights=[1.0]).prune(data)
    with pytest.raises(InvalidParameterError, match="'weights' parameter"):
        CombinedScorePruner(TopKPruner(k=1), ["score"], weights=[0.0]).prune(data)
    with pytest.raises(InvalidParameterError, match="'score_columns' parameter"):
        CombinedScorePruner(TopKPruner(k=1), ["score", "score"]).prune(data)
    with pytest.raises(InvalidParameterError, match="'k' parameter of TopKPruner"):
        CombinedScorePruner(TopKPruner(k=0), ["score"]).prune(data)
    assert CombinedScorePruner(TopKPruner(k=1), ("score", "other")).required_columns() == ["score", "other"]
