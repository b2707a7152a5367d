"""Prefect tasks: embed the dataset, one task per shard, then commit."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import embed_stage
from dprune.store import ArtifactRef
from tasks.common import run_shard, stage_task, store_of


@stage_task(name="embed-shard")
def embed_shard_task(
    dataset_ref: ArtifactRef, shard: int, text_column: str = "text", reuse_only: bool = False, **options: Any
) -> int:
    """Embed one shard (a no-op when it, or the whole artifact, is already committed)."""
    store = store_of(dataset_ref, reuse_only=reuse_only)
    return run_shard(embed_stage, "embedding", shard, store, dataset_ref, text_column=text_column, progress=False,
                     **options)


@stage_task(name="embed")
def embed_task(
    dataset_ref: ArtifactRef, text_column: str = "text", reuse_only: bool = False, **options: Any
) -> ArtifactRef:
    """Commit the embeddings artifact (computing any shard that is still missing)."""
    ref = embed_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, text_column=text_column, **options)
    get_run_logger().info("embeddings -> %s/%s", ref.stage, ref.key)
    return ref
