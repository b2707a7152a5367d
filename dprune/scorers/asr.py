"""Transcript-agreement scorers for speech: word and character error rate of an offline recognizer.

Each clip is transcribed with PocketSphinx (:mod:`dprune.audio.asr`, its model ships in
the wheel) and the recognized text is compared with the given transcript after both went
through the same normalizer (:mod:`dprune.audio.transcripts`). A high rate flags a
transcript that does not belong to its audio (or audio the recognizer cannot follow:
noise, truncation). This is the standard filter for ASR training data.

``vocabulary`` chooses what the recognizer may say:

``"open"`` (default)
    the bundled general en-US language model;
``"transcripts"``
    exactly one of the dataset's own distinct (normalized) transcripts: for closed sets
    of prompts (commands, digits, read prompts) it is faster and far more accurate, and a
    clip whose transcript was swapped still gets the phrase it really says.

With ``transcript_column`` set, transcripts recognized earlier (the ``transcripts``
stage's output, say) are compared instead and no audio is decoded: changing the
normalizer or the metric never re-runs recognition.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.audio.asr import PocketSphinxRecognizer, to_int16
from dprune.audio.decode import ON_ERROR, decode_refs
from dprune.audio.transcripts import ASR_NORMALIZER, error_rates, normalize_texts
from dprune.core.base import Scorer, column_to_numpy
from dprune.core.parallel import map_batches
from dprune.core.params import NONE, InstanceOf, Interval, Options, Predicate
from dprune.core.registry import register_scorer
from dprune.data.audio import refs_from_arrow
from dprune.scorers.audio import audio_view
from dprune.text.normalization import CallableNormalizer, TextNormalizer, resolve_normalizer

__all__ = ["CERScorer", "TranscribeBatch", "VOCABULARIES", "WERScorer", "recognizer_for"]

#: What the recognizer may say (see the module docstring).
VOCABULARIES = ("open", "transcripts")
TRANSCRIPT = "transcript"


def recognizer_for(vocabulary: str, texts: Any = None, normalizer: Any = ASR_NORMALIZER) -> PocketSphinxRecognizer:
    """The recognizer of a ``vocabulary`` setting; ``"transcripts"`` needs the dataset's ``texts``."""
    if vocabulary == "open":
        return PocketSphinxRecognizer()
    phrases = sorted(set(normalize_texts(list(texts), normalizer)) - {""})
    return PocketSphinxRecognizer(phrases=phrases)


class TranscribeBatch:
    """``fn(table, start)`` for :func:`~dprune.core.parallel.map_batches`: transcripts of a batch of clips.

    The PocketSphinx decoder is built on first use in each process (it is not pickled).

    Parameters
    ----------
    audio_column : str
        Column of audio references (:data:`dprune.data.audio.AUDIO_REF_TYPE`).
    recognizer : PocketSphinxRecognizer
        What to recognize with.
    on_error : {"raise", "nan"}
        A clip that cannot be decoded raises naming its row, or gets a null transcript and its reason.
    """

    def __init__(self, audio_column: str, recognizer: PocketSphinxRecognizer, *, on_error: str = "raise"):
        self.audio_column = audio_column
        self.recognizer = recognizer
        self.on_error = on_error
        self.decoder = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "decoder": None}

    def __call__(self, table: pa.Table, start: int) -> pa.Table:
        if self.decoder is None:
            self.decoder = self.recognizer.decoder()
        refs = refs_from_arrow(table.column(self.audio_column))
        decoded = decode_refs(refs, on_error=self.on_error, rows=range(start, start + table.num_rows))
        texts = [None if clip is None else self.recognizer.recognize(self.decoder, to_int16(clip, row))
                 for row, clip in zip(range(start, start + table.num_rows), decoded.audio)]
        return pa.table({
            TRANSCRIPT: pa.array(texts, pa.string()), "audio_error": pa.array(decoded.reason, pa.string()),
        })


_NORMALIZER = Predicate(
    lambda v: v is None or isinstance(v, (TextNormalizer, CallableNormalizer)) or callable(v)
    or (isinstance(v, str) and _is_preset(v)),
    "None, a TextNormalizer, a normalizer preset name or a callable str -> str",
)


def _is_preset(name: str) -> bool:
    try:
        resolve_normalizer(name)
    except (ValueError, TypeError):
        return False
    return True


