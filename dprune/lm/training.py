"""Train a KenLM reference language model, and load one with errors that say what is wrong.

:func:`train_kenlm_model` normalizes a corpus with the same
:class:`~dprune.text.normalization.TextNormalizer` the perplexity scorer uses,
pipes it into ``lmplz`` and converts the ARPA output with ``build_binary``::

    from dprune.lm.training import train_kenlm_model
    lm = train_kenlm_model(wiki, "ref.bin", order=5, prune=(0, 0, 1))   # Dataset column "text"
    lm = train_kenlm_model("corpus/*.txt.gz", "ref.bin")                 # text files or URLs
    PerplexityScorer(lm.path)

The corpus is a ``datasets.Dataset`` (its ``text_column``), a text file, a
list of files, a glob or any fsspec URL (``s3://bucket/wiki/*.txt``,
compression inferred from the extension). Every line of the text is one
sentence for the model: dataset rows are split at newlines, exactly as the
scorer splits documents into lines; blank lines are skipped.

The kenlm stage (:mod:`dprune.stages.kenlm`) stores the binary in the artifact
store, keyed by the corpus *content* and every setting that changes the model.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dprune.core.base import MissingColumnError
from dprune.text.normalization import NormalizerSpec, normalizer_config, resolve_normalizer

__all__ = [
    "KenLMModelError",
    "TrainedLM",
    "corpus_fingerprint",
    "dataset_corpus_fingerprint",
    "kenlm_config",
    "load_kenlm_model",
    "train_kenlm_model",
]

#: Highest n-gram order the built tools and the ``kenlm`` Python module support.
MAX_ORDER = 6
_BINARY_TYPES = ("probing", "trie")
_MAGIC_BINARY = b"mmap lm http://kheafield.com/code format version"
_MAGIC_INCOMPLETE = b"mmap lm http://kheafield.com/code incomplete"
_ROWS_PER_CHUNK = 10_000


class KenLMModelError(ValueError):
    """A file exists but is not a usable KenLM model (not a model at all, incomplete or corrupt)."""


# dprune.lm.tools is imported lazily: ``python -m dprune.lm.tools`` must not find it
# already imported by ``import dprune`` (runpy warns about that).

# --------------------------------------------------------------------------- loading
def _describe_head(head: bytes) -> str:
    shown = head[:48]
    return repr(shown) + ("..." if len(head) > 48 else "")


def check_kenlm_file(path: str | os.PathLike, *, param: str = "model_path") -> str:
    """Classify ``path`` as ``"binary"`` or ``"arpa"``; raise a precise error otherwise.

    Raises
    ------
    FileNotFoundError
        Nothing exists at ``path``.
    IsADirectoryError, PermissionError
        It is a directory / cannot be read.
    KenLMModelError
        It is empty, an incomplete binary (``build_binary`` was interrupted) or not a KenLM
        file at all.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"The KenLM model file {path!r} (parameter {param!r}) does not exist. Train one with "
            "dprune.lm.training.train_kenlm_model or pass the path of an existing .bin/.arpa model."
        )
    if os.path.isdir(path):
        raise IsADirectoryError(f"The KenLM model path {path!r} (parameter {param!r}) is a directory, not a model file.")
    try:
        with open(path, "rb") as handle:
            head = handle.read(256)
    except PermissionError as error:
        raise PermissionError(f"The KenLM model file {path!r} is not readable: {error}") from error
    if not head:
        raise KenLMModelError(f"The KenLM model file {path!r} is empty (0 bytes); rebuild it.")
    if head.startswith(_MAGIC_INCOMPLETE):
        raise KenLMModelError(
            f"{path!r} is an incomplete KenLM binary: build_binary did not finish writing it. Rebuild the model."
        )
    if head.startswith(_MAGIC_BINARY):
        return "binary"
    if head.lstrip().startswith(b"\\data\\"):
        return "arpa"
    raise KenLMModelError(
        f"{path!r} is not a KenLM model: a KenLM binary starts with {_MAGIC_BINARY.decode()!r} and an ARPA "
        f"file with '\\data\\', but this file starts with {_describe_head(head)}. Check the path, or train "
        "a model with dprune.lm.training.train_kenlm_model."
    )


