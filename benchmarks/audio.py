#!/usr/bin/env python
"""Benchmark: the whole speech signal pipeline against a naive per-file loop.

What is measured, on the same FLAC files (the bundled ``spoken_digits`` clips written to a
temporary folder, repeated to reach the size) in the same run:

* **ours** -- ``load_dataset(<NeMo manifest>)`` (references only), then the signal batch
  function of the ``audio_signal`` stage (:class:`dprune.scorers.audio.SignalBatch`: libsndfile
  decode, mono mix, soxr resampling to 16 kHz, Silero VAD on onnxruntime with the whole
  clip per call, VAD SNR, clipping ratio, BS.1770 loudness, duration, speaking rate)
  mapped over record batches with :func:`dprune.core.parallel.map_batches`, with
  ``num_proc=1`` and ``num_proc=2``.
* **naive** -- what a per-file script does: for each file ``soundfile.read``, resample
  with ``scipy.signal.resample_poly`` (a general-purpose resampler), run Silero VAD the
  streaming way (the wheel's ``silero_vad.onnx``, one ONNX call per 32 ms frame carrying
  the LSTM state, as its iterator does), then the same SNR, clipping, loudness and rate
  formulas. One process, nothing batched.

Throughput is seconds of audio per wall-clock second; model loading and imports are outside the
timed part on both sides. ``cpu_s`` (process plus pool workers) is also reported: other load on a
shared machine inflates wall time but hardly CPU time, and ``ratio_cpu_1proc`` compares the work
done per clip. Each measurement runs in its own
subprocess; the machine is shared (2 cores, other jobs running), so wall times are noisy.
Memory: ``peak_rss_mb`` (parent, VmHWM) and ``peak_worker_rss_mb`` (largest pool worker) of
the 2-process run at two dataset sizes; flat memory means they hardly move between sizes.

Usage::

    python benchmarks/audio.py            # 1,024 clips (~2,500 s of audio), 3 rounds
    python benchmarks/audio.py --quick    # 256 clips (~620 s of audio), 1 round

The last line of the output is one JSON object.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import json
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np


def prepare(folder: Path, clips: int) -> tuple[Path, float]:
    """Write ``clips`` FLAC files (the bundled example, repeated) and a NeMo manifest; return it and the audio seconds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dprune.data import example_path

    table = pa.concat_tables([pq.read_table(example_path("spoken_digits", s)) for s in ("train", "test")])
    audio, texts, durations = table.column("audio").to_pylist(), table.column("text").to_pylist(), table.column("duration").to_pylist()
    lines, total = [], 0.0
    for i in range(clips):
        k = i % len(audio)
        path = folder / f"clip{i:06d}.flac"
        path.write_bytes(audio[k]["bytes"])
        lines.append(json.dumps({"audio_filepath": path.name, "duration": durations[k], "text": texts[k]}))
        total += durations[k]
    manifest = folder / f"manifest_{clips}.json"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest, total


def run_ours(manifest: str, num_proc: int) -> dict:
    from dprune.audio.signal import SIGNAL_COLUMNS
    from dprune.core.parallel import map_batches
    from dprune.data import load_dataset
    from dprune.scorers.audio import SignalBatch

    import importlib

    for module in ("pyloudnorm", "soundfile", "soxr"):  # imported before timing, as in the naive loop
        importlib.import_module(module)

    batch = SignalBatch("audio", "text", SIGNAL_COLUMNS, vad="silero")
    batch.detector.probabilities(np.zeros(512, np.float32))  # opens the ONNX session, as the naive loop does before timing
    start = time.perf_counter()
    ds = load_dataset(manifest)
    table = map_batches(batch, ds, columns=batch.columns(), batch_size=16, num_proc=num_proc)
    wall = time.perf_counter() - start
    assert table.num_rows == len(ds) and np.isfinite(table.column("snr").to_numpy()).all()
    return {"wall_s": wall, "snr_sum": float(np.sum(table.column("snr").to_numpy()))}


