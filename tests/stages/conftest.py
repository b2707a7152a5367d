"""Fixtures shared by the stage tests."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from dprune.data import example_path


@pytest.fixture()
def clips_manifest(tmp_path):
    """``write(n)``: the first ``n`` clips of the bundled spoken digits as FLAC files, plus a NeMo manifest.

    Each manifest line has ``audio_filepath`` (relative), ``text`` and ``kind`` (the clip's degradation);
    ``write`` returns the manifest's path.
    """

    def write(n: int):
        rows = pq.read_table(example_path("spoken_digits", "test")).slice(0, n).to_pylist()
        lines = []
        for i, row in enumerate(rows):
            path = tmp_path / "clips" / f"{i}.flac"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(row["audio"]["bytes"])
            lines.append(json.dumps({"audio_filepath": f"clips/{i}.flac", "text": row["text"],
                                     "kind": row["degradation"]}))
        path = tmp_path / "manifest.json"
        path.write_text("\n".join(lines) + "\n")
        return path

    return write