def load_kenlm_model(path: str | os.PathLike, *, param: str = "model_path") -> Any:
    """Load a KenLM binary or ARPA model with ``kenlm.Model``, explaining failures.

    A missing file raises ``FileNotFoundError``; a file that is not a model, an incomplete
    binary or a corrupt/truncated one raises :class:`KenLMModelError` naming the cause.
    """
    try:
        import kenlm
    except ImportError as error:  # pragma: no cover - kenlm is a dependency
        raise ImportError("Please install `kenlm` to use KenLM models: pip install kenlm") from error
    kind = check_kenlm_file(path, param=param)
    try:
        return kenlm.Model(os.fspath(path))
    except (OSError, RuntimeError, ValueError) as error:
        detail = str(error).strip().splitlines()
        detail_text = " ".join(line.strip() for line in detail if line.strip())[:600]
        if kind == "binary":
            raise KenLMModelError(
                f"{os.fspath(path)!r} has a KenLM binary header but cannot be loaded; it is probably truncated "
                f"or corrupt, or was built for a larger maximum order than this kenlm supports. kenlm said: "
                f"{detail_text}. Rebuild the model (dprune.lm.training.train_kenlm_model)."
            ) from error
        raise KenLMModelError(
            f"{os.fspath(path)!r} looks like an ARPA file but is malformed. kenlm said: {detail_text}"
        ) from error


# --------------------------------------------------------------------------- corpora
def _is_dataset(obj: Any) -> bool:
    try:
        import datasets
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, datasets.Dataset)


def _split_storage(corpus: Any, storage_options: Mapping[str, Any] | None) -> tuple[Any, dict]:
    options = dict(storage_options or {})
    if isinstance(corpus, tuple) and len(corpus) == 2 and isinstance(corpus[1], Mapping):
        corpus, extra = corpus
        options = {**extra, **options}
    return corpus, options


def _open_files(corpus: Any, storage_options: Mapping[str, Any] | None) -> list:
    """fsspec OpenFile objects for a path / URL / glob / list of them, sorted within each glob."""
    import fsspec

    corpus, options = _split_storage(corpus, storage_options)
    items = [corpus] if isinstance(corpus, (str, os.PathLike)) else list(corpus)
    if not items:
        raise ValueError("The corpus is an empty list of files.")
    files = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(
                "A corpus must be a datasets.Dataset, a path/URL/glob, or a list of paths. "
                f"Got a list containing {type(item).__name__}."
            )
        url = os.fspath(item)
        opened = fsspec.open_files(url, mode="rt", encoding="utf-8", compression="infer", **options)
        if not opened:
            raise FileNotFoundError(f"The corpus {url!r} matches no file.")
        for f in opened:
            if not f.fs.isfile(f.path):
                raise FileNotFoundError(f"The corpus file {f.path!r} does not exist or is not a file.")
        files.extend(opened)
    return files


def corpus_fingerprint(
    corpus: Any, *, text_column: str = "text", storage_options: Mapping[str, Any] | None = None
) -> str:
    """Content hash of a training corpus (dataset column, or the bytes of its files, in order)."""
    from dprune.core.fingerprint import dataset_fingerprint, file_fingerprint, hash_text

    if _is_dataset(corpus):
        _check_text_column(corpus, text_column)
        return dataset_corpus_fingerprint(dataset_fingerprint(corpus.select_columns([text_column])))
    hashes = [file_fingerprint(f.full_name, f.fs.storage_options) for f in _open_files(corpus, storage_options)]
    return hash_text("files:" + ",".join(hashes))


def dataset_corpus_fingerprint(column_fingerprint: str) -> str:
    """:func:`corpus_fingerprint` of a dataset whose text column alone has ``dataset_fingerprint`` ``column_fingerprint``."""
    from dprune.core.fingerprint import hash_text

    return hash_text("dataset:" + column_fingerprint)


def _check_text_column(dataset: Any, text_column: str) -> None:
    if text_column not in dataset.column_names:
        raise MissingColumnError(
            f"The corpus has no column {text_column!r} (parameter 'text_column'); its columns are "
            f"{dataset.column_names}. Pass text_column=<the column holding the text>."
        )
    arrow_type = dataset.features.arrow_schema.field(text_column).type
    if not (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)):
        raise TypeError(f"The corpus column {text_column!r} must hold strings; it has type {arrow_type}.")


