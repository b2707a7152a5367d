"""Decode audio references into mono float32 samples at one sample rate.

A dataset row never holds decoded samples: it holds a *reference* -- a file path or
the encoded bytes of a file, an ``offset`` and a ``duration`` in seconds (both
optional) -- and decoding happens late, shard by shard. Decoding uses libsndfile
(through ``soundfile``: WAV, FLAC, OGG Vorbis/Opus, MP3 and more), mixes channels
to mono and resamples with soxr, so neither FFmpeg nor torch is needed.

Bad audio -- a missing file, an unreadable or empty one, a segment that is empty
after the offset, samples that are NaN or infinite -- raises :class:`AudioDecodeError`
naming the row and the file. With ``on_error="nan"`` the row is returned as ``None``
with a short reason instead (``"missing_file"``, ``"unreadable"``, ``"empty"``,
``"non_finite"``), so one bad clip does not stop a shard.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "AudioDecodeError",
    "AudioRef",
    "DecodedBatch",
    "DEFAULT_SAMPLE_RATE",
    "ON_ERROR",
    "decode_native",
    "decode_refs",
    "resample",
    "preview_bytes",
]

#: Sample rate every clip is resampled to unless told otherwise.
DEFAULT_SAMPLE_RATE = 16_000

#: What to do with a clip that cannot be decoded: raise, or return ``None`` plus a reason.
ON_ERROR = ("raise", "nan")


class AudioDecodeError(ValueError):
    """A clip could not be decoded; the message names the row, the file and the fix."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class AudioRef:
    """Where one clip's audio is: a file path or encoded bytes, plus an optional segment.

    Parameters
    ----------
    path : str or None
        Local path (or name, when ``data`` is given) of the file.
    data : bytes or None
        Encoded file content; used instead of reading ``path`` when given.
    offset : float
        Start of the segment in seconds.
    duration : float or None
        Length of the segment in seconds (None: to the end of the file).
    """

    path: str | None = None
    data: bytes | None = None
    offset: float = 0.0
    duration: float | None = None

    def name(self) -> str:
        """A short description of the source for error messages."""
        if self.data is None:
            return repr(self.path)
        return f"{self.path!r} (<{len(self.data)} bytes>)" if self.path else f"<{len(self.data)} bytes>"


@dataclass
class DecodedBatch:
    """The result of :func:`decode_refs`: one entry per reference, in order.

    ``audio[i]`` is a 1-D float32 array at ``sample_rate`` (``None`` when decoding failed
    under ``on_error="nan"``), ``native[i]`` the mono samples before resampling (clipping
    is measured there), ``native_rate[i]`` their rate and ``reason[i]`` why the row failed
    (``None`` when it did not).
    """

    audio: list[np.ndarray | None]
    native: list[np.ndarray | None]
    native_rate: list[int]
    reason: list[str | None]
    sample_rate: int


def _source(ref: AudioRef) -> Any:
    if ref.data is not None:
        return io.BytesIO(ref.data)
    return ref.path


def _check_exists(ref: AudioRef, row: int | None) -> None:
    where = "" if row is None else f"row {row}: "
    if ref.data is None and not ref.path:
        raise AudioDecodeError(
            f"{where}the audio reference has neither a path nor bytes; expected one of them. "
            "Fix the audio column (or the manifest's audio_filepath) for this row.",
            "missing_file",
        )
    if ref.data is None and not os.path.exists(ref.path):
        raise AudioDecodeError(
            f"{where}audio file {ref.path!r} does not exist. Fix the path (relative paths are "
            "resolved against the manifest's or audiofolder's directory) or drop the row.",
            "missing_file",
        )


