"""The on-disk format: file names, the manifest and sidecar shapes, the root marker.

Layout of a store::

    .dprune-store.json                 root marker, written when the store is created
    _quarantine/<stage>/<key>/...      corrupt shards moved aside (never read)
    <stage>/<key>/manifest.json        written last; without it the artifact does not exist
    <stage>/<key>/shard-00000-<sha16>.arrow   Arrow IPC *stream* files (memory-mappable)
    <stage>/<key>/files/<sha16>-<name> put_file payloads (model binaries, centroids, ...)
    <stage>/<key>/_index/shard-00000.json     per-shard sidecar: name, rows, bytes, sha256, schema
    <stage>/<key>/_index/file-<name>.json     per-file sidecar
    <stage>/<key>/_index/lease-<id>.json      a live writer's heartbeat (see :mod:`dprune.store.leases`)
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.metadata
import json
import platform
import posixpath
import re
import time
from typing import Any

import pyarrow as pa

from dprune.store.refs import ArtifactRef

__all__ = [
    "FILES_DIR",
    "FILE_PATH_RE",
    "FORMAT_VERSION",
    "INDEX_DIR",
    "LEASE_RE",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "MARKER_FORMAT",
    "MARKER_NAME",
    "QUARANTINE_DIR",
    "SHARD_RE",
    "SIDECAR_FILE_RE",
    "SIDECAR_SHARD_RE",
    "SUPPORTED_FORMAT_VERSIONS",
    "TMP_RE",
    "default_versions",
    "iso_to_ts",
    "json_bytes",
    "manifest_problem",
    "now_utc",
    "schema_b64",
    "schema_from_b64",
    "sidecar_name",
    "ts_to_iso",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "dprune-artifact"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = frozenset({1})
INDEX_DIR = "_index"
FILES_DIR = "files"
MARKER_NAME = ".dprune-store.json"
MARKER_FORMAT = "dprune-store"
QUARANTINE_DIR = "_quarantine"

SHARD_RE = re.compile(r"^shard-(\d{5,})-([0-9a-f]{16})\.arrow$")
FILE_PATH_RE = re.compile(r"^files/([0-9a-f]{16})-([A-Za-z0-9][A-Za-z0-9_.=+-]{0,199})$")
TMP_RE = re.compile(r"\.tmp-\d+-[0-9a-f]{32}$")
SIDECAR_SHARD_RE = re.compile(r"^shard-(\d{5,})\.json$")
SIDECAR_FILE_RE = re.compile(r"^file-(.+)\.json$")
LEASE_RE = re.compile(r"^lease-[0-9a-f]{32}\.json$")


def json_bytes(obj: Any, indent: int | None = None) -> bytes:
    """Canonical UTF-8 JSON (sorted keys, no NaN) of ``obj``."""
    return json.dumps(obj, indent=indent, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")


def schema_b64(schema: pa.Schema) -> str:
    """An Arrow schema as base64 of its IPC serialization."""
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def schema_from_b64(text: str) -> pa.Schema:
    """Inverse of :func:`schema_b64`."""
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text.encode("ascii"), validate=True)))


def ts_to_iso(ts: float) -> str:
    """A Unix time as ISO 8601 UTC with a ``Z`` suffix, to the second."""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def now_utc() -> tuple[str, float]:
    """The current time as ``(iso, unix)``."""
    now = time.time()
    return ts_to_iso(now), now


def iso_to_ts(text: Any) -> float | None:
    """Inverse of :func:`ts_to_iso` (None for anything unparsable)."""
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def default_versions() -> dict[str, str]:
    """Versions of Python and the libraries that shape an artifact's bytes."""
    versions = {"python": platform.python_version(), "pyarrow": pa.__version__}
    for pkg in ("dprune", "datasets", "fsspec"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def manifest_problem(m: Any, ref: ArtifactRef) -> str:
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
        if not (isinstance(s, dict) and isinstance(s.get("name"), str) and SHARD_RE.match(s["name"])
                and isinstance(s.get("rows"), int) and isinstance(s.get("bytes"), int)
                and isinstance(s.get("sha256"), str) and len(s["sha256"]) == 64):
            return f"bad shard entry {s!r}"
    for f in files:
        if not (isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("path"), str)
                and FILE_PATH_RE.match(f["path"]) and isinstance(f.get("bytes"), int)
                and isinstance(f.get("sha256"), str) and len(f["sha256"]) == 64):
            return f"bad file entry {f!r}"
    if m.get("num_rows") != sum(s["rows"] for s in shards):
        return "num_rows does not match the shard row counts"
    schema = m.get("schema")
    if not isinstance(schema, dict) or not isinstance(schema.get("arrow_b64"), str):
        return "manifest has no schema"
    return ""


def sidecar_name(rel: str, manifest: dict | None = None) -> str:
    """The ``_index/`` sidecar that records a shard (``shard-00003-<sha>.arrow``) or a stored
    file (``files/<sha>-<name>``; the manifest gives the file's name, else it is parsed)."""
    mt = SHARD_RE.match(rel)
    if mt:
        return f"shard-{int(mt.group(1)):05d}.json"
    for f in (manifest or {}).get("files", []):
        if f.get("path") == rel:
            return f"file-{f['name']}.json"
    mt = FILE_PATH_RE.match(rel)
    return f"file-{mt.group(2) if mt else posixpath.basename(rel)}.json"
