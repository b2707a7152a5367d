"""The all-rows table of a selection: what a person inspects after a prune.

One row per dataset row, kept or dropped, with the columns :data:`ROW_ID`,
:data:`TEXT` (optional), :data:`LABEL` (the class *name*, never a bare id when
names are known), every score column, :data:`CLUSTER`, :data:`KEPT` and, for
rule-based pruners, :data:`DROPPED_BY` (the rule that dropped the row, null for
kept rows). An :data:`AUDIO` column (file path, or the bytes of a clip) and
:data:`FLIPPED` (labels flipped on purpose) travel along when present.
:func:`scores_table` is the same table without text and audio: ``scores.parquet``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import ClassLabel, Dataset

from dprune.core.base import MissingColumnError, column_to_numpy
from dprune.data.labels import LabelMapping
from dprune.evaluation.noise import FLIPPED_COLUMN

__all__ = [
    "AUDIO", "CLUSTER", "DROPPED_BY", "FLIPPED", "KEPT", "LABEL", "ROW_ID", "TEXT",
    "label_names", "score_columns", "scores_table", "selection_table",
]

ROW_ID, TEXT, LABEL, CLUSTER, KEPT, DROPPED_BY, AUDIO = (
    "row_id", "text", "label", "cluster", "kept", "dropped_by", "audio",
)
FLIPPED = FLIPPED_COLUMN
#: Columns of the table that are never scores.
NON_SCORE_COLUMNS = (ROW_ID, TEXT, LABEL, CLUSTER, KEPT, DROPPED_BY, AUDIO, FLIPPED)


def label_names(dataset: Dataset, label_column: str, mapping: LabelMapping | None = None) -> pa.Array:
    """The label column as class names (strings), for people to read.

    ``mapping`` (the one recorded when the data was loaded or a model trained)
    wins; else a ``ClassLabel`` feature gives the names; else the values are
    shown as they are.
    """
    feature = dataset.features.get(label_column)
    if mapping is None and isinstance(feature, ClassLabel):
        mapping = LabelMapping("class_label", tuple(feature.names))
    values = column_to_numpy(dataset, label_column)
    if mapping is not None and mapping.kind in ("class_label", "int"):
        return pa.array(mapping.decode(values, column=label_column), type=pa.string())
    return pa.array([None if v is None else str(v) for v in values.tolist()], type=pa.string())


def _require(dataset: Dataset, column: str | None, parameter: str) -> None:
    if column is not None and column not in dataset.column_names:
        raise MissingColumnError(
            f"The report's {parameter}={column!r} is not a column of the dataset; it has {dataset.column_names}. "
            f"Pass {parameter}=<one of those> or {parameter}=None."
        )


def _float_columns(dataset: Dataset, exclude: Sequence[str]) -> list[str]:
    return [
        name
        for name, feature in dataset.features.items()
        if name not in exclude and getattr(feature, "dtype", None) in ("float16", "float32", "float64")
    ]


def kept_mask(num_rows: int, positions: Sequence[int] | np.ndarray) -> np.ndarray:
    """A boolean mask of ``num_rows`` with ``positions`` set; out-of-range positions raise."""
    positions = np.asarray(positions, dtype=np.int64)
    if positions.size and (positions.min() < 0 or positions.max() >= num_rows):
        raise ValueError(
            f"Kept positions must lie in [0, {num_rows}) for a dataset of {num_rows} rows; got "
            f"[{positions.min()}, {positions.max()}]. Pass the positions of the selection made on this dataset."
        )
    mask = np.zeros(num_rows, dtype=bool)
    mask[positions] = True
    return mask


def selection_table(
    scored: Dataset,
    positions: Sequence[int] | np.ndarray,
    *,
    text_column: str | None = "text",
    label_column: str | None = "label",
    cluster_column: str | None = "cluster_id",
    score_columns: Sequence[str] | None = None,
    label_mapping: LabelMapping | None = None,
    dropped_by: Sequence[str | None] | None = None,
    audio_column: str | None = "audio",
    score_values: Mapping[str, np.ndarray] | None = None,
) -> pa.Table:
    """Every row of ``scored`` with its scores, label name, cluster and whether it was kept.

    Parameters
    ----------
    scored : Dataset
        The dataset with its score columns attached.
    positions : array of int
        Positions of the kept rows.
    text_column, label_column, cluster_column, audio_column : str or None
        Source columns; ``None`` leaves that column out. ``audio_column`` is also
        left out when the dataset has no such column.
    score_columns : list of str, optional
        Default: every float column other than the label and cluster.
    label_mapping : LabelMapping, optional
        Names of the class ids (see :func:`label_names`).
    dropped_by : list of str or None, optional
        Per row, the rule that dropped it (rule-based pruners), None elsewhere.
    score_values : mapping of str to array, optional
        Score columns already read (one value per row, e.g. by
        :func:`dprune.stages.scores.read_scores`), used as they are instead of a copy read
        from ``scored`` (a column of a dataset with several shards is copied to be read whole).
    """
    for column, parameter in ((text_column, "text_column"), (label_column, "label_column"),
                              (cluster_column, "cluster_column")):
        _require(scored, column, parameter)
    n = len(scored)
    mask = kept_mask(n, positions)
    columns: dict[str, Any] = {
        ROW_ID: column_to_numpy(scored, ROW_ID) if ROW_ID in scored.column_names else np.arange(n, dtype=np.int64)
    }
    if text_column:
        columns[TEXT] = scored.with_format("arrow")[text_column]
    if label_column:
        columns[LABEL] = label_names(scored, label_column, label_mapping)
    if score_columns is None:
        score_columns = _float_columns(scored, exclude=[label_column or "", cluster_column or "", ROW_ID])
    for column in score_columns:
        _require(scored, column, "score_columns")
        if column in NON_SCORE_COLUMNS:
            raise ValueError(
                f"Score column {column!r} clashes with the report's own column of that name "
                f"{list(NON_SCORE_COLUMNS)}. Rename the score column."
            )
        values = score_values.get(column) if score_values is not None else None
        if values is None:
            values = column_to_numpy(scored, column)
        elif len(values) != n:
            raise ValueError(f"score_values[{column!r}] holds {len(values)} values for a dataset of {n} rows; pass "
                             "the scores read for this dataset.")
        columns[column] = np.asarray(values).astype(np.float64, copy=False)
    if cluster_column:
        columns[CLUSTER] = column_to_numpy(scored, cluster_column)
    columns[KEPT] = mask
    if dropped_by is not None:
        if len(dropped_by) != n:
            raise ValueError(f"dropped_by must hold one entry per row ({n}); got {len(dropped_by)}.")
        columns[DROPPED_BY] = pa.array([None if keep else rule for keep, rule in zip(mask, dropped_by)],
                                       type=pa.string())
    if FLIPPED in scored.column_names:
        columns[FLIPPED] = column_to_numpy(scored, FLIPPED).astype(bool)
    if audio_column and audio_column in scored.column_names:
        columns[AUDIO] = scored.with_format("arrow")[audio_column]
    table = pa.table(columns)
    if table.num_rows:
        _check_unique_ids(table)
    return table


def _check_unique_ids(table: pa.Table) -> None:
    ids = table.column(ROW_ID)
    if pa.types.is_integer(ids.type) and ids.null_count == 0:
        # a sorted copy: 8 bytes per row, where Arrow's distinct count builds a hash table of ~14 times that
        values = np.sort(ids.to_numpy())
        unique = not bool((values[1:] == values[:-1]).any())
    else:
        unique = pc.count_distinct(ids).as_py() == table.num_rows
    if not unique:
        raise ValueError(
            f"Column {ROW_ID!r} must identify each row once; it has duplicates. Load the data with a unique "
            "id_column or let dPrune number the rows."
        )


def score_columns(table: pa.Table) -> list[str]:
    """The score columns of a selection table (every numeric column that is not a table column)."""
    return [
        field.name
        for field in table.schema
        if field.name not in NON_SCORE_COLUMNS and (pa.types.is_floating(field.type) or pa.types.is_integer(field.type))
    ]


def scores_table(table: pa.Table) -> pa.Table:
    """The selection table without text and audio: the content of ``scores.parquet``."""
    return table.drop_columns([c for c in (TEXT, AUDIO) if c in table.column_names])
