"""Voice-activity detection: which frames of a 16 kHz clip hold speech.

Two detectors share one interface (``frame_seconds`` and ``speech_frames(audio)``):

* :class:`SileroVAD` (default) runs the Silero VAD network from the ``silero-vad`` wheel's
  packaged ONNX file with onnxruntime directly -- the whole clip in one call per 16 s
  block (the wheel's "sequence" export), 32 ms frames, no torch. A frame is speech with
  hysteresis: it starts when the probability reaches ``threshold`` and ends when it
  falls below ``threshold - 0.15``.
* :class:`WebRtcVAD` is the light alternative (``webrtcvad-wheels``): 30 ms frames, a
  Gaussian-mixture detector with an ``aggressiveness`` mode 0-3.

Both are picklable (the ONNX session is dropped and reopened lazily), so they can be
shipped to worker processes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["SileroVAD", "WebRtcVAD", "VAD_NAMES", "make_vad", "speech_ratio", "silero_model_path"]

SAMPLE_RATE = 16_000
_SILERO_FRAME = 512
_SILERO_CONTEXT = 64
_SILERO_FILE = "silero_vad_16k_sequence.onnx"
_SILERO_BLOCK = 512  # frames per ONNX call (~16.4 s)

#: Names accepted by :func:`make_vad`.
VAD_NAMES = ("silero", "webrtc")


def silero_model_path() -> str:
    """Path of the Silero VAD ONNX file packaged in the ``silero-vad`` wheel (without importing it).

    Raises
    ------
    ImportError
        If the wheel is not installed, with the install command.
    """
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("Please install `silero-vad` to use the Silero VAD: pip install 'dprune[audio]'.")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", _SILERO_FILE)
    if not os.path.isfile(path):
        raise ImportError(f"The installed silero-vad has no {_SILERO_FILE}; install silero-vad>=6.2.")
    return path


@lru_cache(maxsize=4)
def _file_sha256(path: str, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_audio(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"audio must be a 1-D array of 16 kHz samples. Got shape {audio.shape} instead.")
    return audio


class SileroVAD:
    """Silero VAD on onnxruntime, one clip at a time, 32 ms frames.

    Parameters
    ----------
    threshold : float, default 0.5
        Speech probability at which a speech run starts.
    """

    frame_seconds = _SILERO_FRAME / SAMPLE_RATE

    def __init__(self, threshold: float = 0.5):
        if not (isinstance(threshold, float) and 0.0 < threshold < 1.0):
            raise ValueError(f"threshold must be a float in (0, 1). Got {threshold!r} instead.")
        self.threshold = threshold
        self._session: Any = None

    def __getstate__(self) -> dict:
        return {"threshold": self.threshold}

    def __setstate__(self, state: dict) -> None:
        self.threshold = state["threshold"]
        self._session = None

    def identity(self) -> dict:
        """What changes this detector's output: the model file's content hash and the threshold."""
        path = silero_model_path()
        return {"vad": "silero", "model_sha256": _file_sha256(path, os.path.getmtime(path)), "threshold": self.threshold}

    def _open(self) -> Any:
        if self._session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.inter_op_num_threads = 1
            options.intra_op_num_threads = 1
            self._session = ort.InferenceSession(
                silero_model_path(), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return self._session

    def probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Per-frame speech probabilities of a 16 kHz clip (the last frame zero-padded)."""
        audio = _check_audio(audio)
        n_frames = -(-audio.size // _SILERO_FRAME)
        if n_frames == 0:
            return np.zeros(0, dtype=np.float32)
        frames = np.zeros((n_frames, _SILERO_FRAME), dtype=np.float32)
        frames.reshape(-1)[: audio.size] = audio
        context = np.zeros((n_frames, _SILERO_CONTEXT), dtype=np.float32)
        context[1:] = frames[:-1, -_SILERO_CONTEXT:]
        windows = np.concatenate((context, frames), axis=1)
        session = self._open()
        h = np.zeros((1, 1, 128), dtype=np.float32)
        c = np.zeros((1, 1, 128), dtype=np.float32)
        out = []
        for first in range(0, n_frames, _SILERO_BLOCK):
            probs, h, c = session.run(
                ["speech_probs", "hn", "cn"], {"input": windows[first : first + _SILERO_BLOCK], "h": h, "c": c}
            )
            out.append(probs)
        return np.concatenate(out).reshape(-1)

    def speech_frames(self, audio: np.ndarray) -> np.ndarray:
        """Boolean speech mask, one entry per 32 ms frame."""
        probs = self.probabilities(audio)
        return hysteresis(probs, self.threshold, max(self.threshold - 0.15, 0.01))


def hysteresis(probs: np.ndarray, on: float, off: float) -> np.ndarray:
    """Speech mask from probabilities: a run starts at ``>= on`` and ends below ``off``."""
    mask = np.zeros(probs.size, dtype=bool)
    speaking = False
    # Only the frames between the two thresholds depend on the previous state.
    above, below = probs >= on, probs < off
    for i in range(probs.size):
        if above[i]:
            speaking = True
        elif below[i]:
            speaking = False
        mask[i] = speaking
    return mask


class WebRtcVAD:
    """The WebRTC voice-activity detector, 30 ms frames.

    Parameters
    ----------
    aggressiveness : int, default 2
        0 (keeps most frames as speech) to 3 (most aggressive at rejecting non-speech).
    """

    frame_seconds = 0.03

    def __init__(self, aggressiveness: int = 2):
        if not isinstance(aggressiveness, int) or isinstance(aggressiveness, bool) or aggressiveness not in range(4):
            raise ValueError(f"aggressiveness must be an int in 0..3. Got {aggressiveness!r} instead.")
        self.aggressiveness = aggressiveness

    def identity(self) -> dict:
        """What changes this detector's output: the package version and the mode."""
        from importlib.metadata import version

        return {"vad": "webrtc", "version": version("webrtcvad-wheels"), "aggressiveness": self.aggressiveness}

    def speech_frames(self, audio: np.ndarray) -> np.ndarray:
        """Boolean speech mask, one entry per 30 ms frame (a short last frame is dropped)."""
        try:
            import webrtcvad
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Please install `webrtcvad-wheels` to use the WebRTC VAD: pip install 'dprune[audio]'.") from e
        audio = _check_audio(audio)
        step = int(SAMPLE_RATE * self.frame_seconds)
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        vad = webrtcvad.Vad(self.aggressiveness)
        n = audio.size // step
        return np.fromiter(
            (vad.is_speech(pcm[2 * i * step : 2 * (i + 1) * step], SAMPLE_RATE) for i in range(n)), dtype=bool, count=n
        )


def make_vad(name: str = "silero") -> SileroVAD | WebRtcVAD:
    """The detector called ``name`` (one of :data:`VAD_NAMES`) with its default settings."""
    if name == "silero":
        return SileroVAD()
    if name == "webrtc":
        return WebRtcVAD()
    raise ValueError(f"vad must be one of {VAD_NAMES}. Got {name!r} instead.")


def speech_ratio(mask: np.ndarray) -> float:
    """Share of frames marked as speech (NaN for an empty mask)."""
    return float(mask.mean()) if mask.size else float("nan")
