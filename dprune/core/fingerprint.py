"""Deterministic hashing: canonical configs, cache keys and content fingerprints.

Everything the artifact store keys on is built here:

* :func:`canonical_json` turns a config made of plain values into one exact string;
* :func:`compute_key` hashes (stage, version, config, parent keys, input fingerprints);
* :func:`dataset_fingerprint` hashes the *content* of a ``datasets.Dataset`` or
  ``pyarrow.Table`` (schema and cell values), independent of how it is chunked;
* :func:`file_fingerprint` / :func:`directory_fingerprint` hash bytes on any fsspec URL
  (model weights identity).

Nothing here imports ``datasets`` eagerly; a ``Dataset`` is recognised only when the
``datasets`` module has already been imported by the caller.
"""

from __future__ import annotations

import decimal
import functools
import hashlib
import json
import math
import os
import pathlib
import struct
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dprune.core.cache import user_cache_dir
from dprune.core.mapped import MappedReleaser

__all__ = [
    "KEY_LENGTH",
    "canonical_json",
    "compute_key",
    "dataset_fingerprint",
    "directory_fingerprint",
    "file_fingerprint",
    "hash_bytes",
    "hash_text",
    "is_hf_dataset",
    "iter_table_windows",
    "local_file_sha256",
    "normalize_config",
    "parts_fingerprint",
    "table_windows",
]

#: Number of hex characters of a store key (128 bits of sha256).
KEY_LENGTH = 32

#: Rows per window when hashing a table. Part of the fingerprint definition: changing it
#: changes every dataset fingerprint, so bump ``_DATASET_FP_VERSION`` along with it.
_FP_WINDOW_ROWS = 8192
_DATASET_FP_VERSION = b"dprune-dataset-fingerprint-v1\0"
_KEY_FORMAT = 1
_READ_CHUNK = 1 << 22
# absolute path -> (stamp, sha256); see local_file_sha256
_LOCAL_HASHES: dict[str, tuple[tuple, str]] = {}
#: Files at least this large keep their digest across processes (see local_file_sha256).
PERSISTED_HASH_BYTES = 1 << 20


