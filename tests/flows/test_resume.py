"""`python flows/prune.py` killed with SIGKILL mid-way through the sharded embedding stage,
then started again, recomputes only the shards that were not committed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datasets import Dataset

REPO = Path(__file__).resolve().parents[2]
WORDS = ["warm", "dull", "clever", "stale", "moving", "ugly", "smart", "thin", "funny", "awful"]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")]

ROWS, SHARD_ROWS = 600, 20
SHARDS = ROWS // SHARD_ROWS
KILL_AFTER = 3  # committed shards


def _committed_shards(store: Path) -> dict[int, tuple[str, int, int]]:
    """Shard index -> (file name, inode, mtime) of every embedding shard with a sidecar."""
    out = {}
    for sidecar in store.glob("embeddings/*/_index/shard-*.json"):
        try:
            name = json.loads(sidecar.read_text())["name"]
            stat = (sidecar.parent.parent / name).stat()
        except (OSError, ValueError, KeyError):  # being written right now
            continue
        out[int(sidecar.stem.split("-")[1])] = (name, stat.st_ino, stat.st_mtime_ns)
    return out


def test_sigkilled_run_resumes_recomputing_only_missing_shards(prefect_api, tmp_path):
    _, env = prefect_api
    data = tmp_path / "reviews.parquet"
    Dataset.from_dict({
        "text": [f"review {i}: {WORDS[i % 10]} and {WORDS[i * 7 % 10]} film" for i in range(ROWS)],
        "label": [i % 2 for i in range(ROWS)],
    }).to_parquet(str(data))
    store = tmp_path / "store"
    command = [
        sys.executable, str(REPO / "flows" / "prune.py"), "--dataset", str(data),
        "--embedding", f"batch_size=8,shard_rows={SHARD_ROWS}", "--clustering", "num_clusters=2",
        "--no-perplexity", "--no-dynamics", "--store", str(store), "--output", str(tmp_path / "out"),
    ]

    first = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while len(_committed_shards(store)) < KILL_AFTER and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the store, not waiting for timing
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, "the first run must be killed, not finish"
    before = _committed_shards(store)
    assert KILL_AFTER <= len(before) < SHARDS, f"kill landed after {len(before)} of {SHARDS} shards"

    second = subprocess.run(command, env={**env, "PREFECT_LOGGING_LEVEL": "INFO"}, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    after = _committed_shards(store)
    assert sorted(after) == list(range(SHARDS))
    reused = {i for i, entry in before.items() if after[i] == entry}
    recomputed = set(range(SHARDS)) - reused
    assert reused == set(before), "every shard committed before the kill is reused, untouched"
    assert len(recomputed) == SHARDS - len(before)

    log = second.stdout + second.stderr
    logged = {int(i) for i in re.findall(r"embed shard (\d+) computed", log)}
    assert logged == recomputed, "the shard tasks log exactly the shards they computed"
    assert len(re.findall(r"embed shard \d+ already in the store", log)) == len(reused)
    assert f"Kept {ROWS // 2} of {ROWS} rows" in second.stdout
