"""The main flow on a real (temporary) Prefect server: cached stages, re-prune, reuse-only, CLI parsing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import Dataset, load_from_disk

from dprune.store import ArtifactStore

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from flows.prune import parse_args, prune  # noqa: E402

TEXTS = [
    "a touching story about family", "the plot is thin and the jokes are stale",
    "a marvel of craft and feeling", "boring from start to finish",
    "warm funny and smart", "an ugly mess of a film", "beautifully acted drama",
    "dull dull dull", "a crowd pleaser with heart", "nothing works here",
    "a moving and clever film", "the script is awful",
]
SCORERS = [{"name": "kmeans_centroid_distance", "params": {"num_clusters": 2, "score_column": "dist"}}]


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "reviews.parquet"
    Dataset.from_dict({"text": TEXTS, "label": [i % 2 for i in range(len(TEXTS))]}).to_parquet(str(path))
    return str(path)


def _run(data_file, store, output, pruner, **extra):
    return prune(dataset=data_file, scorers=SCORERS, pruner=pruner, store=store, output=output, **extra)


def test_flow_writes_outputs_and_reprune_reuses_scores(prefect_server, data_file, tmp_path):
    store_root = str(tmp_path / "store")
    first = _run(data_file, store_root, str(tmp_path / "out1"), {"name": "top_k", "params": {"k": 0.5, "score_column": "dist"}})
    outputs = first["outputs"]
    kept = load_from_disk(outputs["dataset_dir"])
    assert len(kept) == 6 and "dist" in kept.column_names
    manifest = json.loads(Path(outputs["kept_ids"]).read_text())
    assert sorted(manifest["kept_row_ids"]) == sorted(kept["row_id"])
    assert Path(outputs["parquet"]).stat().st_size > 0

    store = ArtifactStore(store_root)
    score_manifest = store.manifest(store.ref("scores", first["scores"][0]["key"]))
    second = _run(data_file, store_root, str(tmp_path / "out2"), {"name": "bottom_k", "params": {"k": 3, "score_column": "dist"}})
    assert second["scores"] == first["scores"], "changing the pruner must reuse the cached scores"
    assert store.manifest(store.ref("scores", second["scores"][0]["key"]))["created"] == score_manifest["created"]
    assert second["selection"] != first["selection"]
    assert len(load_from_disk(second["outputs"]["dataset_dir"])) == 3


def test_reuse_only_fails_naming_the_missing_scores(prefect_server, data_file, tmp_path):
    with pytest.raises(Exception, match="not in the store"):
        _run(data_file, str(tmp_path / "empty-store"), str(tmp_path / "out"), {"name": "top_k", "params": {"k": 0.5, "score_column": "dist"}}, reuse_only=True)


def test_cli_flags_override_config(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("dataset: rotten_tomatoes\npruner: {name: top_k, params: {k: 0.2}}\nstore: /tmp/a\n")
    params = parse_args(["--config", str(config), "--pruner", "bottom_k:k=3,score_column=s", "--scorer", "kmeans_centroid_distance:num_clusters=4"])
    assert params["dataset"] == "rotten_tomatoes" and params["store"] == "/tmp/a"
    assert params["pruner"] == {"name": "bottom_k", "params": {"k": 3, "score_column": "s"}}
    assert isinstance(params["pruner"]["params"]["k"], int)
    assert params["scorers"] == [{"name": "kmeans_centroid_distance", "params": {"num_clusters": 4}}]


@pytest.mark.slow
def test_python_flows_prune_runs_as_a_script(data_file, tmp_path):
    """`python flows/prune.py` as a user runs it (its own temporary Prefect server)."""
    command = [
        sys.executable, str(REPO / "flows" / "prune.py"), "--dataset", data_file,
        "--scorer", "kmeans_centroid_distance:num_clusters=2,score_column=dist",
        "--pruner", "top_k:k=4,score_column=dist",
        "--store", str(tmp_path / "store"), "--output", str(tmp_path / "out"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(load_from_disk(str(tmp_path / "out" / "pruned_dataset"))) == 4
