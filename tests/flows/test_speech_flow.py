"""The flows on speech: the bundled spoken_digits example and a user's audio data (NeMo manifest, audiofolder)
through the signal, ASR, audio-embedding, k-means, duplicate and dynamics stages; evaluation with flipped labels."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import soundfile as sf

from dprune.audio.decode import decode_refs
from dprune.core.params import InvalidParameterError
from dprune.data import load_dataset
from dprune.data.audio import refs_from_arrow
from dprune.store import ArtifactRef, ArtifactStore

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from flows.evaluate import evaluate  # noqa: E402
from flows.evaluate import parse_args as evaluate_args  # noqa: E402
from flows.prune import parse_args, prune  # noqa: E402

pytestmark = pytest.mark.slow
SIGNAL = ["duration", "speech_ratio", "snr", "clipping_ratio", "loudness", "speaking_rate"]
DYNAMICS = ["aum", "forgetting", "el2n", "data_map_confidence", "data_map_variability", "data_map_correctness"]


@pytest.fixture(scope="module")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _complete(store_root):
    return {(a["stage"], a["key"]) for a in ArtifactStore(store_root).ls() if a["complete"]}


def test_speech_example_runs_every_speech_stage_and_the_speech_rule(prefect_server, tmp_path):
    store_root = str(tmp_path / "store")
    first = prune(dataset="spoken_digits", split="test", store=store_root, output=str(tmp_path / "out1"),
                  audio={"shard_rows": 20}, asr={"shard_rows": 25}, dynamics={"seeds": [0], "epochs": 3})
    assert first["score_columns"] == [*SIGNAL, "wer", "cer", "semantic_duplicate", "kmeans_distance", *DYNAMICS]
    ranges = first["pruner"]["params"]["ranges"]
    assert first["pruner"]["name"] == "ranges" and 0.989 < ranges["semantic_duplicate"][1] < 0.99
    table = pq.read_table(first["outputs"]["scores"])
    rules = zip(table.column("kept").to_pylist(), table.column("dropped_by").to_pylist())
    assert all((rule is None) == keep for keep, rule in rules)  # the speech rule names why each clip was dropped
    scores = table.to_pandas()
    rows = ArtifactStore(store_root).read(ArtifactRef.from_dict(first["dataset"])).select_columns(["row_id", "degradation"])
    scores = scores.merge(rows.to_pandas(), on="row_id")
    clean, swapped = scores[scores.degradation == "clean"], scores[scores.degradation == "transcript_swap"]
    assert clean.wer.median() == 0.0 and swapped.wer.min() > 0  # the phrase grammar ("auto": a closed set)
    assert (scores.kmeans_distance > 0).all() and scores.aum.notna().all() and scores.semantic_duplicate.notna().all()
    kept = pq.read_table(first["outputs"]["parquet"]).column("degradation").to_pylist()
    assert kept.count("clean") >= 20 and not {"noise", "clipping", "silence", "transcript_swap"} & set(kept)

    store = ArtifactStore(store_root)
    stages = {stage for stage, _ in _complete(store_root)}
    assert {"audio_signal", "transcripts", "audio_embeddings", "clusters", "dynamics"} <= stages
    assert "embeddings" not in stages and "kenlm" not in stages
    (dynamics,) = [a for a in store.ls() if a["stage"] == "dynamics"]
    assert store.manifest(store.ref("dynamics", dynamics["key"]))["config"]["method"] == "conv_log_mel"

    before = _complete(store_root)
    second = prune(dataset="spoken_digits", split="test", store=store_root, output=str(tmp_path / "out2"),
                   audio={"shard_rows": 20}, asr={"shard_rows": 25}, dynamics={"seeds": [0], "epochs": 3},
                   pruner={"name": "top_k", "params": {"k": 10, "score_column": "wer"}})
    assert second["scores"] == first["scores"]
    assert {stage for stage, _ in _complete(store_root) - before} <= {"selection", "report"}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Twelve clips of the example as WAV files, with their transcripts and digits."""
    folder = tmp_path_factory.mktemp("user-audio")
    data = load_dataset("spoken_digits", split="test").select(range(12))
    audio = decode_refs(refs_from_arrow(data.with_format("arrow")["audio"])).audio
    rows = []
    for i, (samples, text, label) in enumerate(zip(audio, data["text"], data["label"])):
        path = folder / f"clip{i:02d}.wav"
        sf.write(path, samples, 16_000)
        rows.append({"file_name": path.name, "text": text, "label": label, "seconds": len(samples) / 16_000})
    return folder, rows


