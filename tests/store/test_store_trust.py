"""The store never uses a corrupt shard, never reuses one, and never deletes user files."""

from __future__ import annotations

import json
import os
import posixpath
import signal
import subprocess
import sys
import time
import uuid

import pyarrow as pa
import pytest

from dprune.cli import main as cli_main
from dprune.store import MARKER_NAME, ArtifactStore, CorruptArtifactError, NotAStoreError
from dprune.store.leases import LEASE_TTL_S, is_live

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _table(n: int = 40) -> pa.Table:
    return pa.table({"row_id": pa.array(range(n), pa.int64()), "x": pa.array([i / 3 for i in range(n)])})


@pytest.fixture(params=["local", "memory"])
def store(request, tmp_path, monkeypatch):
    monkeypatch.setenv("DPRUNE_STORE_CACHE", str(tmp_path / "cache"))
    if request.param == "local":
        yield ArtifactStore(str(tmp_path / "store"))
        return
    store = ArtifactStore(f"memory://dprune-trust-{uuid.uuid4().hex}")
    yield store
    store.fs.rm(store.path, recursive=True)


def _flip(store: ArtifactStore, path: str) -> None:
    data = bytearray(store.fs.cat_file(path))
    data[len(data) // 2] ^= 0xFF
    with store.fs.open(path, "wb") as f:
        f.write(bytes(data))


def _shard(store, ref, i):
    return posixpath.join(store.artifact_dir(ref), store.manifest(ref)["shards"][i]["name"])


# --------------------------------------------------------------------------- checksums
def test_writer_never_reuses_a_same_size_corrupt_shard(store):
    ref = store.write_table("s", "k", _table(), config={}, shard_rows=10)
    path = _shard(store, ref, 1)
    _flip(store, path)
    store.fs.rm_file(posixpath.join(store.artifact_dir(ref), "manifest.json"))
    store.write_table("s", "k", _table(), config={}, shard_rows=10)  # the rerun after a deleted manifest
    assert store.verify(ref) == []
    assert store.read_table(ref).equals(_table())


def test_corrupt_artifact_is_quarantined_and_recomputed_by_exists(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    ref = store.write_table("s", "k", _table(), config={}, shard_rows=10)
    store.read_table(ref)  # proven once in this process...
    _flip(store, _shard(store, ref, 3))  # ...then changed behind its back
    assert not store.exists(ref)  # a stage checking exists() recomputes it
    quarantined = store.fs.find(str(tmp_path / "store" / "_quarantine"))
    names = sorted(posixpath.basename(p) for p in quarantined)
    assert names[0] == "manifest.json" and names[1].startswith("shard-00003-") and len(names) == 2
    writer = store.open_writer("s", "k", config={}, num_shards=4,
                               plan={"num_shards": 4, "shard_rows": 10, "num_rows": 40})
    assert writer.missing_shards() == [3]  # only the bad shard is recomputed
    writer.close()
    store.write_table("s", "k", _table(), config={}, shard_rows=10)
    assert store.read_table(ref).equals(_table())
    assert any(r.startswith("_quarantine/s/k/") for r in store.gc())


def test_rewrite_that_keeps_the_old_mtime_is_detected(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    ref = store.write_table("s", "k", _table(), config={})
    path = _shard(store, ref, 0)
    store.read_table(ref)
    st = os.stat(path)
    _flip(store, path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # like cp -p / rsync -a / tar
    with pytest.raises(CorruptArtifactError, match="sha256 mismatch"):
        store.read_table(ref)


def test_corrupt_stored_file_is_quarantined(store):
    w = store.open_writer("m", "k", config={}, num_shards=1)
    w.write_shard(0, _table(3))
    w.put_file("model.bin", b"weights" * 100)
    ref = w.commit()
    path = posixpath.join(store.artifact_dir(ref), store.manifest(ref)["files"][0]["path"])
    _flip(store, path)
    with pytest.raises(CorruptArtifactError, match="model.bin"):
        store.local_file(ref, "model.bin")
    assert not store.exists(ref)


# --------------------------------------------------------------------------- the root
@pytest.fixture
def decoy(tmp_path):
    root = tmp_path / "home"
    for rel in ("projects/mycode/main.py", "photos/2024/beach.jpg", "notes.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("precious")
    return root


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_gc_rm_verify_refuse_a_folder_that_is_not_a_store(decoy):
    before = _files(decoy)
    store = ArtifactStore(str(decoy))
    for call in (store.gc, lambda: store.gc(dry_run=True), store.verify, lambda: store.delete("projects/mycode")):
        with pytest.raises(NotAStoreError, match=f"{decoy}.*not a dPrune store.*projects/mycode"):
            call()
    with pytest.raises(NotAStoreError, match="not a dPrune store"):
        store.write_table("s", "k", _table(), config={})  # nor is it written into
    assert _files(decoy) == before


def test_cli_refuses_a_decoy_root_and_a_missing_one(decoy, tmp_path, capsys):
    before = _files(decoy)
    assert cli_main(["store", "gc", "--root", str(decoy)]) != 0
    assert "not a dPrune store" in capsys.readouterr().err
    assert _files(decoy) == before
    assert cli_main(["store", "verify", "--root", str(tmp_path / "typo")]) != 0
    err = capsys.readouterr().err
    assert "does not exist" in err and "typo" in err
    assert cli_main(["store", "init", "--root", str(tmp_path / "new")]) == 0
    assert cli_main(["store", "verify", "--root", str(tmp_path / "new")]) == 0


def test_store_marks_its_root_and_adopts_an_unmarked_store(store):
    assert not store.is_store()
    ref = store.write_table("s", "k", _table(), config={})
    marker = posixpath.join(store.path, MARKER_NAME)
    assert json.loads(store.fs.cat_file(marker))["format"] == "dprune-store"
    store.fs.rm_file(marker)  # a store written by an older dPrune: artifacts only
    again = ArtifactStore(store.root)
    assert again.is_store() and again.verify() == [] and again.gc() == []
    assert again.exists(ref)


def test_root_that_is_a_file_is_refused_before_writing(tmp_path):
    path = tmp_path / "store.txt"
    path.write_text("x")
    with pytest.raises(NotAStoreError, match="is a file"):
        ArtifactStore(str(path)).init()


# --------------------------------------------------------------------------- leases
WRITER = """
import sys, types
pkg = types.ModuleType("dprune"); pkg.__path__ = [sys.argv[2] + "/dprune"]; sys.modules["dprune"] = pkg
import pyarrow as pa
from dprune.store import ArtifactStore
w = ArtifactStore(sys.argv[1]).open_writer("s", "live", config={}, num_shards=2)
w.write_shard(0, pa.table({"x": [1, 2]}))
print("ready", flush=True)
sys.stdin.read()
"""


def test_gc_skips_a_live_writer_and_collects_it_once_killed(tmp_path):
    root = str(tmp_path / "store")
    store = ArtifactStore(root)
    store.write_table("s", "done", _table(), config={})
    proc = subprocess.Popen([sys.executable, "-c", WRITER, root, REPO], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert store.gc(dry_run=True) == [] and store.gc() == []
        assert [r["key"] for r in store.ls()] == ["done", "live"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert store.gc() == ["s/live"]  # its process is dead on this host: the lease is void at once


def test_lease_liveness_rules():
    now = time.time()
    other = {"host": "elsewhere", "pid": 1, "heartbeat": now - 1, "ttl_s": LEASE_TTL_S}
    assert is_live(other, now)
    assert not is_live({**other, "heartbeat": now - LEASE_TTL_S - 1}, now)
    assert is_live({**other, "host": os.uname().nodename, "pid": os.getpid()}, now)
    assert not is_live({**other, "heartbeat": "yesterday"}, now) and not is_live(None, now)

