"""The dynamics table format, its reductions and alignment by row id (dprune.dynamics.records)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch
from datasets import ClassLabel, Dataset, Features, Value

from dprune.dynamics.records import Dynamics, batch_dynamics, data_map_regions, dynamics_schema
from dprune.data.labels import LabelMapping
from dprune.store import ArtifactStore


def make_dynamics(correct_by_example: dict, *, seed: int = 0, labels: dict | None = None, prob=None,
                  id_column: str | None = "row_id", n_examples: int | None = None, mapping=None) -> Dynamics:
    """Dynamics with one presentation per epoch: ``correct_by_example[row_id] = [0/1 per epoch]``."""
    rows = {f: [] for f in dynamics_schema().names}
    for position, (row_id, sequence) in enumerate(correct_by_example.items()):
        for epoch, ok in enumerate(sequence):
            label = (labels or {}).get(row_id, 0)
            p = prob(row_id, epoch) if prob else (0.9 if ok else 0.2)
            rows["seed"].append(seed)
            rows["epoch"].append(epoch)
            rows["step"].append(epoch * 10 + position)
            rows["position"].append(position)
            rows["row_id"].append(row_id)
            rows["label"].append(label)
            rows["pred"].append(label if ok else 1 - label)
            rows["correct"].append(bool(ok))
            rows["prob"].append(p)
            rows["margin"].append(np.log(p / (1 - p)))
            rows["loss"].append(-np.log(p))
            rows["el2n"].append(np.sqrt(2) * (1 - p))
            rows["phase"].append("train")
    meta = {"num_labels": 2, "id_column": id_column, "n_examples": n_examples or len(correct_by_example),
            "label_mapping": mapping, "source": "test"}
    return Dynamics.from_columns(rows, meta)


# ---------------------------------------------------------------- batch statistics
def test_batch_dynamics_matches_the_definitions():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.2, 3.0]])
    labels = torch.tensor([0, 1])
    stats = batch_dynamics(logits, labels)
    probs = torch.softmax(logits, -1)
    assert stats["pred"].tolist() == [0, 2]
    assert stats["correct"].tolist() == [True, False]
    torch.testing.assert_close(stats["prob"], probs[[0, 1], [0, 1]])
    torch.testing.assert_close(stats["margin"], torch.tensor([2.0 - 0.0, 0.2 - 3.0]))
    torch.testing.assert_close(stats["loss"], torch.nn.functional.cross_entropy(logits, labels, reduction="none"))
    onehot = torch.nn.functional.one_hot(labels, 3).float()
    torch.testing.assert_close(stats["el2n"], (probs - onehot).norm(dim=-1))
    assert not any(t.requires_grad for t in stats.values())


# ---------------------------------------------------------------- forgetting
def test_forgetting_counts_learned_to_forgotten_transitions():
    dyn = make_dynamics({10: [1, 0, 1, 0], 11: [1, 1, 1, 1], 12: [0, 1, 1, 1], 13: [0, 0, 0, 0], 14: [1, 0, 0, 1]})
    events = dict(zip(dyn.example_ids().tolist(), dyn.forgetting_events(never_learned="zero").tolist()))
    assert events == {10: 2.0, 11: 0.0, 12: 0.0, 13: 0.0, 14: 1.0}


def test_never_learned_examples_rank_above_every_learned_one():
    dyn = make_dynamics({10: [1, 0, 1, 0], 11: [1, 1, 1, 1], 13: [0, 0, 0, 0]})
    events = dict(zip(dyn.example_ids().tolist(), dyn.forgetting_events().tolist()))
    assert events[13] > events[10] > events[11]
    assert events[13] == 3.0  # one more than the largest observed count
    assert dyn.never_learned().tolist() == [0.0, 0.0, 1.0]


def test_forgetting_uses_presentation_order_not_table_order():
    dyn = make_dynamics({10: [1, 0, 1]})
    shuffled = Dynamics(dyn.table.take([2, 0, 1]), dyn.meta)
    assert shuffled.forgetting_events().tolist() == [1.0]


def test_reductions_average_over_seeds():
    a = make_dynamics({10: [1, 0], 11: [0, 0]}, seed=0)
    b = make_dynamics({10: [1, 1], 11: [0, 1]}, seed=1)
    both = Dynamics.concat([a, b])
    assert both.seeds == [0, 1]
    np.testing.assert_allclose(both.forgetting_events(never_learned="zero"), [0.5, 0.0])
    # example 11 never learned in seed 0 (ceiling 2 = max count 1 + 1), 0 events in seed 1
    np.testing.assert_allclose(both.forgetting_events(), [0.5, 1.0])
    np.testing.assert_allclose(both.mean("correct"), [0.75, 0.25])


def test_confidence_variability_and_epoch_selection():
    probs = {10: [0.2, 0.4, 0.9], 11: [0.5, 0.5, 0.5]}
    dyn = make_dynamics({10: [0, 0, 1], 11: [1, 1, 1]}, prob=lambda r, e: probs[r][e])
    np.testing.assert_allclose(dyn.mean("prob"), [0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(dyn.std("prob"), [np.std(probs[10]), 0.0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dyn.mean("prob", epochs=[2]), [0.9, 0.5], rtol=1e-6)
    assert dyn.resolve_epoch(None) == 1 and dyn.resolve_epoch(-1) == 2
    with pytest.raises(ValueError, match="epochs \\[0, 1, 2\\]"):
        dyn.resolve_epoch(7)
    with pytest.raises(ValueError, match="Unknown dynamics field"):
        dyn.mean("accuracy")


def test_data_map_regions():
    confidence = np.array([0.9, 0.95, 0.1, 0.5, 0.2, 0.8])
    variability = np.array([0.05, 0.01, 0.02, 0.4, 0.03, 0.3])
    regions = data_map_regions(confidence, variability, fraction=1 / 3)
    assert regions.tolist() == [
        "easy-to-learn", "easy-to-learn", "hard-to-learn", "ambiguous", "hard-to-learn", "ambiguous"
    ]
    with pytest.raises(ValueError):
        data_map_regions(confidence, variability[:3])


# ---------------------------------------------------------------- alignment
def test_align_matches_rows_by_id_in_any_order_and_subsets():
    dyn = make_dynamics({10: [1], 11: [0], 12: [1]}, labels={10: 0, 11: 1, 12: 0})
    ds = Dataset.from_dict({"row_id": [12, 10, 11, 12], "label": [0, 0, 1, 0]})
    index = dyn.align(ds)
    assert dyn.example_ids()[index].tolist() == [12, 10, 11, 12]
    assert dyn.align(ds.select([1])).tolist() == [0]


def test_align_rejects_rows_never_trained_on():
    dyn = make_dynamics({10: [1], 11: [0]})
    ds = Dataset.from_dict({"row_id": [10, 99], "label": [0, 0]})
    with pytest.raises(ValueError, match=r"1 of 2 rows have no training record.*\[99\]"):
        dyn.align(ds, owner="AUMScorer")


def test_align_rejects_a_dataset_with_the_same_ids_but_other_labels():
    dyn = make_dynamics({10: [1], 11: [0]}, labels={10: 0, 11: 1})
    ds = Dataset.from_dict({"row_id": [10, 11], "label": [0, 0]})
    with pytest.raises(ValueError, match="label different from the one they were trained with"):
        dyn.align(ds)
    assert dyn.align(ds, label_column=None).tolist() == [0, 1]


def test_align_uses_the_recorded_label_mapping():
    mapping = LabelMapping("str", ("neg", "pos")).to_dict()
    dyn = make_dynamics({10: [1], 11: [0]}, labels={10: 0, 11: 1}, mapping=mapping)
    assert dyn.align(Dataset.from_dict({"row_id": [11, 10], "label": ["pos", "neg"]})).tolist() == [1, 0]
    with pytest.raises(ValueError, match="labels do not match"):
        dyn.align(Dataset.from_dict({"row_id": [11, 10], "label": ["pos", "meh"]}))


def test_align_requires_the_id_column_when_trained_with_ids():
    dyn = make_dynamics({10: [1]})
    with pytest.raises(KeyError, match="row_id"):
        dyn.align(Dataset.from_dict({"text": ["a"]}))


def test_positional_dynamics_need_the_same_length():
    dyn = make_dynamics({0: [1], 1: [0], 2: [1]}, id_column=None)
    features = Features({"label": ClassLabel(names=["a", "b"])})
    assert dyn.align(Dataset.from_dict({"label": [0, 0, 0]}, features=features)).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="3 rows"):
        dyn.align(Dataset.from_dict({"label": [0, 0]}))


def test_align_reports_incomparable_id_types():
    dyn = make_dynamics({10: [1]})
    with pytest.raises(ValueError, match="cannot be compared"):
        dyn.align(Dataset.from_dict({"row_id": ["a"]}, features=Features({"row_id": Value("string")})))


# ---------------------------------------------------------------- persistence
def test_save_load_and_table_round_trip(tmp_path):
    dyn = make_dynamics({10: [1, 0], 11: [0, 1]})
    path = dyn.save(tmp_path / "dyn.parquet")
    loaded = Dynamics.load(path)
    assert loaded.table.equals(dyn.table) and loaded.meta == dyn.meta
    assert Dynamics.from_table(dyn.to_table()).dprune_identity() == dyn.dprune_identity()
    with pytest.raises(ValueError, match="no dynamics metadata"):
        Dynamics.from_table(dyn.table)
    with pytest.raises(FileNotFoundError, match="Dynamics.save"):
        Dynamics.load(tmp_path / "missing.parquet")


def test_store_round_trip(tmp_path):
    dyn = make_dynamics({10: [1, 0], 11: [0, 1]})
    store = ArtifactStore(tmp_path / "store")
    ref = store.write_table("dynamics", "k" * 32, dyn.table, config={}, meta={"dynamics": dyn.meta})
    again = Dynamics.from_store(store, ref)
    assert again.table.equals(dyn.table) and again.meta == dyn.meta


def test_identity_tracks_content():
    a = make_dynamics({10: [1, 0]})
    b = make_dynamics({10: [1, 1]})
    assert a.dprune_identity() == make_dynamics({10: [1, 0]}).dprune_identity()
    assert a.dprune_identity() != b.dprune_identity()


def test_concat_rejects_shared_seeds_and_other_labels():
    a = make_dynamics({10: [1]}, seed=0)
    with pytest.raises(ValueError, match="share seed"):
        Dynamics.concat([a, make_dynamics({10: [1]}, seed=0)])
    other = make_dynamics({10: [1]}, seed=1, mapping=LabelMapping("str", ("a", "b")).to_dict())
    with pytest.raises(ValueError, match="label_mapping"):
        Dynamics.concat([a, other])


def test_not_a_dynamics_table():
    with pytest.raises(ValueError, match="not a dynamics table"):
        Dynamics(pa.table({"x": [1]}), {})


def test_string_row_ids_are_supported():
    dyn = make_dynamics({"b": [1, 0], "a": [0, 0]})
    assert dyn.table.schema.field("row_id").type == pa.string()
    ds = Dataset.from_dict({"row_id": ["a", "b"], "label": [0, 0]})
    np.testing.assert_allclose(dyn.forgetting_events()[dyn.align(ds)], [2.0, 1.0])
