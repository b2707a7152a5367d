"""Pages of memory-mapped files handed back once read, so a scan of a mapped table keeps one window resident.

Pages of a memory-mapped file count in the resident size of the process once touched, and stay
for as long as the mapping lives: a scan of a whole memory-mapped dataset ends with the whole file
resident. :func:`release_mapped` tells the kernel that this process no longer needs the pages under
some Arrow buffers (``madvise(MADV_DONTNEED)``). Only pages of read-only mappings of a file are
released: their content stays in the page cache and is read again from there on the next access,
so values never change; buffers in other memory (anonymous, writable) are left alone. Linux only;
elsewhere it does nothing.

Finding those mappings reads ``/proc/self/maps`` (a few milliseconds); :class:`MappedReleaser`
releases the pieces of a scan together, once per :data:`RELEASE_EVERY_BYTES` read, so the file is
read once for many windows. The pages under a buffer are released only while the buffer is still
held, so its mapping cannot have been unmapped, nor the address range reused, in between.
"""

from __future__ import annotations

import bisect
import ctypes
import functools
import mmap
from typing import Any, Iterable

import pyarrow as pa

from dprune.core.memory import libc_function

_MADV_DONTNEED = 4
#: Bytes of Arrow buffers a :class:`MappedReleaser` holds (resident) before it releases them together.
RELEASE_EVERY_BYTES = 16 << 20


@functools.cache
def _madvise() -> Any:
    """libc's ``madvise`` (None off Linux or where it cannot be loaded)."""
    madvise = libc_function("madvise")
    if madvise is not None:
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        madvise.restype = ctypes.c_int
    return madvise


def read_only_file_mappings() -> list[tuple[int, int]]:
    """``(start, end)`` of this process's read-only mappings of a file, sorted (empty off Linux)."""
    spans = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                # address perms offset dev inode [path]: a file mapping has a nonzero inode
                if len(fields) >= 6 and "w" not in fields[1] and fields[4] != "0" and fields[5].startswith("/"):
                    start, end = fields[0].split("-")
                    spans.append((int(start, 16), int(end, 16)))
    except OSError:
        return []
    return sorted(spans)


def arrow_buffers(data: Any) -> Iterable[pa.Buffer]:
    """Every buffer under a Table, RecordBatch, ChunkedArray or Array (children included), or a list of them."""
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        for column in data.columns:
            yield from arrow_buffers(column)
    elif isinstance(data, pa.ChunkedArray):
        for chunk in data.chunks:
            yield from arrow_buffers(chunk)
    elif isinstance(data, pa.Array):
        yield from (b for b in data.buffers() if b is not None)
    elif isinstance(data, (list, tuple)):
        for part in data:
            yield from arrow_buffers(part)


def release_mapped(data: Any) -> int:
    """Release this process's resident pages of read-only file mappings under ``data``'s Arrow buffers
    (``data``: Arrow data or a list of it; ``/proc/self/maps`` is read once for all of it).

    Only whole pages inside a buffer are released. Reading the values again afterwards is correct
    (the kernel maps the pages back from the page cache), only slower.

    Returns
    -------
    int
        Bytes released (0 when nothing of ``data`` lies in such a mapping, or off Linux).
    """
    madvise = _madvise()
    if madvise is None:
        return 0
    ranges = [(b.address, b.address + b.size) for b in arrow_buffers(data) if b.size >= mmap.PAGESIZE]
    if not ranges:
        return 0
    spans = read_only_file_mappings()
    starts = [s for s, _ in spans]
    page = mmap.PAGESIZE
    released = 0
    for lo, hi in ranges:
        i = bisect.bisect_right(starts, lo) - 1
        if i < 0 or hi > spans[i][1]:  # not inside one read-only file mapping
            continue
        first, last = -(-lo // page) * page, hi // page * page
        if last > first and madvise(first, last - first, _MADV_DONTNEED) == 0:
            released += last - first
    return released


class MappedReleaser:
    """Releases the pieces of a scan (:func:`release_mapped`) in groups of about ``every_bytes``.

    :meth:`add` holds a piece the caller is done with; once the pieces held reach ``every_bytes``
    (and at :meth:`flush`), their pages are released together and the pieces dropped. A scan thus
    keeps at most about ``every_bytes`` more resident than one piece, and reads ``/proc/self/maps``
    once per group instead of once per piece.
    """

    def __init__(self, every_bytes: int = RELEASE_EVERY_BYTES) -> None:
        self.every_bytes = every_bytes
        self.held: list[Any] = []
        self.held_bytes = 0
        self.released = 0

    def add(self, data: Any) -> None:
        """Hold ``data`` (Arrow) until its group is released."""
        self.held.append(data)
        self.held_bytes += data.nbytes  # a slice's own bytes, not its parent buffers' whole size
        if self.held_bytes >= self.every_bytes:
            self.flush()

    def flush(self) -> int:
        """Release what is held now; the bytes released."""
        released = release_mapped(self.held) if self.held else 0
        self.held, self.held_bytes = [], 0
        self.released += released
        return released
