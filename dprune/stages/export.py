"""Export: the kept rows (with their scores) as Parquet and ``save_to_disk``, ``kept_ids.json``, and
``scores.parquet``: every row, kept or dropped, with its scores, label name, cluster, ``kept`` and the rule
that dropped it (see :func:`dprune.stages.report.selection_table_of`).

The scores are read once; the kept rows stream through both writers batch by batch, read shard
by shard from the stored dataset, so the export holds one shard's pages and one batch of rows
(plus one float array per score column) whatever the dataset's size.

Not a store stage: it writes the user's output folder from stored artifacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dprune.core.base import column_to_numpy
from dprune.core.fingerprint import table_windows
from dprune.core.outputs import OutputFiles, output_transaction
from dprune.data import ROW_ID
from dprune.report import scores_table
from dprune.stages.report import selection_table_of
from dprune.stages.scores import attach_scores, read_scores

#: Rows per batch written to ``pruned.parquet`` (one row group each) and to the ``save_to_disk`` copy.
EXPORT_BATCH_ROWS = 10_000
#: The one data file of the ``save_to_disk`` copy (``save_to_disk(num_shards=1)`` names it so).
DATA_FILE = "data-00000-of-00001.arrow"


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
    scores = read_scores(store, dataset_ref, score_refs)
    scored = attach_scores(store, dataset_ref, score_refs, scores)  # memory-mapped text: no row is read here
    selection = store.read(selection_ref)
    positions = column_to_numpy(selection, "position")
    final = ExportPaths(output / "pruned.parquet", output / "pruned_dataset", output / "kept_ids.json",
                        output / "scores.parquet")
    with output_transaction(output) as staging:  # written aside, then moved into place as one commit
        paths = ExportPaths(*(staging / Path(p).name for p in final.to_dict().values()))
        write_kept(store, dataset_ref, scored, scores, positions, paths.parquet, paths.dataset_dir)
        manifest = {
            "dataset": dataset_ref.to_dict(),
            "scores": [ref.to_dict() for ref in score_refs],
            "selection": selection_ref.to_dict(),
            "rows_in": len(scored),
            "rows_kept": len(positions),
            "kept_row_ids": column_to_numpy(selection, ROW_ID).tolist(),
        }
        with paths.kept_ids.open("w") as file:  # streamed: the ids' text is never one string in memory
            json.dump(manifest, file, indent=1)
        del manifest
        pq.write_table(scores_table(selection_table_of(store, selection_ref, scored=scored, scores=scores)),
                       paths.scores)
    return final


def write_kept(store: Any, dataset_ref: Any, scored: Any, scores: Mapping[str, np.ndarray], positions: np.ndarray,
               parquet_path: Path, dataset_dir: Path) -> None:
    """Write the rows ``positions`` of ``scored`` (the stored dataset with ``scores`` attached), in that order, to
    one Parquet file and a ``save_to_disk`` folder, one batch of :data:`EXPORT_BATCH_ROWS` rows at a time.

    The Parquet schema keeps the dataset's features (class names, audio), as ``Dataset.to_parquet``
    does; the folder is what ``scored.select(positions).save_to_disk(num_shards=1)`` writes (its
    metadata written by ``datasets`` itself, its rows by the same ``ArrowWriter``).
    """
    from datasets.arrow_writer import ArrowWriter

    schema = scored.with_format("arrow")[:0].schema
    kept = scored.select(positions)
    kept.select([]).save_to_disk(str(dataset_dir), num_shards=1)  # the folder's metadata; rows written below
    data_file = dataset_dir / DATA_FILE
    if not data_file.is_file():
        raise RuntimeError(f"save_to_disk wrote {sorted(p.name for p in dataset_dir.iterdir())}, not {DATA_FILE}: "
                           "this version of `datasets` lays its folders out differently.")
    arrow = ArrowWriter(features=kept.features, path=str(data_file), embed_local_files=True)
    try:
        with pq.ParquetWriter(str(parquet_path), schema) as parquet:
            for table in table_windows(kept_parts(store, dataset_ref, scores, positions, schema), EXPORT_BATCH_ROWS):
                parquet.write_table(table)
                arrow.write_table(table)
        arrow.finalize()
    finally:
        arrow.close()


def kept_parts(store: Any, dataset_ref: Any, scores: Mapping[str, np.ndarray], positions: np.ndarray,
               schema: pa.Schema) -> Iterable[pa.Table]:
    """The rows ``positions`` of the stored dataset with their ``scores``, in that order, as tables of ``schema``.

    Increasing positions (every rule and threshold pruner's) are read shard by shard, one shard
    mapped at a time; positions in another order are taken from the whole dataset.
    """
    if positions.size < 2 or bool(np.all(np.diff(positions) > 0)):
        offset = 0
        for shard in store.read_shards(dataset_ref):
            ends = np.searchsorted(positions, [offset, offset + len(shard)])
            rows = positions[ends[0]:ends[1]]
            for start in range(0, len(rows), EXPORT_BATCH_ROWS):
                yield with_scores(shard.data.table, rows[start:start + EXPORT_BATCH_ROWS], offset, scores, schema)
            offset += len(shard)
            del shard
    else:
        table = store.read(dataset_ref).data.table
        for start in range(0, len(positions), EXPORT_BATCH_ROWS):
            yield with_scores(table, positions[start:start + EXPORT_BATCH_ROWS], 0, scores, schema)


def with_scores(table: pa.Table, rows: np.ndarray, offset: int, scores: Mapping[str, np.ndarray],
                schema: pa.Schema) -> pa.Table:
    """Rows ``rows`` (dataset positions; ``table`` starts at ``offset``) with their scores, as a table of ``schema``."""
    taken = table.take(pa.array(rows - offset, type=pa.int64()))
    return pa.Table.from_arrays(
        [pa.array(scores[name][rows]) if name in scores else taken.column(name) for name in schema.names],
        schema=schema,
    )
