"""Prefect task: train (or reuse) the KenLM reference model."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import kenlm_stage
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="kenlm")
def kenlm_task(
    dataset_ref: ArtifactRef, text_column: str = "text", reuse_only: bool = False, **options: Any
) -> ArtifactRef:
    """The KenLM binary artifact, trained on the dataset or on ``reference``."""
    ref = kenlm_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, text_column=text_column, **options)
    get_run_logger().info("kenlm model -> %s/%s", ref.stage, ref.key)
    return ref
