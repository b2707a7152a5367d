"""The stage helper's shared layout options (dprune.stages.runner.ShardLayout)."""

from __future__ import annotations

import pytest
from datasets import Dataset

from dprune.stages.dataset import load_stage
from dprune.stages.quality import QUALITY, quality_stage
from dprune.stages.runner import shard_layout
from dprune.store import ArtifactStore


def test_shard_layout_fills_the_stage_defaults_and_keeps_the_given_options():
    layout = shard_layout(QUALITY, {"num_proc": 2, "shards": [0]}, shard_rows=100, batch_size=10)
    assert layout == {"shard_rows": 100, "batch_size": 10, "num_proc": 2, "shards": [0], "on_shard": None}


def test_a_misspelled_layout_option_fails_naming_it_before_any_work(tmp_path):
    path = tmp_path / "corpus.parquet"
    Dataset.from_dict({"text": ["one document", "another one"]}).to_parquet(str(path))
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, str(path), label_column=None)
    with pytest.raises(TypeError, match=r"quality stage got unknown option\(s\) \['shard_row'\].*'shard_rows'"):
        quality_stage(store, dataset_ref, shard_row=1)
    assert store.ls(QUALITY.name) == []
