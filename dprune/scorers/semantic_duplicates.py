"""SemanticDuplicateScorer: SemDeDup (Abbas et al. 2023) as a score.

Rows are embedded, clustered with spherical k-means, and ranked inside each cluster
(``keep=``). An example's score is its **highest cosine similarity to an
earlier-ranked example of the same cluster**; the first-ranked example of a cluster
scores ``-1.0`` (the lowest possible similarity: it has nobody before it).

So in a group of near-duplicates, the earliest-ranked member scores low (its
similarity to the examples ranked before it, none of which is in the group) and every
other member scores close to 1. Removing the rows whose score exceeds a threshold
``1 - eps`` (``score < threshold`` is kept) therefore keeps **exactly one** member of each
group of mutual duplicates -- the earliest-ranked -- and the scores do not depend on
the threshold. This is the rule of the SemDeDup paper: a row is removed when it is
more similar than the threshold to *any* earlier-ranked row, even one that is itself
removed, so a chain ``a ~ b ~ c`` with ``a`` not similar to ``c`` keeps only ``a``.

``keep`` decides the ranking, i.e. which member of a group is kept:

``"first"`` (default)
    dataset order: the earliest row is kept (predictable, stable under appending rows);
``"central"``
    closest to the cluster centroid first: the most prototypical member is kept;
``"peripheral"``
    farthest from the centroid first: the choice of the SemDeDup paper, which found
    that keeping the less prototypical member helps slightly.

Ties are broken by row position. Duplicates split across two clusters are not
compared (that is the price of clustering, as in the paper); ``num_clusters=None``
uses ``ceil(n / 5000)`` clusters, so up to 5,000 rows every pair is compared exactly.
Similarities are computed block by block in float32 with one matrix product per block.

Attributes after scoring: ``cluster_ids_``, ``centroids_``, and ``duplicate_of_``: for
each row, the position of its most similar earlier-ranked row in the same cluster
(``-1`` for the first-ranked row of a cluster).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from datasets import Dataset

from dprune.core.base import Scorer
from dprune.vectors.kmeans import check_num_clusters, kmeans
from dprune.core.params import NONE, Interval, Options
from dprune.core.registry import register_scorer
from dprune.scorers.kmeans import VECTOR_SCORER_CONSTRAINTS, VectorScorerMixin

__all__ = ["KEEP_OPTIONS", "SemanticDuplicateScorer", "earlier_max_similarity"]

KEEP_OPTIONS = ("first", "central", "peripheral")
#: Rows per cluster aimed at by ``num_clusters=None``.
AUTO_CLUSTER_ROWS = 5000
_BLOCK_ELEMENTS = 1 << 24


def earlier_max_similarity(unit_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows in rank order, each row's highest cosine similarity to an earlier row.

    Parameters
    ----------
    unit_vectors : ndarray of shape (m, dim)
        L2-normalized vectors, already in rank order.

    Returns
    -------
    (similarity, argmax) : ndarray of shape (m,) each
        ``similarity[0] == -1`` and ``argmax[0] == -1``; ``argmax[i]`` is the rank of the
        most similar earlier row.
    """
    import torch

    m = unit_vectors.shape[0]
    sim = np.full(m, -1.0, dtype=np.float64)
    arg = np.full(m, -1, dtype=np.int64)
    if m < 2:
        return sim, arg
    x = torch.from_numpy(np.ascontiguousarray(unit_vectors, dtype=np.float32))
    block = max(1, _BLOCK_ELEMENTS // m)
    for start in range(1, m, block):
        stop = min(start + block, m)
        g = x[start:stop] @ x[:stop].T  # rows start..stop-1 against every row before stop
        rows = torch.arange(start, stop).unsqueeze(1)
        cols = torch.arange(stop).unsqueeze(0)
        g.masked_fill_(cols >= rows, -float("inf"))  # only strictly earlier ranks count
        values, index = g.max(dim=1)
        sim[start:stop] = values.clamp_(-1.0, 1.0).numpy()
        arg[start:stop] = index.numpy()
    return sim, arg


@register_scorer("semantic_duplicate")
class SemanticDuplicateScorer(VectorScorerMixin, Scorer):
    """Score each example by its cosine similarity to the nearest earlier-ranked example of its cluster.

    Near-duplicates score close to 1; remove rows with ``score >= 1 - eps`` to keep one
    example per duplicate group (see the module docstring for which one).

    Parameters
    ----------
    model, tokenizer, text_column, batch_size, embeddings_column, embeddings, algorithm, seed,
    pooling, max_length, normalize, precision, device, score_column
        As for :class:`~dprune.scorers.kmeans.KMeansCentroidDistanceScorer`.
    num_clusters : int, optional
        Spherical k-means clusters to search within; ``None``: ``ceil(n / 5000)``.
    keep : {"first", "central", "peripheral"}
        Ranking inside a cluster, i.e. which duplicate keeps the low score.
    """

    _parameter_constraints = {
        **VECTOR_SCORER_CONSTRAINTS,
        "num_clusters": [NONE, Interval(int, 1, None)],
        "keep": [Options(KEEP_OPTIONS)],
    }

    def __init__(
        self,
        model: Any = None,
        tokenizer: Any = None,
        text_column: str = "text",
        num_clusters: int | None = None,
        batch_size: int = 64,
        *,
        keep: str = "first",
        embeddings_column: str | None = None,
        embeddings: Any = None,
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
        self.keep = keep
        self.embeddings_column = embeddings_column
        self.embeddings = embeddings
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
        n = len(dataset)
        k = self.num_clusters if self.num_clusters is not None else max(1, math.ceil(n / AUTO_CLUSTER_ROWS))
        check_num_clusters(k, n, owner=owner)
        vectors = self.vectors(dataset)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        if k == 1:
            labels = np.zeros(n, dtype=np.int64)
            centroid = unit.mean(axis=0, keepdims=True)
            centroids = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
            distances = 1.0 - unit @ centroids[0]
        else:
            result = kmeans(unit, k, algorithm=self.algorithm, metric="cosine", seed=self.seed, owner=owner)
            labels, centroids, distances = result.labels, result.centroids, result.distances
        scores = np.full(n, -1.0, dtype=np.float64)
        duplicate_of = np.full(n, -1, dtype=np.int64)
        by_cluster = np.argsort(labels, kind="stable")  # row positions, grouped, ascending within a cluster
        bounds = np.flatnonzero(np.diff(labels[by_cluster])) + 1
        for members in np.split(by_cluster, bounds):
            if self.keep != "first":
                # Rounded, so that copies of one text (equal up to float noise) tie and the earlier row wins.
                rank = np.round(distances[members].astype(np.float64), 6)
                members = members[np.lexsort((members, rank if self.keep == "central" else -rank))]
            sim, arg = earlier_max_similarity(unit[members])
            scores[members] = sim
            duplicate_of[members] = np.where(arg >= 0, members[np.maximum(arg, 0)], -1)
        self.cluster_ids_ = labels
        self.centroids_ = np.asarray(centroids, dtype=np.float32)
        self.duplicate_of_ = duplicate_of
        return scores
