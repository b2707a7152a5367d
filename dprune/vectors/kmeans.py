"""k-means over embedding vectors: fast, seeded, euclidean or cosine (spherical).

:func:`kmeans` returns a :class:`KMeansResult` with, for every row, its cluster id and its
distance to its own centroid, plus the centroids. Algorithms (``algorithm=``):

``"lloyd"`` (what ``"auto"`` picks)
    dPrune's own. Greedy k-means++ seeding and up to ``max_iter`` (30) Lloyd iterations
    on a random sample of ``sample_size`` rows (default ``max(40_000, 100 k)``), then up
    to ``refine_iter`` (10) Lloyd iterations on *all* rows; each phase stops early when
    no label changes or the centroids move less than ``tol``. When the data is no bigger
    than the sample, it runs 3 seedings to convergence (up to 300 iterations) instead. Distances are computed as
    ``|c|^2 - 2 x.c`` with one float32 matrix product per block of rows (BLAS, in torch),
    so an iteration over 200,000 x 384 vectors and 100 clusters takes about 0.1 s on two
    cores; the distances reported at the end are recomputed exactly as ``|x - c|``. On
    the benchmark (``benchmarks/kmeans.py``) the inertia is within a fraction of a percent
    of scikit-learn's ``KMeans(n_init=10)`` at a small fraction of its time.
``"sklearn"``
    scikit-learn ``KMeans`` (``n_init`` default 10, the original dPrune setting) fitted on
    the sample, then every row assigned to its nearest centroid.
``"minibatch"``
    scikit-learn ``MiniBatchKMeans`` fitted on the sample, then every row assigned.
``"faiss"``
    ``faiss.Kmeans`` (``pip install "dprune[faiss]"``) fitted on the sample from k-means++
    seeds (faiss's own random seeding often puts two centres in one cluster), then every
    row assigned.

``metric="cosine"`` is spherical k-means: rows and centroids are L2-normalized and the
distance is ``1 - cos``. ``metric="euclidean"`` uses the euclidean distance. The reported
``inertia`` is the k-means objective: the sum of squared euclidean distances, or, for
cosine, the sum of ``1 - cos``.

The clusters stage (:mod:`dprune.stages.clusters`) runs this on an embeddings artifact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ALGORITHMS",
    "METRICS",
    "KMeansResult",
    "assign_clusters",
    "check_num_clusters",
    "kmeans",
]

ALGORITHMS = ("auto", "lloyd", "sklearn", "minibatch", "faiss")
METRICS = ("euclidean", "cosine")
#: Default rows used for seeding and the first Lloyd iterations (``sample_size=None``).
DEFAULT_SAMPLE_SIZE = 40_000
#: Default Lloyd iterations on all rows after a sample fit (``refine_iter``).
DEFAULT_REFINE_ITER = 10
#: Elements of one block of the row-by-centroid distance matrix (bounds memory).
_BLOCK_ELEMENTS = 1 << 22
# "lloyd" defaults depend on whether a sample is fitted (then all rows refine it) or all rows.
_DEFAULT_N_INIT = {"lloyd": (1, 3), "sklearn": 10, "minibatch": 3, "faiss": 1}
_DEFAULT_MAX_ITER = {"lloyd": (30, 300), "sklearn": 300, "minibatch": 100, "faiss": 25}


@dataclass
class KMeansResult:
    """Output of :func:`kmeans`.

    Attributes
    ----------
    centroids : ndarray of shape (k, dim), float32
        Unit vectors for ``metric="cosine"``.
    labels : ndarray of shape (n,), int64
        Cluster id of every row.
    distances : ndarray of shape (n,), float32
        Distance of every row to its own centroid (euclidean, or ``1 - cos``).
    inertia : float
        Sum of squared euclidean distances (``metric="euclidean"``) or of ``1 - cos``.
    n_iter : int
        Lloyd iterations run on all rows (``"lloyd"``) or by the fitting library.
    algorithm : str
        The algorithm that ran (``"auto"`` resolved).
    """

    centroids: np.ndarray
    labels: np.ndarray
    distances: np.ndarray
    inertia: float
    n_iter: int
    algorithm: str


# --------------------------------------------------------------------------- checks
def check_num_clusters(num_clusters: int, num_rows: int, *, owner: str = "kmeans") -> None:
    """Raise a ``ValueError`` when there are fewer rows than clusters."""
    if num_clusters > num_rows:
        raise ValueError(
            f"The 'num_clusters' parameter of {owner} is {num_clusters} but the data has only {num_rows} "
            f"row(s): k-means needs at least as many rows as clusters. Use num_clusters <= {num_rows}."
        )


def _as_matrix(vectors: Any, owner: str) -> np.ndarray:
    x = np.asarray(vectors)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"{owner} needs a 2-D array of vectors (rows, dim) with dim >= 1; got shape {x.shape}.")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"{owner} needs numeric vectors; got dtype {x.dtype}.")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
        raise ValueError(f"{owner}: vectors contain NaN or infinity at row position(s) {rows[:20].tolist()}.")
    return x


def _tensor(array: np.ndarray):
    """A torch view of a numpy array; read-only arrays (memory-mapped artifacts) are only read."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


