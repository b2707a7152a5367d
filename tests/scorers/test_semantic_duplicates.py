"""SemanticDuplicateScorer: duplicates score ~1 and exactly one member of a group keeps a low score."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from dprune.pruners import ThresholdPruner
from dprune.scorers import semantic_duplicates
from dprune.scorers.semantic_duplicates import SemanticDuplicateScorer, earlier_max_similarity

TEXTS = [
    "A great movie with a moving story.",
    "Waste of time, the plot drags on.",
    "Amazing performances all around.",
    "A great movie with a moving story.",
    "So predictable and dull.",
    "The worst script of the year.",
    "Waste of time, the plot drags on.",
    "Beautifully shot and well acted.",
    "A great movie with a moving story.",
    "Nothing works in this mess.",
]
KEEP_THRESHOLD = ThresholdPruner(high=0.95, inclusive="left")  # keeps score < 0.95


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_dict({"row_id": list(range(100, 100 + len(TEXTS))), "text": TEXTS})


@pytest.mark.parametrize("keep", ["first", "central", "peripheral"])
def test_exactly_one_copy_of_each_duplicate_group_is_kept(dataset, keep):
    scorer = SemanticDuplicateScorer(keep=keep)
    scored = scorer.score(dataset)
    scores = np.asarray(scored["score"])
    assert scores[[3, 8]].min() > 0.999 and scores[6] > 0.999  # later copies
    kept = KEEP_THRESHOLD.prune(scored)
    texts = kept["text"]
    assert sorted(texts) == sorted(set(TEXTS)), "each distinct text exactly once"
    # copies are equal up to float noise, so position breaks the tie: the earliest copy is kept
    assert kept["row_id"] == [100, 101, 102, 104, 105, 107, 109]
    assert scorer.duplicate_of_[3] == 0 and scorer.duplicate_of_[6] == 1
    assert scorer.duplicate_of_[8] in (0, 3)


def test_first_ranked_row_scores_minus_one(dataset):
    scorer = SemanticDuplicateScorer(num_clusters=1)
    scores = np.asarray(scorer.score(dataset)["score"])
    assert scores[0] == -1.0 and scorer.duplicate_of_[0] == -1
    assert np.all(scores[1:] > -1) and np.all(scores <= 1.0)


def test_chain_follows_semdedup_rule():
    """a~b and b~c but not a~c: b and c both go (each is similar to an earlier-ranked row)."""
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([np.cos(0.28), np.sin(0.28), 0.0])
    c = np.array([np.cos(0.56), np.sin(0.56), 0.0])
    far = np.array([0.0, 0.0, 1.0])
    vectors = np.stack([a, b, c, far]).astype(np.float32)
    ds = Dataset.from_dict({"x": [0, 1, 2, 3]})
    scores = np.asarray(SemanticDuplicateScorer(embeddings=vectors, num_clusters=1).score(ds)["score"])
    np.testing.assert_allclose(scores, [-1.0, np.cos(0.28), np.cos(0.28), np.cos(np.pi / 2)], atol=1e-6)
    assert np.cos(0.56) < 0.95 < np.cos(0.28)
    assert np.flatnonzero(scores < 0.95).tolist() == [0, 3]


def test_earlier_max_similarity_matches_brute_force_in_blocks(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(37, 5)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sims = x @ x.T
    expected = np.array([-1.0] + [sims[i, :i].max() for i in range(1, len(x))])
    arg = np.array([-1] + [int(sims[i, :i].argmax()) for i in range(1, len(x))])
    for block_elements in (1 << 24, 50, 1):
        monkeypatch.setattr(semantic_duplicates, "_BLOCK_ELEMENTS", block_elements)
        got, got_arg = earlier_max_similarity(x)
        np.testing.assert_allclose(got, expected, atol=1e-6)
        np.testing.assert_array_equal(got_arg, arg)


def test_clusters_restrict_comparisons_to_a_cluster():
    rng = np.random.default_rng(1)
    centers = np.eye(4, 16, dtype=np.float32) * 10
    base = np.repeat(centers, 10, axis=0) + rng.normal(size=(40, 16)).astype(np.float32)
    vectors = np.concatenate([base, base[[3, 17, 25]]])  # three planted exact duplicates at the end
    ds = Dataset.from_dict({"i": list(range(len(vectors)))})
    scorer = SemanticDuplicateScorer(embeddings=vectors, num_clusters=4, seed=0)
    scores = np.asarray(scorer.score(ds)["score"])
    assert len(set(scorer.cluster_ids_.tolist())) == 4
    np.testing.assert_allclose(scores[40:], 1.0, atol=1e-5)
    assert scorer.duplicate_of_[40:].tolist() == [3, 17, 25]
    assert np.sum(scores > 0.999) == 3
    # every row is compared only with its own cluster
    for row, target in enumerate(scorer.duplicate_of_):
        if target >= 0:
            assert scorer.cluster_ids_[target] == scorer.cluster_ids_[row]


def test_bad_input(dataset):
    with pytest.raises(ValueError, match="'num_clusters'.*11.*only 10"):
        SemanticDuplicateScorer(num_clusters=11).score(dataset)
    with pytest.raises(ValueError, match=r"None.*\[2\]"):
        SemanticDuplicateScorer().score(Dataset.from_dict({"text": ["a", "b", None]}))
