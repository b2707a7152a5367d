"""The sharded writer: one artifact's shards and files, each committed atomically, then the manifest."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import tempfile
import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dprune.core.fingerprint import normalize_config
from dprune.store import checksums
from dprune.store.backends import Entry, LocalBackend, silent_remove, tmp_name
from dprune.store.errors import IncompleteArtifactError, SchemaMismatchError
from dprune.store.layout import (
    FILE_PATH_RE,
    FILES_DIR,
    FORMAT_VERSION,
    INDEX_DIR,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    SHARD_RE,
    SIDECAR_FILE_RE,
    SIDECAR_SHARD_RE,
    default_versions,
    json_bytes,
    now_utc,
    schema_b64,
    schema_from_b64,
)
from dprune.store.leases import Lease
from dprune.store.refs import ArtifactRef, check_name
from dprune.store.tables import conform, schema_diff, to_table, write_shard_file

if TYPE_CHECKING:
    from dprune.store.artifacts import ArtifactStore

__all__ = ["ShardedWriter"]


class ShardedWriter:
    """Writes the shards of one artifact; see :meth:`ArtifactStore.open_writer`.

    Each :meth:`write_shard` is atomic and recorded by a sidecar, so shards written by a
    killed run are reused (only when their sha256 still matches); :meth:`commit` writes the
    manifest last. From its first write until :meth:`commit` or :meth:`close` the writer
    holds a lease on the artifact folder, which ``gc`` respects. Usable as a context manager.
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
        self._parents = [store.parent_dict(p, i) for i, p in enumerate(parents)]
        self._versions = {**default_versions(), **normalize_config(dict(versions or {}))}
        self._meta = normalize_config(dict(meta or {}))
        self._schema = schema
        if plan is None:
            plan = {"num_shards": num_shards} if num_shards is not None else {}
        self._plan = normalize_config(dict(plan))
        self._b = store.backend
        self._dir = store.artifact_dir(ref)
        self._index = self._b.join(self._dir, INDEX_DIR)
        self._complete = store.exists(ref)
        self._lease: Lease | None = None
        self._release = None
        if not self._complete:
            self._claim()

    @property
    def complete(self) -> bool:
        """True when the artifact is already committed (writes become no-ops)."""
        return self._complete

    def __enter__(self) -> ShardedWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release the writer's lease (shards written so far stay, for a later resume)."""
        if self._release is not None:
            self._release()
            self._release = None
            self._lease = None

    def _claim(self) -> None:
        """Take the lease before the first write (the folder is then live for ``gc``)."""
        if self._lease is None:
            self.store.init()
            self._lease = Lease(self._b, self._dir)
            self._release = weakref.finalize(self, self._lease.release)

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

    def _intact(self, rel: str, sha: str) -> bool:
        """Whether the stored file ``rel`` still holds the bytes of hash ``sha``; a file that
        does not is quarantined (with its sidecar) so it is written again."""
        path = self._b.join(self._dir, *rel.split("/"))
        try:
            if checksums.matches(self._b, path, sha):
                return True
        except FileNotFoundError:
            return False
        self.store.quarantine(self.ref, None, [rel])
        return False

    def _valid_shard_sidecar(self, i: int, sc: dict | None, listing: Mapping[str, Entry]) -> bool:
        if not sc or sc.get("index") != i or not isinstance(sc.get("name"), str):
            return False
        mt = SHARD_RE.match(sc["name"])
        if not mt or int(mt.group(1)) != i or not isinstance(sc.get("sha256"), str) \
                or not sc["sha256"].startswith(mt.group(2)) or not isinstance(sc.get("schema"), str):
            return False
        if sc.get("plan") != self._plan:  # written under another sharding plan
            return False
        e = listing.get(sc["name"])
        if e is None:  # a concurrent writer may have written the file after the listing was taken
            e = self._b.info(self._b.join(self._dir, sc["name"]))
        if e is None or e.is_dir or e.size != sc.get("bytes"):
            return False
        return self._intact(sc["name"], sc["sha256"])

    def _committed_shards(self) -> dict[int, dict]:
        """Index -> sidecar of every shard whose sidecar and file (size and sha256) agree."""
        listing = self._b.listdir(self._dir)
        out = {}
        for name in self._b.listdir(self._index):
            mt = SIDECAR_SHARD_RE.match(name)
            if mt:
                i = int(mt.group(1))
                sc = self._read_sidecar(name)
                if self._valid_shard_sidecar(i, sc, listing):
                    out[i] = sc
        return out

    # ------------------------------------------------------------ shards
    def has_shard(self, i: int) -> bool:
        """True when shard ``i`` is committed (sidecar present, file with the recorded size and sha256)."""
        i = self._check_index(i)
        if self._complete:
            return True
        sc = self._read_sidecar(f"shard-{i:05d}.json")
        name = sc.get("name") if sc else None
        if not isinstance(name, str) or not SHARD_RE.match(name):
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

    def _put_bytes(self, rel: str, payload: Any, sha: str, size: int, src: str | None = None,
                   move: bool = False) -> None:
        """Write a content-named file unless identical bytes are already there (proved by sha256).

        The bytes are ``payload``, or the local file ``src`` (renamed into place with ``move``).
        """
        path = self._b.join(self._dir, *rel.split("/"))
        existing = self._b.info(path)
        if existing is not None and existing.size == size:
            try:
                if checksums.matches(self._b, path, sha):
                    return
            except FileNotFoundError:
                pass
        if src is None:
            self._b.write_atomic(path, payload)
        else:
            self._b.put_atomic(src, path, size, move=move)
        checksums.remember(self._b, path, sha)

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
        self._claim()
        table = to_table(data)
        if self._schema is None:
            known = next(iter(self._committed_shards().values()), None)
            self._schema = schema_from_b64(known["schema"]) if known else table.schema
        if not table.schema.equals(self._schema, check_metadata=False):
            raise SchemaMismatchError(
                f"Shard {i} of {self.store.where(self.ref)} does not match the artifact schema: "
                f"{schema_diff(self._schema, table.schema)}. Every shard of one artifact must have "
                "the same columns and types; cast the shard (table.cast(schema)) before writing."
            )
        table = conform(table, self._schema)
        # Written to a local file first (next to the shard on a local store), so the serialized shard is
        # never a second copy of the table in memory; then hashed, and renamed (or uploaded) into place.
        spool = tmp_name(self._b.join(self._dir, f"shard-{i:05d}.arrow") if self._b.local
                         else os.path.join(tempfile.gettempdir(), f"dprune-shard-{i:05d}.arrow"))
        try:
            size = write_shard_file(table, spool)
            sha = checksums.file_sha256(LocalBackend(), spool)
            name = f"shard-{i:05d}-{sha[:16]}.arrow"
            self._put_bytes(name, None, sha, size, spool, move=True)
        finally:
            silent_remove(spool)
        sidecar = {"format_version": FORMAT_VERSION, "index": i, "name": name, "rows": table.num_rows,
                   "bytes": size, "sha256": sha, "schema": schema_b64(self._schema), "plan": self._plan}
        self._b.write_atomic(self._b.join(self._index, f"shard-{i:05d}.json"), json_bytes(sidecar))
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
        check_name("file name", name)
        if self._complete:
            m = self.store.manifest(self.ref)
            return self.store.file_entry(self.ref, m, name)
        if isinstance(data, (bytes, bytearray, memoryview)):
            payload = bytes(data)
            sha, size, src = hashlib.sha256(payload).hexdigest(), len(payload), None
        elif isinstance(data, (str, os.PathLike)):
            src = os.fspath(data)
            if not os.path.isfile(src):
                raise FileNotFoundError(f"put_file({name!r}): {src} is not a local file. Pass bytes or a file path.")
            sha, size, payload = checksums.file_sha256(LocalBackend(), src), os.path.getsize(src), None
        else:
            raise TypeError(f"put_file({name!r}) expects bytes or a local file path; got {type(data).__name__}.")
        self._claim()
        rel = f"{FILES_DIR}/{sha[:16]}-{name}"
        self._put_bytes(rel, payload, sha, size, src)
        entry = {"name": name, "path": rel, "bytes": size, "sha256": sha}
        self._b.write_atomic(self._b.join(self._index, f"file-{name}.json"),
                             json_bytes({"format_version": FORMAT_VERSION, **entry}))
        return entry

    def _committed_files(self) -> list[dict]:
        files_listing = self._b.listdir(self._b.join(self._dir, FILES_DIR))
        out = []
        for sname in sorted(self._b.listdir(self._index)):
            mt = SIDECAR_FILE_RE.match(sname)
            if not mt:
                continue
            sc = self._read_sidecar(sname)
            if not sc or sc.get("name") != mt.group(1) or not isinstance(sc.get("path"), str) \
                    or not FILE_PATH_RE.match(sc["path"]) or not isinstance(sc.get("sha256"), str):
                continue
            e = files_listing.get(posixpath.basename(sc["path"]))
            if e is None or e.size != sc.get("bytes") or not self._intact(sc["path"], sc["sha256"]):
                continue
            out.append({k: sc[k] for k in ("name", "path", "bytes", "sha256")})
        return out

    # ------------------------------------------------------------ commit
    def commit(self, schema: pa.Schema | None = None) -> ArtifactRef:
        """Check every shard (size and sha256) and write the manifest (atomically, last).

        Parameters
        ----------
        schema : pyarrow.Schema, optional
            Expected schema; required when no shard was written (an empty artifact).

        Raises
        ------
        IncompleteArtifactError
            A shard in ``0..num_shards-1`` is missing (or was found corrupt and quarantined).
        SchemaMismatchError
            Shards disagree on the schema.
        """
        if self._complete or self.store.exists(self.ref):
            self._complete = True
            self.close()
            return self.ref
        self._claim()
        schema = schema if schema is not None else self._schema
        done = self._committed_shards()
        n = self.num_shards if self.num_shards is not None else (max(done) + 1 if done else 0)
        if n == 0:
            if schema is None:
                raise IncompleteArtifactError(
                    f"Cannot commit {self.store.where(self.ref)}: no shard was written and no schema "
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
                f"Cannot commit {self.store.where(self.ref)}: {len(missing)} of {n} shards are missing "
                f"({shown}). Write them with write_shard(i, table) (missing_shards() lists them), then commit."
            )
        shards = [done[i] for i in range(n)]
        reference = schema if schema is not None else schema_from_b64(shards[0]["schema"])
        for sc in shards:
            got = schema_from_b64(sc["schema"])
            if not got.equals(reference, check_metadata=False):
                raise SchemaMismatchError(
                    f"Cannot commit {self.store.where(self.ref)}: shard {sc['index']} does not match the "
                    f"artifact schema: {schema_diff(reference, got)}. Rewrite that shard with the same "
                    "columns and types."
                )
        stored_schema = schema_from_b64(shards[0]["schema"])
        created, created_unix = now_utc()
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
                       "arrow_b64": schema_b64(stored_schema)},
            "num_rows": sum(sc["rows"] for sc in shards),
            "shards": [{k: sc[k] for k in ("index", "name", "rows", "bytes", "sha256")} for sc in shards],
            "files": self._committed_files(),
            "created": created,
            "created_unix": created_unix,
        }
        self._b.write_atomic(self._b.join(self._dir, MANIFEST_NAME), json_bytes(manifest, indent=2), sync_dir=True)
        self._complete = True
        self.close()
        return self.ref

    def _read_sidecar_after(self, info: dict) -> dict:
        sc = self._read_sidecar(f"shard-{info['index']:05d}.json")
        if sc is None:  # pragma: no cover - just written
            raise IncompleteArtifactError(f"Sidecar of shard {info['index']} vanished while committing.")
        return sc
