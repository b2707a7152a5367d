"""Audio clips in the report: each shown row's ``audio`` reference made playable from the report folder.

A row's audio is a file path or URL (a string), or a struct with ``path`` and/or
``bytes`` and optionally ``offset`` / ``duration`` (the store's audio references,
or the Hugging Face ``Audio`` storage). For the extreme rows (``copy=True``) each
clip is decoded and written beside the page as ``audio-<row_id>.ogg`` (its first
10 seconds, Ogg Vorbis, via :func:`dprune.audio.decode.preview_bytes`), so the
folder plays anywhere and any source format or segment plays in a browser; a clip
that cannot be decoded gets its reason instead of a player. Without the audio
extra (``soundfile``), the file or bytes are copied as they are. For the sampled
rows (``copy=False``) whole local files are linked by ``file://`` address (they play
where the data lives), URLs are kept, and clips held as bytes or as segments get
no player (they would have to be written out one by one).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, Sequence

__all__ = ["UNPLAYABLE", "audio_links", "clip_name"]

#: Prefix of a link that is not a clip but the reason it cannot be played.
UNPLAYABLE = "unplayable: "
_MAGIC = ((b"RIFF", ".wav"), (b"fLaC", ".flac"), (b"OggS", ".ogg"), (b"ID3", ".mp3"), (b"\xff\xfb", ".mp3"))


def clip_name(row_id: Any, suffix: str) -> str:
    """The clip's file name in the report folder (characters a store file name cannot hold become ``_``)."""
    return f"audio-{re.sub(r'[^A-Za-z0-9_.=+-]', '_', str(row_id))}{suffix}"


def _suffix(path: str | None, data: bytes | None) -> str:
    if path and Path(path).suffix:
        return Path(path).suffix.lower()
    for magic, suffix in _MAGIC:
        if data and data.startswith(magic):
            return suffix
    return ".wav"


def _parts(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"path": value}
    if isinstance(value, dict):
        return value
    raise TypeError(
        f"The report's audio column must hold file paths or {{'path', 'bytes'}} structs; got a "
        f"{type(value).__name__}. Store the clip's path (or the Audio feature's storage) in that column."
    )


def _written(parts: dict[str, Any], row_id: Any, output_dir: Path) -> str | None:
    """Write one clip beside the page; return its link, or the reason it cannot be played."""
    path, data = parts.get("path"), parts.get("bytes")
    try:
        from dprune.audio.decode import AudioDecodeError, AudioRef, preview_bytes
    except ImportError:  # no audio extra: copy the clip as it is
        target = clip_name(row_id, _suffix(path, data))
        if data is not None:
            (output_dir / target).write_bytes(data)
        elif path and Path(path).is_file():
            shutil.copyfile(path, output_dir / target)
        else:
            return None
        return target
    ref = AudioRef(path=path, data=data, offset=parts.get("offset") or 0.0, duration=parts.get("duration"))
    try:
        clip = preview_bytes(ref)
    except AudioDecodeError as error:
        return UNPLAYABLE + error.reason
    target = clip_name(row_id, ".ogg")
    (output_dir / target).write_bytes(clip)
    return target


def audio_links(values: Sequence[Any], row_ids: Sequence[int], output_dir: Path, *, copy: bool) -> list[str | None]:
    """A playable address per value (relative to ``output_dir`` when the clip was written there)."""
    links: list[str | None] = []
    for value, row_id in zip(values, row_ids):
        parts = _parts(value)
        path = parts.get("path")
        if not parts or (path is None and parts.get("bytes") is None):
            links.append(None)
        elif copy:
            links.append(_written(parts, row_id, output_dir))
        elif parts.get("bytes") is not None or parts.get("offset") or parts.get("duration"):
            links.append(None)
        elif "://" in path:
            links.append(path)
        else:
            links.append(Path(path).resolve().as_uri())
    return links
