"""The Prefect tasks that tasks.common.sharded_stage_tasks makes for the row-sharded stages."""

from __future__ import annotations

import inspect

import pytest

from tasks.audio import audio_shard_task, audio_task
from tasks.embed import embed_shard_task, embed_task
from tasks.language import language_shard_task, language_task
from tasks.minhash import minhash_shard_task, minhash_task
from tasks.perplexity import perplexity_shard_task, perplexity_task
from tasks.quality import quality_shard_task, quality_task

CASES = [("audio", audio_shard_task, audio_task),
         ("embed", embed_shard_task, embed_task),
         ("language", language_shard_task, language_task),
         ("minhash", minhash_shard_task, minhash_task),
         ("perplexity", perplexity_shard_task, perplexity_task),
         ("quality", quality_shard_task, quality_task)]


@pytest.mark.parametrize("name, shard_task, commit_task", CASES, ids=[case[0] for case in CASES])
def test_each_stage_gets_its_own_named_shard_and_commit_tasks(name, shard_task, commit_task):
    assert (shard_task.name, commit_task.name) == (f"{name}-shard", name)
    assert (shard_task.fn.__name__, commit_task.fn.__name__) == (f"{name}_shard_task", f"{name}_task")
    assert shard_task.fn.__doc__ and commit_task.fn.__doc__
    assert list(inspect.signature(shard_task.fn).parameters) == ["dataset_ref", "shard", "parents", "reuse_only",
                                                              "options"]
    assert list(inspect.signature(commit_task.fn).parameters) == ["dataset_ref", "parents", "reuse_only",
                                                               "lookup_only", "options"]


def test_the_tasks_of_different_stages_have_different_task_keys():
    keys = {task.task_key for _, shard_task, commit_task in CASES for task in (shard_task, commit_task)}
    assert len(keys) == 2 * len(CASES)
