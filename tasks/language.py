"""Prefect tasks: language identification, one task per shard, then commit."""

from __future__ import annotations

from dprune.stages import language_stage
from tasks.common import sharded_stage_tasks

language_shard_task, language_task = sharded_stage_tasks(
    language_stage, "language",
    shard_doc="Identify one shard's languages (a no-op when already committed).",
    commit_doc="Commit the languages (computing any missing shard) and return the confidence as a scores artifact.",
)
