"""Decoding audio references: formats, mono mixing, resampling, segments and bad audio."""

from __future__ import annotations


import numpy as np
import pytest
import soundfile as sf

from dprune.audio.decode import AudioDecodeError, AudioRef, decode_native, decode_refs, resample


def tone(rate: int, seconds: float = 0.5, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([x, -x / 2][:channels], axis=1) if channels > 1 else x


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("OGG", "OPUS"), ("MP3", None)])
def test_formats_decode_to_16k_mono(tmp_path, fmt, subtype):
    rate = 48000 if subtype == "OPUS" else 22050
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, tone(rate), rate, format=fmt, subtype=subtype)
    batch = decode_refs([AudioRef(path=str(path))])
    audio = batch.audio[0]
    assert audio.dtype == np.float32 and audio.ndim == 1
    # Lossy codecs add a little padding; the length is within 0.1 s of 0.5 s at 16 kHz.
    assert abs(audio.size - 8000) < 1600
    assert batch.native_rate[0] == rate and batch.reason == [None]
    assert 0.3 < np.abs(audio).max() < 0.7


def test_bytes_and_path_decode_the_same(tmp_path):
    path = tmp_path / "a.flac"
    sf.write(path, tone(16000), 16000, format="FLAC")
    by_path = decode_native(AudioRef(path=str(path)))
    by_bytes = decode_native(AudioRef(data=path.read_bytes()))
    assert by_path[1] == by_bytes[1] == 16000
    np.testing.assert_array_equal(by_path[0], by_bytes[0])


def test_stereo_is_averaged_and_segment_is_cut(tmp_path):
    path = tmp_path / "s.wav"
    x = tone(16000, seconds=1.0, channels=2)
    sf.write(path, x, 16000, subtype="FLOAT")
    samples, rate = decode_native(AudioRef(path=str(path), offset=0.25, duration=0.5))
    assert rate == 16000 and samples.size == 8000
    np.testing.assert_allclose(samples, x[4000:12000].mean(axis=1), atol=1e-6)


def test_resample_keeps_duration_and_frequency():
    x = tone(44100, seconds=1.0).astype(np.float32)
    y = resample(x, 44100, 16000)
    assert y.size == 16000
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) - 440) <= 1  # 1 Hz bins for a 1 s clip
    assert resample(x, 16000, 16000) is x


def _bad_refs(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0), 16000)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([0.1, np.nan, 0.2] * 100), 16000, subtype="FLOAT")
    short = tmp_path / "short.wav"
    sf.write(short, tone(16000, 0.1), 16000)
    return {
        "missing_file": AudioRef(path=str(tmp_path / "nope.wav")),
        "unreadable": AudioRef(data=b"this is not audio at all" * 10),
        "empty": AudioRef(path=str(empty)),
        "non_finite": AudioRef(path=str(nan)),
        "empty_segment": AudioRef(path=str(short), offset=5.0),
        "no_source": AudioRef(),
    }


def test_bad_audio_raises_naming_the_row_and_file(tmp_path):
    refs = _bad_refs(tmp_path)
    with pytest.raises(AudioDecodeError, match=r"row 7: audio file '.*nope.wav' does not exist"):
        decode_refs([refs["missing_file"]], rows=[7])
    with pytest.raises(AudioDecodeError, match=r"row 0: audio <240 bytes> is unreadable"):
        decode_refs([refs["unreadable"]])
    with pytest.raises(AudioDecodeError, match=r"empty.wav' has no samples"):
        decode_refs([refs["empty"]])
    with pytest.raises(AudioDecodeError, match="NaN or infinite"):
        decode_refs([refs["non_finite"]])
    with pytest.raises(AudioDecodeError, match="offset=5.0"):
        decode_refs([refs["empty_segment"]])
    with pytest.raises(AudioDecodeError, match="neither a path nor bytes"):
        decode_refs([refs["no_source"]])


def test_nan_policy_returns_reasons_and_keeps_good_rows(tmp_path):
    refs = _bad_refs(tmp_path)
    good = tmp_path / "good.wav"
    sf.write(good, tone(16000), 16000)
    batch = decode_refs([AudioRef(path=str(good)), *refs.values()], on_error="nan")
    assert batch.reason == [None, "missing_file", "unreadable", "empty", "non_finite", "empty", "missing_file"]
    assert batch.audio[0].size == 8000 and all(a is None for a in batch.audio[1:])


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="on_error must be one of"):
        decode_refs([], on_error="skip")
    with pytest.raises(ValueError, match="sample_rate must be an int"):
        decode_refs([], sample_rate=16000.0)
