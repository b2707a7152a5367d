"""Store maintenance: list, verify and garbage-collect artifacts.

These are the functions behind :meth:`ArtifactStore.ls`, :meth:`ArtifactStore.verify` and
:meth:`ArtifactStore.gc` (and ``dprune store ls|verify|gc``). ``verify`` and ``gc`` refuse a
root that is not a store, so a wrong ``--root`` never touches user files.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dprune.store.layout import (
    FILES_DIR,
    INDEX_DIR,
    LEASE_RE,
    MANIFEST_NAME,
    QUARANTINE_DIR,
    TMP_RE,
    iso_to_ts,
    ts_to_iso,
)
from dprune.store.leases import live_leases
from dprune.store.refs import ArtifactRef

if TYPE_CHECKING:
    from dprune.store.artifacts import ArtifactStore

__all__ = ["dir_summary", "gc", "ls", "verify"]


def dir_summary(store: ArtifactStore, ref: ArtifactRef) -> tuple[int, float | None]:
    """Total bytes and newest mtime of an artifact directory (two levels deep)."""
    b = store.backend
    d = store.artifact_dir(ref)
    total, newest = 0, None
    for sub in ("", INDEX_DIR, FILES_DIR):
        for e in b.listdir(b.join(d, sub) if sub else d).values():
            if not e.is_dir:
                total += e.size
            if e.mtime is not None:
                newest = e.mtime if newest is None else max(newest, e.mtime)
    return total, newest


def ls(store: ArtifactStore, stage: str | None = None) -> list[dict]:
    """Every artifact directory, complete or not.

    Returns
    -------
    list of dict
        ``stage``, ``key``, ``status`` (``"complete"``, ``"partial"`` - no manifest yet,
        ``"invalid"`` - unreadable manifest), ``complete`` (bool), ``rows``, ``shards``,
        ``bytes`` and ``created`` (ISO time; for partial ones the newest file time).
    """
    out = []
    for ref in store.iter_artifact_dirs(stage):
        status, m, why = store.load_manifest(ref)
        row = {"stage": ref.stage, "key": ref.key, "status": "complete" if status == "ok" else
               "partial" if status == "missing" else "invalid", "complete": status == "ok"}
        if m is not None:
            row.update(rows=m["num_rows"], shards=len(m["shards"]), created=m["created"],
                       bytes=sum(s["bytes"] for s in m["shards"]) + sum(f["bytes"] for f in m["files"]))
        else:
            size, mtime = dir_summary(store, ref)
            row.update(rows=None, shards=None, bytes=size, created=None if mtime is None else ts_to_iso(mtime))
            if why and status == "invalid":
                row["problem"] = why
        out.append(row)
    return out


def verify(store: ArtifactStore, stage_or_ref: Any = None, key: str | None = None) -> list[str]:
    """Recompute every checksum; return a list of problems (empty when all is well).

    Without arguments, checks every artifact that has a manifest (manifest-less partial
    directories are not artifacts and are not reported; see :func:`gc`). Corrupt files are
    reported, not moved (the next read quarantines them).

    Raises
    ------
    NotAStoreError
        The root does not exist or is not a store.
    """
    store.require_store("verify")
    if stage_or_ref is None:
        refs = [r for r in store.iter_artifact_dirs() if store.load_manifest(r)[0] != "missing"]
    else:
        refs = [store.resolve(stage_or_ref, key)]
    problems = []
    for ref in refs:
        status, m, why = store.load_manifest(ref)
        if status == "missing":
            problems.append(f"{ref.name}: does not exist in {store.root} (no manifest)")
            continue
        if status == "invalid":
            problems.append(f"{ref.name}: invalid manifest: {why}")
            continue
        sizes = store.size_problems(ref, m)
        problems.extend(f"{ref.name}: {p}" for p in sizes)
        if not sizes:
            problems.extend(f"{ref.name}: {rel}: sha256 mismatch (content changed or corrupted)"
                            for rel in store.checksum_problems(ref, m, recheck=True))
    return problems


def _keep_closure(store: ArtifactStore, keep: Iterable[Any], manifests: dict[str, dict | None]) -> set[str]:
    """``keep`` and every artifact they were computed from (transitively, through manifest parents)."""
    names: set[str] = set()
    todo = [store.resolve(k).name for k in keep]
    while todo:
        name = todo.pop()
        if name in names:
            continue
        names.add(name)
        for p in (manifests.get(name) or {}).get("parents", []):
            todo.append(f"{p['stage']}/{p['key']}")
    return names


def gc(
    store: ArtifactStore,
    *,
    partial: bool = True,
    keep: Iterable[Any] | None = None,
    older_than: float | dt.timedelta | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Remove what no reader can use.

    * directories without a valid manifest (left by killed writers) when ``partial``;
    * temporary files, stale writer leases and shard/file payloads not referenced by the
      manifest inside complete artifacts (left by killed or losing concurrent writers);
    * quarantined corrupt files (``_quarantine/``);
    * with ``keep``: every complete artifact that is neither in ``keep`` nor a
      (transitive) parent of one of them.

    A folder with a live writer lease is never touched, and each folder is listed again
    just before it is removed: one that changed meanwhile (a writer started or committed)
    is left alone.

    Parameters
    ----------
    partial : bool
        Remove manifest-less directories.
    keep : iterable of ArtifactRef or 'STAGE/KEY', optional
        Artifacts to keep; enables deleting all other complete artifacts.
    older_than : float seconds or timedelta, optional
        Only touch things whose newest file is older than this.
    dry_run : bool
        Only report what would be removed.

    Returns
    -------
    list of str
        ``"stage/key"`` for removed artifact directories, ``"stage/key/name"`` for files.

    Raises
    ------
    NotAStoreError
        The root does not exist or is not a store (nothing is removed).
    """
    store.require_store("garbage-collect")
    b = store.backend
    if isinstance(older_than, dt.timedelta):
        older_than = older_than.total_seconds()
    cutoff = None if older_than is None else time.time() - float(older_than)

    def old_enough(mtime: float | None) -> bool:
        return cutoff is None or (mtime is not None and mtime <= cutoff)

    refs = list(store.iter_artifact_dirs())
    manifests = {ref.name: store.load_manifest(ref)[1] for ref in refs}
    keep_names = None if keep is None else _keep_closure(store, keep, manifests)
    removed = []
    for ref in refs:
        m = manifests[ref.name]
        d = store.artifact_dir(ref)
        live, stale = live_leases(b, d)
        if live:
            continue
        if m is None or (keep_names is not None and ref.name not in keep_names):
            if m is None and not partial:
                continue
            summary = dir_summary(store, ref)
            if not old_enough(summary[1] if m is None else iso_to_ts(m.get("created"))):
                continue
            # re-check just before removing: a writer may have started or committed meanwhile
            if live_leases(b, d)[0] or dir_summary(store, ref) != summary \
                    or (m is None and store.load_manifest(ref)[0] != "missing"):
                continue
            removed.append(ref.name)
            if not dry_run:
                b.rm_file(b.join(d, MANIFEST_NAME))
                b.rm_tree(d)
            continue
        referenced = {s["name"] for s in m["shards"]} | {MANIFEST_NAME, INDEX_DIR, FILES_DIR}
        referenced_files = {posixpath.basename(f["path"]) for f in m["files"]}
        stale = set(stale)
        for sub, names_ok in (("", referenced), (INDEX_DIR, None), (FILES_DIR, referenced_files)):
            base = b.join(d, sub) if sub else d
            for name, e in b.listdir(base).items():
                stray = (TMP_RE.search(name) is not None or (names_ok is not None and name not in names_ok)
                         or (sub == INDEX_DIR and LEASE_RE.match(name) is not None and name in stale))
                if stray and not e.is_dir and old_enough(e.mtime):
                    removed.append(f"{ref.name}/{sub + '/' if sub else ''}{name}")
                    if not dry_run:
                        b.rm_file(b.join(base, name))
    removed.extend(_gc_quarantine(store, old_enough, dry_run))
    return removed


def _gc_quarantine(store: ArtifactStore, old_enough: Any, dry_run: bool) -> list[str]:
    b = store.backend
    qroot = b.join(store.path, QUARANTINE_DIR)
    removed = []
    for stage in sorted(b.listdir(qroot)):
        for key in sorted(b.listdir(b.join(qroot, stage))):
            for when in sorted(b.listdir(b.join(qroot, stage, key))):
                folder = b.join(qroot, stage, key, when)
                entries = b.listdir(folder)
                if all(old_enough(e.mtime) for e in entries.values()):
                    removed.append(f"{QUARANTINE_DIR}/{stage}/{key}/{when}")
                    if not dry_run:
                        b.rm_tree(folder)
    return removed
