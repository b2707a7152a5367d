"""Prefect tasks: speech signal features, one task per shard, then the audio scores."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import audio_stage
from dprune.store import ArtifactRef
from tasks.common import run_shard, stage_task, store_of


@stage_task(name="audio-shard")
def audio_shard_task(dataset_ref: ArtifactRef, shard: int, reuse_only: bool = False, **options: Any) -> int:
    """Compute one shard of the audio signal features (a no-op when it is already committed)."""
    store = store_of(dataset_ref, reuse_only=reuse_only)
    return run_shard(audio_stage, "audio_signal", shard, store, dataset_ref, **options)


@stage_task(name="audio")
def audio_task(dataset_ref: ArtifactRef, reuse_only: bool = False, **options: Any) -> ArtifactRef:
    """Commit the signal features (computing any shard still missing) and return the audio scores."""
    ref = audio_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, **options)
    get_run_logger().info("audio scores -> %s/%s", ref.stage, ref.key)
    return ref
