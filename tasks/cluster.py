"""Prefect task: k-means over the embeddings."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import cluster_stage
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="cluster")
def cluster_task(
    dataset_ref: ArtifactRef, embeddings_ref: ArtifactRef, reuse_only: bool = False, **options: Any
) -> ArtifactRef:
    """Scores artifact with each row's distance to its centroid and its ``cluster_id``."""
    ref = cluster_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, embeddings_ref, **options)
    get_run_logger().info("clusters -> %s/%s", ref.stage, ref.key)
    return ref
