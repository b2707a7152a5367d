"""The store on an S3-compatible object store: a moto server started by the test on 127.0.0.1.

Write, read, resume after a partial write, concurrent writers, verify, quarantine and gc,
through the real s3fs client and HTTP (nothing mocked inside the process).
"""

from __future__ import annotations

import posixpath
import socket
import threading
import uuid

import pyarrow as pa
import pytest

moto_server = pytest.importorskip("moto.server", reason="needs moto[server] (the test extra)")
s3fs = pytest.importorskip("s3fs", reason="needs s3fs (the test extra)")
boto3 = pytest.importorskip("boto3", reason="needs boto3 (a dependency of moto)")

from dprune.store import ArtifactStore, CorruptArtifactError, NotAStoreError, checksums  # noqa: E402

pytestmark = pytest.mark.slow  # HTTP round trips to a local server: ~30 s in all


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def options(endpoint, monkeypatch, tmp_path):
    monkeypatch.setenv("DPRUNE_STORE_CACHE", str(tmp_path / "cache"))
    opts = {"endpoint_url": endpoint, "key": "testing", "secret": "testing",
            "client_kwargs": {"region_name": "us-east-1"}}
    bucket = f"dprune-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                 region_name="us-east-1").create_bucket(Bucket=bucket)
    return bucket, opts


def _table(n: int = 60, offset: int = 0) -> pa.Table:
    return pa.table({"row_id": pa.array(range(n), pa.int64()), "x": pa.array([(i + offset) / 7 for i in range(n)])})


def _store(options, **kw) -> ArtifactStore:
    bucket, opts = options
    return ArtifactStore(f"s3://{bucket}/store", opts, **kw)


def test_write_read_verify_on_s3(options):
    store = _store(options)
    ref = store.write_table("s", "k", _table(), config={"a": 1}, shard_rows=20)
    assert store.exists(ref) and store.manifest(ref)["num_rows"] == 60
    assert store.read_table(ref).equals(_table())
    assert store.read(ref)["row_id"] == list(range(60))
    assert store.verify() == [] and store.gc() == []
    assert store.fs.exists(posixpath.join(store.path, ".dprune-store.json"))


def test_resume_after_a_partial_write_on_s3(options):
    store = _store(options)
    w = store.open_writer("s", "r", config={}, num_shards=3)
    w.write_shard(0, _table(20))
    w.close()  # the run dies here
    again = _store(options).open_writer("s", "r", config={}, num_shards=3)
    assert again.missing_shards() == [1, 2]
    for i in again.missing_shards():
        again.write_shard(i, _table(20))
    ref = again.commit()
    assert _store(options).read_table(ref).num_rows == 60


def test_concurrent_writers_on_s3(options):
    errors = []

    def write(variant):
        try:
            _store(options).write_table("s", "c", _table(offset=variant), config={}, shard_rows=15)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(v,)) for v in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    store = _store(options)
    table = store.read_table("s/c")
    for start in range(0, 60, 15):  # every shard is one writer's bytes, whole (never torn)
        assert any(table.slice(start, 15).equals(_table(offset=v).slice(start, 15)) for v in range(2))
    assert store.verify() == []
    store.gc()
    assert store.read_table("s/c").equals(table) and store.verify() == []


def test_corrupt_shard_on_s3_is_quarantined_then_rewritten(options):
    store = _store(options)
    ref = store.write_table("s", "q", _table(), config={}, shard_rows=20)
    name = store.manifest(ref)["shards"][1]["name"]
    path = posixpath.join(store.artifact_dir(ref), name)
    data = bytearray(store.fs.cat_file(path))
    data[len(data) // 2] ^= 0xFF
    store.fs.pipe_file(path, bytes(data))
    assert any("sha256 mismatch" in p for p in store.verify(ref))
    with pytest.raises(CorruptArtifactError, match="_quarantine"):
        store.read_table(ref)  # hashed on its way into the local cache
    assert not store.exists(ref)
    store.write_table("s", "q", _table(), config={}, shard_rows=20)
    assert store.read_table(ref).equals(_table()) and store.verify(ref) == []


def test_gc_refuses_a_bucket_prefix_that_is_not_a_store(options):
    bucket, opts = options
    fs = s3fs.S3FileSystem(**opts)
    fs.pipe_file(f"{bucket}/photos/2024/beach.jpg", b"precious")
    store = ArtifactStore(f"s3://{bucket}", opts)
    with pytest.raises(NotAStoreError):
        store.gc()
    assert fs.cat_file(f"{bucket}/photos/2024/beach.jpg") == b"precious"
    with pytest.raises(NotAStoreError, match="does not exist"):
        ArtifactStore(f"s3://{bucket}/typo", opts).verify()


def _flip_remote_byte(store: ArtifactStore, path: str) -> None:
    data = bytearray(store.fs.cat_file(path))
    data[len(data) // 2] ^= 0xFF
    store.fs.pipe_file(path, bytes(data))  # same size: a size check cannot see it


def test_a_remote_shard_corrupted_after_it_was_cached_is_found_by_the_next_process(options):
    first = _store(options)  # a process that wrote the artifact and read it (its local cache holds good copies)
    ref = first.write_table("s", "v", _table(), config={}, shard_rows=20)
    assert first.read_table(ref).equals(_table())
    shard = posixpath.join(first.artifact_dir(ref), first.manifest(ref)["shards"][2]["name"])
    _flip_remote_byte(first, shard)
    checksums.forget(shard)  # what a new process knows: nothing proved yet
    later = _store(options)
    assert not later.exists(ref)  # the remote bytes are hashed on first use, not only their size
    quarantined = later.fs.find(posixpath.join(later.path, "_quarantine"))
    assert any(p.endswith(posixpath.basename(shard)) for p in quarantined)
    later.write_table("s", "v", _table(), config={}, shard_rows=20)  # the stage recomputes that shard
    assert later.exists(ref) and later.read_table(ref).equals(_table()) and later.verify(ref) == []


def test_a_remote_file_is_checked_on_first_use_and_a_proof_spares_the_second_hash(options):
    store = _store(options)
    writer = store.open_writer("lm", "m", config={}, num_shards=1)
    writer.write_shard(0, _table(5))
    writer.put_file("model.bin", b"weights" * 1000)
    ref = writer.commit()
    path = store.local_file(ref, "model.bin")
    assert open(path, "rb").read() == b"weights" * 1000
    remote = posixpath.join(store.artifact_dir(ref), store.manifest(ref)["files"][0]["path"])
    assert checksums.proven(store.backend, remote, store.manifest(ref)["files"][0]["sha256"])
    _flip_remote_byte(store, remote)  # a new ETag: the proof no longer covers it
    with pytest.raises(CorruptArtifactError, match="_quarantine"):
        store.local_file(ref, "model.bin")
