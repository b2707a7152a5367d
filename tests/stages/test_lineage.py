"""Every artifact a stage reads is recorded as a parent, so ``gc --keep`` never deletes a needed input."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.base import Scorer
from dprune.stages.kenlm import kenlm_stage
from dprune.stages.perplexity import PERPLEXITY, perplexity_stage
from dprune.stages.scores import score_stage
from dprune.store import ArtifactRef, ArtifactStore
from dprune.text.normalization import NORMALIZER_PRESETS


class SourceScorer(Scorer):
    """Scores read from another artifact (like a dynamics scorer given an artifact)."""

    def __init__(self, source=None, score_column: str = "score"):
        self.source = source
        self.score_column = score_column

    def required_columns(self):
        return []

    def compute_scores(self, dataset):
        return np.asarray(ArtifactStore(self.source.root).read_table(self.source).column("x"), dtype=float)


def test_gc_keep_keeps_the_artifacts_a_kept_score_read(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    dataset = store.write_table("dataset", "d" * 32, pa.table({"row_id": [0, 1, 2], "text": ["a", "b", "c"]}),
                                config={})
    source = store.write_table("dynamics", "s" * 32, pa.table({"x": [0.1, 0.2, 0.3]}), config={})
    unrelated = store.write_table("dynamics", "u" * 32, pa.table({"x": [1.0]}), config={})
    scores = score_stage(store, dataset, SourceScorer(source=source))
    assert [p["key"] for p in store.manifest(scores)["parents"]] == [dataset.key, source.key]
    assert store.gc(keep=[scores]) == [unrelated.name]
    assert store.exists(source) and store.exists(dataset)


def test_perplexity_uses_the_normalizer_the_model_was_trained_with(tmp_path, kenlm_tools):
    store = ArtifactStore(str(tmp_path / "store"))
    texts = ["The film was great, and I loved it.", "It rained in 2010. We stayed home.",
             "They said: this is the best movie of the year!", "I think the story is too long, but fine."] * 25
    dataset = store.write_table("dataset", "d" * 32, Dataset.from_dict({"row_id": list(range(100)), "text": texts}),
                                config={})
    lm = kenlm_stage(store, dataset, order=2, normalizer="ccnet", memory="32M", discount_fallback=True)
    assert [p["key"] for p in store.manifest(lm)["parents"]] == [dataset.key]
    scores = perplexity_stage(store, dataset, lm, shard_rows=50)
    raw = next(ArtifactRef.from_dict(p) for p in store.manifest(scores)["parents"] if p["stage"] == PERPLEXITY.name)
    assert store.manifest(raw)["config"]["normalizer"] == NORMALIZER_PRESETS["ccnet"].to_config()
