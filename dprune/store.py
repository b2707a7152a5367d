"""Content-addressed Arrow artifact store over fsspec.

Layout of one artifact (``{root}/{stage}/{key}/``)::

    manifest.json                      written last; without it the artifact does not exist
    shard-00000-<sha16>.arrow          Arrow IPC *stream* files (memory-mappable by datasets)
    files/<sha16>-<name>               put_file payloads (model binaries, centroids, ...)
    _index/shard-00000.json            per-shard sidecar: name, rows, bytes, sha256, schema
    _index/file-<name>.json            per-file sidecar

Protocol:

* every file is written to a unique temporary name (``.<name>.tmp-<pid>-<uuid>``) and
  renamed over its final name (``os.replace`` locally, write + ``mv`` + size check on
  other fsspec filesystems);
* a shard counts as committed only once its sidecar exists and the file it names has
  the recorded size, so a killed run resumes at the first missing shard;
* shard and payload file names carry a prefix of their sha256, so a sidecar always
  points at the exact bytes it describes, even when two writers race on one key with
  non-deterministic outputs (the loser's file is an orphan that :meth:`ArtifactStore.gc`
  removes);
* ``manifest.json`` is written last, atomically, after every shard is checked; it is the
  only thing readers trust. Deleting removes the manifest first.

The store reads and writes only Arrow IPC and JSON (plus the opaque files handed to
:meth:`ShardedWriter.put_file`); it never unpickles.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import posixpath
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import fsspec
import pyarrow as pa
from fsspec.implementations.local import LocalFileSystem

from dprune.core.fingerprint import is_hf_dataset, iter_table_windows, normalize_config

__all__ = [
    "MANIFEST_NAME",
    "ArtifactNotFoundError",
    "ArtifactRef",
    "ArtifactStore",
    "CorruptArtifactError",
    "IncompleteArtifactError",
    "SchemaMismatchError",
    "ShardedWriter",
    "StoreError",
    "default_cache_dir",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "dprune-artifact"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = frozenset({1})
INDEX_DIR = "_index"
FILES_DIR = "files"
#: Default shard size for :meth:`ArtifactStore.write_table` when ``shard_rows`` is None.
TARGET_SHARD_BYTES = 128 << 20

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]{0,199}$")
_SHARD_RE = re.compile(r"^shard-(\d{5,})-([0-9a-f]{16})\.arrow$")
_FILE_PATH_RE = re.compile(r"^files/([0-9a-f]{16})-([A-Za-z0-9][A-Za-z0-9_.=+-]{0,199})$")
_TMP_RE = re.compile(r"\.tmp-\d+-[0-9a-f]{32}$")
_SIDECAR_SHARD_RE = re.compile(r"^shard-(\d{5,})\.json$")
_SIDECAR_FILE_RE = re.compile(r"^file-(.+)\.json$")
_COPY_CHUNK = 1 << 22


# --------------------------------------------------------------------------- errors
class StoreError(Exception):
    """Base class of artifact store errors."""


class ArtifactNotFoundError(StoreError, KeyError):
    """No valid artifact (no manifest) exists under the requested stage/key."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CorruptArtifactError(StoreError, RuntimeError):
    """An artifact's manifest or data does not match what was committed."""


class IncompleteArtifactError(StoreError, RuntimeError):
    """``commit`` was called before every shard was written."""


class ReuseOnlyError(StoreError, LookupError):
    """A stage needed an artifact that is not in the store, and the store only reuses (see ``reuse_only``)."""


class SchemaMismatchError(StoreError, ValueError):
    """Shards of one artifact do not share one schema."""


