"""The presentation records of one training run, buffered on the device, and their checkpoint file.

:class:`RecordBuffer` keeps each micro-batch's statistics as device tensors until
:meth:`~RecordBuffer.flush` moves them to the host in one go (once per epoch or
checkpoint), so recording never synchronizes a training step. It remembers which epochs
are complete, gives the records as a :func:`~dprune.dynamics.records.dynamics_schema`
table, and saves / restores them in a checkpoint folder (:data:`CHECKPOINT_RECORDS`)
so that a run resumed from a checkpoint continues with consistent dynamics.
"""

from __future__ import annotations

import json
import os
from itertools import groupby
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dprune.dynamics.records import PHASES, dynamics_schema, records_table

__all__ = ["CHECKPOINT_RECORDS", "RecordBuffer", "host_concat"]

#: File written into every checkpoint folder with the records so far.
CHECKPOINT_RECORDS = "dprune_dynamics.parquet"
#: Key of the callback's state in the checkpoint file's schema metadata.
_META_KEY = b"dprune.callback"
_STATS = ("pred", "correct", "prob", "margin", "loss", "el2n")


def host_concat(tensors: Iterable[Any]) -> np.ndarray:
    """The tensors, flattened and concatenated in order, as one host array.

    The tensors may live on different devices (a training step's on the GPU, an eval pass's
    predictions on the host): each run of tensors on one device is concatenated there and copied
    to the host once.
    """
    import torch

    flat = (tensor.detach().reshape(-1) for tensor in tensors)
    runs = [torch.cat(list(run)).cpu().numpy() for _, run in groupby(flat, key=lambda tensor: tensor.device)]
    return np.concatenate(runs)


class RecordBuffer:
    """Presentations recorded so far: pending device tensors, then host columns (chunks)."""

    def __init__(self):
        self.chunks: list[dict[str, np.ndarray]] = []
        self.pending: list = []
        self.completed_epochs: set[int] = set()

    def add(self, epoch: int, step: int, index, labels, stats: dict, phase: str = PHASES[0]) -> None:
        """One micro-batch: example positions, gold labels and the per-example ``stats`` tensors.

        ``phase``: ``"train"`` for a training presentation, ``"eval"`` for an end-of-epoch evaluation.
        """
        self.pending.append((epoch, step, index.detach(), labels.detach(), stats, phase))

    def flush(self, seed: int, ids: np.ndarray | None) -> None:
        """Move the pending micro-batches to the host as one chunk (``ids[position]`` as row ids)."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        epochs = np.concatenate([np.full(len(p[2]), p[0], dtype=np.int64) for p in pending])
        steps = np.concatenate([np.full(len(p[2]), p[1], dtype=np.int64) for p in pending])
        positions = host_concat([p[2] for p in pending]).astype(np.int64)
        chunk = {
            "seed": np.full(len(positions), seed, dtype=np.int64),
            "epoch": epochs,
            "step": steps,
            "position": positions,
            "row_id": ids[positions] if ids is not None else positions,
            "label": host_concat([p[3] for p in pending]),
            "phase": np.concatenate([np.full(len(p[2]), p[5], dtype=object) for p in pending]),
        }
        for field in _STATS:
            chunk[field] = host_concat([p[4][field] for p in pending])
        self.chunks.append(chunk)

    @property
    def presentations(self) -> int:
        """Number of presentations recorded (host and pending)."""
        return sum(len(c["position"]) for c in self.chunks) + sum(len(p[2]) for p in self.pending)

    def recorded_epochs(self) -> list[int]:
        """The epochs present in the host records, sorted."""
        return sorted({int(e) for chunk in self.chunks for e in np.unique(chunk["epoch"])})

    def table(self) -> pa.Table:
        """The host records as one dynamics table (flush first to include pending ones)."""
        if not self.chunks:
            return dynamics_schema().empty_table()
        merged = {k: np.concatenate([c[k] for c in self.chunks]) for k in self.chunks[0]}
        return records_table(merged)

    def epoch_table(self, epoch: int) -> pa.Table:
        """The host records of one epoch."""
        table = self.table()
        return table.filter(pc.equal(table["epoch"], epoch))

    def save(self, folder: str, meta: dict[str, Any]) -> str:
        """Write the host records and ``meta`` to ``folder/CHECKPOINT_RECORDS`` atomically; return the path."""
        import pyarrow.parquet as pq

        meta = {**meta, "completed_epochs": sorted(self.completed_epochs)}
        table = self.table().replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
        path = os.path.join(folder, CHECKPOINT_RECORDS)
        tmp = f"{path}.tmp-{os.getpid()}"
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        return path

    def restore(self, folders: Iterable[str], global_step: int) -> dict[str, Any]:
        """Replace the records with those saved in the first of ``folders`` that has them; return its meta.

        Raises
        ------
        RuntimeError
            When no folder has the file, or its records go past ``global_step``.
        """
        import pyarrow.parquet as pq

        candidates = [folder for folder in folders if folder]
        for folder in candidates:
            path = os.path.join(folder, CHECKPOINT_RECORDS)
            if not os.path.isfile(path):
                continue
            table = pq.read_table(path)
            meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
            # a training presentation precedes its step's update; an evaluation follows the epoch's last one
            is_eval = (table["phase"].to_numpy(zero_copy_only=False) == PHASES[1] if "phase" in table.column_names
                       else np.zeros(table.num_rows, dtype=bool))
            steps = table["step"].to_numpy() + ~is_eval
            if steps.size and steps.max() > global_step:
                raise RuntimeError(
                    f"The dynamics saved in {folder} have presentations from step {int(steps.max())} but the "
                    f"checkpoint is at step {global_step}; the checkpoint folder is inconsistent."
                )
            self.pending = []
            self.chunks = []
            if table.num_rows:
                self.chunks = [{name: table[name].to_numpy(zero_copy_only=False) for name in table.column_names}]
                if "phase" not in self.chunks[0]:  # saved before evaluations were recorded: training only
                    self.chunks[0]["phase"] = np.full(table.num_rows, PHASES[0], dtype=object)
            self.completed_epochs = set(int(e) for e in meta.get("completed_epochs", []))
            return meta
        raise RuntimeError(
            f"Training resumes from step {global_step}, but no {CHECKPOINT_RECORDS} was found in "
            f"{candidates}: the checkpoint was written without ForgettingCallback, so the dynamics of the first "
            f"{global_step} steps are lost. Resume from a checkpoint written with the callback attached, "
            "or train from scratch."
        )
