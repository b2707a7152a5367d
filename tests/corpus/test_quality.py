"""Every Gopher statistic against a value computed by hand."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dprune.corpus.quality import GOPHER_RULES, QUALITY_STATISTICS, quality_statistics

# Lines: "The cat sat." | "• The dog ran..." | "The cat sat." | "# tag"; 49 characters.
# Words (12): The cat sat. • The dog ran... The cat sat. # tag; characters 3 3 4 1 3 3 6 3 3 4 1 3 = 37.
MIXED = "The cat sat.\n• The dog ran...\n\nThe cat sat.\n# tag"
# Words a b c d e a b c d e f: the 5-gram "a b c d e" occurs twice and covers 10 of 11 characters.
REPEATS = "a b c d e a b c d e f"
# Paragraphs "p one" | "p two" | "p one"; 19 characters.
PARAGRAPHS = "p one\n\np two\n\np one"

EXPECTED = {
    MIXED: {
        "word_count": 12,
        "mean_word_length": 37 / 12,
        "hash_to_word_ratio": 1 / 12,
        "ellipsis_to_word_ratio": 1 / 12,
        "alphabetic_word_share": 10 / 12,
        "stop_word_count": 3,
        "bullet_line_share": 1 / 4,
        "ellipsis_line_share": 1 / 4,
        "duplicate_line_share": 1 / 4,
        "duplicate_line_chars": 12 / 49,
        "duplicate_paragraph_share": 0,
        "duplicate_paragraph_chars": 0,
        "top_2gram_chars": 2 * 7 / 37,  # "cat sat." (7 characters) twice; "The cat" is shorter
        "top_3gram_chars": 2 * 10 / 37,  # "The cat sat." twice
        "top_4gram_chars": 0,  # no 4-gram repeats
        **{f"duplicate_{n}gram_chars": 0 for n in range(5, 11)},
    },
    REPEATS: {
        "word_count": 11,
        "mean_word_length": 1,
        "alphabetic_word_share": 1,
        "stop_word_count": 0,
        "duplicate_line_share": 0,
        "top_2gram_chars": 4 / 11,
        "top_3gram_chars": 6 / 11,
        "top_4gram_chars": 8 / 11,
        "duplicate_5gram_chars": 10 / 11,
        "duplicate_6gram_chars": 0,
    },
    PARAGRAPHS: {
        "word_count": 6,
        "duplicate_paragraph_share": 1 / 3,
        "duplicate_paragraph_chars": 5 / 19,
        "duplicate_line_share": 1 / 3,
        "duplicate_line_chars": 5 / 19,
        "stop_word_count": 0,
    },
}


@pytest.mark.parametrize("text", list(EXPECTED), ids=["mixed", "repeats", "paragraphs"])
def test_statistics_match_hand_computed_values(text):
    # The document sits between two others, so any leak across documents would show.
    values = quality_statistics(["x y z", text, "the end of it all"])
    for name, expected in EXPECTED[text].items():
        assert values[name][1] == pytest.approx(expected), name


def test_empty_and_null_documents_are_all_zero():
    values = quality_statistics(pa.array(["", None, "  \n "], type=pa.string()))
    for name in QUALITY_STATISTICS:
        np.testing.assert_array_equal(values[name], 0.0, err_msg=name)


def test_stop_words_ignore_case_and_punctuation():
    assert quality_statistics(['"The" WITH, that; bethe'], ["stop_word_count"])["stop_word_count"][0] == 3


def test_overlapping_top_ngram_is_capped_at_one():
    assert quality_statistics(["a b a b a b c"], ["top_4gram_chars"])["top_4gram_chars"][0] == 1.0


def test_only_the_requested_statistics_in_the_order_asked():
    values = quality_statistics(["a b"], ["top_3gram_chars", "word_count"])
    assert list(values) == ["top_3gram_chars", "word_count"]


def test_unknown_statistic_is_named():
    with pytest.raises(ValueError, match="perplexity"):
        quality_statistics(["a"], ["perplexity"])


def test_batches_concatenate_to_the_whole():
    texts = [MIXED, REPEATS, PARAGRAPHS, "", "one two three"] * 3
    whole = quality_statistics(texts)
    parts = [quality_statistics(texts[i:i + 4]) for i in range(0, len(texts), 4)]
    for name in QUALITY_STATISTICS:
        np.testing.assert_allclose(np.concatenate([p[name] for p in parts]), whole[name], err_msg=name)


def test_gopher_rules_cover_known_statistics_with_the_paper_thresholds():
    assert set(GOPHER_RULES) <= set(QUALITY_STATISTICS)
    assert GOPHER_RULES["word_count"] == (50, 100_000)
    assert GOPHER_RULES["duplicate_10gram_chars"] == (None, 0.1) and GOPHER_RULES["duplicate_6gram_chars"] == (None, 0.14)
    assert GOPHER_RULES["top_3gram_chars"] == (None, 0.18)
