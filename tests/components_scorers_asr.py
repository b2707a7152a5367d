"""WER/CER scorer instances and bad parameters for tests/test_common.py.

They run on the common tiny dataset's ``audio`` column (tones in noise, see
``components_scorers_audio``): the open-vocabulary recognizer transcribes them (mostly to
nothing) and the rate against the movie-review ``text`` column is computed; one instance
compares the ``text`` column with itself through ``transcript_column`` (no audio decoded).
"""

from __future__ import annotations

from dprune.scorers.asr import CERScorer, WERScorer
from dprune.text.normalization import TextNormalizer

SCORER_FACTORIES = {
    "wer": lambda: [WERScorer(), WERScorer(transcript_column="text", text_normalizer="whitespace"),
                    WERScorer(batch_size=5, num_proc=2, score_column="asr_wer")],
    "cer": lambda: [CERScorer(), CERScorer(transcript_column="text", text_normalizer=TextNormalizer(punctuation="keep"))],
}

_BAD = [
    ({"vocabulary": "closed"}, "vocabulary"),
    ({"batch_size": 0}, "batch_size"),
    ({"num_proc": 0}, "num_proc"),
    ({"on_error": "skip"}, "on_error"),
    ({"text_normalizer": "no-such-preset"}, "text_normalizer"),
    ({"transcript_column": 3}, "transcript_column"),
]
SCORER_BAD_PARAMS = {"wer": _BAD, "cer": _BAD}
