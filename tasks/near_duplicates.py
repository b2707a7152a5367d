"""Prefect task: LSH over the stored signatures, verified near-duplicate pairs, components."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import near_duplicates_stage
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="near-duplicates")
def near_duplicates_task(dataset_ref: ArtifactRef, signatures_ref: ArtifactRef, reuse_only: bool = False,
                         **options: Any) -> ArtifactRef:
    """Return the near-duplicate scores artifact, computing it only if it is missing."""
    ref = near_duplicates_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, signatures_ref, **options)
    get_run_logger().info("near_duplicates -> %s/%s", ref.stage, ref.key)
    return ref
