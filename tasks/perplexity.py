"""Prefect tasks: perplexity under the KenLM model, one task per shard, then commit."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import perplexity_stage
from dprune.store import ArtifactRef
from tasks.common import run_shard, stage_task, store_of


@stage_task(name="perplexity-shard")
def perplexity_shard_task(
    dataset_ref: ArtifactRef, lm_ref: ArtifactRef, shard: int, reuse_only: bool = False, **options: Any
) -> int:
    """Score one shard (a no-op when it, or the whole artifact, is already committed)."""
    store = store_of(dataset_ref, reuse_only=reuse_only)
    return run_shard(perplexity_stage, "perplexity", shard, store, dataset_ref, lm_ref, **options)


@stage_task(name="perplexity")
def perplexity_task(
    dataset_ref: ArtifactRef, lm_ref: ArtifactRef, reuse_only: bool = False, **options: Any
) -> ArtifactRef:
    """Commit the perplexity scores (computing any shard that is still missing)."""
    ref = perplexity_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, lm_ref, **options)
    get_run_logger().info("perplexity -> %s/%s", ref.stage, ref.key)
    return ref
