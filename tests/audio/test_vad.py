"""Voice-activity detection: Silero (ONNX, no torch) and WebRTC on real synthetic speech."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

from dprune.audio.decode import decode_refs
from dprune.audio.vad import SileroVAD, WebRtcVAD, hysteresis, make_vad, speech_ratio
from dprune.data import load_dataset
from dprune.data.audio import refs_from_arrow


@pytest.fixture(scope="module")
def speech_and_silence():
    ds = load_dataset("spoken_digits", split="test")
    clean = ds.filter(lambda r: r == "clean", input_columns="degradation").select(range(3))
    refs = refs_from_arrow(clean.with_format("arrow")[:]["audio"])
    speech = decode_refs(refs).audio
    silence = np.random.default_rng(0).normal(scale=1e-4, size=32000).astype(np.float32)
    return speech, silence


@pytest.mark.parametrize("name", ["silero", "webrtc"])
def test_speech_is_found_and_silence_is_not(name, speech_and_silence):
    speech, silence = speech_and_silence
    vad = make_vad(name)
    for clip in speech:
        mask = vad.speech_frames(clip)
        assert mask.size == pytest.approx(clip.size / 16000 / vad.frame_seconds, abs=1.01)
        assert 0.2 < speech_ratio(mask) < 1.0
    assert speech_ratio(vad.speech_frames(silence)) < 0.05
    # Speech buried in silence: the speech frames are where the speech is.
    padded = np.concatenate([silence, speech[0], silence])
    mask = vad.speech_frames(padded)
    head = int(len(silence) / 16000 / vad.frame_seconds) - 2
    assert not mask[:head].any() and not mask[-head:].any() and mask.any()


def test_silero_runs_without_torch_and_pickles():
    code = (
        "import sys, numpy as np; from dprune.audio.vad import SileroVAD; "
        "p = SileroVAD().probabilities(np.zeros(16000, np.float32)); "
        "assert p.shape == (32,) and 'torch' not in sys.modules; print('ok')"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "ok"
    vad = SileroVAD(threshold=0.6)
    vad.probabilities(np.zeros(512, np.float32))
    restored = pickle.loads(pickle.dumps(vad))
    assert restored.threshold == 0.6 and restored.probabilities(np.zeros(512, np.float32)).shape == (1,)
    identity = vad.identity()
    assert len(identity["model_sha256"]) == 64 and identity["threshold"] == 0.6


def test_hysteresis_and_edge_cases():
    probs = np.array([0.1, 0.6, 0.4, 0.2, 0.45, 0.7, 0.3])
    assert hysteresis(probs, 0.5, 0.35).tolist() == [False, True, True, False, False, True, False]
    assert SileroVAD().probabilities(np.zeros(0, np.float32)).size == 0
    assert np.isnan(speech_ratio(np.zeros(0, bool)))
    with pytest.raises(ValueError, match="1-D array"):
        SileroVAD().speech_frames(np.zeros((2, 512), np.float32))


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="threshold must be a float"):
        SileroVAD(threshold=1)
    with pytest.raises(ValueError, match="aggressiveness must be an int"):
        WebRtcVAD(aggressiveness=4)
    with pytest.raises(ValueError, match="vad must be one of"):
        make_vad("energy")
