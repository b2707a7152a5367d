"""The workflow's stages as plain functions over the artifact store.

Each stage computes its key from its configuration and its parents' keys,
returns the existing artifact when the store already holds it, and otherwise
computes and commits it. Prefect tasks in ``tasks/`` wrap these functions;
they work just as well from a notebook with no Prefect at all.

Stage graph::

    load -> dataset ─┬─> score(scorer) -> scores ─┐
                     └──────────────────────────── prune(pruner) -> selection -> export
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.base import Pruner, Scorer, column_to_numpy, with_column
from dprune.data import ROW_ID, load_dataset
from dprune.fingerprint import compute_key, dataset_fingerprint
from dprune.registry import PRUNERS, SCORERS
from dprune.store import ArtifactRef, ArtifactStore

logger = logging.getLogger(__name__)

DATASET_STAGE, SCORES_STAGE, SELECTION_STAGE = "dataset", "scores", "selection"
STAGE_VERSIONS = {DATASET_STAGE: 1, SCORES_STAGE: 1, SELECTION_STAGE: 1}


class MissingArtifactError(LookupError):
    """A stage was asked to reuse an artifact that is not in the store (see ``compute=False``)."""


@dataclass(frozen=True)
class ComponentSpec:
    """A registry name plus keyword parameters, as written in a config file."""

    name: str
    params: Mapping[str, Any]

    @classmethod
    def parse(cls, spec: "ComponentSpec | Mapping[str, Any] | str") -> "ComponentSpec":
        """Accept ``"top_k"``, ``{"name": "top_k", "params": {...}}`` or ``{"name": "top_k", "k": 0.5}``."""
        if isinstance(spec, ComponentSpec):
            return spec
        if isinstance(spec, str):
            return cls(spec, {})
        if isinstance(spec, Mapping) and "name" in spec:
            extra = {k: v for k, v in spec.items() if k not in ("name", "params")}
            return cls(str(spec["name"]), {**dict(spec.get("params") or {}), **extra})
        raise ValueError(
            f"A component spec must be a name or a mapping with a 'name' key (and optional 'params'). Got {spec!r}."
        )

    def build_scorer(self) -> Scorer:
        """Instantiate the registered scorer."""
        return SCORERS.build(self.name, **self.params)

    def build_pruner(self) -> Pruner:
        """Instantiate the registered pruner."""
        return PRUNERS.build(self.name, **self.params)


def _missing(stage: str, what: str) -> MissingArtifactError:
    return MissingArtifactError(
        f"The {stage} artifact for {what} is not in the store and computing was disabled. "
        "Run once with computing enabled (drop --reuse-only) to create it."
    )


def load_stage(
    store: ArtifactStore,
    source: str = "rotten_tomatoes",
    *,
    split: str = "train",
    text_column: str = "text",
    label_column: str | None = "label",
    id_column: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> ArtifactRef:
    """Load a dataset and store it as the root artifact; its key is its content fingerprint."""
    dataset = load_dataset(
        source,
        split=split,
        text_column=text_column,
        label_column=label_column,
        id_column=id_column,
        storage_options=storage_options,
    )
    config = {"text_column": text_column, "label_column": label_column if label_column in dataset.column_names else None}
    key = compute_key(DATASET_STAGE, STAGE_VERSIONS[DATASET_STAGE], config, inputs=[dataset_fingerprint(dataset)])
    if store.exists(DATASET_STAGE, key):
        return store.ref(DATASET_STAGE, key)
    return store.write_table(
        DATASET_STAGE, key, dataset, config=config, meta={"source": str(source), "split": split}
    )


def score_key(dataset_ref: ArtifactRef, scorer: Scorer) -> str:
    """The key of a scorer's output on a dataset artifact (pruner settings never enter it)."""
    return compute_key(SCORES_STAGE, STAGE_VERSIONS[SCORES_STAGE], scorer.config(), parents=[dataset_ref.key])


