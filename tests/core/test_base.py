"""The Scorer/Pruner contracts, including custom components written the original dPrune way."""

import random

import numpy as np
import pytest
from datasets import Dataset

from dprune import InvalidParameterError, Pruner, PruningPipeline, Scorer
from dprune.core.base import column_to_numpy, with_column
from dprune.core.params import Interval


# --- The original README's custom components, unchanged -------------------------------------
class RandomScorer(Scorer):
    def score(self, dataset: Dataset, **kwargs) -> Dataset:
        scores = [random.random() for _ in range(len(dataset))]
        return dataset.add_column("score", scores)


class ThresholdPruner(Pruner):
    def __init__(self, threshold: float):
        self.threshold = threshold

    def prune(self, scored_dataset: Dataset, **kwargs) -> Dataset:
        indices_to_keep = [i for i, score in enumerate(scored_dataset['score']) if score > self.threshold]
        return scored_dataset.select(indices_to_keep)
# ---------------------------------------------------------------------------------------------


class LengthScorer(Scorer):
    """A hook-style scorer: one method, the base does the rest."""

    _parameter_constraints = {"scale": [Interval("real", 0, None, closed="neither")]}

    def __init__(self, text_column="text", scale=1.0, score_column="score"):
        self.text_column = text_column
        self.scale = scale
        self.score_column = score_column

    def required_columns(self):
        return [self.text_column]

    def compute_scores(self, dataset, **kwargs):
        return np.array([len(t) * self.scale for t in dataset[self.text_column]])


@pytest.fixture
def texts():
    return Dataset.from_dict({"text": ["A great movie!", "Waste of time.", "Amazing.", "So predictable."]})


def test_original_custom_components_run_unchanged(texts):
    random.seed(0)
    pruned = PruningPipeline(scorer=RandomScorer(), pruner=ThresholdPruner(threshold=0.5)).run(texts)
    scores = RandomScorer().score(texts)["score"]
    assert len(scores) == 4
    assert all(s > 0.5 for s in pruned["score"])
    assert set(pruned["text"]) <= set(texts["text"])


def test_hook_scorer_adds_float_column_without_mutating_input(texts):
    scored = LengthScorer().score(texts)
    assert texts.column_names == ["text"]
    assert scored["score"] == [float(len(t)) for t in texts["text"]]
    assert scored.features["score"].dtype == "float64"


def test_rerunning_a_scorer_replaces_its_own_column(texts):
    once = LengthScorer().score(texts)
    twice = LengthScorer(scale=2.0).score(once)
    assert twice.column_names == ["text", "score"]
    assert twice["score"] == [2.0 * s for s in once["score"]]


def test_several_scorers_coexist_under_their_own_columns(texts):
    scored = LengthScorer(score_column="length").score(LengthScorer(scale=0.5, score_column="half").score(texts))
    assert scored.column_names == ["text", "half", "length"]


def test_missing_column_names_the_column_and_the_fix(texts):
    with pytest.raises(KeyError, match=r"review.*\['text'\].*text_column|review"):
        LengthScorer(text_column="review").score(texts)
    with pytest.raises(ValueError) as caught:  # what the original dPrune raised
        LengthScorer(text_column="review").score(texts)
    assert str(caught.value).startswith("LengthScorer needs column(s) ['review']")


def test_empty_dataset_is_rejected(texts):
    with pytest.raises(ValueError, match="empty dataset"):
        LengthScorer().score(texts.select([]))


def test_invalid_parameter_message_shape(texts):
    with pytest.raises(InvalidParameterError) as info:
        LengthScorer(scale=-1).score(texts)
    assert str(info.value) == (
        "The 'scale' parameter of LengthScorer must be a number > 0. Got -1 instead."
    )


def test_non_dataset_input_is_a_type_error():
    with pytest.raises(TypeError, match="datasets.Dataset"):
        LengthScorer().score({"text": ["a"]})


def test_get_params_set_params_and_clone():
    scorer = LengthScorer(scale=3.0)
    assert scorer.get_params() == {"text_column": "text", "scale": 3.0, "score_column": "score"}
    clone = scorer.clone().set_params(scale=4.0)
    assert scorer.scale == 3.0 and clone.scale == 4.0
    with pytest.raises(ValueError, match="no parameter 'scal'"):
        scorer.set_params(scal=1)


def test_config_is_sensitive_to_version():
    before = LengthScorer().config()

    class LengthScorerV2(LengthScorer):
        version = 2

    assert LengthScorerV2().config()["version"] == 2 != before["version"]


def test_column_to_numpy_honours_select_mapping():
    ds = Dataset.from_dict({"a": [10, 11, 12, 13]}).select([3, 1])
    assert column_to_numpy(ds, "a").tolist() == [13, 11]


def test_with_column_replaces_existing_column():
    ds = Dataset.from_dict({"a": [1, 2], "s": [0.0, 0.0]})
    out = with_column(ds, "s", np.array([5.0, 6.0]))
    assert out["s"] == [5.0, 6.0] and ds["s"] == [0.0, 0.0]


def test_pipeline_type_checks():
    with pytest.raises(TypeError, match="scorer must be an instance of Scorer"):
        PruningPipeline(scorer="nope", pruner=ThresholdPruner(0.5))
    with pytest.raises(TypeError, match="pruner must be an instance of Pruner"):
        PruningPipeline(scorer=RandomScorer(), pruner=object())


def test_pipeline_runs_several_scorers(texts):
    class KeepAll(Pruner):
        def select_indices(self, dataset, **kwargs):
            return np.arange(len(dataset))

    out = PruningPipeline([LengthScorer(score_column="a"), LengthScorer(score_column="b")], KeepAll()).run(texts)
    assert out.column_names == ["text", "b", "a"] or set(out.column_names) == {"text", "a", "b"}
    assert len(out) == 4


def test_pruner_hook_out_of_range_is_caught(texts):
    class Broken(Pruner):
        def select_indices(self, dataset, **kwargs):
            return np.array([0, 99])

    with pytest.raises(RuntimeError, match="out-of-range"):
        Broken().prune(texts)
