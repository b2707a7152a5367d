"""The bundled spoken_digits example: size, ground truth, split, and a seeded rebuild."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dprune.data import example_path

ROOT = Path(__file__).resolve().parents[2]


def shipped() -> pa.Table:
    return pa.concat_tables([pq.read_table(example_path("spoken_digits", s)) for s in ("train", "test")])


def builder():
    spec = importlib.util.spec_from_file_location("build_speech_example", ROOT / "scripts" / "build_speech_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_size_ground_truth_and_split():
    folder = example_path("spoken_digits").parent
    assert sum(p.stat().st_size for p in folder.iterdir()) < 10.5e6
    assert (folder / "PROVENANCE.md").is_file()
    table = shipped().to_pylist()
    assert len(table) == 256 and sorted(r["row_id"] for r in table) == list(range(256))
    kinds = {}
    for r in table:
        kinds[r["degradation"]] = kinds.get(r["degradation"], 0) + 1
        assert r["is_degraded"] == (r["degradation"] != "clean")
        assert (r["text"] != r["true_text"]) == (r["degradation"] == "transcript_swap")
        assert (r["swapped_from"] >= 0) == (r["degradation"] == "transcript_swap")
        assert (r["noise_kind"] is not None) == (r["degradation"] == "noise")
    assert kinds == {"clean": 132, "noise": 26, "clipping": 26, "silence": 26, "truncation": 20, "transcript_swap": 26}
    test = pq.read_table(example_path("spoken_digits", "test")).column("degradation").to_pylist()
    assert len(test) == 50 and set(test) == set(kinds)  # every kind in both splits


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/setup.sh installs it as root)")
def test_rebuild_reproduces_the_shipped_clips():
    tables, _ = builder().build(limit=6)
    rebuilt = {r["row_id"]: r for t in tables.values() for r in t.to_pylist()}
    original = {r["row_id"]: r for r in shipped().to_pylist() if r["row_id"] in rebuilt}
    compared = 0
    for row_id, row in rebuilt.items():
        # Babble noise and swapped transcripts draw on other clips, which a partial build does not have.
        if row["noise_kind"] == "babble" or row["degradation"] == "transcript_swap":
            continue
        differ = [c for c in row if row[c] != original[row_id][c] and not (row[c] != row[c] and original[row_id][c] != original[row_id][c])]
        assert not differ, (row_id, differ)  # (NaN equals NaN here)
        compared += 1
    assert compared >= 3
