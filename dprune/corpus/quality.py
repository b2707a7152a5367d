"""Gopher quality statistics (Rae et al. 2021, "Scaling Language Models", appendix A), for whole batches.

Each statistic is one float per document, computed with Arrow kernels and numpy over
all documents of a batch at once (no Python loop over documents):

=============================  ==================================================================
``word_count``                 words (pieces between whitespace)
``mean_word_length``           mean characters per word (0 without words)
``hash_to_word_ratio``         occurrences of ``#`` per word
``ellipsis_to_word_ratio``     occurrences of ``...`` or ``…`` per word
``alphabetic_word_share``      share of words with at least one letter (Unicode category L)
``stop_word_count``            words that are one of ``the be to of and that have with`` (case and
                               surrounding punctuation ignored)
``bullet_line_share``          share of lines starting (after spaces) with a bullet: ``• ● ○ ◦ ▪ ‣ ⁃ · - *``
``ellipsis_line_share``        share of lines ending (before spaces) with ``...`` or ``…``
``duplicate_line_share``       share of lines equal to an earlier line of the document
``duplicate_paragraph_share``  the same for paragraphs (separated by a blank line)
``duplicate_line_chars``       characters in those duplicate lines / characters of the document
``duplicate_paragraph_chars``  the same for paragraphs
``top_{n}gram_chars``          n = 2, 3, 4: characters of the most frequent word n-gram times its
                               count / characters in words; 0 when no n-gram occurs twice (among
                               equally frequent n-grams, the longest); overlapping occurrences
                               ("a b a b a") can make this exceed 1, so it is capped at 1
``duplicate_{n}gram_chars``    n = 5..10: characters of the words covered by any word n-gram that
                               occurs more than once (every occurrence, overlaps counted once) /
                               characters in words
=============================  ==================================================================

Lines are the pieces between newlines (blank lines are not lines); "characters" are
Unicode code points; shares are 0 for a document without lines or words. Word n-grams
are compared by a 64-bit hash of their words. :data:`GOPHER_RULES` holds the paper's
thresholds for each statistic.
"""

from __future__ import annotations

import string
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dprune.corpus.hashing import factorize, mix64, ngram_levels, string_hashes
from dprune.corpus.tokens import Segments, as_string_array, split_lines, split_paragraphs, split_words

__all__ = ["GOPHER_RULES", "GOPHER_STOP_WORDS", "QUALITY_STATISTICS", "quality_statistics"]

GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
TOP_NGRAM_SIZES = (2, 3, 4)
DUPLICATE_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)
_WORD_STATISTICS = (
    "word_count",
    "mean_word_length",
    "hash_to_word_ratio",
    "ellipsis_to_word_ratio",
    "alphabetic_word_share",
    "stop_word_count",
)
_LINE_STATISTICS = ("bullet_line_share", "ellipsis_line_share", "duplicate_line_share", "duplicate_line_chars")
_PARAGRAPH_STATISTICS = ("duplicate_paragraph_share", "duplicate_paragraph_chars")
_NGRAM_STATISTICS = tuple(f"top_{n}gram_chars" for n in TOP_NGRAM_SIZES) + tuple(
    f"duplicate_{n}gram_chars" for n in DUPLICATE_NGRAM_SIZES
)
#: Every statistic, in a fixed order.
QUALITY_STATISTICS = _WORD_STATISTICS + _LINE_STATISTICS + _PARAGRAPH_STATISTICS + _NGRAM_STATISTICS

#: The Gopher rules: statistic -> (low, high) bounds a document must lie within (``None``: open).
GOPHER_RULES: dict[str, tuple[float | None, float | None]] = {
    "word_count": (50, 100_000),
    "mean_word_length": (3, 10),
    "hash_to_word_ratio": (None, 0.1),
    "ellipsis_to_word_ratio": (None, 0.1),
    "bullet_line_share": (None, 0.9),
    "ellipsis_line_share": (None, 0.3),
    "alphabetic_word_share": (0.8, None),
    "stop_word_count": (2, None),
    "duplicate_line_share": (None, 0.3),
    "duplicate_paragraph_share": (None, 0.3),
    "duplicate_line_chars": (None, 0.2),
    "duplicate_paragraph_chars": (None, 0.2),
    "top_2gram_chars": (None, 0.2),
    "top_3gram_chars": (None, 0.18),
    "top_4gram_chars": (None, 0.16),
    **{f"duplicate_{n}gram_chars": (None, round(0.15 - 0.01 * (n - 5), 2)) for n in DUPLICATE_NGRAM_SIZES},
}

