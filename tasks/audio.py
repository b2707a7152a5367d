"""Prefect tasks: speech signal features, one task per shard, then the audio scores."""

from __future__ import annotations

from dprune.stages import audio_stage
from tasks.common import sharded_stage_tasks

audio_shard_task, audio_task = sharded_stage_tasks(
    audio_stage, "audio",
    shard_doc="Compute one shard of the audio signal features (a no-op when it is already committed).",
    commit_doc="Commit the signal features (computing any shard still missing) and return the audio scores.",
)
