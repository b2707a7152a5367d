"""Prove that pruning works: train on what each method keeps, test, compare with random and full data.

Run it with no arguments to evaluate the default methods on the bundled Rotten Tomatoes example::

    python flows/evaluate.py                 # clean labels
    python flows/evaluate.py --noise 0.2     # 20% of the training labels flipped first

It scores the training split with the prune flow (as a subflow, so the same
cached stages, keys and per-run report), embeds the test split through the same
embed stage, then for every method (scorer x pruner) and keep fraction selects
rows with the prune stage, trains a linear probe on the kept rows' embeddings
(or fine-tunes a transformer: ``--method finetune``) and measures test accuracy.
Random selection over several seeds is the baseline band, the full training set
the reference. An evaluation after a prune run with the same store and stage
settings recomputes no score. Results go to ``--output``: ``results.parquet``,
``results.md``, ``accuracy.png``, and the prune run's ``prune/`` folder with its
report.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from dprune.evaluation.methods import (
    DEFAULT_FRACTIONS,
    DEFAULT_PRUNERS,
    DEFAULT_SCORERS,
    DEFAULT_SPEECH_SCORERS,
    DOWNSTREAM_MODELS,
    build_methods,
    check_labelled,
    check_settings,
    random_methods,
)
from dprune.evaluation.runner import EvaluationInputs
from dprune.core.params import InvalidParameterError
from dprune.core.registry import ComponentSpec
from dprune.store import ArtifactRef

from flows.prune import prune
from flows.settings import (
    DEFAULT_AUDIO_EMBEDDING,
    DEFAULT_EMBEDDING,
    DEFAULT_STORE,
    add_common_arguments,
    check_output_folder,
    check_store,
    script_settings,
    common_params,
    parse_params,
    parse_spec,
    resolved_stages,
    score_columns as stage_score_columns,
    speech_score_columns,
    speech_settings,
    speech_stages,
    stage_settings,
    with_task_runner,
)
from tasks.audio_embeddings import audio_embeddings_shard_task, audio_embeddings_task
from tasks.common import map_shard_tasks, resolve_shard_rows, store_of
from tasks.embed import embed_shard_task, embed_task
from tasks.evaluate import evaluate_task, evaluation_report_task, flip_labels_task, full_data_task
from tasks.load import load_task

DEFAULT_OUTPUT = "out/evaluate"
DEFAULT_SEEDS = (0, 1, 2)


def _title(dataset: str, method: str, noise: float, noise_seed: int) -> str:
    model = "linear probe on embeddings" if method == "probe" else "fine-tuned transformer"
    noise_text = f", {100 * noise:g}% of training labels flipped (seed {noise_seed})" if noise else ""
    return f"{Path(dataset).name}: {model}{noise_text}"


@flow(name="evaluate", task_runner=ThreadPoolTaskRunner(max_workers=1))
def evaluate(
    dataset: str = "rotten_tomatoes",
    split: str = "train",
    test_dataset: str | None = None,
    test_split: str | None = None,
    text_column: str | None = "text",
    label_column: str | None = "label",
    score_columns: list[str] | None = None,
    pruners: list[str | dict[str, Any]] | None = None,
    fractions: list[float] | None = None,
    seeds: list[int] | None = None,
    noise: float = 0.0,
    noise_seed: int = 0,
    method: str = "probe",
    method_options: dict[str, Any] | None = None,
    embedding: dict[str, Any] | bool | None = None,
    clustering: dict[str, Any] | bool | None = None,
    perplexity: dict[str, Any] | bool | None = None,
    dynamics: dict[str, Any] | bool | None = None,
    audio: dict[str, Any] | bool | None = None,
    asr: dict[str, Any] | bool | None = None,
    audio_embedding: dict[str, Any] | bool | None = None,
    duplicates: dict[str, Any] | bool | None = None,
    audio_column: str | None = None,
    store: str = DEFAULT_STORE,
    output: str = DEFAULT_OUTPUT,
    reuse_only: bool = False,
) -> dict[str, Any]:
    """Evaluate pruning methods on ``dataset`` against random selection and the full data.

    Parameters
    ----------
    dataset, split, text_column, label_column
        The training data, as for the prune flow; it must be labelled.
    test_dataset, test_split
        The test data: default ``dataset`` with split ``"test"``; a given ``test_dataset``
        is loaded whole unless ``test_split`` names a split.
    score_columns : list of str
        Score columns to evaluate, among those the scoring stages write (default
        :data:`dprune.evaluation.methods.DEFAULT_SCORERS`, or
        :data:`~dprune.evaluation.methods.DEFAULT_SPEECH_SCORERS` for a dataset with audio).
    pruners : list of str or dict
        Pruner names or specs; a pruner that ranks by a score is paired with every
        scorer (default :data:`dprune.evaluation.methods.DEFAULT_PRUNERS`).
    fractions : list of float
        Keep fractions in (0, 1] (default 10%, 20%, ..., 90%).
    seeds : list of int
        Seeds of the random baseline (default 0, 1, 2); the first also seeds the
        downstream model of every method.
    noise, noise_seed : float, int
        Flip this fraction of the training labels (drawn with ``noise_seed``) before
        scoring; the flipped set is a dataset of its own, with its own store keys.
    method : {"probe", "finetune"}
        The downstream model: a linear probe on the embeddings (the audio embeddings for
        speech), or fine-tuning (text only).
    method_options : dict
        Settings of that model (see :mod:`dprune.evaluation.downstream`).
    embedding, clustering, perplexity, dynamics, audio, asr, audio_embedding, duplicates, audio_column
        Stage settings, as for the prune flow (use the same ones as a prune run to
        reuse its scores).
    store, output : str
        Artifact store root, and the folder for the results.
    reuse_only : bool
        Fail instead of computing any score or embedding missing from the store.
    """
    fractions, seeds = check_settings(
        fractions=fractions or DEFAULT_FRACTIONS, seeds=seeds or DEFAULT_SEEDS, noise=noise, noise_seed=noise_seed,
        method=method, label_column=label_column,
    )
    values = {"embedding": embedding, "clustering": clustering, "perplexity": perplexity, "dynamics": dynamics}
    stages = resolved_stages(values, flow="evaluate", labelled=label_column is not None)
    speech_values = {"audio": audio, "asr": asr, "audio_embedding": audio_embedding, "duplicates": duplicates}
    speech = speech_settings(speech_values, flow="evaluate")
    # Which modality the data has is known once it is loaded; a score column must fit one of them now.
    speech_columns = speech_score_columns(speech, speech_stages(stages, values))
    build_methods(score_columns or DEFAULT_SCORERS, pruners or DEFAULT_PRUNERS,
                  known_scorers=stage_score_columns(stages) + speech_columns, seed=seeds[0])
    check_output_folder(output, flow="evaluate")
    check_store(store)
    output_dir = Path(output)

    clean_ref = load_task(store, dataset, split=split, text_column=text_column, label_column=label_column,
                          audio_column=audio_column)
    check_labelled(store_of(clean_ref), clean_ref, label_column)
    audio_data = store_of(clean_ref).manifest(clean_ref)["meta"].get("audio_column")
    if audio_data is not None:
        if method != "probe":
            raise InvalidParameterError(
                f"The 'method' parameter of evaluate must be 'probe' for speech data (dataset {dataset!r} has audio; "
                f"the probe trains on its audio embeddings). Got {method!r} instead."
            )
        methods = build_methods(score_columns or DEFAULT_SPEECH_SCORERS, pruners or DEFAULT_PRUNERS,
                                known_scorers=speech_columns, seed=seeds[0])
        # The probe needs embeddings even when the prune run's audio embeddings are off (False).
        embedding_options = {"audio_column": audio_data, **(speech["audio_embedding"] or DEFAULT_AUDIO_EMBEDDING)}
        shard_task, commit_task = audio_embeddings_shard_task, audio_embeddings_task
    else:
        methods = build_methods(score_columns or DEFAULT_SCORERS, pruners or DEFAULT_PRUNERS,
                                known_scorers=stage_score_columns(stages), seed=seeds[0])
        # The probe needs embeddings even when the prune run's embedding stage is off (False).
        embedding_options = {"text_column": text_column,
                             **(stage_settings(embedding, DEFAULT_EMBEDDING) or DEFAULT_EMBEDDING)}
        shard_task, commit_task = embed_shard_task, embed_task

    def embed(dataset_ref: ArtifactRef) -> ArtifactRef:
        shard_rows = resolve_shard_rows(dataset_ref, embedding_options["shard_rows"])
        return map_shard_tasks(shard_task, commit_task, dataset_ref, shard_rows=shard_rows, reuse_only=reuse_only,
                               options={**embedding_options, "shard_rows": shard_rows})

    source, source_split = dataset, split
    if noise:
        source = flip_labels_task(clean_ref, str(output_dir / "noisy_labels"), fraction=noise, seed=noise_seed,
                                  label_column=label_column)
        source_split = "train"
    run = prune(dataset=source, split=source_split, text_column=text_column, label_column=label_column,
                embedding=embedding, clustering=clustering, perplexity=perplexity, dynamics=dynamics,
                audio=audio, asr=asr, audio_embedding=audio_embedding, duplicates=duplicates,
                audio_column=audio_data, store=store, output=str(output_dir / "prune"), reuse_only=reuse_only)
    train_ref = ArtifactRef.from_dict(run["dataset"])
    if test_split is None and test_dataset is None:
        test_split = "test"
    test_ref = load_task(store, test_dataset or dataset, split=test_split, text_column=text_column,
                         label_column=label_column, audio_column=audio_column)
    probe = method == "probe"
    inputs = EvaluationInputs(
        train=train_ref, test=test_ref, scores=tuple(ArtifactRef.from_dict(r) for r in run["scores"]),
        train_embeddings=embed(train_ref) if probe else None, test_embeddings=embed(test_ref) if probe else None,
        text_column=text_column, label_column=label_column, downstream=method, downstream_options=method_options or {},
    )
    rows = full_data_task(inputs, seed=seeds[0])
    for each in random_methods(seeds) + methods:
        rows += evaluate_task(inputs, each, fractions)
    results = evaluation_report_task(rows, str(output_dir), _title(dataset, method, noise, noise_seed))
    return {"results": results, "prune": run["outputs"], "dataset": train_ref.to_dict(),
            "methods": [m.name for m in methods], "rows": rows}


def _spec_text(spec: str | dict[str, Any]) -> str:
    """A pruner spec as written on the command line: ``name`` or ``name:key=value,...``."""
    spec = ComponentSpec.parse(spec)
    params = ",".join(f"{k}={v}" for k, v in spec.params.items())
    return f"{spec.name}:{params}" if params else spec.name


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python flows/evaluate.py``."""
    parser = argparse.ArgumentParser(description="Evaluate pruning methods against random selection and full data.")
    add_common_arguments(parser, output_help=f"folder for the results (default {DEFAULT_OUTPUT})")
    parser.add_argument("--test-dataset", help="test data (default: --dataset with split 'test')")
    parser.add_argument("--test-split")
    parser.add_argument("--score-columns", nargs="+", metavar="NAME",
                        help=f"score columns to evaluate (default: {' '.join(DEFAULT_SCORERS)})")
    defaults = " ".join(map(_spec_text, DEFAULT_PRUNERS))
    parser.add_argument("--pruners", nargs="+", metavar="SPEC",
                        help=f"pruner names or NAME:KEY=VALUE,... specs (default: {defaults})")
    parser.add_argument("--fractions", nargs="+", type=float, metavar="F",
                        help="keep fractions in (0, 1] (default 0.1 .. 0.9)")
    parser.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="random-baseline seeds (default 0 1 2)")
    parser.add_argument("--noise", type=float, help="fraction of training labels to flip first, in [0, 1)")
    parser.add_argument("--noise-seed", type=int)
    parser.add_argument("--method", choices=DOWNSTREAM_MODELS, help="downstream model (default probe)")
    parser.add_argument("--method-options", metavar="KEY=VALUE,...", help="settings of the downstream model")
    return parser


def parse_args(argv: list[str] | None = None) -> tuple[dict[str, Any], argparse.Namespace]:
    """Flow parameters from ``--config`` and the command line (flags win), plus the parsed flags."""
    args = build_parser().parse_args(argv)
    params = common_params(args)
    flags = {
        "test_dataset": args.test_dataset, "test_split": args.test_split, "score_columns": args.score_columns,
        "pruners": [parse_spec(s) for s in args.pruners] if args.pruners else None,
        "fractions": args.fractions, "seeds": args.seeds, "noise": args.noise, "noise_seed": args.noise_seed,
        "method": args.method, "method_options": parse_params(args.method_options) if args.method_options else None,
    }
    params.update({k: v for k, v in flags.items() if v is not None})
    return params, args


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    flow_params, cli = parse_args(sys.argv[1:])
    with script_settings():  # a longer wait for Prefect's temporary server
        summary = with_task_runner(evaluate, cli)(**flow_params)
    print("\n" + Path(summary["results"]["markdown"]).read_text(encoding="utf-8"))
    for name, path in summary["results"].items():
        print(f"  {name:<8}: {path}")
    print(f"  report  : {summary['prune']['report']}")
