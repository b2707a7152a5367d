"""Signal-quality scorers for speech: duration, speech ratio, SNR, clipping, loudness, speaking rate.

Each scorer is a thin contract over :func:`dprune.audio.signal.signal_features`: it
reads the dataset's audio column (references from :func:`dprune.data.load_dataset`, or a
``datasets.Audio`` column, or file paths, converted on the fly), decodes ``batch_size``
clips at a time -- in ``num_proc`` processes -- and keeps one feature. In the workflow the
``audio_signal`` stage computes every feature in one pass instead.

Which direction is bad: a *low* ``snr`` or ``speech_ratio``, a *high* ``clipping_ratio``
or ``speaking_rate`` deviation, and ``duration`` / ``loudness`` outside a range.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.audio.signal import VAD_FEATURES, rate_deviation, signal_features
from dprune.audio.vad import VAD_NAMES, make_vad
from dprune.audio.decode import ON_ERROR
from dprune.core.base import Scorer
from dprune.core.parallel import map_batches
from dprune.core.params import NON_EMPTY_STR, InstanceOf, Interval, Options
from dprune.core.registry import register_scorer
from dprune.data.audio import refs_from_arrow, to_audio_references

__all__ = [
    "SignalBatch",
    "DurationScorer",
    "SpeechRatioScorer",
    "SNRScorer",
    "ClippingRatioScorer",
    "LoudnessScorer",
    "SpeakingRateScorer",
    "audio_view",
]


class SignalBatch:
    """``fn(table, start)`` for :func:`~dprune.core.parallel.map_batches`: signal features of a batch.

    Parameters
    ----------
    audio_column : str
        Column of audio references (:data:`dprune.data.audio.AUDIO_REF_TYPE`).
    text_column : str or None
        Transcript column, for ``speaking_rate``.
    features : sequence of str
        Feature names from :data:`~dprune.audio.signal.SIGNAL_COLUMNS`.
    vad : {"silero", "webrtc"}
        Voice-activity detector (only built if a feature needs it).
    clip_level : float
        Level from which a sample counts as clipped.
    on_error : {"raise", "nan"}
        What bad audio does (see :func:`~dprune.audio.signal.signal_features`).
    """

    def __init__(self, audio_column: str, text_column: str | None, features: Sequence[str], *, vad: str = "silero",
                 clip_level: float = 0.99, on_error: str = "raise"):
        self.audio_column = audio_column
        self.text_column = text_column
        self.features = tuple(features)
        self.detector = make_vad(vad) if set(self.features) & VAD_FEATURES else None
        self.clip_level = clip_level
        self.on_error = on_error

    def columns(self) -> list[str]:
        """The dataset columns a batch needs."""
        return [self.audio_column] + ([self.text_column] if self.text_column else [])

    def __call__(self, table: pa.Table, start: int) -> pa.Table:
        refs = refs_from_arrow(table.column(self.audio_column))
        texts = table.column(self.text_column).to_pylist() if self.text_column else None
        out = signal_features(
            refs, texts, self.detector, features=self.features, clip_level=self.clip_level,
            on_error=self.on_error, rows=range(start, start + table.num_rows),
        )
        arrays = {name: pa.array(out[name], pa.float64()) for name in self.features}
        arrays["audio_error"] = pa.array(list(out["audio_error"]), pa.string())
        return pa.table(arrays)


def audio_view(dataset: Dataset, audio_column: str, text_column: str | None = None) -> Dataset:
    """The audio (and transcript) columns of ``dataset`` with the audio as references."""
    view = dataset.select_columns([audio_column] + ([text_column] if text_column else []))
    return to_audio_references(view, audio_column, where="the dataset")


_BASE_CONSTRAINTS = {
    "audio_column": [NON_EMPTY_STR],
    "on_error": [Options(ON_ERROR)],
    "batch_size": [Interval(int, 1, None)],
    "num_proc": [Interval(int, 1, None)],
    "score_column": [NON_EMPTY_STR],
}
_VAD_CONSTRAINTS = {**_BASE_CONSTRAINTS, "vad": [Options(VAD_NAMES)]}

_PARAMETERS_DOC = """audio_column : str, default "audio"
        Column holding the audio (references, a ``datasets.Audio`` column or file paths).
    on_error : {"raise", "nan"}, default "raise"
        Bad audio (missing, unreadable, empty, NaN samples) raises an error naming the row,
        or (``"nan"``) scores NaN; the reasons are kept in ``audio_errors_``.
    batch_size : int, default 64
        Clips decoded per batch.
    num_proc : int, default 1
        Worker processes.
    score_column : str
        Output column."""
_VAD_PARAMETERS_DOC = f"""vad : {{"silero", "webrtc"}}, default "silero"
        Silero VAD (ONNX, onnxruntime) or the lighter WebRTC VAD.
    {_PARAMETERS_DOC}"""


class SignalScorer(Scorer):
    """Base of the signal scorers: one feature of :func:`~dprune.audio.signal.signal_features` per row.

    Attributes after scoring: ``audio_errors_``, the reason each row failed (None if it did not).
    """

    feature: ClassVar[str]
    _parameter_constraints = _BASE_CONSTRAINTS

    def required_columns(self) -> list[str]:
        return [self.audio_column]

    def signal_batch(self) -> SignalBatch:
        """The batch function computing this scorer's feature."""
        return SignalBatch(self.audio_column, None, [self.feature], on_error=self.on_error)

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        batch = self.signal_batch()
        view = audio_view(dataset, self.audio_column, batch.text_column)
        table = map_batches(batch, view, columns=batch.columns(), batch_size=self.batch_size, num_proc=self.num_proc)
        self.audio_errors_ = np.asarray(table.column("audio_error").to_pylist(), dtype=object)
        return table.column(self.feature).to_numpy()


