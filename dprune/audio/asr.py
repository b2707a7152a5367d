"""Offline speech recognition with PocketSphinx, parallel over processes.

The ``pocketsphinx`` wheel ships an en-US acoustic model, a pronouncing dictionary
(CMUdict) and a general trigram language model, so recognition needs no download.
:class:`PocketSphinxRecognizer` holds the settings that change the transcripts (and
nothing else); :func:`transcribe` runs it on 16 kHz mono clips (float in [-1, 1] or
int16), in ``num_proc`` processes when asked.

Two ways to constrain what is recognized:

``phrases=None`` (default)
    the bundled general en-US language model: any English word sequence (open
    vocabulary, the way NeMo filters ASR training data with a general model);
``phrases=[...]``
    a grammar that accepts exactly one of the given phrases. When the set of possible
    utterances is known (keyword spotting, command sets, prompted read speech: the
    dataset's own distinct transcripts), the recognizer chooses the phrase that best
    fits the audio: much faster than the open model and far more accurate on speech
    unlike the acoustic model's training data. A clip whose transcript is wrong still
    gets the phrase it really says, so its error rate against the given transcript is
    high. Every word must be in the dictionary (an error lists the missing ones).

The transcripts are plain lower-case words (PocketSphinx's dictionary entries; alternative
pronunciation markers such as ``read(2)`` are removed, fillers such as ``<sil>`` dropped).
:meth:`PocketSphinxRecognizer.identity` is the content identity for cache keys: the
package version, a hash of the model files' bytes, the phrases and the options.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np

from dprune.core.fingerprint import canonical_json, directory_fingerprint, hash_text
from dprune.core.parallel import default_start_method

__all__ = ["DEFAULT_OPTIONS", "PocketSphinxRecognizer", "SAMPLE_RATE", "to_int16", "transcribe"]

#: The only sample rate the bundled acoustic model accepts.
SAMPLE_RATE = 16_000

#: PocketSphinx settings used unless overridden: the library's defaults, with logging off.
DEFAULT_OPTIONS: dict[str, Any] = {"loglevel": "FATAL"}

_INSTALL_HINT = (
    "Please install `pocketsphinx` to transcribe audio: pip install 'dprune[audio]' (or pip install pocketsphinx)."
)
_WORD = re.compile(r"^[^\s|()\[\]<>*+;=/\\]+$")


def _pocketsphinx():
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(_INSTALL_HINT) from exc
    return pocketsphinx


@lru_cache(maxsize=4)
def _model_hash(model_dir: str, stamp: tuple) -> str:
    # ``stamp`` (sizes and mtimes) only invalidates this in-process memo; the value is a content hash.
    return directory_fingerprint(model_dir)


@dataclass(frozen=True)
class PocketSphinxRecognizer:
    """What PocketSphinx recognizes with: the bundled en-US model, an optional phrase grammar, options.

    Parameters
    ----------
    phrases : sequence of str, optional
        Recognize exactly one of these phrases (lower-case words separated by spaces,
        each in the dictionary); ``None``: the bundled general language model.
    options : mapping, optional
        Extra PocketSphinx settings (e.g. ``{"beam": 1e-40}``), merged over :data:`DEFAULT_OPTIONS`.
    """

    phrases: tuple[str, ...] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.phrases is not None:
            if isinstance(self.phrases, str) or not all(isinstance(p, str) for p in self.phrases):
                raise TypeError(
                    "The 'phrases' parameter of PocketSphinxRecognizer must be None or a sequence of str. "
                    f"Got {self.phrases!r:.80} instead."
                )
            unique = tuple(sorted({" ".join(p.split()) for p in self.phrases} - {""}))
            if not unique:
                raise ValueError(
                    "The 'phrases' parameter of PocketSphinxRecognizer holds no non-empty phrase; "
                    "pass at least one phrase, or phrases=None for the open-vocabulary model."
                )
            bad = [w for p in unique for w in p.split() if not _WORD.match(w)]
            if bad:
                raise ValueError(
                    f"PocketSphinxRecognizer phrases contain tokens a grammar cannot hold: {sorted(set(bad))[:10]}. "
                    "Normalize the phrases first (dprune.audio.transcripts.normalize_texts removes punctuation)."
                )
            object.__setattr__(self, "phrases", unique)
        if not isinstance(self.options, Mapping):
            raise TypeError(
                f"The 'options' parameter of PocketSphinxRecognizer must be a mapping. Got {self.options!r} instead."
            )
        object.__setattr__(self, "options", dict(self.options))

    # ------------------------------------------------------------------ identity
    def settings(self) -> dict[str, Any]:
        """The PocketSphinx configuration, defaults merged with ``options``."""
        return {**DEFAULT_OPTIONS, "samprate": SAMPLE_RATE, **self.options}

    def identity(self) -> dict[str, Any]:
        """Content identity for cache keys: version, model bytes hash, phrases and settings."""
        pocketsphinx = _pocketsphinx()
        model_dir = os.path.join(pocketsphinx.get_model_path(), "en-us")
        files = sorted(os.path.join(root, name) for root, _, names in os.walk(model_dir) for name in names)
        stamp = tuple((path, os.stat(path).st_size, os.stat(path).st_mtime_ns) for path in files)
        settings = {k: v for k, v in self.settings().items() if k != "loglevel"}
        return {
            "engine": "pocketsphinx",
            "version": getattr(pocketsphinx, "__version__", None) or _distribution_version(),
            "model": _model_hash(model_dir, stamp),
            "phrases": None if self.phrases is None else hash_text("\n".join(self.phrases)),
            "settings": {k: repr(v) if isinstance(v, float) else v for k, v in sorted(settings.items())},
        }

    # ------------------------------------------------------------------ decoding
    def decoder(self) -> Any:
        """A PocketSphinx ``Decoder`` with these settings (and the phrase grammar, if any).

        Decoders are built once per process and settings (loading the model takes about
        a second) and shared; :meth:`recognize` resets one before every clip.
        """
        return _decoder(canonical_json({"phrases": self.phrases, "settings": self.settings()}), self)

    def build_decoder(self) -> Any:
        """A new PocketSphinx ``Decoder`` (prefer :meth:`decoder`, which reuses one)."""
        pocketsphinx = _pocketsphinx()
        decoder = pocketsphinx.Decoder(**self.settings())
        if self.phrases is not None:
            missing = sorted({w for p in self.phrases for w in p.split() if decoder.lookup_word(w) is None})
            if missing:
                raise ValueError(
                    f"PocketSphinxRecognizer: {len(missing)} phrase word(s) are not in the pronouncing dictionary: "
                    f"{missing[:20]}. Spell numbers as words, drop or respell those phrases, or use phrases=None."
                )
            alternatives = " | ".join(f"( {p} )" for p in self.phrases)
            decoder.add_jsgf_string("phrases", f"#JSGF V1.0;\ngrammar phrases;\npublic <phrase> = {alternatives} ;\n")
            decoder.activate_search("phrases")
        return decoder

    def recognize(self, decoder: Any, samples: np.ndarray) -> str:
        """Transcribe one clip of 16 kHz int16 samples with ``decoder`` (from :meth:`decoder`)."""
        if samples.size == 0:
            return ""
        decoder.reinit_feat()  # the front end (noise tracker, CMN) would otherwise carry state from clip to clip
        decoder.start_utt()
        decoder.process_raw(samples.tobytes(), no_search=False, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        if hypothesis is None:
            return ""
        return " ".join(w for w in map(_plain_word, hypothesis.hypstr.split()) if w)


_DECODERS: dict[str, Any] = {}


def _decoder(key: str, recognizer: PocketSphinxRecognizer) -> Any:
    """The process's decoder for settings ``key`` (the two most recent settings are kept)."""
    if key not in _DECODERS:
        decoder = recognizer.build_decoder()
        while len(_DECODERS) >= 2:
            _DECODERS.pop(next(iter(_DECODERS)))
        _DECODERS[key] = decoder
    return _DECODERS[key]


