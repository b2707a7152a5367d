"""Stage ``audio_signal``: sharded and resumable signal features over audio references, and the audio scores."""

from __future__ import annotations

import os

import numpy as np
import pytest

from dprune.audio.decode import AudioDecodeError
from dprune.pruners.ranges import RangesPruner
from dprune.stages.audio import AUDIO_SCORE_COLUMNS, AUDIO_SIGNAL, audio_signal_stage, audio_stage
from dprune.stages.dataset import load_stage
from dprune.stages.scores import attach_scores
from dprune.store import ArtifactStore


def test_stage_commits_shards_resumes_and_scores(tmp_path, clips_manifest):
    manifest = clips_manifest(10)
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, str(manifest))
    assert store.manifest(dataset_ref)["meta"]["audio_column"] == "audio"
    done = []
    record = lambda index, start, stop: done.append(index)  # noqa: E731
    assert audio_stage(store, dataset_ref, vad="webrtc", shard_rows=4, shards=[1], on_shard=record) is None
    scores_ref = audio_stage(store, dataset_ref, vad="webrtc", shard_rows=4, on_shard=record)
    assert done == [1, 0, 2]  # shard 1 was already committed: only 0 and 2 were computed the second time
    scores = store.read(scores_ref)
    assert scores.column_names == ["row_id", *AUDIO_SCORE_COLUMNS, "audio_error"] and len(scores) == 10
    assert np.isfinite(np.asarray(scores["snr"], dtype=float)).all()
    assert np.nanmedian(np.asarray(scores["speaking_rate"], dtype=float)) < 0.3  # deviation from the median rate
    again = []
    assert audio_stage(store, dataset_ref, vad="webrtc", shard_rows=4, on_shard=lambda *a: again.append(a)) == scores_ref
    assert again == []


def test_key_follows_settings_and_file_identity(tmp_path, clips_manifest):
    manifest = clips_manifest(10)
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, str(manifest))
    ref = audio_signal_stage(store, dataset_ref, vad="webrtc")
    assert audio_signal_stage(store, dataset_ref, vad="webrtc", shard_rows=3, batch_size=2) == ref  # layout only
    assert audio_signal_stage(store, dataset_ref, vad="webrtc", clip_level=0.9).key != ref.key
    clip = manifest.parent / "clips" / "3.flac"
    clip.write_bytes((manifest.parent / "clips" / "0.flac").read_bytes())  # replaced at the same path
    os.utime(clip, ns=(1, 1))
    changed = audio_signal_stage(store, dataset_ref, vad="webrtc")
    assert changed.key != ref.key and changed.stage == AUDIO_SIGNAL.name


def test_bad_audio_stops_naming_the_row_or_is_kept_as_nan(tmp_path, clips_manifest):
    manifest = clips_manifest(10)
    store = ArtifactStore(str(tmp_path / "store"))
    (manifest.parent / "clips" / "9.flac").unlink()
    dataset_ref = load_stage(store, str(manifest))
    done = []
    with pytest.raises(AudioDecodeError, match=r"row 9: audio file '.*9.flac' does not exist"):
        audio_signal_stage(store, dataset_ref, vad="webrtc", shard_rows=4, on_shard=lambda i, a, b: done.append(i))
    assert done == [0, 1]  # the shards before the bad row are committed and will be reused
    scores = store.read(audio_stage(store, dataset_ref, vad="webrtc", on_error="nan"))
    assert scores["audio_error"] == [None] * 9 + ["missing_file"]
    assert np.isnan(scores["duration"][9]) and np.isfinite(scores["duration"][:9]).all()


def test_default_speech_rule_drops_the_degraded_clips(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, "spoken_digits", split="train")
    scored = attach_scores(store, dataset_ref, [audio_stage(store, dataset_ref, shard_rows=128)])
    kept = set(RangesPruner().fit_indices(scored).tolist())
    kinds = np.asarray(scored["degradation"])
    share_kept = {kind: np.mean([i in kept for i in np.flatnonzero(kinds == kind)]) for kind in set(kinds)}
    assert share_kept["clean"] >= 0.85, share_kept
    for kind in ("noise", "clipping", "silence", "transcript_swap"):
        assert share_kept[kind] <= 0.1, share_kept


def test_audio_file_identity_follows_content_even_with_the_old_mtime(tmp_path):
    import os

    import pyarrow as pa

    from dprune.data.audio import audio_files_identity

    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"RIFF" + b"\0" * 60)
    column = pa.array([{"path": str(clip), "bytes": None}], pa.struct([("path", pa.string()), ("bytes", pa.binary())]))
    before = audio_files_identity(column)
    stat = os.stat(clip)
    clip.write_bytes(b"RIFF" + b"\1" * 60)  # same size, other samples
    os.utime(clip, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the old modification time, as cp -p keeps it
    assert audio_files_identity(column) != before
    copy = tmp_path / "copy.wav"
    copy.write_bytes(clip.read_bytes())
    moved = pa.array([{"path": str(copy), "bytes": None}], column.type)
    assert audio_files_identity(moved) == audio_files_identity(column), "a copy elsewhere has the same identity"
