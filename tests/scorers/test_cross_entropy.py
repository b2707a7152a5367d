"""CrossEntropyScorer (dprune.scorers.cross_entropy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import ClassLabel, Dataset, Features, Value
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

from dprune.models import resolve_model_name
from dprune.scorers.cross_entropy import CrossEntropyScorer

TEXTS = ["good", "a much longer review that goes on and on about the plot", "bad film", "fine", "",
         "terrible acting and a script that makes no sense at all", "wonderful", "meh"]


@pytest.fixture(scope="module")
def model_and_tokenizer():
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_name("all-MiniLM-L6-v2"))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=128, num_labels=3,
                        id2label={0: "neg", 1: "neutral", 2: "pos"}, label2id={"neg": 0, "neutral": 1, "pos": 2})
    return BertForSequenceClassification(config).eval(), tokenizer


def dataset(labels=None):
    labels = labels if labels is not None else [2, 1, 0, 1, 1, 0, 2, 1]
    return Dataset.from_dict({"text": TEXTS, "label": labels})


def reference(model, tokenizer, texts, labels, max_length=512):
    """One text at a time, no padding: the plain definition."""
    out = []
    with torch.no_grad():
        for text, label in zip(texts, labels):
            batch = tokenizer([text], truncation=True, max_length=max_length, return_tensors="pt")
            logits = model(**batch).logits
            out.append(torch.nn.functional.cross_entropy(logits, torch.tensor([label])).item())
    return np.array(out)


def test_scores_match_the_per_example_loss_in_dataset_order(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    ds = dataset()
    scores = CrossEntropyScorer(model, tokenizer, "text", "label", batch_size=3).score(ds)["score"]
    np.testing.assert_allclose(scores, reference(model, tokenizer, TEXTS, ds["label"]), rtol=1e-4, atol=1e-5)
    # batch size (and hence padding) does not change the scores
    again = CrossEntropyScorer(model, tokenizer, batch_size=8).score(ds)["score"]
    np.testing.assert_allclose(again, scores, rtol=1e-4, atol=1e-5)
    assert model.training is False


def test_truncation(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    ds = dataset()
    scores = CrossEntropyScorer(model, tokenizer, max_length=4).score(ds)["score"]
    np.testing.assert_allclose(scores, reference(model, tokenizer, TEXTS, ds["label"], max_length=4), rtol=1e-4,
                               atol=1e-5)


def test_training_mode_is_restored(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    model.train()
    try:
        CrossEntropyScorer(model, tokenizer).score(dataset())
        assert model.training
    finally:
        model.eval()


def test_string_and_class_label_labels(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    ids = [2, 1, 0, 1, 1, 0, 2, 1]
    expected = CrossEntropyScorer(model, tokenizer).score(dataset(ids))["score"]
    names = [model.config.id2label[i] for i in ids]
    np.testing.assert_allclose(CrossEntropyScorer(model, tokenizer).score(dataset(names))["score"], expected)
    features = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "neutral", "pos"])})
    class_label = Dataset.from_dict({"text": TEXTS, "label": ids}, features=features)
    np.testing.assert_allclose(CrossEntropyScorer(model, tokenizer).score(class_label)["score"], expected)


def test_bad_labels_are_clear_errors(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    scorer = CrossEntropyScorer(model, tokenizer)
    with pytest.raises(ValueError, match="outside the known classes 0..2"):
        scorer.score(dataset([0, 1, 2, 3, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="'great'"):
        scorer.score(dataset(["pos", "great", "neg", "neg", "neg", "neg", "neg", "neg"]))
    with pytest.raises(ValueError, match="missing"):
        scorer.score(Dataset.from_dict({"text": TEXTS, "label": [0, None, 1, 1, 1, 1, 1, 1]}))
    with pytest.raises(KeyError, match="label"):
        scorer.score(Dataset.from_dict({"text": TEXTS}))
    with pytest.raises(ValueError, match="missing values"):
        scorer.score(Dataset.from_dict({"text": ["a", None], "label": [0, 1]}))


def test_model_by_name_loads_lazily_with_its_tokenizer():
    scorer = CrossEntropyScorer("all-MiniLM-L6-v2", max_length=16)
    assert scorer.get_params()["model"] == "all-MiniLM-L6-v2"
    scores = np.asarray(scorer.score(dataset([0, 1, 0, 1, 1, 0, 0, 1]))["score"])
    assert scores.shape == (8,) and np.isfinite(scores).all()
