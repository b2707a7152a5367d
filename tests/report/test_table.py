"""The all-rows selection table: every row, label names, kept flag, drop rule; ``scores.parquet`` content."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import ClassLabel, Dataset

from dprune.core.base import MissingColumnError
from dprune.data.labels import LabelMapping
from dprune.report import scores_table, selection_table


def _dataset(n=6):
    data = Dataset.from_dict({
        "row_id": np.arange(100, 100 + n), "text": [f"t{i}" for i in range(n)], "label": [i % 3 for i in range(n)],
        "cluster_id": [i % 2 for i in range(n)], "perplexity": np.linspace(1, 60, n), "aum": np.linspace(-1, 1, n),
        "audio": [f"/clips/{i}.wav" for i in range(n)],
    })
    return data.cast_column("label", ClassLabel(names=["neg", "neu", "pos"]))


def test_table_holds_every_row_with_label_names_kept_flag_and_scores():
    table = selection_table(_dataset(), [1, 4])
    assert table.column_names == ["row_id", "text", "label", "perplexity", "aum", "cluster", "kept", "audio"]
    assert table.column("row_id").to_pylist() == list(range(100, 106))
    assert table.column("label").to_pylist() == ["neg", "neu", "pos"] * 2
    assert table.column("kept").to_pylist() == [False, True, False, False, True, False]
    assert table.column("perplexity").to_pylist()[-1] == 60.0
    assert scores_table(table).column_names == ["row_id", "label", "perplexity", "aum", "cluster", "kept"]


def test_recorded_mapping_names_integer_labels_and_rules_only_mark_dropped_rows():
    data = _dataset().cast_column("label", Dataset.from_dict({"x": [0]}).features["x"])  # plain ints now
    mapping = LabelMapping("int", (0, 1, 2))
    assert selection_table(data, [0]).column("label").to_pylist()[:3] == ["0", "1", "2"]
    names = LabelMapping("class_label", ("neg", "neu", "pos"))
    rules = ["perplexity > 50"] * 6
    table = selection_table(data, [0, 5], label_mapping=names, dropped_by=rules)
    assert table.column("label").to_pylist()[:3] == ["neg", "neu", "pos"]
    assert table.column("dropped_by").to_pylist() == [None] + ["perplexity > 50"] * 4 + [None]
    with pytest.raises(ValueError, match="not a class id"):
        selection_table(data, [0], label_mapping=LabelMapping("int", (0, 1)))
    assert mapping.decode([2, None]) == ["2", None]


def test_bad_input_is_named_before_any_work():
    data = _dataset()
    with pytest.raises(MissingColumnError, match="label_column='gold'"):
        selection_table(data, [0], label_column="gold")
    with pytest.raises(ValueError, match=r"positions must lie in \[0, 6\)"):
        selection_table(data, [6])
    with pytest.raises(ValueError, match="one entry per row"):
        selection_table(data, [0], dropped_by=["x"])
    with pytest.raises(ValueError, match="duplicates"):
        selection_table(data.map(lambda r: {"row_id": 1}), [0])
    with pytest.raises(ValueError, match="clashes"):
        selection_table(data.rename_column("aum", "kept"), [0], score_columns=["kept"])


def test_score_values_read_already_are_the_table_columns_themselves():
    data = _dataset()
    values = {"perplexity": np.linspace(1, 60, 6), "aum": np.linspace(-1, 1, 6)}
    table = selection_table(data, [1, 4], score_values=values)
    assert table.equals(selection_table(data, [1, 4]))
    assert np.shares_memory(table.column("perplexity").chunk(0).to_numpy(), values["perplexity"])
    with pytest.raises(ValueError, match=r"score_values\['aum'\] holds 5 values for a dataset of 6 rows"):
        selection_table(data, [0], score_values={"aum": np.zeros(5)})


def test_repeated_row_ids_are_refused_whatever_their_type():
    data = _dataset().remove_columns("row_id")
    for ids in ([10, 11, 12, 13, 14, 15], ["a", "b", "c", "d", "e", "f"]):
        assert selection_table(data.add_column("row_id", ids), [0]).num_rows == 6
        repeated = ids[:5] + ids[2:3]  # the third id twice
        with pytest.raises(ValueError, match="duplicates"):
            selection_table(data.add_column("row_id", repeated), [0])
