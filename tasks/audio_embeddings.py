"""Prefect tasks: audio embeddings, one task per shard, then commit."""

from __future__ import annotations

from dprune.stages import audio_embeddings_stage
from tasks.common import sharded_stage_tasks

audio_embeddings_shard_task, audio_embeddings_task = sharded_stage_tasks(
    audio_embeddings_stage, "audio_embeddings",
    shard_doc="Embed one shard of the clips (a no-op when already committed).",
    commit_doc="Commit the audio embeddings artifact (computing any missing shard) and return it.",
)
