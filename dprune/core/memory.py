"""Memory that a stage freed handed back to the system, so a long flow does not keep every stage's peak.

Arrow's allocator (mimalloc by default) and glibc's ``malloc`` keep freed memory for reuse; over a
flow that runs many stages in one process, what each stage freed stays resident and the process
grows past any single stage's need. :func:`release_freed` returns it; call it between stages.
"""

from __future__ import annotations

import ctypes
import sys

import pyarrow as pa

_TRIM: list = []


def release_freed() -> None:
    """Return the memory Arrow's pool and glibc's ``malloc`` hold free to the system (glibc: Linux only).

    Nothing in use is touched; the next allocations only take a little longer.
    """
    pa.default_memory_pool().release_unused()
    if not _TRIM:
        try:
            _TRIM.append(ctypes.CDLL("libc.so.6").malloc_trim if sys.platform.startswith("linux") else None)
        except (OSError, AttributeError):
            _TRIM.append(None)
    if _TRIM[0] is not None:
        _TRIM[0](0)