@register_scorer("duration")
class DurationScorer(SignalScorer):
    __doc__ = f"""Duration of each clip (or segment) in seconds.

    Parameters
    ----------
    {_PARAMETERS_DOC}
    """

    feature = "duration"

    def __init__(self, audio_column: str = "audio", on_error: str = "raise", batch_size: int = 64, num_proc: int = 1,
                 score_column: str = "duration"):
        self.audio_column = audio_column
        self.on_error = on_error
        self.batch_size = batch_size
        self.num_proc = num_proc
        self.score_column = score_column


@register_scorer("clipping_ratio")
class ClippingRatioScorer(SignalScorer):
    __doc__ = f"""Share of samples at or above ``clip_level`` of full scale (before resampling); high is bad.

    Parameters
    ----------
    clip_level : float, default 0.99
        Level (share of full scale) from which a sample counts as clipped.
    {_PARAMETERS_DOC}
    """

    feature = "clipping_ratio"
    _parameter_constraints = {**_BASE_CONSTRAINTS, "clip_level": [Interval(float, 0.0, 1.0, closed="right")]}

    def __init__(self, clip_level: float = 0.99, audio_column: str = "audio", on_error: str = "raise",
                 batch_size: int = 64, num_proc: int = 1, score_column: str = "clipping_ratio"):
        self.clip_level = clip_level
        self.audio_column = audio_column
        self.on_error = on_error
        self.batch_size = batch_size
        self.num_proc = num_proc
        self.score_column = score_column

    def signal_batch(self) -> SignalBatch:
        return SignalBatch(self.audio_column, None, [self.feature], clip_level=self.clip_level, on_error=self.on_error)


@register_scorer("loudness")
class LoudnessScorer(SignalScorer):
    __doc__ = f"""Integrated loudness (LUFS, ITU-R BS.1770 with gating); silence gives -70.

    Parameters
    ----------
    {_PARAMETERS_DOC}
    """

    feature = "loudness"

    def __init__(self, audio_column: str = "audio", on_error: str = "raise", batch_size: int = 64, num_proc: int = 1,
                 score_column: str = "loudness"):
        self.audio_column = audio_column
        self.on_error = on_error
        self.batch_size = batch_size
        self.num_proc = num_proc
        self.score_column = score_column


class VADScorer(SignalScorer):
    """Base of the signal scorers that run a voice-activity detector (``vad`` parameter)."""

    _parameter_constraints = _VAD_CONSTRAINTS

    def signal_batch(self) -> SignalBatch:
        return SignalBatch(self.audio_column, None, [self.feature], vad=self.vad, on_error=self.on_error)


@register_scorer("speech_ratio")
class SpeechRatioScorer(VADScorer):
    __doc__ = f"""Share of 30-32 ms frames the voice-activity detector marks as speech; low is bad.

    Parameters
    ----------
    {_VAD_PARAMETERS_DOC}
    """

    feature = "speech_ratio"

    def __init__(self, vad: str = "silero", audio_column: str = "audio", on_error: str = "raise", batch_size: int = 64,
                 num_proc: int = 1, score_column: str = "speech_ratio"):
        self.vad = vad
        self.audio_column = audio_column
        self.on_error = on_error
        self.batch_size = batch_size
        self.num_proc = num_proc
        self.score_column = score_column


@register_scorer("snr")
class SNRScorer(VADScorer):
    __doc__ = f"""Blind signal-to-noise ratio in dB from the VAD's speech and non-speech frames; low is bad.

    Parameters
    ----------
    {_VAD_PARAMETERS_DOC}
    """

    feature = "snr"

    def __init__(self, vad: str = "silero", audio_column: str = "audio", on_error: str = "raise", batch_size: int = 64,
                 num_proc: int = 1, score_column: str = "snr"):
        self.vad = vad
        self.audio_column = audio_column
        self.on_error = on_error
        self.batch_size = batch_size
        self.num_proc = num_proc
        self.score_column = score_column


@register_scorer("speaking_rate")
class SpeakingRateScorer(VADScorer):
    __doc__ = f"""Speaking rate (transcript letters per second of detected speech), or its deviation from the median.

    With ``deviation=True`` (default) the score is ``|ln(rate / median rate)|`` over the
    scored dataset: high when the transcript does not fit the audio (a transcript of
    another clip, a truncated recording).

    Parameters
    ----------
    text_column : str, default "text"
        The transcript column.
    deviation : bool, default True
        Score the deviation from the dataset's median rate instead of the rate itself.
    {_VAD_PARAMETERS_DOC}
    """

    feature = "speaking_rate"
    _parameter_constraints = {**_VAD_CONSTRAINTS, "text_column": [NON_EMPTY_STR], "deviation": [InstanceOf(bool)]}

    def __init__(self, text_column: str = "text", deviation: bool = True, vad: str = "silero",
                 audio_column: str = "audio", on_error: str = "raise", batch_size: int = 64, num_proc: int = 1,
                 score_column: str = "speaking_rate"):
        self.text_column = text_column
        self.deviation = deviation
        self.vad = vad
        self.audio_column = audio_column
        self.on_error = on_error
        self.batch_size = batch_size
        self.num_proc = num_proc
        self.score_column = score_column

    def required_columns(self) -> list[str]:
        return [self.audio_column, self.text_column]

    def signal_batch(self) -> SignalBatch:
        return SignalBatch(self.audio_column, self.text_column, [self.feature], vad=self.vad, on_error=self.on_error)

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        rates = super().compute_scores(dataset, **kwargs)
        return rate_deviation(rates) if self.deviation else rates
