"""Signal-quality features of speech clips: duration, speech ratio, SNR, clipping, loudness, speaking rate.

The per-shard entry point is :func:`signal_features`: it decodes a batch of audio
references (:mod:`dprune.audio.decode`), runs a voice-activity detector
(:mod:`dprune.audio.vad`) once per clip and derives every feature from the decoded
samples and the VAD mask, so each clip is decoded and analysed once. Each feature is
also a small function of its own (arrays in, numbers out).

Definitions
-----------
duration
    Seconds of the (segment of the) clip.
speech_ratio
    Share of VAD frames that hold speech.
snr
    Blind SNR in dB from the VAD segments: ``10 log10((P_speech - P_noise) / P_noise)``
    with ``P_speech`` the mean power of speech frames and ``P_noise`` the median power of
    non-speech frames (the 10th percentile of all frame powers when fewer than three
    frames are non-speech, e.g. noise the VAD took for speech). Clamped to [-20, 100].
clipping_ratio
    Share of samples at or above ``clip_level`` of full scale, measured at the file's
    own rate before resampling (resampling smooths clipped plateaus).
loudness
    Integrated loudness in LUFS (ITU-R BS.1770-4 with gating, pyloudnorm); a clip
    shorter than one 400 ms gating block is repeated to fill it; silence gives -70.
speaking_rate
    Transcript characters (letters and digits) per second of detected speech; the
    dataset-level flag is :func:`rate_deviation`, ``|ln(rate / median rate)|``.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from dprune.audio.decode import DEFAULT_SAMPLE_RATE, AudioRef, decode_refs

__all__ = [
    "SIGNAL_COLUMNS",
    "VAD_FEATURES",
    "frame_powers",
    "vad_snr",
    "clipping_ratio",
    "loudness",
    "transcript_length",
    "speaking_rate",
    "rate_deviation",
    "signal_features",
]

#: Float columns returned by :func:`signal_features` (plus the string column ``audio_error``).
SIGNAL_COLUMNS = ("duration", "speech_ratio", "speech_seconds", "snr", "clipping_ratio", "loudness", "speaking_rate")
#: The features that need the voice-activity detector.
VAD_FEATURES = frozenset({"speech_ratio", "speech_seconds", "snr", "speaking_rate"})

_SNR_RANGE = (-20.0, 100.0)
_POWER_FLOOR = 1e-12
_SILENCE_LUFS = -70.0
_LOUDNESS_BLOCK = 0.4


def frame_powers(audio: np.ndarray, frame_length: int, num_frames: int) -> np.ndarray:
    """Mean power of ``num_frames`` consecutive ``frame_length``-sample frames (zero-padded at the end)."""
    total = frame_length * num_frames
    padded = np.zeros(total, dtype=np.float64)
    n = min(total, audio.size)
    padded[:n] = audio[:n]
    return np.square(padded).reshape(num_frames, frame_length).mean(axis=1)


def vad_snr(powers: np.ndarray, speech: np.ndarray) -> float:
    """Blind SNR in dB from frame powers and the VAD's speech mask (see the module notes)."""
    if powers.size == 0:
        return float("nan")
    noise_frames = powers[~speech]
    noise = float(np.median(noise_frames)) if noise_frames.size >= 3 else float(np.percentile(powers, 10))
    signal = float(powers[speech].mean()) if speech.any() else float(np.percentile(powers, 90))
    noise = max(noise, _POWER_FLOOR)
    clean = max(signal - noise, noise * 10 ** (_SNR_RANGE[0] / 10))  # no excess power: the lowest SNR
    return float(np.clip(10.0 * math.log10(clean / noise), *_SNR_RANGE))


def clipping_ratio(samples: np.ndarray, clip_level: float = 0.99) -> float:
    """Share of samples with ``|x| >= clip_level`` (full scale is 1.0)."""
    if samples.size == 0:
        return float("nan")
    return float(np.count_nonzero(np.abs(samples) >= clip_level)) / samples.size


