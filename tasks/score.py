"""Prefect tasks: score the dataset with registered scorers."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from prefect import get_run_logger

from dprune.stages import score_stage
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="score")
def score_task(dataset_ref: ArtifactRef, scorer: Mapping[str, Any] | str, *, reuse_only: bool = False) -> ArtifactRef:
    """Return the scores artifact of ``scorer`` (a registry spec), computing it only if it is missing."""
    return scores_task.fn(dataset_ref, [scorer], reuse_only=reuse_only)[0]


@stage_task(name="scores")
def scores_task(
    dataset_ref: ArtifactRef, scorers: Sequence[Mapping[str, Any] | str], *, reuse_only: bool = False
) -> list[ArtifactRef]:
    """The scores artifacts of several scorers, in one task: for a family of cheap scorers of one input.

    The training-dynamics scores (AUM, forgetting, EL2N, data-map coordinates) each take
    milliseconds once the dynamics artifact exists; one task for all of them keeps a
    re-prune's orchestration small.
    """
    store = store_of(dataset_ref, reuse_only=reuse_only)
    refs = []
    for scorer in scorers:
        refs.append(score_stage(store, dataset_ref, scorer))
        get_run_logger().info("scores %s -> %s/%s", scorer, refs[-1].stage, refs[-1].key)
    return refs
