"""Language identification with the py3langid model (langid.py, 97 languages, shipped in the PyPI package).

py3langid walks a byte automaton over one document at a time in Python (a few hundred documents
per second). :class:`BatchIdentifier` runs the same model on a batch at once: the automaton
steps every document of the batch together (one numpy gather per byte position, documents
sorted by length so the active ones form a prefix), the features it emits are counted in a
sparse document x feature matrix, and one sparse product with the model's naive Bayes table
scores the batch. It returns py3langid's own predictions (tested against
``LanguageIdentifier.classify`` and ``rank``). The model is loaded once per process and is
read-only, so it is safe in worker processes.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np

from dprune.corpus.tokens import as_string_array

__all__ = ["BatchIdentifier", "batch_identifier", "identify_languages", "language_labels"]

#: Padded bytes (documents x longest document) that one step of the automaton walks at most.
CHUNK_BYTES = 1 << 22


@lru_cache(maxsize=1)
def reference_identifier():
    """py3langid's own identifier (normalized probabilities), loaded once per process."""
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as error:  # pragma: no cover - the package is a core dependency
        raise ImportError("Please install `py3langid` to identify languages: pip install py3langid") from error
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def encode(text: str) -> bytes:
    """The bytes the model reads: all-uppercase text lowered, NFC-normalized, UTF-8."""
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")


