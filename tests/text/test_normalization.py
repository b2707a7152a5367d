"""TextNormalizer: each step, presets, and the Arrow path agreeing exactly with the Python path."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dprune.text import normalization as text_normalization
from dprune.text.normalization import (
    NORMALIZER_PRESETS,
    PUNCTUATION_MODES,
    CallableNormalizer,
    TextNormalizer,
    normalizer_config,
    resolve_normalizer,
)


def test_default_steps():
    n = TextNormalizer()
    assert n("The Cat SAT, in 1984!") == "the cat sat , in 0000 !"
    assert n("  Café\u00a0«déjà»   vu  ") == 'cafe " deja " vu'
    assert n("tab\there\nnewline\r\nend") == "tab here newline end"
    assert n("ctrl\x00char\x07s\x7f") == "ctrlchars"
    assert n("١٢٣ and ３") == "000 and 0"  # every Unicode decimal digit
    assert n("한국어") == "한국어"  # Hangul is recomposed after accent stripping
    assert n("") == "" and n(" \t\n ") == ""


@pytest.mark.parametrize(
    "mode,expected",
    [
        ("split", 'he said : " no . . . " - fine .'),
        ("normalize", 'he said: "no..." - fine.'),
        ("remove", "he said no fine"),
        ("keep", "he said: «no…» — fine."),
    ],
)
def test_punctuation_modes(mode, expected):
    assert TextNormalizer(punctuation=mode)("He said: «no…» — fine.") == expected


def test_switches_off():
    n = TextNormalizer(lower_case=False, strip_accents=False, digits_to_zero=False, punctuation="keep",
                       remove_non_printing=False)
    assert n(" Héllo  42,\x01 x ") == "Héllo 42,\x01 x"


def test_whitespace_preset_is_the_original_default_normalizer():
    original = NORMALIZER_PRESETS["whitespace"]
    for text in ["  A  b\tC ", "Héllo, World 42!", "a\nb", ""]:
        assert original(text) == " ".join(text.strip().split())


def test_presets_and_resolution():
    assert resolve_normalizer(None) == TextNormalizer()
    assert resolve_normalizer("ccnet") == TextNormalizer(punctuation="normalize")
    custom = TextNormalizer(digits_to_zero=False)
    assert resolve_normalizer(custom) is custom
    wrapped = resolve_normalizer(str.upper)
    assert isinstance(wrapped, CallableNormalizer) and wrapped("a  b") == "A B"
    with pytest.raises(ValueError, match="Known presets"):
        resolve_normalizer("nope")
    with pytest.raises(TypeError, match="text normalizer"):
        resolve_normalizer(42)


def test_invalid_settings_are_named():
    with pytest.raises(ValueError, match="'punctuation' parameter of TextNormalizer"):
        TextNormalizer(punctuation="drop")
    with pytest.raises(TypeError, match="'lower_case' parameter of TextNormalizer must be a bool"):
        TextNormalizer(lower_case=1)
    with pytest.raises(TypeError, match="expects a str"):
        TextNormalizer()(None)


def test_config_round_trip_and_pickle():
    n = TextNormalizer(punctuation="remove", strip_accents=False)
    config = n.to_config()
    assert config["type"] == "TextNormalizer" and config["version"] == TextNormalizer.VERSION
    assert TextNormalizer.from_config(config) == n
    assert normalizer_config(n) == config == n.dprune_identity()
    assert normalizer_config(None) != normalizer_config("ccnet")
    assert pickle.loads(pickle.dumps(n)) == n
    config = normalizer_config(str.lower)
    assert config["type"] == "callable" and config["name"] == "builtins.str.lower"
    assert config == normalizer_config(str.lower) != normalizer_config(str.upper)  # cached, and by function


def test_callable_normalizer_checks_output():
    bad = CallableNormalizer(lambda text: None)
    with pytest.raises(TypeError, match="must return a str"):
        bad("x")


def test_array_path_keeps_nulls_and_types():
    n = TextNormalizer()
    for type_ in (pa.string(), pa.large_string()):
        out = n.normalize_array(pa.array(["A b", None, "", "Ünïcode  Text"], type_))
        assert out.type == type_
        assert out.to_pylist() == ["a b", None, "", "unicode text"]
    assert n.normalize_array(pa.chunked_array([["X"], ["Y."]])).to_pylist() == ["x", "y ."]
    with pytest.raises(TypeError, match="string array"):
        n.normalize_array(pa.array([1, 2]))


def test_dirty_mask_flags_exactly_what_changes():
    n = TextNormalizer()
    texts = ["already clean .", "Not clean", "a  b", " lead", "trail ", "x.y", "0 is fine", "1 is not", "é", None]
    mask = n.dirty_mask(pa.array(texts)).to_pylist()
    assert mask == [False, True, True, True, True, True, False, True, True, False]


# Alphabet weighted towards what the vectorized ASCII path must reproduce exactly.
_ALPHABET = st.sampled_from(
    list("abcXYZ019 .,;:!?'\"()-_[]{}@#%&*/\\") + ["  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x00",
                                                     "\x07", "\x7f", "$", "+", "<", "=", "^", "`", "|", "~"]
    + ["é", "Ä", "ß", "İ", "ﬁ", "\u0301", "\u00a0", "\u2009", "\u2028", "\x85", "“", "”", "«", "»", "—", "–", "…",
       "．", "，", "。", "１", "٣", "한", "中", "¿", "¡", "·", "€", "\u200b",
       # Characters folded one by one before the ASCII kernels, and neighbours that could interfere:
       # final sigma, Hangul jamo and an Oriya vowel pair that compose, ligatures, letterlike symbols.
       "Σ", "σ", "Й", "Ё", "ά", "ǅ", "ẞ", "ŉ", "Ω", "\u212b", "\u212a", "½", "æ", "\u0308", "\u0338", "\u0345",
       "\u1100", "\u1161", "\u0b47", "\u0b3e", "\u0300", "‰", "₂", "™", "\u2060", "\x80", "\x9f"]
)
_TEXT = st.lists(_ALPHABET, max_size=30).map("".join)
_NORMALIZERS = st.builds(
    TextNormalizer,
    lower_case=st.booleans(),
    strip_accents=st.booleans(),
    digits_to_zero=st.booleans(),
    punctuation=st.sampled_from(PUNCTUATION_MODES),
    remove_non_printing=st.booleans(),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(normalizer=_NORMALIZERS, texts=st.lists(_TEXT, min_size=1, max_size=8))
def test_arrow_path_equals_python_path(normalizer, texts):
    expected = [normalizer(t) for t in texts]
    assert normalizer.normalize_array(pa.array(texts, pa.string())).to_pylist() == expected
    # Force the vectorized ASCII kernels (normally used only for larger batches).
    default = text_normalization._KERNEL_MIN_ROWS
    text_normalization._KERNEL_MIN_ROWS = 0
    try:
        assert normalizer.normalize_array(pa.array(texts, pa.large_string())).to_pylist() == expected
    finally:
        text_normalization._KERNEL_MIN_ROWS = default


@settings(max_examples=200, deadline=None)
@given(normalizer=_NORMALIZERS, text=_TEXT)
def test_idempotent_and_clean_text_passes_through(normalizer, text):
    once = normalizer(text)
    assert normalizer(once) == once
    assert normalizer.dirty_mask(pa.array([once])).to_pylist() in ([False], [True])
    assert normalizer.normalize_array(pa.array([once])).to_pylist() == [once]
    # Single spaces only: Python's split and KenLM's whitespace tokenization agree on words.
    assert once == " ".join(once.split())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(normalizer=_NORMALIZERS, texts=st.lists(st.one_of(_TEXT, st.none()), min_size=1, max_size=10),
       large=st.booleans(), cut=st.integers(0, 3))
def test_scan_is_exact_about_clean_strings_and_counts_spaces(normalizer, texts, large, cut):
    # Mix in already-normalized strings so that clean ones are common, and scan a slice.
    texts = texts + [None if t is None else normalizer(t) for t in texts]
    array = pa.array(texts, pa.large_string() if large else pa.string()).slice(min(cut, len(texts) - 1))
    values = array.to_pylist()
    dirty, spaces = normalizer.scan(array)
    assert spaces.tolist() == [0 if t is None else t.count(" ") for t in values]
    for text, is_dirty in zip(values, dirty):
        if text is None:
            assert not is_dirty
        elif not is_dirty:
            assert normalizer(text) == text
        elif text.isascii():
            assert normalizer(text) != text  # ASCII strings are flagged only when they change
