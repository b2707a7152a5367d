"""Downstream models: trained on exactly the given rows, tested on the test split, deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from dprune.data.loading import example_path
from dprune.evaluation.downstream import FineTunedClassifier, LinearProbe
from dprune.core.params import InvalidParameterError


def _blobs(n, seed, dim=8):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    features = rng.normal(size=(n, dim)).astype(np.float32) + np.where(labels[:, None] == 1, 1.5, -1.5)
    return features, labels


@pytest.fixture
def probe():
    x, y = _blobs(300, 0)
    x_test, y_test = _blobs(200, 1)
    return LinearProbe(x, y, x_test, y_test)


def test_probe_learns_separable_data_deterministically(probe):
    everything = np.arange(300)
    accuracy = probe.accuracy(everything)
    assert accuracy > 0.95
    assert probe.accuracy(everything, seed=7) == accuracy


def test_probe_trains_on_the_given_rows_only(probe):
    negatives = np.flatnonzero(probe.train_labels == 0)
    assert probe.accuracy(negatives) == pytest.approx(np.mean(probe.test_labels == 0))
    swapped = LinearProbe(probe.train_features, 1 - probe.train_labels, probe.test_features, probe.test_labels)
    assert swapped.accuracy(np.arange(300)) < 0.05, "labels of the kept rows drive the fit"


def test_probe_rejects_bad_input(probe):
    with pytest.raises(ValueError, match="non-empty 1-D array of training row positions"):
        probe.accuracy([])
    with pytest.raises(ValueError, match=r"in \[0, 300\)"):
        probe.accuracy([0, 300])
    with pytest.raises(ValueError, match="differ in width"):
        LinearProbe(np.zeros((4, 3)), [0, 1, 0, 1], np.zeros((2, 5)), [0, 1])
    with pytest.raises(InvalidParameterError, match=r"The 'l2' parameter of LinearProbe must be a number >= 0. Got -1"):
        LinearProbe(np.zeros((4, 3)), [0, 1, 0, 1], np.zeros((2, 3)), [0, 1], l2=-1)
    with pytest.raises(ValueError, match="class ids in"):
        LinearProbe(np.zeros((2, 3)), [0, 2], np.zeros((2, 3)), [0, 1], num_labels=2)


def test_fine_tuning_the_bundled_model_trains_on_the_kept_rows():
    train = Dataset.from_parquet(str(example_path("rotten_tomatoes", "train"))).select(range(16))
    test = Dataset.from_parquet(str(example_path("rotten_tomatoes", "test"))).select(range(16))
    model = FineTunedClassifier(train, np.array(train["label"]), test, np.array(test["label"]), num_labels=2,
                                epochs=1, batch_size=4, learning_rate=1e-3, max_length=32)
    for label in (0, 1):
        kept = np.flatnonzero(model.train_labels == label)[:8]
        share = np.mean(model.test_labels == label)
        assert model.accuracy(kept, seed=0) == pytest.approx(share), "trained on one class, it predicts that class"
