"""Stable 64-bit hashes of strings and of token n-grams, computed for whole arrays.

The hashes depend only on the text (xxh3-64 of the UTF-8 bytes and fixed
mixing constants), never on the process or the Python hash seed, so they can be
stored in an artifact and compared across shards and runs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

__all__ = ["factorize", "mix64", "ngram_hashes", "ngram_levels", "string_hashes"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S27, _S30, _S31 = np.uint64(27), np.uint64(30), np.uint64(31)
_CHUNK = 1 << 16


def mix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer applied elementwise (a bijection on uint64 that scatters bits).

    Computed in place on cache-sized chunks (about 3x faster than whole-array temporaries).
    """
    values = np.asarray(values, dtype=np.uint64)
    out = np.empty_like(values)
    flat_in, flat_out = values.reshape(-1), out.reshape(-1)
    with np.errstate(over="ignore"):
        for start in range(0, flat_in.size, _CHUNK):
            x = flat_out[start:start + _CHUNK]
            np.add(flat_in[start:start + _CHUNK], _GOLDEN, out=x)
            t = x >> _S30
            x ^= t
            x *= _M1
            np.right_shift(x, _S27, out=t)
            x ^= t
            x *= _M2
            np.right_shift(x, _S31, out=t)
            x ^= t
    return out


def string_hashes(array: pa.Array) -> np.ndarray:
    """xxh3-64 of each string's UTF-8 bytes, as uint64; a null hashes like the empty string.

    Each distinct string is hashed once: Arrow's dictionary encoding finds the
    distinct values, so a column of words costs one hash per vocabulary entry.
    """
    if len(array) == 0:
        return np.zeros(0, dtype=np.uint64)
    encoded = pc.dictionary_encode(pc.fill_null(array, ""))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    dictionary = encoded.dictionary.cast(pa.large_string())
    _, offsets_buffer, data_buffer = dictionary.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[dictionary.offset: dictionary.offset + len(dictionary) + 1]
    data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
    digest = xxhash.xxh3_64_intdigest
    unique = np.fromiter(
        (digest(data[a:b]) for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())),
        dtype=np.uint64,
        count=len(dictionary),
    )
    return unique[encoded.indices.to_numpy(zero_copy_only=False)]


def ngram_levels(token_hashes: np.ndarray, n: int) -> list[np.ndarray]:
    """Rolling hashes of every run of 1..n consecutive tokens of a flat token array.

    ``levels[k - 1][i]`` hashes tokens ``i .. i + k - 1`` (so it has ``len - k + 1``
    entries); runs may cross document boundaries and callers keep only those inside one.
    One vectorized step per length: ``level_k = mix(level_{k-1}[:-1] * C + token[k-1:])``.
    """
    token_hashes = np.asarray(token_hashes, dtype=np.uint64)
    levels = [token_hashes]
    with np.errstate(over="ignore"):
        for k in range(2, n + 1):
            previous = levels[-1]
            if previous.size <= 1:
                levels.append(np.zeros(0, dtype=np.uint64))
                continue
            levels.append(mix64(previous[:-1] * _M1 + token_hashes[k - 1:]))
    return levels


def ngram_hashes(token_hashes: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the windows of ``n`` consecutive tokens inside each document.

    Parameters
    ----------
    token_hashes : ndarray of uint64
        Hashes of every token of every document, documents one after another.
    offsets : ndarray of int64, shape (num_docs + 1,)
        Document ``i`` owns ``token_hashes[offsets[i]:offsets[i + 1]]``.
    n : int
        Window length (>= 1).

    Returns
    -------
    (hashes, window_offsets)
        One hash per window, in document order, and the per-document offsets into it. A
        document with ``t >= n`` tokens has ``t - n + 1`` windows; one with ``0 < t < n`` has
        a single window of all its tokens; an empty one has none. The hash depends on the
        tokens and their order, not on where the window is (see :func:`ngram_levels`).
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    windows = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
    window_offsets = np.zeros(offsets.size, dtype=np.int64)
    np.cumsum(windows, out=window_offsets[1:])
    doc = np.repeat(np.arange(counts.size), windows)
    starts = offsets[doc] + (np.arange(window_offsets[-1]) - window_offsets[doc])
    lengths = np.minimum(counts[doc], n)
    levels = ngram_levels(token_hashes, n)
    hashes = np.empty(starts.size, dtype=np.uint64)
    for length in np.unique(lengths).tolist():
        chosen = lengths == length
        hashes[chosen] = levels[length - 1][starts[chosen]]
    return hashes, window_offsets


def factorize(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of equal keys in order of first appearance, and which positions are first appearances.

    A hash table (pandas' ``factorize``), linear in the number of keys, no sort.
    """
    import pandas as pd

    codes, _ = pd.factorize(np.asarray(keys), sort=False)
    is_first = np.ones(codes.size, dtype=bool)
    if codes.size:
        is_first[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    return codes.astype(np.int64), is_first
