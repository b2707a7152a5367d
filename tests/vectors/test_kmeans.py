"""k-means (dprune.vectors.kmeans): correctness, determinism, metrics, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dprune.vectors.kmeans import assign_clusters, kmeans


def blobs(n: int = 600, k: int = 4, dim: int = 8, spread: float = 0.3, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim)) * 5
    truth = rng.integers(k, size=n)
    return (centers[truth] + rng.normal(size=(n, dim)) * spread).astype(np.float32), truth


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("algorithm", ["auto", "sklearn", "minibatch"])
def test_recovers_separated_blobs(algorithm):
    x, truth = blobs()
    result = kmeans(x, 4, algorithm=algorithm, seed=0)
    assert _same_partition(result.labels, truth)
    assert result.centroids.shape == (4, 8) and result.centroids.dtype == np.float32
    expected = np.linalg.norm(x - result.centroids[result.labels], axis=1)
    np.testing.assert_allclose(result.distances, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.inertia, float((expected.astype(np.float64) ** 2).sum()), rtol=1e-4)
    assert result.algorithm == ("lloyd" if algorithm == "auto" else algorithm)


def test_same_seed_same_result_and_labels_are_nearest_centroids():
    x, _ = blobs(n=400, k=6, spread=2.0)
    a = kmeans(x, 6, seed=5)
    b = kmeans(x, 6, seed=5)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    d = np.linalg.norm(x[:, None, :] - a.centroids[None], axis=2)
    np.testing.assert_array_equal(a.labels, d.argmin(axis=1))


def test_sampled_fit_matches_full_sklearn_quality():
    from sklearn.cluster import KMeans

    x, _ = blobs(n=6000, k=12, dim=16, spread=3.0, seed=1)
    ours = kmeans(x, 12, seed=0, sample_size=1500)
    reference = KMeans(12, n_init=10, random_state=0).fit(x)
    assert ours.inertia <= reference.inertia_ * 1.01


def test_cosine_is_spherical():
    x, truth = blobs(n=300, k=3, dim=6)
    scaled = x * np.random.default_rng(1).uniform(0.5, 20, size=(len(x), 1)).astype(np.float32)
    a = kmeans(x, 3, metric="cosine", seed=0)
    b = kmeans(scaled, 3, metric="cosine", seed=0)
    np.testing.assert_array_equal(a.labels, b.labels)  # row lengths do not matter
    np.testing.assert_allclose(np.linalg.norm(a.centroids, axis=1), 1.0, atol=1e-5)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(a.distances, 1 - np.sum(unit * a.centroids[a.labels], axis=1), atol=1e-5)
    assert a.distances.min() >= 0 and a.distances.max() <= 2
    np.testing.assert_allclose(a.inertia, a.distances.astype(np.float64).sum(), rtol=1e-5)


def test_as_many_clusters_as_rows_and_duplicate_rows():
    x, _ = blobs(n=5, k=5)
    result = kmeans(x, 5, seed=0)
    assert sorted(result.labels.tolist()) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(result.distances, 0, atol=1e-5)
    same = np.ones((6, 3), dtype=np.float32)  # fewer distinct points than clusters: no crash
    result = kmeans(same, 3, seed=0)
    assert result.labels.shape == (6,) and np.allclose(result.distances, 0)


def test_bad_input_is_explained():
    x, _ = blobs(n=4)
    with pytest.raises(ValueError, match=r"'num_clusters'.*5.*only 4 row"):
        kmeans(x, 5)
    with pytest.raises(ValueError, match="num_clusters"):
        kmeans(x, 0)
    with pytest.raises(ValueError, match="2-D"):
        kmeans(np.zeros(5), 2)
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*\[2\]"):
        kmeans(bad, 2)
    with pytest.raises(ValueError, match="'metric'"):
        kmeans(x, 2, metric="manhattan")
    with pytest.raises(ValueError, match="'algorithm'"):
        kmeans(x, 2, algorithm="kmedoids")


def test_faiss_backend_or_install_hint():
    x, truth = blobs()
    try:
        import faiss  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"dprune\[faiss\]"):
            kmeans(x, 4, algorithm="faiss")
    else:
        result = kmeans(x, 4, algorithm="faiss", seed=0)
        assert _same_partition(result.labels, truth)


def test_assign_clusters_matches_brute_force():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 5)).astype(np.float32)
    c = rng.normal(size=(4, 5)).astype(np.float32)
    labels, dist = assign_clusters(x, c)
    d = np.linalg.norm(x[:, None] - c[None], axis=2)
    np.testing.assert_array_equal(labels, d.argmin(1))
    np.testing.assert_allclose(dist, d.min(1), rtol=1e-5)
