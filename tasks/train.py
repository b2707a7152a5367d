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
    """The dynamics artifact (one shard per seed and epoch), with a Prefect progress artifact while it trains."""
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    state: dict[str, Any] = {"artifact": None, "done": 0}

    def on_shard(index: int, total: int) -> None:
        if state["artifact"] is None:
            state["artifact"] = create_progress_artifact(progress=0.0, key="dprune-dynamics-progress",
                                                         description=f"dynamics: 0 of {total} seed-epochs done")
        state["done"] += 1
        update_progress_artifact(state["artifact"], progress=100.0 * state["done"] / total,
                                 description=f"dynamics: {state['done']} of {total} seed-epochs done")

    ref = train_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, embeddings_ref, on_shard=on_shard,
                      **options)
    get_run_logger().info("dynamics -> %s/%s", ref.stage, ref.key)
    return ref
