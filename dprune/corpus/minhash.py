"""Near-duplicates: MinHash signatures, LSH banding, verified candidate pairs, connected components.

The steps, each a function on arrays so that a stage can run them shard by shard:

1. :func:`shingle_hashes` -- the normalized text of each document as a set of word
   ``ngram``-grams (default 5 words) or character ``ngram``-grams, hashed to uint64.
   A document shorter than ``ngram`` tokens is one shingle of all its tokens.
2. :func:`minhash_signatures` -- ``num_perm`` minima of universal hashes of the shingles
   (uint32 each). ``backend="rensa"`` (default) calls the Rust ``rensa`` library (its
   ``RMinHash``, from a flat buffer of shingle hashes); ``backend="numpy"`` is our own
   multiply-shift hashing vectorized over all shingles of a batch (a different hash family,
   so different but equally valid signatures; no native dependency). On documents of
   ~130 words rensa is about 2x faster; ``benchmarks/corpus.py`` compares both with
   datasketch's pure-Python MinHash.
3. :func:`candidate_pairs` -- LSH banding: ``bands`` bands of ``rows`` signature values; two
   documents whose values agree on a whole band are candidates. :func:`lsh_parameters`
   picks the banding for a Jaccard ``threshold`` so that a pair *at* the threshold becomes
   a candidate with probability >= ``min_recall`` (0.99), with as few false candidates as
   that allows; verification removes the false ones. Inside a bucket each member is paired
   with the bucket's first member and with the member before it (linear in the bucket
   size, never quadratic).
4. :func:`shingle_jaccard` / :func:`signature_similarity` -- verification of the candidates:
   the exact Jaccard similarity of the shingle sets, or its MinHash estimate.
5. :func:`components` -- connected components over the verified pairs (scipy's
   ``csgraph``); the earliest row of each component is kept, every later row is its
   duplicate. A chain ``a ~ b ~ c`` is one component even when ``a`` and ``c`` are not
   similar themselves (as in datatrove and NeMo Curator).

:func:`near_duplicates` runs the five steps over a collection, keeping only the signatures in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import itertools

import numpy as np
import pyarrow as pa

from dprune.corpus.hashing import mix64, ngram_hashes, string_hashes
from dprune.corpus.tokens import as_string_array, split_words
from dprune.text.normalization import NormalizerSpec, resolve_normalizer

__all__ = [
    "BACKENDS",
    "band_keys",
    "NearDuplicates",
    "SHINGLE_UNITS",
    "VERIFY_MODES",
    "candidate_pairs",
    "components",
    "document_signatures",
    "lsh_parameters",
    "minhash_signatures",
    "near_duplicates",
    "pair_jaccard",
    "pairs_from_band_keys",
    "shingle_hashes",
    "shingle_jaccard",
    "signature_similarity",
]

SHINGLE_UNITS = ("word", "char")
BACKENDS = ("numpy", "rensa")
VERIFY_MODES = ("exact", "estimate", "none")
_EMPTY = np.uint32(0xFFFFFFFF)


def shingle_hashes(
    texts, *, unit: str = "word", ngram: int = 5, normalizer: NormalizerSpec = None
) -> tuple[np.ndarray, np.ndarray]:
    """uint64 hashes of every shingle of every document, and per-document offsets into them.

    Shingles are taken from the normalized text (:class:`~dprune.text.normalization.TextNormalizer`):
    ``unit="word"``: ``ngram`` consecutive words; ``unit="char"``: ``ngram`` consecutive
    characters (Unicode code points) of the normalized text, spaces included. Repeated
    shingles of a document are kept (a set is what MinHash sees, so repeats do not matter).
    """
    if unit not in SHINGLE_UNITS:
        raise ValueError(f"The 'unit' parameter must be one of {list(SHINGLE_UNITS)}. Got {unit!r} instead.")
    normalized = resolve_normalizer(normalizer).normalize_array(as_string_array(texts))
    if unit == "word":
        words = split_words(normalized)
        return ngram_hashes(string_hashes(words.values), words.offsets, ngram)
    pieces = normalized.to_pylist()
    lengths = np.fromiter((len(p) if p else 0 for p in pieces), dtype=np.int64, count=len(pieces))
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = np.frombuffer("".join(p for p in pieces if p).encode("utf-32-le"), dtype=np.uint32)
    return ngram_hashes(mix64(codes.astype(np.uint64)), offsets, ngram)


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 0x4D494E48])  # "MINH"
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return a, b


def minhash_signatures(
    hashes: np.ndarray, offsets: np.ndarray, *, num_perm: int = 128, seed: int = 0, backend: str = "rensa"
) -> np.ndarray:
    """MinHash signatures, shape ``(num_docs, num_perm)``, uint32.

    A document without shingles gets the all-``0xFFFFFFFF`` signature (no shingle,
    no minimum); :func:`candidate_pairs` never pairs it.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    n = offsets.size - 1
    if backend == "rensa":
        import rensa

        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            hashes, offsets.astype(np.uint64), num_perm, seed
        )
        values = itertools.chain.from_iterable(matrix.to_rows())
        return np.fromiter(values, dtype=np.uint32, count=n * num_perm).reshape(n, num_perm)
    if backend != "numpy":
        raise ValueError(f"The 'backend' parameter must be one of {list(BACKENDS)}. Got {backend!r} instead.")
    signatures = np.full((n, num_perm), _EMPTY, dtype=np.uint32)
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    if nonempty.size == 0:
        return signatures
    starts = offsets[nonempty]
    a, b = _permutations(num_perm, seed)
    shift = np.uint64(32)
    with np.errstate(over="ignore"):
        for p in range(num_perm):
            values = (hashes * a[p] + b[p]) >> shift
            signatures[nonempty, p] = np.minimum.reduceat(values, starts)
    return signatures


