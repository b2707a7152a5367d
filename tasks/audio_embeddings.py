"""Prefect tasks: audio embeddings, one task per shard, then commit."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import audio_embeddings_stage
from dprune.store import ArtifactRef
from tasks.common import run_shard, stage_task, store_of


@stage_task(name="audio-embeddings-shard")
def audio_embeddings_shard_task(dataset_ref: ArtifactRef, shard: int, reuse_only: bool = False, **options: Any) -> int:
    """Embed one shard of the clips (a no-op when it is already committed)."""
    store = store_of(dataset_ref, reuse_only=reuse_only)
    return run_shard(audio_embeddings_stage, "audio embeddings", shard, store, dataset_ref, **options)


@stage_task(name="audio-embeddings")
def audio_embeddings_task(dataset_ref: ArtifactRef, reuse_only: bool = False, **options: Any) -> ArtifactRef:
    """Commit the audio embeddings artifact (computing any shard still missing)."""
    ref = audio_embeddings_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, **options)
    get_run_logger().info("audio embeddings -> %s/%s", ref.stage, ref.key)
    return ref
