"""ArtifactStore: round trips on a local folder and on memory://, resume, corruption, gc."""

from __future__ import annotations

import base64
import io
import json
import os
import posixpath
import uuid

import datasets
import fsspec
import numpy as np
import pyarrow as pa
import pytest

from dprune.core.fingerprint import dataset_fingerprint
from dprune.store import (
    MANIFEST_NAME,
    ArtifactNotFoundError,
    ArtifactRef,
    ArtifactStore,
    CorruptArtifactError,
    IncompleteArtifactError,
    SchemaMismatchError,
)


def _table(n: int = 100, offset: int = 0) -> pa.Table:
    ids = list(range(offset, offset + n))
    return pa.table({
        "row_id": pa.array(ids, pa.int64()),
        "text": pa.array([f"example {i}" for i in ids]),
        "score": pa.array([i / 7 if i % 11 else None for i in ids], pa.float64()),
        "tags": pa.array([[i, i + 1] for i in ids], pa.list_(pa.int32())),
    })


@pytest.fixture(params=["local", "memory"])
def root(request, tmp_path, monkeypatch):
    monkeypatch.setenv("DPRUNE_STORE_CACHE", str(tmp_path / "cache"))
    if request.param == "local":
        yield str(tmp_path / "store")
        return
    mem = fsspec.filesystem("memory")
    yield f"memory://dprune-test-{uuid.uuid4().hex}"
    mem.store.clear()
    mem.pseudo_dirs.clear()
    mem.pseudo_dirs.append("")


@pytest.fixture
def store(root):
    return ArtifactStore(root)


def _artifact_dir(store: ArtifactStore, ref: ArtifactRef) -> str:
    return store.artifact_dir(ref)


def _shard_path(store: ArtifactStore, ref: ArtifactRef, index: int = 0) -> str:
    name = store.manifest(ref)["shards"][index]["name"]
    return posixpath.join(_artifact_dir(store, ref), name)


def _rewrite(store: ArtifactStore, path: str, data: bytes) -> None:
    """Overwrite a file in place, behind the store's back."""
    with store.fs.open(path, "wb") as f:
        f.write(data)


# --------------------------------------------------------------------------- round trips
def test_write_read_round_trip(store):
    table = _table(1000)
    ref = store.write_table("embed", "k1", table, config={"model": "m", "k": 1}, shard_rows=300)
    assert ref == ArtifactRef(store.root, "embed", "k1")
    assert store.exists(ref) and store.exists("embed", "k1") and store.exists("embed/k1")
    ds = store.read(ref)
    assert isinstance(ds, datasets.Dataset)
    assert len(ds) == 1000
    assert ds.data.table.equals(table)
    assert store.read_table(ref).equals(table)
    m = store.manifest(ref)
    assert [s["rows"] for s in m["shards"]] == [300, 300, 300, 100]
    assert m["num_rows"] == 1000
    assert m["config"] == {"model": "m", "k": 1}
    assert {"pyarrow", "python"} <= set(m["versions"])
    assert pa.ipc.read_schema(pa.py_buffer(base64.b64decode(m["schema"]["arrow_b64"]))).equals(
        table.schema)
    assert "row_id: int64" in m["schema"]["text"]
    assert [row["status"] for row in store.ls()] == ["complete"]
    assert store.verify() == []


