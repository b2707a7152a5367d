"""Signal features on signals whose answer is known."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from dprune.audio.decode import AudioDecodeError, AudioRef
from dprune.audio.signal import (
    SIGNAL_COLUMNS,
    clipping_ratio,
    frame_powers,
    loudness,
    rate_deviation,
    signal_features,
    speaking_rate,
    transcript_length,
    vad_snr,
)
from dprune.audio.vad import WebRtcVAD

RATE = 16000


def sine(seconds: float, level_dbfs: float, freq: float = 997.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_loudness_of_a_sine_follows_bs1770():
    # BS.1770: a full-scale 997 Hz sine reads -3.01 LUFS, so -20 dBFS reads about -23 LUFS.
    assert loudness(sine(2.0, -20.0)) == pytest.approx(-23.0, abs=0.2)
    # A clip shorter than a 400 ms gating block is repeated to fill it.
    assert loudness(sine(0.1, -20.0)) == pytest.approx(-23.0, abs=0.3)
    assert loudness(np.zeros(RATE, np.float32)) == -70.0


def test_clipping_ratio_counts_samples_near_full_scale():
    x = np.array([0.0, 0.5, 0.99, -1.0, 1.0, 0.98], np.float32)
    assert clipping_ratio(x) == pytest.approx(3 / 6)
    assert clipping_ratio(x, clip_level=0.5) == pytest.approx(5 / 6)
    assert np.isnan(clipping_ratio(np.zeros(0)))


def test_vad_snr_recovers_a_known_ratio():
    rng = np.random.default_rng(0)
    frames = 100
    speech = np.zeros(frames, bool)
    speech[30:70] = True
    for snr in (0.0, 10.0, 30.0):
        noise_power = 1e-4
        powers = np.full(frames, noise_power) * rng.uniform(0.9, 1.1, frames)
        powers[speech] += noise_power * 10 ** (snr / 10)
        assert vad_snr(powers, speech) == pytest.approx(snr, abs=0.5)
    assert vad_snr(np.zeros(frames), speech) == -20.0  # nothing but the floor
    assert vad_snr(np.r_[np.zeros(10), np.ones(10)], np.r_[np.zeros(10, bool), np.ones(10, bool)]) == 100.0
    assert np.isnan(vad_snr(np.zeros(0), np.zeros(0, bool)))


def test_frame_powers_pad_the_last_frame():
    x = np.ones(10, np.float32)
    np.testing.assert_allclose(frame_powers(x, 4, 3), [1.0, 1.0, 0.5])


def test_speaking_rate_and_its_deviation():
    assert transcript_length("Number 7, please!") == 13
    assert np.isnan(transcript_length(None))
    rates = speaking_rate(np.array([10, 20, 10, 30]), np.array([1.0, 2.0, 0.0, 1.0]))
    np.testing.assert_allclose(rates, [10, 10, 10 / 0.032, 30])
    dev = rate_deviation(np.array([10.0, 10.0, 10.0, 40.0, 2.5, np.nan]))
    np.testing.assert_allclose(dev[:5], [0, 0, 0, np.log(4), np.log(4)])
    assert np.isnan(dev[5])
    assert np.isnan(rate_deviation(np.array([np.nan]))).all()


def wav(x: np.ndarray) -> AudioRef:
    buffer = io.BytesIO()
    sf.write(buffer, x, RATE, format="WAV", subtype="FLOAT")
    return AudioRef(data=buffer.getvalue())


def test_signal_features_of_a_batch_with_a_bad_row():
    rng = np.random.default_rng(1)
    quiet = np.concatenate([np.zeros(8000), sine(1.0, -10.0, 220.0), np.zeros(8000)]).astype(np.float32)
    quiet += 1e-4 * rng.standard_normal(quiet.size).astype(np.float32)
    clipped = np.clip(4 * quiet, -1, 1)
    refs = [wav(quiet), wav(clipped), AudioRef(data=b"junk" * 100)]
    out = signal_features(refs, ["one two", "one two", "x"], WebRtcVAD(), on_error="nan")
    assert set(out) == set(SIGNAL_COLUMNS) | {"audio_error"}
    assert out["duration"][:2].tolist() == [2.0, 2.0]
    assert out["clipping_ratio"][0] == 0.0 and out["clipping_ratio"][1] > 0.1
    assert out["loudness"][1] > out["loudness"][0] + 6
    assert out["audio_error"].tolist() == [None, None, "unreadable"]
    assert all(np.isnan(out[name][2]) for name in SIGNAL_COLUMNS)
    only = signal_features(refs[:1], None, None, features=["duration", "clipping_ratio"])
    assert set(only) == {"duration", "clipping_ratio", "audio_error"}
    with pytest.raises(AudioDecodeError, match="row 12: audio <400 bytes> is unreadable"):
        signal_features(refs[2:], None, None, features=["duration"], rows=[12])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown names"):
        signal_features([], None, None, features=["pitch"])
    with pytest.raises(ValueError, match="need a voice-activity detector"):
        signal_features([], None, None, features=["snr"])
    with pytest.raises(ValueError, match="sample_rate must be 16000"):
        signal_features([], None, WebRtcVAD(), sample_rate=8000)
    with pytest.raises(ValueError, match="one transcript per clip"):
        signal_features([AudioRef()], [], WebRtcVAD())
