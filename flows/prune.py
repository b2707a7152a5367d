"""The main dPrune flow: every scoring stage cached in the artifact store, then prune, export, report.

Run it with no arguments to prune the bundled Rotten Tomatoes example::

    python flows/prune.py

It embeds the texts and clusters them (distance to the centroid), trains a
KenLM model and scores perplexity, and trains a linear probe on the
embeddings to record training dynamics (AUM, forgetting, data-map scores).
Then it keeps half the rows with coverage-centric selection on AUM. A second
run with another pruner or budget recomputes only the prune stage;
``--reuse-only`` refuses to compute any score and fails, naming what is
missing. Settings come from flags or from ``--config FILE.yaml`` (keys as the
flow's parameters; flags win).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from prefect import flow, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from dprune.core.registry import SCORERS

from tasks.cluster import cluster_task
from tasks.common import shard_indices
from tasks.embed import embed_shard_task, embed_task
from tasks.export import export_task
from tasks.kenlm import kenlm_task
from tasks.load import load_task
from tasks.perplexity import perplexity_shard_task, perplexity_task
from tasks.prune import prune_task
from tasks.report import report_task
from tasks.score import score_task
from tasks.train import train_task

DEFAULT_STORE = os.environ.get("DPRUNE_STORE", ".dprune/store")
DEFAULT_OUTPUT = "out/prune"
DEFAULT_EMBEDDING: dict[str, Any] = {"shard_rows": 2048}
DEFAULT_CLUSTERING: dict[str, Any] = {"num_clusters": 10, "metric": "cosine", "score_column": "kmeans_distance"}
DEFAULT_PERPLEXITY: dict[str, Any] = {"order": 5, "shard_rows": 5000, "score_column": "perplexity"}
DEFAULT_DYNAMICS: dict[str, Any] = {
    "method": "linear_probe",
    "seeds": [0, 1, 2],
    "epochs": 10,
    "scores": ["aum", "forgetting", "el2n", "data_map_confidence", "data_map_variability", "data_map_correctness"],
}
#: Options of the perplexity stage that belong to training the KenLM model.
KENLM_OPTIONS = {"order", "prune", "reference", "reference_text_column", "memory", "vocab_estimate",
                 "discount_fallback", "binary_type"}


def _settings(value: dict[str, Any] | bool | None, default: dict[str, Any]) -> dict[str, Any] | None:
    """``None`` -> the defaults, ``False`` -> stage off, a dict -> the defaults updated with it."""
    if value is False:
        return None
    if value is None or value is True:
        return dict(default)
    return {**default, **value}


def default_pruner(score_columns: list[str]) -> dict[str, Any]:
    """Coverage-centric selection on AUM when dynamics exist, else stratified on the first score."""
    if "aum" in score_columns:
        return {"name": "coverage_centric", "params": {"k": 0.5, "beta": 0.1, "hardest": "low", "score_column": "aum"}}
    if not score_columns:
        raise ValueError("No score is computed: enable a scoring stage or pass scorers=[...].")
    return {"name": "stratified", "params": {"k": 0.5, "score_column": score_columns[0]}}


def _map_shards(shard_task, commit_task, dataset_ref, *refs, shard_rows: int, reuse_only: bool, options: dict):
    """Run a sharded stage: one task per shard (in parallel on a Dask runner), then the commit task."""
    static = {name: unmapped(value) for name, value in options.items()}
    shards = shard_indices(dataset_ref, shard_rows)
    shard_task.map(unmapped(dataset_ref), *map(unmapped, refs), shards, reuse_only=unmapped(reuse_only), **static).result()
    return commit_task(dataset_ref, *refs, reuse_only=reuse_only, **options)


@flow(name="prune", task_runner=ThreadPoolTaskRunner(max_workers=1))
def prune(
    dataset: str = "rotten_tomatoes",
    split: str = "train",
    text_column: str = "text",
    label_column: str | None = "label",
    embedding: dict[str, Any] | bool | None = None,
    clustering: dict[str, Any] | bool | None = None,
    perplexity: dict[str, Any] | bool | None = None,
    dynamics: dict[str, Any] | bool | None = None,
    scorers: list[dict[str, Any]] | None = None,
    pruner: dict[str, Any] | None = None,
    store: str = DEFAULT_STORE,
    output: str = DEFAULT_OUTPUT,
    reuse_only: bool = False,
) -> dict[str, Any]:
    """Score ``dataset``, keep a subset with ``pruner``, and write it with a report to ``output``.

    Parameters
    ----------
    dataset, split, text_column, label_column
        What to load: a bundled example name, a file, an fsspec URL or a hub name.
    embedding, clustering, perplexity, dynamics : dict, False or None
        Settings of each scoring stage (None: defaults; False: stage off). ``clustering``
        adds ``kmeans_distance`` and ``cluster_id``; ``perplexity`` adds ``perplexity``
        (KenLM trained on the dataset or on ``reference``); ``dynamics`` trains a linear
        probe on the embeddings and adds the scores listed in its ``scores``.
    scorers : list of dict
        More registered scorers, as ``{"name": ..., "params": {...}}``.
    pruner : dict
        A registered pruner spec; default: see :func:`default_pruner`.
    store : str
        Root of the artifact store (any fsspec URL).
    output : str
        Folder for the pruned Parquet file, the ``save_to_disk`` copy, ``kept_ids.json``
        and the report.
    reuse_only : bool
        Fail instead of computing any score that is not already in the store.
    """
    dataset_ref = load_task(store, dataset, split=split, text_column=text_column, label_column=label_column)
    embedding_settings = _settings(embedding, DEFAULT_EMBEDDING)
    clustering_settings = _settings(clustering, DEFAULT_CLUSTERING)
    perplexity_settings = _settings(perplexity, DEFAULT_PERPLEXITY)
    dynamics_settings = _settings(dynamics, DEFAULT_DYNAMICS) if label_column else None
    score_refs, score_columns = [], []

    embeddings_ref = None
    if embedding_settings is not None and (clustering_settings or dynamics_settings):
        options = {"text_column": text_column, **embedding_settings}
        embeddings_ref = _map_shards(
            embed_shard_task, embed_task, dataset_ref,
            shard_rows=options["shard_rows"], reuse_only=reuse_only, options=options,
        )
    if clustering_settings and embeddings_ref is not None:
        score_refs.append(cluster_task(dataset_ref, embeddings_ref, reuse_only=reuse_only, **clustering_settings))
        score_columns.append(clustering_settings["score_column"])

    if perplexity_settings is not None:
        kenlm_options = {k: v for k, v in perplexity_settings.items() if k in KENLM_OPTIONS}
        score_options = {k: v for k, v in perplexity_settings.items() if k not in KENLM_OPTIONS}
        lm_ref = kenlm_task(dataset_ref, text_column=text_column, reuse_only=reuse_only, **kenlm_options)
        score_options["text_column"] = text_column
        score_refs.append(_map_shards(
            perplexity_shard_task, perplexity_task, dataset_ref, lm_ref,
            shard_rows=score_options["shard_rows"], reuse_only=reuse_only, options=score_options,
        ))
        score_columns.append(score_options["score_column"])

    if dynamics_settings is not None and embeddings_ref is not None:
        names = dynamics_settings.pop("scores")
        dynamics_ref = train_task(
            dataset_ref, embeddings_ref, reuse_only=reuse_only, label_column=label_column, **dynamics_settings
        )
        for name in names:
            source = SCORERS.get(name).source_param  # "dynamics", or "forgetting_callback" for ForgettingScorer
            spec = {"name": name, "params": {source: dynamics_ref, "score_column": name, "label_column": label_column}}
            score_refs.append(score_task(dataset_ref, spec, reuse_only=reuse_only))
            score_columns.append(name)

    for spec in scorers or []:
        score_refs.append(score_task(dataset_ref, spec, reuse_only=reuse_only))
        score_columns.append(spec.get("params", {}).get("score_column", "score"))

    pruner = pruner or default_pruner(score_columns)
    selection_ref = prune_task(dataset_ref, score_refs, pruner)
    paths = export_task(dataset_ref, score_refs, selection_ref, output)
    report = report_task(
        dataset_ref, score_refs, selection_ref, str(Path(output) / "report"),
        text_column=text_column, label_column=label_column,
    )
    return {
        "dataset": dataset_ref.to_dict(),
        "scores": [ref.to_dict() for ref in score_refs],
        "score_columns": score_columns,
        "pruner": pruner,
        "selection": selection_ref.to_dict(),
        "outputs": {**paths, "report": report},
    }


def _parse_value(text: str) -> Any:
    """``key=value`` values are YAML scalars: 0.5 is a float, 3 an int, true a bool."""
    return yaml.safe_load(text)


def _parse_params(text: str) -> dict[str, Any]:
    """``key=value,key=value`` (or a JSON/YAML mapping) as a dict."""
    if text.lstrip().startswith("{"):
        return yaml.safe_load(text)
    params = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"error: cannot read {item!r} in {text!r}; write key=value pairs")
        params[key.strip()] = _parse_value(value)
    return params


def _parse_spec(text: str) -> dict[str, Any]:
    """``name`` or ``name:key=value,key=value`` or a JSON/YAML mapping."""
    if text.lstrip().startswith("{"):
        return yaml.safe_load(text)
    name, _, rest = text.partition(":")
    return {"name": name.strip(), "params": _parse_params(rest)}


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python flows/prune.py``."""
    parser = argparse.ArgumentParser(description="Prune a dataset with cached, resumable dPrune stages.")
    parser.add_argument("--config", help="YAML file whose keys are this flow's parameters")
    parser.add_argument("--dataset", help="bundled example name, file, fsspec URL or hub name")
    parser.add_argument("--split")
    parser.add_argument("--text-column")
    parser.add_argument("--label-column", help="label column ('none' for unlabelled data: no dynamics)")
    for stage in ("embedding", "clustering", "perplexity", "dynamics"):
        parser.add_argument(f"--{stage}", metavar="KEY=VALUE,...", help=f"settings of the {stage} stage")
        parser.add_argument(f"--no-{stage}", action="store_true", help=f"turn the {stage} stage off")
    parser.add_argument("--scorer", action="append", help="extra scorer spec, e.g. 'cross_entropy:...' (repeatable)")
    parser.add_argument("--pruner", help="pruner spec, e.g. 'top_k:k=0.3,score_column=kmeans_distance'")
    parser.add_argument("--store", help="artifact store root (path or fsspec URL)")
    parser.add_argument("--output", help="folder for the pruned dataset and report")
    parser.add_argument("--reuse-only", action="store_true", default=None, help="fail instead of computing missing scores")
    parser.add_argument("--task-runner", choices=["local", "dask"], default="local",
                        help="'dask' maps sharded stages over a Dask cluster")
    parser.add_argument("--dask-address", help="scheduler address of an existing Dask cluster (default: start a local one)")
    parser.add_argument("--dask-workers", type=int, default=2, help="workers of the local Dask cluster")
    return parser


