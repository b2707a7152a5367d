"""Prefect task: write the pruned dataset and the kept-ids manifest."""

from __future__ import annotations

from typing import Sequence

from dprune.stages import export_stage
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="export")
def export_task(
    dataset_ref: ArtifactRef, score_refs: Sequence[ArtifactRef], selection_ref: ArtifactRef, output_dir: str
) -> dict[str, str]:
    """Write Parquet, ``save_to_disk``, ``kept_ids.json`` and ``scores.parquet`` (all rows) under ``output_dir``."""
    paths = export_stage(store_of(dataset_ref), dataset_ref, list(score_refs), selection_ref, output_dir)
    return paths.to_dict()
