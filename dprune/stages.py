"""The workflow's stages as plain functions over the artifact store.

Each stage computes its key from its configuration and its parents' keys,
returns the existing artifact when the store already holds it, and otherwise
computes and commits it. Prefect tasks in ``tasks/`` wrap these functions;
they work just as well from a notebook with no Prefect at all.

Stage graph::

    load -> dataset ─┬─> embed -> embeddings ─┬─> cluster ──────────────> scores ─┐
                     │                        └─> train (probe dynamics) ─> scores ─┤
                     ├─> kenlm -> LM binary ───> perplexity ────────────> scores ─┤
                     ├─> score(any registered scorer) ──────────────────> scores ─┤
                     └────────────────────────────────────────── prune(pruner) ◄──┘
                                                  -> selection -> export, report

Every "scores" artifact is a table of ``row_id`` plus named float columns, so
the prune stage joins any of them the same way.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.base import Pruner, Scorer, column_to_numpy, with_column
from dprune.vectors.kmeans import cluster_to_store
from dprune.data.loading import ROW_ID, load_dataset
from dprune.embedding_store import embed_to_store, read_embeddings
from dprune.lm.training import LM_MODEL_FILE, train_kenlm_model
from dprune.scorers.perplexity import PerplexityScorer
from dprune.dynamics.training import dynamics_stage
from dprune.core.fingerprint import compute_key, dataset_fingerprint
from dprune.core.registry import PRUNERS, SCORERS
from dprune.report import ReportPaths, selection_summary, write_report
from dprune.store import ArtifactRef, ArtifactStore

logger = logging.getLogger(__name__)

DATASET_STAGE, SCORES_STAGE, SELECTION_STAGE = "dataset", "scores", "selection"
STAGE_VERSIONS = {DATASET_STAGE: 1, SCORES_STAGE: 1, SELECTION_STAGE: 1}


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
) -> ArtifactRef:
    """Score the dataset with one scorer; store ``row_id`` plus the scorer's column."""
    if not isinstance(scorer, Scorer):
        scorer = ComponentSpec.parse(scorer).build_scorer()
    key = score_key(dataset_ref, scorer)
    if store.exists(SCORES_STAGE, key):
        return store.ref(SCORES_STAGE, key)
    dataset = store.read(dataset_ref)
    column = scorer.score_column
    scored = scorer.score(dataset)
    table = pa.table({ROW_ID: column_to_numpy(dataset, ROW_ID), column: column_to_numpy(scored, column)})
    return store.write_table(
        SCORES_STAGE, key, table, config=scorer.config(), parents=[dataset_ref], meta={"score_column": column}
    )


def columns_stage(
    store: ArtifactStore, dataset_ref: ArtifactRef, source_ref: ArtifactRef, columns: Mapping[str, str]
) -> ArtifactRef:
    """Turn a row-aligned stage output into a scores artifact: ``row_id`` plus renamed columns.

    ``columns`` maps the source's column names to the score column names.
    """
    config = {"source": f"{source_ref.stage}/{source_ref.key}", "columns": dict(columns)}
    key = compute_key(SCORES_STAGE, STAGE_VERSIONS[SCORES_STAGE], config, parents=[dataset_ref.key, source_ref.key])
    if store.exists(SCORES_STAGE, key):
        return store.ref(SCORES_STAGE, key)
    source = store.read_table(source_ref)
    row_ids = column_to_numpy(store.read(dataset_ref), ROW_ID)
    if source.num_rows != len(row_ids):
        raise ValueError(
            f"{source_ref.stage}/{source_ref.key} has {source.num_rows} rows but dataset {dataset_ref.key} has "
            f"{len(row_ids)}; it was not computed from this dataset. Re-run its stage."
        )
    table = pa.table({ROW_ID: row_ids, **{new: source.column(old) for old, new in columns.items()}})
    return store.write_table(SCORES_STAGE, key, table, config=config, parents=[dataset_ref, source_ref])