def test_local_read_is_memory_mapped(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    ref = store.write_table("s", "k", _table(50), config={}, shard_rows=20)
    ds = store.read(ref)
    files = [c["filename"] for c in ds.cache_files]
    assert len(files) == 3
    assert all(f.startswith(str(tmp_path / "store" / "s" / "k")) and f.endswith(".arrow") for f in files)


def test_remote_read_uses_checksum_keyed_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DPRUNE_STORE_CACHE", str(tmp_path / "cache"))
    store = ArtifactStore(f"memory://cache-test-{uuid.uuid4().hex}")
    ref = store.write_table("s", "k", _table(50), config={})
    ds = store.read(ref)
    sha = store.manifest(ref)["shards"][0]["sha256"]
    assert ds.cache_files[0]["filename"].startswith(str(tmp_path / "cache"))
    assert sha in ds.cache_files[0]["filename"]
    assert ds.data.table.equals(_table(50))


def test_file_url_and_tuple_root(tmp_path):
    a = ArtifactStore(f"file://{tmp_path}/store")
    b = ArtifactStore((str(tmp_path / "store"), {}))
    assert a.root == b.root == str(tmp_path / "store")
    ref = a.write_table("s", "k", _table(5), config={})
    assert b.read_table(ref).equals(_table(5))


def test_dataset_round_trip_keeps_features_and_respects_select(store):
    ds = datasets.Dataset.from_dict(
        {"text": [f"t{i}" for i in range(20)], "label": [i % 2 for i in range(20)]},
        features=datasets.Features({"text": datasets.Value("string"),
                                    "label": datasets.ClassLabel(names=["neg", "pos"])}),
    )
    picked = ds.select([15, 3, 7, 0])
    ref = store.write_table("data", "sel", picked, config={}, shard_rows=3)
    back = store.read(ref)
    assert back.features == ds.features
    assert back["text"][:] == ["t15", "t3", "t7", "t0"]
    assert dataset_fingerprint(back) == dataset_fingerprint(picked)


def test_empty_table_round_trip(store):
    empty = _table(0)
    ref = store.write_table("s", "empty", empty, config={})
    assert store.read_table(ref).schema.equals(empty.schema)
    assert len(store.read(ref)) == 0
    assert store.manifest(ref)["num_rows"] == 0


def test_existing_artifact_is_not_rewritten(store):
    ref = store.write_table("s", "k", _table(10), config={"a": 1})
    created = store.manifest(ref)["created_unix"]
    again = store.write_table("s", "k", _table(99), config={"a": 2})
    assert again == ref
    assert store.manifest(ref)["created_unix"] == created
    assert store.read_table(ref).num_rows == 10


def test_parents_meta_and_ref_serialization(store):
    parent = store.write_table("data", "p", _table(3), config={})
    child = store.write_table("scores", "c", _table(3), config={"t": (1, 2)}, parents=[parent, "data/q"],
                              meta={"note": "x"}, versions={"stage": 3})
    m = store.manifest(child)
    assert m["parents"] == [parent.to_dict(), {"root": store.root, "stage": "data", "key": "q"}]
    assert m["config"] == {"t": [1, 2]}
    assert m["meta"] == {"note": "x"} and m["versions"]["stage"] == 3
    blob = json.dumps(child.to_dict())
    assert ArtifactRef.from_dict(json.loads(blob)) == child
    with pytest.raises(ValueError, match="root"):
        ArtifactRef.from_dict({"stage": "s", "key": "k"})


@pytest.mark.parametrize("stage,key", [("../up", "k"), ("s", "a/b"), ("", "k"), ("s", ".hidden"), ("s", None)])
def test_bad_names_are_rejected(store, stage, key):
    with pytest.raises((ValueError, TypeError)):
        store.write_table(stage, key, _table(1), config={})


def test_bad_shard_rows_names_the_parameter(store):
    with pytest.raises(ValueError, match="'shard_rows' parameter"):
        store.write_table("s", "k", _table(3), config={}, shard_rows=0)


# --------------------------------------------------------------------------- sharded writer
def test_sharded_writer_resume_and_commit(store):
    parts = [_table(10, offset=10 * i) for i in range(3)]
    w = store.open_writer("embed", "k", config={"m": 1}, num_shards=3)
    w.write_shard(0, parts[0])
    w.write_shard(2, parts[2])
    assert not store.exists("embed", "k")

    w2 = store.open_writer("embed", "k", config={"m": 1}, num_shards=3)
    assert w2.missing_shards() == [1]
    assert w2.has_shard(0) and w2.has_shard(2) and not w2.has_shard(1)
    with pytest.raises(IncompleteArtifactError, match=r"missing \(1\)"):
        w2.commit()
    assert not store.exists("embed", "k")
    w2.write_shard(1, parts[1])
    ref = w2.commit()
    assert store.read_table(ref).equals(pa.concat_tables(parts))
    assert store.open_writer("embed", "k", config={}, num_shards=3).complete


def test_writer_rejects_out_of_range_shard(store):
    w = store.open_writer("s", "k", config={}, num_shards=2)
    with pytest.raises(ValueError, match="out of range"):
        w.write_shard(2, _table(1))


def test_schema_mismatch_between_shards(store):
    w = store.open_writer("s", "k", config={}, num_shards=2)
    w.write_shard(0, _table(5))
    bad = _table(5).set_column(2, "score", pa.array(["x"] * 5))
    with pytest.raises(SchemaMismatchError, match="column 'score': expected double"):
        w.write_shard(1, bad)
    # A fresh writer (a resumed run) checks against the shards already on disk.
    w2 = store.open_writer("s", "k", config={}, num_shards=2)
    with pytest.raises(SchemaMismatchError, match="Shard 1 .*missing columns"):
        w2.write_shard(1, bad.drop_columns(["tags"]))
    w2.write_shard(1, _table(5))
    with pytest.raises(SchemaMismatchError, match="missing columns"):
        w2.commit(schema=pa.schema([pa.field("other", pa.int64())]))
    assert not store.exists("s", "k")


def test_shards_of_another_sharding_plan_are_not_reused(store):
    table = _table(10)
    ref = store.write_table("s", "k", table, config={}, shard_rows=2)
    store.fs.rm_file(posixpath.join(_artifact_dir(store, ref), MANIFEST_NAME))  # as if killed before commit
    assert not store.exists(ref)
    store.write_table("s", "k", table, config={}, shard_rows=3)
    assert store.read_table(ref).equals(table)
    assert [s["rows"] for s in store.manifest(ref)["shards"]] == [3, 3, 3, 1]


def test_concurrent_nondeterministic_writers_stay_consistent(store):
    """Two writers race on one key with different bytes; the manifest always matches the files."""
    a = store.open_writer("s", "k", config={}, num_shards=2)
    b = store.open_writer("s", "k", config={}, num_shards=2)
    a.write_shard(0, _table(4, offset=0))
    b.write_shard(0, _table(4, offset=100))   # replaces a's sidecar, a's file stays an orphan
    b.write_shard(1, _table(4, offset=104))
    a.write_shard(1, _table(4, offset=4))
    ref = a.commit()
    assert b.commit() == ref
    assert store.verify(ref) == []
    got = store.read_table(ref)
    assert got["row_id"].to_pylist() == [100, 101, 102, 103, 4, 5, 6, 7]
    removed = store.gc()
    assert len(removed) == 2 and all(r.startswith("s/k/shard-") for r in removed)
    assert store.verify(ref) == [] and store.read_table(ref).equals(got)


# --------------------------------------------------------------------------- missing and corrupt
def test_manifestless_directory_does_not_exist(store):
    w = store.open_writer("embed", "partial", config={}, num_shards=2)
    w.write_shard(0, _table(5))
    assert not store.exists("embed", "partial")
    with pytest.raises(ArtifactNotFoundError) as err:
        store.read("embed", "partial")
    msg = str(err.value)
    assert "embed/partial" in msg and store.root in msg and "dprune store gc" in msg
    assert isinstance(err.value, KeyError)
    [row] = store.ls()
    assert row["status"] == "partial" and not row["complete"] and row["bytes"] > 0
    assert store.verify() == []  # partial directories are not artifacts
    assert store.verify("embed/partial") != []


def test_truncated_shard_is_detected(store):
    ref = store.write_table("s", "k", _table(200), config={}, shard_rows=50)
    path = _shard_path(store, ref, 1)
    data = store.fs.cat_file(path)
    _rewrite(store, path, data[: len(data) // 2])
    assert not store.exists(ref)
    problems = store.verify(ref)
    assert len(problems) == 1 and "bytes" in problems[0] and "shard-00001" in problems[0]
    with pytest.raises(CorruptArtifactError, match="s/k .*corrupt.*shard-00001"):
        store.read(ref)
    with pytest.raises(CorruptArtifactError):
        store.read_table(ref)


def test_flipped_byte_is_detected(store):
    ref = store.write_table("s", "k", _table(200), config={}, shard_rows=50)
    path = _shard_path(store, ref, 2)
    manifest_before = store.manifest(ref)
    data = bytearray(store.fs.cat_file(path))
    data[len(data) // 2] ^= 0xFF
    _rewrite(store, path, bytes(data))
    problems = store.verify(ref)
    assert len(problems) == 1 and "sha256 mismatch" in problems[0]
    assert store.verify() == problems
    with pytest.raises(CorruptArtifactError, match="sha256.*_quarantine"):
        store.read(ref)  # checked on every first read, not only with verify=True
    # quarantined: no longer an artifact, and the next run recomputes only the bad shard
    assert not store.exists(ref)
    good = [s["name"] for i, s in enumerate(manifest_before["shards"]) if i != 2]
    store.write_table("s", "k", _table(200), config={}, shard_rows=50)
    assert store.verify(ref) == [] and store.read_table(ref).equals(_table(200))
    assert [s["name"] for i, s in enumerate(store.manifest(ref)["shards"]) if i != 2] == good


def test_missing_shard_is_detected(store):
    ref = store.write_table("s", "k", _table(20), config={}, shard_rows=10)
    store.fs.rm_file(_shard_path(store, ref, 0))
    assert not store.exists(ref)
    with pytest.raises(CorruptArtifactError, match="missing"):
        store.read(ref)
    # Re-running the stage repairs it: the missing shard is rewritten.
    store.write_table("s", "k", _table(20), config={}, shard_rows=10)
    assert store.exists(ref) and store.verify(ref) == []


@pytest.mark.parametrize("content", [b"{not json", b"[]", json.dumps({"format": "dprune-artifact",
                                                                      "format_version": 999}).encode()])
def test_invalid_manifest_is_not_an_artifact(store, content):
    ref = store.write_table("s", "k", _table(5), config={})
    _rewrite(store, posixpath.join(_artifact_dir(store, ref), MANIFEST_NAME), content)
    assert not store.exists(ref)
    with pytest.raises(CorruptArtifactError, match="invalid manifest.*dprune store rm s/k"):
        store.read(ref)
    with pytest.raises(CorruptArtifactError):
        store.manifest(ref)
    assert store.ls()[0]["status"] == "invalid"
    assert any("invalid manifest" in p for p in store.verify())


def test_manifest_for_another_key_is_invalid(store):
    ref = store.write_table("s", "k", _table(5), config={})
    d = _artifact_dir(store, ref)
    m = json.loads(store.fs.cat_file(posixpath.join(d, MANIFEST_NAME)))
    m["key"] = "other"
    _rewrite(store, posixpath.join(d, MANIFEST_NAME), json.dumps(m).encode())
    assert not store.exists(ref)


# --------------------------------------------------------------------------- files
def test_put_file_round_trip(store, tmp_path):
    src = tmp_path / "lm.binary"
    src.write_bytes(os.urandom(10_000))
    centroids = np.arange(12, dtype=np.float32).reshape(3, 4)
    buf = io.BytesIO()
    np.save(buf, centroids, allow_pickle=False)
    w = store.open_writer("kenlm", "k", config={}, num_shards=1)
    w.write_shard(0, _table(3))
    info = w.put_file("lm.binary", src)
    w.put_file("centroids.npy", buf.getvalue())
    ref = w.commit()
    assert info["bytes"] == 10_000
    assert store.read_file(ref, "lm.binary") == src.read_bytes()
    local = store.local_file(ref, "centroids.npy")
    assert local.endswith("centroids.npy") and os.path.isfile(local)
    np.testing.assert_array_equal(np.load(local, allow_pickle=False), centroids)
    assert {f["name"] for f in store.manifest(ref)["files"]} == {"lm.binary", "centroids.npy"}
    with pytest.raises(ArtifactNotFoundError, match="no file 'nope'"):
        store.read_file(ref, "nope")
    assert store.verify(ref) == []

    path = posixpath.join(_artifact_dir(store, ref), store.manifest(ref)["files"][0]["path"])
    data = bytearray(store.fs.cat_file(path))
    data[0] ^= 1
    _rewrite(store, path, bytes(data))
    assert store.verify(ref) and "sha256 mismatch" in store.verify(ref)[0]
    with pytest.raises(CorruptArtifactError):
        store.read_file(ref, store.manifest(ref)["files"][0]["name"])


def test_put_file_survives_resume(store):
    w = store.open_writer("s", "k", config={}, num_shards=1)
    w.put_file("model.bin", b"weights")
    w2 = store.open_writer("s", "k", config={}, num_shards=1)
    w2.write_shard(0, _table(2))
    ref = w2.commit()
    assert store.read_file(ref, "model.bin") == b"weights"


def test_commit_without_shards_needs_a_schema(store):
    w = store.open_writer("s", "k", config={})
    with pytest.raises(IncompleteArtifactError, match="no shard was written"):
        w.commit()
    ref = w.commit(schema=_table(0).schema)
    assert store.read_table(ref).num_rows == 0


# --------------------------------------------------------------------------- gc and delete
def test_gc_removes_partial_and_stray_files_only(store):
    done = store.write_table("s", "done", _table(5), config={})
    w = store.open_writer("s", "partial", config={}, num_shards=2)
    w.write_shard(0, _table(5))
    stray = posixpath.join(_artifact_dir(store, done), ".shard-00009-0123456789abcdef.arrow.tmp-1-" + "0" * 32)
    _rewrite(store, stray, b"half")
    # the live writer holds a lease: its folder is not garbage, even in a dry run
    assert store.gc(dry_run=True) == ["s/done/" + posixpath.basename(stray)]
    w.close()  # as if its process had died: the lease is gone
    assert sorted(store.gc(dry_run=True)) == sorted(["s/partial", "s/done/" + posixpath.basename(stray)])
    assert {r["key"] for r in store.ls()} == {"done", "partial"}
    assert store.gc(partial=True, older_than=3600) == []  # everything is fresh
    removed = store.gc()
    assert "s/partial" in removed
    assert [r["key"] for r in store.ls()] == ["done"]
    assert not store.fs.exists(stray)
    assert store.verify() == [] and store.read_table(done).equals(_table(5))


def test_gc_keep_deletes_unreachable_artifacts(store):
    a = store.write_table("data", "a", _table(2), config={})
    b = store.write_table("scores", "b", _table(2), config={}, parents=[a])
    c = store.write_table("scores", "c", _table(2), config={})
    removed = store.gc(keep=[b])
    assert removed == ["scores/c"]
    assert store.exists(a) and store.exists(b) and not store.exists(c)


def test_delete_removes_manifest_first(store):
    ref = store.write_table("s", "k", _table(5), config={})
    assert store.delete(ref)
    assert not store.exists(ref)
    assert store.ls() == []
    assert not store.delete(ref)
    with pytest.raises(ArtifactNotFoundError):
        store.read(ref)
