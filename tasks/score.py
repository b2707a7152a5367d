"""Prefect task: score the dataset with one registered scorer."""

from __future__ import annotations

from typing import Any, Mapping

from prefect import get_run_logger

from dprune.stages import score_stage
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="score")
def score_task(dataset_ref: ArtifactRef, scorer: Mapping[str, Any] | str, *, reuse_only: bool = False) -> ArtifactRef:
    """Return the scores artifact of ``scorer`` (a registry spec), computing it only if it is missing."""
    ref = score_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, scorer)
    get_run_logger().info("scores %s -> %s/%s", scorer, ref.stage, ref.key)
    return ref