class BatchIdentifier:
    """The py3langid model applied to many documents at once.

    Parameters
    ----------
    identifier : py3langid.langid.LanguageIdentifier
        A loaded identifier; its automaton and naive Bayes arrays are used unchanged.
    """

    def __init__(self, identifier) -> None:
        self.classes = list(identifier.nb_classes)
        self.labels = list(dict.fromkeys(self.classes))
        next_state = np.frombuffer(identifier.tk_nextmove, dtype=np.dtype(f"u{identifier.tk_nextmove.itemsize}"))
        row_base = np.frombuffer(identifier.tk_row, dtype=np.dtype(f"u{identifier.tk_row.itemsize}"))
        row_base = row_base.astype(np.int32) << 8
        output = np.asarray(identifier.tk_output, dtype=np.int32)
        output[output < 0] = len(identifier.nb_ptc)  # "no feature" sorts after every feature
        # a state is walked as its row offset: one gather gives the next offset (high 32 bits) and the feature
        self.transition = (row_base[next_state].astype(np.int64) << 32) | output[next_state].astype(np.int64)
        self.start_base = int(row_base[0])
        self.table = np.asarray(identifier.nb_ptc, dtype=np.float32)
        self.prior = np.asarray(identifier.nb_pc, dtype=np.float32)
        self.alias_pairs = list(identifier._alias_pairs)  # noqa: SLF001 - read-only model metadata
        self.first_column = {label: self.classes.index(label) for label in self.labels}

    def walk(self, data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Features the automaton emits (documents x longest length; the number of features where none).

        Documents come sorted by length, longest first, so that the ones still walking form a prefix.
        """
        count, longest = len(starts), int(lengths[0])
        emitted = np.full((longest, count), len(self.table), dtype=np.int32)
        base = np.full(count, self.start_base, dtype=np.int64)
        active = count
        for position in range(longest):
            while lengths[active - 1] <= position:
                active -= 1
            now = np.take(self.transition, base[:active] + np.take(data, starts[:active] + position))
            emitted[position, :active] = now  # the low 32 bits: the emitted feature
            np.right_shift(now, 32, out=base[:active])
        return np.ascontiguousarray(emitted.T)

    def counts(self, emitted: np.ndarray):
        """Sparse documents x features matrix of log(1 + count) (CSC, for a cache-friendly product).

        Returns the matrix and whether each document has any feature.
        """
        from scipy import sparse

        emitted.sort(axis=1)  # the padding (feature id = number of features) goes last in each row
        count, width = emitted.shape
        flat = emitted.ravel()
        first = np.empty(flat.shape, dtype=bool)
        first[0] = True
        np.not_equal(flat[1:], flat[:-1], out=first[1:])
        first[::width] = True  # so that no run spans two rows
        run = np.flatnonzero(first)
        length = np.empty_like(run)
        np.subtract(run[1:], run[:-1], out=length[:-1])
        length[-1] = flat.size - run[-1]
        feature = flat[run]
        real = feature < len(self.table)
        indptr = np.zeros(count + 1, dtype=np.int64)
        per_document = (first & (flat < len(self.table))).reshape(count, width).sum(axis=1)
        np.cumsum(per_document, out=indptr[1:])
        weights = np.log1p(length[real].astype(np.float32))
        matrix = sparse.csr_matrix((weights, feature[real], indptr), shape=(count, len(self.table)))
        return matrix.tocsc(), per_document > 0

    def scores(self, documents: list[bytes]) -> np.ndarray:
        """Class probabilities (documents x classes, float32), aliased classes folded like py3langid."""
        n = len(documents)
        lengths = np.fromiter(map(len, documents), dtype=np.int64, count=n)
        data = np.frombuffer(b"".join(documents), dtype=np.uint8)
        starts = np.zeros(n, dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        order = np.argsort(-lengths, kind="stable")
        raw = np.zeros((n, len(self.classes)), dtype=np.float32)
        begin = 0
        while begin < n:
            longest = max(int(lengths[order[begin]]), 1)
            end = min(n, begin + max(1, CHUNK_BYTES // longest))
            rows = order[begin:end]
            rows = rows[lengths[rows] > 0]
            if len(rows):
                counts, has = self.counts(self.walk(data, starts[rows], lengths[rows]))
                # a featureless document keeps raw scores of 0, like py3langid
                raw[rows[has]] = (counts @ self.table)[has] + self.prior
            begin = end
        # py3langid: T = sqrt(bytes) tempers the softmax
        raw *= (1.0 / np.sqrt(np.maximum(lengths, 1))).astype(np.float32)[:, None]
        raw -= raw.max(axis=1, keepdims=True)
        np.exp(raw, out=raw)
        raw /= raw.sum(axis=1, keepdims=True)
        for first, duplicate in self.alias_pairs:
            raw[:, first] += raw[:, duplicate]
            raw[:, duplicate] = 0.0
        return raw

    def identify(self, texts: list[str], language: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top language of each non-empty text and its probability (or the probability of ``language``)."""
        probabilities = self.scores([encode(text) for text in texts])
        best = probabilities.argmax(axis=1)
        codes = np.asarray(self.classes, dtype=object)[best]
        column = best if language is None else np.full(len(texts), self.first_column[language])
        return codes, probabilities[np.arange(len(texts)), column].astype(np.float64)


@lru_cache(maxsize=1)
def batch_identifier() -> BatchIdentifier:
    """The process-wide :class:`BatchIdentifier` of py3langid's bundled model."""
    return BatchIdentifier(reference_identifier())


def language_labels() -> list[str]:
    """The ISO 639-1 codes the model knows."""
    return batch_identifier().labels


def identify_languages(texts, language: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Most likely language of each document and a confidence.

    Parameters
    ----------
    texts : pyarrow string array, chunked array or sequence of str
        The documents (a null document is treated as empty).
    language : str, optional
        An ISO 639-1 code from :func:`language_labels`: the confidence is then the model's
        probability that the document is in *this* language, instead of the top language's.

    Returns
    -------
    (codes, confidence)
        An object array of language codes and a float64 array of probabilities in [0, 1].
        A document without any non-space character gets ``"und"`` (undetermined) and 0.
    """
    identifier = batch_identifier()
    if language is not None and language not in identifier.first_column:
        raise ValueError(
            f"Unknown language {language!r} for py3langid. Known codes: {sorted(identifier.labels)}."
        )
    documents = as_string_array(texts).to_pylist()
    codes = np.full(len(documents), "und", dtype=object)
    confidence = np.zeros(len(documents), dtype=np.float64)
    present = np.fromiter((bool(text) and not text.isspace() for text in documents), dtype=bool,
                          count=len(documents))
    if present.any():
        where = np.flatnonzero(present)
        codes[where], confidence[where] = identifier.identify([documents[i] for i in where], language)
    return codes, confidence
