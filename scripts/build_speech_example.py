#!/usr/bin/env python
"""Rebuild the bundled ``spoken_digits`` speech example of dprune.

Short English utterances that each contain one spoken digit ("seven", "number
seven", "please write down the number seven" ...) are synthesized with Debian's
``espeak-ng`` (several voices, speeds and pitches), resampled to 16 kHz, given a
random level and a background noise floor, and a known share of them is degraded
on purpose -- noise at low SNR, clipping, long leading/trailing silence,
truncation, or a transcript that belongs to another clip -- with the ground truth
kept in columns. Clips are stored as 16-bit FLAC bytes inside the Parquet files
(a Hugging Face ``Audio`` column), so the example is two files per split.

Everything is seeded: the same espeak-ng version gives the same bytes.

Output (``--out``, default ``dprune/examples/spoken_digits``)::

    train.parquet  test.parquet  PROVENANCE.md

Usage::

    python scripts/build_speech_example.py            # needs espeak-ng on PATH
    python scripts/build_speech_example.py --limit 20 --out /tmp/x   # a quick subset
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf
import soxr

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "dprune" / "examples" / "spoken_digits"
NAME = "spoken_digits"
SEED = 20261126
NUM_CLIPS = 256
TEST_FRACTION = 0.2
SAMPLE_RATE = 16_000
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 19}

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEMPLATES = (
    "{d}",
    "{d}",
    "number {d}",
    "the digit is {d}",
    "please write down {d}",
    "the next number you will hear is {d}",
    "please write down the number {d} on the form",
)
LANGUAGES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbcwmd")
VARIANTS = ("m1", "m3", "m5", "f1", "f2", "f4")
SPEEDS = (135, 190)  # words per minute, uniform
PITCHES = (30, 70)
#: Degradation kinds and the share of clips that get each (one kind at most per clip).
DEGRADATIONS = {"noise": 0.10, "clipping": 0.10, "silence": 0.10, "truncation": 0.08, "transcript_swap": 0.10}
NOISE_SNR_DB = (-5.0, 5.0)
NOISE_KINDS = ("white", "pink", "brown", "babble", "hum")
CLEAN_FLOOR_DBFS = (-90.0, -60.0)
SILENCE_SECONDS = (2.5, 4.0)  # added on each side
CLIP_GAIN = (3.0, 8.0)
TRUNCATE_KEEP = (0.35, 0.6)
SWAP_MIN_RATIO = 3.0


def speak(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """Synthesize ``text`` with espeak-ng and return 16 kHz float32 samples."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        check=True, capture_output=True,
    ).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)


def coloured_noise(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    """Unit-power noise of a kind: white, pink (1/f), brown (1/f^2) or mains hum with hiss."""
    if kind == "hum":
        t = np.arange(n) / SAMPLE_RATE
        base = rng.choice([50.0, 60.0])
        x = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 6))
        x = x + 0.1 * rng.standard_normal(n)
    else:
        spectrum = np.fft.rfft(rng.standard_normal(n))
        freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
        freqs[0] = freqs[1] if n > 1 else 1.0
        exponent = {"white": 0.0, "pink": 0.5, "brown": 1.0}[kind]
        x = np.fft.irfft(spectrum / freqs**exponent, n)
    x = np.asarray(x, dtype=np.float64)
    return (x / np.sqrt(np.mean(x**2) + 1e-20)).astype(np.float32)


def babble(rng: np.random.Generator, n: int, pool: list[np.ndarray]) -> np.ndarray:
    """Unit-power babble: four other clean utterances looped and summed."""
    x = np.zeros(n, dtype=np.float64)
    for k in rng.choice(len(pool), size=4, replace=False):
        voice = pool[k]
        reps = -(-n // voice.size) + 1
        start = rng.integers(0, voice.size)
        x += np.tile(voice, reps)[start : start + n]
    return (x / np.sqrt(np.mean(x**2) + 1e-20)).astype(np.float32)


def power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64)))


