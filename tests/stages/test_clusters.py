"""Stage ``clusters``: k-means over an embeddings artifact, stored with its centroids."""

from __future__ import annotations

import numpy as np

from dprune.stages.clusters import CLUSTERS, clusters_stage, read_centroids, read_clusters
from dprune.stages.embeddings import EMBEDDINGS
from dprune.store import ArtifactStore
from dprune.vectors.arrays import embeddings_to_table
from dprune.vectors.kmeans import kmeans


def blobs(n: int, k: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim)) * 5
    return (centers[rng.integers(0, k, n)] + rng.normal(size=(n, dim)) * 0.3).astype(np.float32)


def test_cluster_artifact_round_trip(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    x = blobs(n=120, k=3)
    emb_ref = store.write_table(EMBEDDINGS.name, "a" * 32, embeddings_to_table(x), config={"test": True})
    ref = clusters_stage(store, emb_ref, num_clusters=3, seed=1)
    assert ref.stage == CLUSTERS.name
    labels, distances = read_clusters(store, ref)
    direct = kmeans(x, 3, seed=1)
    np.testing.assert_array_equal(labels, direct.labels)
    np.testing.assert_allclose(distances, direct.distances)
    np.testing.assert_array_equal(read_centroids(store, ref), direct.centroids)
    assert clusters_stage(store, emb_ref, num_clusters=3, seed=1) == ref
    assert clusters_stage(store, emb_ref, num_clusters=3, seed=2) != ref
    assert clusters_stage(store, emb_ref, num_clusters=3, seed=1, metric="cosine") != ref
