#!/usr/bin/env python
"""Benchmark: offline recognition (PocketSphinx) speed of the WER/CER scorers, 1 and 2 processes.

What is measured, on the bundled ``spoken_digits`` clips (FLAC bytes in the dataset,
repeated to reach the size): the transcription path of :class:`dprune.scorers.asr.WERScorer`
(:class:`~dprune.scorers.asr.TranscribeBatch` over record batches with
:func:`dprune.core.parallel.map_batches`: libsndfile decode, soxr resampling, PocketSphinx),
with the phrase grammar of the dataset's transcripts (``vocabulary="transcripts"``) in one
and in two processes, and the open-vocabulary en-US model in two processes. The decoder is
built before timing (about a second, once per process and settings; forked workers inherit it).

Reported: real-time factor (seconds of audio per wall-clock second; the target is >= 5x with two
processes), the 2-process / 1-process scaling ratio, CPU seconds per second of audio (parent and
workers), and the cost per hour of audio in core-hours. The machine is shared (2 cores, other jobs
running), so wall times are noisy; CPU time is the steadier figure.

Usage::

    python benchmarks/asr.py            # 256 clips (~620 s of audio)
    python benchmarks/asr.py --quick    # 64 clips (~150 s of audio)

The last line of the output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import datasets  # noqa: E402

from dprune.data import load_dataset  # noqa: E402
from dprune.core.parallel import map_batches  # noqa: E402
from dprune.scorers.asr import TranscribeBatch, recognizer_for  # noqa: E402


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(ds: datasets.Dataset, vocabulary: str, num_proc: int) -> dict:
    batch = TranscribeBatch("audio", recognizer_for(vocabulary, ds["text"]))
    batch.recognizer.decoder()  # model loading outside the timed part
    cpu, wall = cpu_seconds(), time.perf_counter()
    table = map_batches(batch, ds, columns=["audio"], batch_size=8, num_proc=num_proc)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    audio = float(sum(ds["duration"]))
    return {"vocabulary": vocabulary, "num_proc": num_proc, "clips": len(ds), "audio_s": round(audio, 1),
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "rtf": round(audio / wall, 2),
            "cpu_per_audio_s": round(cpu / audio, 4), "core_hours_per_audio_hour": round(cpu / audio, 4),
            "recognized": sum(bool(t) for t in table.column("transcript").to_pylist())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 clips instead of 256")
    args = parser.parse_args(argv)
    example = datasets.concatenate_datasets([load_dataset("spoken_digits", split=s) for s in ("train", "test")])
    ds = example.select(range(64 if args.quick else 256))
    runs = [measure(ds, "transcripts", 1), measure(ds, "transcripts", 2), measure(ds, "open", 2)]
    for run in runs:
        print(json.dumps(run))
    one, two, open_two = runs
    result = {
        "benchmark": "asr_transcription", "baseline": "same recognizer, 1 process",
        "ours": "2 processes", "ours_per_s": two["rtf"], "baseline_per_s": one["rtf"],
        "ratio": round(two["rtf"] / one["rtf"], 2), "target": 5.0, "unit": "seconds of audio per second (wall)",
        "open_vocabulary_rtf_2proc": open_two["rtf"],
        "core_hours_per_audio_hour": {"transcripts": one["core_hours_per_audio_hour"],
                                      "open": open_two["core_hours_per_audio_hour"]},
        "audio_s": one["audio_s"], "load_average": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
