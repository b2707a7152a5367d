"""ForgettingCallback: per-example training dynamics from the training forward pass.

Usage (the original dPrune usage keeps working)::

    callback = ForgettingCallback()
    trainer = Trainer(model=model, args=args, train_dataset=train, callbacks=[callback])
    callback.trainer = trainer          # or callback.attach(trainer)
    trainer.train()
    scorer = ForgettingScorer(callback)  # or AUMScorer(callback.dynamics), ...

How it works (``mode="forward"``, the default). Toneva et al. (ICLR 2019) record
whether each example is classified correctly *when it is presented in a
training mini-batch*; no extra pass over the data is needed. Attaching the
callback wraps three methods of that one ``Trainer`` instance:

* ``get_train_dataloader``: the training dataloader is built from the training
  set plus an example-index column (``_dprune_index``), kept through
  ``remove_unused_columns``, and a collator wrapper that takes the index out of
  the features before the real collator runs and puts it back in the batch as a
  tensor. Example identity therefore travels with the batch itself and survives
  shuffling, gradient accumulation, several epochs and dataloader workers.
* ``compute_loss``: pops the index from the batch before the model sees it,
  asks the original ``compute_loss`` for its outputs, and records, for every
  example of the micro-batch, the prediction, correctness, gold probability,
  margin, loss and EL2N from the logits the training step computed anyway.
  Statistics stay on the device until the end of the epoch.
* ``train``: remembers ``resume_from_checkpoint``. At every checkpoint the
  records so far are saved next to it (``dprune_dynamics.parquet``), and a run
  resumed from a checkpoint continues from those records, so dynamics stay
  consistent across a crash.

``mode="predict"`` keeps the original dPrune behaviour: a full prediction pass
over the training set at the end of every epoch (much slower; model in eval
mode). In ``"forward"`` mode, ``eval_epochs`` asks for that pass after the listed
epochs only, recorded apart (``phase="eval"``): EL2N as its paper measures it, in
eval mode at the end of an early epoch, for the price of one forward pass.

The index plumbing lives in :mod:`dprune.dynamics.indexing`, the buffered records and
their checkpoint file in :mod:`dprune.dynamics.buffer`; this module wires them into the
``Trainer`` and keeps the original dPrune API (``learning_events``,
``calculate_forgetting_scores``). The records are available as a
:class:`~dprune.dynamics.records.Dynamics` from :attr:`ForgettingCallback.dynamics`. Distributed (multi-process) training is not
supported: each process would only see its own share of the examples.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa
from transformers import TrainerCallback

from dprune.data.labels import LabelMapping
from dprune.dynamics.buffer import CHECKPOINT_RECORDS, RecordBuffer
from dprune.dynamics.indexing import INDEX_COLUMN, indexed_train_dataloader, logits_of, pop_index
from dprune.dynamics.records import PHASES, Dynamics, batch_dynamics

__all__ = ["ForgettingCallback", "INDEX_COLUMN", "CHECKPOINT_RECORDS"]

MODES = ("forward", "predict")


class ForgettingCallback(TrainerCallback):
    """Record per-example training dynamics during ``Trainer.train``.

    Parameters
    ----------
    mode : {"forward", "predict"}, default "forward"
        ``"forward"`` records every presentation from the training forward pass itself
        (no extra computation). ``"predict"`` reproduces the original dPrune: a full
        prediction pass over the training set at the end of every epoch.
    id_column : str or None, default "row_id"
        Column of the training dataset holding stable example ids; recorded with each
        presentation so scores can be matched to any dataset by id. Without it, examples
        are identified by their position in the training set.
    seed : int, optional
        Seed recorded with the dynamics (default: ``TrainingArguments.seed``).
    epoch_sink : callable, optional
        Called as ``epoch_sink(epoch, table)`` with a :mod:`pyarrow` table of each
        completed epoch's records (used to persist one store shard per epoch).
    save_with_checkpoints : bool, default True
        Write the records so far into each checkpoint folder, so a resumed run continues
        with consistent dynamics.
    eval_epochs : sequence of int, default ()
        ``"forward"`` mode: after these epochs (0-based) every training example is also
        predicted once in eval mode, recorded with ``phase="eval"`` (read by
        ``EL2NScorer(mode="eval")``). ``"predict"`` mode evaluates after every epoch already.

    Attributes
    ----------
    dynamics : Dynamics
        Everything recorded by the last ``train()`` call.
    """

    def __init__(
        self,
        mode: str = "forward",
        *,
        id_column: str | None = "row_id",
        seed: int | None = None,
        epoch_sink: Callable[[int, pa.Table], Any] | None = None,
        save_with_checkpoints: bool = True,
        eval_epochs: Sequence[int] = (),
    ):
        if mode not in MODES:
            raise ValueError(
                f"The 'mode' parameter of ForgettingCallback must be one of {MODES}. Got {mode!r} instead."
            )
        if isinstance(eval_epochs, (str, bytes)) or not all(
            isinstance(e, (int, np.integer)) and not isinstance(e, bool) and e >= 0 for e in eval_epochs
        ):
            raise ValueError(
                "The 'eval_epochs' parameter of ForgettingCallback must be a list of epochs (ints >= 0, 0-based). "
                f"Got {eval_epochs!r} instead."
            )
        self.eval_epochs = tuple(int(e) for e in eval_epochs)
        self.mode = mode
        self.id_column = id_column
        self.seed = seed
        self.epoch_sink = epoch_sink
        self.save_with_checkpoints = save_with_checkpoints
        self._trainer = None
        self._originals: dict[str, Callable] = {}
        self._resume_path: str | None = None
        self._active = False
        self._seed_used: int | None = None
        self._reset_records()
        self._ids: np.ndarray | None = None
        self._id_column_used: str | None = None
        self._n_examples: int | None = None
        self._label_mapping: dict | None = None

    # ------------------------------------------------------------------ attaching
    @property
    def trainer(self):
        """The ``Trainer`` this callback records; assigning it attaches the callback."""
        return self._trainer

    @trainer.setter
    def trainer(self, trainer) -> None:
        self.attach(trainer)

    def attach(self, trainer) -> "ForgettingCallback":
        """Hook into ``trainer`` (idempotent); also adds the callback to it if missing."""
        if trainer is None:
            raise TypeError("ForgettingCallback.attach needs a transformers.Trainer. Got None instead.")
        if self._trainer is trainer:
            return self
        if self._trainer is not None:
            self.detach()
        other = getattr(trainer, "_dprune_forgetting_callback", None)
        if other is not None and other is not self:
            raise ValueError(
                "This Trainer already has another ForgettingCallback attached; use one callback per Trainer "
                "(its .dynamics holds every statistic)."
            )
        if self not in trainer.callback_handler.callbacks:
            trainer.add_callback(self)
        self._trainer = trainer
        trainer._dprune_forgetting_callback = self
        self._originals = {"train": trainer.train}
        trainer.train = self._train
        if self.mode == "forward":
            self._originals["get_train_dataloader"] = trainer.get_train_dataloader
            self._originals["compute_loss"] = trainer.compute_loss
            trainer.get_train_dataloader = self._get_train_dataloader
            trainer.compute_loss = self._compute_loss
        return self

    def detach(self) -> None:
        """Undo :meth:`attach` (the records are kept)."""
        trainer = self._trainer
        if trainer is None:
            return
        for name in self._originals:
            trainer.__dict__.pop(name, None)
        trainer.__dict__.pop("_dprune_forgetting_callback", None)
        self._originals = {}
        self._trainer = None

    # ------------------------------------------------------------------ wrappers
    def _train(self, resume_from_checkpoint=None, *args, **kwargs):
        path = resume_from_checkpoint
        if isinstance(path, bool):
            path = None
            if resume_from_checkpoint:
                from transformers.trainer_utils import get_last_checkpoint

                path = get_last_checkpoint(self._trainer.args.output_dir)
        self._resume_path = os.fspath(path) if path is not None else None
        return self._originals["train"](resume_from_checkpoint, *args, **kwargs)

    def _get_train_dataloader(self):
        build = self._originals["get_train_dataloader"]
        dataset = self._trainer.train_dataset
        self._begin_dataset(dataset)
        if dataset is None:
            return build()
        return indexed_train_dataloader(self._trainer, build)

    def _compute_loss(self, model, inputs, *args, **kwargs):
        original = self._originals["compute_loss"]
        inputs, index = pop_index(inputs)
        recording = self._active and getattr(model, "training", False)
        if index is None or not recording:
            if recording:
                raise RuntimeError(
                    "ForgettingCallback found no example index in a training batch: the trainer's dataloader was "
                    "not built through the callback. Attach the callback (callback.trainer = trainer) before "
                    "trainer.train(), and do not override get_train_dataloader without calling the attached one."
                )
            return original(model, inputs, *args, **kwargs)
        return_outputs = kwargs.pop("return_outputs", args[0] if args else False)
        labels = self._batch_labels(inputs)
        loss, outputs = original(model, inputs, True, *args[1:], **kwargs)
        self._record(index, labels, logits_of(outputs))
        return (loss, outputs) if return_outputs else loss

    def _batch_labels(self, inputs):
        names = ["labels", *getattr(self._trainer, "label_names", [])]
        for name in names:
            if name in inputs and inputs[name] is not None:
                return inputs[name]
        raise ValueError(
            "ForgettingCallback needs the gold labels in every training batch (a 'labels' entry, usually from a "
            f"'label' column); the batch has {sorted(inputs)}. Add a label column to the training dataset."
        )

    def _record(self, index, labels, logits, phase: str = PHASES[0]) -> None:
        shapes_ok = logits is not None and logits.ndim == 2 and logits.shape[-1] >= 2
        if not shapes_ok or labels.ndim != 1 or labels.shape[0] != logits.shape[0]:
            raise ValueError(
                "ForgettingCallback records classification dynamics: it needs logits of shape (batch, num_labels>=2) "
                f"and labels of shape (batch,); got logits {None if logits is None else tuple(logits.shape)} and "
                f"labels {tuple(labels.shape)}. Use a sequence-classification model."
            )
        stats = batch_dynamics(logits, labels)
        self._num_labels = int(logits.shape[-1])
        step = int(self._trainer.state.global_step)
        epoch = self._epoch if self._epoch is not None else 0
        self._records.add(epoch, step, index, labels, stats, phase)

    # ------------------------------------------------------------------ events
    def on_train_begin(self, args, state, control, **kwargs):
        if self._trainer is None:
            raise RuntimeError(
                "ForgettingCallback is not attached to its Trainer: set `callback.trainer = trainer` (or call "
                "callback.attach(trainer)) before trainer.train()."
            )
        if getattr(args, "world_size", 1) > 1:
            warnings.warn(
                "ForgettingCallback does not gather records across processes: with distributed training each "
                "process records only the examples it trains on.",
                stacklevel=2,
            )
        if self.mode == "predict":
            self._begin_dataset(self._trainer.train_dataset)
        self._active = True
        self._seed_used = int(self.seed if self.seed is not None else args.seed)
        self._reset_records()
        if state.global_step > 0:
            self._restore_checkpoint_records(args, state)
            self._next_epoch = int(math.floor(state.epoch + 1e-9))
            for epoch in self._records.recorded_epochs():
                if epoch < self._next_epoch and epoch not in self._records.completed_epochs:
                    self._complete_epoch(epoch)
        return control

    def on_epoch_begin(self, args, state, control, **kwargs):
        self._epoch = self._next_epoch
        self._next_epoch += 1
        return control

    def on_epoch_end(self, args, state, control, **kwargs):
        if self.mode == "predict":
            self._predict_pass()
        elif self._epoch in self.eval_epochs:
            self._predict_pass(phase=PHASES[1])
        self._flush()
        if self._epoch is not None:
            self._complete_epoch(self._epoch)
        return control

    def on_save(self, args, state, control, **kwargs):
        if not self.save_with_checkpoints or not args.should_save:
            return control
        self._flush()
        folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        if os.path.isdir(folder):
            self._records.save(folder, self._state_meta())
        return control

    def on_train_end(self, args, state, control, **kwargs):
        self._flush()
        self._active = False
        return control

    # ------------------------------------------------------------------ bookkeeping
    def _reset_records(self) -> None:
        self._records = RecordBuffer()
        self._epoch: int | None = None
        self._next_epoch = 0
        self._num_labels: int | None = getattr(self, "_num_labels", None)

    def _begin_dataset(self, dataset) -> None:
        import datasets

        if dataset is None:
            return
        self._n_examples = len(dataset) if hasattr(dataset, "__len__") else None
        self._ids, self._id_column_used, self._label_mapping = None, None, None
        if isinstance(dataset, datasets.Dataset):
            from dprune.core.base import column_to_numpy

            if self.id_column is not None and self.id_column in dataset.column_names:
                self._ids = column_to_numpy(dataset, self.id_column)
                self._id_column_used = self.id_column
            for name in ("label", "labels", *getattr(self._trainer, "label_names", [])):
                if name in dataset.column_names:
                    self._check_labels(dataset, name)
                    feature = dataset.features.get(name)
                    if isinstance(feature, datasets.ClassLabel):
                        self._label_mapping = LabelMapping("class_label", tuple(feature.names)).to_dict()
                    break

    def _check_labels(self, dataset, column: str) -> None:
        """Fail before training on labels the model cannot learn from (clear message, not an IndexError)."""
        from dprune.data.labels import encode_labels, label_array

        array = label_array(dataset, column, owner="ForgettingCallback")
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            raise ValueError(
                f"ForgettingCallback: the training label column {column!r} holds strings; the model needs class ids. "
                "Map them first, e.g. ids, mapping = dprune.data.labels.encode_labels(dataset, "
                f"{column!r}), then dataset.remove_columns({column!r}).add_column({column!r}, ids)."
            )
        kind = array.type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
            return  # e.g. multi-label lists: _record rejects non-classification outputs
        config = getattr(getattr(self._trainer, "model", None), "config", None)
        num_labels = getattr(config, "num_labels", None)
        encode_labels(array, column, num_labels=num_labels, ids=self._ids, owner="ForgettingCallback")

    def _flush(self) -> None:
        self._records.flush(self._seed_used, self._ids)

    def _complete_epoch(self, epoch: int) -> None:
        self._records.completed_epochs.add(epoch)
        if self.epoch_sink is not None:
            self.epoch_sink(epoch, self._records.epoch_table(epoch))

    def _state_meta(self) -> dict:
        return {
            "seed": self._seed_used,
            "num_labels": self._num_labels,
            "id_column": self._id_column_used,
            "n_examples": self._n_examples,
            "label_mapping": self._label_mapping,
        }

    def _restore_checkpoint_records(self, args, state) -> None:
        default = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        meta = self._records.restore([self._resume_path, default], state.global_step)
        self._num_labels = meta.get("num_labels") or self._num_labels

    def _predict_pass(self, phase: str = PHASES[0]) -> None:
        """Predict every training example in eval mode and record it (``phase``: see :data:`PHASES`)."""
        import torch

        dataset = self._trainer.train_dataset
        output = self._trainer.predict(dataset)
        logits = output.predictions[0] if isinstance(output.predictions, (tuple, list)) else output.predictions
        labels = output.label_ids
        if labels is None:
            raise ValueError("ForgettingCallback(mode='predict') needs labels in the training dataset.")
        logits_t = torch.as_tensor(np.asarray(logits))
        labels_t = torch.as_tensor(np.asarray(labels)).long().reshape(-1)
        self._record(torch.arange(len(labels_t)), labels_t, logits_t, phase)

    # ------------------------------------------------------------------ results
    @property
    def dynamics(self) -> Dynamics:
        """The recorded dynamics; raises a clear error when nothing was recorded."""
        self._flush()
        if not self._records.chunks:
            raise RuntimeError(
                "ForgettingCallback has recorded nothing: attach it to a Trainer (callback.trainer = trainer, "
                "before trainer.train()) and train for at least one step before scoring."
            )
        meta = {
            "source": "trainer_callback",
            "mode": self.mode,
            "num_labels": self._num_labels,
            "label_mapping": self._label_mapping,
            "id_column": self._id_column_used,
            "n_examples": self._n_examples,
            "seeds": [self._seed_used],
        }
        return Dynamics(self._records.table(), meta)

    @property
    def has_records(self) -> bool:
        """True once at least one presentation was recorded."""
        return self._records.presentations > 0

    @property
    def learning_events(self) -> dict[int, list[int]]:
        """Original dPrune view: position -> correctness (0/1) at each presentation, in order."""
        table = self.dynamics.table
        order = np.lexsort((table["step"].to_numpy(), table["epoch"].to_numpy(), table["position"].to_numpy()))
        positions = table["position"].to_numpy()[order]
        correct = table["correct"].to_numpy(zero_copy_only=False)[order].astype(int)
        events: dict[int, list[int]] = {}
        for p, c in zip(positions.tolist(), correct.tolist()):
            events.setdefault(p, []).append(c)
        return events

    def calculate_forgetting_scores(self, never_learned: str = "above_all") -> list[float]:
        """Original dPrune API: forgetting events per training-set position.

        Unlike the original (which gave never-learned examples 0), never-learned examples
        rank above every learned one by default; pass ``never_learned="zero"`` for the old rule.
        """
        dynamics = self.dynamics
        events = dynamics.forgetting_events(never_learned=never_learned)
        table = dynamics.table
        example = np.searchsorted(dynamics.example_ids(), table["row_id"].to_numpy(zero_copy_only=False))
        n = self._n_examples or int(table["position"].to_numpy().max()) + 1
        scores = np.zeros(n, dtype=np.float64)
        scores[table["position"].to_numpy()] = events[example]
        return scores.tolist()

    def dprune_identity(self) -> dict[str, Any]:
        """Content identity for cache keys (the recorded dynamics)."""
        if not self.has_records:
            return {"forgetting_callback": "no records", "mode": self.mode}
        return self.dynamics.dprune_identity()

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        self._flush()
        state = dict(self.__dict__)
        state["_trainer"] = None
        state["_originals"] = {}
        state["_active"] = False
        state["epoch_sink"] = None
        return state

    def __repr__(self) -> str:
        return f"ForgettingCallback(mode={self.mode!r}, presentations={self._records.presentations})"

