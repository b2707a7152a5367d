"""PerplexityScorer instances and bad parameters for tests/test_common.py.

The factories take the path of a tiny KenLM model (the ``tiny_arpa_model`` session
fixture of ``tests/conftest.py``, an ARPA file written by hand, so no KenLM tools are needed).
"""

from __future__ import annotations

from dprune.scorers.perplexity import PerplexityScorer
from dprune.text.normalization import TextNormalizer


def _perplexity(model_path: str) -> list[PerplexityScorer]:
    return [
        PerplexityScorer(model_path),
        PerplexityScorer(model_path, text_normalizer="whitespace", batch_size=5, formula="original"),
        PerplexityScorer(model_path, text_normalizer=TextNormalizer(punctuation="remove"), formula="kenlm",
                         batch_size=4, num_proc=2, score_column="perplexity"),
    ]


SCORER_FACTORIES = {"perplexity": _perplexity}

SCORER_BAD_PARAMS = {
    "perplexity": [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"num_proc": 0}, "num_proc"),
        ({"formula": "words"}, "formula"),
        ({"none_policy": "skip"}, "none_policy"),
        ({"text_normalizer": "no-such-preset"}, "text_normalizer"),
        ({"text_column": ""}, "text_column"),
        ({"model_path": ""}, "model_path"),
        ({"score_column": ""}, "score_column"),
    ]
}
