"""Stage ``scores``: ``row_id`` plus named float columns, from any registered scorer or another stage.

Every scores artifact has the same shape, so the selection stage joins any of
them the same way (:func:`attach_scores`).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa

from dprune.core.base import Scorer, column_to_numpy
from dprune.core.fingerprint import hash_text
from dprune.core.registry import ComponentSpec
from dprune.data import ROW_ID
from dprune.stages.runner import Stage, run_cached
from dprune.store import ArtifactRef

SCORES = Stage("scores", version=1)


def score_key(dataset_ref: Any, scorer: Scorer) -> str:
    """The key of a scorer's output on a dataset artifact (pruner settings never enter it)."""
    return SCORES.key(scorer.config(), parents=[dataset_ref.key])


def score_stage(store: Any, dataset_ref: Any, scorer: Scorer | ComponentSpec | Mapping[str, Any] | str) -> Any:
    """Score the dataset with one scorer; store ``row_id`` plus the scorer's column."""
    if not isinstance(scorer, Scorer):
        scorer = ComponentSpec.parse(scorer).build_scorer()
    column = scorer.score_column

    def compute() -> pa.Table:
        dataset = store.read(dataset_ref)
        scored = scorer.score(dataset)
        return pa.table({ROW_ID: column_to_numpy(dataset, ROW_ID), column: column_to_numpy(scored, column)})

    # artifacts the scorer reads (e.g. a dynamics artifact) are parents too, so `gc --keep` keeps them;
    # the key already holds their identities through the scorer's config
    parents = [dataset_ref, *artifact_params(scorer)]
    return run_cached(store, SCORES, scorer.config(), compute, parents=parents, key=score_key(dataset_ref, scorer),
                      meta={"score_column": column})


def artifact_params(component: Any) -> list[ArtifactRef]:
    """The artifact references among a component's parameters (in lists and dicts too)."""
    found: list[ArtifactRef] = []

    def walk(value: Any) -> None:
        if isinstance(value, ArtifactRef):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)

    walk(list(component.get_params().values()))
    return found


def columns_stage(store: Any, dataset_ref: Any, source_ref: Any, columns: Mapping[str, str]) -> Any:
    """Turn a row-aligned stage output into a scores artifact: ``row_id`` plus renamed columns.

    ``columns`` maps the source's column names to the score column names.
    """
    config = {"source": f"{source_ref.stage}/{source_ref.key}", "columns": dict(columns)}

    def compute() -> pa.Table:
        source = store.read_table(source_ref)
        row_ids = column_to_numpy(store.read(dataset_ref), ROW_ID)
        if source.num_rows != len(row_ids):
            raise ValueError(
                f"{source_ref.stage}/{source_ref.key} has {source.num_rows} rows but dataset {dataset_ref.key} has "
                f"{len(row_ids)}; it was not computed from this dataset. Re-run its stage."
            )
        return pa.table({ROW_ID: row_ids, **{new: source.column(old) for old, new in columns.items()}})

    key = SCORES.key(config, parents=[dataset_ref.key, source_ref.key])
    return run_cached(store, SCORES, config, compute, parents=[dataset_ref, source_ref], key=key)


def read_scores(store: Any, dataset_ref: Any, score_refs: Sequence[Any]) -> dict[str, np.ndarray]:
    """Every score column of ``score_refs`` (one float array per row each), checked row by row against ``row_id``.

    A column named like an earlier score replaces it and moves to the end.
    """
    row_ids = column_to_numpy(store.read(dataset_ref), ROW_ID)
    columns: dict[str, np.ndarray] = {}
    for ref in score_refs:
        scores = store.read(ref)
        if not np.array_equal(column_to_numpy(scores, ROW_ID), row_ids):
            raise ValueError(
                f"Scores {ref.stage}/{ref.key} do not belong to dataset {dataset_ref.key}: their row ids differ. "
                "Re-run the score stage on this dataset."
            )
        for column in scores.column_names:
            if column != ROW_ID:
                columns.pop(column, None)
                columns[column] = column_to_numpy(scores, column)
    return columns


def attach_scores(store: Any, dataset_ref: Any, score_refs: Sequence[Any],
                  scores: Mapping[str, np.ndarray] | None = None) -> Any:
    """The stored dataset with every score column added (:func:`read_scores`, unless ``scores`` were read already).

    A score column named like a dataset column replaces it and moves to the end. The columns
    are added in one step (one new dataset, not one per column); the text stays memory-mapped.
    """
    from datasets import Dataset, concatenate_datasets
    from datasets.table import InMemoryTable

    dataset = store.read(dataset_ref)
    columns = read_scores(store, dataset_ref, score_refs) if scores is None else scores
    if not columns:
        return dataset
    replaced = [column for column in columns if column in dataset.column_names]
    if replaced:
        dataset = dataset.remove_columns(replaced)
    # The scores' own keys identify the added columns: without an explicit fingerprint, `datasets`
    # would pickle the whole in-memory table to hash it (several times its size at 1M rows).
    fingerprint = hash_text("attach_scores:" + ",".join(f"{ref.stage}/{ref.key}" for ref in score_refs), 32)
    added = Dataset(InMemoryTable(pa.table({name: pa.array(values) for name, values in columns.items()})),
                    fingerprint=fingerprint)
    return concatenate_datasets([dataset, added], axis=1)