def lsh_parameters(num_perm: int, threshold: float, min_recall: float = 0.99) -> tuple[int, int]:
    """``(bands, rows)`` with ``bands * rows <= num_perm`` for a Jaccard ``threshold``.

    The largest ``rows`` (fewest false candidates) such that a pair with Jaccard exactly
    ``threshold`` is a candidate with probability ``1 - (1 - threshold**rows)**bands >=
    min_recall``, with ``bands = num_perm // rows``. Falls back to ``rows=1`` when none does.
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= min_recall:
            best = (bands, rows)
    return best


def band_keys(signatures: np.ndarray, bands: int, rows: int, first_band: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One uint64 key per document and band, shape ``(n, bands)``, and which documents have shingles.

    Two documents share a band key when their ``rows`` signature values in that band agree
    (up to 64-bit hash collisions). Computed batch by batch, the keys of a corpus are the
    keys of its batches stacked: 8 bytes per band and document. ``first_band`` starts at a
    later band (the keys of bands ``first_band .. first_band + bands - 1``).
    """
    n, num_perm = signatures.shape
    if (first_band + bands) * rows > num_perm:
        raise ValueError(
            f"LSH banding needs (first_band + bands) * rows <= num_perm; got first_band={first_band}, "
            f"bands={bands}, rows={rows}, num_perm={num_perm}."
        )
    keys = np.empty((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column_of, band in enumerate(range(first_band, first_band + bands)):
            block = signatures[:, band * rows:(band + 1) * rows].astype(np.uint64)
            key = np.full(n, np.uint64(band))
            for column in range(rows):
                key = mix64(key * np.uint64(0x100000001B3) + block[:, column])
            keys[:, column_of] = key
    return keys, ~(signatures == _EMPTY).all(axis=1)


def pairs_from_band_keys(keys: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Unique pairs ``(i, j)``, ``i < j``, of usable documents sharing a key in some band."""
    n = keys.shape[0]
    rows_of = np.flatnonzero(usable)
    found = []
    for band in range(keys.shape[1]):
        key = keys[rows_of, band]
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        same = sorted_key[1:] == sorted_key[:-1]
        if not same.any():
            continue
        members = rows_of[order]
        run_start = np.zeros(members.size, dtype=np.int64)
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        run_start[starts] = starts
        run_start = np.maximum.accumulate(run_start)
        later = np.flatnonzero(np.concatenate(([False], same)))
        found.append(np.stack([members[run_start[later]], members[later]], axis=1))
        found.append(np.stack([members[later - 1], members[later]], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(found), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    codes = np.unique(pairs[:, 0] * np.int64(n) + pairs[:, 1])
    return np.stack([codes // n, codes % n], axis=1)


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Unique candidate pairs ``(i, j)`` with ``i < j``, shape ``(m, 2)``, from LSH banding."""
    return pairs_from_band_keys(*band_keys(signatures, bands, rows))


def signature_similarity(signatures: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """MinHash estimate of the Jaccard similarity of each pair: the share of equal signature values."""
    if len(pairs) == 0:
        return np.zeros(0, dtype=np.float64)
    return (signatures[pairs[:, 0]] == signatures[pairs[:, 1]]).mean(axis=1)


def _unique_sets(hashes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per document, its distinct shingle hashes (sorted), with offsets."""
    counts = np.diff(offsets)
    doc = np.repeat(np.arange(counts.size), counts)
    order = np.lexsort((hashes, doc))
    h, d = hashes[order], doc[order]
    keep = np.ones(h.size, dtype=bool)
    keep[1:] = (h[1:] != h[:-1]) | (d[1:] != d[:-1])
    unique_counts = np.bincount(d[keep], minlength=counts.size)
    unique_offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(unique_counts, out=unique_offsets[1:])
    return h[keep], unique_offsets


def _ragged_take(values: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``values[offsets[r]:offsets[r + 1]]`` for each ``r`` in ``rows``; also the lengths."""
    lengths = offsets[rows + 1] - offsets[rows]
    starts = np.repeat(offsets[rows] - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return values[starts + np.arange(lengths.sum())], lengths


def shingle_jaccard(
    hashes: np.ndarray, offsets: np.ndarray, pairs: np.ndarray, *, chunk_pairs: int = 50_000
) -> np.ndarray:
    """Exact Jaccard similarity of the shingle sets of each pair (0 when both are empty)."""
    result = np.zeros(len(pairs), dtype=np.float64)
    if len(pairs) == 0:
        return result
    sets, set_offsets = _unique_sets(np.asarray(hashes, dtype=np.uint64), np.asarray(offsets, dtype=np.int64))
    for start in range(0, len(pairs), chunk_pairs):
        chunk = pairs[start:start + chunk_pairs]
        left, left_n = _ragged_take(sets, set_offsets, chunk[:, 0])
        right, right_n = _ragged_take(sets, set_offsets, chunk[:, 1])
        ids = np.concatenate([np.repeat(np.arange(len(chunk)), left_n), np.repeat(np.arange(len(chunk)), right_n)])
        values = np.concatenate([left, right])
        order = np.lexsort((values, ids))
        ids, values = ids[order], values[order]
        shared = (values[1:] == values[:-1]) & (ids[1:] == ids[:-1])  # a value twice in one pair: in both sets
        intersection = np.bincount(ids[1:][shared], minlength=len(chunk))
        union = left_n + right_n - intersection
        result[start:start + len(chunk)] = np.divide(intersection, union, out=np.zeros(len(chunk)), where=union > 0)
    return result


def components(num_rows: int, pairs: np.ndarray) -> np.ndarray:
    """For each row, the earliest row of its connected component over ``pairs`` (itself when alone)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(pairs) == 0:
        return np.arange(num_rows, dtype=np.int64)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(num_rows, num_rows))
    _, labels = connected_components(graph, directed=False)
    first = np.full(labels.max() + 1, num_rows, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(num_rows, dtype=np.int64))
    return first[labels]


@dataclass(frozen=True)
class NearDuplicates:
    """Result of :func:`near_duplicates`.

    Attributes
    ----------
    pairs : ndarray of int64, shape (m, 2)
        Verified pairs ``(i, j)``, ``i < j``, with similarity >= the threshold.
    similarity : ndarray of float64, shape (m,)
        Their similarity (exact Jaccard, or the MinHash estimate).
    representative : ndarray of int64
        For each row, the earliest row of its component (itself when it has no duplicate).
    num_candidates : int
        Candidate pairs from LSH before verification.
    """

    pairs: np.ndarray
    similarity: np.ndarray
    representative: np.ndarray
    num_candidates: int

    @property
    def is_duplicate(self) -> np.ndarray:
        """True for every row that is not the earliest of its component."""
        return self.representative != np.arange(self.representative.size)


def document_signatures(
    texts,
    *,
    unit: str = "word",
    ngram: int = 5,
    num_perm: int = 128,
    seed: int = 0,
    normalizer: NormalizerSpec = None,
    backend: str = "rensa",
) -> np.ndarray:
    """Signatures of a batch of documents: :func:`shingle_hashes` then :func:`minhash_signatures`."""
    hashes, offsets = shingle_hashes(texts, unit=unit, ngram=ngram, normalizer=normalizer)
    return minhash_signatures(hashes, offsets, num_perm=num_perm, seed=seed, backend=backend)


def pair_jaccard(
    pairs: np.ndarray, rows: np.ndarray, texts, *, unit: str = "word", ngram: int = 5, normalizer: NormalizerSpec = None
) -> np.ndarray:
    """Exact shingle Jaccard of ``pairs`` of row positions, from the texts of the rows involved.

    ``texts[k]`` is the text of row ``rows[k]``; ``rows`` is sorted and contains every row
    of ``pairs``. Only these rows are shingled again, so verification never needs the
    shingles of the whole corpus.
    """
    hashes, offsets = shingle_hashes(texts, unit=unit, ngram=ngram, normalizer=normalizer)
    local = np.searchsorted(rows, pairs)
    return shingle_jaccard(hashes, offsets, local)


def near_duplicates(
    texts,
    *,
    threshold: float = 0.8,
    unit: str = "word",
    ngram: int = 5,
    num_perm: int = 128,
    bands: int | None = None,
    seed: int = 0,
    verify: str = "exact",
    normalizer: NormalizerSpec = None,
    backend: str = "rensa",
    batch_size: int = 10_000,
) -> NearDuplicates:
    """Near-duplicate components of a collection of documents.

    Signatures are computed ``batch_size`` documents at a time (only the signatures, 4
    bytes times ``num_perm`` per document, stay in memory); ``bands=None`` takes
    :func:`lsh_parameters`, otherwise ``rows = num_perm // bands``. ``verify``:
    ``"exact"`` keeps the candidate pairs whose shingle Jaccard is >= ``threshold``
    (re-shingling only the rows of candidate pairs), ``"estimate"`` uses the MinHash
    estimate instead, ``"none"`` keeps every candidate.
    """
    if verify not in VERIFY_MODES:
        raise ValueError(f"The 'verify' parameter must be one of {list(VERIFY_MODES)}. Got {verify!r} instead.")
    texts = as_string_array(texts)
    shingling = {"unit": unit, "ngram": ngram, "normalizer": normalizer}
    signatures = np.concatenate(
        [
            document_signatures(texts.slice(start, batch_size), num_perm=num_perm, seed=seed, backend=backend,
                                **shingling)
            for start in range(0, len(texts), batch_size)
        ]
    ) if len(texts) else np.zeros((0, num_perm), dtype=np.uint32)
    if bands is None:
        bands, rows = lsh_parameters(num_perm, threshold)
    else:
        rows = num_perm // bands
    candidates = candidate_pairs(signatures, bands, rows)
    if verify == "exact":
        involved = np.unique(candidates)
        similarity = pair_jaccard(candidates, involved, texts.take(pa.array(involved)), **shingling)
    else:
        similarity = signature_similarity(signatures, candidates)
    keep = similarity >= threshold if verify != "none" else np.ones(len(candidates), dtype=bool)
    pairs = candidates[keep]
    return NearDuplicates(
        pairs=pairs,
        similarity=similarity[keep],
        representative=components(len(texts), pairs),
        num_candidates=len(candidates),
    )
