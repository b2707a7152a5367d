"""Split an Arrow string array into segments (words, lines, paragraphs), all documents at once.

Every split returns a :class:`Segments`: one flat Arrow string array of the
pieces plus ``offsets`` (int64, ``len(texts) + 1`` entries), so that the pieces
of document ``i`` are ``values[offsets[i]:offsets[i + 1]]``. Empty pieces are
dropped (a blank line is not a line, two spaces do not make an empty word);
a null document has no pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Segments", "as_string_array", "split_lines", "split_paragraphs", "split_words"]


@dataclass(frozen=True)
class Segments:
    """Pieces of many documents: flat ``values`` and per-document ``offsets``."""

    values: pa.Array
    offsets: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        """Number of pieces per document."""
        return np.diff(self.offsets)

    @property
    def document(self) -> np.ndarray:
        """For each piece, the position of its document."""
        return np.repeat(np.arange(self.offsets.size - 1), self.counts)


def as_string_array(texts) -> pa.Array:
    """One contiguous Arrow ``large_string`` array from an Arrow array, chunked array or list of str."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    elif not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), type=pa.large_string())
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        raise TypeError(f"Expected an array of strings; got Arrow type {texts.type}. Pass the text column.")
    return texts.cast(pa.large_string())


def _segments(lists: pa.Array) -> Segments:
    """Flatten a list array, dropping empty pieces and treating null lists as empty."""
    n = len(lists)
    lists = pc.fill_null(lists, pa.scalar([], type=lists.type))
    counts = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    values = pc.list_flatten(lists)
    keep = pc.greater(pc.binary_length(values), 0)
    keep_np = keep.to_numpy(zero_copy_only=False)
    if not keep_np.all():
        document = np.repeat(np.arange(n), counts)
        counts = np.bincount(document[keep_np], minlength=n).astype(np.int64)
        values = values.filter(keep)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Segments(values=values, offsets=offsets)


def split_words(texts) -> Segments:
    """Words: the pieces between runs of Unicode whitespace."""
    return _segments(pc.utf8_split_whitespace(as_string_array(texts)))


def split_lines(texts) -> Segments:
    """Lines: the pieces between newlines, blank lines dropped (a line keeps its other whitespace)."""
    return _segments(pc.split_pattern_regex(as_string_array(texts), r"\n+"))


def split_paragraphs(texts) -> Segments:
    """Paragraphs: the pieces between runs of two or more newlines (blank paragraphs dropped)."""
    lines = pc.split_pattern_regex(pc.utf8_trim_whitespace(as_string_array(texts)), r"\n\s*\n")
    return _segments(lines)
