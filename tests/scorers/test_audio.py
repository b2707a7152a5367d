"""Signal scorers find the degradations of the bundled speech example; bad audio is named or scored NaN."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import soundfile as sf
from sklearn.metrics import roc_auc_score

from dprune.audio.decode import AudioDecodeError
from dprune.data import load_dataset
from dprune.scorers.audio import ClippingRatioScorer, DurationScorer, SNRScorer, SpeakingRateScorer, SpeechRatioScorer


@pytest.fixture(scope="module")
def example():
    return datasets.concatenate_datasets([load_dataset("spoken_digits", split=s) for s in ("train", "test")])


@pytest.mark.parametrize(
    "kind,scorer,sign",
    [
        ("noise", SNRScorer(), -1),
        ("clipping", ClippingRatioScorer(), 1),
        ("silence", SpeechRatioScorer(), -1),
        ("transcript_swap", SpeakingRateScorer(), 1),
    ],
    ids=["noise-by-snr", "clipping-by-clipping_ratio", "silence-by-speech_ratio", "swap-by-speaking_rate"],
)
def test_each_degradation_is_found_by_its_scorer(example, kind, scorer, sign):
    scores = np.asarray(scorer.score(example)[scorer.score_column], dtype=float)
    degradation = np.asarray(example["degradation"])
    assert np.isfinite(scores).all()
    clean_or_kind = (degradation == "clean") | (degradation == kind)
    auroc_vs_clean = roc_auc_score(degradation[clean_or_kind] == kind, sign * scores[clean_or_kind])
    auroc_vs_all = roc_auc_score(degradation == kind, sign * scores)
    assert auroc_vs_clean >= 0.95 and auroc_vs_all >= 0.95, (auroc_vs_clean, auroc_vs_all)


def test_duration_matches_the_ground_truth(example):
    scored = DurationScorer(num_proc=2).score(example)
    np.testing.assert_allclose(scored["duration"], example["duration"], atol=1e-3)


@pytest.fixture()
def with_bad_rows(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, 0.1 * np.sin(np.arange(16000) / 5.0), 16000)
    (tmp_path / "junk.wav").write_bytes(b"RIFF but not really a wav file" * 4)
    paths = [str(good), str(tmp_path / "gone.wav"), str(tmp_path / "junk.wav"), str(good)]
    return datasets.Dataset.from_dict({"audio": paths, "text": ["a b"] * 4}).cast_column("audio", datasets.Audio())


def test_bad_audio_raises_naming_the_row(with_bad_rows):
    with pytest.raises(AudioDecodeError, match=r"row 1: audio file '.*gone.wav' does not exist"):
        SNRScorer(vad="webrtc").score(with_bad_rows)


def test_nan_policy_scores_nan_and_keeps_reasons(with_bad_rows):
    scorer = DurationScorer(on_error="nan", batch_size=2)
    scores = np.asarray(scorer.score(with_bad_rows)["duration"], dtype=float)
    np.testing.assert_allclose(scores, [1.0, np.nan, np.nan, 1.0])
    assert scorer.audio_errors_.tolist() == [None, "missing_file", "unreadable", None]
    rates = SpeakingRateScorer(vad="webrtc", on_error="nan").score(with_bad_rows)["speaking_rate"]
    assert np.isnan(rates[1]) and np.isnan(rates[2]) and np.isfinite(rates[0])
