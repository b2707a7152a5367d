"""Stage ``report`` and ``scores.parquet``: every row of a stored selection, by name, with the rule that dropped it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import ClassLabel, Dataset

from dprune.cli import main
from dprune.stages import export_stage, load_stage, prune_stage, report_stage
from dprune.stages.report import REPORT, selection_table_of
from dprune.store import ArtifactStore

from report_tables import page_data


@pytest.fixture
def pruned(tmp_path):
    texts = [f"review number {i}" for i in range(12)]
    data = Dataset.from_dict({"text": texts, "label": [i % 2 for i in range(12)]})
    data.cast_column("label", ClassLabel(names=["rotten", "fresh"])).to_parquet(str(tmp_path / "reviews.parquet"))
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, str(tmp_path / "reviews.parquet"))
    assert store.manifest(dataset_ref)["meta"]["label_mapping"] == {"kind": "class_label", "values": ["rotten", "fresh"]}
    row_ids = store.read_table(dataset_ref).column("row_id")
    perplexity = np.array([5, 900, 40, 60, 1e4, 30, 20, np.nan, 70, 80, 15, 3000.0])
    scores_ref = store.write_table("scores", "p" * 32, pa.table({"row_id": row_ids, "perplexity": perplexity,
                                                                  "cluster_id": np.arange(12) % 3}),
                                   parents=[dataset_ref], config={"test": "perplexity"})
    pruner = {"name": "threshold", "params": {"high": 100.0, "score_column": "perplexity", "nan_policy": "drop"}}
    selection_ref = prune_stage(store, dataset_ref, [scores_ref], pruner)
    return store, dataset_ref, scores_ref, selection_ref, perplexity


def test_scores_parquet_holds_every_row_with_names_cluster_kept_and_rule(pruned, tmp_path):
    store, dataset_ref, scores_ref, selection_ref, perplexity = pruned
    paths = export_stage(store, dataset_ref, [scores_ref], selection_ref, tmp_path / "out")
    table = pq.read_table(paths.scores)
    assert table.column_names == ["row_id", "label", "perplexity", "cluster", "kept", "dropped_by"]
    assert table.num_rows == 12 and table.column("label").to_pylist()[:2] == ["rotten", "fresh"]
    kept = table.column("kept").to_pylist()
    assert kept == [bool(v <= 100) for v in np.nan_to_num(perplexity, nan=1e9)]
    rules = dict(zip(table.column("row_id").to_pylist(), table.column("dropped_by").to_pylist()))
    ids = table.column("row_id").to_pylist()
    assert rules[ids[1]] == "perplexity > 100" and rules[ids[7]] == "perplexity is NaN" and rules[ids[0]] is None
    assert len(pq.read_table(paths.parquet)) == sum(kept)

    cli_file = tmp_path / "cli-scores.parquet"
    assert main(["scores", "--root", store.root, "--selection", selection_ref.name, "-o", str(cli_file)]) == 0
    assert pq.read_table(cli_file).to_pandas().equals(table.to_pandas())  # NaN counts as equal here


def test_report_is_stored_per_selection_and_rebuilt_from_the_store_alone(pruned, tmp_path, capsys):
    store, dataset_ref, scores_ref, selection_ref, _ = pruned
    first = report_stage(store, dataset_ref, [scores_ref], selection_ref, tmp_path / "report")
    data = page_data(first.html)
    assert data["rows"] == 12 and set(data["sample"]["label"]) == {"rotten", "fresh"}
    assert {r["rule"] for r in data["summary"]["by_rule"]} == {"perplexity > 100", "perplexity is NaN"}
    assert first.summary["kept"] == 8 and {e["group"] for e in first.summary["by_class"]} == {"rotten", "fresh"}
    reports = [a for a in store.ls() if a["stage"] == REPORT.name]
    assert len(reports) == 1

    assert main(["report", "--root", store.root, "--selection", selection_ref.key, "-o", str(tmp_path / "again")]) == 0
    assert "kept 8 of 12 rows" in capsys.readouterr().out
    assert (tmp_path / "again" / "report.html").read_bytes() == first.html.read_bytes()
    assert [a for a in store.ls() if a["stage"] == REPORT.name] == reports, "the stored report is reused"


def test_a_new_page_template_draws_a_new_report(pruned, tmp_path, monkeypatch):
    import dprune.stages.report as stage

    store, dataset_ref, scores_ref, selection_ref, _ = pruned
    report_stage(store, dataset_ref, [scores_ref], selection_ref, tmp_path / "a")
    monkeypatch.setattr(stage, "page_identity", lambda: "another-template")
    report_stage(store, dataset_ref, [scores_ref], selection_ref, tmp_path / "b")
    assert len([a for a in store.ls() if a["stage"] == REPORT.name]) == 2


def test_a_selection_is_required(pruned, capsys):
    store, dataset_ref, _, _, _ = pruned
    assert main(["scores", "--root", store.root, "--selection", dataset_ref.name]) == 1
    assert "is not a selection" in capsys.readouterr().err
    with pytest.raises(ValueError, match="is not a selection"):
        selection_table_of(store, dataset_ref)
