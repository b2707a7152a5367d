"""The fine-tuning trainer: a transformer classifier trained with ``transformers.Trainer``, recording dynamics.

:func:`finetune_dynamics` fine-tunes a model (default: the bundled all-MiniLM-L6-v2 with
a classification head) with :class:`~dprune.dynamics.callback.ForgettingCallback`
attached, one run per seed, checkpointing once per epoch so a killed run resumes.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.base import MissingColumnError
from dprune.data.labels import encode_labels
from dprune.dynamics.inputs import as_seeds, check_positive_int, dynamics_meta, row_id_type, row_ids
from dprune.dynamics.records import Dynamics, check_eval_epochs, dynamics_schema

__all__ = ["finetune_dynamics", "tokenize_for_training"]

def finetune_dynamics(
    dataset: Dataset,
    *,
    model: str | os.PathLike = "all-MiniLM-L6-v2",
    text_column: str = "text",
    label_column: str = "label",
    id_column: str | None = "row_id",
    epochs: int = 2,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    max_length: int = 128,
    seeds: int | Sequence[int] = (0,),
    output_dir: str | os.PathLike | None = None,
    resume: bool = True,
    training_args: Mapping[str, Any] | None = None,
    mode: str = "forward",
    eval_epochs: Sequence[int] | None = None,
    epoch_sink: Callable[[int, int, pa.Table], Any] | None = None,
    skip_seed: Callable[[int], bool] | None = None,
) -> Dynamics:
    """Fine-tune a transformer classifier with ``Trainer`` and record its dynamics.

    The model is ``AutoModelForSequenceClassification.from_pretrained(model, num_labels=C)``
    (default: the bundled all-MiniLM-L6-v2 with a new classification head), trained once
    per seed with :class:`~dprune.dynamics.callback.ForgettingCallback` attached.

    Parameters
    ----------
    dataset : datasets.Dataset
        Texts, labels and (optionally) stable ids.
    model : str or path, default "all-MiniLM-L6-v2"
        Checkpoint to fine-tune (resolved with :func:`dprune.models.resolve_model_name`).
    text_column, label_column, id_column : str
        Columns of ``dataset``; labels may be int, str, bool or ClassLabel (mapping recorded).
    epochs, batch_size, learning_rate, max_length
        Training settings (``max_length``: tokens per text after truncation).
    seeds : int or sequence of int, default (0,)
        One fine-tuning run per seed.
    output_dir : path, optional
        Where checkpoints go (``seed-<n>/checkpoint-*``, one per epoch, the last kept).
        With ``resume=True`` a run finds its last checkpoint there and continues from it,
        dynamics included. ``None``: a temporary folder, no checkpoints.
    training_args : dict, optional
        Extra ``TrainingArguments`` (override the defaults above).
    mode : {"forward", "predict"}, default "forward"
        Callback mode; ``"predict"`` is the original end-of-epoch prediction pass.
    eval_epochs : sequence of int, optional
        ``"forward"`` mode: after these epochs every row is also predicted in eval mode,
        recorded with ``phase="eval"`` (the EL2N of the paper); default: the epoch EL2N
        reads (see :func:`~dprune.dynamics.records.check_eval_epochs`); ``()``: none.
    epoch_sink : callable, optional
        ``epoch_sink(seed, epoch, table)`` after each completed epoch.
    skip_seed : callable, optional
        ``skip_seed(seed) -> bool``: seeds to leave out (e.g. already stored).

    Returns
    -------
    Dynamics
        The runs that were trained (all seeds unless some were skipped).
    """
    import tempfile

    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )
    from transformers.trainer_utils import get_last_checkpoint

    from dprune.dynamics.callback import ForgettingCallback
    from dprune.models import resolve_model_name

    owner = "finetune_dynamics"
    if not isinstance(dataset, Dataset):
        raise TypeError(f"{owner} expects a datasets.Dataset. Got {type(dataset).__name__} instead.")
    if len(dataset) == 0:
        raise ValueError(f"{owner} got an empty dataset (0 rows).")
    if text_column not in dataset.column_names:
        raise MissingColumnError(f"{owner} needs a text column {text_column!r} but the dataset has {dataset.column_names}.")
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("max_length", max_length)):
        check_positive_int(name, value, owner)
    seeds = as_seeds(seeds, owner)
    eval_epochs = check_eval_epochs(eval_epochs, epochs, owner) if mode == "forward" else ()
    ids, used_id_column = row_ids(dataset, id_column)
    labels, mapping = encode_labels(dataset, label_column, ids=ids, owner=owner)
    path = resolve_model_name(model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    train = tokenize_for_training(dataset, tokenizer, text_column, max_length, labels, ids if used_id_column else None,
                       used_id_column)
    temporary = output_dir is None
    root = tempfile.mkdtemp(prefix="dprune-finetune-") if temporary else os.fspath(output_dir)
    config = {"model": os.fspath(model), "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
              "max_length": max_length, "mode": mode, "eval_epochs": list(eval_epochs), **dict(training_args or {})}
    parts = []
    try:
        for seed in seeds:
            if skip_seed is not None and skip_seed(seed):
                continue
            seed_dir = os.path.join(root, f"seed-{seed}")
            settings = {
                "output_dir": seed_dir,
                "num_train_epochs": epochs,
                "per_device_train_batch_size": batch_size,
                "per_device_eval_batch_size": 4 * batch_size,
                "learning_rate": learning_rate,
                "seed": seed,
                "data_seed": seed,
                "save_strategy": "no" if temporary else "epoch",
                "save_total_limit": 1,
                "report_to": [],
                "logging_strategy": "no",
                "disable_tqdm": True,
                "dataloader_pin_memory": torch.cuda.is_available(),
                **dict(training_args or {}),
            }
            set_seed(seed)
            net = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=mapping.num_labels,
                id2label=dict(enumerate(mapping.names)), label2id={n: i for i, n in enumerate(mapping.names)},
            )
            sink = None if epoch_sink is None else (lambda epoch, table, seed=seed: epoch_sink(seed, epoch, table))
            callback = ForgettingCallback(mode=mode, id_column=used_id_column, seed=seed, epoch_sink=sink,
                                          eval_epochs=eval_epochs)
            trainer = Trainer(
                model=net, args=TrainingArguments(**settings), train_dataset=train,
                data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer, callbacks=[callback],
            )
            callback.trainer = trainer
            checkpoint = None
            if resume and not temporary and os.path.isdir(seed_dir):
                checkpoint = get_last_checkpoint(seed_dir)
            trainer.train(resume_from_checkpoint=checkpoint)
            parts.append(callback.dynamics.records())
            del trainer, net
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    finally:
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
    meta = dynamics_meta("fine_tune", mapping, used_id_column, len(dataset), seeds, config)
    table = pa.concat_tables(parts) if parts else dynamics_schema(row_id_type(ids)).empty_table()
    return Dynamics(table, meta)


def tokenize_for_training(dataset, tokenizer, text_column, max_length, labels, ids, id_column) -> Dataset:
    """Token ids, ``labels`` (class ids) and the id column: what the Trainer needs, nothing else."""
    texts = dataset.select_columns([text_column])
    encoded = texts.map(
        lambda batch: tokenizer(batch[text_column], truncation=True, max_length=max_length),
        batched=True, remove_columns=[text_column], keep_in_memory=True, desc=None,
    )
    encoded = encoded.add_column("labels", labels.astype(np.int64))
    if id_column is not None:
        encoded = encoded.add_column(id_column, ids)
    return encoded
