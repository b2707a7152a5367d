"""Corpus stages over the artifact store: sharded and resumable, reused when stored, keyed on content."""

from __future__ import annotations

import numpy as np
from datasets import Dataset

from dprune.corpus.minhash import candidate_pairs, lsh_parameters, near_duplicates
from dprune.stages.dataset import load_stage
from dprune.stages.language import language_stage
from dprune.stages.minhash import minhash_stage, table_to_signatures
from dprune.stages import near_duplicates as near_duplicates_module
from dprune.stages.near_duplicates import near_duplicates_stage, pairs_stage
from dprune.stages.quality import quality_stage
from dprune.store import ArtifactStore

BASE = "the committee met on tuesday to discuss the budget for the coming year and agreed on most of the points"


def _dataset(tmp_path):
    rng = np.random.default_rng(3)
    words = BASE.split()
    texts = []
    for i in range(40):
        shuffled = list(rng.permutation(words))
        texts.append(" ".join(shuffled) + f" item {chr(97 + i % 26)}{chr(97 + i // 26)}")
    texts[7] = texts[2] + " again"  # a near-duplicate of row 2
    texts[30] = texts[2].upper()  # an exact copy up to case
    path = tmp_path / "corpus.parquet"
    Dataset.from_dict({"text": texts}).to_parquet(str(path))
    return str(path), texts


def test_minhash_resumes_by_shard_and_near_duplicates_match_the_domain_function(tmp_path):
    path, texts = _dataset(tmp_path)
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, path, label_column=None)
    computed = []
    assert minhash_stage(store, dataset_ref, shard_rows=16, shards=[1],
                         on_shard=lambda i, a, b: computed.append(i)) is None
    signatures_ref = minhash_stage(store, dataset_ref, shard_rows=16, on_shard=lambda i, a, b: computed.append(i))
    assert computed == [1, 0, 2]  # shard 1 was kept from the first call
    assert minhash_stage(store, dataset_ref, shard_rows=16) == signatures_ref
    assert table_to_signatures(store.read_table(signatures_ref)).shape == (40, 128)

    scores_ref = near_duplicates_stage(store, dataset_ref, signatures_ref)
    flags = np.asarray(store.read(scores_ref)["near_duplicate"])
    expected = near_duplicates(texts).is_duplicate
    np.testing.assert_array_equal(flags, expected)
    assert flags[[7, 30]].all() and flags.sum() >= 2
    assert near_duplicates_stage(store, dataset_ref, signatures_ref) == scores_ref
    estimated = near_duplicates_stage(store, dataset_ref, signatures_ref, verify="estimate")
    assert estimated != scores_ref
    np.testing.assert_array_equal(store.read(estimated)["near_duplicate"], flags)


def test_lsh_pairs_resume_by_piece_without_recomputing_finished_ones(tmp_path):
    path, texts = _dataset(tmp_path)
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, path, label_column=None)
    signatures_ref = minhash_stage(store, dataset_ref, shard_rows=16)
    computed = []
    # a run killed after pieces 0 and 2 (of 6: 21 bands in groups of 4) committed them and nothing else
    assert pairs_stage(store, dataset_ref, signatures_ref, pieces=[0, 2], on_piece=computed.append) is None
    assert computed == [0, 2]
    pairs_ref = pairs_stage(store, dataset_ref, signatures_ref, on_piece=computed.append)
    assert computed == [0, 2, 1, 3, 4, 5]  # the resumed run computed only the missing pieces
    found = store.read_table(pairs_ref)
    pairs = set(zip(found["first"].to_pylist(), found["second"].to_pylist()))
    assert len(pairs) == found.num_rows  # a pair is verified in the piece of its first shared band only
    signatures = table_to_signatures(store.read_table(signatures_ref))
    assert pairs == set(map(tuple, candidate_pairs(signatures, *lsh_parameters(128, 0.8)).tolist()))
    assert (2, 7) in pairs and (2, 30) in pairs
    scores_ref = near_duplicates_stage(store, dataset_ref, signatures_ref)
    assert computed == [0, 2, 1, 3, 4, 5]  # the flags reuse the committed pairs
    np.testing.assert_array_equal(store.read(scores_ref)["near_duplicate"], near_duplicates(texts).is_duplicate)


def test_exact_verification_a_few_pairs_at_a_time_gives_the_same_similarities(tmp_path, monkeypatch):
    path, _ = _dataset(tmp_path)
    found = []
    for name, group in (("whole", 4_096), ("by_pair", 1)):
        monkeypatch.setattr(near_duplicates_module, "VERIFY_PAIRS", group)
        store = ArtifactStore(str(tmp_path / name))
        dataset_ref = load_stage(store, path, label_column=None)
        signatures_ref = minhash_stage(store, dataset_ref, shard_rows=16)
        found.append(store.read_table(pairs_stage(store, dataset_ref, signatures_ref)))
    assert found[0].num_rows >= 2 and found[1].equals(found[0])
    assert max(found[0]["similarity"].to_pylist()) > 0.8


def test_quality_and_language_stages_give_score_columns(tmp_path):
    path, texts = _dataset(tmp_path)
    store = ArtifactStore(str(tmp_path / "store"))
    dataset_ref = load_stage(store, path, label_column=None)
    quality = store.read(quality_stage(store, dataset_ref, statistics=["word_count", "stop_word_count"],
                                       shard_rows=16, batch_size=5))
    assert quality.column_names == ["row_id", "word_count", "stop_word_count"]
    assert quality["word_count"][0] == len(texts[0].split())
    language = store.read(language_stage(store, dataset_ref, language="en", shard_rows=25, batch_size=10, num_proc=2))
    assert language.column_names == ["row_id", "language_confidence"]
    assert min(language["language_confidence"]) > 0.5
