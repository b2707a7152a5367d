"""The normalizer a KenLM model was trained with, read from its vocabulary."""

from __future__ import annotations

import warnings

import pytest
from datasets import Dataset

from dprune.lm.vocabulary import infer_normalizer, normalizer_mismatches
from dprune.scorers.perplexity import PerplexityScorer
from dprune.text.normalization import NORMALIZER_PRESETS, TextNormalizer

DEFAULT_VOCAB = {"the", "it", "a", ",", ".", "!", "0", "00", "film"}
RAW_VOCAB = {"The", "the", "it.", "them,", "film", "1", "2010", "I"}


def test_default_vocabulary_gives_the_default_normalizer():
    normalizer, evidence = infer_normalizer(DEFAULT_VOCAB)
    assert normalizer == NORMALIZER_PRESETS["default"]
    assert evidence.describe() == "lower-case words only, digits mapped to 0, punctuation split off"


def test_raw_cased_vocabulary_keeps_case_digits_and_attached_punctuation():
    normalizer, _ = infer_normalizer(RAW_VOCAB)
    assert (normalizer.lower_case, normalizer.digits_to_zero, normalizer.punctuation) == (False, False, "normalize")


def test_lowercase_attached_vocabulary_is_ccnet_like():
    normalizer, _ = infer_normalizer({"the", "it.", "them,", "0"})
    assert normalizer == NORMALIZER_PRESETS["ccnet"]


def test_no_probe_word_keeps_the_default():
    assert infer_normalizer({"zzz", "qqq"})[0] is None


def test_mismatches_are_named():
    problems = normalizer_mismatches(TextNormalizer(), RAW_VOCAB)
    assert any("cased words" in p for p in problems) and any("digits 1-9" in p for p in problems)
    assert any("attached" in p for p in problems)
    assert normalizer_mismatches(TextNormalizer(), DEFAULT_VOCAB) == []


@pytest.mark.slow
def test_real_models_infer_their_training_normalizer(tiny_kenlm_model, kenlm_tools, tmp_path):
    import kenlm

    from dprune.lm.training import train_kenlm_model

    assert infer_normalizer(kenlm.Model(tiny_kenlm_model))[0] == NORMALIZER_PRESETS["default"]
    corpus = Dataset.from_dict({"text": [
        "The film was great, and I loved it.", "It rained in 2010. We stayed home, bored.",
        "They said: this is the best movie of the year!", "I think the story is too long, but fine.",
    ] * 30})
    path = tmp_path / "raw.arpa.bin"
    train_kenlm_model(corpus, path, order=2, memory="32M", normalizer="whitespace", discount_fallback=True)
    inferred, _ = infer_normalizer(kenlm.Model(str(path)))
    assert (inferred.lower_case, inferred.digits_to_zero, inferred.punctuation) == (False, False, "normalize")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PerplexityScorer(str(path)).score_texts(["The film was great."])  # inferred: no warning
        assert not caught
        PerplexityScorer(str(path), text_normalizer="default").score_texts(["The film was great."])
    assert len(caught) == 1 and "lower-cases text" in str(caught[0].message)
