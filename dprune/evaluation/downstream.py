"""Downstream models: train on the kept rows of a training set, report accuracy on a test set.

An evaluation asks one question of every selection: how good is a model trained
on these rows? Two models answer it, with the same method::

    model.accuracy(positions, seed) -> float   # test accuracy after training on train[positions]

* :class:`LinearProbe` (the default): softmax regression on cached sentence
  embeddings, standardized with the kept rows' statistics and fit by full-batch
  L-BFGS from zero weights with an L2 penalty, on one CPU thread. The fit is
  deterministic (the seed does not enter it) and takes well under a second for
  ten thousand rows on an idle core.
* :class:`FineTunedClassifier`: fine-tunes a transformer (default: the bundled
  all-MiniLM-L6-v2 with a new classification head) on the kept texts with
  ``transformers.Trainer``, seeded, then predicts the test texts. Minutes per fit
  on a CPU: meant for a GPU, or for few methods and fractions.

Labels are class ids ``0 .. num_labels - 1`` (see :func:`dprune.data.labels.encode_labels`).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np
from datasets import Dataset

from dprune.core.params import Interval, check_param

__all__ = ["FineTunedClassifier", "LinearProbe"]


def _class_ids(labels: np.ndarray, num_labels: int, owner: str, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    in_range = labels.size == 0 or (labels.min() >= 0 and labels.max() < num_labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or not in_range:
        raise ValueError(
            f"{owner}: {name} must be a 1-D array of class ids in [0, {num_labels}). Encode labels with "
            "dprune.data.labels.encode_labels first."
        )
    return labels.astype(np.int64)


def _positions(positions: Any, n: int, owner: str) -> np.ndarray:
    positions = np.asarray(positions, dtype=np.int64)
    if positions.ndim != 1 or positions.size == 0 or positions.min() < 0 or positions.max() >= n:
        raise ValueError(
            f"{owner}.accuracy needs a non-empty 1-D array of training row positions in [0, {n}). "
            f"Got {positions.size} position(s)."
        )
    return positions


class LinearProbe:
    """Softmax regression on fixed embeddings, trained on a subset of the training rows.

    Parameters
    ----------
    train_features : numpy.ndarray of shape (n_train, dim)
        Embeddings of every training row.
    train_labels : numpy.ndarray of int
        Class id of every training row.
    test_features : numpy.ndarray of shape (n_test, dim)
    test_labels : numpy.ndarray of int
    num_labels : int, optional
        Number of classes (default: one more than the largest id seen).
    l2 : float, default 1e-3
        Weight of the squared L2 norm of the weights added to the mean cross-entropy.
    max_iter : int, default 100
        L-BFGS iterations.
    """

    def __init__(
        self,
        train_features: np.ndarray,
        train_labels: np.ndarray,
        test_features: np.ndarray,
        test_labels: np.ndarray,
        *,
        num_labels: int | None = None,
        l2: float = 1e-3,
        max_iter: int = 100,
    ):
        owner = type(self).__name__
        check_param(owner, "l2", l2, [Interval("real", 0, None)])
        check_param(owner, "max_iter", max_iter, [Interval(int, 1, None)])
        self.train_features = np.asarray(train_features, dtype=np.float32)
        self.test_features = np.asarray(test_features, dtype=np.float32)
        for name, matrix, rows in (("train_features", self.train_features, len(train_labels)),
                                   ("test_features", self.test_features, len(test_labels))):
            if matrix.ndim != 2 or matrix.shape[0] != rows:
                raise ValueError(f"{owner}: {name} must have shape (rows, dim) with one row per label; got "
                                 f"shape {matrix.shape} for {rows} labels.")
        if self.train_features.shape[1] != self.test_features.shape[1]:
            raise ValueError(f"{owner}: train and test embeddings differ in width ({self.train_features.shape[1]} "
                             f"vs {self.test_features.shape[1]}); embed both splits with the same model.")
        if num_labels is None:
            num_labels = int(max(np.max(train_labels), np.max(test_labels))) + 1
        self.num_labels = num_labels
        self.train_labels = _class_ids(train_labels, num_labels, owner, "train_labels")
        self.test_labels = _class_ids(test_labels, num_labels, owner, "test_labels")
        self.l2 = l2
        self.max_iter = max_iter

    def accuracy(self, positions: Any, seed: int = 0) -> float:
        """Test accuracy of a probe fit on ``train[positions]`` (``seed`` is unused: the fit is deterministic)."""
        import torch

        from dprune.core.parallel import torch_threads

        positions = _positions(positions, len(self.train_labels), type(self).__name__)
        features = self.train_features[positions]
        mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
        x = torch.from_numpy((features - mean) / scale)
        y = torch.from_numpy(self.train_labels[positions])
        weight = torch.zeros(x.shape[1], self.num_labels, requires_grad=True)
        bias = torch.zeros(self.num_labels, requires_grad=True)
        optimizer = torch.optim.LBFGS([weight, bias], max_iter=self.max_iter, history_size=20,
                                      line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(x @ weight + bias, y) + self.l2 * weight.square().sum()
            loss.backward()
            return loss

        with torch_threads(1):  # small matrix products: one thread is fastest and leaves the other cores free
            optimizer.step(closure)
        with torch.no_grad():
            test = torch.from_numpy((self.test_features - mean) / scale)
            predicted = (test @ weight + bias).argmax(dim=1).numpy()
        return float(np.mean(predicted == self.test_labels))


class FineTunedClassifier:
    """A transformer fine-tuned on a subset of the training texts.

    Parameters
    ----------
    train : datasets.Dataset
        Training rows; ``text_column`` is read.
    train_labels : numpy.ndarray of int
        Class id of every training row.
    test : datasets.Dataset
    test_labels : numpy.ndarray of int
    num_labels : int
    text_column : str, default "text"
    model : str or path, default "all-MiniLM-L6-v2"
        Checkpoint to fine-tune (resolved with :func:`dprune.models.resolve_model_name`).
    epochs, batch_size, learning_rate, max_length
        Training settings (the defaults of :func:`dprune.dynamics.finetune.finetune_dynamics`).
    training_args : dict, optional
        Extra ``TrainingArguments``.
    """

    def __init__(
        self,
        train: Dataset,
        train_labels: np.ndarray,
        test: Dataset,
        test_labels: np.ndarray,
        *,
        num_labels: int,
        text_column: str = "text",
        model: str | os.PathLike = "all-MiniLM-L6-v2",
        epochs: int = 2,
        batch_size: int = 16,
        learning_rate: float = 5e-5,
        max_length: int = 128,
        training_args: Mapping[str, Any] | None = None,
    ):
        owner = type(self).__name__
        for name, value in (("epochs", epochs), ("batch_size", batch_size), ("max_length", max_length)):
            check_param(owner, name, value, [Interval(int, 1, None)])
        check_param(owner, "learning_rate", learning_rate, [Interval("real", 0, None, closed="neither")])
        self.num_labels = num_labels
        self.train_labels = _class_ids(train_labels, num_labels, owner, "train_labels")
        self.test_labels = _class_ids(test_labels, num_labels, owner, "test_labels")
        self.model = model
        self.settings = {"num_train_epochs": epochs, "per_device_train_batch_size": batch_size,
                         "learning_rate": learning_rate, **dict(training_args or {})}
        from transformers import AutoTokenizer

        from dprune.models import resolve_model_name
        from dprune.dynamics.finetune import tokenize_for_training

        self._path = resolve_model_name(model)
        self._tokenizer = AutoTokenizer.from_pretrained(self._path)
        self._train = tokenize_for_training(train, self._tokenizer, text_column, max_length, self.train_labels, None, None)
        self._test = tokenize_for_training(test, self._tokenizer, text_column, max_length, self.test_labels, None, None)

    def accuracy(self, positions: Any, seed: int = 0) -> float:
        """Test accuracy after fine-tuning on ``train[positions]`` with ``seed``."""
        import tempfile

        import torch
        from transformers import (
            AutoModelForSequenceClassification,
            DataCollatorWithPadding,
            Trainer,
            TrainingArguments,
            set_seed,
        )

        positions = _positions(positions, len(self.train_labels), type(self).__name__)
        set_seed(seed)
        net = AutoModelForSequenceClassification.from_pretrained(self._path, num_labels=self.num_labels)
        with tempfile.TemporaryDirectory(prefix="dprune-downstream-") as folder:
            args = TrainingArguments(output_dir=folder, seed=seed, data_seed=seed, save_strategy="no", report_to=[],
                                     logging_strategy="no", disable_tqdm=True,
                                     dataloader_pin_memory=torch.cuda.is_available(), **self.settings)
            trainer = Trainer(model=net, args=args, train_dataset=self._train.select(positions),
                              data_collator=DataCollatorWithPadding(self._tokenizer), processing_class=self._tokenizer)
            trainer.train()
            logits = trainer.predict(self._test).predictions
        predicted = np.asarray(logits[0] if isinstance(logits, tuple) else logits).argmax(axis=1)
        return float(np.mean(predicted == self.test_labels))
