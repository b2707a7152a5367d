"""Prefect task: record training dynamics (linear probe on the embeddings, or fine-tuning)."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import train_stage
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="train")
def train_task(
    dataset_ref: ArtifactRef, embeddings_ref: ArtifactRef | None, reuse_only: bool = False, **options: Any
) -> ArtifactRef:
    """The dynamics artifact (one shard per seed and epoch)."""
    ref = train_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, embeddings_ref, **options)
    get_run_logger().info("dynamics -> %s/%s", ref.stage, ref.key)
    return ref
