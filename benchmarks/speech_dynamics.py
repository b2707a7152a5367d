#!/usr/bin/env python
"""Benchmark: which speech representation lets training dynamics find flipped class labels.

On the bundled ``spoken_digits`` example (all 256 clips; the label is the spoken digit, one
word inside templates of one to ten words, 36 espeak-ng voices, half the clips degraded),
10% of the labels are flipped (:func:`dprune.evaluation.noise.flip_labels`, seeds 0, 1, 2;
``--quick``: seed 0 only). Each recipe trains 3 seeds and ranks the clips by AUM; the figure
is the AUROC of ranking the flipped clips first, per flip seed, with its wall and CPU time:

* **probe_pooled** -- the audio embeddings of the flow (:func:`dprune.audio.features.audio_embeddings`:
  MFCC mean / std / delta RMS, a 5-segment trajectory, speaking time; 118 values), a probe with
  one hidden layer of 256, 30 epochs;
* **probe_resampled** -- MFCC 1-12 and their first differences, mean-removed per clip, resampled
  to 20 equally spaced frames of the speech region and concatenated (480 values), the same probe;
* **conv_log_mel** -- the dynamics stage's ``conv_log_mel`` model
  (:func:`dprune.dynamics.conv.train_conv_classifier`) on the clips' log-mel frames
  (:func:`dprune.audio.features.log_mel_frames`), 30 epochs.

The first two keep the embeddings' fixed-length shape; the third reads the frames in order and
takes a maximum over time, so it finds the digit wherever it is said. The machine is shared:
wall time mostly measures the other processes, CPU time is steadier. The last line is one JSON
object; ``target`` is the issue's AUROC 0.9, ``met`` lists the recipes whose mean reached it.

Usage::

    python benchmarks/speech_dynamics.py --quick
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import datasets  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from dprune.audio.decode import decode_refs  # noqa: E402
from dprune.audio.features import audio_embeddings, log_mel_frames  # noqa: E402
from dprune.data import load_dataset  # noqa: E402
from dprune.data.audio import refs_from_arrow  # noqa: E402
from dprune.dynamics.conv import train_conv_classifier  # noqa: E402
from dprune.dynamics.probe import train_linear_probe  # noqa: E402
from dprune.evaluation.noise import flip_labels  # noqa: E402
from dprune.scorers.dynamics import AUMScorer  # noqa: E402

TARGET_AUROC = 0.9
RESAMPLED_FRAMES = 20
RESAMPLED_COEFFICIENTS = 12


def resampled_mfcc(frames: list[np.ndarray]) -> np.ndarray:
    """MFCC 1..12 and deltas of each clip's speech region, resampled to :data:`RESAMPLED_FRAMES` frames."""
    n_mels = frames[0].shape[1]
    k = np.arange(RESAMPLED_COEFFICIENTS + 1)[:, None]
    basis = np.cos(np.pi * k * (2 * np.arange(n_mels)[None, :] + 1) / (2 * n_mels)).T[:, 1:]
    out = []
    for region in frames:
        mfcc = region @ basis
        mfcc -= mfcc.mean(axis=0)
        both = np.concatenate([mfcc, np.diff(mfcc, axis=0, prepend=mfcc[:1])], axis=1)
        where = np.linspace(0, len(both) - 1, RESAMPLED_FRAMES)
        out.append(np.stack([np.interp(where, np.arange(len(both)), both[:, j]) for j in range(both.shape[1])], 1))
    return np.asarray(out, dtype=np.float32).reshape(len(frames), -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--quick", action="store_true", help="one flip seed instead of three")
    args = parser.parse_args()
    example = datasets.concatenate_datasets([load_dataset("spoken_digits", split=s) for s in ("train", "test")])
    clips = decode_refs(refs_from_arrow(example.with_format("arrow")["audio"])).audio
    frames = log_mel_frames(clips)
    pooled = audio_embeddings(clips)
    resampled = resampled_mfcc(frames)
    recipes = {
        "probe_pooled": lambda data: train_linear_probe(data, pooled, epochs=30, hidden_size=256),
        "probe_resampled": lambda data: train_linear_probe(data, resampled, epochs=30, hidden_size=256),
        "conv_log_mel": lambda data: train_conv_classifier(data, frames),
    }
    flips = (0,) if args.quick else (0, 1, 2)
    results = {}
    for name, train in recipes.items():
        aurocs, wall, cpu = [], 0.0, 0.0
        for flip in flips:
            noisy, flipped = flip_labels(example.remove_columns(["audio"]), 0.1, seed=flip)
            start, started_cpu = time.perf_counter(), time.process_time()
            dynamics = train(noisy)
            wall += time.perf_counter() - start
            cpu += time.process_time() - started_cpu
            aurocs.append(round(float(roc_auc_score(flipped, -AUMScorer(dynamics).compute_scores(noisy))), 3))
        results[name] = {"aurocs": aurocs, "auroc": round(float(np.mean(aurocs)), 3),
                         "seconds": round(wall / len(flips), 1), "cpu_seconds": round(cpu / len(flips), 1)}
        print(f"{name}: AUROC {aurocs} ({results[name]['seconds']} s, {results[name]['cpu_seconds']} CPU s per run)",
              flush=True)
    print(json.dumps({
        "benchmark": "speech_dynamics", "clips": len(example), "flip_seeds": list(flips),
        "baseline": "probe_pooled", "ours": "conv_log_mel", "results": results,
        "ratio": round(results["conv_log_mel"]["auroc"] / results["probe_pooled"]["auroc"], 3),
        "target": TARGET_AUROC, "met": [name for name, r in results.items() if r["auroc"] >= TARGET_AUROC],
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
