"""Confident learning: label issues from out-of-fold predicted probabilities.

Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty in Dataset
Labels", JAIR 70 (2021). Given for every example ``x`` its given (possibly noisy) label
``ỹ`` and out-of-sample predicted probabilities ``p̂(ỹ = j; x)`` (each row predicted by a
model that did not train on it, here from K folds):

* the per-class threshold ``t_j`` is the mean of ``p̂(ỹ = j; x)`` over the examples
  labelled ``j`` (the expected self-confidence of class ``j``);
* the confident joint ``C[i][j]`` counts the examples labelled ``i`` whose probability
  of class ``j`` reaches ``t_j`` -- when several classes do, the one with the largest
  probability; examples that reach no threshold are not counted;
* its off-diagonal cells hold the likely label issues (labelled ``i``, confidently ``j``);
* per-example label quality: the self-confidence ``p̂(ỹ = ỹ_x; x)`` and the normalized
  margin ``p̂(ỹ = ỹ_x; x) - max_{j != ỹ_x} p̂(ỹ = j; x)`` (the ranking the paper uses to
  order the issues it prunes); low values mark likely mislabelled examples.

This module is our own implementation of those definitions (arrays in, arrays out).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dprune.core.params import InvalidParameterError

__all__ = [
    "QUALITY_SCORES",
    "check_folds",
    "confident_joint",
    "label_issue_mask",
    "label_quality",
    "normalized_margin",
    "out_of_fold_probabilities",
    "per_class_thresholds",
    "self_confidence",
]

#: Per-example label-quality scores (low: likely mislabelled).
QUALITY_SCORES = ("self_confidence", "normalized_margin")


def _check(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(
            f"Predicted probabilities must have shape (rows, classes) with at least 2 classes; got {probs.shape}."
        )
    if labels.shape != (probs.shape[0],):
        raise ValueError(
            f"Labels must have one class id per row of the probabilities ({probs.shape[0]}); got shape {labels.shape}."
        )
    if labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise ValueError(
            f"Labels must be class ids in [0, {probs.shape[1]}) (encode them with dprune's encode_labels first); "
            f"got {labels.dtype} values in [{labels.min()}, {labels.max()}]."
        )
    return probs, labels.astype(np.int64)


def self_confidence(probs: Any, labels: Any) -> np.ndarray:
    """Predicted probability of each example's given label."""
    probs, labels = _check(probs, labels)
    return probs[np.arange(len(labels)), labels]


def normalized_margin(probs: Any, labels: Any) -> np.ndarray:
    """Probability of the given label minus the largest probability of another class, in [-1, 1]."""
    probs, labels = _check(probs, labels)
    rows = np.arange(len(labels))
    others = probs.copy()
    others[rows, labels] = -np.inf
    return probs[rows, labels] - others.max(axis=1)


def label_quality(probs: Any, labels: Any, score: str = "normalized_margin") -> np.ndarray:
    """One of :data:`QUALITY_SCORES` per example (low: likely mislabelled)."""
    if score == "self_confidence":
        return self_confidence(probs, labels)
    if score == "normalized_margin":
        return normalized_margin(probs, labels)
    raise ValueError(f"The 'score' parameter must be one of {QUALITY_SCORES}. Got {score!r} instead.")


def per_class_thresholds(probs: Any, labels: Any) -> np.ndarray:
    """``t_j``: mean predicted probability of class ``j`` over the examples labelled ``j``.

    A class with no example gets threshold 1.0 (with 1.0 + eps no example could reach it;
    at 1.0 only certain predictions do).
    """
    probs, labels = _check(probs, labels)
    k = probs.shape[1]
    counts = np.bincount(labels, minlength=k)
    sums = np.bincount(labels, weights=probs[np.arange(len(labels)), labels], minlength=k)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)


