"""PerplexityScorer: perplexity of every example under a KenLM n-gram reference model.

Low perplexity means the text looks like the reference corpus (fluent, in-domain);
high perplexity flags noise, boilerplate or another domain. Train the reference
model with :func:`dprune.lm.training.train_kenlm_model` and score with the
*same* normalizer.

Formulas (``formula=``), with ``log10 p`` from ``kenlm.Model.score(line)``
(which includes the begin- and end-of-sentence context):

``"ccnet"`` (default)
    The text is split at newlines; each line is normalized and scored as a
    sentence; blank lines are skipped. Document perplexity is
    ``10 ** (-sum(log10 p(line)) / sum(words(line) + 1))`` -- the ``+ 1`` counts the
    ``</s>`` token each line predicts. This is CCNet's ``DocLM``: a long document's
    score is not dominated by one odd line, and line boundaries are real sentence
    boundaries for the model (a model trained by dPrune sees one line per sentence).
``"kenlm"``
    The whole text is one sentence (newlines are whitespace):
    ``10 ** (-log10 p(text) / (words + 1))``, which is exactly ``kenlm.Model.perplexity``.
``"original"``
    The original dPrune formula, kept for reproducing old scores: the whole text is one
    sentence and ``10 ** (-log10 p(text) / words)`` -- it divides by the number of words
    *without* the ``</s>`` token although ``log10 p`` includes its probability, so it
    is biased upwards, most for short texts. (It did not call ``model.perplexity``,
    which divides by ``words + 1``.) Use it with ``text_normalizer="whitespace"`` to
    match the original default normalizer too.

Empty text (nothing left after normalization) scores ``+inf``. ``None`` values raise
a ``ValueError`` naming their row positions, or score ``+inf`` with
``none_policy="inf"``.

Differences from the original ``PerplexityScorer``: ``text_column`` defaults to
``"text"``; the constructor does no I/O, so a missing or broken model file is reported
when scoring starts (``FileNotFoundError`` / :class:`~dprune.lm.training.KenLMModelError`,
no longer "file not found" for every failure); a missing text column raises the
library's :class:`~dprune.core.base.MissingColumnError` (a ``KeyError`` and a ``ValueError``) naming the columns; the default normalizer and formula are the
CCNet-style ones above.

Scoring streams over Arrow record batches of the text column (memory does not
grow with the dataset), finds the strings that need normalizing with one
vectorized scan per batch (already-normalized text passes through), hands KenLM
UTF-8 bytes straight from Arrow, and runs in ``num_proc`` processes.
The perplexity stage (:mod:`dprune.stages.perplexity`) writes the scores as a
sharded, resumable store artifact.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Dataset

from dprune.core.base import format_positions, Scorer, require_columns
from dprune.lm.training import check_kenlm_file, load_kenlm_model
from dprune.lm.vocabulary import INFERENCE_VERSION, infer_normalizer, normalizer_mismatches
from dprune.core.parallel import map_batches
from dprune.core.params import CALLABLE, NON_EMPTY_STR, NONE, InstanceOf, Interval, Options, Predicate
from dprune.core.registry import register_scorer
from dprune.text.normalization import (
    NORMALIZER_PRESETS,
    TextNormalizer,
    normalizer_config,
    resolve_normalizer,
)

__all__ = ["FORMULAS", "PerplexityScorer"]

FORMULAS = ("ccnet", "kenlm", "original")
# Up to this many strings of a batch that need normalizing are fixed one by one in Python;
# more go through the vectorized normalizer.
_PATCH_MAX_ROWS = 64

_PATH = Predicate(
    lambda v: (isinstance(v, str) and len(v) > 0) or isinstance(v, os.PathLike), "a non-empty path (str or os.PathLike)"
)


def _string_array(column: pa.Array | pa.ChunkedArray, name: str) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_null(column.type):
        return column.cast(pa.string())
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise TypeError(
            f"PerplexityScorer needs a text column, but column {name!r} has type {column.type}. "
            "Pass text_column=<a string column>."
        )
    return column


def _space_counts(array: pa.Array) -> np.ndarray:
    """Number of ASCII spaces in each string of a (null-free) string array, vectorized."""
    offsets_type = np.int64 if pa.types.is_large_string(array.type) else np.int32
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=offsets_type)[array.offset: array.offset + len(array) + 1]
    if buffers[2] is None or offsets[-1] == offsets[0]:
        return np.zeros(len(array), dtype=np.int64)
    data = np.frombuffer(buffers[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
    spaces = np.flatnonzero(data == 32)
    return np.diff(np.searchsorted(spaces, offsets - offsets[0])).astype(np.int64)



@register_scorer("perplexity")
class PerplexityScorer(Scorer):
    """Score each example by its perplexity under a KenLM model (lower = more like the reference corpus).

    Parameters
    ----------
    model_path : str or os.PathLike
        KenLM binary (``.bin``) or ARPA file. Checked when scoring starts: a missing file
        raises ``FileNotFoundError``; a file that is not a KenLM model, an incomplete binary
        or a corrupt one raises :class:`dprune.lm.training.KenLMModelError` saying which.
    text_column : str
        Column holding the text (default ``"text"``).
    text_normalizer : None, str, TextNormalizer or callable
        How text is normalized before scoring -- it must match the training corpus.
        ``None``: inferred from the model's vocabulary (case, digits, punctuation split off
        or attached; see :mod:`dprune.lm.vocabulary`), which gives the default
        :class:`~dprune.text.normalization.TextNormalizer` for a model trained by
        :func:`~dprune.lm.training.train_kenlm_model` with its defaults. A given normalizer
        that contradicts the vocabulary is used, with a warning naming the mismatch; a preset name
        (``"default"``, ``"ccnet"``, ``"whitespace"``); a ``TextNormalizer``; or any function
        ``str -> str`` (its output is whitespace-collapsed). Note: the original dPrune
        default only collapsed whitespace; that is ``text_normalizer="whitespace"``.
    batch_size : int
        Rows per record batch streamed through the scorer (and per task with ``num_proc``);
        it changes speed and memory, never the scores. The default, 10,000, keeps per-batch
        overhead negligible (the original default was 100).
    formula : {"ccnet", "kenlm", "original"}
        How log-probabilities become a perplexity (see the module docstring).
    none_policy : {"raise", "inf"}
        ``None`` texts raise a ``ValueError`` naming their positions, or score ``+inf``.
    num_proc : int
        Processes scoring batches in parallel (each loads the model once, memory-mapped).
    score_column : str
        Output column (default ``"score"``; replaced if it exists).

    Notes
    -----
    The model is loaded lazily on first use and is never pickled: a pickled scorer
    carries only its parameters and reloads the model where it is unpickled.
    """

    _parameter_constraints = {
        "model_path": [_PATH],
        "text_column": [NON_EMPTY_STR],
        "text_normalizer": [NONE, Options(tuple(NORMALIZER_PRESETS)), InstanceOf(TextNormalizer), CALLABLE],
        "batch_size": [Interval(int, 1, None)],
        "formula": [Options(FORMULAS)],
        "none_policy": [Options(("raise", "inf"))],
        "num_proc": [Interval(int, 1, None)],
        "score_column": [NON_EMPTY_STR],
    }

    def __init__(
        self,
        model_path: str | os.PathLike,
        text_column: str = "text",
        text_normalizer: None | str | TextNormalizer | Callable[[str], str] = None,
        batch_size: int = 10_000,
        *,
        formula: str = "ccnet",
        none_policy: str = "raise",
        num_proc: int = 1,
        score_column: str = "score",
    ):
        self.model_path = model_path
        self.text_column = text_column
        self.text_normalizer = text_normalizer
        self.batch_size = batch_size
        self.formula = formula
        self.none_policy = none_policy
        self.num_proc = num_proc
        self.score_column = score_column

    # ------------------------------------------------------------------ contract
    def required_columns(self) -> list[str]:
        return [self.text_column]

    def validate_params(self) -> None:
        """Check the declared constraints, then that ``model_path`` is a readable KenLM file."""
        super().validate_params()
        check_kenlm_file(self.model_path, param="model_path")

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_model", None)
        state.pop("_model_id", None)
        state.pop("_normalizer", None)
        return state

    # ------------------------------------------------------------------ model
    def _model_identity(self) -> tuple:
        stat = os.stat(self.model_path)  # any rewrite changes the inode or the change time
        return (os.fspath(self.model_path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)

    def config(self) -> dict[str, Any]:
        """As :meth:`dprune.core.base.Component.config`, plus the model file's content hash, so a
        model replaced at the same path gives another cache key."""
        config = super().config()
        if isinstance(self.model_path, (str, os.PathLike)) and os.path.isfile(self.model_path):
            from dprune.core.fingerprint import local_file_sha256

            config["model_sha256"] = local_file_sha256(self.model_path)
        return config

    def _get_model(self) -> Any:
        identity = self._model_identity()
        if getattr(self, "_model", None) is None or getattr(self, "_model_id", None) != identity:
            self._model = load_kenlm_model(self.model_path, param="model_path")
            self._model_id = identity
        return self._model

    def _get_normalizer(self) -> Any:
        spec = self.text_normalizer
        model = self._get_model()
        cached = getattr(self, "_normalizer", None)
        if cached is None or cached[0] is not spec or cached[1] != self._model_id:
            if spec is None:
                inferred, _ = infer_normalizer(model)
                normalizer = inferred or resolve_normalizer(None)
            else:
                normalizer = resolve_normalizer(spec)
                problems = normalizer_mismatches(normalizer, model) if isinstance(normalizer, TextNormalizer) else []
                if problems:
                    suggestion, _ = infer_normalizer(model)
                    warnings.warn(
                        f"PerplexityScorer: text_normalizer={spec!r} does not match the model {self.model_path}: "
                        f"{'; '.join(problems)}. Scores may be meaningless; pass text_normalizer=None to use the "
                        f"normalizer its vocabulary implies ({suggestion!r}).", stacklevel=3)
            cached = (spec, self._model_id, normalizer)
            self._normalizer = cached
        return cached[2]

    # ------------------------------------------------------------------ scoring core
    def _score_array(self, array: pa.Array, start: int = 0) -> np.ndarray:
        """Perplexities of one Arrow string array; ``start`` is the row position of its first element."""
        array = _string_array(array, self.text_column)
        n = len(array)
        if n == 0:
            return np.empty(0, dtype=np.float64)
        if array.null_count:
            if self.none_policy == "raise":
                positions = np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False)) + start
                raise self._none_error(positions)
            array = pc.fill_null(array, "")
        normalizer = self._get_normalizer()
        units, parents = array, None
        dirty, spaces = normalizer.scan(units)
        if self.formula == "ccnet" and dirty.any():
            # Only strings that are not already normalized can contain a newline.
            if pc.any(pc.match_substring(units.filter(pa.array(dirty)), "\n")).as_py():
                lists = pc.split_pattern(array, "\n")
                parents = pc.list_parent_indices(lists).to_numpy()
                units = pc.list_flatten(lists)
                dirty, spaces = normalizer.scan(units)
        # KenLM takes UTF-8 bytes as they are (a str would be encoded on every call).
        binary = pa.large_binary() if pa.types.is_large_string(units.type) else pa.binary()
        positions = np.flatnonzero(dirty)
        if positions.size > _PATCH_MAX_ROWS:
            mask = pa.array(dirty)
            normalized = normalizer.normalize_array(units, dirty=mask)
            spaces = spaces.copy()
            spaces[dirty] = _space_counts(normalized.filter(mask))
            texts = normalized.cast(binary).to_pylist()
            lengths = pc.binary_length(normalized).to_numpy(zero_copy_only=False)
        else:
            # Few strings to fix (the common case): patch them in Python, keep the rest as is.
            texts = units.cast(binary).to_pylist()
            lengths = pc.binary_length(units).to_numpy(zero_copy_only=False).copy()
            spaces = spaces.copy()
            for i in positions.tolist():
                fixed = normalizer(texts[i].decode("utf-8")).encode("utf-8")
                texts[i], lengths[i], spaces[i] = fixed, len(fixed), fixed.count(b" ")
        nonempty = lengths > 0
        # Normalized text has single spaces between words: words = spaces + 1.
        words = np.where(nonempty, spaces + 1, 0)
        score = self._get_model().score
        if nonempty.all():
            logp = np.fromiter(map(score, texts), dtype=np.float64, count=len(texts))
        else:
            logp = np.fromiter((score(t) if t else 0.0 for t in texts), dtype=np.float64, count=len(texts))
        tokens = words.astype(np.float64)
        if self.formula != "original":
            tokens += nonempty  # one </s> per scored line
        if parents is not None:
            logp = np.bincount(parents, weights=logp, minlength=n)
            tokens = np.bincount(parents, weights=tokens, minlength=n)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            result = np.where(tokens > 0, np.power(10.0, -logp / np.maximum(tokens, 1.0)), np.inf)
        return result

    def score_table(self, table: pa.Table, start: int) -> np.ndarray:
        """Perplexities of the rows of an Arrow table holding ``text_column`` (rows ``start ..`` of a dataset)."""
        return self._score_array(table.column(self.text_column), start)

    def _none_error(self, positions: np.ndarray) -> ValueError:
        return ValueError(
            f"PerplexityScorer: column {self.text_column!r} has {positions.size} None value(s), at row positions "
            f"{format_positions(positions)}. Remove or fill them first (e.g. dataset.filter(lambda r: "
            f"r[{self.text_column!r}] is not None)), or pass none_policy='inf' to give them +inf."
        )

    def prepare(self, dataset: Dataset) -> None:
        """Check the text column and load the model once, before any batch is scored or any worker starts."""
        self.validate_params()
        require_columns(dataset, self.required_columns(), owner=type(self).__name__)
        self._check_column(dataset)
        self._get_model()

    def _check_column(self, dataset: Dataset) -> None:
        arrow_type = dataset.features.arrow_schema.field(self.text_column).type
        if not (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_null(arrow_type)):
            raise TypeError(
                f"PerplexityScorer needs a text column, but column {self.text_column!r} has type {arrow_type}. "
                "Pass text_column=<a string column>."
            )
        if self.none_policy != "raise" or dataset.data.column(self.text_column).null_count == 0:
            return
        # Some stored rows are None: find the positions among the rows actually selected.
        positions = []
        view = dataset.with_format("arrow", columns=[self.text_column])
        for offset in range(0, len(dataset), 65536):
            batch = view[offset:offset + 65536].column(self.text_column)
            if batch.null_count:
                positions.append(np.flatnonzero(pc.is_null(batch).to_numpy(zero_copy_only=False)) + offset)
        if positions:
            raise self._none_error(np.concatenate(positions))

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        """Perplexity of every row, streamed over record batches in ``num_proc`` processes."""
        self.prepare(dataset)
        return map_batches(
            self.score_table, dataset, columns=[self.text_column], batch_size=self.batch_size, num_proc=self.num_proc
        )

    def score_texts(self, texts: Sequence[str | None]) -> np.ndarray:
        """Perplexities of a list of strings (same normalizer and formula as :meth:`score`)."""
        self.validate_params()
        return self._score_array(pa.array(list(texts), pa.string()), 0)

    def cache_config(self) -> dict[str, Any]:
        """Settings that determine the scores, with the model file's content hash (for artifact keys)."""
        from dprune.core.fingerprint import local_file_sha256

        self.validate_params()
        return {
            "scorer": "perplexity",
            "model_sha256": local_file_sha256(self.model_path),
            "normalizer": ({"inferred_from_vocabulary": INFERENCE_VERSION} if self.text_normalizer is None
                           else normalizer_config(self.text_normalizer)),
            "formula": self.formula,
            "none_policy": self.none_policy,
            "score_column": self.score_column,
        }