class ErrorRateScorer(Scorer):
    """Base of :class:`WERScorer` and :class:`CERScorer`: an error rate of recognized against given text.

    Attributes after scoring: ``transcripts_`` (the compared hypotheses, ``None`` for a clip
    that could not be decoded) and ``audio_errors_`` (why, ``None`` otherwise).
    """

    metric: ClassVar[str]
    _parameter_constraints = {
        "text_column": [InstanceOf(str)],
        "audio_column": [InstanceOf(str)],
        "transcript_column": [NONE, InstanceOf(str)],
        "vocabulary": [Options(VOCABULARIES)],
        "text_normalizer": [_NORMALIZER],
        "on_error": [Options(ON_ERROR)],
        "batch_size": [Interval(int, 1, None)],
        "num_proc": [Interval(int, 1, None)],
        "score_column": [InstanceOf(str)],
    }

    def __init__(self, text_column: str = "text", audio_column: str = "audio", transcript_column: str | None = None,
                 vocabulary: str = "open", text_normalizer: Any = None, on_error: str = "raise",
                 batch_size: int = 16, num_proc: int = 1, score_column: str = "score"):
        self.text_column = text_column
        self.audio_column = audio_column
        self.transcript_column = transcript_column
        self.vocabulary = vocabulary
        self.text_normalizer = text_normalizer
        self.on_error = on_error
        self.batch_size = batch_size
        self.num_proc = num_proc
        self.score_column = score_column

    def normalizer(self) -> Any:
        """The normalizer both texts go through (``None`` means :data:`~dprune.audio.transcripts.ASR_NORMALIZER`)."""
        return ASR_NORMALIZER if self.text_normalizer is None else resolve_normalizer(self.text_normalizer)

    def required_columns(self) -> list[str]:
        return [self.text_column, self.transcript_column or self.audio_column]

    def transcribe(self, dataset: Dataset) -> tuple[list[str | None], list[str | None]]:
        """Recognized transcripts and decoding errors of every row (no scoring)."""
        texts = dataset[self.text_column] if self.vocabulary == "transcripts" else None
        batch = TranscribeBatch(self.audio_column, recognizer_for(self.vocabulary, texts, self.normalizer()),
                                on_error=self.on_error)
        batch.recognizer.decoder()  # fail fast (missing words, bad options) before decoding any audio
        view = audio_view(dataset, self.audio_column)
        table = map_batches(batch, view, columns=[self.audio_column], batch_size=self.batch_size,
                            num_proc=self.num_proc)
        return table.column(TRANSCRIPT).to_pylist(), table.column("audio_error").to_pylist()

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        if self.transcript_column is not None:
            hypotheses = column_to_numpy(dataset, self.transcript_column).tolist()
            errors = [None] * len(hypotheses)
        else:
            hypotheses, errors = self.transcribe(dataset)
        references = column_to_numpy(dataset, self.text_column).tolist()
        scores = error_rates(references, hypotheses, metric=self.metric, normalizer=self.normalizer())
        failed = np.array([e is not None for e in errors], dtype=bool)
        scores[failed] = np.nan
        self.transcripts_ = hypotheses
        self.audio_errors_ = np.asarray(errors, dtype=object)
        return scores


_DOC = """
    Parameters
    ----------
    text_column : str, default "text"
        The given transcript.
    audio_column : str, default "audio"
        The audio (references, a ``datasets.Audio`` column or file paths).
    transcript_column : str, optional
        Transcripts recognized earlier: compare these instead of decoding audio.
    vocabulary : {{"open", "transcripts"}}, default "open"
        The general en-US language model, or a grammar of the dataset's distinct transcripts.
    text_normalizer : TextNormalizer, preset name or callable, optional
        Applied to both texts; default :data:`dprune.audio.transcripts.ASR_NORMALIZER`.
    on_error : {{"raise", "nan"}}, default "raise"
        A clip that cannot be decoded raises naming its row, or scores NaN.
    batch_size : int, default 16
        Clips decoded per batch.
    num_proc : int, default 1
        Worker processes (each builds its own recognizer).
    score_column : str
        Output column (default: the metric's name).
"""


@register_scorer("wer")
class WERScorer(ErrorRateScorer):
    __doc__ = "Word error rate of the recognized transcript against the given one; high is bad.\n" + _DOC
    metric = "wer"

    def __init__(self, text_column: str = "text", audio_column: str = "audio", transcript_column: str | None = None,
                 vocabulary: str = "open", text_normalizer: Any = None, on_error: str = "raise",
                 batch_size: int = 16, num_proc: int = 1, score_column: str = "wer"):
        super().__init__(text_column, audio_column, transcript_column, vocabulary, text_normalizer, on_error,
                         batch_size, num_proc, score_column)


@register_scorer("cer")
class CERScorer(ErrorRateScorer):
    __doc__ = "Character error rate of the recognized transcript against the given one; high is bad.\n" + _DOC
    metric = "cer"

    def __init__(self, text_column: str = "text", audio_column: str = "audio", transcript_column: str | None = None,
                 vocabulary: str = "open", text_normalizer: Any = None, on_error: str = "raise",
                 batch_size: int = 16, num_proc: int = 1, score_column: str = "cer"):
        super().__init__(text_column, audio_column, transcript_column, vocabulary, text_normalizer, on_error,
                         batch_size, num_proc, score_column)