def _distribution_version() -> str:
    from importlib.metadata import version

    return version("pocketsphinx")


def _plain_word(word: str) -> str:
    """``"read(2)"`` -> ``"read"``; fillers (``<s>``, ``<sil>``, ``[noise]``, ``+um+``) -> ``""``."""
    if word.startswith(("<", "[", "+")) or not word:
        return ""
    return word.split("(", 1)[0]


def to_int16(samples: Any, index: int = 0) -> np.ndarray:
    """One clip as contiguous int16 samples (float input in [-1, 1] is scaled and clipped).

    Parameters
    ----------
    samples : array-like, 1-D, float or int16
        The clip at 16 kHz.
    index : int
        Its position, for error messages.
    """
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(
            f"transcribe: clip {index} has shape {array.shape}; expected 1-D mono samples. "
            "Mix to mono first (dprune.audio.decode does)."
        )
    if array.dtype == np.int16:
        return np.ascontiguousarray(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"transcribe: clip {index} has dtype {array.dtype}; expected float samples in [-1, 1] or int16."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"transcribe: clip {index} contains NaN or infinite samples; fix or drop the clip first.")
    return np.round(np.clip(array, -1.0, 1.0) * 32767.0).astype(np.int16)


_WORKER: tuple[PocketSphinxRecognizer, Any] | None = None


