"""What every dynamics trainer checks and records: seeds, row ids, embeddings, metadata."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.base import MissingColumnError, column_to_numpy
from dprune.data.labels import LabelMapping

__all__ = ["as_seeds", "check_positive_int", "check_training", "dynamics_meta", "embedding_matrix", "row_id_type", "row_ids"]

def as_seeds(seeds: int | Sequence[int], owner: str) -> list[int]:
    """``seeds`` as a list of distinct ints >= 0, or a ``ValueError`` naming ``owner``."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        seeds = [int(seeds)]
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise ValueError(
            f"The 'seeds' parameter of {owner} must be an int >= 0 or a non-empty list of them. Got {seeds!r} instead."
        )
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"The 'seeds' parameter of {owner} has duplicates: {seeds}. Each run needs its own seed.")
    return [int(s) for s in seeds]


def check_positive_int(name: str, value: Any, owner: str) -> None:
    """Raise a ``ValueError`` unless parameter ``name`` is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"The {name!r} parameter of {owner} must be an int >= 1. Got {value!r} instead.")


def check_training(dataset: Any, owner: str, *, learning_rate: float, **counts: Any) -> None:
    """The checks every mini-batch trainer makes: a non-empty ``Dataset``, ``counts`` ints >= 1, ``learning_rate`` > 0."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"{owner} expects a datasets.Dataset. Got {type(dataset).__name__} instead.")
    if len(dataset) == 0:
        raise ValueError(f"{owner} got an empty dataset (0 rows).")
    for name, value in counts.items():
        check_positive_int(name, value, owner)
    if not learning_rate > 0:
        raise ValueError(f"The 'learning_rate' parameter of {owner} must be > 0. Got {learning_rate!r} instead.")


def row_ids(dataset: Dataset, id_column: str | None) -> tuple[np.ndarray, str | None]:
    """The unique ids of the rows (``id_column``, or positions when it is absent) and the column used."""
    if id_column is not None and id_column in dataset.column_names:
        ids = column_to_numpy(dataset, id_column)
        if len(np.unique(ids)) != len(ids):
            raise ValueError(
                f"The id column {id_column!r} has duplicate values; ids must identify rows uniquely. Deduplicate "
                "the ids or pass id_column=None to identify rows by position."
            )
        return ids, id_column
    return np.arange(len(dataset), dtype=np.int64), None


def embedding_matrix(dataset: Dataset, embeddings: Any, owner: str) -> np.ndarray:
    """A float32 (n, d) matrix from an array or the name of a dataset column of vectors."""
    if isinstance(embeddings, str):
        if embeddings not in dataset.column_names:
            raise MissingColumnError(
                f"{owner}: embeddings={embeddings!r} names no column of the dataset (it has {dataset.column_names}). "
                "Pass a numpy array of shape (n_rows, dim) or the name of a column of vectors."
            )
        column = dataset.with_format("numpy")[embeddings]
        matrix = np.asarray(column if not isinstance(column, list) else np.stack(column))
    else:
        matrix = np.asarray(embeddings)
    if matrix.dtype == object or matrix.ndim != 2:
        raise ValueError(
            f"{owner}: embeddings must be a 2-D array of shape (n_rows, dim); got shape {matrix.shape} and dtype "
            f"{matrix.dtype}."
        )
    if matrix.shape[0] != len(dataset):
        raise ValueError(
            f"{owner}: embeddings have {matrix.shape[0]} rows but the dataset has {len(dataset)}; they must be "
            "row-aligned (embedding i belongs to dataset row i)."
        )
    matrix = matrix.astype(np.float32, copy=False)
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{owner}: embeddings contain NaN or infinite values.")
    return matrix


def dynamics_meta(source, mapping: LabelMapping, id_column, n, seeds, config) -> dict[str, Any]:
    """The metadata a :class:`~dprune.dynamics.records.Dynamics` carries: where it came from, labels, rows, seeds."""
    return {
        "source": source,
        "mode": "forward",
        "num_labels": mapping.num_labels,
        "label_mapping": mapping.to_dict(),
        "id_column": id_column,
        "n_examples": int(n),
        "seeds": list(seeds),
        "config": config,
    }


def row_id_type(ids: np.ndarray) -> pa.DataType:
    """The Arrow type of the ``row_id`` column for these ids (strings or int64)."""
    return pa.string() if np.asarray(ids).dtype.kind in "OUS" else pa.int64()
