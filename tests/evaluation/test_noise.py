"""Label flipping: exact, seeded, recorded, and a dataset of its own in the store."""

from __future__ import annotations

import json

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, Features, Value

from dprune.core.fingerprint import dataset_fingerprint
from dprune.evaluation.noise import CLEAN_LABEL_COLUMN, FLIPPED_COLUMN, flip_labels, write_noisy_dataset
from dprune.core.params import InvalidParameterError
from dprune.pruners.random_sampling import RandomPruner
from dprune.stages import load_stage
from dprune.store import ArtifactStore


def _dataset(n=101, labels=("neg", "pos", "mixed")):
    return Dataset.from_dict({"row_id": np.arange(100, 100 + n), "text": [f"t{i}" for i in range(n)],
                              "label": [labels[i % len(labels)] for i in range(n)]})


def test_flips_exactly_the_rounded_fraction_to_another_class_and_records_it():
    data = _dataset()
    noisy, flipped = flip_labels(data, 0.25, seed=3)
    assert flipped.sum() == 25  # round(0.25 * 101) = 25.25 -> 25
    assert noisy[FLIPPED_COLUMN] == flipped.tolist()
    assert noisy[CLEAN_LABEL_COLUMN] == data["label"]
    changed = np.array(noisy["label"]) != np.array(data["label"])
    assert np.array_equal(changed, flipped), "exactly the flipped rows change label"
    assert set(noisy["label"]) <= {"neg", "pos", "mixed"}
    assert data.column_names == ["row_id", "text", "label"], "the input is not modified"


def test_flip_is_seeded_and_moves_labels_to_every_other_class():
    data = _dataset(n=3000)
    first, mask = flip_labels(data, 0.5, seed=1)
    again, mask_again = flip_labels(data, 0.5, seed=1)
    other, mask_other = flip_labels(data, 0.5, seed=2)
    assert np.array_equal(mask, mask_again) and first["label"] == again["label"]
    assert not np.array_equal(mask, mask_other)
    pairs = {(a, b) for a, b, f in zip(data["label"], first["label"], mask) if f}
    assert pairs == {(a, b) for a in ("neg", "pos", "mixed") for b in ("neg", "pos", "mixed") if a != b}


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_flipped_rows_are_independent_of_a_random_pruner_with_the_same_seed(seed):
    _, flipped = flip_labels(_dataset(n=5000), 0.2, seed=seed)
    kept = RandomPruner(k=0.1, seed=seed).fit_indices(_dataset(n=5000))
    assert 0.15 < flipped[kept].mean() < 0.25


def test_class_label_feature_is_kept_and_zero_noise_flips_nothing():
    features = Features({"text": Value("string"), "label": ClassLabel(names=["bad", "good"])})
    data = Dataset.from_dict({"text": ["a", "b", "c", "d"], "label": [0, 1, 1, 0]}, features=features)
    noisy, flipped = flip_labels(data, 0.5, seed=0)
    assert noisy.features["label"] == data.features["label"] == noisy.features[CLEAN_LABEL_COLUMN]
    assert flipped.sum() == 2
    assert [a != b for a, b in zip(noisy[CLEAN_LABEL_COLUMN], noisy["label"])] == flipped.tolist()
    untouched, none = flip_labels(data, 0.0)
    assert not none.any() and untouched["label"] == data["label"]


@pytest.mark.parametrize("fraction", [1.0, -0.1, 1.5, True, "0.2"])
def test_bad_fraction_names_the_parameter(fraction):
    with pytest.raises(InvalidParameterError, match=r"The 'fraction' parameter of flip_labels must be a number in \[0, 1\)"):
        flip_labels(_dataset(), fraction)


def test_missing_label_column_and_double_flip_are_refused():
    with pytest.raises(KeyError, match="label column 'stars'"):
        flip_labels(_dataset(), 0.1, label_column="stars")
    noisy, _ = flip_labels(_dataset(), 0.1)
    with pytest.raises(ValueError, match="already flipped"):
        flip_labels(noisy, 0.1)


def test_written_noisy_dataset_gets_its_own_store_key_and_a_record(tmp_path):
    data = _dataset()
    paths = write_noisy_dataset(data, tmp_path / "noisy", fraction=0.2, seed=5)
    record = json.loads(paths.record.read_text())
    assert record["flipped"] == 20 and record["seed"] == 5 and record["id_column"] == "row_id"
    noisy = Dataset.from_parquet(str(paths.parquet))
    assert sorted(record["flipped_ids"]) == sorted(np.array(noisy["row_id"])[noisy[FLIPPED_COLUMN]].tolist())
    store = ArtifactStore(str(tmp_path / "store"))
    clean_ref, noisy_ref = load_stage(store, data), load_stage(store, str(paths.parquet))
    assert clean_ref.key != noisy_ref.key
    again = write_noisy_dataset(data, tmp_path / "again", fraction=0.2, seed=5)
    assert dataset_fingerprint(Dataset.from_parquet(str(again.parquet))) == dataset_fingerprint(noisy)