def _normalized_lines(array: pa.Array, normalizer: Any) -> list[str]:
    """Non-empty normalized lines of a string array (rows split at newlines, nulls skipped)."""
    array = array.drop_null() if array.null_count else array
    if len(array) == 0:
        return []
    if pc.any(pc.match_substring(array, "\n")).as_py():
        array = pc.list_flatten(pc.split_pattern(array, "\n"))
    normalized = normalizer.normalize_array(array)
    nonempty = pc.greater(pc.binary_length(normalized), 0)
    return normalized.filter(nonempty).to_pylist()


def _iter_corpus_chunks(corpus: Any, text_column: str, normalizer: Any, storage_options: Any) -> Iterator[list[str]]:
    if _is_dataset(corpus) or isinstance(corpus, Iterator):
        for dataset in [corpus] if _is_dataset(corpus) else corpus:  # an iterator: one dataset held at a time
            _check_text_column(dataset, text_column)
            view = dataset.with_format("arrow", columns=[text_column])
            for batch in view.iter(batch_size=_ROWS_PER_CHUNK):
                column = batch.column(text_column)
                yield _normalized_lines(column.combine_chunks(), normalizer)
            del view, dataset
        return
    for open_file in _open_files(corpus, storage_options):
        with open_file as handle:
            chunk: list[str] = []
            for line in handle:
                chunk.append(line)
                if len(chunk) >= _ROWS_PER_CHUNK:
                    yield _normalized_lines(pa.array(chunk, pa.string()), normalizer)
                    chunk = []
            if chunk:
                yield _normalized_lines(pa.array(chunk, pa.string()), normalizer)


# --------------------------------------------------------------------------- settings
def _expand_prune(prune: Sequence[int] | None, order: int) -> list[int]:
    if prune is None:
        return [0] * order
    if isinstance(prune, (str, bytes)) or not isinstance(prune, Sequence):
        raise TypeError(f"The 'prune' parameter must be None or a sequence of ints like (0, 0, 1). Got {prune!r} instead.")
    values = list(prune)
    if not values or len(values) > order or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in values
    ):
        raise ValueError(
            f"The 'prune' parameter must hold 1 to order={order} ints >= 0 (count thresholds per order, "
            f"e.g. (0, 0, 1) drops singleton trigrams and above). Got {prune!r} instead."
        )
    if values[0] != 0:
        raise ValueError(f"The 'prune' parameter must start with 0: KenLM cannot prune unigrams. Got {prune!r} instead.")
    if any(b < a for a, b in zip(values, values[1:])):
        raise ValueError(f"The 'prune' thresholds must be non-decreasing. Got {prune!r} instead.")
    values = [int(v) for v in values]
    return values + [values[-1]] * (order - len(values))


def _check_settings(order: Any, binary_type: Any, memory: Any) -> None:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 2 <= order <= MAX_ORDER:
        raise ValueError(
            f"The 'order' parameter must be an int in [2, {MAX_ORDER}] (KenLM binaries need at least bigrams). "
            f"Got {order!r} instead."
        )
    if binary_type not in _BINARY_TYPES:
        raise ValueError(f"The 'binary_type' parameter must be one of {list(_BINARY_TYPES)}. Got {binary_type!r} instead.")
    if not isinstance(memory, str) or not re.fullmatch(r"\d+(\.\d+)?[%bKMGTPEZY]?", memory):
        raise ValueError(
            f"The 'memory' parameter must be an lmplz -S size such as '1G', '512M' or '20%'. Got {memory!r} instead."
        )


def kenlm_config(
    *,
    order: int = 5,
    prune: Sequence[int] | None = None,
    normalizer: NormalizerSpec = None,
    binary_type: str = "probing",
    discount_fallback: bool = False,
) -> dict[str, Any]:
    """The settings that determine a trained model (what its artifact key hashes)."""
    from dprune.lm.tools import KENLM_VERSION

    _check_settings(order, binary_type, "1G")
    return {
        "order": int(order),
        "prune": _expand_prune(prune, int(order)),
        "normalizer": normalizer_config(normalizer),
        "binary_type": binary_type,
        "discount_fallback": bool(discount_fallback),
        "line_split": "newline",
        "kenlm": KENLM_VERSION,
    }



