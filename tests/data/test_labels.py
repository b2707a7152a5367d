"""Label mapping and validation (dprune.data.labels)."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, Features, Value

from dprune.data.labels import LabelMapping, encode_labels


def test_int_labels_are_kept_and_num_labels_is_max_plus_one():
    ids, mapping = encode_labels(Dataset.from_dict({"label": [0, 2, 1, 2]}))
    assert ids.tolist() == [0, 2, 1, 2] and ids.dtype == np.int64
    assert mapping == LabelMapping("int", (0, 1, 2))


def test_string_labels_map_to_sorted_class_ids_and_round_trip():
    ds = Dataset.from_dict({"y": ["pos", "neg", "neutral", "pos"]})
    ids, mapping = encode_labels(ds, "y")
    assert mapping.values == ("neg", "neutral", "pos")
    assert ids.tolist() == [2, 0, 1, 2]
    again = LabelMapping.from_dict(mapping.to_dict())
    assert again == mapping
    assert again.encode(["neg", "pos"]).tolist() == [0, 2]


def test_class_label_keeps_ids_and_names():
    features = Features({"label": ClassLabel(names=["rotten", "fresh"])})
    ds = Dataset.from_dict({"label": [1, 0, 1]}, features=features)
    ids, mapping = encode_labels(ds)
    assert ids.tolist() == [1, 0, 1]
    assert mapping.kind == "class_label" and mapping.names == ["rotten", "fresh"]


def test_bool_and_whole_float_labels():
    ids, mapping = encode_labels([True, False, True])
    assert ids.tolist() == [1, 0, 1] and mapping.kind == "bool"
    ids, mapping = encode_labels(np.array([0.0, 1.0, 1.0]))
    assert ids.tolist() == [0, 1, 1] and mapping.kind == "int"


def test_missing_label_column_is_named():
    with pytest.raises(KeyError, match="'label'.*text"):
        encode_labels(Dataset.from_dict({"text": ["a", "b"]}))


def test_null_labels_are_reported_with_row_ids():
    ds = Dataset.from_dict({"label": [0, None, 1, None]}, features=Features({"label": Value("int64")}))
    with pytest.raises(ValueError, match=r"2 missing \(null\).*row ids \[11, 13\]"):
        encode_labels(ds, ids=np.array([10, 11, 12, 13]))


def test_negative_labels_get_the_unlabeled_hint():
    with pytest.raises(ValueError, match="unlabeled"):
        encode_labels(Dataset.from_dict({"label": [0, 1, -1]}))


def test_out_of_range_labels_against_num_labels():
    with pytest.raises(ValueError, match=r"0\.\.1.*values \[2\]"):
        encode_labels(Dataset.from_dict({"label": [0, 1, 2]}), num_labels=2)


def test_class_label_out_of_range_is_rejected():
    features = Features({"label": ClassLabel(names=["a", "b"])})
    ds = Dataset.from_dict({"label": [0, 1]}, features=features)
    ds = ds.cast_column("label", Value("int64")).map(lambda r: {"label": 5 if r["label"] else 0})
    ds = ds.cast_column("label", Value("int64"))
    with pytest.raises(ValueError, match="0..1"):
        encode_labels(ds, num_labels=2)


def test_single_class_is_rejected():
    with pytest.raises(ValueError, match="single class"):
        encode_labels(Dataset.from_dict({"label": ["pos", "pos"]}))


def test_non_integer_floats_look_like_regression():
    with pytest.raises(ValueError, match="regression"):
        encode_labels(np.array([0.5, 1.0]))


def test_unsupported_type_is_named():
    ds = Dataset.from_dict({"label": [[0], [1]]})
    with pytest.raises(ValueError, match="type"):
        encode_labels(ds)


def test_existing_mapping_rejects_unknown_values():
    mapping = LabelMapping("str", ("neg", "pos"))
    with pytest.raises(ValueError, match="'meh'"):
        encode_labels(["pos", "meh"], mapping=mapping)
    with pytest.raises(ValueError, match="outside the known classes"):
        encode_labels([0, 3], mapping=LabelMapping("int", (0, 1)))


def test_bad_mapping_kind():
    with pytest.raises(ValueError, match="kind"):
        LabelMapping("float", (0.0,))
