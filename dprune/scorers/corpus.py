"""Corpus scorers: exact and near-duplicates, Gopher quality statistics, language id.

Thin contracts over :mod:`dprune.corpus`; every scorer reads the text column as Arrow,
``batch_size`` rows at a time, so only one batch of text is in memory at once (the
near-duplicate scorer also keeps ``4 * num_perm`` bytes of signature per row).

* :class:`ExactDuplicateScorer` -- 1.0 when an earlier row has the same normalized text;
* :class:`NearDuplicateScorer` -- 1.0 when the row is a later member of a MinHash
  near-duplicate component;
* :class:`QualityStatisticScorer` -- one Gopher statistic (``statistic=``) per column;
* :class:`LanguageScorer` -- the language id model's confidence (of its top language, or of
  a given ``language``); the codes are in ``languages_``.

Keep one row per duplicate group with ``ThresholdPruner(high=0.5)``.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.base import Scorer
from dprune.core.mapped import MappedReleaser
from dprune.corpus.exact import duplicate_groups, exact_hashes
from dprune.corpus.language import identify_languages, language_labels
from dprune.corpus.minhash import BACKENDS, SHINGLE_UNITS, VERIFY_MODES, near_duplicates
from dprune.corpus.quality import QUALITY_STATISTICS, quality_statistics
from dprune.core.params import (
    CALLABLE,
    NON_EMPTY_STR,
    NONE,
    InstanceOf,
    Interval,
    InvalidParameterError,
    Options,
    Predicate,
)
from dprune.core.registry import register_scorer
from dprune.text.normalization import NORMALIZER_PRESETS, TextNormalizer

__all__ = ["ExactDuplicateScorer", "LanguageScorer", "NearDuplicateScorer", "QualityStatisticScorer", "text_batches"]

_TEXT_CONSTRAINTS = {
    "text_column": [NON_EMPTY_STR],
    "batch_size": [Interval(int, 1, None)],
    "score_column": [NON_EMPTY_STR],
}
_NORMALIZER = [NONE, Options(tuple(NORMALIZER_PRESETS)), InstanceOf(TextNormalizer), CALLABLE]


def text_batches(dataset: Dataset, column: str, batch_size: int) -> Iterator[pa.Array]:
    """The text column as Arrow string arrays of ``batch_size`` rows (index mappings honoured).

    The pages of a memory-mapped dataset under the batches read leave the resident memory every few
    batches (:class:`~dprune.core.mapped.MappedReleaser`).
    """
    releaser = MappedReleaser()
    try:
        for table in dataset.with_format("arrow").iter(batch_size=batch_size):
            chunked = table.column(column)
            yield chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
            releaser.add(chunked)
    finally:
        releaser.flush()


def _text_column(dataset: Dataset, column: str) -> pa.Array:
    chunked = dataset.with_format("arrow")[column]
    return chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked


class _TextScorer(Scorer):
    """Shared: reads ``text_column``."""

    def required_columns(self) -> list[str]:
        return [self.text_column]


@register_scorer("exact_duplicate")
class ExactDuplicateScorer(_TextScorer):
    """1.0 for a row whose normalized text equals an earlier row's, else 0.0.

    Parameters
    ----------
    text_column : str
        Column of documents.
    text_normalizer : None, preset name, TextNormalizer or callable
        Normalization before hashing (default: :class:`~dprune.text.normalization.TextNormalizer()`).
    batch_size : int
        Rows hashed at a time.
    score_column : str
        Output column.

    Attributes after scoring: ``duplicate_of_`` (the first row with the same text, ``-1``
    for a first occurrence) and ``hashes_`` (uint64 per row).
    """

    _parameter_constraints = {**_TEXT_CONSTRAINTS, "text_normalizer": _NORMALIZER}

    def __init__(self, text_column: str = "text", text_normalizer: Any = None, batch_size: int = 10_000,
                 score_column: str = "score"):
        self.text_column = text_column
        self.text_normalizer = text_normalizer
        self.batch_size = batch_size
        self.score_column = score_column

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        batches = text_batches(dataset, self.text_column, self.batch_size)
        hashes = np.concatenate([exact_hashes(batch, self.text_normalizer) for batch in batches])
        groups = duplicate_groups(hashes)
        self.hashes_ = hashes
        self.duplicate_of_ = np.where(groups.is_duplicate, groups.group, -1)
        return groups.is_duplicate.astype(np.float64)


@register_scorer("near_duplicate")
class NearDuplicateScorer(_TextScorer):
    """1.0 for a row that is a later member of a near-duplicate component, else 0.0 (MinHash LSH).

    See :mod:`dprune.corpus.minhash` for the method. Rows joined by a chain of verified
    pairs form one component; its earliest row scores 0.

    Parameters
    ----------
    text_column : str
        Column of documents.
    threshold : float in (0, 1]
        Jaccard similarity of the shingle sets from which two documents are duplicates.
    unit : {"word", "char"}
        Shingles of words or of characters.
    ngram : int
        Shingle length in units.
    num_perm : int
        MinHash permutations (signature length).
    bands : int, optional
        LSH bands (``rows = num_perm // bands``); ``None`` chooses them from ``threshold``.
    seed : int
        Seed of the hash functions.
    verify : {"exact", "estimate", "none"}
        How candidate pairs are checked against ``threshold``.
    text_normalizer : None, preset name, TextNormalizer or callable
        Normalization before shingling.
    backend : {"rensa", "numpy"}
        MinHash implementation (see :func:`~dprune.corpus.minhash.minhash_signatures`).
    batch_size : int
        Rows shingled at a time.
    score_column : str
        Output column.

    Attributes after scoring: ``duplicate_of_`` (the component's earliest row, ``-1`` for
    a kept row), ``pairs_`` and ``pair_similarity_`` (verified pairs), ``num_candidates_``.
    """

    _parameter_constraints = {
        **_TEXT_CONSTRAINTS,
        "threshold": [Interval("real", 0, 1, closed="right")],
        "unit": [Options(SHINGLE_UNITS)],
        "ngram": [Interval(int, 1, None)],
        "num_perm": [Interval(int, 1, None)],
        "bands": [NONE, Interval(int, 1, None)],
        "seed": [Interval(int, 0, 2**32 - 1)],
        "verify": [Options(VERIFY_MODES)],
        "text_normalizer": _NORMALIZER,
        "backend": [Options(BACKENDS)],
    }

    def __init__(
        self,
        text_column: str = "text",
        threshold: float = 0.8,
        *,
        unit: str = "word",
        ngram: int = 5,
        num_perm: int = 128,
        bands: int | None = None,
        seed: int = 0,
        verify: str = "exact",
        text_normalizer: Any = None,
        backend: str = "rensa",
        batch_size: int = 10_000,
        score_column: str = "score",
    ):
        self.text_column = text_column
        self.threshold = threshold
        self.unit = unit
        self.ngram = ngram
        self.num_perm = num_perm
        self.bands = bands
        self.seed = seed
        self.verify = verify
        self.text_normalizer = text_normalizer
        self.backend = backend
        self.batch_size = batch_size
        self.score_column = score_column

    def validate_params(self) -> None:
        super().validate_params()
        if self.bands is not None and self.bands > self.num_perm:
            raise InvalidParameterError(
                f"The 'bands' parameter of {type(self).__name__} must be <= num_perm ({self.num_perm}). "
                f"Got {self.bands!r} instead."
            )

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        result = near_duplicates(
            _text_column(dataset, self.text_column),
            threshold=self.threshold,
            unit=self.unit,
            ngram=self.ngram,
            num_perm=self.num_perm,
            bands=self.bands,
            seed=self.seed,
            verify=self.verify,
            normalizer=self.text_normalizer,
            backend=self.backend,
            batch_size=self.batch_size,
        )
        duplicate = result.is_duplicate
        self.duplicate_of_ = np.where(duplicate, result.representative, -1)
        self.pairs_ = result.pairs
        self.pair_similarity_ = result.similarity
        self.num_candidates_ = result.num_candidates
        return duplicate.astype(np.float64)


@register_scorer("quality_statistic")
class QualityStatisticScorer(_TextScorer):
    """One Gopher quality statistic per row (see :mod:`dprune.corpus.quality` for the definitions).

    Parameters
    ----------
    statistic : str
        One of :data:`~dprune.corpus.quality.QUALITY_STATISTICS` (``"word_count"``,
        ``"mean_word_length"``, ``"duplicate_line_chars"``, ``"top_2gram_chars"``...).
    text_column, batch_size, score_column
        As for :class:`ExactDuplicateScorer`.
    """

    _parameter_constraints = {**_TEXT_CONSTRAINTS, "statistic": [Options(QUALITY_STATISTICS)]}

    def __init__(self, statistic: str = "word_count", text_column: str = "text", batch_size: int = 10_000,
                 score_column: str = "score"):
        self.statistic = statistic
        self.text_column = text_column
        self.batch_size = batch_size
        self.score_column = score_column

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        return np.concatenate(
            [
                quality_statistics(batch, [self.statistic])[self.statistic]
                for batch in text_batches(dataset, self.text_column, self.batch_size)
            ]
        )


def _is_language(value: Any) -> bool:
    return isinstance(value, str) and value in language_labels()


@register_scorer("language")
class LanguageScorer(_TextScorer):
    """Language id confidence per row (py3langid); the detected codes go to ``languages_``.

    Parameters
    ----------
    language : str, optional
        ISO 639-1 code: score the probability of this language (``"en"``); ``None``: the
        probability of the most likely language.
    text_column, batch_size, score_column
        As for :class:`ExactDuplicateScorer`.
    """

    _parameter_constraints = {
        **_TEXT_CONSTRAINTS,
        "language": [NONE, Predicate(_is_language, "an ISO 639-1 code known to py3langid (e.g. 'en')")],
    }

    def __init__(self, language: str | None = None, text_column: str = "text", batch_size: int = 10_000,
                 score_column: str = "score"):
        self.language = language
        self.text_column = text_column
        self.batch_size = batch_size
        self.score_column = score_column

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        codes, confidence = [], []
        for batch in text_batches(dataset, self.text_column, self.batch_size):
            batch_codes, batch_confidence = identify_languages(batch, self.language)
            codes.append(batch_codes)
            confidence.append(batch_confidence)
        self.languages_ = np.concatenate(codes)
        return np.concatenate(confidence)
