"""Load datasets for pruning: bundled examples, local files, fsspec URLs, Hub names.

Speech datasets (an ``Audio`` column, an audiofolder, a NeMo manifest) are read by
:mod:`dprune.data.audio`: their audio column holds references, never decoded samples.

Every loaded dataset carries a stable ``int64`` id column named :data:`ROW_ID`
(``"row_id"``), which scores, selections and artifacts refer to.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import datasets

from dprune.core.fingerprint import local_file_sha256
from dprune.data.audio import find_audio_column, is_audiofolder, is_manifest, read_audiofolder, read_manifest, to_audio_references

__all__ = ["ROW_ID", "load_dataset", "list_examples", "example_path"]

#: Name of the stable integer id column every loaded dataset carries.
ROW_ID = "row_id"

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"

# suffix -> format
_FORMATS = {
    ".parquet": "parquet", ".pq": "parquet",
    ".csv": "csv", ".tsv": "tsv",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".arrow": "arrow", ".feather": "arrow",
}
_COMPRESSIONS = {".gz", ".bz2", ".xz", ".zst", ".zstd", ".lz4"}
_STRING_DTYPES = {"string", "large_string", "string_view", "null"}
_DISK_MARKERS = ("state.json", "dataset_dict.json")


# --------------------------------------------------------------------------- examples
def list_examples() -> list[str]:
    """Names of the example datasets bundled with dprune.

    Returns
    -------
    list of str
        Sorted names usable as ``load_dataset(name)``, e.g. ``["rotten_tomatoes"]``.
    """
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(p.name for p in EXAMPLES_DIR.iterdir() if p.is_dir() and any(p.glob("*.parquet")))


def _example_splits(name: str) -> list[str]:
    return sorted(p.stem for p in (EXAMPLES_DIR / name).glob("*.parquet"))


def example_path(name: str, split: str = "train") -> Path:
    """Path of one split of a bundled example dataset.

    Parameters
    ----------
    name : str
        A name from :func:`list_examples`.
    split : str, default "train"
        A split of that example (``"train"`` or ``"test"`` for ``rotten_tomatoes``).

    Returns
    -------
    pathlib.Path
        The Parquet file of that split.

    Raises
    ------
    ValueError
        If ``name`` is not a bundled example or ``split`` is not one of its splits.
    """
    examples = list_examples()
    if name not in examples:
        raise ValueError(
            f"name={name!r} is not a bundled example; expected one of {examples}."
        )
    splits = _example_splits(name)
    if split not in splits:
        raise ValueError(
            f"split={split!r} is not a split of the bundled example {name!r}; "
            f"expected one of {splits}, e.g. load_dataset({name!r}, split={splits[-1]!r})."
        )
    return EXAMPLES_DIR / name / f"{split}.parquet"


# --------------------------------------------------------------------------- public loader
def load_dataset(
    source: str | os.PathLike | datasets.Dataset = "rotten_tomatoes",
    *,
    split: str | None = "train",
    text_column: str | None = "text",
    label_column: str | None = "label",
    id_column: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    audio_column: str | None = None,
) -> datasets.Dataset:
    """Load a text or speech dataset and give it stable integer row ids.

    Parameters
    ----------
    source : str, os.PathLike or datasets.Dataset, default "rotten_tomatoes"
        Resolved in this order:

        1. the name of a bundled example (see :func:`list_examples`);
        2. an fsspec URL (``memory://``, ``file://``, ``s3://``...) of a file
           or of a directory written by ``Dataset.save_to_disk``;
        3. a local file (``.parquet``, ``.csv``, ``.tsv``, ``.json``,
           ``.jsonl``, ``.arrow``; optionally compressed, e.g. ``.csv.gz``), a
           ``save_to_disk`` directory, an audiofolder (audio files plus
           ``metadata.csv``/``metadata.jsonl`` with a ``file_name`` column) or a
           NeMo JSON-lines manifest (``audio_filepath``, ``offset``,
           ``duration``, ``text``, other keys kept);
        3b. several files: a folder of data files of one format (local or URL, not a
           ``save_to_disk`` folder or an audiofolder) or a glob pattern (``"data/*.jsonl.zst"``,
           ``"s3://bucket/part-*.parquet"``), loaded in name order into ``datasets``'
           memory-mapped cache file by file (never read whole into memory);
        4. otherwise a Hugging Face Hub dataset name, loaded with
           ``datasets.load_dataset(source, split=split)`` (needs internet).

        A ``datasets.Dataset`` is used as is (validated and given row ids).
    split : str or None, default "train"
        For bundled examples and Hub datasets, the split to load (bundled:
        ``"train"`` or ``"test"``). For ``save_to_disk`` directories holding a
        ``DatasetDict``, the split to pick. A single file has no splits: it is
        loaded whole as ``"train"``; ``split`` must then be ``"train"`` or
        ``None`` (pass the path of the file holding the other split instead).
    text_column : str or None, default "text"
        Column holding the text (the transcript of speech); must exist and hold
        strings. Rows whose text is None are kept (scorers decide how to treat
        them). None only for speech without transcripts.
    label_column : str or None, default "label"
        Column holding labels. ``None``: no labels. The default ``"label"`` is
        used only if present; any other name must exist. Only validated:
        columns are never renamed or dropped.
    id_column : str or None, default None
        Column whose unique integer values become ``row_id``. If None, an
        existing ``row_id`` column is kept (and validated), otherwise
        ``row_id`` is the row's 0-based position in the source.
    storage_options : mapping, optional
        Passed to fsspec for URLs (e.g. credentials for ``s3://``).
    audio_column : str or None, default None
        Column holding the audio of a speech dataset: a ``datasets.Audio``
        column (decoded or not), file paths, or ``{"path", "bytes"}`` /
        ``{"array", "sampling_rate"}`` structs. It is replaced by references
        (:data:`dprune.data.audio.AUDIO_REF_TYPE`); nothing is decoded. None:
        the first ``Audio`` column if there is one (``"audio"`` for an
        audiofolder or a manifest), else the data is text only.

    Returns
    -------
    datasets.Dataset
        The data, with an ``int64`` column :data:`ROW_ID` of unique ids.

    Raises
    ------
    FileNotFoundError
        If ``source`` looks like a path or URL and does not exist.
    ValueError
        If the data is empty, a named column is missing or has the wrong type,
        ids are not unique integers, ``split`` is unknown, or ``source`` is not
        a bundled name, a file or a loadable Hub dataset.

    Examples
    --------
    >>> ds = load_dataset("rotten_tomatoes", split="test")   # doctest: +SKIP
    >>> ds = load_dataset("reviews.csv", text_column="review", id_column="id")  # doctest: +SKIP
    >>> ds = load_dataset("spoken_digits", split="test")    # doctest: +SKIP
    >>> ds = load_dataset("train_manifest.json")               # doctest: +SKIP
    """
    if split is not None and not isinstance(split, str):
        raise TypeError(f"split must be a str or None, got {type(split).__name__}.")
    if text_column is not None and not isinstance(text_column, str):
        raise TypeError(f"text_column must be a str or None, got {type(text_column).__name__}.")
    if audio_column is not None and not isinstance(audio_column, str):
        raise TypeError(f"audio_column must be a str or None, got {type(audio_column).__name__}.")
    ds, where = _read(source, split, dict(storage_options or {}), audio_column or "audio")
    audio = audio_column or find_audio_column(ds)
    if audio is not None:
        ds = to_audio_references(ds, audio, where=where)
    elif text_column is None:
        raise ValueError(
            f"text_column=None needs audio: {where} has no Audio column (columns: {ds.column_names}). "
            "Pass text_column=<the column holding the text>, or audio_column=<the column holding the audio>."
        )
    return _finalize(ds, where, text_column, label_column, id_column)


# --------------------------------------------------------------------------- reading
def _read(source, split, storage_options, audio_column) -> tuple[datasets.Dataset, str]:
    if isinstance(source, datasets.Dataset):
        return source, "the given Dataset"
    if isinstance(source, datasets.DatasetDict):
        return _pick_split(source, split, "the given DatasetDict"), f"split {split!r} of the given DatasetDict"
    if isinstance(source, os.PathLike):
        return _read_local(Path(source), split, audio_column)
    if not isinstance(source, str):
        raise TypeError(
            f"source must be a bundled example name, a path, a URL or a Hub name (str), "
            f"got {type(source).__name__}."
        )
    if source in list_examples():
        if split is None:
            raise ValueError(
                f"split=None: the bundled example {source!r} has splits "
                f"{_example_splits(source)}; pass one, e.g. split='train'."
            )
        path = example_path(source, split)
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return _from_table(table, split), f"bundled example {source!r} (split {split!r})"
    if any(c in source for c in "*?["):
        return _read_pattern(source, split, storage_options)
    if "://" in source:
        return _read_url(source, split, storage_options)
    path = Path(source).expanduser()
    if path.exists() or _looks_like_path(source):
        return _read_local(path, split, audio_column)
    return _read_hub(source, split)


def _looks_like_path(source: str) -> bool:
    return (
        source.startswith(("/", "./", "../", "~", "\\"))
        or (len(source) > 1 and source[1] == ":")  # C:\...
        or _format_of(source)[0] is not None
    )


def _format_of(name: str) -> tuple[str | None, bool]:
    """Return (format, compressed) from a file name's suffixes."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    compressed = bool(suffixes) and suffixes[-1] in _COMPRESSIONS
    if compressed:
        suffixes = suffixes[:-1]
    return (_FORMATS.get(suffixes[-1]) if suffixes else None), compressed


def _supported() -> str:
    return ", ".join(_FORMATS)


def _file_split_check(split, where) -> None:
    if split not in (None, "train"):
        raise ValueError(
            f"split={split!r} does not apply to {where}: a single file has no splits and "
            f"is loaded whole as 'train'. Pass the path of the file that holds the "
            f"{split!r} rows and leave split at its default."
        )


def _pick_split(dd: datasets.DatasetDict, split, where) -> datasets.Dataset:
    splits = list(dd.keys())
    if split is None and len(splits) == 1:
        return dd[splits[0]]
    if split not in dd:
        raise ValueError(
            f"split={split!r} is not in {where}; expected one of {splits}."
        )
    return dd[split]


def _read_local(path: Path, split, audio_column: str = "audio") -> tuple[datasets.Dataset, str]:
    where = f"file {str(path)!r}"
    if not path.exists():
        raise FileNotFoundError(
            f"source {str(path)!r} does not exist. Expected a bundled example "
            f"({list_examples()}), an existing file ({_supported()}), a directory written "
            f"by Dataset.save_to_disk, an fsspec URL, or a Hugging Face Hub name."
        )
    if is_audiofolder(path):
        return read_audiofolder(path, split, column=audio_column), f"audiofolder {str(path)!r}"
    if is_manifest(path):
        _file_split_check(split, f"manifest {str(path)!r}")
        return read_manifest(path, column=audio_column), f"manifest {str(path)!r}"
    if path.is_dir():
        files = _data_files_in(str(path), None)
        if files and not any((path / marker).exists() for marker in _DISK_MARKERS):
            return _read_many(files, split, {}, f"directory {str(path)!r}")
        return _read_saved(str(path), split, None, f"directory {str(path)!r}")
    fmt, compressed = _format_of(path.name)
    if fmt is None:
        raise ValueError(
            f"cannot tell the format of {where} from its name; expected a suffix "
            f"among {_supported()} (optionally + .gz/.bz2/.xz/.zst). Rename the file."
        )
    _file_split_check(split, where)
    if path.stat().st_size == 0:
        raise ValueError(f"{where} is empty (0 bytes); expected at least one example.")
    if compressed:
        return _read_with_fsspec(str(path), fmt, {}), where
    try:
        p = str(path)
        # datasets' builder cache knows a file by path and modification time only: a file
        # rewritten with its old mtime (cp -p, rsync -a, tar) would load the old rows. Give
        # each distinct content its own cache folder.
        cache = os.path.join(datasets.config.HF_DATASETS_CACHE, "dprune-by-content", local_file_sha256(p)[:32])
        if fmt == "parquet":
            ds = datasets.Dataset.from_parquet(p, cache_dir=cache)
        elif fmt == "csv":
            ds = datasets.Dataset.from_csv(p, cache_dir=cache)
        elif fmt == "tsv":
            ds = datasets.Dataset.from_csv(p, sep="\t", cache_dir=cache)
        elif fmt == "json":
            ds = datasets.Dataset.from_json(p, cache_dir=cache)
        else:  # arrow: datasets' own stream files, else Arrow IPC/Feather files
            try:
                ds = datasets.Dataset.from_file(p)
            except Exception:
                ds = _from_table(_arrow_table(path.read_bytes()), "train")
    except Exception as e:
        # datasets' builders refuse files without rows (e.g. a header-only csv);
        # pyarrow reads them, so the empty-data check below gives the clear error.
        try:
            ds = _read_with_fsspec(str(path), fmt, {})
        except Exception:
            raise ValueError(f"could not read {where} as {fmt}: {type(e).__name__}: {e}") from e
    return ds, where


def _read_saved(url: str, split, storage_options, where) -> tuple[datasets.Dataset, str]:
    try:
        obj = datasets.load_from_disk(url, storage_options=storage_options)
    except FileNotFoundError as e:
        raise ValueError(
            f"{where} is not a dataset written by Dataset.save_to_disk (no "
            f"{' or '.join(_DISK_MARKERS)}); pass a data file ({_supported()}) instead."
        ) from e
    if isinstance(obj, datasets.DatasetDict):
        return _pick_split(obj, split, where), f"split {split!r} of {where}"
    _file_split_check(split, where)
    return obj, where


def _read_url(url: str, split, storage_options) -> tuple[datasets.Dataset, str]:
    import fsspec

    where = f"URL {url!r}"
    fs, path = fsspec.core.url_to_fs(url, **storage_options)
    if fs.isdir(path):
        files = _data_files_in(url, storage_options)
        if files and not any(fs.exists(f"{path.rstrip('/')}/{marker}") for marker in _DISK_MARKERS):
            return _read_many(files, split, storage_options, where)
        return _read_saved(url, split, storage_options, where)
    if not fs.exists(path):
        raise FileNotFoundError(f"{where} does not exist; check the URL and storage_options.")
    fmt, _ = _format_of(path)
    if fmt is None:
        raise ValueError(
            f"cannot tell the format of {where} from its name; expected a suffix among "
            f"{_supported()} (optionally + .gz/.bz2/.xz/.zst)."
        )
    _file_split_check(split, where)
    if fs.size(path) == 0:
        raise ValueError(f"{where} is empty (0 bytes); expected at least one example.")
    return _read_with_fsspec(url, fmt, storage_options), where


def _data_files_in(folder: str, storage_options) -> list[str]:
    """The data files (known format, maybe compressed) directly inside a local folder or URL, sorted."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(folder, **(storage_options or {}))
    names = sorted(fs.ls(path, detail=False))
    files = [n for n in names if _format_of(n)[0] is not None and fs.isfile(n)]
    if "://" in folder:
        files = [fs.unstrip_protocol(f) for f in files]
    return files


def _read_pattern(pattern: str, split, storage_options) -> tuple[datasets.Dataset, str]:
    """Every file matching a glob pattern (local or fsspec URL), as one dataset."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(pattern, **storage_options)
    files = sorted(fs.glob(path))
    if not files:
        raise FileNotFoundError(f"no file matches {pattern!r}; check the pattern (and storage_options for a URL).")
    if "://" in pattern:
        files = [fs.unstrip_protocol(f) for f in files]
    return _read_many(files, split, storage_options, f"files {pattern!r}")


_BUILDERS = {"parquet": ("parquet", {}), "csv": ("csv", {}), "tsv": ("csv", {"sep": "\t"}),
             "json": ("json", {}), "arrow": ("arrow", {})}


def _read_many(files: list[str], split, storage_options, where) -> tuple[datasets.Dataset, str]:
    """Several data files of one format (each maybe gzip/zstd/... compressed), rows in file order.

    ``datasets`` converts them file by file into its memory-mapped Arrow cache: nothing is
    read whole into memory, and a URL is streamed, not first copied whole.
    """
    formats = {_format_of(f)[0] for f in files}
    if None in formats or len(formats) != 1:
        raise ValueError(
            f"{where} must hold files of one format among {_supported()} (optionally compressed); "
            f"got {sorted(str(f) for f in formats)} from {len(files)} files. Select the files with a glob pattern."
        )
    _file_split_check(split, where)
    builder, options = _BUILDERS[formats.pop()]
    try:
        ds = datasets.load_dataset(builder, data_files=list(files), split="train",
                                   storage_options=dict(storage_options) or None, **options)
    except Exception as e:
        raise ValueError(f"could not read {where}: {type(e).__name__}: {e}") from e
    return ds, f"{where} ({len(files)} files)"


def _read_with_fsspec(url: str, fmt: str, storage_options) -> datasets.Dataset:
    """Read one file through fsspec + pyarrow into an in-memory Dataset."""
    import fsspec

    try:
        with fsspec.open(url, "rb", compression="infer", **storage_options) as f:
            data = f.read()
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(pa.BufferReader(data))
        elif fmt in ("csv", "tsv"):
            import pyarrow.csv as pacsv

            opts = pacsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",", newlines_in_values=True)
            table = pacsv.read_csv(pa.BufferReader(data), parse_options=opts)
        elif fmt == "json":
            table = _json_table(data)
        else:
            table = _arrow_table(data)
    except Exception as e:
        raise ValueError(f"could not read {url!r} as {fmt}: {type(e).__name__}: {e}") from e
    return _from_table(table, "train")


def _json_table(data: bytes) -> pa.Table:
    import pyarrow.json as pajson

    try:  # JSON Lines
        return pajson.read_json(pa.BufferReader(data))
    except pa.ArrowInvalid:
        obj = json.loads(data)  # a JSON array of records
        if not isinstance(obj, list) or not all(isinstance(r, dict) for r in obj):
            raise ValueError("expected JSON Lines or a JSON array of objects") from None
        return pa.Table.from_pylist(obj)


def _arrow_table(data: bytes) -> pa.Table:
    try:
        return pa.ipc.open_file(pa.BufferReader(data)).read_all()
    except pa.ArrowInvalid:
        return pa.ipc.open_stream(pa.BufferReader(data)).read_all()


def _from_table(table: pa.Table, split) -> datasets.Dataset:
    from datasets.table import InMemoryTable

    return datasets.Dataset(InMemoryTable(table), split=datasets.NamedSplit(split) if split else None)


def _read_hub(name: str, split) -> tuple[datasets.Dataset, str]:
    if split is None:
        raise ValueError(f"split=None: pass the split to load from the Hub dataset {name!r}, e.g. split='train'.")
    try:
        ds = datasets.load_dataset(name, split=split)
    except Exception as e:
        raise ValueError(
            f"source={name!r} is neither a bundled example ({list_examples()}) nor an "
            f"existing file, directory or URL, so it was tried as a Hugging Face Hub "
            f"dataset name, and loading it failed ({type(e).__name__}: {e}). "
            f"Hub names need internet access (and HF_HUB_OFFLINE unset) unless already "
            f"cached; for a local file, check the path."
        ) from e
    if isinstance(ds, datasets.DatasetDict):  # pragma: no cover - split is always given
        ds = _pick_split(ds, split, f"Hub dataset {name!r}")
    return ds, f"Hub dataset {name!r} (split {split!r})"


# --------------------------------------------------------------------------- validation
def _finalize(ds: datasets.Dataset, where, text_column, label_column, id_column) -> datasets.Dataset:
    columns = list(ds.column_names)
    if len(ds) == 0:
        raise ValueError(
            f"{where} has no rows (columns: {columns}); expected at least one example. "
            f"Check the file, filter or split."
        )
    if text_column is not None and text_column not in columns:
        raise ValueError(
            f"text_column={text_column!r} is not a column of {where}; available columns: "
            f"{columns}. Pass text_column=<the column holding the text>."
        )
    feat = ds.features[text_column] if text_column is not None else None
    if feat is not None and not (isinstance(feat, datasets.Value) and feat.dtype in _STRING_DTYPES):
        raise ValueError(
            f"text_column={text_column!r} of {where} has type {feat}; expected strings. "
            f"Pick the column holding the text, or convert it, e.g. "
            f"ds.cast_column({text_column!r}, datasets.Value('string'))."
        )
    if label_column is not None and label_column not in columns and label_column != "label":
        raise ValueError(
            f"label_column={label_column!r} is not a column of {where}; available columns: "
            f"{columns}. Pass the label column's name, or label_column=None for unlabelled data."
        )

    if id_column is not None:
        if id_column not in columns:
            raise ValueError(
                f"id_column={id_column!r} is not a column of {where}; available columns: "
                f"{columns}. Pass an existing column of unique integers, or id_column=None "
                f"to number rows by position."
            )
        if id_column != ROW_ID and ROW_ID in columns:
            raise ValueError(
                f"{where} already has a {ROW_ID!r} column, and id_column={id_column!r} would "
                f"replace it. Pass id_column={ROW_ID!r} to keep it, or rename/remove one of "
                f"them first (ds.rename_column / ds.remove_columns)."
            )
        ids = _checked_ids(ds, id_column, where, f"id_column={id_column!r}")
        if id_column != ROW_ID:
            return ds.add_column(ROW_ID, ids.to_numpy(), feature=datasets.Value("int64"))
    elif ROW_ID in columns:
        _checked_ids(ds, ROW_ID, where, f"the existing {ROW_ID!r} column")
    else:
        return ds.add_column(ROW_ID, np.arange(len(ds), dtype=np.int64), feature=datasets.Value("int64"))

    if ds.features[ROW_ID] != datasets.Value("int64"):
        ds = ds.cast_column(ROW_ID, datasets.Value("int64"))
    return ds


def _checked_ids(ds: datasets.Dataset, column: str, where: str, what: str) -> pa.Array:
    """Return ``column`` as an int64 array after checking it holds unique integers."""
    arr = ds.select_columns([column]).with_format("arrow")[:][column].combine_chunks()
    fix = "convert it to unique integers (e.g. with ds.map), drop duplicate rows, or pass id_column=None to number rows by position"
    if not pa.types.is_integer(arr.type):
        raise ValueError(f"{what} of {where} has type {arr.type}; expected integers. To fix, {fix}.")
    if arr.null_count:
        raise ValueError(f"{what} of {where} has {arr.null_count} missing values; expected an integer in every row. To fix, {fix}.")
    try:
        arr = pc.cast(arr, pa.int64())
    except pa.ArrowInvalid as e:
        raise ValueError(f"{what} of {where} has values that do not fit int64 ({e}). To fix, {fix}.") from e
    n_unique = pc.count_distinct(arr).as_py()
    if n_unique != len(arr):
        counts = pc.value_counts(arr)
        dup = counts.filter(pc.greater(counts.field("counts"), 1)).field("values")[:5].to_pylist()
        raise ValueError(
            f"{what} of {where} is not unique: {len(arr) - n_unique} duplicate ids "
            f"(e.g. {dup}); expected one id per row. To fix, {fix}."
        )
    return arr
