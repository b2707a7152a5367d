"""Where the bytes go: a local-filesystem backend and one for any other fsspec filesystem.

Both offer the same small interface (atomic writes, listing with sizes and times, removal),
so the store above them never asks which one it has.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

__all__ = ["COPY_CHUNK", "Entry", "FsspecBackend", "LocalBackend", "open_backend", "silent_remove", "tmp_name"]

#: Bytes read at a time when hashing or copying a file.
COPY_CHUNK = 1 << 22


@dataclass(frozen=True)
class Entry:
    """What a listing knows of one path."""

    size: int
    is_dir: bool
    mtime: float | None


def tmp_name(path: str) -> str:
    """A unique hidden temporary name next to ``path`` (``.<name>.tmp-<pid>-<uuid>``)."""
    head, tail = posixpath.split(path) if "/" in path else ("", path)
    return posixpath.join(head, f".{tail}.tmp-{os.getpid()}-{uuid.uuid4().hex}")


def silent_remove(path: str) -> None:
    """Remove a local file; a file already gone is fine."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


class LocalBackend:
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
        tmp = tmp_name(path)
        try:
            with open(tmp, "wb") as f:
                f.write(memoryview(data))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            silent_remove(tmp)
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

    def put_atomic(self, src: str, path: str, size: int, *, move: bool = False) -> None:
        """Copy (or with ``move``, rename: same filesystem) the local file ``src`` to ``path`` atomically."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if move:
            with open(src, "rb+") as f:
                os.fsync(f.fileno())
            if os.path.getsize(src) != size:
                raise OSError(f"{src} has {os.path.getsize(src)} bytes, not {size} (was it modified?)")
            os.replace(src, path)
            return
        tmp = tmp_name(path)
        try:
            shutil.copyfile(src, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            if os.path.getsize(tmp) != size:
                raise OSError(f"copy of {src} to {tmp} has the wrong size (was the source modified?)")
            os.replace(tmp, path)
        except BaseException:
            silent_remove(tmp)
            raise

    def move(self, src: str, dst: str) -> None:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(src, dst)

    def info(self, path: str) -> Entry | None:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return Entry(st.st_size, os.path.isdir(path), st.st_mtime)

    def stamp(self, path: str) -> tuple | None:
        """What changes whenever the file's bytes can have changed (inode, size, times)."""
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def listdir(self, path: str) -> dict[str, Entry]:
        out = {}
        try:
            with os.scandir(path) as it:
                for e in it:
                    try:
                        st = e.stat()
                    except FileNotFoundError:  # removed concurrently
                        continue
                    out[e.name] = Entry(st.st_size, e.is_dir(), st.st_mtime)
        except (FileNotFoundError, NotADirectoryError):
            return {}
        return out

    def rm_file(self, path: str) -> None:
        silent_remove(path)

    def rm_tree(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)


def _entry_mtime(info: Mapping[str, Any]) -> float | None:
    for k in ("mtime", "created", "LastModified", "last_modified", "updated", "modified"):
        v = info.get(k)
        if v is None:
            continue
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, dt.datetime):
            return v.timestamp()
        if isinstance(v, str):
            try:
                return dt.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


class FsspecBackend:
    """Any fsspec filesystem: write to a temp name, check its size, ``mv`` it into place."""

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
        # The size is checked on the temporary name, which is ours alone: after the move, another
        # writer may already have replaced the file with its own complete copy.
        self.fs.invalidate_cache(posixpath.dirname(tmp))
        got = self.fs.size(tmp)
        if got != size:
            raise OSError(f"wrote {size} bytes to {tmp} but the filesystem reports {got}")
        self.fs.mv(tmp, path)
        self.fs.invalidate_cache(posixpath.dirname(path))

    def write_atomic(self, path: str, data: Any, sync_dir: bool = False) -> None:
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        tmp = tmp_name(path)
        payload = bytes(memoryview(data))
        try:
            self.fs.pipe_file(tmp, payload)
            self._finish(tmp, path, len(payload))
        except BaseException:
            self._quiet_rm(tmp)
            raise

    def put_atomic(self, src: str, path: str, size: int, *, move: bool = False) -> None:
        """Upload the local file ``src`` to ``path`` atomically (with ``move``, remove ``src`` once uploaded)."""
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        tmp = tmp_name(path)
        try:
            self.fs.put_file(src, tmp)
            self._finish(tmp, path, size)
        except BaseException:
            self._quiet_rm(tmp)
            raise
        if move:
            silent_remove(src)

    def move(self, src: str, dst: str) -> None:
        self.fs.makedirs(posixpath.dirname(dst), exist_ok=True)
        self.fs.mv(src, dst)
        self.fs.invalidate_cache(posixpath.dirname(src))
        self.fs.invalidate_cache(posixpath.dirname(dst))

    def _quiet_rm(self, path: str) -> None:
        try:
            self.fs.rm_file(path)
        except (FileNotFoundError, OSError):
            pass

    def info(self, path: str) -> Entry | None:
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        return Entry(int(info.get("size") or 0), info.get("type") == "directory", _entry_mtime(info))

    def stamp(self, path: str) -> tuple | None:
        """Size and ETag (else modification time); None when the filesystem reports neither."""
        try:
            self.fs.invalidate_cache(posixpath.dirname(path))
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        tag = info.get("ETag") or info.get("etag") or info.get("md5Hash") or _entry_mtime(info)
        return None if tag is None else (int(info.get("size") or 0), tag)

    def listdir(self, path: str) -> dict[str, Entry]:
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
            out[posixpath.basename(name)] = Entry(
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


def open_backend(root: str, storage_options: Mapping[str, Any]) -> tuple[Any, str, str, LocalBackend | FsspecBackend]:
    """``(fs, path, display_root, backend)`` for a root path or URL."""
    fs, path = fsspec.core.url_to_fs(root, **storage_options)
    if isinstance(fs, LocalFileSystem):
        path = os.path.abspath(os.path.expanduser(path))
        return fs, path, path, LocalBackend()
    path = path.rstrip("/") or path
    shown = root.rstrip("/") if "::" in root else fs.unstrip_protocol(path)
    return fs, path, shown, FsspecBackend(fs)
