"""``--preset corpus`` end to end on a few hundred documents from a multi-file JSONL folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dprune.store import ArtifactStore

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from flows.prune import parse_args, prune  # noqa: E402


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.mark.slow
def test_corpus_preset_drops_duplicates_and_low_quality_rows(prefect_server, kenlm_tools, corpus_folder, tmp_path):
    folder, dropped = corpus_folder
    store_root = str(tmp_path / "store")
    params, _ = parse_args(["--preset", "corpus", "--dataset", folder, "--corpus", "shard_rows=128",
                            "--perplexity", "order=2,discount_fallback=true,shard_rows=128",
                            "--store", store_root, "--output", str(tmp_path / "out")])
    result = prune(**params)
    assert result["pruner"]["name"] == "ranges"
    assert {"exact_duplicate", "near_duplicate", "word_count", "duplicate_10gram_chars", "language_confidence",
            "perplexity"} <= set(result["score_columns"])
    kept = set(json.loads(Path(result["outputs"]["kept_ids"]).read_text())["kept_row_ids"])
    for reason, rows in dropped.items():
        assert not kept & set(rows), reason
    assert len(kept) >= 200  # the 270 original documents are long, fluent English with stop words
    store = ArtifactStore(store_root)
    failures = store.manifest(store.ref("selection", result["selection"]["key"]))["meta"]["rule_failures"]
    assert failures["exact_duplicate"] == 10 and failures["near_duplicate"] == 20  # exact copies are near ones too
    assert failures["word_count"] >= 10
    stages = {a["stage"] for a in store.ls() if a["complete"]}
    assert {"minhash", "near_duplicates", "quality", "language", "perplexity"} <= stages
    assert "embeddings" not in stages and "dynamics" not in stages
    # a second run finds every stage (submitted side by side) in the store, and writes nothing new
    before = {(a["stage"], a["key"]) for a in store.ls()}
    again = prune(**{**params, "reuse_only": True, "output": str(tmp_path / "again")})
    assert again["scores"] == result["scores"] and again["selection"] == result["selection"]
    assert {(a["stage"], a["key"]) for a in store.ls()} == before


def test_unknown_corpus_option_and_stage_fail_before_work(tmp_path):
    from dprune.core.params import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"unknown option\(s\) \['threshhold'\]"):
        prune.fn(dataset="x", preset="corpus", corpus={"threshhold": 0.5}, store=str(tmp_path / "s"))
    with pytest.raises(InvalidParameterError, match="unknown stage"):
        prune.fn(dataset="x", preset="corpus", corpus={"stages": ["dedup"]}, store=str(tmp_path / "s"))
    with pytest.raises(InvalidParameterError, match="'preset' parameter"):
        prune.fn(dataset="x", preset="web", store=str(tmp_path / "s"))


def test_auto_shard_rows_follow_the_bytes_of_the_dataset_in_equal_shards(tmp_path, monkeypatch):
    import tasks.common
    from dprune.stages.dataset import load_stage

    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, "rotten_tomatoes", label_column=None)
    manifest = store.manifest(dataset_ref)
    total = sum(shard["bytes"] for shard in manifest["shards"])
    monkeypatch.setattr(tasks.common, "AUTO_MIN_SHARD_ROWS", 1)
    monkeypatch.setattr(tasks.common, "AUTO_SHARD_BYTES", -(-total // 4))
    rows = tasks.common.resolve_shard_rows(dataset_ref, "auto")
    assert -(-manifest["num_rows"] // rows) == 4  # a quarter of the bytes per shard: four shards
    assert 4 * rows - manifest["num_rows"] < 4  # of equal rows: the last one is at most 3 rows short
    monkeypatch.setattr(tasks.common, "AUTO_SHARD_BYTES", int(total * 0.6))  # 1.7 shards' worth of bytes
    rows = tasks.common.resolve_shard_rows(dataset_ref, "auto")
    assert rows == -(-manifest["num_rows"] // 2)  # two halves, not 60% and 40%
    assert tasks.common.resolve_shard_rows(dataset_ref, 123) == 123
    monkeypatch.setattr(tasks.common, "AUTO_MIN_SHARD_ROWS", 1000)
    monkeypatch.setattr(tasks.common, "AUTO_SHARD_BYTES", 1)
    assert tasks.common.resolve_shard_rows(dataset_ref, "auto") == 1000  # the floor
