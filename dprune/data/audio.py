"""Audio datasets in: audio references from ``Audio`` columns, audiofolders and NeMo manifests.

A loaded speech dataset keeps audio *out* of the table, as Lhotse and NeMo manifests do:
its audio column is a struct of references (:data:`AUDIO_REF_TYPE`: a file ``path`` or the
encoded ``bytes`` of a file, a segment ``offset`` and ``duration`` in seconds, and the
``sampling_rate`` when the source states it) and the samples are decoded late, shard by
shard (:mod:`dprune.audio.decode`). Three sources are understood:

* a ``datasets.Dataset`` with an ``Audio`` column (decoded or not: its Arrow storage is
  read directly, so neither torchcodec nor FFmpeg is needed), a column of paths, or a
  column of ``{"array", "sampling_rate"}`` dicts (kept as WAV bytes);
* an *audiofolder*: a directory with audio files and ``metadata.csv`` or
  ``metadata.jsonl`` whose ``file_name`` column names each file (relative to the
  metadata file), optionally one such directory per split;
* a JSON-lines manifest in NeMo's shape: one object per line with ``audio_filepath``
  (relative paths are resolved against the manifest's directory), optional ``offset``
  and ``duration`` (seconds) and ``text``; every other key is kept as a column.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import datasets
from datasets.table import InMemoryTable

from dprune.core.fingerprint import local_file_sha256
from dprune.audio.decode import AudioRef

__all__ = [
    "AUDIO_REF_TYPE",
    "MANIFEST_PATH_KEY",
    "is_audiofolder",
    "is_manifest",
    "read_audiofolder",
    "read_manifest",
    "find_audio_column",
    "to_audio_references",
    "refs_from_arrow",
    "audio_files_identity",
]

#: Arrow type of a loaded audio column: one reference per row.
AUDIO_REF_TYPE = pa.struct(
    [
        ("path", pa.string()),
        ("bytes", pa.binary()),
        ("offset", pa.float64()),
        ("duration", pa.float64()),
        ("sampling_rate", pa.int64()),
    ]
)
_REF_FEATURES = datasets.Features(
    {
        "path": datasets.Value("string"),
        "bytes": datasets.Value("binary"),
        "offset": datasets.Value("float64"),
        "duration": datasets.Value("float64"),
        "sampling_rate": datasets.Value("int64"),
    }
)

#: Key of a NeMo manifest line holding the audio file.
MANIFEST_PATH_KEY = "audio_filepath"
_METADATA_FILES = ("metadata.jsonl", "metadata.csv")
_FILE_NAME = "file_name"


# --------------------------------------------------------------------------- sources
def _metadata_file(folder: Path) -> Path | None:
    for name in _METADATA_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def is_audiofolder(path: Path) -> bool:
    """True if ``path`` is a directory with ``metadata.csv``/``metadata.jsonl`` (itself or per split)."""
    if not path.is_dir():
        return False
    return _metadata_file(path) is not None or any(
        _metadata_file(child) is not None for child in path.iterdir() if child.is_dir()
    )


def is_manifest(path: Path) -> bool:
    """True if ``path`` is a ``.json``/``.jsonl`` file whose first line is an object with ``audio_filepath``."""
    if not (path.is_file() and path.suffix.lower() in (".json", ".jsonl", ".ndjson")):
        return False
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                try:
                    first = json.loads(line)
                except ValueError:
                    return False
                return isinstance(first, dict) and MANIFEST_PATH_KEY in first
    return False


def _read_table(path: Path) -> pa.Table:
    if path.suffix == ".csv":
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path)
    import pyarrow.json as pajson

    return pajson.read_json(path)


def _resolve(paths: pa.Array, base: Path) -> pa.Array:
    """Paths relative to ``base`` made absolute; absolute paths and nulls kept."""
    out = [None if p is None else str(p if Path(p).is_absolute() else base / p) for p in paths.to_pylist()]
    return pa.array(out, pa.string())


def _refs(paths: pa.Array, offsets: pa.Array | None, durations: pa.Array | None) -> pa.StructArray:
    n = len(paths)
    offsets = pa.array(np.zeros(n)) if offsets is None else pc.fill_null(pc.cast(offsets, pa.float64()), 0.0)
    durations = pa.nulls(n, pa.float64()) if durations is None else pc.cast(durations, pa.float64())
    return pa.StructArray.from_arrays(
        [paths, pa.nulls(n, pa.binary()), offsets, durations, pa.nulls(n, pa.int64())], fields=list(AUDIO_REF_TYPE)
    )


def _dataset(table: pa.Table, column: str) -> datasets.Dataset:
    features = datasets.Features.from_arrow_schema(table.schema)
    features[column] = _REF_FEATURES
    return datasets.Dataset(InMemoryTable(table.cast(features.arrow_schema)), info=datasets.DatasetInfo(features=features))


def read_audiofolder(path: Path, split: str | None = "train", *, column: str = "audio") -> datasets.Dataset:
    """Read an audiofolder: ``metadata.csv``/``metadata.jsonl`` with a ``file_name`` column.

    Parameters
    ----------
    path : pathlib.Path
        The folder; with per-split subfolders (``train/``, ``test/``...) the one named ``split``.
    split : str or None, default "train"
        Split subfolder to read; ignored when the folder itself holds the metadata.
    column : str, default "audio"
        Name of the audio reference column to add.

    Returns
    -------
    datasets.Dataset
        The metadata columns plus ``column`` holding :data:`AUDIO_REF_TYPE` references.

    Raises
    ------
    ValueError
        If the split does not exist, the metadata has no ``file_name`` column or already
        has a column named ``column``.
    """
    folder = path
    metadata = _metadata_file(path)
    if metadata is None:
        splits = sorted(child.name for child in path.iterdir() if child.is_dir() and _metadata_file(child))
        if split not in splits:
            raise ValueError(f"split={split!r} is not a split of the audiofolder {str(path)!r}; expected one of {splits}.")
        folder = path / split
        metadata = _metadata_file(folder)
    table = _read_table(metadata)
    where = f"audiofolder metadata {str(metadata)!r}"
    if _FILE_NAME not in table.column_names:
        raise ValueError(
            f"{where} has no {_FILE_NAME!r} column (columns: {table.column_names}); expected the audio file of "
            f"each row, relative to the metadata file. Add a {_FILE_NAME!r} column."
        )
    if column in table.column_names:
        raise ValueError(f"{where} already has a column {column!r}; rename it, or pass another audio_column.")
    paths = _resolve(pc.cast(table.column(_FILE_NAME).combine_chunks(), pa.string()), folder)
    return _dataset(table.append_column(column, _refs(paths, None, None)), column)


def read_manifest(path: Path, *, column: str = "audio") -> datasets.Dataset:
    """Read a NeMo-style JSON-lines manifest into a dataset with an audio reference column.

    Parameters
    ----------
    path : pathlib.Path
        The manifest: one JSON object per line with ``audio_filepath`` and optionally
        ``offset``, ``duration``, ``text`` and any other keys (kept as columns).
    column : str, default "audio"
        Name of the audio reference column to add.

    Returns
    -------
    datasets.Dataset

    Raises
    ------
    ValueError
        If a line has no ``audio_filepath`` or the manifest already has a column ``column``.
    """
    table = _read_table(path)
    where = f"manifest {str(path)!r}"
    if MANIFEST_PATH_KEY not in table.column_names:
        raise ValueError(f"{where} has no {MANIFEST_PATH_KEY!r} key; expected a NeMo manifest (one JSON object per line).")
    paths = table.column(MANIFEST_PATH_KEY).combine_chunks()
    if paths.null_count:
        line = int(pc.index(pc.is_null(paths), True).as_py()) + 1
        raise ValueError(
            f"line {line} of {where} has no {MANIFEST_PATH_KEY!r}; expected the audio file on every line. "
            "Fix or remove that line."
        )
    if column in table.column_names:
        raise ValueError(f"{where} already has a key {column!r}; rename it, or pass another audio_column.")

    def optional(name: str) -> pa.Array | None:
        return table.column(name).combine_chunks() if name in table.column_names else None

    refs = _refs(_resolve(pc.cast(paths, pa.string()), path.parent), optional("offset"), optional("duration"))
    return _dataset(table.append_column(column, refs), column)


# --------------------------------------------------------------------------- columns
def find_audio_column(ds: datasets.Dataset) -> str | None:
    """The first column with a ``datasets.Audio`` feature or audio reference type, if any."""
    for name, feature in ds.features.items():
        if isinstance(feature, datasets.Audio) or feature == _REF_FEATURES:
            return name
    return None


def _wav_bytes(array: Any, rate: int) -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.asarray(array, dtype=np.float32), int(rate), format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def _convert(batch: pa.Table, column: str, base: Path | None, where: str) -> pa.Table:
    values = batch.column(column).combine_chunks()
    n = len(values)
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        paths = values if base is None else _resolve(values, base)
        refs = _refs(pc.cast(paths, pa.string()), None, None)
    elif pa.types.is_struct(kind) and {"array", "sampling_rate"} <= {f.name for f in kind}:
        rows = values.to_pylist()
        data = [None if r is None else _wav_bytes(r["array"], r["sampling_rate"]) for r in rows]
        rates = [None if r is None else int(r["sampling_rate"]) for r in rows]
        refs = pa.StructArray.from_arrays(
            [pa.nulls(n, pa.string()), pa.array(data, pa.binary()), pa.array(np.zeros(n)), pa.nulls(n, pa.float64()),
             pa.array(rates, pa.int64())],
            fields=list(AUDIO_REF_TYPE),
        )
    elif pa.types.is_struct(kind) and {"path", "bytes"} <= {f.name for f in kind}:
        paths = values.field("path")
        if base is not None:
            paths = _resolve(paths, base)
        fields = {f.name for f in kind}

        def field(name: str, default: pa.Array) -> pa.Array:
            return pc.cast(values.field(name), default.type) if name in fields else default

        refs = pa.StructArray.from_arrays(
            [
                pc.cast(paths, pa.string()),
                pc.cast(values.field("bytes"), pa.binary()),
                pc.fill_null(field("offset", pa.array(np.zeros(n))), 0.0),
                field("duration", pa.nulls(n, pa.float64())),
                field("sampling_rate", pa.nulls(n, pa.int64())),
            ],
            fields=list(AUDIO_REF_TYPE),
        )
    else:
        raise ValueError(
            f"audio_column={column!r} of {where} has type {kind}; expected a datasets.Audio column, file paths "
            "(strings), {'path', 'bytes'} structs or {'array', 'sampling_rate'} dicts. Pick the audio column."
        )
    if values.null_count:
        refs = pa.StructArray.from_arrays(refs.flatten(), fields=list(AUDIO_REF_TYPE), mask=values.is_null())
    index = batch.column_names.index(column)
    return batch.set_column(index, column, refs)


def to_audio_references(
    ds: datasets.Dataset, column: str, *, base_dir: Path | None = None, where: str = "the dataset"
) -> datasets.Dataset:
    """Turn ``column`` into :data:`AUDIO_REF_TYPE` references without decoding any audio.

    Parameters
    ----------
    ds : datasets.Dataset
        The data.
    column : str
        Its audio column: a ``datasets.Audio`` column (decoded or not), file paths,
        ``{"path", "bytes"}`` structs or ``{"array", "sampling_rate"}`` dicts.
    base_dir : pathlib.Path, optional
        Directory relative paths are resolved against (default: kept as they are).
    where : str
        Description of the source for error messages.

    Returns
    -------
    datasets.Dataset
        The same rows, ``column`` replaced by references (other columns untouched).

    Raises
    ------
    ValueError
        If ``column`` is missing or holds something else.
    """
    if column not in ds.column_names:
        raise ValueError(
            f"audio_column={column!r} is not a column of {where}; available columns: {ds.column_names}. "
            "Pass audio_column=<the column holding the audio>."
        )
    if ds.features[column] == _REF_FEATURES:
        return ds
    features = ds.features.copy()
    features[column] = _REF_FEATURES
    converted = ds.with_format("arrow").map(
        _convert, batched=True, batch_size=1000, features=features, fn_kwargs={"column": column, "base": base_dir, "where": where}
    )
    return converted.with_format(None)


def refs_from_arrow(column: pa.Array | pa.ChunkedArray) -> list[AudioRef]:
    """One :class:`~dprune.audio.decode.AudioRef` per row of an :data:`AUDIO_REF_TYPE` column (None -> empty ref)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    out = []
    for row in column.to_pylist():
        if row is None:
            out.append(AudioRef())
        else:
            out.append(AudioRef(path=row["path"], data=row["bytes"], offset=row["offset"] or 0.0, duration=row["duration"]))
    return out


def audio_files_identity(column: pa.Array | pa.ChunkedArray) -> str:
    """A hash of the *content* of every referenced file (clips held as bytes are skipped).

    Clips stored as bytes are part of the dataset's content key already. A file referenced
    by path is identified by the sha256 of its bytes (:func:`~dprune.core.fingerprint.local_file_sha256`,
    hashed once per process while its device, inode, size, modification and change times stay
    the same), so a clip replaced at the same path, even with its old modification time
    restored, changes the identity; a missing file is recorded as missing.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    digest = hashlib.sha256()
    paths = column.field("path").to_pylist()
    has_bytes = column.field("bytes").is_valid().to_pylist()
    for path, inline in zip(paths, has_bytes):
        if inline or path is None:
            digest.update(b"-\n")
            continue
        try:
            digest.update(f"{local_file_sha256(path)}\n".encode())
        except OSError:
            digest.update(f"{path}\tmissing\n".encode())
    return digest.hexdigest()