# --------------------------------------------------------------------------- configs
def _normalize(obj: Any, path: str) -> Any:
    """Map ``obj`` onto JSON values, keeping int and float distinct; raise on anything else."""
    # bool before int: bool is an int subclass but means something else.
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        if math.isfinite(value):
            return value
        # JSON has no NaN/Infinity; a tagged object keeps the output valid and distinct.
        return {"$float": repr(value)}
    if isinstance(obj, pathlib.PurePath):
        return os.fspath(obj)
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(
                    f"canonical_json: key {k!r} at {path or '<root>'} is a {type(k).__name__}; "
                    "config mapping keys must be str. Convert the key to a string."
                )
            out[k] = _normalize(v, f"{path}.{k}" if path else k)
        return out
    if isinstance(obj, (list, tuple)):
        return [_normalize(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(
        f"canonical_json: value at {path or '<root>'} has unsupported type "
        f"{type(obj).__module__}.{type(obj).__qualname__}. Configs may contain only dict, list, "
        "tuple, str, int, float, bool, None, numpy scalars and pathlib paths; convert it "
        "(e.g. a model object to its name or file fingerprint) before hashing."
    )


def normalize_config(obj: Any) -> Any:
    """Return ``obj`` as plain JSON values (tuples become lists, numpy scalars Python ones).

    Parameters
    ----------
    obj : object
        A config made of dicts (str keys), lists, tuples, str, int, float, bool, None,
        numpy scalars and pathlib paths.

    Returns
    -------
    object
        The same structure made of JSON-native values; non-finite floats become
        ``{"$float": "nan" | "inf" | "-inf"}``.

    Raises
    ------
    TypeError
        For any other type, naming the key path of the offending value.
    """
    return _normalize(obj, "")


def canonical_json(obj: Any) -> str:
    """Serialize a config to one deterministic JSON string.

    Keys are sorted, separators carry no whitespace, and ints and floats stay distinct
    (``1`` is written ``1`` and ``1.0`` is written ``1.0``), because budgets such as
    ``k=1`` (one row) and ``k=1.0`` (all rows) mean different things.

    Parameters
    ----------
    obj : object
        See :func:`normalize_config` for the accepted types.

    Returns
    -------
    str
        ASCII-only canonical JSON.

    Raises
    ------
    TypeError
        For unsupported values, naming the key path (e.g. ``model.tokenizer``).
    """
    return json.dumps(
        _normalize(obj, ""), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


# --------------------------------------------------------------------------- hashing
def hash_bytes(data: bytes | bytearray | memoryview, length: int | None = None) -> str:
    """Return the sha256 hex digest of ``data``, optionally truncated to ``length`` chars."""
    digest = hashlib.sha256(data).hexdigest()
    return digest if length is None else digest[:length]


def hash_text(text: str, length: int | None = None) -> str:
    """Return the sha256 hex digest of ``text`` encoded as UTF-8 (see :func:`hash_bytes`)."""
    if not isinstance(text, str):
        raise TypeError(f"hash_text expects a str, got {type(text).__name__}; use hash_bytes for bytes.")
    return hash_bytes(text.encode("utf-8"), length)


def _parent_key(parent: Any, index: int) -> str:
    if isinstance(parent, str):
        return parent
    stage, key = getattr(parent, "stage", None), getattr(parent, "key", None)
    if isinstance(stage, str) and isinstance(key, str):
        return f"{stage}/{key}"
    raise TypeError(
        f"compute_key: parents[{index}] is a {type(parent).__name__}; expected a key string or "
        "an ArtifactRef (an object with str 'stage' and 'key' attributes)."
    )


def compute_key(
    stage: str,
    version: int | str,
    config: Any,
    parents: Iterable[Any] = (),
    inputs: Iterable[Any] = (),
) -> str:
    """Content address of a stage output.

    Parameters
    ----------
    stage : str
        Stage name, e.g. ``"embed"``.
    version : int or str
        Stage version; bump it whenever the stage's formula changes so old keys miss.
    config : object
        Stage config (see :func:`canonical_json`). Only settings that change the output
        belong here; pruner settings never belong in a score key.
    parents : iterable of str or ArtifactRef
        Keys of the artifacts this stage reads, **in order** (order is significant).
    inputs : iterable
        Other input identities, e.g. a :func:`dataset_fingerprint` or a model file hash.

    Returns
    -------
    str
        ``KEY_LENGTH`` lowercase hex characters.
    """
    if not isinstance(stage, str) or not stage:
        raise TypeError(f"compute_key: 'stage' must be a non-empty str, got {stage!r}.")
    if isinstance(version, bool) or not isinstance(version, (int, str)):
        raise TypeError(f"compute_key: 'version' must be an int or str, got {version!r}.")
    if isinstance(parents, (str, bytes)) or isinstance(inputs, (str, bytes)):
        raise TypeError(
            "compute_key: 'parents' and 'inputs' must be sequences of keys, not a single string; "
            "wrap it in a tuple: parents=(key,)."
        )
    payload = {
        "format": _KEY_FORMAT,
        "stage": stage,
        "version": version,
        "config": _normalize(config, "config"),
        "parents": [_parent_key(p, i) for i, p in enumerate(parents)],
        "inputs": _normalize(list(inputs), "inputs"),
    }
    return hash_text(canonical_json(payload), KEY_LENGTH)


# --------------------------------------------------------------------------- datasets
def is_hf_dataset(obj: Any) -> bool:
    """True for a ``datasets.Dataset``, without importing ``datasets`` when the caller has not."""
    mod = sys.modules.get("datasets")
    return mod is not None and isinstance(obj, mod.Dataset)


def iter_table_windows(data: Any, window_rows: int) -> tuple[pa.Schema, Iterable[pa.Table]]:
    """Schema and an iterator of ``window_rows``-row tables of a Table/RecordBatch/Dataset.

    Windows are cut at fixed row offsets, whatever the source chunking, and a
    ``Dataset``'s indices mapping (``select``, ``shuffle``, ``filter``) is respected.
    The last window may be shorter; an empty input yields no window. When the next window is
    asked for, the previous one is done with: the pages of a memory-mapped file under the windows
    read leave this process's resident memory every few windows and at the end
    (:class:`~dprune.core.mapped.MappedReleaser`; still readable, from the page cache).
    """
    if window_rows < 1:
        raise ValueError(f"window_rows must be >= 1, got {window_rows}.")
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        table = data

        def gen() -> Iterable[pa.Table]:
            releaser = MappedReleaser()
            try:
                for off in range(0, table.num_rows, window_rows):
                    window = table.slice(off, window_rows)
                    yield window
                    releaser.add(window)  # the caller is done with it: a scan keeps a few windows resident
            finally:
                releaser.flush()

        return table.schema, gen()
    if is_hf_dataset(data):
        ds = data
        schema = ds.features.arrow_schema
        if getattr(ds, "_indices", None) is None:
            return schema, iter_table_windows(ds.data.table, window_rows)[1]

        def gen_ds() -> Iterable[pa.Table]:
            for window in ds.with_format("arrow").iter(batch_size=window_rows):
                yield window

        return schema, gen_ds()
    raise TypeError(
        f"Expected a pyarrow.Table, pyarrow.RecordBatch or datasets.Dataset, got "
        f"{type(data).__module__}.{type(data).__qualname__}."
    )


def dataset_fingerprint(data: Any) -> str:
    """Content hash of a ``datasets.Dataset``, ``pyarrow.Table`` or ``RecordBatch``.

    The hash covers the schema (field names, types and nullability; schema-level metadata
    such as the ``huggingface`` features blob is ignored) and every cell value. It is
    computed by streaming fixed-size row windows, each re-chunked into one contiguous
    record batch and hashed as its Arrow IPC message, so it does not depend on the
    source chunking and never builds Python objects. For a ``Dataset`` the rows seen
    through its indices mapping are hashed (a ``select`` result hashes its selected rows).

    Values hidden under null slots of flat columns (numbers, bool, strings, binary,
    temporal, decimal) are ignored. Inside nested types (list, struct) they are hashed as
    stored, so logically equal nested columns built different ways may hash differently:
    that costs a cache miss, never a wrong hit.

    Returns
    -------
    str
        64 hex characters (sha256).
    """
    schema, windows = iter_table_windows(data, _FP_WINDOW_ROWS)
    return _windows_fingerprint(schema, windows)


def parts_fingerprint(schema: pa.Schema, parts: Iterable[pa.Table]) -> str:
    """:func:`dataset_fingerprint` of the rows of ``parts`` one after another, read one part at a time.

    ``schema`` is the one :func:`dataset_fingerprint` would see on the whole (a ``Dataset``'s
    ``features.arrow_schema``). The parts may have any lengths: their rows are cut into the same
    fixed windows as the whole's, so the hash is that of their concatenation, while only the
    current part and one window are held.
    """
    return _windows_fingerprint(schema, table_windows(parts, _FP_WINDOW_ROWS))


def table_windows(parts: Iterable[pa.Table], window_rows: int) -> Iterable[pa.Table]:
    """The rows of ``parts`` one after another, cut into tables of ``window_rows`` rows (the last one shorter)."""
    pending: list[pa.Table] = []
    held = 0
    for part in parts:
        offset = 0
        while offset < part.num_rows:
            piece = part.slice(offset, window_rows - held)
            pending.append(piece)
            held += piece.num_rows
            offset += piece.num_rows
            if held == window_rows:
                yield pa.concat_tables(pending) if len(pending) > 1 else pending[0]
                pending, held = [], 0
    if held:
        yield pa.concat_tables(pending) if len(pending) > 1 else pending[0]


def _windows_fingerprint(schema: pa.Schema, windows: Iterable[pa.Table]) -> str:
    schema = schema.remove_metadata()
    h = hashlib.sha256(_DATASET_FP_VERSION)
    sb = schema.serialize()
    h.update(struct.pack("<Q", sb.size))
    h.update(sb)
    for window in windows:
        if window.schema.remove_metadata() != schema:
            window = window.cast(schema)
        h.update(struct.pack("<Q", window.num_rows))
        # One contiguous array per column and window: the IPC message then depends only on the
        # values, not on the chunking. Nulls of flat columns are hashed as a validity mask plus
        # the column with nulls zero-filled, so whatever sits under a null slot is ignored.
        for col in window.columns:
            arr = col.combine_chunks()
            fill = _fill_value(arr.type) if arr.null_count else None
            if fill is not None:
                arrays = [pc.is_valid(arr), pc.fill_null(arr, fill)]
                h.update(b"N")
            else:
                arrays = [arr]
                h.update(b"V")
            batch = pa.RecordBatch.from_arrays(arrays, names=[str(i) for i in range(len(arrays))])
            buf = batch.serialize()
            h.update(struct.pack("<Q", buf.size))
            h.update(buf)
    return h.hexdigest()


@functools.lru_cache(maxsize=256)
def _fill_value(t: pa.DataType) -> pa.Scalar | None:
    """A zero of a flat type, to overwrite null slots with (None for nested/other types)."""
    try:
        if pa.types.is_boolean(t):
            return pa.scalar(False, t)
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            return pa.scalar(0, t)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return pa.scalar("", t)
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            return pa.scalar(b"", t)
        if pa.types.is_fixed_size_binary(t):
            return pa.scalar(b"\0" * t.byte_width, t)
        if pa.types.is_decimal(t):
            return pa.scalar(decimal.Decimal(0), t)
        if pa.types.is_temporal(t):
            return pa.scalar(0, pa.int32() if t.bit_width == 32 else pa.int64()).cast(t)
    except (pa.ArrowException, TypeError, ValueError):  # pragma: no cover - exotic types
        return None
    return None


# --------------------------------------------------------------------------- files
def _url_to_fs(path_or_url: Any, storage_options: Mapping[str, Any] | None):
    import fsspec

    if isinstance(path_or_url, tuple) and len(path_or_url) == 2:
        path_or_url, extra = path_or_url
        storage_options = {**(extra or {}), **(storage_options or {})}
    return fsspec.core.url_to_fs(os.fspath(path_or_url), **(storage_options or {}))


def _hash_stream(fs, path: str) -> str:
    h = hashlib.sha256()
    with fs.open(path, "rb") as f:
        while chunk := f.read(_READ_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _stamp(path: str) -> tuple:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def local_file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a local file, hashed again only when the file may have changed.

    The digest is cached by the file's device, inode, size, modification *and* change times:
    a file rewritten in place, replaced by another one, or rewritten with its old
    modification time restored (``cp -p``, ``rsync -a``, ``tar``) changes its change time and
    is hashed again. Files of :data:`PERSISTED_HASH_BYTES` or more (model weights, datasets)
    keep their digest in the user cache (``hashes/`` under :func:`dprune.core.cache.user_cache_dir`)
    so that the next process does not read them again; smaller ones are cached per process.
    """
    path = os.path.abspath(os.fspath(path))
    stamp = _stamp(path)
    hit = _LOCAL_HASHES.get(path)
    if hit is None and stamp[2] >= PERSISTED_HASH_BYTES:
        hit = _read_persisted_hash(path)
    if hit is not None and hit[0] == stamp:
        _LOCAL_HASHES[path] = hit
        return hit[1]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_READ_CHUNK):
            h.update(chunk)
    digest = h.hexdigest()
    if _stamp(path) == stamp:  # not modified while it was read
        _LOCAL_HASHES[path] = (stamp, digest)
        if stamp[2] >= PERSISTED_HASH_BYTES:
            _write_persisted_hash(path, stamp, digest)
    return digest


def _persisted_hash_file(path: str) -> pathlib.Path:
    return user_cache_dir() / "hashes" / f"{hashlib.sha256(path.encode()).hexdigest()[:32]}.json"


def _read_persisted_hash(path: str) -> tuple[tuple, str] | None:
    try:
        record = json.loads(_persisted_hash_file(path).read_text())
        if record["path"] == path:
            return tuple(record["stamp"]), str(record["sha256"])
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or unreadable: hash the file
        pass
    return None


def _write_persisted_hash(path: str, stamp: tuple, digest: str) -> None:
    target = _persisted_hash_file(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"path": path, "stamp": list(stamp), "sha256": digest}))
        os.replace(tmp, target)
    except OSError:  # a read-only cache only costs the next process a re-hash
        pass


def file_fingerprint(path_or_url: Any, storage_options: Mapping[str, Any] | None = None) -> str:
    """sha256 hex digest of a file's bytes, on a local path or any fsspec URL.

    Parameters
    ----------
    path_or_url : str, os.PathLike or (str, dict)
        The file; a ``(url, storage_options)`` pair is accepted too.
    storage_options : dict, optional
        Passed to the fsspec filesystem.
    """
    fs, path = _url_to_fs(path_or_url, storage_options)
    if not fs.isfile(path):
        raise FileNotFoundError(f"file_fingerprint: {path_or_url!s} is not a file.")
    if "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)):
        return local_file_sha256(path)
    return _hash_stream(fs, path)


def directory_fingerprint(path_or_url: Any, storage_options: Mapping[str, Any] | None = None) -> str:
    """sha256 over every file under a directory: sorted relative paths and their file hashes.

    A model checkpoint directory gets one identity that changes when any file is added,
    removed, renamed or edited.
    """
    fs, root = _url_to_fs(path_or_url, storage_options)
    if not fs.isdir(root):
        raise FileNotFoundError(f"directory_fingerprint: {path_or_url!s} is not a directory.")
    root = root.rstrip("/")
    files = sorted(fs.find(root))
    h = hashlib.sha256(b"dprune-directory-fingerprint-v1\0")
    for path in files:
        rel = path[len(root):].lstrip("/") if path.startswith(root) else path
        entry = canonical_json([rel, _hash_stream(fs, path)]).encode()
        h.update(struct.pack("<Q", len(entry)))
        h.update(entry)
    return h.hexdigest()
