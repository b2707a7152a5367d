"""Memory that a stage freed handed back to the system, so a long flow does not keep every stage's peak.

Arrow's allocator (mimalloc by default) and glibc's ``malloc`` keep freed memory for reuse; over a
flow that runs many stages in one process, what each stage freed stays resident and the process
grows past any single stage's need. :func:`release_freed` returns it; call it between stages.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Any

import pyarrow as pa


@functools.cache
def libc_function(name: str) -> Any:
    """The C library's function ``name`` in this process (Linux), or None off Linux or where it is missing."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None


def release_freed() -> None:
    """Return the memory Arrow's pool and glibc's ``malloc`` hold free to the system (glibc: Linux only).

    Nothing in use is touched; the next allocations only take a little longer.
    """
    pa.default_memory_pool().release_unused()
    malloc_trim = libc_function("malloc_trim")
    if malloc_trim is not None:
        malloc_trim(0)
