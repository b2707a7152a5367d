"""One seed of mini-batch training that records every presentation: the loop the probe and the conv model share.

:func:`record_training` trains a torch model with Adam for some epochs and records, for every
example of every mini-batch, the prediction, margin, loss and EL2N of that batch's forward pass
(before the update it causes), plus an evaluation pass over every example after the chosen
epochs (``phase="eval"``). Each epoch's records are a :func:`~dprune.dynamics.records.records_table`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa

from dprune.dynamics.records import batch_dynamics, records_table

__all__ = ["record_training"]


def record_training(
    build_model: Callable[[], Any],
    inputs: Callable[[Any], Any],
    y_all: Any,
    ids: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    eval_epochs: Sequence[int],
    epoch_sink: Callable[[int, int, pa.Table], Any] | None = None,
    skip: Callable[[int, int], bool] | None = None,
    eval_batch_size: int | None = None,
) -> list[pa.Table]:
    """Train one seed and return a table of records per epoch.

    Parameters
    ----------
    build_model : callable
        ``build_model()`` -> a torch module mapping a batch of inputs to logits; called after
        seeding torch with ``seed`` (so the initialization follows the seed).
    inputs : callable
        ``inputs(index)`` -> the model's input batch for a 1-D tensor of row positions.
    y_all : torch.Tensor
        Label ids of every row (on the model's device).
    ids, labels : numpy.ndarray
        Row ids and label ids, recorded with each presentation.
    seed, epochs, batch_size, learning_rate, weight_decay
        The run: its seed (initialization and shuffling), passes, mini-batch size and Adam settings.
    eval_epochs : sequence of int
        Epochs (0-based) after which every row is evaluated once with the epoch's final weights.
    epoch_sink, skip
        As for :func:`~dprune.dynamics.probe.train_linear_probe`.
    eval_batch_size : int, optional
        Rows per forward pass of the evaluation (default: all at once).
    """
    import torch

    n = len(ids)
    device = y_all.device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    torch.manual_seed(seed)
    model = build_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    parts, step = [], 0
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator).to(device)
        stats, steps = [], []
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            logits = model(inputs(index))
            target = y_all[index]
            loss = torch.nn.functional.cross_entropy(logits, target)
            stats.append(batch_dynamics(logits, target))
            steps.append(np.full(len(index), step, dtype=np.int64))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
        positions = order.cpu().numpy()
        columns = {
            "seed": np.full(n, seed, dtype=np.int64),
            "epoch": np.full(n, epoch, dtype=np.int64),
            "step": np.concatenate(steps),
            "position": positions,
            "row_id": ids[positions],
            "label": labels[positions],
        }
        for field in ("pred", "correct", "prob", "margin", "loss", "el2n"):
            columns[field] = torch.cat([s[field] for s in stats]).cpu().numpy()
        table = records_table(columns)
        if epoch in eval_epochs:
            table = pa.concat_tables([table, _evaluate(model, inputs, y_all, ids, labels, seed, epoch, step,
                                                       eval_batch_size or n)])
        if epoch_sink is not None and not (skip is not None and skip(seed, epoch)):
            epoch_sink(seed, epoch, table)
        parts.append(table)
    return parts


def _evaluate(model, inputs, y_all, ids, labels, seed, epoch, step, chunk) -> pa.Table:
    """Records of one evaluation pass over every row (``phase="eval"``)."""
    import torch

    n = len(ids)
    every = torch.arange(n, device=y_all.device)
    with torch.no_grad():
        model.eval()
        parts = [batch_dynamics(model(inputs(every[s : s + chunk])), y_all[s : s + chunk]) for s in range(0, n, chunk)]
        model.train()
    evaluated = {field: torch.cat([p[field] for p in parts]).cpu().numpy() for field in parts[0]}
    return records_table({
        "seed": np.full(n, seed, dtype=np.int64), "epoch": np.full(n, epoch, dtype=np.int64),
        "step": np.full(n, step, dtype=np.int64), "position": np.arange(n), "row_id": ids, "label": labels,
        "phase": np.full(n, "eval", dtype=object), **evaluated,
    })
