"""Export: the kept rows (with their scores) as Parquet and ``save_to_disk``, ``kept_ids.json``, and
``scores.parquet``: every row, kept or dropped, with its scores, label name, cluster, ``kept`` and the rule
that dropped it (see :func:`dprune.stages.report.selection_table_of`).

Not a store stage: it writes the user's output folder from stored artifacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dprune.core.outputs import OutputFiles, output_transaction
from dprune.core.base import column_to_numpy
from dprune.data import ROW_ID
from dprune.report import scores_table
from dprune.stages.report import selection_table_of
from dprune.stages.scores import attach_scores


#: Rows per batch written to ``pruned.parquet``: the export holds one batch of rows at a time.
EXPORT_BATCH_ROWS = 10_000


@dataclass(frozen=True)
class ExportPaths(OutputFiles):
    """Where :func:`export_stage` wrote the pruned dataset."""

    parquet: Path
    dataset_dir: Path
    kept_ids: Path
    scores: Path


def export_stage(
    store: Any,
    dataset_ref: Any,
    score_refs: Sequence[Any],
    selection_ref: Any,
    output_dir: str | Path,
) -> ExportPaths:
    """Write the kept rows (with their scores) as Parquet and ``save_to_disk``, a kept-ids manifest and
    ``scores.parquet`` (all rows), holding the folder's lock; the four replace the old ones as one commit."""
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    scored = attach_scores(store, dataset_ref, score_refs)
    selection = store.read(selection_ref)
    positions = column_to_numpy(selection, "position")
    kept = scored.select(positions)
    final = ExportPaths(output / "pruned.parquet", output / "pruned_dataset", output / "kept_ids.json",
                        output / "scores.parquet")
    with output_transaction(output) as staging:  # written aside, then moved into place as one commit
        paths = ExportPaths(*(staging / Path(p).name for p in final.to_dict().values()))
        _write(store, kept, scored, positions, selection, dataset_ref, score_refs, selection_ref, paths)
    return final


def _write(store: Any, kept: Any, scored: Any, positions: np.ndarray, selection: Any, dataset_ref: Any,
           score_refs: Sequence[Any], selection_ref: Any, paths: ExportPaths) -> None:
    write_parquet(scored, positions, paths.parquet)
    kept.save_to_disk(str(paths.dataset_dir))
    manifest = {
        "dataset": dataset_ref.to_dict(),
        "scores": [ref.to_dict() for ref in score_refs],
        "selection": selection_ref.to_dict(),
        "rows_in": len(scored),
        "rows_kept": len(kept),
        "kept_row_ids": column_to_numpy(selection, ROW_ID).tolist(),
    }
    paths.kept_ids.write_text(json.dumps(manifest, indent=1))
    pq.write_table(scores_table(selection_table_of(store, selection_ref)), paths.scores)


def write_parquet(dataset: Any, positions: np.ndarray, path: Path) -> None:
    """Write the rows ``positions`` of ``dataset``, in that order, to one Parquet file, batch by batch.

    The schema keeps the dataset's features (class names, audio), as ``Dataset.to_parquet``
    does; rows are taken from the Arrow table directly, without that method's per-batch
    formatting and its import of the Hub client.
    """
    table = dataset.with_format("arrow")[:]  # zero-copy for a dataset read from the store
    with pq.ParquetWriter(str(path), table.schema) as writer:
        for start in range(0, len(positions), EXPORT_BATCH_ROWS):
            writer.write_table(table.take(pa.array(positions[start:start + EXPORT_BATCH_ROWS])))
