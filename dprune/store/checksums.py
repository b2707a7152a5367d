"""SHA-256 of stored files, proven at most once per process while a file is unchanged.

A proof is kept in memory only: ``path -> (stamp, sha256)``, where the stamp (device, inode,
size, modification and change times in ns locally; size and ETag or time on object stores)
changes whenever the file's bytes can have changed, including a rewrite that restores the old
modification time. A file without a stamp is hashed on every check.
"""

from __future__ import annotations

import hashlib
from typing import Any

from dprune.store.backends import COPY_CHUNK

__all__ = ["file_sha256", "forget", "matches", "proven", "remember"]

_PROOFS: dict[str, tuple[tuple, str]] = {}


def file_sha256(backend: Any, path: str) -> str:
    """Hex SHA-256 of a file, streamed."""
    h = hashlib.sha256()
    with backend.open_read(path) as f:
        while chunk := f.read(COPY_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def matches(backend: Any, path: str, sha256: str, *, recheck: bool = False) -> bool:
    """True when the file's SHA-256 is ``sha256``; hashes only when no proof covers its current stamp.

    ``recheck`` hashes even when a proof exists. Raises ``FileNotFoundError`` for a missing file.
    """
    stamp = backend.stamp(path)
    if not recheck and stamp is not None and _PROOFS.get(path) == (stamp, sha256):
        return True
    got = file_sha256(backend, path)
    if got == sha256 and stamp is not None and backend.stamp(path) == stamp:
        _PROOFS[path] = (stamp, got)
    elif got != sha256:
        _PROOFS.pop(path, None)
    return got == sha256


def proven(backend: Any, path: str, sha256: str) -> bool:
    """True when this process already proved that the file, unchanged since, holds ``sha256`` (never hashes)."""
    stamp = backend.stamp(path)
    return stamp is not None and _PROOFS.get(path) == (stamp, sha256)


def remember(backend: Any, path: str, sha256: str, *, since: tuple | None = None) -> None:
    """Record that the file at ``path`` holds bytes of hash ``sha256`` (just written, or just hashed).

    ``since``: the file's stamp taken before its bytes were read; no proof is kept when the file
    changed in between.
    """
    stamp = backend.stamp(path)
    if stamp is not None and (since is None or since == stamp):
        _PROOFS[path] = (stamp, sha256)


def forget(path: str) -> None:
    """Drop the proof of ``path`` (it was moved or removed)."""
    _PROOFS.pop(path, None)
