"""The main flow on a real (temporary) Prefect server: cached stages, re-prune, reuse-only, CLI parsing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_from_disk

from dprune.core.params import InvalidParameterError
from dprune.store import ArtifactStore, NotAStoreError, ReuseOnlyError

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from flows.prune import parse_args, prune  # noqa: E402

FAST = {"embedding": {"batch_size": 4, "shard_rows": 5}, "clustering": {"num_clusters": 2}, "perplexity": False,
        "dynamics": {"seeds": [0], "epochs": 3}}


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _run(reviews_file, store, output, pruner, **extra):
    return prune(dataset=reviews_file, store=store, output=output, pruner=pruner, **{**FAST, **extra})


def test_flow_writes_outputs_and_reprune_reuses_scores(prefect_server, reviews_file, tmp_path):
    store_root = str(tmp_path / "store")
    first = _run(reviews_file, store_root, str(tmp_path / "out1"), {"name": "top_k", "params": {"k": 0.5, "score_column": "kmeans_distance"}})
    outputs = first["outputs"]
    kept = load_from_disk(outputs["dataset_dir"])
    assert len(kept) == 6 and {"kmeans_distance", "cluster_id", "aum", "forgetting"} <= set(kept.column_names)
    manifest = json.loads(Path(outputs["kept_ids"]).read_text())
    assert sorted(manifest["kept_row_ids"]) == sorted(kept["row_id"])
    assert Path(outputs["report"]).exists() and Path(outputs["parquet"]).stat().st_size > 0
    from prefect.artifacts import Artifact

    figures = Artifact.get("dprune-report-figures")
    assert figures is not None and figures.data.count("data:image/png;base64,") == len(
        list(Path(outputs["report"]).parent.glob("*.png")))
    selection = Artifact.get("dprune-selection")
    assert selection is not None and "report.html" in selection.description
    assert Artifact.get("dprune-embed-shard-progress").data == 100.0
    assert Artifact.get("dprune-dynamics-progress").data == 100.0
    scores = pq.read_table(outputs["scores"])
    assert scores.num_rows == 12 and sum(scores.column("kept").to_pylist()) == 6
    assert {"row_id", "label", "kmeans_distance", "aum", "cluster", "kept"} <= set(scores.column_names)

    store = ArtifactStore(store_root)
    before = {(a["stage"], a["key"]): a["created"] for a in store.ls() if a["complete"]}
    second = _run(reviews_file, store_root, str(tmp_path / "out2"), {"name": "bottom_k", "params": {"k": 3, "score_column": "aum"}})
    after = {(a["stage"], a["key"]): a["created"] for a in store.ls() if a["complete"]}
    assert second["scores"] == first["scores"], "changing the pruner must reuse the cached scores"
    new = set(after) - set(before)
    assert sorted(stage for stage, _ in new) == ["report", "selection"], \
        f"only the prune stage (and the new selection's report) may run again, got {new}"
    assert all(after[k] == v for k, v in before.items()), "no cached artifact may be rewritten"
    assert len(load_from_disk(second["outputs"]["dataset_dir"])) == 3

    # The same selection again: its report is copied from the store, not drawn again.
    third = _run(reviews_file, store_root, str(tmp_path / "out2"), {"name": "bottom_k", "params": {"k": 3, "score_column": "aum"}})
    assert {(a["stage"], a["key"]) for a in store.ls() if a["complete"]} == set(after)
    assert Path(third["outputs"]["report"]).read_bytes() == Path(second["outputs"]["report"]).read_bytes()


def test_reuse_only_fails_naming_the_missing_stage(prefect_server, reviews_file, tmp_path):
    with pytest.raises(ReuseOnlyError, match=r"embeddings artifact .* is not in the store"):
        _run(reviews_file, str(tmp_path / "empty-store"), str(tmp_path / "out"),
             {"name": "top_k", "params": {"k": 0.5, "score_column": "kmeans_distance"}}, reuse_only=True)


def test_cli_flags_override_config(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("dataset: rotten_tomatoes\npruner: {name: top_k, params: {k: 0.2}}\nstore: /tmp/a\n")
    params, _ = parse_args(["--config", str(config), "--pruner", "bottom_k:k=3,score_column=s",
                            "--scorer", "cross_entropy:batch_size=4", "--clustering", "num_clusters=4", "--no-perplexity"])
    assert params["dataset"] == "rotten_tomatoes" and params["store"] == "/tmp/a"
    assert params["pruner"] == {"name": "bottom_k", "params": {"k": 3, "score_column": "s"}}
    assert isinstance(params["pruner"]["params"]["k"], int)
    assert params["scorers"] == [{"name": "cross_entropy", "params": {"batch_size": 4}}]
    assert params["clustering"] == {"num_clusters": 4} and params["perplexity"] is False
    assert "dynamics" not in params and "embedding" not in params
    assert "label_column" not in params, "no --label-column flag: the flow's default label column applies"
    assert "label_column" not in parse_args([])[0]
    assert parse_args(["--label-column", "none"])[0]["label_column"] is None


def test_cli_keeps_the_default_label_column_unless_told(tmp_path):
    assert "label_column" not in parse_args([])[0]  # the flow's default "label": dynamics stay on
    assert parse_args(["--label-column", "none"])[0]["label_column"] is None
    config = tmp_path / "c.yaml"
    config.write_text("label_column: none\n")
    assert parse_args(["--config", str(config)])[0]["label_column"] is None
    assert parse_args(["--config", str(config), "--label-column", "y"])[0]["label_column"] == "y"


@pytest.mark.parametrize("setting, message", [
    ({"clustering": {"num_cluster": 4}}, r"'clustering' parameter of prune has unknown option\(s\) \['num_cluster'\]"),
    ({"perplexity": {"odrer": 3}}, r"'perplexity' parameter of prune has unknown option\(s\) \['odrer'\]"),
    ({"pruner": {"name": "top_k", "params": {"k": 1.5}}}, r"'k' parameter of TopKPruner"),
    ({"scorers": [{"name": "no_such_scorer"}]}, r"no_such_scorer"),
    ({"perplexity": {"shard_rows": 0}}, r"'shard_rows' parameter of the perplexity stage of prune must be an int >= 1"),
])
def test_bad_settings_fail_before_any_work(prefect_server, reviews_file, tmp_path, setting, message):
    store = tmp_path / "store"
    options = {**FAST, "pruner": None, **setting}
    with pytest.raises((InvalidParameterError, KeyError, ValueError), match=message):
        prune(dataset=reviews_file, store=str(store), output=str(tmp_path / "out"), **options)
    assert not store.exists(), "nothing was loaded or scored"


def test_output_that_is_a_file_fails_before_any_work(prefect_server, reviews_file, tmp_path):
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(InvalidParameterError, match="'output' parameter of prune must be a folder"):
        _run(reviews_file, str(tmp_path / "store"), str(tmp_path / "out"), None)
    assert not (tmp_path / "store").exists()


def test_store_that_is_a_file_or_a_user_folder_fails_before_any_work(prefect_server, reviews_file, tmp_path):
    (tmp_path / "store.txt").write_text("not a folder")
    with pytest.raises(NotAStoreError, match="is a file"):
        _run(reviews_file, str(tmp_path / "store.txt"), str(tmp_path / "out"), None)
    (tmp_path / "home" / "photos").mkdir(parents=True)
    (tmp_path / "home" / "photos" / "beach.jpg").write_bytes(b"precious")
    with pytest.raises(NotAStoreError, match="not a dPrune store"):
        _run(reviews_file, str(tmp_path / "home"), str(tmp_path / "out"), None)
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["photos"]


@pytest.mark.parametrize("content, message", [(None, "no such file"), ("a: [1, 2\n", "not valid YAML"),
                                              ("- just\n- a list\n", "must hold a mapping")])
def test_bad_config_file_is_one_clear_line(tmp_path, content, message):
    config = tmp_path / "c.yaml"
    if content is not None:
        config.write_text(content)
    with pytest.raises(SystemExit, match=message):
        parse_args(["--config", str(config)])


@pytest.mark.slow
def test_python_flows_prune_runs_as_a_script(reviews_file, tmp_path):
    """`python flows/prune.py` as a user runs it (its own temporary Prefect server)."""
    command = [
        sys.executable, str(REPO / "flows" / "prune.py"), "--dataset", reviews_file,
        "--embedding", "batch_size=4", "--clustering", "num_clusters=2", "--no-dynamics",
        "--perplexity", "order=2,discount_fallback=true",
        "--store", str(tmp_path / "store"), "--output", str(tmp_path / "out"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Kept 6 of 12 rows with stratified" in done.stdout
    assert len(load_from_disk(str(tmp_path / "out" / "pruned_dataset"))) == 6


def test_flow_partial_finetune_dynamics_and_confident_learning(prefect_server, reviews_file, tmp_path):
    dynamics = {"method": "partial_finetune", "seeds": [0], "epochs": 2, "train_layers": 1, "batch_size": 4,
                "scores": ["aum", "el2n", "confident_learning"]}
    result = _run(reviews_file, str(tmp_path / "store"), str(tmp_path / "out"),
                  {"name": "top_k", "params": {"k": 0.5, "score_column": "confident_learning"}},
                  dynamics=dynamics, clustering=False)
    kept = load_from_disk(result["outputs"]["dataset_dir"])
    assert len(kept) == 6 and {"aum", "el2n", "confident_learning"} <= set(kept.column_names)
    stages = {a["stage"] for a in ArtifactStore(str(tmp_path / "store")).ls() if a["complete"]}
    assert {"hidden_states", "dynamics"} <= stages
    with pytest.raises(InvalidParameterError, match="unknown option"):
        _run(reviews_file, str(tmp_path / "store"), str(tmp_path / "out2"), None,
             dynamics={**dynamics, "train_layer": 1})
