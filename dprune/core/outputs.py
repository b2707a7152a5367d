"""Output folders: the record of the files a step wrote, whole replacement of a path, one writer at a time."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

__all__ = ["LOCK_NAME", "OutputFiles", "output_lock", "replace_path"]

#: The lock file that serializes the runs writing one output folder.
LOCK_NAME = ".dprune-output.lock"


@dataclass(frozen=True)
class OutputFiles:
    """Base of a frozen dataclass whose fields are the paths a step wrote."""

    def to_dict(self) -> dict[str, str]:
        """The paths as strings, for logs, JSON and Prefect results."""
        return {field.name: str(getattr(self, field.name)) for field in fields(self)}


def replace_path(staged: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move a staged file or folder to ``target`` (same filesystem), replacing what is there as a
    whole: a reader sees the old or the new one, never a mix."""
    staged, target = Path(staged), Path(target)
    if target.is_dir() and not target.is_symlink():
        retired = target.with_name(f".{target.name}-old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        os.replace(target, retired)
        os.replace(staged, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staged, target)


@contextmanager
def output_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold the output folder's lock (``.dprune-output.lock``): a second run writing the same
    folder waits, so a pruned dataset and its report always come from one run."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks on this platform
        yield
        return
    with open(folder / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