def _normalized(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


# --------------------------------------------------------------------------- BLAS kernels
def _assign(x, centroids, x_sq, torch):
    """Nearest centroid of every row and the squared distance to it (float32, BLAS)."""
    n, k = x.shape[0], centroids.shape[0]
    c_sq = (centroids * centroids).sum(dim=1).unsqueeze(0)
    c_t = centroids.T.mul(-2.0).contiguous()  # (dim, k), contiguous: about twice as fast as a transposed view
    labels = torch.empty(n, dtype=torch.int64)
    best = torch.empty(n, dtype=torch.float32)
    block = max(256, _BLOCK_ELEMENTS // max(k, 1))
    for start in range(0, n, block):
        stop = min(start + block, n)
        g = torch.addmm(c_sq, x[start:stop], c_t)  # |c|^2 - 2 x.c
        values, index = g.min(dim=1)
        labels[start:stop] = index
        best[start:stop] = values.add_(x_sq[start:stop])
    return labels, best.clamp_(min=0.0)


def _update(x, labels, best, k, spherical, torch):
    """New centroids: the mean of each cluster; an empty cluster takes the farthest rows."""
    sums = torch.zeros((k, x.shape[1]), dtype=torch.float32)
    sums.index_add_(0, labels, x)
    counts = torch.bincount(labels, minlength=k)
    centroids = sums / counts.clamp(min=1).unsqueeze(1).to(sums.dtype)
    empty = torch.nonzero(counts == 0).flatten()
    if empty.numel():
        far = torch.argsort(best, descending=True, stable=True)[: empty.numel()]
        centroids[empty] = x[far]
    if spherical:
        centroids = torch.nn.functional.normalize(centroids, dim=1)
    return centroids


def _lloyd(x, centroids, max_iter, tol_abs, spherical, torch):
    """Lloyd iterations from ``centroids``; returns (centroids, labels, sq_dist, iterations)."""
    x_sq = (x * x).sum(dim=1)
    labels, best = _assign(x, centroids, x_sq, torch)
    iterations = 0
    for iterations in range(1, max_iter + 1):
        new = _update(x, labels, best, centroids.shape[0], spherical, torch)
        shift = float(((new - centroids) ** 2).sum())
        centroids = new
        new_labels, best = _assign(x, centroids, x_sq, torch)
        same = bool(torch.equal(new_labels, labels))
        labels = new_labels
        if same or shift <= tol_abs:
            break
    return centroids, labels, best, iterations


def _exact_distances(x: np.ndarray, centroids: np.ndarray, labels: np.ndarray, metric: str) -> np.ndarray:
    out = np.empty(x.shape[0], dtype=np.float32)
    block = max(1024, _BLOCK_ELEMENTS // max(x.shape[1], 1))
    for start in range(0, x.shape[0], block):
        stop = min(start + block, x.shape[0])
        rows, cents = x[start:stop], centroids[labels[start:stop]]
        if metric == "cosine":
            out[start:stop] = 1.0 - np.einsum("ij,ij->i", rows, cents)
        else:
            diff = rows - cents
            out[start:stop] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return np.maximum(out, 0.0) if metric == "cosine" else out


def assign_clusters(vectors: Any, centroids: Any, *, metric: str = "euclidean") -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid of every row and the distance to it (euclidean, or ``1 - cos``)."""
    import torch

    if metric not in METRICS:
        raise ValueError(f"The 'metric' parameter of assign_clusters must be one of {METRICS}. Got {metric!r} instead.")
    x = _as_matrix(vectors, "assign_clusters")
    c = _as_matrix(centroids, "assign_clusters")
    if metric == "cosine":
        x, c = _normalized(x), _normalized(c)
    xt, ct = _tensor(x), _tensor(c)
    labels, _ = _assign(xt, ct, (xt * xt).sum(dim=1), torch)
    labels_np = labels.numpy()
    return labels_np, _exact_distances(x, c, labels_np, metric)


# --------------------------------------------------------------------------- k-means
def kmeans(
    vectors: Any,
    num_clusters: int,
    *,
    algorithm: str = "auto",
    metric: str = "euclidean",
    seed: int | None = 0,
    sample_size: int | None = None,
    n_init: int | None = None,
    max_iter: int | None = None,
    refine_iter: int = DEFAULT_REFINE_ITER,
    tol: float = 1e-4,
    owner: str = "kmeans",
) -> KMeansResult:
    """Cluster ``vectors`` into ``num_clusters`` clusters (see the module docstring).

    Parameters
    ----------
    vectors : array-like of shape (n, dim)
    num_clusters : int
        ``1 <= num_clusters <= n``.
    algorithm : {"auto", "lloyd", "sklearn", "minibatch", "faiss"}
    metric : {"euclidean", "cosine"}
    seed : int or None
        Seeds sampling and initialization; the same seed gives the same result.
    sample_size : int, optional
        Rows the clustering is fitted on (all rows then get assigned); default
        ``max(40_000, 100 * num_clusters)`` (every row when n is smaller).
    n_init : int, optional
        Seedings tried (best kept). Default for ``"lloyd"``: 1 when a sample is fitted (the
        refinement on all rows follows), 3 when the sample is every row (cheap); 3 for
        ``"minibatch"``, 10 for ``"sklearn"`` (as the original dPrune), 1 for ``"faiss"``.
    max_iter : int, optional
        Iterations of the fit on the sample. Default for ``"lloyd"``: 30 when a sample is
        fitted, 300 (to convergence, like scikit-learn) when the sample is every row; else
        the library's default (300 ``KMeans``, 100 ``MiniBatchKMeans``, 25 faiss).
    refine_iter : int
        ``"lloyd"`` only: Lloyd iterations on all rows after the sample fit, when the
        sample is smaller than the data (0 keeps the sample's centroids).
    tol : float
        Stop when the squared centroid shift is below ``tol`` times the mean feature variance.
    """
    import torch

    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"The 'algorithm' parameter of {owner} must be one of {ALGORITHMS}. Got {algorithm!r} instead."
        )
    if metric not in METRICS:
        raise ValueError(f"The 'metric' parameter of {owner} must be one of {METRICS}. Got {metric!r} instead.")
    if isinstance(num_clusters, bool) or not isinstance(num_clusters, (int, np.integer)) or num_clusters < 1:
        raise ValueError(f"The 'num_clusters' parameter of {owner} must be an int >= 1. Got {num_clusters!r} instead.")
    x = _as_matrix(vectors, owner)
    n = x.shape[0]
    k = int(num_clusters)
    check_num_clusters(k, n, owner=owner)
    algorithm = "lloyd" if algorithm == "auto" else algorithm
    spherical = metric == "cosine"
    if spherical:
        x = _normalized(x)
    rng = np.random.default_rng(seed)
    m = sample_size if sample_size is not None else max(DEFAULT_SAMPLE_SIZE, 100 * k)
    m = max(k, min(int(m), n))
    sample_idx = np.sort(rng.choice(n, m, replace=False)) if m < n else None
    sample = x[sample_idx] if sample_idx is not None else x
    n_init = int(n_init) if n_init is not None else _default(_DEFAULT_N_INIT[algorithm], sample_idx is not None)
    max_iter = int(max_iter) if max_iter is not None else _default(_DEFAULT_MAX_ITER[algorithm], sample_idx is not None)
    tol_abs = float(tol) * float(sample.var(axis=0, dtype=np.float64).mean())

    labels = None
    if algorithm == "lloyd":
        centroids, n_iter, labels = _fit_lloyd(x, sample, sample_idx is not None, k, n_init, max_iter, refine_iter,
                                               tol_abs, spherical, rng, torch)
    elif algorithm == "sklearn":
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, tol=tol,
                       random_state=int(rng.integers(2**31 - 1))).fit(sample)
        centroids, n_iter = model.cluster_centers_.astype(np.float32), int(model.n_iter_)
    elif algorithm == "minibatch":
        from sklearn.cluster import MiniBatchKMeans

        model = MiniBatchKMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, tol=tol,
                                batch_size=max(1024, 3 * k), random_state=int(rng.integers(2**31 - 1))).fit(sample)
        centroids, n_iter = model.cluster_centers_.astype(np.float32), int(model.n_iter_)
    else:
        centroids, n_iter = _fit_faiss(sample, k, n_init, max_iter, spherical, rng, owner, torch)
    if spherical and algorithm != "lloyd":
        centroids = _normalized(np.asarray(centroids, dtype=np.float32))
    centroids = np.ascontiguousarray(centroids, dtype=np.float32)
    if labels is None:  # the fit did not end with an assignment of every row to these centroids
        xt, ct = _tensor(x), _tensor(centroids)
        labels = _assign(xt, ct, (xt * xt).sum(dim=1), torch)[0].numpy()
    labels = labels.astype(np.int64, copy=False)
    distances = _exact_distances(x, centroids, labels, metric)
    d64 = distances.astype(np.float64)
    inertia = float(d64.sum()) if spherical else float((d64 * d64).sum())
    return KMeansResult(centroids, labels, distances, inertia, int(n_iter), algorithm)


def _kmeans_plusplus(x, k, rng, torch):
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, as in scikit-learn), in torch.

    Each new centre is the best of ``2 + ln k`` candidates drawn with probability
    proportional to the squared distance to the nearest centre chosen so far.
    """
    n = x.shape[0]
    trials = 2 + int(np.log(k))
    x_sq = (x * x).sum(dim=1)
    first = int(rng.integers(n))
    centers = torch.empty((k, x.shape[1]), dtype=torch.float32)
    centers[0] = x[first]
    closest = (x_sq - 2.0 * torch.mv(x, x[first]) + x_sq[first]).clamp_(min=0.0)
    for c in range(1, k):
        total = float(closest.sum(dtype=torch.float64))
        if total <= 0.0:  # every row coincides with a centre: any row will do
            candidates = rng.integers(n, size=trials)
        else:
            cumulative = torch.cumsum(closest.to(torch.float64), dim=0).numpy()
            candidates = np.searchsorted(cumulative, rng.random(trials) * cumulative[-1], side="right")
            candidates = np.minimum(candidates, n - 1)
        cand = x[torch.from_numpy(candidates)]
        g = torch.mm(x, cand.T.contiguous())  # (n, trials)
        dist = (x_sq.unsqueeze(1) - 2.0 * g + (cand * cand).sum(dim=1).unsqueeze(0)).clamp_(min=0.0)
        dist = torch.minimum(dist, closest.unsqueeze(1))
        best = int(torch.argmin(dist.sum(dim=0, dtype=torch.float64)))
        centers[c] = cand[best]
        closest = dist[:, best].contiguous()
    return centers


def _default(value: Any, sampled: bool) -> int:
    return (value[0] if sampled else value[1]) if isinstance(value, tuple) else value


def _fit_lloyd(x, sample, sampled, k, n_init, max_iter, refine_iter, tol_abs, spherical, rng, torch):
    st = _tensor(sample)
    best = None
    for _ in range(max(1, n_init)):
        init_t = _kmeans_plusplus(st, k, rng, torch)
        if spherical:
            init_t = torch.nn.functional.normalize(init_t, dim=1)
        centroids, labels, sq, iterations = _lloyd(st, init_t, max_iter, tol_abs, spherical, torch)
        inertia = float(sq.to(torch.float64).sum())
        if best is None or inertia < best[0]:
            best = (inertia, centroids, iterations, labels)
    centroids, n_iter, labels = best[1], best[2], best[3]
    if not sampled:
        return centroids.numpy(), n_iter, labels.numpy()
    if refine_iter > 0:
        centroids, labels, _, n_iter = _lloyd(_tensor(x), centroids, refine_iter, tol_abs, spherical, torch)
        return centroids.numpy(), n_iter, labels.numpy()
    return centroids.numpy(), n_iter, None


def _fit_faiss(sample, k, n_init, max_iter, spherical, rng, owner, torch):
    """faiss Lloyd iterations from k-means++ seeds (faiss's own random seeding is much worse)."""
    try:
        import faiss
    except ImportError as error:
        raise ImportError(
            f"{owner} with algorithm='faiss' needs faiss: pip install \"dprune[faiss]\" (or pip install faiss-cpu)."
        ) from error
    data = np.ascontiguousarray(sample, dtype=np.float32)
    best = None
    for _ in range(max(1, n_init)):
        init = _kmeans_plusplus(_tensor(data), k, rng, torch).numpy()
        if spherical:
            init = _normalized(init)
        model = faiss.Kmeans(data.shape[1], k, niter=max_iter, nredo=1, seed=int(rng.integers(2**31 - 1)),
                             spherical=spherical, max_points_per_centroid=max(256, -(-data.shape[0] // k)),
                             verbose=False)
        model.train(data, init_centroids=np.ascontiguousarray(init, dtype=np.float32))
        objective = float(model.obj[-1]) if len(model.obj) else float("inf")
        if best is None or objective < best[0]:
            best = (objective, np.asarray(model.centroids, dtype=np.float32).copy())
    return best[1], max_iter