def _init_worker(recognizer: PocketSphinxRecognizer) -> None:
    global _WORKER
    _WORKER = (recognizer, recognizer.decoder())


def _recognize_in_worker(samples: np.ndarray) -> str:
    assert _WORKER is not None
    recognizer, decoder = _WORKER
    return recognizer.recognize(decoder, samples)


def transcribe(
    clips: Sequence[Any],
    recognizer: PocketSphinxRecognizer | None = None,
    *,
    sample_rate: int = SAMPLE_RATE,
    num_proc: int = 1,
) -> list[str]:
    """Transcribe each clip with PocketSphinx.

    Parameters
    ----------
    clips : sequence of 1-D arrays
        Mono samples at ``sample_rate`` (float in [-1, 1] or int16).
    recognizer : PocketSphinxRecognizer, optional
        Model settings; default: the bundled open-vocabulary en-US model.
    sample_rate : int, default 16000
        Must be 16000 (the acoustic model's rate).
    num_proc : int, default 1
        Worker processes (each loads its own decoder once).

    Returns
    -------
    list of str, one transcript per clip (``""`` when nothing is recognized)
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(
            f"The 'sample_rate' parameter of transcribe must be {SAMPLE_RATE} (the acoustic model's rate). "
            f"Got {sample_rate!r} instead. Resample first (dprune.audio.decode.resample)."
        )
    if not isinstance(num_proc, int) or isinstance(num_proc, bool) or num_proc < 1:
        raise ValueError(f"The 'num_proc' parameter of transcribe must be an int >= 1. Got {num_proc!r} instead.")
    recognizer = recognizer if recognizer is not None else PocketSphinxRecognizer()
    pcm = [to_int16(clip, i) for i, clip in enumerate(clips)]  # validate everything before decoding
    if not pcm:
        return []
    if num_proc == 1 or len(pcm) == 1:
        decoder = recognizer.decoder()
        return [recognizer.recognize(decoder, clip) for clip in pcm]
    context = multiprocessing.get_context(default_start_method())
    workers = min(num_proc, len(pcm))
    chunksize = max(1, min(16, len(pcm) // (4 * workers)))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(recognizer,)) as pool:
        return list(pool.map(_recognize_in_worker, pcm, chunksize=chunksize))