def flac_bytes(x: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(x, -1.0, 1.0), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def plan(rng: np.random.Generator, n: int) -> list[dict]:
    """Draw every clip's text, voice, prosody and degradation kind."""
    speakers = [f"{lang}+{var}" for lang in LANGUAGES for var in VARIANTS]
    kinds = []
    for kind, share in DEGRADATIONS.items():
        kinds += [kind] * int(round(share * n))
    kinds += ["clean"] * (n - len(kinds))
    kinds = [kinds[i] for i in rng.permutation(n)]
    rows = []
    for i in range(n):
        digit = int(rng.integers(0, 10))
        template = TEMPLATES[int(rng.integers(0, len(TEMPLATES)))]
        rows.append({
            "row_id": i,
            "label": digit,
            "true_text": template.format(d=DIGITS[digit]),
            "speaker": speakers[int(rng.integers(0, len(speakers)))],
            "speed": int(rng.integers(SPEEDS[0], SPEEDS[1] + 1)),
            "pitch": int(rng.integers(PITCHES[0], PITCHES[1] + 1)),
            "degradation": kinds[i],
        })
    return rows


def letters(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def assign_swaps(rng: np.random.Generator, rows: list[dict]) -> None:
    """Give each transcript_swap row the transcript of another clip of very different length."""
    for row in rows:
        row["text"] = row["true_text"]
        row["swapped_from"] = -1
    for row in rows:
        if row["degradation"] != "transcript_swap":
            continue
        own = letters(row["true_text"])
        partners = [
            r["row_id"] for r in rows
            if r["row_id"] != row["row_id"]
            and max(own, letters(r["true_text"])) >= SWAP_MIN_RATIO * min(own, letters(r["true_text"]))
        ]
        partner = rows[int(rng.choice(partners))]
        row["text"] = partner["true_text"]
        row["swapped_from"] = partner["row_id"]


def render(rng: np.random.Generator, row: dict, speech: np.ndarray, pool: list[np.ndarray]) -> np.ndarray:
    """Level, pad, add the noise floor and apply the row's degradation; fill its ground-truth columns."""
    speech = speech / (np.abs(speech).max() + 1e-9) * 10 ** (rng.uniform(-12.0, -3.0) / 20)
    kind = row["degradation"]
    if kind == "truncation":
        keep = rng.uniform(*TRUNCATE_KEEP)
        speech = speech[: int(keep * speech.size)]
    pad = SILENCE_SECONDS if kind == "silence" else (0.05, 0.3)
    lead, trail = (int(rng.uniform(*pad) * SAMPLE_RATE) for _ in range(2))
    x = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(trail, np.float32)])
    speech_power = power(speech[np.abs(speech) > 0.01 * np.abs(speech).max()])
    floor = coloured_noise(rng, x.size, "white") * 10 ** (rng.uniform(*CLEAN_FLOOR_DBFS) / 20)
    x = x + floor
    row["noise_kind"] = None
    row["noise_snr_db"] = float("nan")
    row["clip_gain"] = float("nan")
    if kind == "noise":
        noise_kind = NOISE_KINDS[int(rng.integers(0, len(NOISE_KINDS)))]
        snr = float(rng.uniform(*NOISE_SNR_DB))
        noise = babble(rng, x.size, pool) if noise_kind == "babble" else coloured_noise(rng, x.size, noise_kind)
        x = x + noise * np.sqrt(speech_power / 10 ** (snr / 10))
        row["noise_kind"], row["noise_snr_db"] = noise_kind, round(snr, 3)
        peak = np.abs(x).max()
        if peak > 0.95:  # keep noise clips unclipped: one degradation per clip
            x = x * (0.95 / peak)
    elif kind == "clipping":
        gain = float(rng.uniform(*CLIP_GAIN))
        x = np.clip(x * gain / (np.abs(x).max() + 1e-9), -1.0, 1.0)
        row["clip_gain"] = round(gain, 3)
    return x.astype(np.float32)


