"""Prefect tasks: MinHash signatures, one task per shard, then commit."""

from __future__ import annotations

from dprune.stages import minhash_stage
from tasks.common import sharded_stage_tasks

minhash_shard_task, minhash_task = sharded_stage_tasks(
    minhash_stage, "minhash",
    shard_doc="Sign one shard (a no-op when it, or the whole artifact, is already committed).",
    commit_doc="Commit the signatures (computing any shard that is still missing).",
)