def _confident_class(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per example: the most probable class among those reaching their threshold, or -1."""
    above = probs >= thresholds[None, :]
    masked = np.where(above, probs, -np.inf)
    best = masked.argmax(axis=1)
    return np.where(above.any(axis=1), best, -1)


def confident_joint(probs: Any, labels: Any) -> np.ndarray:
    """``C[i][j]``: examples labelled ``i`` confidently predicted as ``j`` (int64, classes x classes)."""
    probs, labels = _check(probs, labels)
    k = probs.shape[1]
    confident = _confident_class(probs, per_class_thresholds(probs, labels))
    counted = confident >= 0
    return np.bincount(labels[counted] * k + confident[counted], minlength=k * k).reshape(k, k).astype(np.int64)


def label_issue_mask(probs: Any, labels: Any) -> np.ndarray:
    """True for examples in an off-diagonal cell of the confident joint (confidently another class)."""
    probs, labels = _check(probs, labels)
    confident = _confident_class(probs, per_class_thresholds(probs, labels))
    return (confident >= 0) & (confident != labels)


def check_folds(labels: Any, num_labels: int, folds: int, *, owner: str = "out_of_fold_probabilities") -> None:
    """Raise unless K-fold out-of-fold prediction is possible for these labels.

    Two classes must be present, and every present class needs at least ``folds`` rows
    (each fold holds out some of every class).

    Raises
    ------
    ValueError
        Fewer than two classes.
    InvalidParameterError
        ``folds`` larger than the smallest class.
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_labels)
    present = counts[counts > 0]
    if len(present) < 2:
        raise ValueError(
            f"{owner}: out-of-fold probabilities need at least 2 classes, but the labels hold {len(present)} "
            f"({len(labels)} rows). Score a dataset with several classes."
        )
    if folds > present.min():
        raise InvalidParameterError(
            f"The 'folds' parameter of {owner} must be at most {int(present.min())}, the size of the smallest class "
            f"(each fold holds out rows of every class). Got {folds!r} instead; lower folds or score more rows."
        )


def out_of_fold_probabilities(
    features: Any,
    labels: Any,
    *,
    num_labels: int | None = None,
    folds: int = 5,
    seed: int = 0,
    regularization: float = 1.0,
    max_iter: int = 1000,
    standardize: bool = False,
) -> np.ndarray:
    """Held-out class probabilities from K stratified folds of a logistic regression.

    Each row's probabilities come from the model trained on the other folds, so no row is
    scored by a model that saw its (possibly wrong) label.

    Parameters
    ----------
    features : array of shape (rows, dim)
    labels : array of int class ids
    num_labels : int, optional
        Number of classes (default: ``labels.max() + 1``); a class missing from a fold's
        training part gets probability 0 for that fold.
    folds : int, default 5
        K, in [2, size of the smallest class] (see :func:`check_folds`).
    seed : int, default 0
        Seed of the fold assignment.
    regularization : float, default 1.0
        Inverse regularization strength ``C`` of the logistic regression.
    max_iter : int, default 1000
    standardize : bool, default False
        Center and scale features with the training folds' statistics. Off by default:
        on unit-norm sentence embeddings the raw scale regularizes better (flipped-label
        AUROC on 2,000 bundled rows: 0.814 raw against 0.735 standardized, both C=1).

    Returns
    -------
    numpy.ndarray of shape (rows, num_labels)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if features.ndim != 2 or features.shape[0] != labels.shape[0]:
        raise ValueError(
            f"features must have shape (rows, dim) with one row per label; got {features.shape} for {labels.shape[0]} "
            "labels."
        )
    k = int(num_labels if num_labels is not None else labels.max() + 1)
    check_folds(labels, k, folds)
    probs = np.zeros((len(labels), k), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(features, labels):
        x_train, x_test = features[train], features[test]
        if standardize:
            mean, scale = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
            x_train, x_test = (x_train - mean) / scale, (x_test - mean) / scale
        model = LogisticRegression(C=regularization, max_iter=max_iter)
        model.fit(x_train, labels[train])
        probs[np.ix_(test, model.classes_)] = model.predict_proba(x_test)
    return probs
