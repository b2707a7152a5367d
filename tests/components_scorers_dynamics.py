"""Tiny valid instances and known-bad parameters of the training-dynamics scorers, for tests/test_common.py.

Factories take the 12-row common dataset (``row_id`` int, ``text`` str, ``label`` int 0/1,
``score`` float). Dynamics come from a linear probe on random embeddings (milliseconds);
the cross-entropy scorer uses a two-layer BERT with random weights and the bundled
MiniLM tokenizer.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
from datasets import Dataset

from dprune.core.base import Scorer


_PROBES: dict[str, object] = {}


def probe_dynamics(dataset: Dataset):
    """Dynamics of a tiny linear probe on ``dataset`` (cached per dataset content)."""
    from dprune.core.fingerprint import dataset_fingerprint
    from dprune.dynamics.probe import train_linear_probe

    key = dataset_fingerprint(dataset)
    if key not in _PROBES:
        embeddings = np.random.default_rng(0).normal(size=(len(dataset), 8)).astype(np.float32)
        _PROBES[key] = train_linear_probe(dataset, embeddings, epochs=4, batch_size=4, seeds=(0, 1), learning_rate=0.05)
    return _PROBES[key]


@functools.lru_cache(maxsize=1)
def tiny_classifier():
    """A random two-layer BERT classifier (2 labels) and the bundled MiniLM tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from dprune.models import resolve_model_name

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_name("all-MiniLM-L6-v2"))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=128, num_labels=2)
    model = BertForSequenceClassification(config).eval()
    return model, tokenizer


def _dynamics_factory(cls, **variants) -> Callable[[Dataset], list[Scorer]]:
    def factory(dataset: Dataset) -> list[Scorer]:
        dynamics = probe_dynamics(dataset)
        return [cls(dynamics), cls(dynamics, **variants)] if variants else [cls(dynamics)]

    return factory


def _cross_entropy(dataset: Dataset) -> list[Scorer]:
    from dprune.scorers.cross_entropy import CrossEntropyScorer

    model, tokenizer = tiny_classifier()
    return [CrossEntropyScorer(model, tokenizer, "text", "label", batch_size=4),
            CrossEntropyScorer(model, tokenizer, batch_size=3, max_length=8, score_column="ce")]


def _factories() -> dict[str, Callable[[Dataset], list[Scorer]]]:
    from dprune.scorers.dynamics import (
        AUMScorer,
        DataMapConfidenceScorer,
        DataMapCorrectnessScorer,
        DataMapVariabilityScorer,
        EL2NScorer,
        ForgettingScorer,
        TrainingLossScorer,
    )

    return {
        "forgetting": _dynamics_factory(ForgettingScorer, never_learned="zero"),
        "aum": _dynamics_factory(AUMScorer, label_column=None),
        "el2n": _dynamics_factory(EL2NScorer, epoch=0, mode="forward"),
        "data_map_confidence": _dynamics_factory(DataMapConfidenceScorer, score_column="confidence"),
        "data_map_variability": _dynamics_factory(DataMapVariabilityScorer, score_column="variability"),
        "data_map_correctness": _dynamics_factory(DataMapCorrectnessScorer),
        "training_loss": _dynamics_factory(TrainingLossScorer),
        "cross_entropy": _cross_entropy,
    }


SCORER_FACTORIES: dict[str, Callable[[Dataset], list[Scorer]]] = _factories()

_COMMON_BAD = [
    ({"id_column": ""}, "id_column"),
    ({"label_column": 3}, "label_column"),
    ({"score_column": ""}, "score_column"),
]

SCORER_BAD_PARAMS: dict[str, list[tuple[dict, str]]] = {
    "forgetting": [({"forgetting_callback": 3}, "forgetting_callback"), ({"never_learned": "inf"}, "never_learned"),
                   *_COMMON_BAD],
    "aum": [({"dynamics": None}, "dynamics"), *_COMMON_BAD],
    "el2n": [
        ({"mode": "train"}, "mode"),
        ({"epoch": 1.5}, "epoch"),
        ({"epoch": "first"}, "epoch"),
        ({"dynamics": [1, 2]}, "dynamics"),
        *_COMMON_BAD,
    ],
    "data_map_confidence": [({"dynamics": 1.0}, "dynamics"), *_COMMON_BAD],
    "data_map_variability": [({"dynamics": {}}, "dynamics"), *_COMMON_BAD],
    "data_map_correctness": [({"dynamics": ""}, "dynamics"), *_COMMON_BAD],
    "training_loss": [({"dynamics": 0}, "dynamics"), *_COMMON_BAD],
    "cross_entropy": [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.0}, "batch_size"),
        ({"max_length": -1}, "max_length"),
        ({"text_column": ""}, "text_column"),
        ({"label_column": None}, "label_column"),
        ({"model": 5}, "model"),
        ({"device": 3}, "device"),
        ({"score_column": ""}, "score_column"),
    ],
}
