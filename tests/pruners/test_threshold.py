"""ThresholdPruner and QuantileBandPruner: ranges without a budget."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dprune import InvalidParameterError
from dprune.pruners import QuantileBandPruner, ThresholdPruner, TopKPruner
from pruner_cases import PROPERTY, score_arrays, scored_dataset

bounds = st.one_of(st.none(), st.floats(-10, 10), st.sampled_from([-np.inf, np.inf]))


@PROPERTY
@given(score_arrays(), bounds, bounds, st.sampled_from(["both", "left", "right", "neither"]))
def test_threshold_keeps_exactly_the_rows_in_range(scores, low, high, inclusive):
    if low is not None and high is not None and high < low:
        low, high = high, low
    kept = ThresholdPruner(low=low, high=high, inclusive=inclusive).select_from_scores(scores)
    inside = np.ones(scores.size, dtype=bool)
    if low is not None:
        inside &= scores >= low if inclusive in ("both", "left") else scores > low
    if high is not None:
        inside &= scores <= high if inclusive in ("both", "right") else scores < high
    assert np.array_equal(kept, np.flatnonzero(inside))


@PROPERTY
@given(score_arrays(), bounds, bounds, st.sampled_from(["both", "left", "right", "neither"]))
def test_threshold_names_the_rule_of_exactly_the_rows_it_drops(scores, low, high, inclusive):
    if low is not None and high is not None and high < low:
        low, high = high, low
    pruner = ThresholdPruner(low=low, high=high, inclusive=inclusive, score_column="ppl", nan_policy="drop")
    rules = pruner.drop_rules(scored_dataset(scores).rename_column("score", "ppl"))
    kept = pruner.select_from_scores(scores)
    assert [i for i, rule in enumerate(rules) if rule is None] == sorted(kept.tolist())
    assert all(rule is None or rule.startswith("ppl ") for rule in rules)


def test_threshold_drop_rules_on_an_example():
    data = scored_dataset([0.5, 2.0, float("nan"), 9.0])
    rules = ThresholdPruner(low=1.0, high=5.0, inclusive="left").drop_rules(data)
    assert rules == ["score < 1", None, "score is NaN", "score >= 5"]
    assert TopKPruner(k=1).drop_rules(data) is None


def test_threshold_has_no_budget_and_may_keep_nothing():
    pruner = ThresholdPruner(low=5.0)
    assert "k" not in pruner.get_params()
    assert len(pruner.prune(scored_dataset([0.1, 0.2]))) == 0


def test_threshold_bounds_are_checked_together():
    with pytest.raises(InvalidParameterError, match=r"The 'high' parameter of ThresholdPruner must be >= low \(1\.0\)\. Got 0\.0 instead\."):
        ThresholdPruner(low=1.0, high=0.0).prune(scored_dataset([0.5]))


@PROPERTY
@given(score_arrays(), st.floats(0, 1), st.floats(0, 1))
def test_quantile_band_size_and_ranks(scores, a, b):
    low, high = min(a, b), max(a, b)
    if low == high:
        return
    kept = QuantileBandPruner(band=(low, high)).select_from_scores(scores)
    n = scores.size
    start, stop = int(np.floor(low * n + 0.5)), int(np.floor(high * n + 0.5))
    assert kept.size == stop - start
    ranked = np.lexsort((np.arange(n), scores))
    assert set(kept.tolist()) == set(ranked[start:stop].tolist())


@PROPERTY
@given(score_arrays(min_size=3))
def test_named_bands_partition_the_data(scores):
    parts = [QuantileBandPruner(band=name).select_from_scores(scores) for name in ("head", "middle", "tail")]
    together = np.concatenate(parts)
    assert np.array_equal(np.sort(together), np.arange(scores.size))
    assert scores[parts[0]].max() <= scores[parts[1]].min() if parts[1].size else True


def test_head_is_the_lowest_third():
    data = scored_dataset(np.arange(9.0)[::-1])
    assert sorted(QuantileBandPruner(band="head").prune(data)["score"]) == [0.0, 1.0, 2.0]
    assert QuantileBandPruner(band="tail", order="score").prune(data)["score"] == [6.0, 7.0, 8.0]


def test_band_accepts_lists_from_configs():
    assert len(QuantileBandPruner(band=[0, 0.5]).prune(scored_dataset(np.arange(10.0)))) == 5
