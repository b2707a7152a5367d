"""A real Prefect server on 127.0.0.1 for the workflow tests, started and stopped by its own handle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from datasets import Dataset

from flows.local_server import start_server, stop_server

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
TEXTS = [
    "a touching story about family", "the plot is thin and the jokes are stale",
    "a marvel of craft and feeling", "boring from start to finish",
    "warm funny and smart", "an ugly mess of a film", "beautifully acted drama",
    "dull dull dull", "a crowd pleaser with heart", "nothing works here",
    "a moving and clever film", "the script is awful",
]


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """Start ``prefect server`` on a free loopback port; yield ``(api_url, env)`` for subprocesses."""
    home = tmp_path_factory.mktemp("prefect-server")
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    for name in ("PREFECT_API_KEY", "PREFECT_API_URL"):
        env.pop(name, None)
    server, env["PREFECT_API_URL"] = start_server(env, home / "server.log", timeout=120)
    try:
        yield env["PREFECT_API_URL"], env
    finally:
        stop_server(server)


@pytest.fixture
def reviews_file(tmp_path):
    """A 12-row labelled text file."""
    path = tmp_path / "reviews.parquet"
    Dataset.from_dict({"text": TEXTS, "label": [i % 2 for i in range(len(TEXTS))]}).to_parquet(str(path))
    return str(path)


@pytest.fixture
def corpus_folder(tmp_path):
    """300 documents over three JSONL files (plain, gzip, zstd); ``(folder, rows that must be dropped, by reason)``."""
    import gzip
    import json

    import numpy as np
    import zstandard

    from dprune.data import load_dataset

    sentences = load_dataset("rotten_tomatoes", split="train")["text"]
    rng = np.random.default_rng(0)
    docs = [" ".join(sentences[i] for i in rng.choice(len(sentences), size=6, replace=False)) for _ in range(300)]
    exact = list(range(200, 210))
    near = list(range(210, 220))
    short = list(range(220, 230))
    for i, row in enumerate(exact):
        docs[row] = docs[i].upper()
    for i, row in enumerate(near):
        docs[row] = docs[20 + i] + " and that is all"
    for row, word in zip(short, "one two three four five six seven eight nine ten".split()):
        docs[row] = f"too short: {word}"
    lines = [json.dumps({"text": d}) + "\n" for d in docs]
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "part-0.jsonl").write_text("".join(lines[:100]))
    with gzip.open(folder / "part-1.jsonl.gz", "wt") as handle:
        handle.write("".join(lines[100:200]))
    (folder / "part-2.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress("".join(lines[200:]).encode()))
    return str(folder), {"exact_duplicate": exact, "near_duplicate": near, "word_count": short}