def test_user_manifest_and_audiofolder_run_the_speech_stages(prefect_server, clips, tmp_path):
    folder, rows = clips
    manifest = tmp_path / "train_manifest.json"
    manifest.write_text("".join(json.dumps({"audio_filepath": str(folder / r["file_name"]), "duration": r["seconds"],
                                            "text": r["text"], "label": r["label"]}) + "\n" for r in rows))
    store = str(tmp_path / "store")
    run = prune(dataset=str(manifest), store=store, output=str(tmp_path / "out"), audio={"vad": "webrtc"},
                clustering={"num_clusters": 3}, dynamics={"seeds": [0], "epochs": 2, "method": "linear_probe"})
    assert run["score_columns"] == [*SIGNAL, "wer", "cer", "semantic_duplicate", "kmeans_distance", *DYNAMICS]
    assert pq.read_table(run["outputs"]["scores"]).num_rows == 12
    (dynamics,) = [a for a in ArtifactStore(store).ls() if a["stage"] == "dynamics"]
    config = ArtifactStore(store).manifest(ArtifactStore(store).ref("dynamics", dynamics["key"]))["config"]
    assert config["method"] == "linear_probe" and config["params"]["hidden_size"] == 256  # the speech probe

    audiofolder = tmp_path / "folder"
    audiofolder.mkdir()
    for r in rows:
        (audiofolder / r["file_name"]).write_bytes((folder / r["file_name"]).read_bytes())
    (audiofolder / "metadata.csv").write_text("file_name\n" + "".join(f"{r['file_name']}\n" for r in rows))
    # No transcripts, no labels: no ASR, no dynamics; the rest runs.
    run = prune(dataset=str(audiofolder), text_column=None, label_column=None, store=store,
                output=str(tmp_path / "out2"), audio={"vad": "webrtc"}, clustering={"num_clusters": 3})
    assert run["score_columns"] == [*SIGNAL[:-1], "semantic_duplicate", "kmeans_distance"]  # no speaking rate
    assert "speaking_rate" not in run["pruner"]["params"]["ranges"]
    assert json.loads(Path(run["outputs"]["kept_ids"]).read_text())["rows_kept"] > 0


def test_speech_settings_are_checked_before_any_work(prefect_server, reviews_file, tmp_path):
    where = {"store": str(tmp_path / "s"), "output": str(tmp_path / "o")}
    bad = [
        ({"audio": {"vda": "x"}}, r"'audio' parameter of prune has unknown option\(s\) \['vda'\]"),
        ({"asr": {"vocab": "open"}}, r"'asr' parameter of prune has unknown option\(s\) \['vocab'\]"),
        ({"asr": {"vocabulary": "closed"}}, r"'vocabulary' parameter of the asr stage of prune must be"),
        ({"asr": {"metrics": ["mer"]}}, r"'metrics' option of the asr stage of prune must be a non-empty list"),
        ({"audio_embedding": {"shard_rows": 0}}, r"'shard_rows' parameter of the audio_embedding stage"),
        ({"duplicates": {"threshold": 2}}, r"'threshold' parameter of the duplicates stage of prune"),
        ({"dynamics": {"chanels": 8}}, r"'dynamics' parameter of prune has unknown option\(s\) \['chanels'\]"),
    ]
    for settings, message in bad:
        with pytest.raises(InvalidParameterError, match=message):
            prune(dataset="spoken_digits", **where, **settings)
    assert not (tmp_path / "s").exists()  # nothing was loaded or written
    with pytest.raises(ValueError, match=r"asr=\.\.\. asks for speech stages but dataset .* has no audio column"):
        prune(dataset=reviews_file, **where, asr={"vocabulary": "open"}, embedding=False, perplexity=False)
    with pytest.raises(ValueError, match="dynamics method='fine_tune' reads text"):
        prune(dataset="spoken_digits", split="test", **where, audio=False, asr=False, dynamics={"method": "fine_tune"})


def test_evaluate_flips_labels_of_speech_and_trains_on_audio_embeddings(prefect_server, tmp_path):
    result = evaluate(dataset="spoken_digits", store=str(tmp_path / "s"), output=str(tmp_path / "o"), noise=0.1,
                      audio=False, asr=False, duplicates=False, dynamics={"seeds": [0], "epochs": 10},
                      score_columns=["aum"], pruners=["top_k"], fractions=[0.5], seeds=[0])
    noise = json.loads((tmp_path / "o" / "noisy_labels" / "noise.json").read_text())
    assert noise["rows"] == 206 and noise["flipped"] == 21
    table = pq.read_table(result["results"]["parquet"]).to_pandas()
    assert {"random", "full data", "full data, clean labels"} <= set(table.method)
    assert (table.accuracy > 0.1).all()  # ten digits: better than chance on the 50 test clips
    with pytest.raises(InvalidParameterError, match="'method' parameter of evaluate must be 'probe' for speech"):
        evaluate(dataset="spoken_digits", store=str(tmp_path / "s"), output=str(tmp_path / "o2"), method="finetune",
                 score_columns=["aum"], pruners=["top_k"], fractions=[0.5], seeds=[0])
    with pytest.raises(InvalidParameterError, match="unknown|must be one of"):
        evaluate(dataset="spoken_digits", store=str(tmp_path / "s"), output=str(tmp_path / "o3"),
                 score_columns=["wr"], pruners=["top_k"], fractions=[0.5], seeds=[0])


def test_speech_flags_parse():
    params, _ = parse_args(["--dataset", "m.json", "--audio", "vad=webrtc,on_error=nan", "--audio-column", "wav",
                            "--asr", "vocabulary=open", "--no-duplicates", "--audio-embedding", "shard_rows=500"])
    assert params["audio"] == {"vad": "webrtc", "on_error": "nan"} and params["audio_column"] == "wav"
    assert params["asr"] == {"vocabulary": "open"} and params["duplicates"] is False
    assert params["audio_embedding"] == {"shard_rows": 500}
    assert parse_args(["--no-audio"])[0]["audio"] is False
    assert evaluate_args(["--dataset", "spoken_digits", "--noise", "0.1", "--no-asr"])[0]["asr"] is False
    assert parse_args(["--text-column", "none"])[0]["text_column"] is None
