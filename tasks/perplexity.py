"""Prefect tasks: perplexity under the KenLM model, one task per shard, then commit."""

from __future__ import annotations

from dprune.stages import perplexity_stage
from tasks.common import sharded_stage_tasks

perplexity_shard_task, perplexity_task = sharded_stage_tasks(
    perplexity_stage, "perplexity",
    shard_doc="Score one shard (a no-op when it, or the whole artifact, is already committed).",
    commit_doc="Commit the perplexity scores (computing any shard that is still missing).",
)
