"""Audio embeddings: pooled MFCC statistics of the speech region, one fixed-size vector per clip.

Why not a pretrained encoder: we searched the PyPI package lists for an audio encoder
whose wheel ships its weights (so it loads offline). The packages that fit the need
either download their weights at run time (openl3-style, CLAP, PANNs, S-SONDO,
speakeronnx...) or ship a *speaker* encoder (resemblyzer), which by design ignores
what is said -- wrong for finding duplicate utterances or training a probe on spoken
words. So the vectors are signal statistics with a fixed, documented recipe (no
weights, no download, deterministic), the same for every clip.

Recipe (:data:`RECIPE`; 16 kHz mono float input)::

    1. pre-emphasis 0.97; 25 ms Hann frames every 10 ms; 512-point power spectrum
    2. 40 triangular mel bands, 60-7600 Hz; natural log (floor 1e-10)
    3. speech region: the frames between the 0.5% and 99.5% points of the clip's
       cumulative energy (leading/trailing silence and padding carry almost none of it)
    4. log-mel values floored at 50 dB below the region's largest one (codecs drop
       quiet bins); MFCC = DCT-II (orthonormal), coefficients 1..19 (c0, the level, is
       dropped: a gain change only moves c0)
    5. pooled over the region with frame weights sqrt(frame energy) (quiet frames,
       whose spectra codecs and noise change most, count little), each block scaled by
       a fixed constant: weighted mean (19) and standard deviation (19) of the MFCCs,
       weighted RMS of their first difference (19), and the trajectory: the region cut
       into 5 segments of equal weight, each segment's mean of c1..c12 minus the
       region's mean (60); and the speaking time (log seconds between the 5% and 95%
       points of the weight mass, 1)
    -> 118 float32 values; a clip with no frame (shorter than 25 ms) gets zeros

What it is robust to, by construction: gain (c0 dropped, the region is defined
by shares of the energy), leading/trailing silence and trimming of it (only the
speech region counts), lossy re-encoding (statistics over many frames of a smooth
spectral envelope). What still changes it: different words, voices, speaking rate
(partly), and noise loud enough to fill the silence.

Clips are processed in *length buckets*: sorted by length and stacked into 2-D batches
of similar length (at most ``batch_samples`` samples of padding included), so the framing,
FFT and mel projection run as a few large array operations instead of one per clip.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["EMBEDDING_DIM", "LOG_MEL_RECIPE", "RECIPE", "SAMPLE_RATE", "audio_embeddings", "log_mel_frames",
           "mel_filterbank"]

SAMPLE_RATE = 16_000
#: Every setting of the recipe; part of the embeddings' cache key.
RECIPE: dict[str, Any] = {
    "name": "mfcc_stats", "version": 1, "sample_rate": SAMPLE_RATE, "pre_emphasis": 0.97, "frame": 400, "hop": 160,
    "n_fft": 512, "n_mels": 40, "fmin": 60.0, "fmax": 7600.0, "n_mfcc": 20, "region_tail": 0.005, "floor_db": 50.0,
    "segments": 5, "trajectory_coefficients": 12,
    # Fixed block scales: each block gets a comparable spread on speech, so no block dominates a cosine.
    "block_scales": {"mean": 0.25, "std": 0.5, "delta": 1.0, "trajectory": 0.5, "speaking_time": 4.0},
}
#: The frames :func:`log_mel_frames` gives the convolutional model: the recipe's steps 1-4, then per-clip
#: per-band normalization; part of the dynamics' cache key.
LOG_MEL_RECIPE: dict[str, Any] = {
    "name": "log_mel_cmvn", "version": 1,
    **{k: RECIPE[k] for k in ("sample_rate", "pre_emphasis", "frame", "hop", "n_fft", "n_mels", "fmin", "fmax",
                              "region_tail", "floor_db")},
    "std_floor": 1e-3,
}
_N = RECIPE["n_mfcc"] - 1
_T = RECIPE["trajectory_coefficients"]
EMBEDDING_DIM = 3 * _N + RECIPE["segments"] * _T + 1
_SCALE_MEAN, _SCALE_STD, _SCALE_DELTA, _SCALE_TRAJ, _SCALE_DURATION = RECIPE["block_scales"].values()


def mel_filterbank(n_mels: int = 40, n_fft: int = 512, sample_rate: int = SAMPLE_RATE,
                   fmin: float = 60.0, fmax: float = 7600.0) -> np.ndarray:
    """Triangular mel filters (HTK mel scale), shape ``(n_fft // 2 + 1, n_mels)``."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    weights = np.maximum(0.0, np.minimum((freqs - lower) / (center - lower), (upper - freqs) / (upper - center)))
    return weights.T.astype(np.float32)


def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    basis[0] /= np.sqrt(2.0)
    return basis.T.astype(np.float32)  # (n_in, n_out)


_MEL = mel_filterbank(RECIPE["n_mels"], RECIPE["n_fft"], SAMPLE_RATE, RECIPE["fmin"], RECIPE["fmax"])
_DCT = _dct_matrix(RECIPE["n_mels"], RECIPE["n_mfcc"])
_WINDOW = np.hanning(RECIPE["frame"]).astype(np.float32)


def _frames(batch: np.ndarray) -> np.ndarray:
    """``(clips, samples)`` -> ``(clips, frames, frame)`` views (samples >= one frame)."""
    frame, hop = RECIPE["frame"], RECIPE["hop"]
    count = 1 + (batch.shape[1] - frame) // hop
    windows = np.lib.stride_tricks.sliding_window_view(batch, frame, axis=1)
    return windows[:, : (count - 1) * hop + 1 : hop]


def _log_mel(batch: np.ndarray) -> np.ndarray:
    """Log-mel frames of a padded batch, ``(clips, frames, n_mels)`` float32."""
    emphasized = np.concatenate([batch[:, :1], batch[:, 1:] - RECIPE["pre_emphasis"] * batch[:, :-1]], axis=1)
    frames = _frames(emphasized) * _WINDOW
    power = np.abs(np.fft.rfft(frames, n=RECIPE["n_fft"], axis=-1)).astype(np.float32) ** 2
    return np.log(np.maximum(power @ _MEL, 1e-10))


def _speech_region(log_mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Steps 3-4 of the recipe: the speech region's floored log-mel frames and their energies."""
    energy = np.exp(log_mel.astype(np.float64)).sum(axis=1)
    cumulative = np.cumsum(energy) / energy.sum()
    tail = RECIPE["region_tail"]
    first = int(np.searchsorted(cumulative, tail))
    last = max(first, int(np.searchsorted(cumulative, 1.0 - tail)))
    region = log_mel[first : last + 1]
    region = np.maximum(region, region.max() - RECIPE["floor_db"] * np.log(10.0) / 10.0)
    return region, energy[first : last + 1]


def _pool(log_mel: np.ndarray) -> np.ndarray:
    """The embedding of one clip from its valid log-mel frames ``(frames, n_mels)``."""
    if log_mel.shape[0] == 0:
        return np.zeros(EMBEDDING_DIM, dtype=np.float32)
    region, energy = _speech_region(log_mel)
    mfcc = (region @ _DCT)[:, 1:].astype(np.float64)
    weight = np.sqrt(energy)
    weight /= weight.sum()
    mean = weight @ mfcc
    std = np.sqrt(weight @ (mfcc - mean) ** 2)
    if mfcc.shape[0] > 1:
        pair = np.minimum(weight[1:], weight[:-1])
        delta = np.sqrt(pair @ np.diff(mfcc, axis=0) ** 2 / pair.sum())
    else:
        delta = np.zeros(_N)
    # Segments of equal weight mass: their bounds move little when quiet frames come or go.
    position = np.cumsum(weight) - weight / 2
    segment = np.minimum((position * RECIPE["segments"]).astype(np.int64), RECIPE["segments"] - 1)
    trajectory = np.zeros((RECIPE["segments"], _T))
    for k in range(RECIPE["segments"]):
        members = segment == k
        if members.any():
            trajectory[k] = weight[members] @ mfcc[members, :_T] / weight[members].sum() - mean[:_T]
    # Speaking time: frames between the 5% and 95% points of the weight mass, in seconds.
    spoken = (np.searchsorted(position, 0.95) - np.searchsorted(position, 0.05) + 1) * RECIPE["hop"] / SAMPLE_RATE
    return np.concatenate([
        mean * _SCALE_MEAN, std * _SCALE_STD, delta * _SCALE_DELTA, trajectory.ravel() * _SCALE_TRAJ,
        [np.log(spoken) * _SCALE_DURATION],
    ]).astype(np.float32)


def audio_embeddings(
    clips: Sequence[Any], *, sample_rate: int = SAMPLE_RATE, batch_samples: int = 2_000_000
) -> np.ndarray:
    """One :data:`EMBEDDING_DIM`-dimensional vector per clip (see the module docstring for the recipe).

    Parameters
    ----------
    clips : sequence of 1-D float arrays
        Mono samples in [-1, 1] at ``sample_rate``.
    sample_rate : int, default 16000
        Must be 16000 (the recipe's frame sizes are in samples at 16 kHz).
    batch_samples : int, default 2,000,000
        Upper bound on a length bucket's padded size (clips x longest clip), i.e. its memory.

    Returns
    -------
    numpy.ndarray of shape (len(clips), EMBEDDING_DIM), float32
    """
    _check_rate(sample_rate, "audio_embeddings")
    out = np.zeros((len(clips), EMBEDDING_DIM), dtype=np.float32)
    for i, log_mel in _bucketed_log_mels(clips, batch_samples, owner="audio_embeddings"):
        out[i] = _pool(log_mel)
    return out


def log_mel_frames(
    clips: Sequence[Any], *, sample_rate: int = SAMPLE_RATE, batch_samples: int = 2_000_000
) -> list[np.ndarray]:
    """Each clip's speech region as log-mel frames, normalized per clip: the convolutional model's input.

    Steps 1-4 of the recipe (:data:`LOG_MEL_RECIPE`), then every band is centered and scaled over the
    clip's frames (cepstral mean and variance normalization: gain and channel cancel out). The frames
    keep their order, so a model can find *where* a word is, which pooled statistics cannot.

    Parameters
    ----------
    clips, sample_rate, batch_samples
        As for :func:`audio_embeddings`.

    Returns
    -------
    list of numpy.ndarray of shape (frames, n_mels), float32
        One per clip (a clip shorter than one frame gets one frame of zeros).
    """
    _check_rate(sample_rate, "log_mel_frames")
    out = [np.zeros((1, RECIPE["n_mels"]), dtype=np.float32)] * len(clips)
    for i, log_mel in _bucketed_log_mels(clips, batch_samples, owner="log_mel_frames"):
        if log_mel.shape[0]:
            region, _ = _speech_region(log_mel)
            region = (region - region.mean(axis=0)) / (region.std(axis=0) + LOG_MEL_RECIPE["std_floor"])
            out[i] = region.astype(np.float32)
    return out


def _check_rate(sample_rate: int, owner: str) -> None:
    if sample_rate != SAMPLE_RATE:
        raise ValueError(
            f"The 'sample_rate' parameter of {owner} must be {SAMPLE_RATE}. Got {sample_rate!r} instead. "
            "Resample first (dprune.audio.decode.resample)."
        )


def _bucketed_log_mels(clips: Sequence[Any], batch_samples: int, *, owner: str):
    """Yield ``(index, valid log-mel frames)`` for every clip, computed in length buckets."""
    arrays = []
    for i, clip in enumerate(clips):
        array = np.asarray(clip)
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.floating):
            raise ValueError(
                f"{owner}: clip {i} has shape {array.shape} and dtype {array.dtype}; expected 1-D float "
                "mono samples. Decode with dprune.audio.decode.decode_refs (it mixes to mono)."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{owner}: clip {i} contains NaN or infinite samples; fix or drop the clip first.")
        arrays.append(array.astype(np.float32, copy=False))
    frame, hop = RECIPE["frame"], RECIPE["hop"]
    order = sorted(range(len(arrays)), key=lambda i: arrays[i].size)
    start = 0
    while start < len(order):
        longest = max(arrays[order[start]].size, frame)
        stop = start + 1
        # Grow the bucket while the padded batch stays under budget and lengths stay within 25%.
        while stop < len(order):
            size = max(arrays[order[stop]].size, frame)
            if size * (stop - start + 1) > batch_samples or size > 1.25 * longest:
                break
            stop += 1
        members = order[start:stop]
        width = max(max(arrays[i].size for i in members), frame)
        batch = np.zeros((len(members), width), dtype=np.float32)
        for row, i in enumerate(members):
            batch[row, : arrays[i].size] = arrays[i]
        log_mel = _log_mel(batch)
        for row, i in enumerate(members):
            valid = 0 if arrays[i].size < frame else 1 + (arrays[i].size - frame) // hop
            yield i, log_mel[row, :valid]
        start = stop
