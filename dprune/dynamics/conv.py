"""A small convolutional speech classifier on log-mel frames, recording the same dynamics as the probe.

Pooled statistics of a clip (:func:`dprune.audio.features.audio_embeddings`) lose *when*
each sound happens, and a spoken class word inside a longer sentence is then hard to tell
apart. :func:`train_conv_classifier` reads the frames in order
(:func:`dprune.audio.features.log_mel_frames`) with two 1-D convolutions over time
(kernel 5, the second dilated by 2: about 130 ms of context per output frame), takes the
maximum of each channel over the whole clip (the word may be anywhere) and a linear
layer to the classes. It trains with Adam on mini-batches padded to their longest clip
(padding repeats the last frame, so the maximum is unchanged) and records every
presentation through :func:`~dprune.dynamics.recording.record_training`, so AUM,
forgetting, EL2N, data maps and confident learning read its records unchanged.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.parallel import torch_threads
from dprune.data.labels import encode_labels
from dprune.dynamics.inputs import as_seeds, check_training, dynamics_meta, row_ids
from dprune.dynamics.recording import record_training
from dprune.dynamics.records import Dynamics, check_eval_epochs

__all__ = ["train_conv_classifier"]


def train_conv_classifier(
    dataset: Dataset,
    frames: Sequence[np.ndarray],
    *,
    channels: int = 64,
    label_column: str = "label",
    id_column: str | None = "row_id",
    seeds: int | Sequence[int] = (0, 1, 2),
    epochs: int = 30,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    weight_decay: float = 0.0,
    device: str | None = None,
    eval_epochs: Sequence[int] | None = None,
    epoch_sink: Callable[[int, int, pa.Table], Any] | None = None,
    skip: Callable[[int, int], bool] | None = None,
) -> Dynamics:
    """Train the convolutional classifier on each clip's frames and record its dynamics.

    Parameters
    ----------
    dataset : datasets.Dataset
        Provides the labels (``label_column``) and ids (``id_column``).
    frames : sequence of numpy.ndarray of shape (frames_i, bands)
        One array per row, same number of bands for all (:func:`~dprune.audio.features.log_mel_frames`).
    channels : int, default 64
        Channels of both convolutions.
    label_column, id_column, seeds, device, eval_epochs, epoch_sink, skip
        As for :func:`~dprune.dynamics.probe.train_linear_probe`.
    epochs, batch_size, learning_rate, weight_decay
        Passes, mini-batch size and Adam settings.

    Returns
    -------
    Dynamics
    """
    import torch

    owner = "train_conv_classifier"
    check_training(dataset, owner, learning_rate=learning_rate, epochs=epochs, batch_size=batch_size,
                   channels=channels)
    if len(frames) != len(dataset):
        raise ValueError(f"{owner}: {len(frames)} frame arrays for {len(dataset)} rows; give one per row.")
    bands = {np.shape(f)[1] if np.ndim(f) == 2 else None for f in frames}
    if len(bands) != 1 or None in bands or any(len(f) == 0 for f in frames):
        raise ValueError(f"{owner}: every frame array must be 2-D (frames >= 1, bands) with the same bands; "
                         "compute them with dprune.audio.features.log_mel_frames.")
    seeds = as_seeds(seeds, owner)
    eval_epochs = check_eval_epochs(eval_epochs, epochs, owner)
    ids, used_id_column = row_ids(dataset, id_column)
    labels, mapping = encode_labels(dataset, label_column, ids=ids, owner=owner)
    device = torch.device(device or "cpu")
    clips = [torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32)).T for f in frames]  # (bands, frames)
    (num_bands,) = bands
    y_all = torch.from_numpy(labels).to(device)

    def inputs(index: Any) -> Any:
        members = [clips[i] for i in index.tolist()]
        longest = max(c.shape[1] for c in members)
        batch = torch.stack([torch.cat([c, c[:, -1:].expand(-1, longest - c.shape[1])], dim=1) for c in members])
        return batch.to(device)

    def build() -> Any:
        return torch.nn.Sequential(
            torch.nn.Conv1d(num_bands, channels, 5, padding=2), torch.nn.ReLU(),
            torch.nn.Conv1d(channels, channels, 5, padding=4, dilation=2), torch.nn.ReLU(),
            torch.nn.AdaptiveMaxPool1d(1), torch.nn.Flatten(), torch.nn.Linear(channels, mapping.num_labels),
        )

    meta = dynamics_meta(
        "conv_log_mel", mapping, used_id_column, len(clips), seeds,
        {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "weight_decay": weight_decay,
         "channels": channels, "eval_epochs": list(eval_epochs)},
    )
    parts = []
    with torch_threads(1 if device.type == "cpu" else None):
        for seed in seeds:
            parts.extend(record_training(build, inputs, y_all, ids, labels, seed=seed, epochs=epochs,
                                         batch_size=batch_size, learning_rate=learning_rate,
                                         weight_decay=weight_decay, eval_epochs=eval_epochs, epoch_sink=epoch_sink,
                                         skip=skip, eval_batch_size=batch_size))
    return Dynamics(pa.concat_tables(parts), meta)
