"""Audio clips in the report: each shown row's ``audio`` reference made playable from the report folder.

A row's audio is a file path or URL (a string), or a struct with ``path`` and/or
``bytes`` (the Hugging Face ``Audio`` storage). Clips given as bytes, and local
files when ``copy`` is set, are written beside the page as ``audio-<row_id>.<ext>``
(a flat folder, as the store keeps it) so the folder plays anywhere; other local files are linked by ``file://`` address
(they play where the data lives) and URLs are kept as they are.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Sequence

__all__ = ["audio_links", "clip_name"]

_MAGIC = ((b"RIFF", ".wav"), (b"fLaC", ".flac"), (b"OggS", ".ogg"), (b"ID3", ".mp3"), (b"\xff\xfb", ".mp3"))


def _suffix(path: str | None, data: bytes | None) -> str:
    if path and Path(path).suffix:
        return Path(path).suffix.lower()
    for magic, suffix in _MAGIC:
        if data and data.startswith(magic):
            return suffix
    return ".wav"


def clip_name(row_id: Any, suffix: str) -> str:
    """The clip's file name in the report folder (characters a store file name cannot hold become ``_``)."""
    return f"audio-{re.sub(r'[^A-Za-z0-9_.=+-]', '_', str(row_id))}{suffix}"


def _parts(value: Any) -> tuple[str | None, bytes | None]:
    if value is None:
        return None, None
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict):
        return value.get("path"), value.get("bytes")
    raise TypeError(
        f"The report's audio column must hold file paths or {{'path', 'bytes'}} structs; got a "
        f"{type(value).__name__}. Store the clip's path (or the Audio feature's storage) in that column."
    )


def audio_links(values: Sequence[Any], row_ids: Sequence[int], output_dir: Path, *, copy: bool) -> list[str | None]:
    """A playable address per value (relative to ``output_dir`` when the clip was written there)."""
    links: list[str | None] = []
    for value, row_id in zip(values, row_ids):
        path, data = _parts(value)
        local = path is not None and "://" not in path
        target = clip_name(row_id, _suffix(path, data))
        if data is not None or (copy and local and Path(path).is_file()):
            if data is not None:
                (output_dir / target).write_bytes(data)
            else:
                shutil.copyfile(path, output_dir / target)
            links.append(target)
        elif local:
            links.append(Path(path).resolve().as_uri())
        else:
            links.append(path)
    return links
