"""WER/CER against hand-computed edit counts; both texts normalized the same way."""

from __future__ import annotations

import numpy as np
import pytest

from dprune.audio.transcripts import ASR_NORMALIZER, error_rates, normalize_texts


def test_word_error_rate_counts_substitutions_insertions_and_deletions():
    refs = ["the cat sat", "the cat sat", "the cat sat", "one two"]
    hyps = ["the hat sat", "the cat sat down", "cat", "one two"]
    np.testing.assert_allclose(error_rates(refs, hyps, metric="wer"), [1 / 3, 1 / 3, 2 / 3, 0.0])


def test_character_error_rate_counts_characters_including_spaces():
    np.testing.assert_allclose(error_rates(["abc", "ab cd"], ["abd", "abcd"], metric="cer"), [1 / 3, 1 / 5])


def test_case_accents_and_punctuation_are_not_errors_but_digits_are_kept():
    assert normalize_texts(["Don't, Stop!", "Café 7"]) == ["dont stop", "cafe 7"]
    assert error_rates(["Don't stop!"], ["dont STOP"]).tolist() == [0.0]
    assert error_rates(["room 7"], ["room 3"]).tolist() == [0.5]  # digits_to_zero would hide this error


def test_empty_reference_scores_the_number_of_hypothesis_tokens():
    assert error_rates(["", None, "..."], ["", "a b", "x"], metric="wer").tolist() == [0.0, 2.0, 1.0]


def test_a_custom_normalizer_applies_to_both_sides():
    assert error_rates(["A B"], ["a b"], normalizer="whitespace").tolist() == [1.0]
    assert error_rates(["A B"], ["a b"], normalizer=str.lower).tolist() == [0.0]
    assert ASR_NORMALIZER.punctuation == "remove"


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="'metric' parameter"):
        error_rates(["a"], ["a"], metric="per")
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        error_rates(["a", "b"], ["a"])
