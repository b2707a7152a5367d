"""ConfidentLearningScorer: label quality from out-of-fold probabilities (Northcutt et al., JAIR 2021).

A logistic regression on the embedding vectors is trained K times, each time on all
folds but one, and predicts the class probabilities of the held-out fold, so every row
is scored by a model that never saw its label. From those probabilities
(:mod:`dprune.dynamics.confident`) the scorer returns one label-quality value per row
(low: likely mislabelled; keep the highest with ``TopKPruner`` to remove label noise) and
keeps the confident joint (likely label issues per pair of given / predicted class).

Vectors come, as for the k-means scorer, from ``embeddings_column``, ``embeddings`` (an
array or an embeddings artifact), or the text embedded with ``model`` (default: the
bundled all-MiniLM-L6-v2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from datasets import Dataset

from dprune.core.base import Scorer
from dprune.core.params import NON_EMPTY_STR, SEED, Interval, Options
from dprune.core.registry import register_scorer
from dprune.data.labels import encode_labels
from dprune.dynamics.confident import (
    QUALITY_SCORES,
    check_folds,
    confident_joint,
    label_issue_mask,
    label_quality,
    out_of_fold_probabilities,
)
from dprune.scorers.kmeans import VECTOR_SCORER_CONSTRAINTS, VectorScorerMixin

__all__ = ["ConfidentLearningScorer"]


@register_scorer("confident_learning")
class ConfidentLearningScorer(VectorScorerMixin, Scorer):
    """Label quality of each row from K-fold out-of-fold probabilities (confident learning).

    Parameters
    ----------
    model : None, str or transformers model
        Encoder for the text; ``None`` is the bundled all-MiniLM-L6-v2.
    tokenizer : None, str or tokenizer
        ``None`` uses the model's own tokenizer.
    text_column : str, default "text"
        Column with the text (ignored when vectors are given).
    label_column : str, default "label"
        The given (possibly noisy) labels: int, str, bool or ClassLabel.
    quality : {"normalized_margin", "self_confidence"}, default "normalized_margin"
        ``self_confidence``: held-out probability of the given label; ``normalized_margin``:
        that probability minus the largest probability of another class (the paper's
        ranking of label issues). Low values mark likely label errors.
    folds : int, default 5
        K, at most the size of the smallest class.
    regularization : float, default 1.0
        Inverse regularization strength of the logistic regression.
    seed : int, default 0
        Seeds the fold assignment.
    embeddings_column, embeddings, batch_size, pooling, max_length, normalize, precision, device
        Where the vectors come from, see :class:`~dprune.scorers.kmeans.KMeansCentroidDistanceScorer`.
    score_column : str, default "score"
        Output column.

    Attributes
    ----------
    probabilities_ : ndarray of shape (n, classes)
        Out-of-fold predicted probabilities (columns in the label mapping's class order).
    confident_joint_ : ndarray of shape (classes, classes)
        ``[i, j]``: rows labelled ``i`` confidently predicted as ``j``; off-diagonal cells
        count the likely label issues.
    label_issues_ : ndarray of bool
        Rows in an off-diagonal cell of the confident joint.
    class_names_ : list of str
        Class of each row/column of ``confident_joint_``.
    """

    _parameter_constraints = {
        **{k: v for k, v in VECTOR_SCORER_CONSTRAINTS.items() if k != "algorithm"},
        "label_column": [NON_EMPTY_STR],
        "quality": [Options(QUALITY_SCORES)],
        "folds": [Interval(int, 2, None)],
        "regularization": [Interval("real", 0, None, closed="neither")],
        "seed": [SEED],
    }

    def __init__(
        self,
        model: Any = None,
        tokenizer: Any = None,
        text_column: str = "text",
        label_column: str = "label",
        *,
        quality: str = "normalized_margin",
        folds: int = 5,
        regularization: float = 1.0,
        seed: int = 0,
        embeddings_column: str | None = None,
        embeddings: Any = None,
        batch_size: int = 64,
        pooling: str = "auto",
        max_length: int | None = None,
        normalize: bool | None = None,
        precision: str = "auto",
        device: Any = None,
        score_column: str = "score",
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.text_column = text_column
        self.label_column = label_column
        self.quality = quality
        self.folds = folds
        self.regularization = regularization
        self.seed = seed
        self.embeddings_column = embeddings_column
        self.embeddings = embeddings
        self.batch_size = batch_size
        self.pooling = pooling
        self.max_length = max_length
        self.normalize = normalize
        self.precision = precision
        self.device = device
        self.score_column = score_column

    def required_columns(self) -> list[str]:
        return [*super().required_columns(), self.label_column]

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        owner = type(self).__name__
        labels, mapping = encode_labels(dataset, self.label_column, owner=owner)
        check_folds(labels, mapping.num_labels, self.folds, owner=owner)
        vectors = self.vectors(dataset)
        probs = out_of_fold_probabilities(
            vectors, labels, num_labels=mapping.num_labels, folds=self.folds, seed=self.seed,
            regularization=self.regularization,
        )
        self.probabilities_ = probs
        self.confident_joint_ = confident_joint(probs, labels)
        self.label_issues_ = label_issue_mask(probs, labels)
        self.class_names_ = mapping.names
        return label_quality(probs, labels, self.quality)
