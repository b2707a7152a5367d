"""Prefect tasks: language identification, one task per shard, then commit."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import language_stage
from dprune.store import ArtifactRef
from tasks.common import run_shard, stage_task, store_of


@stage_task(name="language-shard")
def language_shard_task(dataset_ref: ArtifactRef, shard: int, reuse_only: bool = False, **options: Any) -> int:
    """Identify one shard's languages (a no-op when already committed)."""
    return run_shard(language_stage, "language", shard, store_of(dataset_ref, reuse_only=reuse_only), dataset_ref,
                     **options)


@stage_task(name="language")
def language_task(dataset_ref: ArtifactRef, reuse_only: bool = False, **options: Any) -> ArtifactRef:
    """Commit the languages (computing any missing shard) and return the confidence as a scores artifact."""
    ref = language_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, **options)
    get_run_logger().info("language -> %s/%s", ref.stage, ref.key)
    return ref
