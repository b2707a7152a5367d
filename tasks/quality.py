"""Prefect tasks: Gopher quality statistics, one task per shard, then commit."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import quality_stage
from dprune.store import ArtifactRef
from tasks.common import run_shard, stage_task, store_of


@stage_task(name="quality-shard")
def quality_shard_task(dataset_ref: ArtifactRef, shard: int, reuse_only: bool = False, **options: Any) -> int:
    """Compute one shard's statistics (a no-op when already committed)."""
    return run_shard(quality_stage, "quality", shard, store_of(dataset_ref, reuse_only=reuse_only), dataset_ref,
                     **options)


@stage_task(name="quality")
def quality_task(dataset_ref: ArtifactRef, reuse_only: bool = False, **options: Any) -> ArtifactRef:
    """Commit the statistics (computing any missing shard) and return them as a scores artifact."""
    ref = quality_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, **options)
    get_run_logger().info("quality -> %s/%s", ref.stage, ref.key)
    return ref
