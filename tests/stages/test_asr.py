"""Stages ``transcripts`` (sharded, resumable ASR) and ``audio_embeddings``; ASR scores re-derived without recognition."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dprune.stages.asr import TRANSCRIPTS, asr_scores_stage, transcripts_stage
from dprune.stages.audio_embeddings import AUDIO_EMBEDDINGS, audio_embeddings_stage
from dprune.stages.dataset import load_stage
from dprune.stages.embeddings import read_embeddings
from dprune.store import ArtifactStore


def test_transcripts_resume_and_scores_reuse_them(tmp_path, clips_manifest):
    manifest = clips_manifest(8)
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, str(manifest))
    done = []
    record = lambda index, start, stop: done.append(index)  # noqa: E731
    options = {"vocabulary": "transcripts", "shard_rows": 3, "on_shard": record}
    assert asr_scores_stage(store, dataset_ref, shards=[1], **options) is None
    scores_ref = asr_scores_stage(store, dataset_ref, **options)
    assert done == [1, 0, 2]
    scores = store.read(scores_ref)
    assert scores.column_names == ["row_id", "wer", "cer"] and len(scores) == 8
    assert np.median(scores["wer"]) == 0.0
    # Another normalizer or metric: new scores, the same transcripts, no recognition.
    other = asr_scores_stage(store, dataset_ref, metrics=["cer"], text_normalizer="whitespace", **options)
    assert other.key != scores_ref.key and store.read(other).column_names == ["row_id", "cer"]
    assert done == [1, 0, 2]
    ref = transcripts_stage(store, dataset_ref, vocabulary="transcripts")
    assert store.manifest(other)["parents"] and ref.key in json.dumps(store.manifest(other)["parents"])
    assert ref.stage == TRANSCRIPTS.name
    with pytest.raises(ValueError, match="'metrics' option"):
        asr_scores_stage(store, dataset_ref, metrics=["per"])


def test_audio_embeddings_artifact_has_the_text_embeddings_shape(tmp_path, clips_manifest):
    manifest = clips_manifest(8)
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, str(manifest))
    ref = audio_embeddings_stage(store, dataset_ref, shard_rows=5, batch_size=2)
    assert ref.stage == AUDIO_EMBEDDINGS.name
    vectors = read_embeddings(store, ref)
    assert vectors.shape[0] == 8 and vectors.dtype == np.float32 and np.isfinite(vectors).all()
    assert str(store.read_table(ref).schema.field("embedding").type).startswith("fixed_size_list<item: float>")
    assert audio_embeddings_stage(store, dataset_ref, shard_rows=4) == ref  # layout is not in the key
