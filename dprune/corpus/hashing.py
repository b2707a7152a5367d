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

__all__ = ["mix64", "ngram_hashes", "string_hashes"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer applied elementwise (a bijection on uint64 that scatters bits)."""
    with np.errstate(over="ignore"):
        x = np.asarray(values, dtype=np.uint64) + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


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
        tokens and their order (and the window length), not on where the window is.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    windows = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
    window_offsets = np.zeros(offsets.size, dtype=np.int64)
    np.cumsum(windows, out=window_offsets[1:])
    doc = np.repeat(np.arange(counts.size), windows)
    starts = offsets[doc] + (np.arange(window_offsets[-1]) - window_offsets[doc])
    lengths = np.minimum(counts[doc], n)
    token_hashes = np.asarray(token_hashes, dtype=np.uint64)
    with np.errstate(over="ignore"):
        acc = token_hashes[starts].copy()
        for j in range(1, n):
            inside = lengths > j
            if not inside.any():
                break
            step = mix64(acc * _M1 + token_hashes[np.where(inside, starts + j, starts)])
            acc = np.where(inside, step, acc)
        acc = mix64(acc ^ lengths.astype(np.uint64))
    return acc, window_offsets
