"""Prefect task: load the dataset into the store."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import load_stage
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="load")
def load_task(store_root: str, source: str, **options: Any) -> ArtifactRef:
    """Load ``source`` (bundled name, file, URL or hub name) and return the dataset artifact."""
    ref = load_stage(store_of(store_root), source, **options)
    get_run_logger().info("dataset %s -> %s/%s", source, ref.stage, ref.key)
    return ref
