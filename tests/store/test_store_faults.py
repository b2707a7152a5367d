"""Fault injection: SIGKILL writers at random points; nothing half-written is ever read.

A worker process (``tests/store/store_fault_worker.py``) writes a multi-shard artifact and reports
each committed shard; the parent kills it with SIGKILL a random delay after a random amount
of progress. After every kill the artifact either does not exist or verifies fully, and a
rerun resumes it (reusing the shards already committed) to the expected table.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from dprune.store import ArtifactNotFoundError, ArtifactStore

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER_PATH = os.path.join(HERE, "store_fault_worker.py")
REPO = os.path.dirname(os.path.dirname(HERE))
N_KILLS = 24


def _load_worker():
    spec = importlib.util.spec_from_file_location("store_fault_worker", WORKER_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = _load_worker()


def _spawn(root: str, key: str, mode: str, variant: int = 0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, WORKER_PATH, root, key, mode, str(variant)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )


@pytest.fixture(scope="module")
def expected():
    return {v: worker.make_table(v) for v in (0, 1, 2)}


@pytest.fixture(scope="module")
def shard_seconds(tmp_path_factory):
    """Time to write one shard here, to spread kill delays over the shard writes."""
    root = str(tmp_path_factory.mktemp("timing"))
    start = time.perf_counter()
    worker.write(root, "timing", "table")
    return (time.perf_counter() - start) / worker.N_SHARDS


def _check_after_kill(store: ArtifactStore, key: str, table, mode: str) -> None:
    """The artifact is absent or complete and valid; never partial, never an invalid manifest."""
    assert all(row["status"] != "invalid" for row in store.ls()), store.ls()
    if store.exists(worker.STAGE, key):
        assert store.verify(worker.STAGE, key) == []
        assert store.read_table(worker.STAGE, key).equals(table)
        assert len(store.read(worker.STAGE, key)) == table.num_rows
        if mode == "writer":
            assert store.read_file(store.ref(worker.STAGE, key), "extra.bin") == worker.payload(0)
    else:
        with pytest.raises(ArtifactNotFoundError):
            store.read(worker.STAGE, key)
        with pytest.raises(ArtifactNotFoundError):
            store.read_table(worker.STAGE, key)


def test_sigkill_at_random_points_then_resume(tmp_path, expected, shard_seconds):
    rng = random.Random(20240607)
    table = expected[0]
    outcomes = {"killed": 0, "finished": 0, "complete_after_kill": 0, "resumed_with_reuse": 0}
    for run in range(N_KILLS):
        mode = "table" if run % 2 == 0 else "writer"
        root = str(tmp_path / f"run{run}")
        key = f"k{run}"
        # Kill after progress line `after` (-1: right after start) plus a random delay that lands
        # inside the next shard write, its sidecar, the put_file or the manifest write.
        after = rng.randint(-1, worker.N_SHARDS - 1)
        delay = rng.uniform(0, 1.5 * shard_seconds)
        proc = _spawn(root, key, mode)
        try:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            done = -1
            while done < after:
                line = proc.stdout.readline()
                assert line.startswith("shard "), (line, proc.stderr.read() if not line else "")
                done += 1
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            rc = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        assert rc in (0, -signal.SIGKILL), f"worker failed with rc={rc}"
        outcomes["killed" if rc else "finished"] += 1

        store = ArtifactStore(root)
        _check_after_kill(store, key, table, mode)

        # Resume: shards committed before the kill (at least `after + 1`) are reused.
        was_complete = store.exists(worker.STAGE, key)
        outcomes["complete_after_kill"] += bool(rc) and was_complete
        if mode == "writer" and not was_complete:
            missing = store.open_writer(worker.STAGE, key, config={"mode": mode},
                                        num_shards=worker.N_SHARDS).missing_shards()
            assert len(missing) <= worker.N_SHARDS - (after + 1)
        rewritten = []
        ref = worker.write(root, key, mode, progress=rewritten.append)
        if not was_complete:
            assert len(rewritten) <= worker.N_SHARDS - (after + 1)
            outcomes["resumed_with_reuse"] += len(rewritten) < worker.N_SHARDS
        else:
            assert rewritten == []
        assert store.exists(ref)
        assert store.verify(ref) == []
        assert store.read_table(ref).equals(table)
        ds = store.read(ref)
        assert ds.cache_files and len(ds) == table.num_rows
        # Leftovers of the killed run (temp files, orphans) are garbage-collectable, and gc
        # never touches the committed artifact.
        store.gc()
        assert store.verify(ref) == [] and store.read_table(ref).equals(table)
        assert not any(".tmp-" in name for _, _, names in os.walk(root) for name in names)
    assert outcomes["killed"] >= N_KILLS // 4, outcomes
    assert outcomes["resumed_with_reuse"] >= 1, outcomes


@pytest.mark.parametrize("mode", ["table", "writer"])
@pytest.mark.parametrize("same_content", [True, False], ids=["deterministic", "nondeterministic"])
def test_concurrent_writers_same_key(tmp_path, expected, mode, same_content):
    root = str(tmp_path / "store")
    variants = (0, 0) if same_content else (1, 2)
    procs = [_spawn(root, "shared", mode, v) for v in variants]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert out.splitlines()[-1] == "done"
    store = ArtifactStore(root)
    assert store.exists(worker.STAGE, "shared")
    assert store.verify() == []
    got = store.read_table(worker.STAGE, "shared")
    assert got.num_rows == expected[0].num_rows
    # Every shard is one writer's complete shard (a non-deterministic race may mix writers
    # shard by shard, but each shard's bytes match the checksum the manifest records).
    for i in range(worker.N_SHARDS):
        part = got.slice(i * worker.ROWS_PER_SHARD, worker.ROWS_PER_SHARD)
        candidates = [expected[v].slice(i * worker.ROWS_PER_SHARD, worker.ROWS_PER_SHARD) for v in variants]
        assert any(part.equals(c) for c in candidates)
    if mode == "writer":
        assert store.read_file(store.ref(worker.STAGE, "shared"), "extra.bin") in {worker.payload(v) for v in variants}
    # Orphans of the losing writer are collected; the artifact stays valid.
    store.gc()
    assert store.verify() == []
    m = store.manifest(worker.STAGE, "shared")
    on_disk = sorted(n for n in os.listdir(os.path.join(root, worker.STAGE, "shared")) if n.endswith(".arrow"))
    assert on_disk == sorted(s["name"] for s in m["shards"])
