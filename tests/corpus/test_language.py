"""The batched language identifier gives py3langid's own predictions."""

from __future__ import annotations

import numpy as np
import pytest

from dprune.corpus.language import identify_languages, language_labels, reference_identifier
from dprune.data import load_dataset

EDGE_CASES = [
    "Der schnelle braune Fuchs springt über den faulen Hund, und die Katze schläft auf dem Sofa.",
    "Le chat est sur la table, mais il fait très froid dans la maison cet hiver.",
    "El perro corre por el parque mientras los niños juegan con la pelota.",
    "ПРИВЕТ МИР, КАК ДЕЛА",  # all upper case: lowered first, like py3langid
    "Cafe\u0301 au lait, s'il vous plai\u0302t",  # combining accents: NFC-normalized first
    "日本語のテキストです。東京は大きな都市です。",
    "这是一个中文句子，用来测试语言识别。",
    "مرحبا بالعالم، هذا نص باللغة العربية",
    "!!! ??? ...",  # no word, maybe no feature
    "a",
    "x" * 3000,  # one long run of the same feature
    "mixed English text und ein bisschen Deutsch avec un peu de français 🙂",
    "  padded with spaces  ",
    "\n\nline one\nline two\n",
]


@pytest.fixture(scope="module")
def documents():
    rng = np.random.default_rng(0)
    sentences = load_dataset("rotten_tomatoes", split="test")["text"]
    joined = [" ".join(rng.choice(sentences, size=rng.integers(1, 8))) for _ in range(300)]
    return EDGE_CASES + joined + [text.upper() for text in joined[:20]]


def test_codes_and_confidence_equal_py3langid(documents):
    reference = [reference_identifier().classify(text) for text in documents]
    codes, confidence = identify_languages(documents)
    assert codes.tolist() == [code for code, _ in reference]
    np.testing.assert_allclose(confidence, [probability for _, probability in reference], rtol=1e-4, atol=1e-6)
    assert {"de", "fr", "es", "ru", "ja", "zh", "ar", "en"} <= set(codes.tolist())


def test_confidence_of_a_given_language_equals_py3langid_rank(documents):
    some = documents[:40]
    _, german = identify_languages(some, language="de")
    expected = [dict(reference_identifier().rank(text))["de"] for text in some]
    np.testing.assert_allclose(german, expected, rtol=1e-4, atol=1e-6)


def test_empty_documents_and_unknown_language():
    codes, confidence = identify_languages(["", "   ", "The cat sat on the mat and looked out of the window."])
    assert codes.tolist()[:2] == ["und", "und"] and confidence[:2].tolist() == [0.0, 0.0]
    assert codes[2] == "en"
    assert "en" in language_labels() and len(language_labels()) == len(set(language_labels()))
    with pytest.raises(ValueError, match="Unknown language 'xx'"):
        identify_languages(["text"], language="xx")
