"""Confident learning checked against the definitions of Northcutt et al. (JAIR 2021), written out
example by example, on out-of-fold probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset
from sklearn.metrics import roc_auc_score

from dprune.dynamics.confident import (
    check_folds,
    confident_joint,
    label_issue_mask,
    label_quality,
    normalized_margin,
    out_of_fold_probabilities,
    per_class_thresholds,
    self_confidence,
)
from dprune.scorers.confident import ConfidentLearningScorer


def noisy_blobs(n=300, classes=3, dim=6, flip=0.15, seed=0):
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, classes, size=n)
    centers = rng.normal(scale=3.0, size=(classes, dim))
    x = centers[clean] + rng.normal(size=(n, dim))
    flipped = rng.random(n) < flip
    given = np.where(flipped, (clean + rng.integers(1, classes, size=n)) % classes, clean)
    return x.astype(np.float32), clean, given, flipped


def paper_confident_joint(probs, labels):
    """C[i][j] = |{x labelled i : p(j; x) >= t_j}|, ties to the arg-max over the classes above threshold."""
    k = probs.shape[1]
    t = [np.mean([probs[x, j] for x in range(len(labels)) if labels[x] == j]) for j in range(k)]
    joint = np.zeros((k, k), dtype=int)
    issues = np.zeros(len(labels), dtype=bool)
    for x in range(len(labels)):
        candidates = [j for j in range(k) if probs[x, j] >= t[j]]
        if not candidates:
            continue
        j = max(candidates, key=lambda c: probs[x, c])
        joint[labels[x], j] += 1
        issues[x] = j != labels[x]
    return np.array(t), joint, issues


@pytest.fixture(scope="module")
def oof():
    x, clean, given, flipped = noisy_blobs()
    probs = out_of_fold_probabilities(x, given, folds=5, seed=0)
    return x, given, flipped, probs


def test_out_of_fold_probabilities_are_held_out_and_normalized(oof):
    x, given, _, probs = oof
    assert probs.shape == (len(given), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    again = out_of_fold_probabilities(x, given, folds=5, seed=0)
    np.testing.assert_array_equal(probs, again)
    # A model fit on all rows is more confident in the given labels than the held-out predictions are.
    from sklearn.linear_model import LogisticRegression

    in_sample = LogisticRegression(max_iter=1000).fit(x, given).predict_proba(x)[np.arange(len(given)), given]
    assert in_sample.mean() > self_confidence(probs, given).mean()


def test_scores_and_joint_match_the_paper_definitions(oof):
    _, given, _, probs = oof
    t, joint, issues = paper_confident_joint(probs, given)
    np.testing.assert_allclose(per_class_thresholds(probs, given), t)
    np.testing.assert_array_equal(confident_joint(probs, given), joint)
    np.testing.assert_array_equal(label_issue_mask(probs, given), issues)
    assert 0 < joint.sum() <= len(given) and np.trace(joint) < joint.sum()  # some label issues found
    rows = np.arange(len(given))
    expected_sc = probs[rows, given]
    expected_nm = np.array([probs[r, given[r]] - max(probs[r, j] for j in range(3) if j != given[r]) for r in rows])
    np.testing.assert_allclose(self_confidence(probs, given), expected_sc)
    np.testing.assert_allclose(normalized_margin(probs, given), expected_nm)
    np.testing.assert_allclose(label_quality(probs, given, "self_confidence"), expected_sc)


def test_confident_joint_on_a_hand_worked_example():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.7, 0.3], [0.3, 0.7]])
    labels = np.array([0, 0, 1, 1, 1])
    # t_0 = (0.9 + 0.6) / 2 = 0.75; t_1 = (0.8 + 0.3 + 0.7) / 3 = 0.6
    np.testing.assert_allclose(per_class_thresholds(probs, labels), [0.75, 0.6])
    # row0 -> 0; row1: 0.6 < 0.75 and 0.4 < 0.6 -> uncounted; row2 -> 1; row3: 0.7 < 0.75, 0.3 < 0.6 -> uncounted;
    # row4 -> 1
    np.testing.assert_array_equal(confident_joint(probs, labels), [[1, 0], [0, 2]])
    labels = np.array([0, 0, 1, 0, 1])
    # t_0 = (0.9 + 0.6 + 0.7) / 3 = 0.733 (row 3 at 0.7 falls short), t_1 = (0.8 + 0.7) / 2 = 0.75
    np.testing.assert_allclose(per_class_thresholds(probs, labels), [(0.9 + 0.6 + 0.7) / 3, 0.75])
    np.testing.assert_array_equal(confident_joint(probs, labels), [[1, 0], [0, 1]])
    np.testing.assert_array_equal(label_issue_mask(probs, labels), [False] * 5)
    labels = np.array([1, 0, 1, 1, 1])  # row 0 labelled 1 with p(0) = 0.9: a label issue
    assert label_issue_mask(probs, labels)[0]
    assert confident_joint(probs, labels)[1, 0] >= 1


def test_scores_rank_flipped_rows_first(oof):
    _, given, flipped, probs = oof
    for score in ("self_confidence", "normalized_margin"):
        assert roc_auc_score(flipped, -label_quality(probs, given, score)) > 0.9
    issues = label_issue_mask(probs, given)
    assert flipped[issues].mean() > 0.6 and issues[flipped].mean() > 0.6


def test_bad_inputs_are_clear_errors():
    probs = np.full((4, 2), 0.5)
    with pytest.raises(ValueError, match="class ids in \\[0, 2\\)"):
        self_confidence(probs, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="one class id per row"):
        confident_joint(probs, np.array([0, 1]))
    with pytest.raises(ValueError, match="'score' parameter"):
        label_quality(probs, np.array([0, 1, 1, 0]), "margin")
    with pytest.raises(ValueError, match="'folds' parameter of out_of_fold_probabilities must be at most 2"):
        out_of_fold_probabilities(np.zeros((4, 3)), np.array([0, 1, 1, 0]), folds=3)
    with pytest.raises(ValueError, match="at least 2 classes"):
        check_folds(np.zeros(10, dtype=int), 2, 5)


def test_scorer_matches_the_direct_computation_and_keeps_the_joint():
    x, _, given, flipped = noisy_blobs(n=200, classes=2, seed=1)
    names = np.array(["neg", "pos"])
    ds = Dataset.from_dict({"text": [""] * len(given), "label": names[given].tolist()})
    scorer = ConfidentLearningScorer(embeddings=x, folds=4, seed=3)
    scores = np.asarray(scorer.score(ds)["score"])
    probs = out_of_fold_probabilities(x, given, folds=4, seed=3)
    np.testing.assert_allclose(scores, normalized_margin(probs, given), atol=1e-9)
    np.testing.assert_array_equal(scorer.confident_joint_, confident_joint(probs, given))
    assert scorer.class_names_ == ["neg", "pos"]
    assert roc_auc_score(flipped, -scores) > 0.9
    with pytest.raises(ValueError, match="'folds' parameter of ConfidentLearningScorer must be at most"):
        ConfidentLearningScorer(embeddings=x[:6], folds=5).score(ds.select(range(6)))
