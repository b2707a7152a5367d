"""Prefect tasks: offline ASR transcripts, one task per shard, then the WER/CER scores."""

from __future__ import annotations

from dprune.stages import asr_scores_stage
from tasks.common import sharded_stage_tasks

asr_shard_task, asr_task = sharded_stage_tasks(
    asr_scores_stage, "asr",
    shard_doc="Transcribe one shard of the clips (a no-op when already committed).",
    commit_doc="Commit the transcripts (transcribing any missing shard) and return the WER/CER scores artifact.",
)