#: Documents processed together inside :func:`quality_statistics`.
CHUNK_DOCUMENTS = 1024
_BULLET = r"^\s*[•●○◦▪‣⁃·*-]"
_ELLIPSIS_END = r"(\.\.\.|…)\s*$"
_PUNCTUATION = string.punctuation + "“”‘’«»…–—"


def _per_doc(segments: Segments, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (one per piece) per document."""
    return np.bincount(segments.document, weights=values, minlength=segments.offsets.size - 1)


def _share(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    denominator = np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros(denominator.shape), where=denominator > 0)


def _lengths(array: pa.Array) -> np.ndarray:
    return pc.utf8_length(array).to_numpy(zero_copy_only=False).astype(np.float64)


def _numbers(array: pa.Array) -> np.ndarray:
    """A boolean or count array (no nulls: the texts were filled) as float64."""
    return array.to_numpy(zero_copy_only=False).astype(np.float64)


def _matches(values: pa.Array, pattern: str) -> np.ndarray:
    """1.0 where a piece matches the RE2 ``pattern``, else 0.0."""
    return _numbers(pc.match_substring_regex(values, pattern))


def _word_statistics(texts: pa.Array, words: Segments) -> dict[str, np.ndarray]:
    count = words.counts.astype(np.float64)
    hashes = _numbers(pc.count_substring(texts, "#"))
    ellipses = _numbers(pc.count_substring(texts, "...")) + _numbers(pc.count_substring(texts, "…"))
    stop = pc.is_in(pc.utf8_trim(pc.utf8_lower(words.values), characters=_PUNCTUATION),
                    value_set=pa.array(GOPHER_STOP_WORDS, type=words.values.type))
    return {
        "word_count": count,
        "mean_word_length": _share(_per_doc(words, _lengths(words.values)), count),
        "hash_to_word_ratio": _share(hashes, count),
        "ellipsis_to_word_ratio": _share(ellipses, count),
        "alphabetic_word_share": _share(_per_doc(words, _matches(words.values, r"\pL")), count),
        "stop_word_count": _per_doc(words, _numbers(stop)),
    }


def _later_repeats(segments: Segments) -> np.ndarray:
    """1.0 for each piece equal to an earlier piece of the same document, else 0.0."""
    keys = mix64(string_hashes(segments.values) ^ mix64(segments.document.astype(np.uint64)))
    return (~factorize(keys)[1]).astype(np.float64)


def _repetition(segments: Segments, total_chars: np.ndarray, name: str) -> dict[str, np.ndarray]:
    repeated = _later_repeats(segments)
    return {
        f"duplicate_{name}_share": _share(_per_doc(segments, repeated), segments.counts),
        f"duplicate_{name}_chars": _share(_per_doc(segments, repeated * _lengths(segments.values)), total_chars),
    }


def _line_statistics(texts: pa.Array, lines: Segments) -> dict[str, np.ndarray]:
    total = _lengths(texts)
    return {
        "bullet_line_share": _share(_per_doc(lines, _matches(lines.values, _BULLET)), lines.counts),
        "ellipsis_line_share": _share(_per_doc(lines, _matches(lines.values, _ELLIPSIS_END)), lines.counts),
        **_repetition(lines, total, "line"),
    }


def _max_per_doc(values: np.ndarray, doc: np.ndarray, num_docs: int) -> np.ndarray:
    """Maximum of ``values`` per document (0 for a document without values); ``doc`` is sorted."""
    result = np.zeros(num_docs, dtype=np.result_type(values, np.int64))
    if values.size:
        first = np.flatnonzero(np.concatenate(([True], doc[1:] != doc[:-1])))
        result[doc[first]] = np.maximum.reduceat(values, first)
    return result


def _ngram_statistics(words: Segments, names: set[str]) -> dict[str, np.ndarray]:
    num_docs = words.offsets.size - 1
    word_chars = _lengths(words.values)
    total_chars = _per_doc(words, word_chars)
    prefix = np.concatenate(([0.0], np.cumsum(word_chars)))
    sizes = [n for n in TOP_NGRAM_SIZES + DUPLICATE_NGRAM_SIZES
             if f"top_{n}gram_chars" in names or f"duplicate_{n}gram_chars" in names]
    levels = ngram_levels(string_hashes(words.values), max(sizes))
    document = words.document
    ends = words.offsets[1:][document]  # for each word, the end of its document
    result: dict[str, np.ndarray] = {}
    for n in sizes:
        top = f"top_{n}gram_chars"
        duplicate = f"duplicate_{n}gram_chars"
        starts = np.flatnonzero(np.arange(levels[n - 1].size) + n <= ends[: levels[n - 1].size])
        doc = document[starts]
        keys = mix64(levels[n - 1][starts] ^ mix64(doc.astype(np.uint64)))
        codes, _ = factorize(keys)
        occurrences = np.bincount(codes)[codes]
        chars = prefix[starts + n] - prefix[starts]
        if n in TOP_NGRAM_SIZES:
            best = _max_per_doc(occurrences, doc, num_docs)
            candidates = (occurrences == best[doc]) & (occurrences >= 2)
            longest = _max_per_doc(chars[candidates], doc[candidates], num_docs)
            result[top] = np.minimum(_share(best * longest, total_chars), 1.0)
        else:
            repeated = starts[occurrences >= 2]
            size = word_chars.size + 1
            cover = np.bincount(repeated, minlength=size) - np.bincount(repeated + n, minlength=size)
            covered = np.cumsum(cover[:-1]) > 0
            result[duplicate] = _share(_per_doc(words, word_chars * covered), total_chars)
    return result


def quality_statistics(texts, statistics: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The requested Gopher statistics (all by default) of a batch of documents, as float64 arrays.

    Parameters
    ----------
    texts : pyarrow string array, chunked array or sequence of str
        The documents; a null document counts as empty.
    statistics : iterable of str, optional
        Names from :data:`QUALITY_STATISTICS`; only the groups they need are computed.

    Returns
    -------
    dict
        Statistic name -> ndarray of shape ``(len(texts),)``, in the order asked.
    """
    names = list(QUALITY_STATISTICS if statistics is None else statistics)
    unknown = [name for name in names if name not in QUALITY_STATISTICS]
    if unknown:
        raise ValueError(f"Unknown quality statistic(s) {unknown}. Known statistics: {list(QUALITY_STATISTICS)}.")
    texts = pc.fill_null(as_string_array(texts), "")
    if len(texts) > CHUNK_DOCUMENTS:  # small chunks keep the hash tables in cache: ~2x faster
        parts = [_statistics(texts.slice(i, CHUNK_DOCUMENTS), names) for i in range(0, len(texts), CHUNK_DOCUMENTS)]
        return {name: np.concatenate([part[name] for part in parts]) for name in names}
    return _statistics(texts, names)


def _statistics(texts: pa.Array, names: list[str]) -> dict[str, np.ndarray]:
    wanted = set(names)
    result: dict[str, np.ndarray] = {}
    words = split_words(texts) if wanted & set(_WORD_STATISTICS + _NGRAM_STATISTICS) else None
    if wanted & set(_WORD_STATISTICS):
        result.update(_word_statistics(texts, words))
    if wanted & set(_LINE_STATISTICS):
        result.update(_line_statistics(texts, split_lines(texts)))
    if wanted & set(_PARAGRAPH_STATISTICS):
        result.update(_repetition(split_paragraphs(texts), _lengths(texts), "paragraph"))
    if wanted & set(_NGRAM_STATISTICS):
        result.update(_ngram_statistics(words, wanted))
    return {name: result[name] for name in names}