# --------------------------------------------------------------------------- refs
@dataclass(frozen=True)
class ArtifactRef:
    """Small, JSON-serializable pointer to an artifact: what Prefect tasks pass around.

    It never carries storage options (credentials); reopen the store with
    ``ArtifactStore(ref.root, storage_options)``.
    """

    root: str
    stage: str
    key: str

    @property
    def name(self) -> str:
        """``"stage/key"``."""
        return f"{self.stage}/{self.key}"

    def dprune_identity(self) -> dict[str, str]:
        """What identifies the artifact in cache keys: its stage and key, not where it is stored."""
        return {"artifact": self.name}

    def to_dict(self) -> dict[str, str]:
        """Return ``{"root": ..., "stage": ..., "key": ...}``."""
        return {"root": self.root, "stage": self.stage, "key": self.key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArtifactRef:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on missing or non-str fields."""
        try:
            values = {f: data[f] for f in ("root", "stage", "key")}
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"ArtifactRef.from_dict expects a mapping with 'root', 'stage' and 'key'; got {data!r}."
            ) from exc
        bad = [f for f, v in values.items() if not isinstance(v, str)]
        if bad:
            raise ValueError(f"ArtifactRef.from_dict: fields {bad} must be str; got {data!r}.")
        return cls(**values)


# --------------------------------------------------------------------------- helpers
def default_cache_dir() -> str:
    """Local cache for shards copied from non-local stores: ``$DPRUNE_STORE_CACHE`` or ``~/.cache/dprune/store``."""
    env = os.environ.get("DPRUNE_STORE_CACHE")
    return os.path.abspath(os.path.expanduser(env or os.path.join("~", ".cache", "dprune", "store")))


def _check_name(what: str, value: Any) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError(
            f"Invalid {what} {value!r}: it must be 1-200 characters from [A-Za-z0-9_.=+-], starting "
            "with a letter or digit (it becomes a path component of the store)."
        )
    return value


def _tmp_name(path: str) -> str:
    head, tail = posixpath.split(path) if "/" in path else ("", path)
    return posixpath.join(head, f".{tail}.tmp-{os.getpid()}-{uuid.uuid4().hex}")


def _json_bytes(obj: Any, indent: int | None = None) -> bytes:
    return json.dumps(obj, indent=indent, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _schema_b64(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def _schema_from_b64(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text.encode("ascii"), validate=True)))


def _now() -> tuple[str, float]:
    now = time.time()
    iso = _dt.datetime.fromtimestamp(now, _dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return iso, now


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _default_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "pyarrow": pa.__version__}
    for pkg in ("dprune", "datasets", "fsspec"):
        v = _package_version(pkg)
        if v is not None:
            versions[pkg] = v
    return versions


def _to_table(data: Any) -> pa.Table:
    """A shard's rows as one table (Datasets go through their indices mapping)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if is_hf_dataset(data):
        schema, windows = iter_table_windows(data, max(1, len(data)))
        tables = [_conform(w, schema) for w in windows]
        return pa.concat_tables(tables) if tables else schema.empty_table()
    raise TypeError(
        f"Expected a pyarrow.Table, pyarrow.RecordBatch or datasets.Dataset, got "
        f"{type(data).__module__}.{type(data).__qualname__}."
    )


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema`` (same types required; metadata taken from ``schema``)."""
    if table.schema.equals(schema, check_metadata=True):
        return table
    if table.schema.equals(schema, check_metadata=False):
        return table.replace_schema_metadata(schema.metadata)
    return table.cast(schema)


def _schema_diff(expected: pa.Schema, got: pa.Schema) -> str:
    exp = {f.name: f for f in expected}
    out = {f.name: f for f in got}
    parts = []
    missing = [n for n in exp if n not in out]
    extra = [n for n in out if n not in exp]
    if missing:
        parts.append(f"missing columns {missing}")
    if extra:
        parts.append(f"unexpected columns {extra}")
    for n in exp:
        if n in out and not exp[n].equals(out[n]):
            parts.append(f"column {n!r}: expected {exp[n].type} (nullable={exp[n].nullable}), "
                         f"got {out[n].type} (nullable={out[n].nullable})")
    if not parts and expected.names != got.names:
        parts.append(f"column order {got.names} instead of {expected.names}")
    return "; ".join(parts) or "schemas differ"


def _serialize_shard(table: pa.Table) -> pa.Buffer:
    if any(col.num_chunks > 1 for col in table.columns):
        try:
            table = table.combine_chunks()
        except (pa.ArrowInvalid, pa.ArrowCapacityError):  # e.g. > 2 GiB of strings: keep chunks
            pass
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@dataclass(frozen=True)
class _Entry:
    size: int
    is_dir: bool
    mtime: float | None


# --------------------------------------------------------------------------- backends
class _LocalBackend:
    """Plain ``os`` calls: atomic ``os.replace``, fsync before rename."""

    local = True

    def join(self, *parts: str) -> str:
        return os.path.join(*parts)

    def read_bytes(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def open_read(self, path: str):
        return open(path, "rb")

    def write_atomic(self, path: str, data: Any, sync_dir: bool = False) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = _tmp_name(path)
        try:
            with open(tmp, "wb") as f:
                f.write(memoryview(data))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            _silent_remove(tmp)
            raise
        if sync_dir:  # make the renames in this directory (shards, manifest) durable
            try:
                fd = os.open(os.path.dirname(path), os.O_RDONLY)
            except OSError:  # pragma: no cover - platforms without directory fds
                return
            try:
                os.fsync(fd)
            except OSError:  # pragma: no cover
                pass
            finally:
                os.close(fd)

    def put_atomic(self, src: str, path: str, size: int) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = _tmp_name(path)
        try:
            shutil.copyfile(src, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            if os.path.getsize(tmp) != size:
                raise OSError(f"copy of {src} to {tmp} has the wrong size (was the source modified?)")
            os.replace(tmp, path)
        except BaseException:
            _silent_remove(tmp)
            raise

    def info(self, path: str) -> _Entry | None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return _Entry(st.st_size, os.path.isdir(path), st.st_mtime)

    def listdir(self, path: str) -> dict[str, _Entry]:
        out = {}
        try:
            with os.scandir(path) as it:
                for e in it:
                    try:
                        st = e.stat()
                    except FileNotFoundError:  # removed concurrently
                        continue
                    out[e.name] = _Entry(st.st_size, e.is_dir(), st.st_mtime)
        except (FileNotFoundError, NotADirectoryError):
            return {}
        return out

    def rm_file(self, path: str) -> None:
        _silent_remove(path)

    def rm_tree(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)


def _silent_remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _entry_mtime(info: Mapping[str, Any]) -> float | None:
    for k in ("mtime", "created", "LastModified", "last_modified", "updated", "modified"):
        v = info.get(k)
        if v is None:
            continue
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, _dt.datetime):
            return v.timestamp()
        if isinstance(v, str):
            try:
                return _dt.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


class _FsspecBackend:
    """Any fsspec filesystem: write to a temp name, ``mv`` it, check the size."""

    local = False

    def __init__(self, fs: fsspec.AbstractFileSystem):
        self.fs = fs

    def join(self, *parts: str) -> str:
        return posixpath.join(*parts)

    def read_bytes(self, path: str) -> bytes:
        return self.fs.cat_file(path)

    def open_read(self, path: str):
        return self.fs.open(path, "rb")

    def _finish(self, tmp: str, path: str, size: int) -> None:
        self.fs.mv(tmp, path)
        self.fs.invalidate_cache(posixpath.dirname(path))
        got = self.fs.size(path)
        if got != size:
            raise OSError(f"wrote {size} bytes to {path} but the filesystem reports {got}")

    def write_atomic(self, path: str, data: Any, sync_dir: bool = False) -> None:
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        tmp = _tmp_name(path)
        payload = bytes(memoryview(data))
        try:
            self.fs.pipe_file(tmp, payload)
            self._finish(tmp, path, len(payload))
        except BaseException:
            self._quiet_rm(tmp)
            raise

    def put_atomic(self, src: str, path: str, size: int) -> None:
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        tmp = _tmp_name(path)
        try:
            self.fs.put_file(src, tmp)
            self._finish(tmp, path, size)
        except BaseException:
            self._quiet_rm(tmp)
            raise

    def _quiet_rm(self, path: str) -> None:
        try:
            self.fs.rm_file(path)
        except (FileNotFoundError, OSError):
            pass

    def info(self, path: str) -> _Entry | None:
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        return _Entry(int(info.get("size") or 0), info.get("type") == "directory", _entry_mtime(info))

    def listdir(self, path: str) -> dict[str, _Entry]:
        self.fs.invalidate_cache(path)
        try:
            entries = self.fs.ls(path, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return {}
        out = {}
        base = path.rstrip("/")
        for e in entries:
            name = e["name"].rstrip("/")
            if name == base:
                continue
            out[posixpath.basename(name)] = _Entry(
                int(e.get("size") or 0), e.get("type") == "directory", _entry_mtime(e)
            )
        return out

    def rm_file(self, path: str) -> None:
        self._quiet_rm(path)

    def rm_tree(self, path: str) -> None:
        try:
            self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass
        self.fs.invalidate_cache(path)


# --------------------------------------------------------------------------- store
class ArtifactStore:
    """Content-addressed store of Arrow artifacts under ``{root}/{stage}/{key}/``.

    Parameters
    ----------
    root : str, os.PathLike or (str, dict)
        Local path or any fsspec URL (``file://``, ``memory://``, ``s3://`` ...), or a
        ``(url, storage_options)`` pair.
    storage_options : dict, optional
        Options for the fsspec filesystem (credentials, endpoints). Never written into
        refs or manifests.
    cache_dir : str, optional
        Where shards of a non-local store are copied before memory-mapping; defaults to
        :func:`default_cache_dir`.
    reuse_only : bool, default False
        Refuse to write: a stage whose artifact is missing raises :class:`ReuseOnlyError`
        naming it, instead of computing it ("re-prune on cached scores").

    Notes
    -----
    Methods taking an artifact accept an :class:`ArtifactRef`, ``"STAGE/KEY"`` or
    ``(stage, key)``. A ref's ``root`` is not compared with this store's: keys are content
    addresses, so the same key means the same artifact wherever it is stored.
    """

    def __init__(
        self,
        root: Any,
        storage_options: Mapping[str, Any] | None = None,
        *,
        cache_dir: str | None = None,
        reuse_only: bool = False,
    ):
        self.reuse_only = reuse_only
        if isinstance(root, tuple):
            if len(root) != 2:
                raise ValueError(f"root must be a URL or a (URL, storage_options) pair; got {root!r}.")
            root, extra = root
            storage_options = {**(extra or {}), **(storage_options or {})}
        root = os.fspath(root)
        if not isinstance(root, str) or not root:
            raise ValueError(f"root must be a non-empty path or URL; got {root!r}.")
        self.storage_options = dict(storage_options or {})
        fs, path = fsspec.core.url_to_fs(root, **self.storage_options)
        self.fs = fs
        if isinstance(fs, LocalFileSystem):
            self._path = os.path.abspath(os.path.expanduser(path))
            self.root = self._path
            self._backend: _LocalBackend | _FsspecBackend = _LocalBackend()
        else:
            self._path = path.rstrip("/") or path
            self.root = root.rstrip("/") if "::" in root else fs.unstrip_protocol(self._path)
            self._backend = _FsspecBackend(fs)
        self.cache_dir = os.path.abspath(os.path.expanduser(cache_dir)) if cache_dir else default_cache_dir()

    def __repr__(self) -> str:
        return f"ArtifactStore({self.root!r})"

    @property
    def is_local(self) -> bool:
        """True when the root is on the local filesystem (shards are memory-mapped in place)."""
        return self._backend.local

    # ---------------------------------------------------------------- naming
    def ref(self, stage: str, key: str) -> ArtifactRef:
        """Reference to ``stage/key`` in this store (whether or not it exists)."""
        return ArtifactRef(self.root, _check_name("stage", stage), _check_name("key", key))

    def _resolve(self, stage_or_ref: Any, key: str | None) -> ArtifactRef:
        if isinstance(stage_or_ref, ArtifactRef):
            if key is not None:
                raise TypeError("Pass either an ArtifactRef or (stage, key), not both.")
            return self.ref(stage_or_ref.stage, stage_or_ref.key)
        if isinstance(stage_or_ref, Mapping):
            return self._resolve(ArtifactRef.from_dict({"root": self.root, **stage_or_ref}), key)
        if isinstance(stage_or_ref, str) and key is None:
            if stage_or_ref.count("/") != 1:
                raise ValueError(f"Expected 'STAGE/KEY' or (stage, key); got {stage_or_ref!r}.")
            stage_or_ref, key = stage_or_ref.split("/")
        if key is None:
            raise TypeError("Missing key: pass an ArtifactRef, 'STAGE/KEY', or (stage, key).")
        return self.ref(stage_or_ref, key)

    def _dir(self, ref: ArtifactRef) -> str:
        return self._backend.join(self._path, ref.stage, ref.key)

    def _where(self, ref: ArtifactRef) -> str:
        return f"{ref.stage}/{ref.key} in {self.root}"

    def _parent_dict(self, parent: Any, index: int) -> dict[str, str]:
        if isinstance(parent, ArtifactRef):
            return parent.to_dict()
        if isinstance(parent, Mapping):
            return ArtifactRef.from_dict({"root": self.root, **parent}).to_dict()
        if isinstance(parent, str) and parent.count("/") == 1:
            return self._resolve(parent, None).to_dict()
        raise TypeError(f"parents[{index}] must be an ArtifactRef, a ref dict or 'STAGE/KEY'; got {parent!r}.")

    # ---------------------------------------------------------------- manifests
    def _load_manifest(self, ref: ArtifactRef) -> tuple[str, dict | None, str]:
        """``("ok", manifest, "")``, ``("missing", None, why)`` or ``("invalid", None, why)``."""
        path = self._backend.join(self._dir(ref), MANIFEST_NAME)
        try:
            raw = self._backend.read_bytes(path)
        except FileNotFoundError:
            return "missing", None, "no manifest"
        try:
            m = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return "invalid", None, f"manifest is not valid JSON ({exc})"
        problem = _manifest_problem(m, ref)
        if problem:
            return "invalid", None, problem
        return "ok", m, ""

    def manifest(self, stage_or_ref: Any, key: str | None = None) -> dict:
        """The parsed manifest of an artifact.

        Raises
        ------
        ArtifactNotFoundError
            No manifest: the artifact was never committed (or was deleted).
        CorruptArtifactError
            The manifest exists but is unreadable or of an unknown format version.
        """
        ref = self._resolve(stage_or_ref, key)
        status, m, why = self._load_manifest(ref)
        if status == "missing":
            raise ArtifactNotFoundError(
                f"Artifact {self._where(ref)} does not exist (no {MANIFEST_NAME}). Run the stage that "
                "produces it; a partial directory left by a killed run is resumed by re-running the "
                "stage or removed by `dprune store gc`."
            )
        if status == "invalid":
            raise CorruptArtifactError(
                f"Artifact {self._where(ref)} has an invalid manifest: {why}. Delete it "
                f"(`ArtifactStore.delete` or `dprune store rm {ref.name}`) and re-run the stage."
            )
        return m

    def _size_problems(self, ref: ArtifactRef, m: dict) -> list[str]:
        d = self._dir(ref)
        listing = self._backend.listdir(d)
        files_listing = self._backend.listdir(self._backend.join(d, FILES_DIR)) if m["files"] else {}
        problems = []
        for s in m["shards"]:
            e = listing.get(s["name"])
            if e is None:
                problems.append(f"{s['name']}: missing")
            elif e.size != s["bytes"]:
                problems.append(f"{s['name']}: {e.size} bytes on disk, manifest says {s['bytes']}")
        for f in m["files"]:
            e = files_listing.get(posixpath.basename(f["path"]))
            if e is None:
                problems.append(f"{f['path']}: missing")
            elif e.size != f["bytes"]:
                problems.append(f"{f['path']}: {e.size} bytes on disk, manifest says {f['bytes']}")
        return problems

    def exists(self, stage_or_ref: Any, key: str | None = None, *, check_files: bool = True) -> bool:
        """True only when a valid manifest exists (and, with ``check_files``, every listed
        shard and file is present with its recorded size). Corrupt artifacts are reported as
        not existing, so a caching layer recomputes them."""
        ref = self._resolve(stage_or_ref, key)
        status, m, _ = self._load_manifest(ref)
        if status != "ok":
            return False
        return not (check_files and self._size_problems(ref, m))

    # ---------------------------------------------------------------- writing
    def open_writer(
        self,
        stage: str,
        key: str,
        *,
        config: Any,
        parents: Iterable[Any] = (),
        versions: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        num_shards: int | None = None,
        schema: pa.Schema | None = None,
        plan: Mapping[str, Any] | None = None,
    ) -> ShardedWriter:
        """Writer for a sharded stage; shards can be written in any order, across runs.

        Parameters
        ----------
        stage, key : str
            Where the artifact goes (``key`` usually from :func:`dprune.core.fingerprint.compute_key`).
        config : object
            Stage config, stored in the manifest (JSON values, see ``canonical_json``).
        parents : iterable of ArtifactRef
            Artifacts this one was computed from, in order.
        versions : dict, optional
            Extra version info (e.g. ``{"stage": 2}``), merged over the library versions.
        meta : dict, optional
            Free-form JSON metadata.
        num_shards : int, optional
            Expected shard count; ``commit`` then requires exactly shards ``0..n-1``.
        schema : pyarrow.Schema, optional
            Required schema of every shard (otherwise the first shard's schema).
        plan : dict, optional
            How rows are split into shards (e.g. ``{"rows_per_shard": 10000}``); recorded in
            each shard's sidecar, and a resumed writer reuses only shards written under an
            equal plan. Defaults to ``{"num_shards": num_shards}`` (``{}`` when None).
        """
        self._check_writable(stage, key)
        return ShardedWriter(self, self.ref(stage, key), config=config, parents=parents, versions=versions,
                             meta=meta, num_shards=num_shards, schema=schema, plan=plan)

    def _check_writable(self, stage: str, key: str) -> None:
        if self.reuse_only and not self.exists(stage, key):
            raise ReuseOnlyError(
                f"The {stage} artifact {key} is not in the store at {self.root}, and this run only reuses "
                "cached artifacts. Run once without reuse-only (--reuse-only / reuse_only=True) to compute it."
            )

    def write_table(
        self,
        stage: str,
        key: str,
        data: Any,
        *,
        config: Any,
        parents: Iterable[Any] = (),
        versions: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
        shard_rows: int | None = None,
    ) -> ArtifactRef:
        """Write a table or Dataset as one artifact, streamed in shards of ``shard_rows`` rows.

        A ``datasets.Dataset`` is streamed batch by batch through its indices mapping, and its
        features are kept (``read`` returns the same features). If the artifact already
        exists it is not rewritten; if a previous run was killed, shards already committed
        are kept and writing resumes at the first missing one.

        Parameters
        ----------
        data : pyarrow.Table, pyarrow.RecordBatch or datasets.Dataset
        shard_rows : int, optional
            Rows per shard; default aims at about 128 MiB per shard.

        Returns
        -------
        ArtifactRef
        """
        if shard_rows is not None and (isinstance(shard_rows, bool) or not isinstance(shard_rows, int) or shard_rows < 1):
            raise ValueError(
                f"The 'shard_rows' parameter of ArtifactStore.write_table must be None or an int >= 1. "
                f"Got {shard_rows!r} instead."
            )
        ref = self.ref(stage, key)
        if self.exists(ref):
            return ref
        self._check_writable(stage, key)
        if shard_rows is None:
            shard_rows = _default_shard_rows(data)
        schema, windows = iter_table_windows(data, shard_rows)
        num_rows = len(data) if is_hf_dataset(data) else data.num_rows
        num_shards = -(-num_rows // shard_rows)
        # The plan is part of each shard's sidecar: shards of a run with another shard_rows
        # (different row ranges) are never mixed into this artifact.
        writer = ShardedWriter(self, ref, config=config, parents=parents, versions=versions, meta=meta,
                               num_shards=num_shards, schema=schema,
                               plan={"num_shards": num_shards, "shard_rows": shard_rows, "num_rows": num_rows})
        for i, window in enumerate(windows):
            if not writer.has_shard(i):
                writer.write_shard(i, window)
        return writer.commit(schema=schema)

    def delete(self, stage_or_ref: Any, key: str | None = None) -> bool:
        """Delete an artifact: the manifest first (so no reader sees a half-deleted valid
        artifact), then its directory. Returns whether anything was there."""
        ref = self._resolve(stage_or_ref, key)
        d = self._dir(ref)
        if self._backend.info(d) is None:
            return False
        self._backend.rm_file(self._backend.join(d, MANIFEST_NAME))
        self._backend.rm_tree(d)
        return True

    # ---------------------------------------------------------------- reading
    def _shard_paths(self, ref: ArtifactRef, m: dict, verify: bool) -> list[str]:
        """Local paths of the shards, size-checked (and hash-checked with ``verify``)."""
        problems = self._size_problems(ref, m)
        if problems:
            raise self._corrupt(ref, problems)
        d = self._dir(ref)
        if self._backend.local:
            paths = [os.path.join(d, s["name"]) for s in m["shards"]]
            if verify:
                bad = [f"{s['name']}: sha256 mismatch" for s, p in zip(m["shards"], paths)
                       if _sha256_file(self._backend, p) != s["sha256"]]
                if bad:
                    raise self._corrupt(ref, bad)
            return paths
        return [self._cached(ref, self._backend.join(d, s["name"]), s["sha256"], s["bytes"],
                             os.path.join("shards", s["sha256"][:2], s["sha256"] + ".arrow"))
                for s in m["shards"]]

    def _corrupt(self, ref: ArtifactRef, problems: list[str]) -> CorruptArtifactError:
        listed = "; ".join(problems[:5]) + (f"; ... ({len(problems)} problems)" if len(problems) > 5 else "")
        return CorruptArtifactError(
            f"Artifact {self._where(ref)} is corrupt: {listed}. Nothing was read. Delete it "
            f"(`dprune store rm {ref.name}` or `ArtifactStore.delete`) and re-run the stage; "
            "`dprune store verify` checks the whole store."
        )

    def _cached(self, ref: ArtifactRef, remote: str, sha: str, size: int, rel: str) -> str:
        """Copy a remote file into the local cache (keyed by sha256), checking its hash."""
        local = os.path.join(self.cache_dir, rel)
        try:
            if os.path.getsize(local) == size:
                return local
        except FileNotFoundError:
            pass
        os.makedirs(os.path.dirname(local), exist_ok=True)
        tmp = _tmp_name(local)
        h = hashlib.sha256()
        try:
            with self._backend.open_read(remote) as src, open(tmp, "wb") as dst:
                while chunk := src.read(_COPY_CHUNK):
                    h.update(chunk)
                    dst.write(chunk)
            if h.hexdigest() != sha or os.path.getsize(tmp) != size:
                raise self._corrupt(ref, [f"{posixpath.basename(remote)}: sha256 mismatch while copying to the cache"])
            os.replace(tmp, local)
        except BaseException:
            _silent_remove(tmp)
            raise
        return local

    def read(self, stage_or_ref: Any, key: str | None = None, *, verify: bool = False):
        """Open an artifact as a memory-mapped ``datasets.Dataset``.

        Local stores map the shard files in place; other stores copy shards into the local
        cache (checking sha256) and map the copies.

        Parameters
        ----------
        verify : bool
            Also recompute the sha256 of local shards (sizes are always checked).

        Raises
        ------
        ArtifactNotFoundError, CorruptArtifactError
        """
        import datasets

        ref = self._resolve(stage_or_ref, key)
        m = self.manifest(ref)
        paths = self._shard_paths(ref, m, verify)
        try:
            parts = [datasets.Dataset.from_file(p, in_memory=False) for p in paths]
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise self._corrupt(ref, [f"a shard cannot be opened as Arrow IPC ({exc})"]) from exc
        ds = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
        if len(ds) != m["num_rows"]:
            raise self._corrupt(ref, [f"{len(ds)} rows read, manifest says {m['num_rows']}"])
        return ds

    def read_table(self, stage_or_ref: Any, key: str | None = None, *, verify: bool = False) -> pa.Table:
        """Like :meth:`read` but returns a (memory-mapped) ``pyarrow.Table``."""
        ref = self._resolve(stage_or_ref, key)
        m = self.manifest(ref)
        paths = self._shard_paths(ref, m, verify)
        schema = _schema_from_b64(m["schema"]["arrow_b64"])
        tables = []
        try:
            for p in paths:
                with pa.ipc.open_stream(pa.memory_map(p, "r")) as reader:
                    tables.append(_conform(reader.read_all(), schema))
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise self._corrupt(ref, [f"a shard cannot be opened as Arrow IPC ({exc})"]) from exc
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        if table.num_rows != m["num_rows"]:
            raise self._corrupt(ref, [f"{table.num_rows} rows read, manifest says {m['num_rows']}"])
        return table

    def _file_entry(self, ref: ArtifactRef, m: dict, name: str) -> dict:
        for f in m["files"]:
            if f["name"] == name:
                return f
        known = [f["name"] for f in m["files"]]
        raise ArtifactNotFoundError(
            f"Artifact {self._where(ref)} has no file {name!r}; it has {known or 'no files'}."
        )

    def read_file(self, ref: ArtifactRef | str, name: str) -> bytes:
        """Bytes of a file stored with :meth:`ShardedWriter.put_file` (sha256-checked).

        ``ref`` is an ArtifactRef or ``"STAGE/KEY"``."""
        ref = self._resolve(ref, None)
        m = self.manifest(ref)
        f = self._file_entry(ref, m, name)
        try:
            data = self._backend.read_bytes(self._backend.join(self._dir(ref), f["path"]))
        except FileNotFoundError:
            raise self._corrupt(ref, [f"{f['path']}: missing"]) from None
        if len(data) != f["bytes"] or hashlib.sha256(data).hexdigest() != f["sha256"]:
            raise self._corrupt(ref, [f"{f['path']}: content does not match the manifest checksum"])
        return data

    def local_file(self, ref: ArtifactRef | str, name: str, *, verify: bool = False) -> str:
        """Local path of a stored file: in place for local stores, a cached copy otherwise
        (named ``.../<sha256>/<name>`` so the extension is kept). Do not modify it."""
        ref = self._resolve(ref, None)
        m = self.manifest(ref)
        f = self._file_entry(ref, m, name)
        remote = self._backend.join(self._dir(ref), f["path"])
        if self._backend.local:
            e = self._backend.info(remote)
            if e is None or e.size != f["bytes"]:
                raise self._corrupt(ref, [f"{f['path']}: missing or wrong size"])
            if verify and _sha256_file(self._backend, remote) != f["sha256"]:
                raise self._corrupt(ref, [f"{f['path']}: sha256 mismatch"])
            return remote
        return self._cached(ref, remote, f["sha256"], f["bytes"], os.path.join("files", f["sha256"], name))

    # ---------------------------------------------------------------- inventory
    def _iter_dirs(self, stage: str | None = None) -> Iterable[ArtifactRef]:
        stages = [stage] if stage is not None else sorted(
            n for n, e in self._backend.listdir(self._path).items() if e.is_dir and _NAME_RE.match(n)
        )
        for s in stages:
            _check_name("stage", s)
            for k, e in sorted(self._backend.listdir(self._backend.join(self._path, s)).items()):
                if e.is_dir and _NAME_RE.match(k):
                    yield ArtifactRef(self.root, s, k)

    def _dir_summary(self, ref: ArtifactRef) -> tuple[int, float | None]:
        """Total bytes and newest mtime of an artifact directory (two levels deep)."""
        d = self._dir(ref)
        total, newest = 0, None
        for sub in ("", INDEX_DIR, FILES_DIR):
            listing = self._backend.listdir(self._backend.join(d, sub) if sub else d)
            for e in listing.values():
                if not e.is_dir:
                    total += e.size
                if e.mtime is not None:
                    newest = e.mtime if newest is None else max(newest, e.mtime)
        return total, newest

    def ls(self, stage: str | None = None) -> list[dict]:
        """Every artifact directory, complete or not.

        Returns
        -------
        list of dict
            ``stage``, ``key``, ``status`` (``"complete"``, ``"partial"`` - no manifest yet,
            ``"invalid"`` - unreadable manifest), ``complete`` (bool), ``rows``, ``shards``,
            ``bytes`` and ``created`` (ISO time; for partial ones the newest file time).
        """
        out = []
        for ref in self._iter_dirs(stage):
            status, m, why = self._load_manifest(ref)
            row = {"stage": ref.stage, "key": ref.key, "status": "complete" if status == "ok" else
                   "partial" if status == "missing" else "invalid", "complete": status == "ok"}
            if m is not None:
                row.update(rows=m["num_rows"], shards=len(m["shards"]), created=m["created"],
                           bytes=sum(s["bytes"] for s in m["shards"]) + sum(f["bytes"] for f in m["files"]))
            else:
                size, mtime = self._dir_summary(ref)
                created = (_dt.datetime.fromtimestamp(mtime, _dt.timezone.utc).isoformat(timespec="seconds")
                           .replace("+00:00", "Z") if mtime is not None else None)
                row.update(rows=None, shards=None, bytes=size, created=created)
                if why and status == "invalid":
                    row["problem"] = why
            out.append(row)
        return out

    def verify(self, stage_or_ref: Any = None, key: str | None = None) -> list[str]:
        """Recompute every checksum; return a list of problems (empty when all is well).

        Without arguments, checks every artifact that has a manifest (manifest-less partial
        directories are not artifacts and are not reported; see :meth:`gc`).
        """
        if stage_or_ref is None:
            refs = [r for r in self._iter_dirs() if self._load_manifest(r)[0] != "missing"]
        else:
            refs = [self._resolve(stage_or_ref, key)]
        problems = []
        for ref in refs:
            status, m, why = self._load_manifest(ref)
            if status == "missing":
                problems.append(f"{ref.name}: does not exist in {self.root} (no manifest)")
                continue
            if status == "invalid":
                problems.append(f"{ref.name}: invalid manifest: {why}")
                continue
            d = self._dir(ref)
            for entry, rel in [(s, s["name"]) for s in m["shards"]] + [(f, f["path"]) for f in m["files"]]:
                path = self._backend.join(d, *rel.split("/"))
                e = self._backend.info(path)
                if e is None:
                    problems.append(f"{ref.name}: {rel}: missing")
                elif e.size != entry["bytes"]:
                    problems.append(f"{ref.name}: {rel}: {e.size} bytes, manifest says {entry['bytes']}")
                elif _sha256_file(self._backend, path) != entry["sha256"]:
                    problems.append(f"{ref.name}: {rel}: sha256 mismatch (content changed or corrupted)")
        return problems

    def gc(
        self,
        *,
        partial: bool = True,
        keep: Iterable[Any] | None = None,
        older_than: float | _dt.timedelta | None = None,
        dry_run: bool = False,
    ) -> list[str]:
        """Remove what no reader can use.

        * directories without a valid manifest (killed or running writers!) when ``partial``;
        * temporary files and shard/file payloads not referenced by the manifest inside
          complete artifacts (left by killed or losing concurrent writers);
        * with ``keep``: every complete artifact that is neither in ``keep`` nor a
          (transitive) parent of one of them.

        Parameters
        ----------
        partial : bool
            Remove manifest-less directories.
        keep : iterable of ArtifactRef or 'STAGE/KEY', optional
            Artifacts to keep; enables deleting all other complete artifacts.
        older_than : float seconds or timedelta, optional
            Only touch things whose newest file is older than this. Use it when writers may
            be running: a partial directory of a live writer looks like a killed one.
        dry_run : bool
            Only report what would be removed.

        Returns
        -------
        list of str
            ``"stage/key"`` for removed artifact directories, ``"stage/key/name"`` for files.
        """
        if isinstance(older_than, _dt.timedelta):
            older_than = older_than.total_seconds()
        cutoff = None if older_than is None else time.time() - float(older_than)

        def old_enough(mtime: float | None) -> bool:
            return cutoff is None or (mtime is not None and mtime <= cutoff)

        refs = list(self._iter_dirs())
        manifests = {}
        for ref in refs:
            status, m, _ = self._load_manifest(ref)
            manifests[ref.name] = m
        keep_names: set[str] | None = None
        if keep is not None:
            keep_names = set()
            todo = [self._resolve(k, None).name for k in keep]
            while todo:
                name = todo.pop()
                if name in keep_names:
                    continue
                keep_names.add(name)
                m = manifests.get(name)
                for p in (m or {}).get("parents", []):
                    todo.append(f"{p['stage']}/{p['key']}")
        removed = []
        for ref in refs:
            m = manifests[ref.name]
            d = self._dir(ref)
            if m is None or (keep_names is not None and ref.name not in keep_names):
                if m is None and not partial:
                    continue
                if m is None:
                    _, mtime = self._dir_summary(ref)
                else:
                    mtime = _iso_to_ts(m.get("created"))
                if not old_enough(mtime):
                    continue
                removed.append(ref.name)
                if not dry_run:
                    self.delete(ref)
                continue
            referenced = {s["name"] for s in m["shards"]} | {MANIFEST_NAME, INDEX_DIR, FILES_DIR}
            referenced_files = {posixpath.basename(f["path"]) for f in m["files"]}
            for sub, names_ok in (("", referenced), (INDEX_DIR, None), (FILES_DIR, referenced_files)):
                base = self._backend.join(d, sub) if sub else d
                for name, e in self._backend.listdir(base).items():
                    stray = _TMP_RE.search(name) is not None or (names_ok is not None and name not in names_ok)
                    if stray and not e.is_dir and old_enough(e.mtime):
                        removed.append(f"{ref.name}/{sub + '/' if sub else ''}{name}")
                        if not dry_run:
                            self._backend.rm_file(self._backend.join(base, name))
        return removed


def _iso_to_ts(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _sha256_file(backend: Any, path: str) -> str:
    h = hashlib.sha256()
    with backend.open_read(path) as f:
        while chunk := f.read(_COPY_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _default_shard_rows(data: Any) -> int:
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        nbytes, nrows = data.nbytes, data.num_rows
    elif is_hf_dataset(data):
        nbytes, nrows = data.data.nbytes, data.data.num_rows
    else:
        return 1 << 20
    if nrows == 0 or nbytes == 0:
        return 1 << 20
    return max(1, int(TARGET_SHARD_BYTES // max(1.0, nbytes / nrows)))


def _manifest_problem(m: Any, ref: ArtifactRef) -> str:
    """Why ``m`` is not a usable manifest for ``ref`` ('' when it is)."""
    if not isinstance(m, dict):
        return "manifest is not a JSON object"
    if m.get("format") != MANIFEST_FORMAT:
        return f"unknown manifest format {m.get('format')!r}"
    if m.get("format_version") not in SUPPORTED_FORMAT_VERSIONS:
        return (f"manifest format version {m.get('format_version')!r} is not supported by this dprune "
                f"(supported: {sorted(SUPPORTED_FORMAT_VERSIONS)}); upgrade dprune or re-run the stage")
    if m.get("stage") != ref.stage or m.get("key") != ref.key:
        return f"manifest is for {m.get('stage')}/{m.get('key')}, not {ref.name}"
    shards, files = m.get("shards"), m.get("files")
    if not isinstance(shards, list) or not shards or not isinstance(files, list):
        return "manifest has no shard list"
    for s in shards:
        if not (isinstance(s, dict) and isinstance(s.get("name"), str) and _SHARD_RE.match(s["name"])
                and isinstance(s.get("rows"), int) and isinstance(s.get("bytes"), int)
                and isinstance(s.get("sha256"), str) and len(s["sha256"]) == 64):
            return f"bad shard entry {s!r}"
    for f in files:
        if not (isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("path"), str)
                and _FILE_PATH_RE.match(f["path"]) and isinstance(f.get("bytes"), int)
                and isinstance(f.get("sha256"), str) and len(f["sha256"]) == 64):
            return f"bad file entry {f!r}"
    if m.get("num_rows") != sum(s["rows"] for s in shards):
        return "num_rows does not match the shard row counts"
    schema = m.get("schema")
    if not isinstance(schema, dict) or not isinstance(schema.get("arrow_b64"), str):
        return "manifest has no schema"
    return ""


# --------------------------------------------------------------------------- writer
class ShardedWriter:
    """Writes the shards of one artifact; see :meth:`ArtifactStore.open_writer`.

    Each :meth:`write_shard` is atomic and recorded by a sidecar, so shards written by a
    killed run are reused; :meth:`commit` writes the manifest last.
    """

    def __init__(self, store: ArtifactStore, ref: ArtifactRef, *, config: Any, parents: Iterable[Any],
                 versions: Mapping[str, Any] | None, meta: Mapping[str, Any] | None,
                 num_shards: int | None, schema: pa.Schema | None, plan: Mapping[str, Any] | None = None):
        if num_shards is not None and (isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards < 0):
            raise ValueError(
                f"The 'num_shards' parameter of ArtifactStore.open_writer must be None or an int >= 0. "
                f"Got {num_shards!r} instead."
            )
        if schema is not None and not isinstance(schema, pa.Schema):
            raise TypeError(f"The 'schema' parameter of ArtifactStore.open_writer must be a pyarrow.Schema. "
                            f"Got {type(schema).__name__} instead.")
        self.store = store
        self.ref = ref
        self.num_shards = num_shards
        self._config = normalize_config(config)
        self._parents = [store._parent_dict(p, i) for i, p in enumerate(parents)]
        self._versions = {**_default_versions(), **normalize_config(dict(versions or {}))}
        self._meta = normalize_config(dict(meta or {}))
        self._schema = schema
        if plan is None:
            plan = {"num_shards": num_shards} if num_shards is not None else {}
        self._plan = normalize_config(dict(plan))
        self._b = store._backend
        self._dir = store._dir(ref)
        self._index = self._b.join(self._dir, INDEX_DIR)
        self._complete = store.exists(ref)

    @property
    def complete(self) -> bool:
        """True when the artifact is already committed (writes become no-ops)."""
        return self._complete

    def _shard_count_hint(self, n: int | None) -> int:
        n = self.num_shards if n is None else n
        if n is None:
            raise ValueError("Pass the number of shards (n) or open the writer with num_shards.")
        return n

    def _check_index(self, i: Any) -> int:
        if isinstance(i, bool) or not isinstance(i, int) or i < 0:
            raise ValueError(f"Shard index must be an int >= 0; got {i!r}.")
        if self.num_shards is not None and i >= self.num_shards:
            raise ValueError(f"Shard index {i} is out of range: the writer was opened with num_shards={self.num_shards}.")
        return i

    # ------------------------------------------------------------ sidecars
    def _read_sidecar(self, name: str) -> dict | None:
        try:
            raw = self._b.read_bytes(self._b.join(self._index, name))
            sc = json.loads(raw.decode("utf-8"))
        except (FileNotFoundError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return sc if isinstance(sc, dict) else None

    def _valid_shard_sidecar(self, i: int, sc: dict | None, listing: Mapping[str, _Entry]) -> bool:
        if not sc or sc.get("index") != i or not isinstance(sc.get("name"), str):
            return False
        mt = _SHARD_RE.match(sc["name"])
        if not mt or int(mt.group(1)) != i or not isinstance(sc.get("sha256"), str) \
                or not sc["sha256"].startswith(mt.group(2)) or not isinstance(sc.get("schema"), str):
            return False
        if sc.get("plan") != self._plan:  # written under another sharding plan
            return False
        e = listing.get(sc["name"])
        return e is not None and not e.is_dir and e.size == sc.get("bytes")

    def _committed_shards(self) -> dict[int, dict]:
        """Index -> sidecar of every shard whose sidecar and file agree."""
        listing = self._b.listdir(self._dir)
        out = {}
        for name in self._b.listdir(self._index):
            mt = _SIDECAR_SHARD_RE.match(name)
            if mt:
                i = int(mt.group(1))
                sc = self._read_sidecar(name)
                if self._valid_shard_sidecar(i, sc, listing):
                    out[i] = sc
        return out

    # ------------------------------------------------------------ shards
    def has_shard(self, i: int) -> bool:
        """True when shard ``i`` is committed (sidecar present, file with the recorded size)."""
        i = self._check_index(i)
        if self._complete:
            return True
        sc = self._read_sidecar(f"shard-{i:05d}.json")
        name = sc.get("name") if sc else None
        if not isinstance(name, str) or not _SHARD_RE.match(name):
            return False
        e = self._b.info(self._b.join(self._dir, name))
        return self._valid_shard_sidecar(i, sc, {name: e} if e is not None else {})

    def missing_shards(self, n: int | None = None) -> list[int]:
        """Indices in ``0..n-1`` not yet committed (``n`` defaults to ``num_shards``)."""
        n = self._shard_count_hint(n)
        if self._complete:
            return []
        done = self._committed_shards()
        return [i for i in range(n) if i not in done]

    def write_shard(self, i: int, data: Any) -> dict:
        """Atomically write shard ``i`` (a Table, RecordBatch or Dataset) and its sidecar.

        Returns
        -------
        dict
            The sidecar: ``index``, ``name``, ``rows``, ``bytes``, ``sha256``.

        Raises
        ------
        SchemaMismatchError
            When the shard's columns differ from the writer's schema (the ``schema`` given
            to ``open_writer`` or the first shard's).
        """
        i = self._check_index(i)
        if self._complete:
            for s in self.store.manifest(self.ref)["shards"]:
                if s.get("index") == i:
                    return dict(s)
            return {"index": i}
        table = _to_table(data)
        if self._schema is None:
            known = next(iter(self._committed_shards().values()), None)
            self._schema = _schema_from_b64(known["schema"]) if known else table.schema
        if not table.schema.equals(self._schema, check_metadata=False):
            raise SchemaMismatchError(
                f"Shard {i} of {self.store._where(self.ref)} does not match the artifact schema: "
                f"{_schema_diff(self._schema, table.schema)}. Every shard of one artifact must have "
                "the same columns and types; cast the shard (table.cast(schema)) before writing."
            )
        table = _conform(table, self._schema)
        buf = _serialize_shard(table)
        sha = hashlib.sha256(buf).hexdigest()
        name = f"shard-{i:05d}-{sha[:16]}.arrow"
        path = self._b.join(self._dir, name)
        existing = self._b.info(path)
        if existing is None or existing.size != buf.size:  # identical bytes already there: keep them
            self._b.write_atomic(path, buf)
        sidecar = {"format_version": FORMAT_VERSION, "index": i, "name": name, "rows": table.num_rows,
                   "bytes": buf.size, "sha256": sha, "schema": _schema_b64(self._schema), "plan": self._plan}
        self._b.write_atomic(self._b.join(self._index, f"shard-{i:05d}.json"), _json_bytes(sidecar))
        return {k: sidecar[k] for k in ("index", "name", "rows", "bytes", "sha256")}

    def put_file(self, name: str, data: bytes | bytearray | memoryview | str | os.PathLike) -> dict:
        """Store a non-tabular payload (model binary, ``.npy`` centroids, ...) in the artifact.

        Parameters
        ----------
        name : str
            File name, kept as the suffix of the stored path (so the extension survives).
        data : bytes-like or local path
            Bytes are written as is; a ``str``/``PathLike`` is a local file to copy.

        Returns
        -------
        dict
            ``name``, ``path``, ``bytes``, ``sha256`` (also recorded in the manifest).
        """
        _check_name("file name", name)
        if self._complete:
            m = self.store.manifest(self.ref)
            return self.store._file_entry(self.ref, m, name)
        if isinstance(data, (bytes, bytearray, memoryview)):
            payload = bytes(data)
            sha, size, src = hashlib.sha256(payload).hexdigest(), len(payload), None
        elif isinstance(data, (str, os.PathLike)):
            src = os.fspath(data)
            if not os.path.isfile(src):
                raise FileNotFoundError(f"put_file({name!r}): {src} is not a local file. Pass bytes or a file path.")
            sha, size, payload = _sha256_file(_LocalBackend(), src), os.path.getsize(src), None
        else:
            raise TypeError(f"put_file({name!r}) expects bytes or a local file path; got {type(data).__name__}.")
        rel = f"{FILES_DIR}/{sha[:16]}-{name}"
        path = self._b.join(self._dir, FILES_DIR, f"{sha[:16]}-{name}")
        existing = self._b.info(path)
        if existing is None or existing.size != size:
            if payload is not None:
                self._b.write_atomic(path, payload)
            else:
                self._b.put_atomic(src, path, size)
        entry = {"name": name, "path": rel, "bytes": size, "sha256": sha}
        self._b.write_atomic(self._b.join(self._index, f"file-{name}.json"),
                             _json_bytes({"format_version": FORMAT_VERSION, **entry}))
        return entry

    def _committed_files(self) -> list[dict]:
        files_listing = self._b.listdir(self._b.join(self._dir, FILES_DIR))
        out = []
        for sname in sorted(self._b.listdir(self._index)):
            mt = _SIDECAR_FILE_RE.match(sname)
            if not mt:
                continue
            sc = self._read_sidecar(sname)
            if not sc or sc.get("name") != mt.group(1) or not isinstance(sc.get("path"), str) \
                    or not _FILE_PATH_RE.match(sc["path"]):
                continue
            e = files_listing.get(posixpath.basename(sc["path"]))
            if e is None or e.size != sc.get("bytes"):
                continue
            out.append({k: sc[k] for k in ("name", "path", "bytes", "sha256")})
        return out

    # ------------------------------------------------------------ commit
    def commit(self, schema: pa.Schema | None = None) -> ArtifactRef:
        """Check every shard and write the manifest (atomically, last).

        Parameters
        ----------
        schema : pyarrow.Schema, optional
            Expected schema; required when no shard was written (an empty artifact).

        Raises
        ------
        IncompleteArtifactError
            A shard in ``0..num_shards-1`` is missing.
        SchemaMismatchError
            Shards disagree on the schema.
        """
        if self._complete or self.store.exists(self.ref):
            self._complete = True
            return self.ref
        schema = schema if schema is not None else self._schema
        done = self._committed_shards()
        n = self.num_shards if self.num_shards is not None else (max(done) + 1 if done else 0)
        if n == 0:
            if schema is None:
                raise IncompleteArtifactError(
                    f"Cannot commit {self.store._where(self.ref)}: no shard was written and no schema "
                    "was given. Write shards with write_shard(i, table) or pass commit(schema=...) for "
                    "an empty artifact."
                )
            self.num_shards = 1
            done[0] = self._read_sidecar_after(self.write_shard(0, schema.empty_table()))
            n = 1
        missing = [i for i in range(n) if i not in done]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise IncompleteArtifactError(
                f"Cannot commit {self.store._where(self.ref)}: {len(missing)} of {n} shards are missing "
                f"({shown}). Write them with write_shard(i, table) (missing_shards() lists them), then commit."
            )
        shards = [done[i] for i in range(n)]
        reference = schema if schema is not None else _schema_from_b64(shards[0]["schema"])
        for sc in shards:
            got = _schema_from_b64(sc["schema"])
            if not got.equals(reference, check_metadata=False):
                raise SchemaMismatchError(
                    f"Cannot commit {self.store._where(self.ref)}: shard {sc['index']} does not match the "
                    f"artifact schema: {_schema_diff(reference, got)}. Rewrite that shard with the same "
                    "columns and types."
                )
        stored_schema = _schema_from_b64(shards[0]["schema"])
        created, created_unix = _now()
        manifest = {
            "format": MANIFEST_FORMAT,
            "format_version": FORMAT_VERSION,
            "stage": self.ref.stage,
            "key": self.ref.key,
            "config": self._config,
            "parents": self._parents,
            "versions": self._versions,
            "meta": self._meta,
            "schema": {"text": stored_schema.remove_metadata().to_string(show_schema_metadata=False),
                       "arrow_b64": _schema_b64(stored_schema)},
            "num_rows": sum(sc["rows"] for sc in shards),
            "shards": [{k: sc[k] for k in ("index", "name", "rows", "bytes", "sha256")} for sc in shards],
            "files": self._committed_files(),
            "created": created,
            "created_unix": created_unix,
        }
        self._b.write_atomic(self._b.join(self._dir, MANIFEST_NAME), _json_bytes(manifest, indent=2), sync_dir=True)
        self._complete = True
        return self.ref

    def _read_sidecar_after(self, info: dict) -> dict:
        sc = self._read_sidecar(f"shard-{info['index']:05d}.json")
        if sc is None:  # pragma: no cover - just written
            raise IncompleteArtifactError(f"Sidecar of shard {info['index']} vanished while committing.")
        return sc