def loudness(audio: np.ndarray, sample_rate: int = DEFAULT_SAMPLE_RATE) -> float:
    """Integrated loudness (LUFS, BS.1770) of a mono clip; -70 for silence."""
    import pyloudnorm

    if audio.size == 0:
        return float("nan")
    block = int(math.ceil(_LOUDNESS_BLOCK * sample_rate))
    if audio.size < block:
        audio = np.tile(audio, -(-block // audio.size))
    value = pyloudnorm.Meter(sample_rate).integrated_loudness(audio.astype(np.float64))
    return float("nan") if np.isnan(value) else float(max(value, _SILENCE_LUFS))


def transcript_length(text: str | None) -> float:
    """Letters and digits in a transcript (NaN when there is none)."""
    if text is None:
        return float("nan")
    return float(sum(ch.isalnum() for ch in text))


def speaking_rate(characters: np.ndarray, speech_seconds: np.ndarray, min_seconds: float = 0.032) -> np.ndarray:
    """Characters per second of detected speech (speech shorter than ``min_seconds`` counts as ``min_seconds``)."""
    return np.asarray(characters, dtype=np.float64) / np.maximum(np.asarray(speech_seconds, dtype=np.float64), min_seconds)


def rate_deviation(rates: np.ndarray, floor: float = 0.1) -> np.ndarray:
    """``|ln(rate / median)|`` over the dataset's finite rates; NaN stays NaN.

    A transcript that belongs to another clip is usually much longer or shorter than what
    was said, so its rate is far from the typical one in either direction.
    """
    rates = np.asarray(rates, dtype=np.float64)
    finite = rates[np.isfinite(rates)]
    if finite.size == 0:
        return np.full(rates.shape, np.nan)
    median = max(float(np.median(finite)), floor)
    return np.abs(np.log(np.maximum(rates, floor) / median))


def signal_features(
    refs: Sequence[AudioRef],
    texts: Sequence[str | None] | None,
    vad,
    *,
    features: Sequence[str] = SIGNAL_COLUMNS,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    clip_level: float = 0.99,
    on_error: str = "raise",
    rows: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """Every signal feature of a batch of clips, decoding each clip once.

    Parameters
    ----------
    refs : sequence of AudioRef
        The clips.
    texts : sequence of str or None, optional
        Transcripts, for ``speaking_rate`` (NaN without them).
    vad : SileroVAD or WebRtcVAD or None
        The voice-activity detector (works at 16 kHz); None when no feature of
        :data:`VAD_FEATURES` is asked for.
    features : sequence of str, default SIGNAL_COLUMNS
        The features to compute (the others are skipped, and so is the VAD if it is not needed).
    sample_rate : int, default 16000
        Rate the clips are resampled to; the VAD needs 16000.
    clip_level : float, default 0.99
        Level (share of full scale) from which a sample counts as clipped.
    on_error : {"raise", "nan"}, default "raise"
        Bad audio raises :class:`~dprune.audio.decode.AudioDecodeError` naming the row,
        or (``"nan"``) gets NaN features and its reason in ``audio_error``.
    rows : sequence of int, optional
        Row numbers for error messages.

    Returns
    -------
    dict of str to numpy.ndarray
        The requested features as float64 arrays plus ``audio_error`` (object array of
        reason strings or None).
    """
    unknown = sorted(set(features) - set(SIGNAL_COLUMNS))
    if unknown:
        raise ValueError(f"features has unknown names {unknown}; expected names from {list(SIGNAL_COLUMNS)}.")
    wanted = set(features)
    needs_vad = bool(wanted & VAD_FEATURES)
    if needs_vad and vad is None:
        raise ValueError(f"vad is None but the features {sorted(wanted & VAD_FEATURES)} need a voice-activity detector.")
    if sample_rate != 16_000:
        raise ValueError(f"sample_rate must be 16000 for the voice-activity detectors. Got {sample_rate!r} instead.")
    if texts is not None and len(texts) != len(refs):
        raise ValueError(f"texts has {len(texts)} entries for {len(refs)} clips; expected one transcript per clip.")
    batch = decode_refs(refs, sample_rate=sample_rate, on_error=on_error, rows=rows)
    n = len(refs)
    out = {name: np.full(n, np.nan) for name in SIGNAL_COLUMNS}
    for i, (audio, native, rate) in enumerate(zip(batch.audio, batch.native, batch.native_rate)):
        if audio is None:
            continue
        out["duration"][i] = native.size / rate
        if "clipping_ratio" in wanted:
            out["clipping_ratio"][i] = clipping_ratio(native, clip_level)
        if "loudness" in wanted:
            out["loudness"][i] = loudness(audio, sample_rate)
        if needs_vad:
            speech = vad.speech_frames(audio)
            powers = frame_powers(audio, int(round(vad.frame_seconds * sample_rate)), speech.size)
            out["speech_ratio"][i] = speech.mean() if speech.size else np.nan
            out["speech_seconds"][i] = speech.sum() * vad.frame_seconds
            out["snr"][i] = vad_snr(powers, speech)
    if texts is not None and "speaking_rate" in wanted:
        chars = np.array([transcript_length(t) for t in texts], dtype=np.float64)
        out["speaking_rate"] = speaking_rate(chars, out["speech_seconds"])
    result = {name: out[name] for name in SIGNAL_COLUMNS if name in wanted}
    result["audio_error"] = np.array(batch.reason, dtype=object)
    return result