def build(limit: int | None = None) -> tuple[dict[str, pa.Table], dict]:
    rng = np.random.default_rng(SEED)
    rows = plan(rng, NUM_CLIPS)
    if limit is not None:
        rows = rows[:limit]
    assign_swaps(rng, rows)
    clean_speech = [speak(r["true_text"], r["speaker"], r["speed"], r["pitch"]) for r in rows]
    pool = [s for s, r in zip(clean_speech, rows) if r["degradation"] == "clean"][:40] or clean_speech
    audio = []
    for row, speech in zip(rows, clean_speech):
        clip_rng = np.random.default_rng([SEED, row["row_id"]])
        x = render(clip_rng, row, speech, pool)
        row["duration"] = round(x.size / SAMPLE_RATE, 4)
        audio.append({"bytes": flac_bytes(x), "path": f"{NAME}_{row['row_id']:04d}.flac"})
    for row, clip in zip(rows, audio):
        row["audio"] = clip
        row["is_degraded"] = row["degradation"] != "clean"
    test_ids = set()
    for kind in ["clean", *DEGRADATIONS]:
        group = sorted(
            (r for r in rows if r["degradation"] == kind),
            key=lambda r: hashlib.sha256(f"dprune/{NAME}/split/v1:{r['row_id']}".encode()).hexdigest(),
        )
        test_ids |= {r["row_id"] for r in group[: int(round(TEST_FRACTION * len(group)))]}
    parts = {
        "train": [r for r in rows if r["row_id"] not in test_ids],
        "test": [r for r in rows if r["row_id"] in test_ids],
    }
    stats = {split: dict(Counter(r["degradation"] for r in part), rows=len(part)) for split, part in parts.items()}
    return {split: to_table(part) for split, part in parts.items()}, stats


COLUMNS = [
    ("row_id", pa.int64(), {"dtype": "int64", "_type": "Value"}),
    ("audio", pa.struct([("bytes", pa.binary()), ("path", pa.string())]), {"sampling_rate": SAMPLE_RATE, "_type": "Audio"}),
    ("text", pa.string(), {"dtype": "string", "_type": "Value"}),
    ("label", pa.int64(), {"names": list(DIGITS), "_type": "ClassLabel"}),
    ("speaker", pa.string(), {"dtype": "string", "_type": "Value"}),
    ("speed", pa.int64(), {"dtype": "int64", "_type": "Value"}),
    ("pitch", pa.int64(), {"dtype": "int64", "_type": "Value"}),
    ("duration", pa.float64(), {"dtype": "float64", "_type": "Value"}),
    ("degradation", pa.string(), {"dtype": "string", "_type": "Value"}),
    ("is_degraded", pa.bool_(), {"dtype": "bool", "_type": "Value"}),
    ("true_text", pa.string(), {"dtype": "string", "_type": "Value"}),
    ("swapped_from", pa.int64(), {"dtype": "int64", "_type": "Value"}),
    ("noise_kind", pa.string(), {"dtype": "string", "_type": "Value"}),
    ("noise_snr_db", pa.float64(), {"dtype": "float64", "_type": "Value"}),
    ("clip_gain", pa.float64(), {"dtype": "float64", "_type": "Value"}),
]


def to_table(rows: list[dict]) -> pa.Table:
    # Hugging Face `datasets` features written by hand in their stable JSON form.
    features = {name: feature for name, _, feature in COLUMNS}
    meta = {
        b"huggingface": json.dumps({"info": {"features": features}}).encode(),
        b"dprune": json.dumps({"example": NAME, "seed": SEED, "label_names": list(DIGITS)}, sort_keys=True).encode(),
    }
    schema = pa.schema([(name, dtype) for name, dtype, _ in COLUMNS]).with_metadata(meta)
    return pa.table({name: [r[name] for r in rows] for name, _, _ in COLUMNS}, schema=schema)


def espeak_version() -> str:
    return subprocess.run(["espeak-ng", "--version"], check=True, capture_output=True, text=True).stdout.strip()