def decode_native(ref: AudioRef, row: int | None = None) -> tuple[np.ndarray, int]:
    """Decode one reference to mono float32 samples at the file's own rate.

    Parameters
    ----------
    ref : AudioRef
        The clip.
    row : int, optional
        Row number used in error messages.

    Returns
    -------
    samples : numpy.ndarray
        1-D float32 in [-1, 1] (channels averaged).
    sample_rate : int
        The file's sample rate.

    Raises
    ------
    AudioDecodeError
        For a missing, unreadable or empty file, an empty segment, or non-finite samples.
    """
    import soundfile as sf

    where = "" if row is None else f"row {row}: "
    _check_exists(ref, row)
    try:
        with sf.SoundFile(_source(ref)) as f:
            rate = int(f.samplerate)
            start = int(round(max(ref.offset or 0.0, 0.0) * rate))
            frames = -1 if ref.duration is None else int(round(ref.duration * rate))
            if start:
                f.seek(min(start, f.frames))
            data = f.read(frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioDecodeError(
            f"{where}audio {ref.name()} is unreadable by libsndfile ({e}). Convert it to WAV, FLAC, "
            "OGG or MP3, or drop the row.",
            "unreadable",
        ) from e
    if data.shape[0] == 0:
        raise AudioDecodeError(
            f"{where}audio {ref.name()} has no samples (offset={ref.offset}, duration={ref.duration}); "
            "expected a non-empty clip. Fix the offset/duration or drop the row.",
            "empty",
        )
    samples = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(samples).all():
        raise AudioDecodeError(
            f"{where}audio {ref.name()} has NaN or infinite samples; expected finite values. "
            "Re-encode the file or drop the row.",
            "non_finite",
        )
    return np.ascontiguousarray(samples), rate


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample 1-D float32 samples from ``rate`` to ``target`` Hz with soxr (no-op if equal)."""
    if rate == target:
        return samples
    import soxr

    return soxr.resample(samples, rate, target).astype(np.float32, copy=False)


def decode_refs(
    refs: Sequence[AudioRef],
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    on_error: str = "raise",
    rows: Iterable[int] | None = None,
) -> DecodedBatch:
    """Decode, mono-mix and resample a batch of references.

    Parameters
    ----------
    refs : sequence of AudioRef
        The clips of one shard.
    sample_rate : int, default 16000
        Rate of the returned audio.
    on_error : {"raise", "nan"}, default "raise"
        ``"raise"``: the first bad clip raises :class:`AudioDecodeError` naming its row.
        ``"nan"``: a bad clip gives ``None`` and its reason.
    rows : iterable of int, optional
        Row numbers used in error messages (default: positions in ``refs``).

    Returns
    -------
    DecodedBatch
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}. Got {on_error!r} instead.")
    if not isinstance(sample_rate, int) or isinstance(sample_rate, bool) or sample_rate < 1000:
        raise ValueError(f"sample_rate must be an int >= 1000 (Hz). Got {sample_rate!r} instead.")
    row_ids = list(rows) if rows is not None else list(range(len(refs)))
    out = DecodedBatch([], [], [], [], sample_rate)
    for ref, row in zip(refs, row_ids):
        try:
            native, rate = decode_native(ref, row)
        except AudioDecodeError as e:
            if on_error == "raise":
                raise
            out.audio.append(None)
            out.native.append(None)
            out.native_rate.append(0)
            out.reason.append(e.reason)
            continue
        out.audio.append(resample(native, rate, sample_rate))
        out.native.append(native)
        out.native_rate.append(rate)
        out.reason.append(None)
    return out


def preview_bytes(ref: AudioRef, *, max_seconds: float = 10.0) -> bytes:
    """The clip (its first ``max_seconds``) as small Ogg Vorbis bytes, for an HTML ``<audio>`` element.

    Raises
    ------
    AudioDecodeError
        As :func:`decode_native`.
    """
    import soundfile as sf

    samples, rate = decode_native(ref)
    buffer = io.BytesIO()
    sf.write(buffer, samples[: int(max_seconds * rate)], rate, format="OGG", subtype="VORBIS")
    return buffer.getvalue()
