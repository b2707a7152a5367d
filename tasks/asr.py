"""Prefect tasks: offline ASR transcripts, one task per shard, then the WER/CER scores."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger

from dprune.stages import asr_scores_stage
from dprune.store import ArtifactRef
from tasks.common import run_shard, stage_task, store_of


@stage_task(name="transcripts-shard")
def transcripts_shard_task(dataset_ref: ArtifactRef, shard: int, reuse_only: bool = False, **options: Any) -> int:
    """Transcribe one shard of the clips (a no-op when it is already committed)."""
    store = store_of(dataset_ref, reuse_only=reuse_only)
    return run_shard(asr_scores_stage, "transcripts", shard, store, dataset_ref, **options)


@stage_task(name="asr-scores")
def asr_scores_task(dataset_ref: ArtifactRef, reuse_only: bool = False, **options: Any) -> ArtifactRef:
    """Commit the transcripts (transcribing any shard still missing) and return the WER/CER scores."""
    ref = asr_scores_stage(store_of(dataset_ref, reuse_only=reuse_only), dataset_ref, **options)
    get_run_logger().info("ASR scores -> %s/%s", ref.stage, ref.key)
    return ref
