"""CrossEntropyScorer: the loss of a trained classifier on every example.

A high loss marks examples the model gets wrong (hard, ambiguous or
mislabeled); a low loss marks easy ones. The model is used as given (eval mode,
no gradients); it should be a classifier trained on the task, e.g. the output
of :func:`dprune.dynamics.finetune.finetune_dynamics` or any fine-tuned checkpoint.

Speed: texts are sorted by length and batched in that order (length
bucketing), so each batch pads to nearly its own length; scores are written
back in dataset order.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.base import Scorer, column_to_numpy
from dprune.data.labels import LabelMapping, encode_labels, label_array
from dprune.core.params import NON_EMPTY_STR, NONE, Interval, Predicate
from dprune.core.registry import register_scorer

__all__ = ["CrossEntropyScorer"]

_MODEL = Predicate(
    lambda v: (isinstance(v, str) and len(v) > 0) or isinstance(v, os.PathLike) or callable(v),
    "a sequence-classification model (torch module) or a model name/path",
)
_DEVICE = Predicate(
    lambda v: (isinstance(v, str) and len(v) > 0) or type(v).__name__ == "device", "a device name or torch.device"
)
_TOKENIZER = Predicate(lambda v: v is None or callable(v), "None or a tokenizer")


@register_scorer("cross_entropy")
class CrossEntropyScorer(Scorer):
    """Per-example cross-entropy loss of a classifier.

    Parameters
    ----------
    model : transformers model, or str
        A sequence-classification model returning ``logits`` of shape (batch, num_labels),
        or the name/path of a fine-tuned checkpoint (loaded on first use with
        ``AutoModelForSequenceClassification``; ``"all-MiniLM-L6-v2"`` resolves to the
        bundled copy, whose classification head is untrained).
    tokenizer : tokenizer, optional
        Defaults to the tokenizer saved with ``model``.
    text_column : str, default "text"
    label_column : str, default "label"
        Class ids, ClassLabel, or strings found in ``model.config.label2id``.
    batch_size : int, default 8
    max_length : int, default 512
        Texts are truncated to this many tokens.
    device : str, optional
        Where to run; default: the model's current device.
    score_column : str, default "score"
    """

    _parameter_constraints = {
        "model": [_MODEL],
        "tokenizer": [_TOKENIZER],
        "text_column": [NON_EMPTY_STR],
        "label_column": [NON_EMPTY_STR],
        "batch_size": [Interval(int, 1, None)],
        "max_length": [Interval(int, 1, None)],
        "device": [NONE, _DEVICE],
        "score_column": [NON_EMPTY_STR],
    }

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        text_column: str = "text",
        label_column: str = "label",
        batch_size: int = 8,
        max_length: int = 512,
        device: Any = None,
        score_column: str = "score",
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.text_column = text_column
        self.label_column = label_column
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device
        self.score_column = score_column

    def required_columns(self) -> list[str]:
        return [self.text_column, self.label_column]

    def config(self) -> dict[str, Any]:
        """As :meth:`dprune.core.base.Component.config`, plus the content identity of a model given
        by path (hash of its files) or hub name (its cached commit)."""
        config = super().config()
        if isinstance(self.model, (str, os.PathLike)) and os.fspath(self.model):
            from dprune.models import model_identity

            config["model_identity"] = model_identity(self.model)
        return config

    # ------------------------------------------------------------------ loading
    def _resolve(self):
        model, tokenizer = self.model, self.tokenizer
        if isinstance(model, (str, os.PathLike)):
            cached = getattr(self, "_loaded_", None)
            if cached is not None and cached[0] == os.fspath(model):
                model = cached[1]
            else:
                from transformers import AutoModelForSequenceClassification

                from dprune.models import resolve_model_name

                model = AutoModelForSequenceClassification.from_pretrained(resolve_model_name(model))
                self._loaded_ = (os.fspath(self.model), model)
        if tokenizer is None:
            from transformers import AutoTokenizer

            from dprune.models import resolve_model_name

            config = getattr(model, "config", None)
            source = getattr(model, "name_or_path", None) or getattr(config, "_name_or_path", None)
            if not source:
                raise ValueError(
                    "CrossEntropyScorer needs a tokenizer: pass tokenizer=..., or a model loaded from a "
                    "checkpoint that has one."
                )
            tokenizer = AutoTokenizer.from_pretrained(resolve_model_name(source))
        return model, tokenizer

    def _labels(self, dataset: Dataset, model) -> np.ndarray:
        """Class ids of the label column, checked against the model's classes."""
        config = getattr(model, "config", None)
        num_labels = getattr(config, "num_labels", None)
        array = label_array(dataset, self.label_column, owner="CrossEntropyScorer")
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            label2id = {str(k): int(v) for k, v in (getattr(config, "label2id", None) or {}).items()}
            mapping = LabelMapping("str", tuple(sorted(label2id, key=label2id.get)))
        elif num_labels:
            mapping = LabelMapping("int", tuple(range(int(num_labels))))
        else:
            mapping = None
        ids, _ = encode_labels(array, self.label_column, mapping=mapping, owner="CrossEntropyScorer")
        return ids

    # ------------------------------------------------------------------ scoring
    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        import torch

        model, tokenizer = self._resolve()
        labels = self._labels(dataset, model)
        texts = column_to_numpy(dataset, self.text_column)
        if any(t is None for t in texts):
            bad = [i for i, t in enumerate(texts) if t is None][:5]
            raise ValueError(
                f"CrossEntropyScorer: text column {self.text_column!r} has missing values (row positions {bad}). "
                "Drop or fill them first."
            )
        device = torch.device(self.device) if self.device is not None else _model_device(model)
        order = np.argsort(np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)), kind="stable")
        scores = np.empty(len(texts), dtype=np.float64)
        was_training = getattr(model, "training", False)
        model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(order), self.batch_size):
                    index = order[start : start + self.batch_size]
                    batch = tokenizer(
                        [texts[i] for i in index], padding=True, truncation=True, max_length=self.max_length,
                        return_tensors="pt",
                    )
                    batch = {k: v.to(device) for k, v in batch.items()}
                    logits = _logits(model(**batch))
                    if logits.ndim != 2 or logits.shape[-1] < 2:
                        raise ValueError(
                            "CrossEntropyScorer needs a classifier with logits of shape (batch, num_labels>=2); got "
                            f"{tuple(logits.shape)}. Use AutoModelForSequenceClassification."
                        )
                    target = torch.as_tensor(labels[index], device=logits.device)
                    loss = torch.nn.functional.cross_entropy(logits.float(), target, reduction="none")
                    scores[index] = loss.cpu().numpy()
        finally:
            if was_training:
                model.train()
        return scores


def _model_device(model):
    import torch

    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return torch.device("cpu")


def _logits(outputs):
    if hasattr(outputs, "logits"):
        return outputs.logits
    if isinstance(outputs, dict):
        return outputs["logits"]
    if isinstance(outputs, (tuple, list)):
        return outputs[0]
    return outputs
