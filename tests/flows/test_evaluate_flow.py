"""The evaluation flow on a real (temporary) Prefect server with the bundled MiniLM, on a 300-row sample."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import Dataset

from dprune.core.outputs import LOCK_NAME, STAGING_PREFIX
from dprune.data.loading import example_path
from dprune.evaluation.methods import FULL_DATA, FULL_DATA_CLEAN, RANDOM
from dprune.core.params import InvalidParameterError
from dprune.store import ArtifactStore

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from flows.evaluate import evaluate, parse_args  # noqa: E402

FAST = {
    "embedding": {"batch_size": 32, "shard_rows": 128}, "clustering": {"num_clusters": 4}, "perplexity": False,
    "dynamics": {"method": "linear_probe", "seeds": [0, 1], "epochs": 10, "learning_rate": 0.01},
    "score_columns": ["aum", "kmeans_distance"], "pruners": ["top_k", "data_map_region"], "fractions": [0.3, 0.7],
}


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """300 training and 150 test rows of the bundled Rotten Tomatoes data, and the training rows unlabelled."""
    folder = tmp_path_factory.mktemp("sample")
    files = {}
    for split, rows in (("train", 300), ("test", 150)):
        data = Dataset.from_parquet(str(example_path("rotten_tomatoes", split))).shuffle(seed=0).select(range(rows))
        files[split] = str(folder / f"{split}.parquet")
        data.to_parquet(files[split])
    files["unlabelled"] = str(folder / "unlabelled.parquet")
    Dataset.from_parquet(files["train"]).remove_columns("label").to_parquet(files["unlabelled"])
    return files


def _run(sample, store, output, **extra):
    params = {"dataset": sample["train"], "test_dataset": sample["test"], "store": store, "output": output}
    return evaluate(**{**params, **FAST, **extra})


def _artifacts(store_root):
    return {(a["stage"], a["key"]): a["created"] for a in ArtifactStore(store_root).ls() if a["complete"]}


def test_evaluation_writes_results_and_a_rerun_recomputes_nothing(prefect_server, sample, tmp_path):
    store = str(tmp_path / "store")
    first = _run(sample, store, str(tmp_path / "out1"))
    table = pq.read_table(first["results"]["parquet"]).to_pylist()
    methods = ["top_k(aum)", "top_k(kmeans_distance)", "data_map_region"]
    assert first["methods"] == methods
    assert len(table) == 1 + 3 * 2 + len(methods) * 2, "full data, 3 random seeds and every method at 2 fractions"
    assert {(r["fraction"], r["kept"]) for r in table if r["method"] != FULL_DATA} == {(0.3, 90), (0.7, 210)}
    assert all(0 <= r["accuracy"] <= 1 and r["flipped_kept"] is None for r in table)
    assert {r["seed"] for r in table if r["method"] == RANDOM} == {0, 1, 2}
    markdown = Path(first["results"]["markdown"]).read_text()
    assert all(f"| {name} |" in markdown for name in methods + ["random"])
    assert Path(first["results"]["plot"]).read_bytes()[:4] == b"\x89PNG"
    out = tmp_path / "out1"  # written aside under the folder's lock, then moved into place
    assert {Path(path).parent for path in first["results"].values()} == {out}
    assert (out / LOCK_NAME).exists() and not any(p.name.startswith(STAGING_PREFIX) for p in out.iterdir())
    assert Path(first["prune"]["report"]).exists(), "the prune run inside the evaluation writes its report"

    before = _artifacts(store)
    assert {stage for stage, _ in before} >= {"dataset", "embeddings", "scores", "dynamics", "selection"}
    second = _run(sample, store, str(tmp_path / "out2"))
    assert _artifacts(store) == before, "a second run finds every score, embedding and selection in the store"
    assert pq.read_table(second["results"]["parquet"]).to_pylist() == table, "the evaluation is deterministic"


def test_label_noise_makes_its_own_dataset_and_dynamics_pruning_drops_flipped_labels(prefect_server, sample, tmp_path):
    store, output = str(tmp_path / "store"), tmp_path / "out"
    clean = _run(sample, store, str(tmp_path / "clean"), score_columns=["aum"], pruners=["top_k"], fractions=[0.7])
    noisy = _run(sample, store, str(output), noise=0.2, noise_seed=1, score_columns=["aum"], pruners=["top_k"],
                 fractions=[0.7])
    assert noisy["dataset"]["key"] != clean["dataset"]["key"], "flipped labels make another dataset, with its own keys"
    record = json.loads((output / "noisy_labels" / "noise.json").read_text())
    assert (record["fraction"], record["seed"], record["flipped"]) == (0.2, 1, 60)
    rows = {(r["method"], r["seed"]): r for r in noisy["rows"]}
    assert rows[(FULL_DATA, 0)]["flipped_kept"] == pytest.approx(0.2) and (FULL_DATA_CLEAN, 0) in rows
    random_flipped = sum(rows[(RANDOM, s)]["flipped_kept"] for s in (0, 1, 2)) / 3
    assert rows[("top_k(aum)", 0)]["flipped_kept"] < random_flipped, "high AUM keeps fewer flipped labels than random"


def test_dynamics_methods_are_compared_with_their_flipped_label_auroc(prefect_server, sample, tmp_path):
    store = str(tmp_path / "store")
    partial = {"name": "partial_finetune", "params": {"train_layers": 1, "epochs": 2, "seeds": [0], "max_length": 32}}
    label = "partial_finetune:train_layers=1,epochs=2,seeds=[0],max_length=32"
    result = _run(sample, store, str(tmp_path / "out"), noise=0.2, noise_seed=1, score_columns=["aum", "kmeans_distance"],
                  pruners=["top_k"], fractions=[0.7], dynamics_methods=["linear_probe", partial])
    assert result["methods"] == ["top_k(kmeans_distance)", "top_k(aum) [linear_probe]", f"top_k(aum) [{label}]"]
    methods = [r["method"] for r in result["rows"]]
    assert methods.count(RANDOM) == 3 and methods.count("top_k(kmeans_distance)") == 1, "shared methods run once"
    dynamics = {a["key"]: a for a in ArtifactStore(store).ls() if a["stage"] == "dynamics"}
    assert len(dynamics) == 2, "each dynamics method trains its own dynamics"
    auroc = {(r["source"], r["score"]): r["auroc"] for r in result["detection"]}
    assert {("linear_probe", "aum"), ("linear_probe", "el2n"), (label, "aum"), (label, "el2n")} <= set(auroc)
    assert all(r["flipped"] == 60 and r["rows"] == 300 for r in result["detection"])
    assert auroc["linear_probe", "aum"] > 0.6 and auroc[label, "aum"] > 0.6, "both rank flipped labels first"
    assert pq.read_table(result["results"]["detection"]).num_rows == len(result["detection"])
    markdown = Path(result["results"]["markdown"]).read_text()
    assert "Flipped-label detection" in markdown and f"| linear_probe | {label} |" in markdown
    assert f"| top_k(aum) [{label}] |" in markdown
    with pytest.raises(InvalidParameterError, match=r"'dynamics_methods' parameter of evaluate must be one of"):
        _run(sample, str(tmp_path / "other"), str(tmp_path / "out2"), dynamics_methods=["linear_prob"])
    with pytest.raises(InvalidParameterError, match=r"dynamics stage is off"):
        _run(sample, str(tmp_path / "other"), str(tmp_path / "out2"), dynamics=False, dynamics_methods=["fine_tune"])
    assert not (tmp_path / "other").exists(), "bad comparisons fail before any work"


def test_bad_settings_fail_before_any_work(prefect_server, sample, tmp_path):
    store = tmp_path / "store"
    with pytest.raises(InvalidParameterError, match=r"'fractions' parameter of evaluate must be a number in \(0, 1\]"):
        _run(sample, str(store), str(tmp_path / "out"), fractions=[0.5, 1.5])
    with pytest.raises(InvalidParameterError, match=r"'score_columns' parameter of evaluate must be one of .* Got 'aun'"):
        _run(sample, str(store), str(tmp_path / "out"), score_columns=["aun"])
    assert not store.exists()
    with pytest.raises(InvalidParameterError, match=r"'label_column' parameter of evaluate must name the label column"):
        _run(sample, str(store), str(tmp_path / "out"), dataset=sample["unlabelled"])
    assert [a["stage"] for a in ArtifactStore(str(store)).ls()] == ["dataset"], "nothing is scored"


def test_cli_flags_become_flow_parameters():
    params, _ = parse_args(["--fractions", "0.2", "0.5", "--score-columns", "aum", "el2n", "--pruners", "top_k",
                         "coverage_centric:beta=0.1", "--noise", "0.2", "--seeds", "3", "4", "5", "--no-perplexity",
                         "--method-options", "l2=0.01", "--test-dataset", "test.parquet",
                         "--dynamics-methods", "linear_probe", "partial_finetune:train_layers=1"])
    assert params["fractions"] == [0.2, 0.5] and params["seeds"] == [3, 4, 5] and params["noise"] == 0.2
    assert params["pruners"] == [{"name": "top_k", "params": {}}, {"name": "coverage_centric", "params": {"beta": 0.1}}]
    assert params["perplexity"] is False and params["method_options"] == {"l2": 0.01}
    assert "dynamics" not in params and "store" not in params and params["test_dataset"] == "test.parquet"
    assert params["dynamics_methods"] == [{"name": "linear_probe", "params": {}},
                                          {"name": "partial_finetune", "params": {"train_layers": 1}}]


def test_cli_shares_config_label_none_and_task_runner_with_the_prune_flow(tmp_path):
    config = tmp_path / "evaluate.yaml"
    config.write_text("dataset: reviews.parquet\nfractions: [0.4]\nclustering: {num_clusters: 3}\n")
    params, args = parse_args(["--config", str(config), "--fractions", "0.6", "--label-column", "none",
                               "--task-runner", "dask", "--dask-workers", "3"])
    assert params["dataset"] == "reviews.parquet" and params["fractions"] == [0.6]
    assert params["clustering"] == {"num_clusters": 3} and params["label_column"] is None
    assert args.task_runner == "dask" and args.dask_workers == 3


def test_score_column_that_no_stage_writes_fails_before_any_work(tmp_path):
    store = tmp_path / "store"
    with pytest.raises(InvalidParameterError, match=r"'score_columns' parameter of evaluate must be one of .*"
                                                    r"Got 'cross_entropy'"):
        evaluate(dataset="rotten_tomatoes", score_columns=["cross_entropy"], store=str(store),
                 output=str(tmp_path / "out"))
    assert not store.exists()

