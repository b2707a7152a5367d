"""The main flow on speech: the bundled spoken_digits example through the audio stage and the speech rule."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dprune.store import ArtifactStore

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from flows.prune import parse_args, prune  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_speech_example_is_scored_and_pruned_by_the_speech_rule(prefect_server, tmp_path):
    store_root = str(tmp_path / "store")
    first = prune(dataset="spoken_digits", split="test", store=store_root, output=str(tmp_path / "out1"),
                  audio={"shard_rows": 20})
    assert first["score_columns"] == ["duration", "speech_ratio", "snr", "clipping_ratio", "loudness", "speaking_rate"]
    assert first["pruner"] == {"name": "ranges", "params": {}}
    kept = pq.read_table(first["outputs"]["parquet"]).column("degradation").to_pylist()
    assert kept.count("clean") >= 22 and not {"noise", "clipping", "silence", "transcript_swap"} & set(kept)
    report = Path(first["outputs"]["report"]).read_text()
    assert "data:audio/ogg;base64," in report

    store = ArtifactStore(store_root)
    stages = {a["stage"] for a in store.ls() if a["complete"]}
    assert {"dataset", "audio_signal", "scores", "selection"} <= stages and "embeddings" not in stages
    before = {(a["stage"], a["key"]) for a in store.ls() if a["complete"]}
    second = prune(dataset="spoken_digits", split="test", store=store_root, output=str(tmp_path / "out2"),
                   audio={"shard_rows": 20}, pruner={"name": "top_k", "params": {"k": 10, "score_column": "snr"}})
    new = {(a["stage"], a["key"]) for a in store.ls() if a["complete"]} - before
    assert second["scores"] == first["scores"] and {stage for stage, _ in new} <= {"selection", "report"}
    assert json.loads(Path(second["outputs"]["kept_ids"]).read_text())["rows_kept"] == 10


def test_audio_settings_are_checked_before_any_work(prefect_server, reviews_file, tmp_path):
    from dprune.core.params import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"'audio' parameter of prune has unknown option\(s\) \['vda'\]"):
        prune(dataset="spoken_digits", store=str(tmp_path / "s"), output=str(tmp_path / "o"), audio={"vda": "x"})
    with pytest.raises(ValueError, match="has no audio column"):
        prune(dataset=reviews_file, store=str(tmp_path / "s"), output=str(tmp_path / "o"), audio={"vad": "webrtc"},
              embedding=False, perplexity=False)


def test_audio_flags_parse():
    params, _ = parse_args(["--dataset", "m.json", "--audio", "vad=webrtc,on_error=nan", "--audio-column", "wav"])
    assert params["audio"] == {"vad": "webrtc", "on_error": "nan"} and params["audio_column"] == "wav"
    assert parse_args(["--no-audio"])[0]["audio"] is False