# --------------------------------------------------------------------------- training
@dataclass(frozen=True)
class TrainedLM:
    """Result of :func:`train_kenlm_model`."""

    #: Local path of the KenLM binary.
    path: str
    #: The settings that determine the model (see :func:`kenlm_config`).
    config: dict
    #: Content hash of the corpus.
    corpus_fingerprint: str
    #: Number of n-grams per order, from the ARPA header.
    ngram_counts: dict = field(default_factory=dict)
    #: Number of (non-empty, normalized) training lines.
    num_lines: int | None = None
    #: Size of the intermediate ARPA file, in bytes.
    arpa_bytes: int | None = None


def _pump(lines: Iterable[list[str]], stdin: io.BufferedWriter, counter: list[int], errors: list[BaseException]) -> None:
    try:
        for chunk in lines:
            if chunk:
                counter[0] += len(chunk)
                stdin.write(("\n".join(chunk) + "\n").encode("utf-8"))
    except BrokenPipeError:
        pass  # lmplz died; its exit status and stderr explain why
    except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
        errors.append(error)
    finally:
        try:
            stdin.close()
        except BrokenPipeError:
            pass


def _read_ngram_counts(arpa: Path) -> dict[int, int]:
    counts: dict[int, int] = {}
    with open(arpa, "r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = re.match(r"ngram (\d+)=(\d+)", line.strip())
            if match:
                counts[int(match.group(1))] = int(match.group(2))
            elif line.startswith("\\1-grams:"):
                break
    return counts


def _tail(path: Path, limit: int = 2500) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _run_lmplz(
    chunks: Iterable[list[str]], arpa: Path, workdir: Path, *, order: int, prune: list[int], memory: str,
    discount_fallback: bool, vocab_estimate: int | None,
) -> int:
    from dprune.lm.tools import require_tool

    command = [
        os.fspath(require_tool("lmplz")), "-o", str(order), "-S", memory, "-T", os.fspath(workdir),
        "--skip_symbols", "--arpa", os.fspath(arpa),
    ]
    if any(prune):
        command += ["--prune", *map(str, prune)]
    if discount_fallback:
        command.append("--discount_fallback")
    if vocab_estimate is not None:
        command += ["--vocab_estimate", str(int(vocab_estimate))]
    log_path = workdir / "lmplz.log"
    counter, errors = [0], []
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
        pump = threading.Thread(target=_pump, args=(chunks, process.stdin, counter, errors), daemon=True)
        pump.start()
        try:
            pump.join()
        finally:
            if errors:
                process.kill()
            returncode = process.wait()
    if errors:
        raise errors[0]
    if counter[0] == 0:
        raise ValueError(
            "The corpus has no text: after normalization and splitting into lines every line is empty. "
            "Check the corpus and its text column."
        )
    if returncode != 0 or not arpa.is_file():
        log_text = _tail(log_path)
        hint = ""
        if "BadDiscountException" in log_text or "discount" in log_text.lower():
            hint = (
                "\nThe corpus is too small or too repetitive to estimate Kneser-Ney discounts; use a larger "
                "corpus or pass discount_fallback=True."
            )
        elif "memory" in log_text.lower():
            hint = "\nGive lmplz more memory with memory='2G' (or a percentage such as '30%')."
        raise RuntimeError(f"lmplz failed (exit status {returncode}). Its output ends with:\n{log_text}{hint}")
    return counter[0]


def _build_binary(arpa: Path, output: Path, binary_type: str, workdir: Path, memory: str) -> None:
    from dprune.lm.tools import require_tool

    command = [os.fspath(require_tool("build_binary"))]
    if binary_type == "trie":
        command += ["-T", os.fspath(workdir / "trie-tmp"), "-S", memory]
    command += [binary_type, os.fspath(arpa), os.fspath(output)]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0 or not output.is_file():
        raise RuntimeError(
            f"build_binary failed (exit status {result.returncode}):\n"
            f"{(result.stdout + result.stderr).decode(errors='replace')[-2500:]}"
        )


def train_kenlm_model(
    corpus: Any,
    output_path: str | os.PathLike,
    *,
    text_column: str = "text",
    order: int = 5,
    prune: Sequence[int] | None = None,
    normalizer: NormalizerSpec = None,
    binary_type: str = "probing",
    discount_fallback: bool = False,
    memory: str = "1G",
    vocab_estimate: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
    temp_dir: str | os.PathLike | None = None,
    fingerprint: str | None = None,
) -> TrainedLM:
    """Train an n-gram reference model with KenLM and write it as a binary.

    Parameters
    ----------
    corpus : datasets.Dataset, path, URL, glob or list of them, or an iterator of datasets
        Training text. A dataset's ``text_column`` rows are split into lines; text files
        are read line by line (fsspec URLs and ``.gz``/``.bz2``/``.xz`` work). A
        ``(url, storage_options)`` pair is accepted too. An iterator of datasets (a stored
        dataset's shards, one memory-mapped at a time) is read once, in order; it needs
        ``fingerprint``.
    output_path : path
        Where to write the binary (atomically).
    text_column : str
        Column of a dataset corpus.
    order : int
        N-gram order, 2 to 6 (default 5, as CCNet).
    prune : sequence of int, optional
        ``lmplz --prune`` count thresholds per order, e.g. ``(0, 0, 1)`` drops singleton
        trigrams and longer; the last value applies to higher orders. Default: no pruning.
    normalizer : None, str, TextNormalizer or callable
        Normalization applied to every line; use the same one in ``PerplexityScorer``.
        ``None`` is the default CCNet-style :class:`TextNormalizer`.
    binary_type : {"probing", "trie"}
        KenLM data structure: ``probing`` is fastest to query, ``trie`` smallest.
    discount_fallback : bool
        Pass ``--discount_fallback`` (needed for tiny or artificial corpora, where
        Kneser-Ney discounts cannot be estimated).
    memory : str
        ``lmplz -S`` memory budget (``"1G"``, ``"20%"``); it affects speed, not the model.
    vocab_estimate : int, optional
        ``lmplz --vocab_estimate`` (speed/memory hint only).
    storage_options : dict, optional
        fsspec options for a URL corpus.
    temp_dir : path, optional
        Scratch directory for the ARPA file and lmplz's sort files (default: the system temp).
    fingerprint : str, optional
        The corpus's :func:`corpus_fingerprint` when the caller knows it (else it is computed).

    Returns
    -------
    TrainedLM
        ``path`` of the binary, ``config``, ``corpus_fingerprint``, n-gram counts and the
        number of training lines.

    Raises
    ------
    KenLMToolsNotFoundError
        ``lmplz``/``build_binary`` are not installed (the message gives the build command).
    """
    config = kenlm_config(
        order=order, prune=prune, normalizer=normalizer, binary_type=binary_type, discount_fallback=discount_fallback
    )
    _check_settings(order, binary_type, memory)
    norm = resolve_normalizer(normalizer)
    if fingerprint is None:
        if isinstance(corpus, Iterator):
            raise ValueError("An iterator corpus (datasets read one after another) is read once: pass its "
                             "fingerprint=corpus_fingerprint(...) too.")
        fingerprint = corpus_fingerprint(corpus, text_column=text_column, storage_options=storage_options)
    with tempfile.TemporaryDirectory(prefix="dprune-kenlm-", dir=temp_dir) as tmp:
        workdir = Path(tmp)
        arpa = workdir / "model.arpa"
        binary = workdir / "model.bin"
        chunks = _iter_corpus_chunks(corpus, text_column, norm, storage_options)
        num_lines = _run_lmplz(
            chunks, arpa, workdir, order=int(order), prune=config["prune"], memory=memory,
            discount_fallback=discount_fallback, vocab_estimate=vocab_estimate,
        )
        counts = _read_ngram_counts(arpa)
        arpa_size = arpa.stat().st_size
        _build_binary(arpa, binary, binary_type, workdir, memory)
        arpa.unlink()
        check_kenlm_file(binary)
        _copy_atomic(binary, Path(output_path))
    return TrainedLM(path=os.fspath(Path(output_path).expanduser().resolve()), config=config,
                     corpus_fingerprint=fingerprint, ngram_counts=counts, num_lines=num_lines, arpa_bytes=arpa_size)


def _copy_atomic(source: Path, target: Path) -> None:
    target = target.expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        shutil.copyfile(source, staged)
        os.replace(staged, target)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
