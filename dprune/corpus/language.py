"""Language identification with py3langid (the langid.py model, 97 languages, shipped in the PyPI package).

The model is loaded once per process and is read-only, so it is safe in worker processes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dprune.corpus.tokens import as_string_array

__all__ = ["identify_languages", "language_labels"]


@lru_cache(maxsize=1)
def _identifier():
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as error:  # pragma: no cover - the package is a core dependency
        raise ImportError("Please install `py3langid` to identify languages: pip install py3langid") from error
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def language_labels() -> list[str]:
    """The ISO 639-1 codes the model knows."""
    return list(_identifier().labels)


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
    identifier = _identifier()
    if language is not None and language not in identifier.labels:
        raise ValueError(
            f"Unknown language {language!r} for py3langid. Known codes: {sorted(identifier.labels)}."
        )
    documents = as_string_array(texts).to_pylist()
    codes = np.empty(len(documents), dtype=object)
    confidence = np.zeros(len(documents), dtype=np.float64)
    for i, text in enumerate(documents):
        if not text or text.isspace():
            codes[i] = "und"
        elif language is None:
            codes[i], confidence[i] = identifier.classify(text)
        else:
            ranked = identifier.rank(text)
            codes[i], confidence[i] = ranked[0][0], dict(ranked)[language]
    return codes, confidence