def parse_args(argv: list[str] | None = None) -> tuple[dict[str, Any], argparse.Namespace]:
    """Flow parameters from ``--config`` and command-line flags (flags win), plus the parsed flags."""
    args = build_parser().parse_args(argv)
    params: dict[str, Any] = {}
    if args.config:
        with open(args.config, encoding="utf-8") as handle:
            loaded = yaml.safe_load(handle) or {}
        if not isinstance(loaded, dict):
            raise SystemExit(f"error: {args.config} must hold a mapping of flow parameters")
        params.update(loaded)
    flags = {
        "dataset": args.dataset,
        "split": args.split,
        "text_column": args.text_column,
        "label_column": args.label_column,
        "scorers": [_parse_spec(s) for s in args.scorer] if args.scorer else None,
        "pruner": _parse_spec(args.pruner) if args.pruner else None,
        "store": args.store,
        "output": args.output,
        "reuse_only": args.reuse_only,
    }
    for stage in ("embedding", "clustering", "perplexity", "dynamics"):
        flags[stage] = False if getattr(args, f"no_{stage}") else (
            _parse_params(getattr(args, stage)) if getattr(args, stage) else None
        )
    if flags["label_column"] in ("none", "None", ""):
        params["label_column"] = None
        flags["label_column"] = None
    params.update({k: v for k, v in flags.items() if v is not None})
    return params, args


