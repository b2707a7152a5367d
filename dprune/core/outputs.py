"""Output folders: the record of the files a step wrote, whole replacement of a path, one writer at a
time, and a run's files committed together.

A run writes its files into a staging folder inside the output folder
(``.dprune-staging-*``), then :func:`publish` moves them into place after writing a journal
(``.dprune-output-commit.json``) that lists them. A run killed while it moves them leaves the
journal; whoever takes the folder's lock next (:func:`output_lock`) finishes the moves first, so the
files of an output folder always come from one run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

__all__ = ["JOURNAL_NAME", "LOCK_NAME", "STAGING_PREFIX", "OutputFiles", "output_lock", "output_transaction",
           "publish", "recover", "replace_path"]

logger = logging.getLogger("dprune.outputs")

#: The lock file that serializes the runs writing one output folder.
LOCK_NAME = ".dprune-output.lock"
#: The list of staged entries being moved into the folder (present only while a commit is unfinished).
JOURNAL_NAME = ".dprune-output-commit.json"
#: Prefix of the staging folders a run writes its files into.
STAGING_PREFIX = ".dprune-staging-"
#: A path retired by :func:`replace_path` and not yet removed (its run was killed).
RETIRED_RE = re.compile(r"^\..+-old-\d+-[0-9a-f]{8}$")


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


def publish(staging: str | os.PathLike, folder: str | os.PathLike) -> list[str]:
    """Move every entry of ``staging`` (a folder inside ``folder``) into ``folder`` under its name,
    as one commit; returns the names. Hold :func:`output_lock` on ``folder`` while calling it.

    The journal listing the entries is written (atomically) before the first move, so a run
    killed half-way is completed by the next :func:`recover`.
    """
    staging, folder = Path(staging), Path(folder)
    if staging.parent.resolve() != folder.resolve():
        raise ValueError(f"The staging folder {staging} must be inside the output folder {folder}.")
    names = sorted(p.name for p in staging.iterdir() if p.name not in (LOCK_NAME, JOURNAL_NAME)
                   and not p.name.startswith(STAGING_PREFIX))
    partial = folder / f"{JOURNAL_NAME}.tmp-{os.getpid()}"
    partial.write_text(json.dumps({"staging": staging.name, "names": names}))
    os.replace(partial, folder / JOURNAL_NAME)
    recover(folder)
    return names


def recover(folder: str | os.PathLike) -> None:
    """Finish a commit that a killed run left half-done, and remove the staging folders and retired
    paths that killed runs left behind. Hold :func:`output_lock` on ``folder`` while calling it."""
    folder = Path(folder)
    journal = folder / JOURNAL_NAME
    if journal.exists():
        record = json.loads(journal.read_text())
        staging = folder / record["staging"]
        for name in record["names"]:
            if os.path.lexists(staging / name):  # not moved yet
                replace_path(staging / name, folder / name)
        journal.unlink()
    for entry in folder.iterdir():
        if entry.name.startswith(STAGING_PREFIX) or RETIRED_RE.match(entry.name) \
                or entry.name.startswith(f"{JOURNAL_NAME}.tmp-"):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


@contextmanager
def output_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold the output folder's lock (``.dprune-output.lock``): a second run writing the same
    folder waits, so a pruned dataset and its report always come from one run. A commit that a
    killed run left unfinished is completed first (:func:`recover`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no advisory locks on this platform
        yield
        return
    with open(folder / LOCK_NAME, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.warning("dprune: another run is writing %s; waiting for it to finish (lock %s)",
                           folder, folder / LOCK_NAME)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            recover(folder)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def output_transaction(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder``'s lock and yield a staging folder inside it; on success everything written
    there is moved into ``folder`` as one commit (:func:`publish`), on an error it is removed."""
    with output_lock(folder):
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
        try:
            yield staging
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        publish(staging, folder)
