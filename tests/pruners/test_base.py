"""ScorePruner bookkeeping: NaN policy, output order, score reading, row ids, stable argsort."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset
from hypothesis import given
from hypothesis import strategies as st

from dprune import resolve_budget
from dprune.pruners import BottomKPruner, QuantileBandPruner, ThresholdPruner, TopKPruner, selected_row_ids
from dprune.pruners.base import order_keys, stable_argsort
from pruner_cases import PROPERTY, SLOW_PROPERTY, score_arrays, scored_dataset


# ---------------------------------------------------------------- NaN policy
def test_nan_raise_names_column_and_count():
    data = scored_dataset([0.1, np.nan, 0.3, np.nan])
    with pytest.raises(ValueError, match=r"2 NaN value\(s\) in score column 'score' \(of 4 rows\)"):
        TopKPruner(k=2).prune(data)


def test_nan_drop_never_keeps_nan_and_resolves_fraction_on_scored_rows():
    data = scored_dataset([np.nan, 0.5, 0.2, np.nan, 0.9, 0.1])
    kept = TopKPruner(k=0.5, nan_policy="drop").prune(data)
    assert kept["score"] == [0.9, 0.5]  # half of the 4 scored rows
    assert len(TopKPruner(k=10, nan_policy="drop").prune(data)) == 4


def test_nan_last_fills_the_budget_after_every_score():
    data = scored_dataset([np.nan, 0.5, 0.2, np.nan, 0.9])
    pruner = TopKPruner(k=4, nan_policy="last")
    pruner.prune(data)
    assert pruner.selected_indices_.tolist() == [4, 1, 2, 0]
    pruner = BottomKPruner(k=4, nan_policy="last", order="original")
    pruner.prune(data)
    assert pruner.selected_indices_.tolist() == [0, 1, 2, 4]


def test_all_nan_with_drop_raises():
    with pytest.raises(ValueError, match="only NaN"):
        TopKPruner(k=1, nan_policy="drop").prune(scored_dataset([np.nan, np.nan]))
    assert len(TopKPruner(k=1, nan_policy="last").prune(scored_dataset([np.nan, np.nan]))) == 1


def test_budgetless_pruners_leave_nan_out():
    data = scored_dataset([np.nan, 0.5, 0.2])
    assert ThresholdPruner(low=0.0, nan_policy="last").prune(data)["score"] == [0.5, 0.2]
    assert QuantileBandPruner(band=(0.0, 1.0), nan_policy="drop").prune(data)["score"] == [0.5, 0.2]


def test_infinities_are_valid_extremes():
    data = scored_dataset([1.0, np.inf, -np.inf, 0.0])
    assert TopKPruner(k=1).prune(data)["score"] == [np.inf]
    assert BottomKPruner(k=1).prune(data)["score"] == [-np.inf]


# ---------------------------------------------------------------- reading scores
def test_integer_and_bool_scores_are_accepted():
    data = Dataset.from_dict({"score": [3, 1, 2], "flag": [True, False, True]})
    assert TopKPruner(k=2).prune(data)["score"] == [3, 2]
    assert len(TopKPruner(k=2, score_column="flag").prune(data)) == 2


def test_non_numeric_scores_are_rejected_with_the_column_name():
    data = Dataset.from_dict({"score": ["a", "b"]})
    with pytest.raises(TypeError, match="numeric scores in column 'score'"):
        TopKPruner(k=1).prune(data)


def test_missing_score_column_is_named():
    with pytest.raises(KeyError, match="ppl"):
        TopKPruner(k=1, score_column="ppl").prune(scored_dataset([1.0]))


def test_scores_follow_an_existing_index_mapping():
    data = scored_dataset([0.1, 0.9, 0.5, 0.7]).select([3, 2, 1])
    kept = TopKPruner(k=2).prune(data)
    assert kept["row_id"] == [101, 103]


def test_input_dataset_is_not_modified():
    data = scored_dataset([0.3, 0.1, 0.2])
    before = data.to_dict()
    TopKPruner(k=1).prune(data)
    assert data.to_dict() == before


# ---------------------------------------------------------------- row ids
def test_selected_row_ids_maps_positions_to_ids():
    data = scored_dataset([0.3, 0.9, 0.1, 0.5])
    pruner = TopKPruner(k=2)
    pruner.prune(data)
    assert selected_row_ids(data, pruner).tolist() == [101, 103]
    assert selected_row_ids(data, [0, 2]).tolist() == [100, 102]
    assert selected_row_ids(data.remove_columns("row_id"), pruner).tolist() == [1, 3]
    assert selected_row_ids(data, pruner, id_column=None).tolist() == [1, 3]


def test_selected_row_ids_of_an_unfitted_pruner_raises():
    with pytest.raises(ValueError, match="prune"):
        selected_row_ids(scored_dataset([1.0]), TopKPruner(k=1))


# ---------------------------------------------------------------- stable argsort
@PROPERTY
@given(score_arrays(max_size=80), st.booleans())
def test_stable_argsort_matches_lexsort(values, descending):
    order, new_value = stable_argsort(values, descending=descending, return_runs=True)
    key = -values if descending else values
    expected = np.lexsort((np.arange(values.size), key + 0.0))
    assert np.array_equal(order, expected)
    ranked = values[order]
    assert np.array_equal(new_value, np.concatenate([[True], ranked[1:] != ranked[:-1]]))


@PROPERTY
@given(st.lists(st.integers(0, 300), min_size=1, max_size=300), st.booleans())
def test_stable_argsort_orders_values_that_differ_in_the_last_bits(steps, descending):
    # Distinct values whose truncated keys collide exercise the exact second pass.
    values = 1.0 + np.asarray(steps) * 2.0**-52
    order, new_value = stable_argsort(values, descending=descending, return_runs=True)
    expected = np.lexsort((np.arange(values.size), -values if descending else values))
    assert np.array_equal(order, expected)
    assert new_value.sum() == np.unique(values).size


@PROPERTY
@given(st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=50))
def test_stable_argsort_on_integers(values):
    values = np.asarray(values, dtype=np.int64)
    assert np.array_equal(stable_argsort(values), np.argsort(values, kind="stable"))


def test_order_keys_preserve_float_order_and_merge_signed_zeros():
    values = np.array([-np.inf, -1e308, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1.0, 1e308, np.inf])
    keys = order_keys(values)
    assert np.all(keys[1:] >= keys[:-1])
    assert keys[4] == keys[5]
    assert np.count_nonzero(keys[1:] == keys[:-1]) == 1


# ---------------------------------------------------------------- every registered pruner
def _all_instances():
    from components_pruners import PRUNER_FACTORIES  # tests/ (test_common checks it covers the registry)

    return [pruner for name in sorted(PRUNER_FACTORIES) for pruner in PRUNER_FACTORIES[name]()]


@SLOW_PROPERTY
@given(score_arrays(min_size=1, max_size=40), st.data())
def test_every_pruner_is_exact_unique_and_deterministic(scores, data):
    labels = data.draw(st.lists(st.integers(0, 2), min_size=scores.size, max_size=scores.size))
    texts = [f"review {i}: the film was fine and the cast did well" for i in range(scores.size)]
    dataset = scored_dataset(scores, labels).remove_columns("other").add_column("text", texts)
    fingerprint = dataset._fingerprint
    for pruner in _all_instances():
        kept = pruner.fit_indices(dataset)
        assert np.unique(kept).size == kept.size, pruner
        assert kept.size == 0 or (kept.min() >= 0 and kept.max() < scores.size), pruner
        k = pruner.get_params().get("k")
        if k is not None:
            assert kept.size == resolve_budget(k, scores.size), pruner
        assert np.array_equal(kept, pruner.clone().fit_indices(dataset)), pruner
        if pruner.get_params().get("order") == "original":
            assert np.all(np.diff(kept) > 0), pruner
    assert dataset._fingerprint == fingerprint


@PROPERTY
@given(score_arrays(nan=True), st.one_of(st.integers(1, 80), st.floats(0.01, 1.0)), st.sampled_from(["drop", "last"]))
def test_nan_policies_keep_exact_budgets(scores, k, policy):
    nan = np.isnan(scores)
    if policy == "drop" and nan.all():
        return
    for pruner in (TopKPruner(k=k, nan_policy=policy), BottomKPruner(k=k, nan_policy=policy, order="original")):
        kept = pruner.select_from_scores(scores)
        scored = int(np.count_nonzero(~nan))
        if policy == "drop":
            assert kept.size == resolve_budget(k, scored) and not nan[kept].any()
        else:
            assert kept.size == resolve_budget(k, scores.size)
            assert np.count_nonzero(nan[kept]) == max(0, kept.size - scored)
        assert np.unique(kept).size == kept.size
