"""Embedding-based scorers (k-means distance, semantic duplicates, confident learning) for tests/test_common.py.

Instances use the bundled all-MiniLM-L6-v2 (loaded once per process) on the common
12-row dataset, so each ``score`` call takes a fraction of a second.
"""

from __future__ import annotations

import numpy as np

from dprune.scorers.confident import ConfidentLearningScorer
from dprune.scorers.kmeans import KMeansCentroidDistanceScorer
from dprune.scorers.semantic_duplicates import SemanticDuplicateScorer


def _kmeans() -> list[KMeansCentroidDistanceScorer]:
    return [
        KMeansCentroidDistanceScorer(text_column="text", num_clusters=2),
        KMeansCentroidDistanceScorer(None, None, "text", 1, 4, metric="cosine", pooling="cls", normalize=False),
        KMeansCentroidDistanceScorer(num_clusters=3, algorithm="sklearn", seed=3, max_length=16,
                                     score_column="kmeans_distance"),
    ]


def _semantic() -> list[SemanticDuplicateScorer]:
    return [
        SemanticDuplicateScorer(),
        SemanticDuplicateScorer(num_clusters=1, keep="central", batch_size=5),
        SemanticDuplicateScorer(keep="peripheral", pooling="mean", normalize=True, score_column="dup"),
    ]


def _confident() -> list[ConfidentLearningScorer]:
    return [
        ConfidentLearningScorer(folds=3),
        ConfidentLearningScorer(None, None, "text", "label", quality="self_confidence", folds=2, seed=4,
                                regularization=0.5, max_length=16, score_column="label_quality"),
    ]


SCORER_FACTORIES = {
    "confident_learning": _confident,
    "kmeans_centroid_distance": _kmeans,
    "semantic_duplicate": _semantic,
}

SCORER_BAD_PARAMS = {
    "confident_learning": [
        ({"folds": 1}, "folds"),
        ({"folds": 7}, "folds"),
        ({"quality": "margin"}, "quality"),
        ({"regularization": 0.0}, "regularization"),
        ({"seed": -1}, "seed"),
        ({"label_column": ""}, "label_column"),
        ({"embeddings": np.zeros(12)}, "embeddings"),
    ],
    "kmeans_centroid_distance": [
        ({"num_clusters": 0}, "num_clusters"),
        ({"num_clusters": 2.0}, "num_clusters"),
        ({"batch_size": 0}, "batch_size"),
        ({"metric": "manhattan"}, "metric"),
        ({"algorithm": "kmedoids"}, "algorithm"),
        ({"pooling": "last"}, "pooling"),
        ({"precision": "int4"}, "precision"),
        ({"max_length": 0}, "max_length"),
        ({"normalize": "yes"}, "normalize"),
        ({"seed": -1}, "seed"),
        ({"text_column": ""}, "text_column"),
        ({"embeddings_column": 3}, "embeddings_column"),
        ({"embeddings": np.zeros(12)}, "embeddings"),
        ({"model": 42}, "model"),
    ],
    "semantic_duplicate": [
        ({"num_clusters": 0}, "num_clusters"),
        ({"keep": "last"}, "keep"),
        ({"batch_size": -1}, "batch_size"),
        ({"pooling": "sum"}, "pooling"),
        ({"embeddings": [[1.0, 2.0]]}, "embeddings"),
    ],
}
