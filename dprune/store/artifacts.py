"""The artifact store: naming, manifests, reading with checksums, writing whole tables.

Protocol:

* every file is written to a unique temporary name and renamed over its final name
  (``os.replace`` locally, write + ``mv`` + size check on other fsspec filesystems);
* a shard counts as committed only once its sidecar exists and the file it names has
  the recorded size and checksum, so a killed run resumes at the first missing shard;
* shard and payload file names carry a prefix of their sha256, so a sidecar always
  points at the exact bytes it describes, even when two writers race on one key with
  non-deterministic outputs (the loser's file is an orphan that ``gc`` removes);
* ``manifest.json`` is written last, atomically, after every shard is checked; it is the
  only thing readers trust. Deleting removes the manifest first;
* every shard and file is checked against its sha256 before it is used (at most once per
  process while the file is unchanged, see :mod:`dprune.store.checksums`); a mismatch
  moves the bad files and the manifest to ``_quarantine/``, so the stage recomputes only
  what was bad.

The store reads and writes only Arrow IPC and JSON (plus the opaque files handed to
:meth:`ShardedWriter.put_file`); it never unpickles.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import posixpath
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa

from dprune.core.base import take_in_order
from dprune.core.fingerprint import is_hf_dataset, iter_table_windows
from dprune.store import checksums, maintenance
from dprune.store.backends import COPY_CHUNK, LocalBackend, open_backend, silent_remove, tmp_name
from dprune.store.errors import (
    ArtifactNotFoundError,
    CorruptArtifactError,
    NotAStoreError,
    ReuseOnlyError,
)
from dprune.store.layout import (
    FILES_DIR,
    FILE_PATH_RE,
    INDEX_DIR,
    MANIFEST_NAME,
    MARKER_FORMAT,
    MARKER_NAME,
    QUARANTINE_DIR,
    json_bytes,
    manifest_problem,
    now_utc,
    schema_from_b64,
    sidecar_name,
)
from dprune.store.refs import NAME_RE, ArtifactRef, check_name
from dprune.store.tables import conform, default_shard_rows
from dprune.store.writer import ShardedWriter

__all__ = ["ArtifactStore", "default_cache_dir"]

logger = logging.getLogger("dprune.store")


def default_cache_dir() -> str:
    """Local cache for shards copied from non-local stores: ``$DPRUNE_STORE_CACHE`` or ``~/.cache/dprune/store``."""
    env = os.environ.get("DPRUNE_STORE_CACHE")
    return os.path.abspath(os.path.expanduser(env or os.path.join("~", ".cache", "dprune", "store")))


class ArtifactStore:
    """Content-addressed store of Arrow artifacts under ``{root}/{stage}/{key}/``.

    Parameters
    ----------
    root : str, os.PathLike or (str, dict)
        Local path or any fsspec URL (``file://``, ``memory://``, ``s3://`` ...), or a
        ``(url, storage_options)`` pair. The first write marks the folder as a store
        (``.dprune-store.json``); a folder that holds other files is refused.
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
        #: The fsspec filesystem, the root's path on it, and the backend that writes atomically.
        self.fs, self.path, self.root, self.backend = open_backend(root, self.storage_options)
        self.cache_dir = os.path.abspath(os.path.expanduser(cache_dir)) if cache_dir else default_cache_dir()
        self._marked = False

    def __repr__(self) -> str:
        return f"ArtifactStore({self.root!r})"

    @property
    def is_local(self) -> bool:
        """True when the root is on the local filesystem (shards are memory-mapped in place)."""
        return self.backend.local

    # ---------------------------------------------------------------- the root
    def _marker_path(self) -> str:
        return self.backend.join(self.path, MARKER_NAME)

    def is_store(self) -> bool:
        """True when the root holds the store marker (or an unmarked store of an older dPrune)."""
        if self._marked or self.backend.info(self._marker_path()) is not None:
            return True
        return bool(self.backend.listdir(self.path)) and not self._foreign_entries()

    def _foreign_entries(self) -> list[str]:
        """Entries of the root that a store would not hold (empty for a store without a marker)."""
        foreign = []
        for name, e in sorted(self.backend.listdir(self.path).items()):
            if name.startswith(".") or name == QUARANTINE_DIR:
                continue
            if not (e.is_dir and NAME_RE.match(name)):
                foreign.append(name)
                continue
            stage_dir = self.backend.join(self.path, name)
            for key, ke in self.backend.listdir(stage_dir).items():
                inside = self.backend.listdir(self.backend.join(stage_dir, key)) if ke.is_dir else {}
                if not (ke.is_dir and NAME_RE.match(key) and (MANIFEST_NAME in inside or INDEX_DIR in inside)):
                    foreign.append(f"{name}/{key}")
        return foreign

    def init(self) -> None:
        """Create the root if needed and mark it as a store (idempotent).

        Raises
        ------
        NotAStoreError
            The root is a file, or a folder holding files that are not artifacts.
        """
        if self._marked:
            return
        marker = self._marker_path()
        if self.backend.info(marker) is None:
            top = self.backend.info(self.path)
            if top is not None and not top.is_dir:
                raise NotAStoreError(
                    f"The store root {self.root} is a file, not a folder. Point --store / $DPRUNE_STORE "
                    "(or ArtifactStore(root)) at a new or existing store folder."
                )
            foreign = self._foreign_entries()
            if foreign:
                raise NotAStoreError(
                    f"The folder {self.root} is not a dPrune store (no {MARKER_NAME}) and holds other "
                    f"files ({', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}); dPrune will not "
                    "write into it. Point --store / $DPRUNE_STORE at an empty or new folder, or at an "
                    "existing store."
                )
            created, _ = now_utc()
            self.backend.write_atomic(marker, json_bytes({"format": MARKER_FORMAT, "format_version": 1,
                                                          "created": created}, indent=2))
        self._marked = True

    def require_store(self, action: str) -> None:
        """Raise :class:`NotAStoreError` unless the root is a store; ``action`` names the refused command."""
        top = self.backend.info(self.path)
        if top is None:
            raise NotAStoreError(
                f"Cannot {action}: the store root {self.root} does not exist. Check --root / $DPRUNE_STORE "
                "(a store is created by the first run that writes to it, or by `dprune store init`)."
            )
        if not self.is_store():
            foreign = self._foreign_entries()
            raise NotAStoreError(
                f"Refusing to {action} {self.root}: it is not a dPrune store (no {MARKER_NAME}) and holds "
                f"files that are not artifacts ({', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}). "
                "Check --root / $DPRUNE_STORE; a new store is created with `dprune store init --root FOLDER`."
            )

    # ---------------------------------------------------------------- naming
    def ref(self, stage: str, key: str) -> ArtifactRef:
        """Reference to ``stage/key`` in this store (whether or not it exists)."""
        return ArtifactRef(self.root, check_name("stage", stage), check_name("key", key))

    def resolve(self, stage_or_ref: Any, key: str | None = None) -> ArtifactRef:
        """An :class:`ArtifactRef` from a ref, a ref dict, ``"STAGE/KEY"`` or ``(stage, key)``."""
        if isinstance(stage_or_ref, ArtifactRef):
            if key is not None:
                raise TypeError("Pass either an ArtifactRef or (stage, key), not both.")
            return self.ref(stage_or_ref.stage, stage_or_ref.key)
        if isinstance(stage_or_ref, Mapping):
            return self.resolve(ArtifactRef.from_dict({"root": self.root, **stage_or_ref}), key)
        if isinstance(stage_or_ref, str) and key is None:
            if stage_or_ref.count("/") != 1:
                raise ValueError(f"Expected 'STAGE/KEY' or (stage, key); got {stage_or_ref!r}.")
            stage_or_ref, key = stage_or_ref.split("/")
        if key is None:
            raise TypeError("Missing key: pass an ArtifactRef, 'STAGE/KEY', or (stage, key).")
        return self.ref(stage_or_ref, key)

    def artifact_dir(self, ref: ArtifactRef) -> str:
        """The folder of an artifact on the store's filesystem."""
        return self.backend.join(self.path, ref.stage, ref.key)

    def where(self, ref: ArtifactRef) -> str:
        """``"stage/key in ROOT"``, for messages."""
        return f"{ref.stage}/{ref.key} in {self.root}"

    def parent_dict(self, parent: Any, index: int) -> dict[str, str]:
        """``parents[index]`` given to a writer, as a ref dict."""
        if isinstance(parent, ArtifactRef):
            return parent.to_dict()
        if isinstance(parent, Mapping):
            return ArtifactRef.from_dict({"root": self.root, **parent}).to_dict()
        if isinstance(parent, str) and parent.count("/") == 1:
            return self.resolve(parent).to_dict()
        raise TypeError(f"parents[{index}] must be an ArtifactRef, a ref dict or 'STAGE/KEY'; got {parent!r}.")

    def iter_artifact_dirs(self, stage: str | None = None) -> Iterable[ArtifactRef]:
        """Every ``stage/key`` folder, complete or not."""
        stages = [stage] if stage is not None else sorted(
            n for n, e in self.backend.listdir(self.path).items() if e.is_dir and NAME_RE.match(n)
        )
        for s in stages:
            check_name("stage", s)
            for k, e in sorted(self.backend.listdir(self.backend.join(self.path, s)).items()):
                if e.is_dir and NAME_RE.match(k):
                    yield ArtifactRef(self.root, s, k)

    # ---------------------------------------------------------------- manifests
    def load_manifest(self, ref: ArtifactRef) -> tuple[str, dict | None, str]:
        """``("ok", manifest, "")``, ``("missing", None, why)`` or ``("invalid", None, why)``."""
        path = self.backend.join(self.artifact_dir(ref), MANIFEST_NAME)
        try:
            raw = self.backend.read_bytes(path)
        except (FileNotFoundError, NotADirectoryError):
            return "missing", None, "no manifest"
        try:
            m = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return "invalid", None, f"manifest is not valid JSON ({exc})"
        problem = manifest_problem(m, ref)
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
        ref = self.resolve(stage_or_ref, key)
        status, m, why = self.load_manifest(ref)
        if status == "missing":
            raise ArtifactNotFoundError(
                f"Artifact {self.where(ref)} does not exist (no {MANIFEST_NAME}). Run the stage that "
                "produces it; a partial directory left by a killed run is resumed by re-running the "
                "stage or removed by `dprune store gc`."
            )
        if status == "invalid":
            raise CorruptArtifactError(
                f"Artifact {self.where(ref)} has an invalid manifest: {why}. Delete it "
                f"(`ArtifactStore.delete` or `dprune store rm {ref.name}`) and re-run the stage."
            )
        return m

    def size_problems(self, ref: ArtifactRef, m: dict) -> list[str]:
        """Shards and files of a manifest that are missing or of the wrong size."""
        d = self.artifact_dir(ref)
        listing = self.backend.listdir(d)
        files_listing = self.backend.listdir(self.backend.join(d, FILES_DIR)) if m["files"] else {}
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

    def checksum_problems(self, ref: ArtifactRef, m: dict, *, recheck: bool = False,
                          include_files: bool = True) -> list[str]:
        """Relative paths of the shards (and files) whose sha256 differs from the manifest.

        Each file is hashed at most once per process while it is unchanged, unless ``recheck``.
        """
        d = self.artifact_dir(ref)
        entries = [(s["name"], s["sha256"]) for s in m["shards"]]
        if include_files:
            entries += [(f["path"], f["sha256"]) for f in m["files"]]
        def intact(entry: tuple[str, str]) -> bool:
            rel, sha = entry
            try:
                return checksums.matches(self.backend, self.backend.join(d, *rel.split("/")), sha, recheck=recheck)
            except FileNotFoundError:
                return False

        if len(entries) > 1:  # hashlib releases the GIL: shards are hashed in parallel
            with ThreadPoolExecutor(max_workers=min(len(entries), os.cpu_count() or 1)) as pool:
                results = list(pool.map(intact, entries))
        else:
            results = [intact(e) for e in entries]
        return [rel for (rel, _), ok in zip(entries, results) if not ok]

    def exists(self, stage_or_ref: Any, key: str | None = None, *, check_files: bool = True) -> bool:
        """True only when a valid manifest exists and, with ``check_files``, every listed shard
        and file is present with its recorded size and sha256.

        Checksums are computed at most once per process while a file is unchanged (remote
        stores: each file is hashed while it is copied into the local cache, which the read that
        follows uses). A corrupt artifact is quarantined and reported as not existing, so its
        stage recomputes it."""
        ref = self.resolve(stage_or_ref, key)
        status, m, _ = self.load_manifest(ref)
        if status != "ok":
            return False
        if not check_files:
            return True
        if self.size_problems(ref, m):
            return False
        bad = self.checksum_problems(ref, m) if self.backend.local else self.remote_problems(ref, m)
        if bad:
            self.quarantine(ref, m, bad)
            return False
        return True

    def quarantine(self, ref: ArtifactRef, m: dict | None, bad: list[str]) -> str:
        """Move the corrupt shards/files ``bad`` (paths relative to the artifact) of ``ref`` and its
        manifest to ``_quarantine/`` and drop their sidecars, so the stage recomputes exactly
        those; returns the quarantine folder."""
        d = self.artifact_dir(ref)
        qdir = self.backend.join(self.path, QUARANTINE_DIR, ref.stage, ref.key, now_utc()[0].replace(":", ""))
        for rel in [MANIFEST_NAME, *bad]:
            src = self.backend.join(d, *rel.split("/"))
            try:
                self.backend.move(src, self.backend.join(qdir, posixpath.basename(rel)))
            except OSError:  # already gone, or a filesystem without moves: never leave it readable
                self.backend.rm_file(src)
            checksums.forget(src)
        for rel in bad:
            self.backend.rm_file(self.backend.join(d, INDEX_DIR, sidecar_name(rel, m)))
        shown = qdir if self.backend.local else self.fs.unstrip_protocol(qdir)
        logger.warning("dprune store: %s is corrupt (%s: sha256 mismatch); moved to %s, the stage recomputes it",
                       self.where(ref), ", ".join(bad), shown)
        return shown

    def _corrupt(self, ref: ArtifactRef, problems: list[str], quarantined: str | None = None) -> CorruptArtifactError:
        listed = "; ".join(problems[:5]) + (f"; ... ({len(problems)} problems)" if len(problems) > 5 else "")
        if quarantined:
            fix = (f"The bad files and the manifest were moved to {quarantined}; re-run the stage to "
                   "recompute them (the other shards are reused).")
        else:
            fix = (f"Delete it (`dprune store rm {ref.name}` or `ArtifactStore.delete`) and re-run the stage; "
                   "`dprune store verify` checks the whole store.")
        return CorruptArtifactError(f"Artifact {self.where(ref)} is corrupt: {listed}. Nothing was read. {fix}")

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
        self.check_writable(stage, key)
        return ShardedWriter(self, self.ref(stage, key), config=config, parents=parents, versions=versions,
                             meta=meta, num_shards=num_shards, schema=schema, plan=plan)

    def check_writable(self, stage: str, key: str) -> None:
        """Raise :class:`ReuseOnlyError` for a missing artifact of a reuse-only store; mark the root."""
        if self.reuse_only and not self.exists(stage, key):
            raise ReuseOnlyError(
                f"The {stage} artifact {key} is not in the store at {self.root}, and this run only reuses "
                "cached artifacts. Run once without reuse-only (--reuse-only / reuse_only=True) to compute it."
            )
        self.init()

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
        self.check_writable(stage, key)
        if shard_rows is None:
            shard_rows = default_shard_rows(data)
        schema, windows = iter_table_windows(data, shard_rows)
        num_rows = len(data) if is_hf_dataset(data) else data.num_rows
        num_shards = -(-num_rows // shard_rows)
        # The plan is part of each shard's sidecar: shards of a run with another shard_rows
        # (different row ranges) are never mixed into this artifact.
        writer = ShardedWriter(self, ref, config=config, parents=parents, versions=versions, meta=meta,
                               num_shards=num_shards, schema=schema,
                               plan={"num_shards": num_shards, "shard_rows": shard_rows, "num_rows": num_rows})
        with writer:
            for i, window in enumerate(windows):
                if not writer.has_shard(i):
                    writer.write_shard(i, window)
            return writer.commit(schema=schema)

    def delete(self, stage_or_ref: Any, key: str | None = None) -> bool:
        """Delete an artifact: the manifest first (so no reader sees a half-deleted valid
        artifact), then its directory. Returns whether anything was there.

        Raises
        ------
        NotAStoreError
            The root is not a store (nothing is deleted).
        """
        ref = self.resolve(stage_or_ref, key)
        self.require_store("delete artifacts from")
        d = self.artifact_dir(ref)
        if self.backend.info(d) is None:
            return False
        self.backend.rm_file(self.backend.join(d, MANIFEST_NAME))
        self.backend.rm_tree(d)
        return True

    # ---------------------------------------------------------------- reading
    def _checked(self, ref: ArtifactRef, m: dict, recheck: bool, include_files: bool) -> None:
        problems = self.size_problems(ref, m)
        if problems:
            raise self._corrupt(ref, problems)
        if self.backend.local:
            bad = self.checksum_problems(ref, m, recheck=recheck, include_files=include_files)
        else:
            bad = self.remote_problems(ref, m, recheck=recheck, include_files=include_files)
        if bad:
            qdir = self.quarantine(ref, m, bad)
            raise self._corrupt(ref, [f"{rel}: sha256 mismatch" for rel in bad], qdir)

    def _shard_paths(self, ref: ArtifactRef, m: dict, verify: bool) -> list[str]:
        """Local paths of the shards (remote stores: their copies in the local cache), size- and sha256-checked."""
        self._checked(ref, m, verify, include_files=False)
        d = self.artifact_dir(ref)
        if self.backend.local:
            return [os.path.join(d, s["name"]) for s in m["shards"]]
        return [self._cache_path(s["name"], s["sha256"]) for s in m["shards"]]

    def _cache_path(self, rel: str, sha: str) -> str:
        """Where the local cache keeps the copy of a remote shard or file (named by its sha256)."""
        if rel.startswith(FILES_DIR + "/"):
            return os.path.join(self.cache_dir, "files", sha, FILE_PATH_RE.match(rel).group(2))
        return os.path.join(self.cache_dir, "shards", sha[:2], sha + ".arrow")

    def remote_problems(self, ref: ArtifactRef, m: dict, *, recheck: bool = False,
                        include_files: bool = True) -> list[str]:
        """Relative paths of the remote shards (and files) whose bytes differ from the manifest's sha256.

        Each one is hashed while it is copied into the local cache, at most once per process
        while the remote object is unchanged (same size and ETag), unless ``recheck``.
        """
        d = self.artifact_dir(ref)
        entries = [(s["name"], s["sha256"], s["bytes"]) for s in m["shards"]]
        if include_files:
            entries += [(f["path"], f["sha256"], f["bytes"]) for f in m["files"]]

        def intact(entry: tuple[str, str, int]) -> bool:
            rel, sha, size = entry
            try:
                return self._fetch(self.backend.join(d, *rel.split("/")), sha, size, self._cache_path(rel, sha),
                                   recheck=recheck)
            except FileNotFoundError:
                return False

        with ThreadPoolExecutor(max_workers=max(1, min(len(entries), 8))) as pool:
            results = list(pool.map(intact, entries))
        return [rel for (rel, _, _), ok in zip(entries, results) if not ok]

    def _fetch(self, remote: str, sha: str, size: int, local: str, *, recheck: bool = False) -> bool:
        """Make ``local`` a copy of the remote file, hashing it on the way; False when its bytes do not
        have hash ``sha``. A copy already in the cache is used when this process has proved the remote
        object (unchanged since) holds ``sha``."""
        local_backend = LocalBackend()
        try:
            if not recheck and checksums.proven(self.backend, remote, sha) and os.path.getsize(local) == size \
                    and checksums.matches(local_backend, local, sha):
                return True
        except FileNotFoundError:
            pass
        stamp = self.backend.stamp(remote)
        os.makedirs(os.path.dirname(local), exist_ok=True)
        tmp = tmp_name(local)
        h = hashlib.sha256()
        try:
            with self.backend.open_read(remote) as src, open(tmp, "wb") as dst:
                while chunk := src.read(COPY_CHUNK):
                    h.update(chunk)
                    dst.write(chunk)
            if h.hexdigest() != sha or os.path.getsize(tmp) != size:
                silent_remove(tmp)
                return False
            os.replace(tmp, local)
        except BaseException:
            silent_remove(tmp)
            raise
        checksums.remember(local_backend, local, sha)
        checksums.remember(self.backend, remote, sha, since=stamp)
        return True

    def read(self, stage_or_ref: Any, key: str | None = None, *, verify: bool = False):
        """Open an artifact as a memory-mapped ``datasets.Dataset``.

        Local stores map the shard files in place; other stores copy shards into the local
        cache and map the copies. Every shard's sha256 is checked first (at most once per
        process while the file is unchanged); a corrupt shard is quarantined.

        Parameters
        ----------
        verify : bool
            Hash the shards even when this process already proved them.

        Raises
        ------
        ArtifactNotFoundError, CorruptArtifactError
        """
        import datasets

        ref = self.resolve(stage_or_ref, key)
        m = self.manifest(ref)
        parts = [self._open_shard(ref, p) for p in self._shard_paths(ref, m, verify)]
        ds = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
        if len(ds) != m["num_rows"]:
            raise self._corrupt(ref, [f"{len(ds)} rows read, manifest says {m['num_rows']}"])
        return ds

    def read_shards(self, stage_or_ref: Any, key: str | None = None, *, verify: bool = False) -> Iterable[Any]:
        """The artifact's shards in order, each opened as a memory-mapped ``datasets.Dataset`` of its own.

        A shard is mapped only when it is reached, and its pages leave this process's resident
        memory once the caller drops it; a scan that holds one shard at a time keeps at most one
        shard resident, where :meth:`read` keeps every page it touched mapped for as long as the
        dataset lives. Checks as :meth:`read`.
        """
        ref = self.resolve(stage_or_ref, key)
        m = self.manifest(ref)
        rows = 0
        for path in self._shard_paths(ref, m, verify):
            shard = self._open_shard(ref, path)
            rows += len(shard)
            yield shard
            del shard
        if rows != m["num_rows"]:
            raise self._corrupt(ref, [f"{rows} rows read, manifest says {m['num_rows']}"])

    def _open_shard(self, ref: ArtifactRef, path: str) -> Any:
        """One checked shard file of ``ref`` as a memory-mapped ``datasets.Dataset``."""
        import datasets

        try:
            return datasets.Dataset.from_file(path, in_memory=False)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise self._corrupt(ref, [f"a shard cannot be opened as Arrow IPC ({exc})"]) from exc

    def take(self, stage_or_ref: Any, positions: Any, *, columns: list[str] | None = None,
             verify: bool = False) -> pa.Table:
        """The rows ``positions`` of an artifact (its ``columns``, default all), in that order, as one table.

        Read shard by shard: only the shards holding the rows are opened, one at a time, and only
        those rows are copied out of them (every shard is checked as in :meth:`read`).
        """
        ref = self.resolve(stage_or_ref)
        m = self.manifest(ref)
        bounds = np.cumsum([0] + [shard["rows"] for shard in m["shards"]])
        positions = np.asarray(positions, dtype=np.int64)
        # the shards holding a row (the first one alone when there is none: it gives the empty table's schema)
        holding = set((np.searchsorted(bounds, positions, side="right") - 1).tolist()) if positions.size else {0}
        paths = self._shard_paths(ref, m, verify)

        def tables() -> Iterable[pa.Table | None]:
            for k, path in enumerate(paths):
                if k not in holding:
                    yield None
                    continue
                table = self._open_shard(ref, path).data.table
                yield table if columns is None else table.select(columns)

        return take_in_order(tables(), bounds, positions)

    def read_table(self, stage_or_ref: Any, key: str | None = None, *, verify: bool = False) -> pa.Table:
        """Like :meth:`read` but returns a (memory-mapped) ``pyarrow.Table``."""
        ref = self.resolve(stage_or_ref, key)
        m = self.manifest(ref)
        paths = self._shard_paths(ref, m, verify)
        schema = schema_from_b64(m["schema"]["arrow_b64"])
        tables = []
        try:
            for p in paths:
                with pa.ipc.open_stream(pa.memory_map(p, "r")) as reader:
                    tables.append(conform(reader.read_all(), schema))
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise self._corrupt(ref, [f"a shard cannot be opened as Arrow IPC ({exc})"]) from exc
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        if table.num_rows != m["num_rows"]:
            raise self._corrupt(ref, [f"{table.num_rows} rows read, manifest says {m['num_rows']}"])
        return table

    def file_entry(self, ref: ArtifactRef, m: dict, name: str) -> dict:
        """The manifest entry of a stored file (``name``, ``path``, ``bytes``, ``sha256``)."""
        for f in m["files"]:
            if f["name"] == name:
                return f
        known = [f["name"] for f in m["files"]]
        raise ArtifactNotFoundError(
            f"Artifact {self.where(ref)} has no file {name!r}; it has {known or 'no files'}."
        )

    def read_file(self, ref: ArtifactRef | str, name: str) -> bytes:
        """Bytes of a file stored with :meth:`ShardedWriter.put_file` (sha256-checked).

        ``ref`` is an ArtifactRef or ``"STAGE/KEY"``."""
        ref = self.resolve(ref)
        m = self.manifest(ref)
        f = self.file_entry(ref, m, name)
        try:
            data = self.backend.read_bytes(self.backend.join(self.artifact_dir(ref), f["path"]))
        except FileNotFoundError:
            raise self._corrupt(ref, [f"{f['path']}: missing"]) from None
        if len(data) != f["bytes"] or hashlib.sha256(data).hexdigest() != f["sha256"]:
            qdir = self.quarantine(ref, m, [f["path"]])
            raise self._corrupt(ref, [f"{f['path']}: content does not match the manifest checksum"], qdir)
        return data

    def local_file(self, ref: ArtifactRef | str, name: str, *, verify: bool = False) -> str:
        """Local path of a stored file: in place for local stores, a cached copy otherwise
        (named ``.../<sha256>/<name>`` so the extension is kept). Do not modify it.

        Its sha256 is checked first (at most once per process while it is unchanged, or
        again with ``verify``)."""
        ref = self.resolve(ref)
        m = self.manifest(ref)
        f = self.file_entry(ref, m, name)
        remote = self.backend.join(self.artifact_dir(ref), f["path"])
        if self.backend.local:
            e = self.backend.info(remote)
            if e is None or e.size != f["bytes"]:
                raise self._corrupt(ref, [f"{f['path']}: missing or wrong size"])
            if not checksums.matches(self.backend, remote, f["sha256"], recheck=verify):
                qdir = self.quarantine(ref, m, [f["path"]])
                raise self._corrupt(ref, [f"{f['path']}: sha256 mismatch"], qdir)
            return remote
        if not self._fetch(remote, f["sha256"], f["bytes"], self._cache_path(f["path"], f["sha256"]), recheck=verify):
            qdir = self.quarantine(ref, m, [f["path"]])
            raise self._corrupt(ref, [f"{f['path']}: sha256 mismatch while copying to the cache"], qdir)
        return self._cache_path(f["path"], f["sha256"])

    # ---------------------------------------------------------------- maintenance
    def ls(self, stage: str | None = None) -> list[dict]:
        """Every artifact directory, complete or not; see :func:`dprune.store.maintenance.ls`."""
        return maintenance.ls(self, stage)

    def verify(self, stage_or_ref: Any = None, key: str | None = None) -> list[str]:
        """Recompute every checksum; see :func:`dprune.store.maintenance.verify`."""
        return maintenance.verify(self, stage_or_ref, key)

    def gc(
        self,
        *,
        partial: bool = True,
        keep: Iterable[Any] | None = None,
        older_than: float | dt.timedelta | None = None,
        dry_run: bool = False,
    ) -> list[str]:
        """Remove what no reader can use; see :func:`dprune.store.maintenance.gc`."""
        return maintenance.gc(self, partial=partial, keep=keep, older_than=older_than, dry_run=dry_run)

