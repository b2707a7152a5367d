"""Corpus scorer instances and bad parameters for tests/test_common.py."""

from __future__ import annotations

from dprune.scorers.corpus import ExactDuplicateScorer, LanguageScorer, NearDuplicateScorer, QualityStatisticScorer
from dprune.text.normalization import TextNormalizer

SCORER_FACTORIES = {
    "exact_duplicate": lambda: [
        ExactDuplicateScorer(),
        ExactDuplicateScorer(text_normalizer="whitespace", batch_size=5, score_column="exact"),
    ],
    "near_duplicate": lambda: [
        NearDuplicateScorer(threshold=0.5, ngram=2),
        NearDuplicateScorer(unit="char", ngram=4, num_perm=32, bands=8, verify="estimate", batch_size=5),
        NearDuplicateScorer(threshold=0.9, backend="numpy", text_normalizer=TextNormalizer(punctuation="remove")),
    ],
    "quality_statistic": lambda: [
        QualityStatisticScorer(),
        QualityStatisticScorer("top_2gram_chars", batch_size=5),
        QualityStatisticScorer("duplicate_5gram_chars", score_column="dup5"),
    ],
    "language": lambda: [LanguageScorer(), LanguageScorer(language="en", batch_size=5)],
}

SCORER_BAD_PARAMS = {
    "exact_duplicate": [
        ({"text_column": ""}, "text_column"),
        ({"batch_size": 0}, "batch_size"),
        ({"text_normalizer": "no-such-preset"}, "text_normalizer"),
    ],
    "near_duplicate": [
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"unit": "sentence"}, "unit"),
        ({"ngram": 0}, "ngram"),
        ({"num_perm": 0}, "num_perm"),
        ({"bands": 500}, "bands"),
        ({"verify": "maybe"}, "verify"),
        ({"backend": "datasketch"}, "backend"),
    ],
    "quality_statistic": [({"statistic": "perplexity"}, "statistic"), ({"batch_size": 1.5}, "batch_size")],
    "language": [({"language": "english"}, "language"), ({"score_column": ""}, "score_column")],
}
