"""Agreement of a recognized transcript with the given one: word and character error rates.

Both texts go through the *same* :class:`~dprune.text.normalization.TextNormalizer`
before they are compared, so case, accents and punctuation never count as errors.
The default, :data:`ASR_NORMALIZER`, lower-cases, strips accents, deletes punctuation
(``"Don't!"`` -> ``"dont"``) and keeps digits as they are (``digits_to_zero`` would make
"7" and "3" equal). Numbers are not verbalized: "7" and "seven" differ, so write
transcripts and hypotheses in the same style.

Edit distances come from ``jiwer`` (substitutions + deletions + insertions, per pair):

* ``wer = word edits / reference words``;
* ``cer = character edits / reference characters`` (spaces between words count, as in jiwer).

Rates are not capped, so a hypothesis much longer than its reference scores above 1.
An empty reference (after normalization) has no denominator: its rate is the number of
hypothesis tokens (words or characters), i.e. 0 when both are empty, as if the
reference had length 1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dprune.text.normalization import NormalizerSpec, TextNormalizer, resolve_normalizer

__all__ = ["ASR_NORMALIZER", "METRICS", "error_rates", "normalize_texts"]

#: Metrics :func:`error_rates` computes.
METRICS = ("wer", "cer")

#: The normalizer both transcripts go through by default.
ASR_NORMALIZER = TextNormalizer(lower_case=True, strip_accents=True, digits_to_zero=False, punctuation="remove")


def normalize_texts(texts: Sequence[str | None], normalizer: NormalizerSpec = ASR_NORMALIZER) -> list[str]:
    """Normalize each text (``None`` becomes ``""``) with one normalizer.

    Parameters
    ----------
    texts : sequence of str or None
        The texts.
    normalizer : TextNormalizer, preset name or callable, default :data:`ASR_NORMALIZER`
        As accepted by :func:`~dprune.text.normalization.resolve_normalizer`.

    Returns
    -------
    list of str
    """
    normalize = resolve_normalizer(normalizer)
    return [normalize(text) if text else "" for text in texts]


def error_rates(
    references: Sequence[str | None],
    hypotheses: Sequence[str | None],
    *,
    metric: str = "wer",
    normalizer: NormalizerSpec = ASR_NORMALIZER,
) -> np.ndarray:
    """Word or character error rate of each hypothesis against its reference.

    Parameters
    ----------
    references, hypotheses : sequence of str or None
        Row-aligned texts (``None`` counts as empty).
    metric : {"wer", "cer"}
        Word or character error rate.
    normalizer : TextNormalizer, preset name or callable, default :data:`ASR_NORMALIZER`
        Applied to both sides.

    Returns
    -------
    numpy.ndarray of float64, one rate per row
    """
    import jiwer

    if metric not in METRICS:
        raise ValueError(
            f"The 'metric' parameter of error_rates must be one of {list(METRICS)}. Got {metric!r} instead."
        )
    if len(references) != len(hypotheses):
        raise ValueError(
            f"error_rates got {len(references)} references but {len(hypotheses)} hypotheses; "
            "pass one hypothesis per reference, in the same order."
        )
    refs = normalize_texts(references, normalizer)
    hyps = normalize_texts(hypotheses, normalizer)
    process = jiwer.process_words if metric == "wer" else jiwer.process_characters
    rates = np.empty(len(refs), dtype=np.float64)
    for i, (ref, hyp) in enumerate(zip(refs, hyps)):
        if not ref:
            rates[i] = float(len(hyp.split()) if metric == "wer" else len(hyp))
            continue
        out = process(ref, hyp)
        errors = out.substitutions + out.deletions + out.insertions
        rates[i] = errors / (out.hits + out.substitutions + out.deletions)
    return rates
