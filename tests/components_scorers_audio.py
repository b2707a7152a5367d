"""Signal scorer instances, bad parameters and the tiny audio column for tests/test_common.py.

The common dataset gets an ``audio`` column (:func:`tiny_audio_column`): short 16 kHz WAV
clips made here -- a vowel-like harmonic tone in noise, some loud enough to clip, one silent --
stored as ``{"bytes", "path"}`` structs, the storage of a ``datasets.Audio`` column, so the
scorers also exercise the on-the-fly conversion to references.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from dprune.scorers.audio import (
    ClippingRatioScorer,
    DurationScorer,
    LoudnessScorer,
    SNRScorer,
    SpeakingRateScorer,
    SpeechRatioScorer,
)

RATE = 16_000


def tiny_clip(i: int) -> np.ndarray:
    """Clip ``i``: 0.4-0.9 s, a 120-200 Hz harmonic tone in the middle, a noise floor; every 5th clipped."""
    rng = np.random.default_rng(i)
    n = int(RATE * (0.4 + 0.05 * i))
    x = 0.003 * rng.standard_normal(n)
    if i % 6 != 5:  # one clip in six is only noise
        t = np.arange(n // 2) / RATE
        tone = sum(np.sin(2 * np.pi * (120 + 8 * i) * k * t) / k for k in range(1, 8))
        x[n // 4 : n // 4 + tone.size] += 0.2 * tone * np.hanning(tone.size)
    if i % 5 == 4:
        x = np.clip(4 * x, -1, 1)
    return x.astype(np.float32)


def tiny_audio_column(n: int) -> list[dict]:
    """``n`` WAV clips as ``{"bytes", "path"}`` dicts."""
    out = []
    for i in range(n):
        buffer = io.BytesIO()
        sf.write(buffer, tiny_clip(i), RATE, format="WAV", subtype="PCM_16")
        out.append({"bytes": buffer.getvalue(), "path": f"clip{i}.wav"})
    return out


SCORER_FACTORIES = {
    "duration": lambda: [DurationScorer(), DurationScorer(batch_size=5, num_proc=2, score_column="seconds")],
    "clipping_ratio": lambda: [ClippingRatioScorer(), ClippingRatioScorer(clip_level=0.9, batch_size=4)],
    "loudness": lambda: [LoudnessScorer()],
    "speech_ratio": lambda: [SpeechRatioScorer(), SpeechRatioScorer(vad="webrtc", batch_size=5, num_proc=2)],
    "snr": lambda: [SNRScorer(), SNRScorer(vad="webrtc")],
    "speaking_rate": lambda: [SpeakingRateScorer(), SpeakingRateScorer(deviation=False, vad="webrtc")],
}

_COMMON_BAD = [
    ({"batch_size": 0}, "batch_size"),
    ({"num_proc": 0}, "num_proc"),
    ({"on_error": "skip"}, "on_error"),
    ({"audio_column": 3}, "audio_column"),
    ({"score_column": ""}, "score_column"),
]
SCORER_BAD_PARAMS = {
    "duration": _COMMON_BAD,
    "clipping_ratio": _COMMON_BAD + [({"clip_level": 0.0}, "clip_level"), ({"clip_level": 1}, "clip_level")],
    "loudness": _COMMON_BAD,
    "speech_ratio": _COMMON_BAD + [({"vad": "energy"}, "vad")],
    "snr": _COMMON_BAD + [({"vad": "energy"}, "vad")],
    "speaking_rate": _COMMON_BAD + [({"vad": "energy"}, "vad"), ({"deviation": "yes"}, "deviation"),
                                    ({"text_column": 1}, "text_column")],
}