def run_naive(manifest: str) -> dict:
    import onnxruntime as ort
    import pyloudnorm
    import soundfile as sf
    from math import gcd
    from scipy.signal import resample_poly

    from dprune.audio.signal import clipping_ratio, frame_powers, transcript_length, vad_snr
    from dprune.audio.vad import hysteresis, silero_model_path

    folder = Path(manifest).parent
    options = ort.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1
    model = str(Path(silero_model_path()).with_name("silero_vad.onnx"))
    session = ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
    start = time.perf_counter()
    snrs = []
    for line in Path(manifest).read_text().splitlines():
        row = json.loads(line)
        native, rate = sf.read(folder / row["audio_filepath"], dtype="float32")
        g = gcd(rate, 16000)
        audio = resample_poly(native, 16000 // g, rate // g).astype(np.float32)
        state = np.zeros((2, 1, 128), np.float32)
        context = np.zeros((1, 64), np.float32)
        probs = []
        for first in range(0, audio.size, 512):
            chunk = np.zeros((1, 512), np.float32)
            piece = audio[first : first + 512]
            chunk[0, : piece.size] = piece
            x = np.concatenate([context, chunk], axis=1)
            out, state = session.run(None, {"input": x, "state": state, "sr": np.array(16000, np.int64)})
            probs.append(float(out[0, 0]))
            context = x[:, -64:]
        speech = hysteresis(np.array(probs), 0.5, 0.35)
        snrs.append(vad_snr(frame_powers(audio, 512, speech.size), speech))
        clipping_ratio(native)
        pyloudnorm.Meter(16000).integrated_loudness(np.tile(audio, max(1, -(-6400 // audio.size))).astype(np.float64))
        transcript_length(row["text"]) / max(speech.sum() * 0.032, 0.032)
    return {"wall_s": time.perf_counter() - start, "snr_sum": float(np.sum(snrs))}


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def worker(kind: str, manifest: str, num_proc: int) -> dict:
    cpu_before = _cpu()
    result = run_naive(manifest) if kind == "naive" else run_ours(manifest, num_proc)
    result["cpu_s"] = _cpu() - cpu_before
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["peak_worker_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def measure(kind: str, manifest: Path, num_proc: int = 1) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--_worker", kind, "--_manifest", str(manifest), "--_num-proc", str(num_proc)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 clips and 1 round")
    parser.add_argument("--clips", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--_worker", default=None)
    parser.add_argument("--_manifest", default=None)
    parser.add_argument("--_num-proc", dest="_num_proc", type=int, default=1)
    args = parser.parse_args()
    if args._worker:
        print(json.dumps(worker(args._worker, args._manifest, args._num_proc)))
        return
    clips = args.clips or (256 if args.quick else 1024)
    rounds = args.rounds or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="dprune-audio-bench-") as tmp:
        manifest, seconds = prepare(Path(tmp), clips)
        small, _ = prepare(Path(tmp), clips // 4)
        runs = {"naive": [], "ours": [], "ours_2proc": []}
        for r in range(rounds):
            runs["naive"].append(measure("naive", manifest))
            runs["ours"].append(measure("ours", manifest, 1))
            runs["ours_2proc"].append(measure("ours", manifest, 2))
            print(json.dumps({"round": r, **{k: v[-1]["wall_s"] for k, v in runs.items()}}), flush=True)
        quarter = measure("ours", small, 2)
    wall = {k: statistics.median(x["wall_s"] for x in v) for k, v in runs.items()}
    ratios = [n["wall_s"] / o["wall_s"] for n, o in zip(runs["naive"], runs["ours_2proc"])]
    result = {
        "benchmark": "audio_signal_pipeline",
        "baseline": "per-file loop: soundfile.read + scipy resample_poly + streaming Silero VAD per 32 ms frame + same features",
        "clips": clips,
        "audio_seconds": round(seconds, 1),
        "ours_per_s": round(seconds / wall["ours_2proc"], 1),
        "ours_1proc_per_s": round(seconds / wall["ours"], 1),
        "baseline_per_s": round(seconds / wall["naive"], 1),
        "ratio": round(statistics.median(ratios), 2),
        "ratio_1proc": round(wall["naive"] / wall["ours"], 2),
        "cpu_s": {k: round(statistics.median(x["cpu_s"] for x in v), 2) for k, v in runs.items()},
        "ratio_cpu_1proc": round(statistics.median(x["cpu_s"] for x in runs["naive"]) / statistics.median(x["cpu_s"] for x in runs["ours"]), 2),
        "target": {"realtime_factor": 100, "ratio": 3},
        "peak_rss_mb": round(runs["ours_2proc"][-1]["peak_rss_mb"], 1),
        "peak_worker_rss_mb": round(runs["ours_2proc"][-1]["peak_worker_rss_mb"], 1),
        "quarter_clips": clips // 4,
        "peak_rss_mb_quarter": round(quarter["peak_rss_mb"], 1),
        "peak_worker_rss_mb_quarter": round(quarter["peak_worker_rss_mb"], 1),
        "snr_agrees": abs(runs["naive"][-1]["snr_sum"] - runs["ours"][-1]["snr_sum"]) / clips < 1.0,
        "units": "seconds of audio per wall-clock second; shared 2-core machine, noisy",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
