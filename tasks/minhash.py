"""Prefect tasks: MinHash signatures, one task per shard, then commit."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import minhash_stage
from dprune.store import ArtifactRef
from tasks.common import run_shard, stage_task, store_of


@stage_task(name="minhash-shard")
def minhash_shard_task(dataset_ref: ArtifactRef, shard: int, reuse_only: bool = False, **options: Any) -> int:
    """Sign one shard (a no-op when it, or the whole artifact, is already committed)."""
    return run_shard(minhash_stage, "minhash", shard, store_of(dataset_ref, reuse_only=reuse_only), dataset_ref,
                     **options)


@stage_task(name="minhash")
def minhash_task(dataset_ref: ArtifactRef, reuse_only: bool = False, **options: Any) -> ArtifactRef:
    """Commit the signatures (computing any shard that is still missing)."""
    ref = minhash_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, **options)
    get_run_logger().info("minhash -> %s/%s", ref.stage, ref.key)
    return ref
