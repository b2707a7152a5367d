"""Example positions through a ``Trainer``'s training dataloader, and logits out of its outputs.

:class:`~dprune.dynamics.callback.ForgettingCallback` must know which training example
each row of a micro-batch is. The training set gets an index column
(:data:`INDEX_COLUMN`), ``remove_unused_columns`` is told to keep it, and a collator
wrapper (:class:`IndexCollator`) takes it out of the features before the real collator
runs and puts it back in the batch as a tensor. The index therefore travels with the batch
itself and survives shuffling, gradient accumulation, several epochs and dataloader workers.
:func:`pop_index` takes it out of a batch again before the model sees it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np

__all__ = ["INDEX_COLUMN", "IndexCollator", "IndexedDataset", "indexed_train_dataloader", "logits_of",
           "pop_index", "with_index"]

#: Column carrying each example's position through the training dataloader.
INDEX_COLUMN = "_dprune_index"


class IndexCollator:
    """Collator wrapper: takes :data:`INDEX_COLUMN` out of the features, puts it in the batch."""

    def __init__(self, collator: Callable):
        self.collator = collator

    def __call__(self, features):
        if features and isinstance(features[0], Mapping) and INDEX_COLUMN in features[0]:
            import torch

            index = [int(f[INDEX_COLUMN]) for f in features]
            features = [{k: v for k, v in f.items() if k != INDEX_COLUMN} for f in features]
            batch = self.collator(features)
            batch[INDEX_COLUMN] = torch.as_tensor(index, dtype=torch.long)
            return batch
        return self.collator(features)


class IndexedDataset:
    """Map-style dataset wrapper adding :data:`INDEX_COLUMN` to each (dict) item."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        item = self.dataset[i]
        if not isinstance(item, Mapping):
            raise TypeError(
                "ForgettingCallback needs dataset items that are dicts (feature name -> value); got "
                f"{type(item).__name__}. Use a datasets.Dataset or a dataset returning dicts."
            )
        return {**item, INDEX_COLUMN: int(i)}


def with_index(dataset):
    """``dataset`` with :data:`INDEX_COLUMN` (a column of a ``datasets.Dataset``, else a wrapper)."""
    import datasets
    import torch.utils.data as tud

    if isinstance(dataset, datasets.Dataset):
        if INDEX_COLUMN in dataset.column_names:
            dataset = dataset.remove_columns(INDEX_COLUMN)
        quiet = datasets.is_progress_bar_enabled()
        if quiet:  # adding a column to a shuffled/selected view flattens it, with a progress bar
            datasets.disable_progress_bars()
        try:
            return dataset.add_column(INDEX_COLUMN, np.arange(len(dataset), dtype=np.int64))
        finally:
            if quiet:
                datasets.enable_progress_bars()
    if isinstance(dataset, (tud.IterableDataset, datasets.IterableDataset)) or not hasattr(dataset, "__len__"):
        raise TypeError(
            "ForgettingCallback needs a map-style training dataset (with __len__ and __getitem__) so every "
            f"example has a position; got {type(dataset).__name__}. Use a datasets.Dataset, or "
            "ForgettingCallback(mode='predict')."
        )
    return IndexedDataset(dataset)


def indexed_train_dataloader(trainer, build: Callable[[], Any]):
    """``build()`` (the trainer's own ``get_train_dataloader``) over the indexed training set.

    The trainer's dataset, collator and signature columns are swapped for the call only
    and restored afterwards.
    """
    original_dataset, original_collator = trainer.train_dataset, trainer.data_collator
    # remove_unused_columns keeps only the model's forward arguments: add the index column to
    # that list for this dataloader (a new list, since a lazy column-removing collator keeps it).
    signature = None
    if trainer.args.remove_unused_columns and hasattr(trainer, "_set_signature_columns_if_needed"):
        trainer._set_signature_columns_if_needed()
        signature = getattr(trainer, "_signature_columns", None)
        if isinstance(signature, list):
            trainer._signature_columns = [*signature, INDEX_COLUMN]
    trainer.train_dataset = with_index(original_dataset)
    trainer.data_collator = IndexCollator(original_collator)
    try:
        return build()
    finally:
        trainer.train_dataset, trainer.data_collator = original_dataset, original_collator
        if isinstance(signature, list):
            trainer._signature_columns = signature


def pop_index(inputs) -> tuple[Any, Any]:
    """``(inputs without the index, index)``; ``(inputs, None)`` when the batch carries none."""
    if isinstance(inputs, Mapping) and INDEX_COLUMN in inputs:
        inputs = copy.copy(inputs)
        return inputs, inputs.pop(INDEX_COLUMN)
    return inputs, None


def logits_of(outputs) -> Any:
    """The logits in a model's outputs (a mapping, a tuple after the loss, or the tensor itself)."""
    if isinstance(outputs, Mapping):
        if "logits" in outputs:
            return outputs["logits"]
        values = [v for k, v in outputs.items() if k != "loss"]
        return values[0] if values else None
    if isinstance(outputs, (tuple, list)):
        return outputs[1] if len(outputs) > 1 else outputs[0]
    return outputs
