"""KMeansCentroidDistanceScorer: distance of every example to its k-means centroid.

Examples close to their centroid are typical of their cluster; far ones are outliers
or rare. Keep the typical ones with ``BottomKPruner``, the unusual ones with
``TopKPruner`` (Sorscher et al. 2022 keep the hard, far examples when data is plentiful).

Vectors come from, in this order: ``embeddings_column`` (a list column of the dataset),
``embeddings`` (an ``(n, dim)`` array or the ``ArtifactRef`` of an embeddings artifact
written by :func:`dprune.stages.embeddings.embed_stage`), or the text column embedded
with ``model`` (default: the bundled all-MiniLM-L6-v2).

Differences from the original dPrune scorer (same constructor arguments, same
positional order):

* ``model``/``tokenizer`` may be omitted (bundled default model) or given as a name/path;
* pooling follows the model (mean pooling + L2 normalization for all-MiniLM-L6-v2, as
  sentence-transformers does); the original used the CLS vector of the last hidden
  state: pass ``pooling="cls", normalize=False, max_length=512`` to reproduce it;
* k-means is dPrune's fast seeded k-means (``algorithm="auto"``); the original ran
  scikit-learn ``KMeans(n_init=10, random_state=42)``, i.e. ``algorithm="sklearn", seed=...``
  (the seed is passed through a generator, so values differ from ``random_state=42``);
* ``num_clusters`` larger than the number of rows raises a ``ValueError`` saying so.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from datasets import Dataset

from dprune.core.base import Scorer
from dprune.vectors.kmeans import ALGORITHMS, METRICS, check_num_clusters, kmeans
from dprune.scorers.vectors import vectors_for
from dprune.text.embedding import EMBEDDING_CONSTRAINTS, TextEmbedder
from dprune.models import DEFAULT_MODEL, model_identity, resolve_model_name
from dprune.core.params import NON_EMPTY_STR, NONE, SEED, Interval, Options, Predicate
from dprune.core.registry import register_scorer

__all__ = ["KMeansCentroidDistanceScorer"]

_EMBEDDINGS = Predicate(
    lambda v: v is None
    or (isinstance(v, np.ndarray) and v.ndim == 2 and np.issubdtype(v.dtype, np.number))
    or all(isinstance(getattr(v, a, None), str) for a in ("root", "stage", "key")),
    "None, a numeric array of shape (rows, dim), or the ArtifactRef of an embeddings artifact",
)

#: Parameter constraints shared by the scorers that work on embedding vectors.
VECTOR_SCORER_CONSTRAINTS = {
    **{name: EMBEDDING_CONSTRAINTS[name] for name in (
        "model", "tokenizer", "pooling", "max_length", "normalize", "batch_size", "device", "precision")},
    "text_column": [NON_EMPTY_STR],
    "embeddings_column": [NONE, NON_EMPTY_STR],
    "embeddings": [_EMBEDDINGS],
    "algorithm": [Options(ALGORITHMS)],
    "seed": [SEED],
    "score_column": [NON_EMPTY_STR],
}


class VectorScorerMixin:
    """Shared plumbing of scorers that read or compute one embedding vector per row."""

    def required_columns(self) -> list[str]:
        if self.embeddings_column is not None:
            return [self.embeddings_column]
        if self.embeddings is not None:
            return []
        return [self.text_column]

    def _embeds_text(self) -> bool:
        return self.embeddings_column is None and self.embeddings is None

    def make_embedder(self) -> TextEmbedder:
        """The :class:`~dprune.text.embedding.TextEmbedder` this scorer uses for text."""
        return TextEmbedder(
            self.model, self.tokenizer, pooling=self.pooling, max_length=self.max_length, normalize=self.normalize,
            batch_size=self.batch_size, device=self.device, precision=self.precision, owner=type(self).__name__,
        )

    def vectors(self, dataset: Dataset) -> np.ndarray:
        """The ``(len(dataset), dim)`` float32 vectors the scorer clusters."""
        return vectors_for(
            dataset, owner=type(self).__name__, text_column=self.text_column,
            embeddings_column=self.embeddings_column, embeddings=self.embeddings,
            embedder=self.make_embedder() if self._embeds_text() else None,
        )

    def config(self) -> dict[str, Any]:
        """As :meth:`dprune.core.base.Component.config`, plus the weights hash of a model given by name."""
        config = super().config()  # type: ignore[misc]
        if self._embeds_text() and (self.model is None or isinstance(self.model, (str, os.PathLike))):
            source = resolve_model_name(DEFAULT_MODEL if self.model is None else os.fspath(self.model))
            config["model_identity"] = model_identity(source)
        return config


@register_scorer("kmeans_centroid_distance")
class KMeansCentroidDistanceScorer(VectorScorerMixin, Scorer):
    """Score each example by its distance to the centroid of its k-means cluster.

    Parameters
    ----------
    model : None, str or transformers model
        Encoder for the text; ``None`` is the bundled all-MiniLM-L6-v2.
    tokenizer : None, str or tokenizer
        ``None`` uses the model's own tokenizer.
    text_column : str
        Column with the text (ignored when vectors are given).
    num_clusters : int
        Number of clusters, at most the number of rows.
    batch_size : int
        Texts per forward pass.
    embeddings_column : str, optional
        Use this list column of precomputed vectors instead of embedding the text.
    embeddings : ndarray or ArtifactRef, optional
        Precomputed vectors aligned with the dataset's rows (an array, or an embeddings artifact).
    metric : {"euclidean", "cosine"}
        Euclidean distance, or cosine distance ``1 - cos`` with spherical k-means.
    algorithm : {"auto", "lloyd", "sklearn", "minibatch", "faiss"}
        See :mod:`dprune.vectors.kmeans`.
    seed : int
        Seeds the clustering; the same seed gives the same scores.
    pooling, max_length, normalize, precision, device
        Embedding options, see :class:`dprune.text.embedding.TextEmbedder`.
    score_column : str
        Output column (default ``"score"``; replaced if it exists).

    Attributes
    ----------
    cluster_ids_ : ndarray of shape (n,)
    centroids_ : ndarray of shape (num_clusters, dim)
    inertia_ : float
    """

    _parameter_constraints = {
        **VECTOR_SCORER_CONSTRAINTS,
        "num_clusters": [Interval(int, 1, None)],
        "metric": [Options(METRICS)],
    }

    def __init__(
        self,
        model: Any = None,
        tokenizer: Any = None,
        text_column: str = "text",
        num_clusters: int = 8,
        batch_size: int = 64,
        *,
        embeddings_column: str | None = None,
        embeddings: Any = None,
        metric: str = "euclidean",
        algorithm: str = "auto",
        seed: int = 0,
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
        self.num_clusters = num_clusters
        self.batch_size = batch_size
        self.embeddings_column = embeddings_column
        self.embeddings = embeddings
        self.metric = metric
        self.algorithm = algorithm
        self.seed = seed
        self.pooling = pooling
        self.max_length = max_length
        self.normalize = normalize
        self.precision = precision
        self.device = device
        self.score_column = score_column

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        owner = type(self).__name__
        check_num_clusters(self.num_clusters, len(dataset), owner=owner)
        vectors = self.vectors(dataset)
        result = kmeans(vectors, self.num_clusters, algorithm=self.algorithm, metric=self.metric, seed=self.seed,
                        owner=owner)
        self.cluster_ids_ = result.labels
        self.centroids_ = result.centroids
        self.inertia_ = result.inertia
        return result.distances.astype(np.float64)