def score_stage(
    store: ArtifactStore,
    dataset_ref: ArtifactRef,
    scorer: Scorer | ComponentSpec | Mapping[str, Any] | str,
    *,
    compute: bool = True,
) -> ArtifactRef:
    """Score the dataset with one scorer; store ``row_id`` plus the scorer's column."""
    if not isinstance(scorer, Scorer):
        scorer = ComponentSpec.parse(scorer).build_scorer()
    key = score_key(dataset_ref, scorer)
    if store.exists(SCORES_STAGE, key):
        return store.ref(SCORES_STAGE, key)
    if not compute:
        raise _missing(SCORES_STAGE, repr(scorer))
    dataset = store.read(dataset_ref)
    column = scorer.score_column
    scored = scorer.score(dataset)
    table = pa.table({ROW_ID: column_to_numpy(dataset, ROW_ID), column: column_to_numpy(scored, column)})
    return store.write_table(
        SCORES_STAGE, key, table, config=scorer.config(), parents=[dataset_ref], meta={"score_column": column}
    )


def attach_scores(store: ArtifactStore, dataset_ref: ArtifactRef, score_refs: Sequence[ArtifactRef]) -> Dataset:
    """The stored dataset with every score column added, checked row by row against ``row_id``."""
    dataset = store.read(dataset_ref)
    row_ids = column_to_numpy(dataset, ROW_ID)
    for ref in score_refs:
        scores = store.read(ref)
        if not np.array_equal(column_to_numpy(scores, ROW_ID), row_ids):
            raise ValueError(
                f"Scores {ref.stage}/{ref.key} do not belong to dataset {dataset_ref.key}: their row ids differ. "
                "Re-run the score stage on this dataset."
            )
        for column in scores.column_names:
            if column != ROW_ID:
                dataset = with_column(dataset, column, column_to_numpy(scores, column))
    return dataset


def prune_stage(
    store: ArtifactStore,
    dataset_ref: ArtifactRef,
    score_refs: Sequence[ArtifactRef],
    pruner: Pruner | ComponentSpec | Mapping[str, Any] | str,
) -> ArtifactRef:
    """Select rows with a pruner; store the kept ``row_id`` values and their positions."""
    if not isinstance(pruner, Pruner):
        pruner = ComponentSpec.parse(pruner).build_pruner()
    parents = [dataset_ref, *score_refs]
    key = compute_key(
        SELECTION_STAGE, STAGE_VERSIONS[SELECTION_STAGE], pruner.config(), parents=[p.key for p in parents]
    )
    if store.exists(SELECTION_STAGE, key):
        return store.ref(SELECTION_STAGE, key)
    scored = attach_scores(store, dataset_ref, score_refs)
    positions = pruner.fit_indices(scored)
    table = pa.table({ROW_ID: column_to_numpy(scored, ROW_ID)[positions], "position": positions})
    meta = {"rows_in": len(scored), "rows_kept": int(len(positions))}
    return store.write_table(SELECTION_STAGE, key, table, config=pruner.config(), parents=parents, meta=meta)


@dataclass(frozen=True)
class ExportPaths:
    """Where :func:`export_stage` wrote the pruned dataset."""

    parquet: Path
    dataset_dir: Path
    kept_ids: Path

    def to_dict(self) -> dict[str, str]:
        """Paths as strings, for logs and JSON."""
        return {k: str(v) for k, v in self.__dict__.items()}


def export_stage(
    store: ArtifactStore,
    dataset_ref: ArtifactRef,
    score_refs: Sequence[ArtifactRef],
    selection_ref: ArtifactRef,
    output_dir: str | Path,
) -> ExportPaths:
    """Write the kept rows (with their scores) as Parquet and ``save_to_disk``, plus a kept-ids manifest."""
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    scored = attach_scores(store, dataset_ref, score_refs)
    selection = store.read(selection_ref)
    kept = scored.select(column_to_numpy(selection, "position"))
    paths = ExportPaths(output / "pruned.parquet", output / "pruned_dataset", output / "kept_ids.json")
    kept.to_parquet(str(paths.parquet))
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
    return paths
