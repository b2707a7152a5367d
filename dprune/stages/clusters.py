"""Stage ``clusters``: k-means over an embeddings artifact; each row's cluster and distance to its centroid.

Artifact: ``cluster_id`` (int64) and ``distance`` (float32) per embedding row, and the
file ``centroids.npy``. :func:`cluster_stage` also turns it into a scores artifact
(``kmeans_distance`` and ``cluster_id``) for the selection stage.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow as pa

from dprune.stages.embeddings import read_embeddings
from dprune.stages.runner import Stage, StageOutput, run_cached
from dprune.stages.scores import columns_stage
from dprune.vectors.kmeans import DEFAULT_REFINE_ITER, kmeans

CLUSTERS = Stage("clusters", version=1)
CENTROIDS_FILE = "centroids.npy"


def clusters_stage(
    store: Any,
    embeddings_ref: Any,
    *,
    num_clusters: int,
    algorithm: str = "auto",
    metric: str = "euclidean",
    seed: int | None = 0,
    sample_size: int | None = None,
    n_init: int | None = None,
    max_iter: int | None = None,
    refine_iter: int = DEFAULT_REFINE_ITER,
    tol: float = 1e-4,
) -> Any:
    """Cluster an embeddings artifact (see :func:`dprune.vectors.kmeans.kmeans`) and store the result."""
    config = {"num_clusters": num_clusters, "algorithm": "lloyd" if algorithm == "auto" else algorithm,
              "metric": metric, "seed": seed, "sample_size": sample_size, "n_init": n_init,
              "max_iter": max_iter, "refine_iter": refine_iter, "tol": tol}

    def compute() -> StageOutput:
        result = kmeans(read_embeddings(store, embeddings_ref), num_clusters, algorithm=algorithm, metric=metric,
                        seed=seed, sample_size=sample_size, n_init=n_init, max_iter=max_iter,
                        refine_iter=refine_iter, tol=tol, owner="the clusters stage")
        buffer = io.BytesIO()
        np.save(buffer, result.centroids, allow_pickle=False)
        schema = pa.schema([("cluster_id", pa.int64()), ("distance", pa.float32())])
        table = pa.table({"cluster_id": result.labels, "distance": result.distances}, schema=schema)
        meta = {"inertia": result.inertia, "n_iter": result.n_iter, "num_rows": int(len(result.labels)),
                "dim": int(result.centroids.shape[1])}
        return StageOutput(table, files={CENTROIDS_FILE: buffer.getvalue()}, meta=meta)

    return run_cached(store, CLUSTERS, config, compute, parents=[embeddings_ref])


def cluster_stage(
    store: Any, dataset_ref: Any, embeddings_ref: Any, *, score_column: str = "kmeans_distance", **options: Any
) -> Any:
    """k-means over the embeddings as a scores artifact: ``score_column`` (distance) and ``cluster_id``."""
    clusters_ref = clusters_stage(store, embeddings_ref, **options)
    return columns_stage(store, dataset_ref, clusters_ref, {"distance": score_column, "cluster_id": "cluster_id"})


def read_clusters(store: Any, ref: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(cluster_ids, distances)`` of a clusters artifact, in row order."""
    table = store.read_table(ref)
    return (table.column("cluster_id").to_numpy().astype(np.int64),
            table.column("distance").to_numpy().astype(np.float32))


def read_centroids(store: Any, ref: Any) -> np.ndarray:
    """The ``(k, dim)`` float32 centroids of a clusters artifact."""
    return np.load(io.BytesIO(store.read_file(ref, CENTROIDS_FILE)), allow_pickle=False)
