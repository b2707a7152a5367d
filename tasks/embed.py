"""Prefect tasks: embed the dataset, one task per shard, then commit."""

from __future__ import annotations

from dprune.stages import embed_stage
from tasks.common import sharded_stage_tasks

embed_shard_task, embed_task = sharded_stage_tasks(
    embed_stage, "embed",
    shard_doc="Embed one shard (a no-op when it, or the whole artifact, is already committed).",
    commit_doc="Commit the embeddings artifact (computing any shard that is still missing).",
    shard_options={"progress": False},
)