def embed_stage(
    store: ArtifactStore,
    dataset_ref: ArtifactRef,
    *,
    text_column: str = "text",
    shards: Sequence[int] | None = None,
    **options: Any,
) -> ArtifactRef | None:
    """Embed the dataset's texts (see :func:`dprune.embedding_store.embed_to_store`).

    With ``shards``, compute only those shards and return None; a call without it
    computes what is still missing and commits the artifact.
    """
    dataset = store.read(dataset_ref)
    return embed_to_store(dataset, store, text_column=text_column, parents=[dataset_ref], shards=shards, **options)


def cluster_stage(
    store: ArtifactStore,
    dataset_ref: ArtifactRef,
    embeddings_ref: ArtifactRef,
    *,
    score_column: str = "kmeans_distance",
    **options: Any,
) -> ArtifactRef:
    """k-means over the embeddings; scores are each row's distance to its centroid, plus ``cluster_id``."""
    clusters_ref = cluster_to_store(store, embeddings_ref, **options)
    return columns_stage(store, dataset_ref, clusters_ref, {"distance": score_column, "cluster_id": "cluster_id"})


def kenlm_stage(
    store: ArtifactStore,
    dataset_ref: ArtifactRef,
    *,
    text_column: str = "text",
    reference: str | None = None,
    reference_text_column: str = "text",
    **options: Any,
) -> ArtifactRef:
    """Train a KenLM reference model on ``reference`` (a corpus file, URL or dataset name) or the dataset itself."""
    if reference is None:
        corpus, column = store.read(dataset_ref), text_column
    else:
        corpus, column = load_dataset(reference, text_column=reference_text_column, label_column=None), reference_text_column
    return train_kenlm_model(corpus, store=store, text_column=column, **options).ref


def perplexity_stage(
    store: ArtifactStore,
    dataset_ref: ArtifactRef,
    lm_ref: ArtifactRef,
    *,
    text_column: str = "text",
    score_column: str = "perplexity",
    shard_rows: int = 100_000,
    shards: Sequence[int] | None = None,
    on_shard: Callable[[int, int, int], None] | None = None,
    **options: Any,
) -> ArtifactRef | None:
    """Perplexity of every text under the KenLM model (sharded and resumable).

    With ``shards``, compute only those shards and return None. ``on_shard(index, start,
    stop)`` is called after each shard this call computed.
    """
    scorer = PerplexityScorer(store.local_file(lm_ref, LM_MODEL_FILE), text_column=text_column,
                              score_column=score_column, **options)
    progress = None if on_shard is None else (lambda shard: on_shard(shard.index, shard.start, shard.stop))
    ref = scorer.score_to_store(
        store.read(dataset_ref), store, parents=[dataset_ref, lm_ref], shard_size=shard_rows, shards=shards,
        progress=progress,
    )
    if shards is not None:
        return None
    return columns_stage(store, dataset_ref, ref, {score_column: score_column})


def train_stage(
    store: ArtifactStore,
    dataset_ref: ArtifactRef,
    embeddings_ref: ArtifactRef | None = None,
    *,
    label_column: str = "label",
    **options: Any,
) -> ArtifactRef:
    """Record training dynamics: a linear probe on the embeddings (default) or fine-tuning."""
    embeddings = read_embeddings(store, embeddings_ref) if embeddings_ref is not None else None
    return dynamics_stage(store, dataset_ref, embeddings=embeddings, label_column=label_column, **options)


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


def report_stage(
    store: ArtifactStore,
    dataset_ref: ArtifactRef,
    score_refs: Sequence[ArtifactRef],
    selection_ref: ArtifactRef,
    output_dir: str | Path,
    *,
    text_column: str = "text",
    label_column: str | None = "label",
) -> tuple[ReportPaths, dict[str, Any]]:
    """Write the HTML/PNG report of a selection and return it with the selection summary."""
    scored = attach_scores(store, dataset_ref, score_refs)
    positions = column_to_numpy(store.read(selection_ref), "position")
    label = label_column if label_column in scored.column_names else None
    paths = write_report(scored, positions, output_dir, text_column=text_column, label_column=label)
    summary = selection_summary(scored, positions, label_column=label)
    return paths, summary
