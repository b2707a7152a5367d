"""The linear-probe trainer: softmax regression (or a small MLP) on cached embeddings, recording dynamics.

:func:`train_linear_probe` trains with mini-batch SGD/Adam in torch. It takes seconds
on a CPU for tens of thousands of examples and records every presentation from the
training forward pass, exactly like :class:`~dprune.dynamics.callback.ForgettingCallback`,
as a :class:`~dprune.dynamics.records.Dynamics`. One run per seed; the scorers average
over seeds.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.parallel import torch_threads
from dprune.data.labels import encode_labels
from dprune.dynamics.inputs import as_seeds, check_training, dynamics_meta, embedding_matrix, row_ids
from dprune.dynamics.recording import record_training
from dprune.dynamics.records import Dynamics, check_eval_epochs

__all__ = ["train_linear_probe"]

def train_linear_probe(
    dataset: Dataset,
    embeddings: np.ndarray | str,
    *,
    label_column: str = "label",
    id_column: str | None = "row_id",
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    weight_decay: float = 0.0,
    hidden_size: int = 0,
    standardize: bool = True,
    seeds: int | Sequence[int] = (0, 1, 2),
    device: str | None = None,
    eval_epochs: Sequence[int] | None = None,
    epoch_sink: Callable[[int, int, pa.Table], Any] | None = None,
    skip: Callable[[int, int], bool] | None = None,
) -> Dynamics:
    """Train a linear probe (or small MLP) on embeddings and record its dynamics.

    Each seed draws its own initialization and its own shuffling; every epoch visits
    every example once in mini-batches of ``batch_size``, and each presentation is
    recorded from that mini-batch's forward pass (before the update it causes).

    Parameters
    ----------
    dataset : datasets.Dataset
        Provides the labels (``label_column``) and ids (``id_column``).
    embeddings : numpy.ndarray of shape (n_rows, dim) or str
        The vectors, row-aligned with ``dataset``, or the name of a dataset column of vectors.
    label_column : str, default "label"
        Class labels (int, str, bool or ClassLabel; mapped to ids, mapping recorded).
    id_column : str or None, default "row_id"
        Stable row ids recorded with each presentation (positions when absent).
    epochs, batch_size : int
        Passes over the data and mini-batch size.
    learning_rate, weight_decay : float
        Adam settings.
    hidden_size : int, default 0
        0: softmax regression; > 0: one hidden ReLU layer of that width.
    standardize : bool, default True
        Center and scale each embedding dimension first.
    seeds : int or sequence of int, default (0, 1, 2)
        One run per seed.
    device : str, optional
        Torch device (default CPU).
    eval_epochs : sequence of int, optional
        After these epochs (0-based) every example is also evaluated once with the
        epoch's final weights, recorded with ``phase="eval"`` (the EL2N of the paper);
        default: the epoch EL2N reads (see :func:`~dprune.dynamics.records.check_eval_epochs`).
    epoch_sink : callable, optional
        ``epoch_sink(seed, epoch, table)`` after every epoch (to persist shards).
    skip : callable, optional
        ``skip(seed, epoch) -> bool``; the epoch is still trained but not handed to the sink.

    Returns
    -------
    Dynamics
    """
    import torch

    owner = "train_linear_probe"
    check_training(dataset, owner, learning_rate=learning_rate, epochs=epochs, batch_size=batch_size)
    if isinstance(hidden_size, bool) or not isinstance(hidden_size, (int, np.integer)) or hidden_size < 0:
        raise ValueError(f"The 'hidden_size' parameter of {owner} must be an int >= 0. Got {hidden_size!r} instead.")
    seeds = as_seeds(seeds, owner)
    eval_epochs = check_eval_epochs(eval_epochs, epochs, owner)
    ids, used_id_column = row_ids(dataset, id_column)
    labels, mapping = encode_labels(dataset, label_column, ids=ids, owner=owner)
    features = embedding_matrix(dataset, embeddings, owner)
    if standardize:
        features = (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-6)
    device = torch.device(device or "cpu")
    x_all = torch.from_numpy(np.ascontiguousarray(features)).to(device)
    y_all = torch.from_numpy(labels).to(device)
    n, dim = features.shape
    num_labels = mapping.num_labels
    meta = dynamics_meta(
        "linear_probe", mapping, used_id_column, n, seeds,
        {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "weight_decay": weight_decay,
         "hidden_size": hidden_size, "standardize": standardize, "eval_epochs": list(eval_epochs)},
    )
    parts = []
    with torch_threads(1 if device.type == "cpu" else None):
        for seed in seeds:
            parts.extend(_probe_run(seed, x_all, y_all, ids, labels, num_labels, epochs, batch_size, learning_rate,
                                    weight_decay, hidden_size, eval_epochs, epoch_sink, skip))
    return Dynamics(pa.concat_tables(parts), meta)


def _probe_run(seed, x_all, y_all, ids, labels, num_labels, epochs, batch_size, learning_rate, weight_decay,
               hidden_size, eval_epochs, epoch_sink, skip) -> list[pa.Table]:
    """One seed of :func:`train_linear_probe`: a table of records per epoch."""
    import torch

    dim = x_all.shape[1]

    def build():
        if hidden_size:
            return torch.nn.Sequential(
                torch.nn.Linear(dim, hidden_size), torch.nn.ReLU(), torch.nn.Linear(hidden_size, num_labels)
            )
        return torch.nn.Linear(dim, num_labels)

    return record_training(build, lambda index: x_all[index], y_all, ids, labels, seed=seed, epochs=epochs,
                           batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
                           eval_epochs=eval_epochs, epoch_sink=epoch_sink, skip=skip)
