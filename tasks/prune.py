"""Prefect task: select rows from cached scores."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from prefect import get_run_logger

from dprune.stages import prune_stage
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="prune")
def prune_task(dataset_ref: ArtifactRef, score_refs: Sequence[ArtifactRef], pruner: Mapping[str, Any] | str) -> ArtifactRef:
    """Return the selection artifact of ``pruner`` (a registry spec) over the given scores."""
    ref = prune_stage(store_of(dataset_ref), dataset_ref, list(score_refs), pruner)
    get_run_logger().info("selection %s -> %s/%s", pruner, ref.stage, ref.key)
    return ref