def task_runner(args: argparse.Namespace):
    """The task runner chosen on the command line."""
    if args.task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as error:
            raise SystemExit("error: --task-runner dask needs the dask extra: pip install -e '.[dask]'") from error
        if args.dask_address:
            return DaskTaskRunner(address=args.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": args.dask_workers, "threads_per_worker": 1})
    return ThreadPoolTaskRunner(max_workers=1)


def print_summary(result: dict[str, Any]) -> None:
    """Where everything went, in a few lines."""
    outputs = result["outputs"]
    kept = json.loads(Path(outputs["kept_ids"]).read_text())
    print(f"\nKept {kept['rows_kept']:,} of {kept['rows_in']:,} rows with {result['pruner']['name']} "
          f"{result['pruner'].get('params', {})}")
    print(f"  scores        : {', '.join(result['score_columns'])}")
    print(f"  pruned parquet: {outputs['parquet']}")
    print(f"  save_to_disk  : {outputs['dataset_dir']}")
    print(f"  kept ids      : {outputs['kept_ids']}")
    print(f"  report        : {outputs['report']}")
    print(f"  store         : {result['dataset']['root']}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    flow_params, cli = parse_args(sys.argv[1:])
    summary = prune.with_options(task_runner=task_runner(cli))(**flow_params)
    print_summary(summary)
