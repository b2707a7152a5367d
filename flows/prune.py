"""The main dPrune flow: load -> score -> prune -> export, every stage cached in the store.

Run it with no arguments to prune the bundled Rotten Tomatoes example::

    python flows/prune.py

A second run with another pruner or budget recomputes only the prune stage;
``--reuse-only`` refuses to compute scores and fails, naming what is missing.
Settings come from flags or from ``--config FILE.yaml`` (keys as the flow's
parameters; flags win).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import yaml
from prefect import flow

from tasks.export import export_task
from tasks.load import load_task
from tasks.prune import prune_task
from tasks.score import score_task

DEFAULT_STORE = os.environ.get("DPRUNE_STORE", ".dprune/store")
DEFAULT_OUTPUT = "out/prune"
DEFAULT_SCORERS: list[dict[str, Any]] = [
    {"name": "kmeans_centroid_distance", "params": {"num_clusters": 10, "score_column": "kmeans_distance"}},
]
DEFAULT_PRUNER: dict[str, Any] = {"name": "stratified", "params": {"k": 0.5, "score_column": "kmeans_distance"}}


@flow(name="prune")
def prune(
    dataset: str = "rotten_tomatoes",
    split: str = "train",
    text_column: str = "text",
    label_column: str | None = "label",
    scorers: list[dict[str, Any]] | None = None,
    pruner: dict[str, Any] | None = None,
    store: str = DEFAULT_STORE,
    output: str = DEFAULT_OUTPUT,
    reuse_only: bool = False,
) -> dict[str, Any]:
    """Score ``dataset`` with ``scorers``, keep a subset with ``pruner``, and write it to ``output``.

    Parameters
    ----------
    dataset, split, text_column, label_column
        What to load: a bundled example name, a file, an fsspec URL or a hub name.
    scorers : list of dict
        Registry specs such as ``{"name": "kmeans_centroid_distance", "params": {...}}``.
    pruner : dict
        A registry spec such as ``{"name": "top_k", "params": {"k": 0.3, "score_column": "..."}}``.
    store : str
        Root of the artifact store (any fsspec URL).
    output : str
        Folder for the pruned Parquet file, the ``save_to_disk`` copy and ``kept_ids.json``.
    reuse_only : bool
        Fail instead of computing scores that are not already in the store.
    """
    scorers = scorers if scorers is not None else DEFAULT_SCORERS
    pruner = pruner if pruner is not None else DEFAULT_PRUNER
    dataset_ref = load_task(store, dataset, split=split, text_column=text_column, label_column=label_column)
    score_refs = [score_task(dataset_ref, spec, compute=not reuse_only) for spec in scorers]
    selection_ref = prune_task(dataset_ref, score_refs, pruner)
    paths = export_task(dataset_ref, score_refs, selection_ref, output)
    return {
        "dataset": dataset_ref.to_dict(),
        "scores": [ref.to_dict() for ref in score_refs],
        "selection": selection_ref.to_dict(),
        "outputs": paths,
    }


def _parse_value(text: str) -> Any:
    """``key=value`` values are YAML scalars: 0.5 is a float, 3 an int, true a bool."""
    return yaml.safe_load(text)


def _parse_spec(text: str) -> dict[str, Any]:
    """``name`` or ``name:key=value,key=value`` or a JSON/YAML mapping."""
    if text.lstrip().startswith("{"):
        return yaml.safe_load(text)
    name, _, rest = text.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"error: cannot read {item!r} in {text!r}; write key=value pairs after the name")
        params[key.strip()] = _parse_value(value)
    return {"name": name.strip(), "params": params}


def parse_args(argv: list[str] | None = None) -> dict[str, Any]:
    """Flow parameters from ``--config`` and command-line flags (flags win)."""
    parser = argparse.ArgumentParser(description="Prune a dataset with cached, resumable dPrune stages.")
    parser.add_argument("--config", help="YAML file whose keys are this flow's parameters")
    parser.add_argument("--dataset", help="bundled example name, file, fsspec URL or hub name")
    parser.add_argument("--split")
    parser.add_argument("--text-column")
    parser.add_argument("--label-column")
    parser.add_argument(
        "--scorer", action="append", help="scorer spec, e.g. 'kmeans_centroid_distance:num_clusters=10' (repeatable)"
    )
    parser.add_argument("--pruner", help="pruner spec, e.g. 'top_k:k=0.3,score_column=kmeans_distance'")
    parser.add_argument("--store", help="artifact store root (path or fsspec URL)")
    parser.add_argument("--output", help="folder for the pruned dataset")
    parser.add_argument("--reuse-only", action="store_true", default=None, help="fail instead of computing missing scores")
    args = parser.parse_args(argv)

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
    params.update({k: v for k, v in flags.items() if v is not None})
    return params


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = prune(**parse_args(sys.argv[1:]))
    print(json.dumps(result, indent=1))