def provenance(stats: dict, sizes: dict) -> str:
    table = "\n".join(
        f"| {split} | {s['rows']} | " + " | ".join(str(s.get(k, 0)) for k in ["clean", *DEGRADATIONS]) + " |"
        for split, s in stats.items()
    )
    return f"""# Spoken digits (bundled speech example)

Generated by `scripts/build_speech_example.py`; do not edit by hand.

## Source
Synthetic speech: every clip is synthesized by the project with Debian's `espeak-ng`
(`{espeak_version()}`, Debian package `espeak-ng`, GPL-3.0-or-later; its output is not
covered by that licence). No recording is copied from anywhere. Synthetic speech was chosen so the
example is built from Debian and PyPI packages alone, offline and reproducibly; no search was made
for a package shipping real recordings. Signal scorers see real signal processing here (noise,
clipping, silence, truncation are applied to the waveforms), but an ASR or speaker model will find
synthetic voices easier or odder than real speech.

## Content
{NUM_CLIPS} utterances, each holding one spoken digit: `label` is the digit (ClassLabel
`zero`..`nine`) and the transcript is one of {len(TEMPLATES)} templates such as "seven",
"number seven" or "please write down the number seven on the form". Voices: espeak-ng
languages {", ".join(LANGUAGES)} with variants {", ".join(VARIANTS)} ({len(LANGUAGES) * len(VARIANTS)} speakers),
speed {SPEEDS[0]}-{SPEEDS[1]} words per minute, pitch {PITCHES[0]}-{PITCHES[1]}.
Each clip is resampled to {SAMPLE_RATE} Hz with soxr, scaled to a peak of -12 to -3 dBFS,
padded with 0.05-0.3 s on each side and given a white noise floor of {CLEAN_FLOOR_DBFS[0]:.0f} to
{CLEAN_FLOOR_DBFS[1]:.0f} dBFS. Stored as 16-bit mono FLAC bytes in an `Audio` column.

## Degradations (ground truth in columns)
One kind at most per clip, drawn as a fixed share of the clips:

| kind | share | what was done | columns |
|------|------:|---------------|---------|
| noise | {DEGRADATIONS['noise']:.0%} | {", ".join(NOISE_KINDS)} noise (babble: four other utterances summed) at {NOISE_SNR_DB[0]:.0f} to {NOISE_SNR_DB[1]:.0f} dB SNR against the speech | `noise_kind`, `noise_snr_db` |
| clipping | {DEGRADATIONS['clipping']:.0%} | amplified to {CLIP_GAIN[0]:.0f}-{CLIP_GAIN[1]:.0f}x full scale and clipped at +-1 | `clip_gain` |
| silence | {DEGRADATIONS['silence']:.0%} | {SILENCE_SECONDS[0]}-{SILENCE_SECONDS[1]} s of (noise-floor) silence before and after the speech | |
| truncation | {DEGRADATIONS['truncation']:.0%} | only the first {TRUNCATE_KEEP[0]:.0%}-{TRUNCATE_KEEP[1]:.0%} of the speech kept, transcript unchanged | |
| transcript_swap | {DEGRADATIONS['transcript_swap']:.0%} | `text` replaced by the transcript of another clip whose letter count differs by at least {SWAP_MIN_RATIO:.0f}x (a same-length swap cannot be seen from the signal; it needs ASR) | `swapped_from`, `true_text` |

`degradation` names the kind (`clean` otherwise) and `is_degraded` is true for every kind.

## Split (fixed)
Stratified by `degradation`: within each kind, rows are ordered by
`sha256("dprune/{NAME}/split/v1:<row_id>")` and the first `round({TEST_FRACTION} * n)` go to
`test`, the rest to `train`.

| split | rows | clean | {" | ".join(DEGRADATIONS)} |
|-------|-----:|------:|{"---:|" * len(DEGRADATIONS)}
{table}

Files: {", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items())}.

## Columns
`row_id` (stable id), `audio` (struct of FLAC `bytes` and a file name `path`), `text` (the
transcript as given, possibly swapped), `label`, `speaker`, `speed`, `pitch`, `duration` (s),
`degradation`, `is_degraded`, `true_text`, `swapped_from` (-1 if none), `noise_kind`,
`noise_snr_db`, `clip_gain`.

## Rebuild
```
python scripts/build_speech_example.py     # needs espeak-ng (scripts/setup.sh installs it as root)
```
Every random draw comes from NumPy generators seeded with {SEED} (and the row id), so the same
espeak-ng version reproduces the same bytes.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--limit", type=int, default=None, help="build only the first N planned clips")
    args = parser.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is not installed: apt-get install espeak-ng (or run scripts/setup.sh as root).", file=sys.stderr)
        return 2
    tables, stats = build(args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for split, table in tables.items():
        path = args.out / f"{split}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp, **PARQUET_OPTIONS)
        tmp.replace(path)
        sizes[split] = path.stat().st_size
    (args.out / "PROVENANCE.md").write_text(provenance(stats, sizes))
    print(json.dumps({"out": str(args.out), "stats": stats, "bytes": sizes}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
