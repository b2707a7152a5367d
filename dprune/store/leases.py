"""Writer leases: a heartbeat file that tells ``gc`` an artifact folder is being written.

A writer that starts writing creates ``_index/lease-<id>.json`` and a daemon thread rewrites
it every :data:`HEARTBEAT_S` seconds; the file is removed when the writer commits, is closed,
or is garbage-collected. A lease is live while its heartbeat is younger than
:data:`LEASE_TTL_S` and, on this host, while its process is alive (so a SIGKILLed writer's
folder can be collected at once).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from typing import Any

from dprune.store.layout import INDEX_DIR, LEASE_RE, json_bytes

__all__ = ["HEARTBEAT_S", "LEASE_TTL_S", "Lease", "is_live", "live_leases"]

HEARTBEAT_S = 10.0
LEASE_TTL_S = 60.0


class Lease:
    """A live claim on one artifact folder; :meth:`release` ends it.

    Parameters
    ----------
    backend : LocalBackend or FsspecBackend
    artifact_dir : str
        The folder the writer writes into.
    """

    def __init__(self, backend: Any, artifact_dir: str, *, heartbeat_s: float = HEARTBEAT_S):
        self.backend = backend
        self.path = backend.join(artifact_dir, INDEX_DIR, f"lease-{uuid.uuid4().hex}.json")
        self.heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        self._started = time.time()
        self._beat()
        self._thread = threading.Thread(target=self._run, name="dprune-store-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        record = {"host": socket.gethostname(), "pid": os.getpid(), "started": self._started,
                  "heartbeat": time.time(), "ttl_s": LEASE_TTL_S}
        self.backend.write_atomic(self.path, json_bytes(record))

    def _run(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self._beat()
            except OSError:  # the store is unreachable for a moment: the next beat retries
                pass

    def release(self) -> None:
        """Stop the heartbeat and remove the lease file (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self.backend.rm_file(self.path)


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def is_live(record: Any, now: float | None = None) -> bool:
    """Whether a lease record (the parsed file) still holds its folder."""
    if not isinstance(record, dict):
        return False
    now = time.time() if now is None else now
    beat, ttl = record.get("heartbeat"), record.get("ttl_s", LEASE_TTL_S)
    if not isinstance(beat, (int, float)) or not isinstance(ttl, (int, float)) or now - beat > ttl:
        return False
    if record.get("host") == socket.gethostname():
        return _pid_alive(record.get("pid"))
    return True


def live_leases(backend: Any, artifact_dir: str) -> tuple[list[str], list[str]]:
    """``(live, stale)``: names of the lease files in an artifact folder's index."""
    index = backend.join(artifact_dir, INDEX_DIR)
    live, stale = [], []
    now = time.time()
    for name in backend.listdir(index):
        if not LEASE_RE.match(name):
            continue
        try:
            record = json.loads(backend.read_bytes(backend.join(index, name)).decode("utf-8"))
        except (FileNotFoundError, UnicodeDecodeError, json.JSONDecodeError):
            stale.append(name)  # half-written or removed meanwhile: never a proof of life
            continue
        (live if is_live(record, now) else stale).append(name)
    return live, stale
