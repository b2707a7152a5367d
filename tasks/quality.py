"""Prefect tasks: Gopher quality statistics, one task per shard, then commit."""

from __future__ import annotations

from dprune.stages import quality_stage
from tasks.common import sharded_stage_tasks

quality_shard_task, quality_task = sharded_stage_tasks(
    quality_stage, "quality",
    shard_doc="Compute one shard's statistics (a no-op when already committed).",
    commit_doc="Commit the statistics (computing any missing shard) and return them as a scores artifact.",
)
