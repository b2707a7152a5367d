"""Exact duplicates: a hash of each document's normalized text, and groups of equal hashes.

The text is normalized with the project's :class:`~dprune.text.normalization.TextNormalizer`
(by default: lower case, accents stripped, digits to 0, punctuation split off,
whitespace collapsed), so documents that differ only in case, spacing or digits
share a hash. Hashes are 64-bit (xxh3): at ten million documents the chance of
any collision is about 3e-6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dprune.corpus.hashing import factorize, string_hashes
from dprune.corpus.tokens import as_string_array
from dprune.text.normalization import NormalizerSpec, resolve_normalizer

__all__ = ["DuplicateGroups", "duplicate_groups", "exact_hashes"]


def exact_hashes(texts, normalizer: NormalizerSpec = None) -> np.ndarray:
    """uint64 hash of each document's normalized text (a null document hashes like ``""``).

    Works on one Arrow batch at a time; the hashes of a corpus are the hashes of its
    batches, concatenated, so they can be computed shard by shard.
    """
    normalized = resolve_normalizer(normalizer).normalize_array(as_string_array(texts))
    return string_hashes(normalized)


@dataclass(frozen=True)
class DuplicateGroups:
    """Groups of rows with equal keys.

    Attributes
    ----------
    group : ndarray of int64
        For each row, the position of the first row of its group (its own position for a
        first occurrence), so equal values mean the same group.
    is_duplicate : ndarray of bool
        True when an earlier row has the same key: drop these to keep one row per group.
    """

    group: np.ndarray
    is_duplicate: np.ndarray


def duplicate_groups(keys: np.ndarray) -> DuplicateGroups:
    """Group rows by equal ``keys`` (any 1-d array); the first row of each group is its representative."""
    keys = np.asarray(keys)
    if keys.ndim != 1:
        raise ValueError(f"duplicate_groups expects a 1-d array of keys; got shape {keys.shape}.")
    codes, is_first = factorize(keys)
    group = np.flatnonzero(is_first)[codes]  # codes count first appearances in order
    return DuplicateGroups(group=group, is_duplicate=~is_first)
