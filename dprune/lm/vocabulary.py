"""What a KenLM model's vocabulary says about the text it was trained on.

A model carries its training conventions in its vocabulary: cased words (``The``) mean the
text was not lower-cased; digits other than ``0`` mean digits were kept; ``,`` and ``.`` as
words mean punctuation was split off, while ``it.`` or ``them,`` mean it stayed attached;
accented words mean accents were kept. :func:`infer_normalizer` probes the vocabulary for
such words (a KenLM model answers ``word in model``; any container of words works) and
returns the :class:`~dprune.text.normalization.TextNormalizer` that reproduces them, and
:func:`normalizer_mismatches` says where a given normalizer contradicts them.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from dprune.text.normalization import TextNormalizer

__all__ = ["INFERENCE_VERSION", "VocabularyEvidence", "infer_normalizer", "normalizer_mismatches", "read_vocabulary"]

#: Bumped whenever the inference rules change (part of the keys of scores that use them).
INFERENCE_VERSION = 1

_CASED = ("The", "I", "It", "This", "In", "A", "He", "She", "We", "They", "And", "But", "What", "There")
_LOWER = ("the", "it", "this", "in", "a", "he", "she", "we", "they", "and", "but", "what", "there", "of", "to")
_NONZERO_DIGITS = ("1", "2", "3", "5", "10", "20", "100", "2000", "2010", "1990")
_ZERO_DIGITS = ("0", "00", "000", "0000")
_SPLIT_PUNCT = (",", ".", "!", "?", ";", ":")
_ATTACHED_WORDS = ("it", "them", "time", "that", "this", "there", "you", "me", "him", "her", "now", "too", "well",
                   "way", "day", "year", "years", "people", "here", "all", "one", "film", "movie", "story", "life")
_UNICODE_PUNCT = ("\u201c", "\u201d", "\u2019", "\u2014", "\u2013", "\u2026")
_ACCENTED = ("café", "été", "über", "naïve", "résumé", "déjà", "señor", "à", "é", "où", "très", "für", "año", "été")


@dataclass(frozen=True)
class VocabularyEvidence:
    """Which probe words a vocabulary holds (``None`` when no probe of that kind was found)."""

    cased: bool | None
    digits_kept: bool | None
    punctuation: str | None
    accents_kept: bool | None

    def describe(self) -> str:
        """One line of what was found, for messages."""
        parts = []
        if self.cased is not None:
            parts.append("cased words" if self.cased else "lower-case words only")
        if self.digits_kept is not None:
            parts.append("digits 1-9" if self.digits_kept else "digits mapped to 0")
        if self.punctuation is not None:
            parts.append("punctuation split off" if self.punctuation == "split" else "punctuation attached to words")
        if self.accents_kept:
            parts.append("accented words")
        return ", ".join(parts) or "no probe word"


def _any(vocab: Container[str], words: tuple[str, ...]) -> bool:
    return any(w in vocab for w in words)


def read_vocabulary(vocab: Container[str]) -> VocabularyEvidence:
    """Probe a vocabulary for the conventions listed in the module docstring."""
    cased = True if _any(vocab, _CASED) else (False if _any(vocab, _LOWER) else None)
    def with_punct(words: tuple[str, ...]) -> tuple[str, ...]:
        return words + tuple(w + p for w in words for p in ".,")

    digits = True if _any(vocab, with_punct(_NONZERO_DIGITS)) else (
        False if _any(vocab, with_punct(_ZERO_DIGITS)) else None)
    attached = _any(vocab, tuple(w + p for w in _ATTACHED_WORDS for p in ".,!?")) or _any(
        vocab, tuple(w.capitalize() + p for w in _ATTACHED_WORDS for p in ".,"))
    if attached:
        punctuation = "keep" if _any(vocab, _UNICODE_PUNCT) else "normalize"
    else:
        punctuation = "split" if _any(vocab, _SPLIT_PUNCT) else None
    accents = True if _any(vocab, _ACCENTED) else None
    return VocabularyEvidence(cased, digits, punctuation, accents)


def infer_normalizer(vocab: Container[str]) -> tuple[TextNormalizer | None, VocabularyEvidence]:
    """The normalizer that matches a model's vocabulary, and the evidence; ``None`` when the
    vocabulary holds none of the probe words (then keep the default)."""
    ev = read_vocabulary(vocab)
    if ev.cased is None and ev.punctuation is None and ev.digits_kept is None:
        return None, ev
    default = TextNormalizer()
    normalizer = TextNormalizer(
        lower_case=default.lower_case if ev.cased is None else not ev.cased,
        strip_accents=not ev.accents_kept if ev.accents_kept is not None else default.strip_accents,
        digits_to_zero=default.digits_to_zero if ev.digits_kept is None else not ev.digits_kept,
        punctuation=ev.punctuation or default.punctuation,
        remove_non_printing=default.remove_non_printing,
    )
    return normalizer, ev


def normalizer_mismatches(normalizer: TextNormalizer, vocab: Container[str]) -> list[str]:
    """Where ``normalizer`` produces text the vocabulary was not trained on, in words."""
    ev = read_vocabulary(vocab)
    out = []
    if ev.cased is True and normalizer.lower_case:
        out.append("it lower-cases text, but the model has cased words (e.g. 'The')")
    if ev.cased is False and not normalizer.lower_case:
        out.append("it keeps case, but the model has lower-case words only")
    if ev.digits_kept is True and normalizer.digits_to_zero:
        out.append("it maps digits to 0, but the model has digits 1-9")
    if ev.digits_kept is False and not normalizer.digits_to_zero:
        out.append("it keeps digits, but the model maps them to 0")
    if ev.punctuation == "split" and normalizer.punctuation != "split":
        out.append("it keeps punctuation attached, but the model has punctuation split off as words")
    if ev.punctuation in ("normalize", "keep") and normalizer.punctuation in ("split", "remove"):
        out.append(f"it {'splits off' if normalizer.punctuation == 'split' else 'removes'} punctuation, "
                   "but the model has punctuation attached to words (e.g. 'it.')")
    if ev.accents_kept and normalizer.strip_accents:
        out.append("it strips accents, but the model has accented words")
    return out
