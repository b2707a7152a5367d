"""ClassBalancedPruner: exact totals, class mix, redistribution, any inner pruner."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from datasets import Dataset
from hypothesis import given
from hypothesis import strategies as st

from dprune import InvalidParameterError, resolve_budget
from dprune.core.base import Pruner
from dprune.pruners import (
    BottomKPruner,
    ClassBalancedPruner,
    CombinedScorePruner,
    CoverageCentricPruner,
    RandomPruner,
    StratifiedPruner,
    TopKPruner,
)
from pruner_cases import SLOW_PROPERTY, budgets, score_arrays, scored_dataset

inner_pruners = st.sampled_from(
    [TopKPruner(k=1), BottomKPruner(k=1), RandomPruner(k=1, seed=5), StratifiedPruner(k=1, num_strata=3), CoverageCentricPruner(k=1, beta=0.2, num_strata=3)]
)


@SLOW_PROPERTY
@given(score_arrays(min_size=1, max_size=50), st.data(), budgets, inner_pruners, st.sampled_from(["proportional", "equal"]))
def test_exact_total_and_class_coverage(scores, data, k, inner, mode):
    labels = data.draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=scores.size, max_size=scores.size))
    dataset = scored_dataset(scores, labels)
    pruner = ClassBalancedPruner(inner, k=k, mode=mode)
    kept = pruner.fit_indices(dataset)
    assert kept.size == resolve_budget(k, scores.size)
    assert np.all(np.diff(kept) > 0)
    assert np.array_equal(kept, pruner.clone().fit_indices(dataset))
    counts = Counter(labels[i] for i in kept)
    sizes = Counter(labels)
    if kept.size >= len(sizes):
        assert set(counts) == set(sizes)
    if mode == "proportional":
        for label, size in sizes.items():
            assert abs(counts[label] - kept.size * size / len(labels)) < 1 + (kept.size >= len(sizes))


def test_proportional_and_equal_mixes():
    labels = [0] * 80 + [1] * 20
    data = scored_dataset(np.arange(100.0), labels)
    kept = ClassBalancedPruner(TopKPruner(k=1), k=10).prune(data)
    assert Counter(kept["label"]) == {0: 8, 1: 2}
    assert sorted(kept["score"]) == [72.0, 73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0, 98.0, 99.0]
    kept = ClassBalancedPruner(TopKPruner(k=1), k=10, mode="equal").prune(data)
    assert Counter(kept["label"]) == {0: 5, 1: 5}


def test_short_class_gives_its_leftover_to_the_others():
    labels = [0] * 50 + [1] * 2
    data = scored_dataset(np.arange(52.0), labels)
    kept = ClassBalancedPruner(RandomPruner(k=1), k=20, mode="equal").prune(data)
    assert Counter(kept["label"]) == {0: 18, 1: 2}


def test_nan_dropped_rows_reduce_a_class_capacity():
    scores = np.r_[np.arange(6.0), [np.nan] * 3, 1.0]
    data = scored_dataset(scores, [0] * 6 + [1] * 4)
    kept = ClassBalancedPruner(TopKPruner(k=1, nan_policy="drop"), k=6, mode="equal").prune(data)
    assert len(kept) == 6 and not np.isnan(kept["score"]).any()
    assert Counter(kept["label"]) == {0: 5, 1: 1}
    with pytest.raises(ValueError, match=r"3 NaN value\(s\) in score column 'score' \(of 10 rows\)"):
        ClassBalancedPruner(TopKPruner(k=1), k=6).prune(data)


def test_random_classes_get_independent_streams():
    labels = [0, 1] * 100
    data = scored_dataset(np.zeros(200), labels)
    kept = ClassBalancedPruner(RandomPruner(k=1, seed=0), k=20).fit_indices(data)
    zero = sorted(i // 2 for i in kept if i % 2 == 0)
    one = sorted(i // 2 for i in kept if i % 2 == 1)
    assert zero != one


class FirstRowsPruner(Pruner):
    """A custom pruner (not a ScorePruner): keeps the first k rows."""

    def __init__(self, k=1):
        self.k = k

    def select_indices(self, dataset, **kwargs):
        return np.arange(min(self.k, len(dataset)))


def test_custom_pruners_run_on_each_class():
    labels = ["x", "y"] * 5
    data = scored_dataset(np.arange(10.0), labels)
    kept = ClassBalancedPruner(FirstRowsPruner(), k=4).prune(data)
    assert kept["row_id"] == [100, 101, 102, 103]


def test_wraps_a_combined_score_pruner():
    data = scored_dataset(np.arange(10.0), [0] * 5 + [1] * 5)
    pruner = ClassBalancedPruner(CombinedScorePruner(TopKPruner(k=1), ["score", "other"], weights=[1.0, 0.5]), k=4)
    kept = pruner.prune(data)
    assert sorted(kept["score"]) == [3.0, 4.0, 8.0, 9.0]


def test_inner_parameters_are_validated_and_required_columns_merged():
    with pytest.raises(InvalidParameterError, match="'order' parameter of TopKPruner"):
        ClassBalancedPruner(TopKPruner(k=1, order="up"), k=2).prune(scored_dataset([1.0, 2.0]))
    pruner = ClassBalancedPruner(TopKPruner(k=1, score_column="ppl"), k=2, label_column="y")
    assert pruner.required_columns() == ["y", "ppl"]


def test_missing_labels_are_reported():
    data = Dataset.from_dict({"label": [1, None, 2], "score": [0.1, 0.2, 0.3]})
    with pytest.raises(ValueError, match="1 missing label"):
        ClassBalancedPruner(TopKPruner(k=1), k=2).prune(data)
