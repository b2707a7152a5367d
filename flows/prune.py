"""The main dPrune flow: every scoring stage cached in the artifact store, then prune, export, report.

Run it with no arguments to prune the bundled Rotten Tomatoes example::

    python flows/prune.py

It embeds the texts and clusters them (distance to the centroid), trains a
KenLM model and scores perplexity, and trains a linear probe on the
embeddings to record training dynamics (AUM, forgetting, data-map scores).
Then it keeps half the rows with coverage-centric selection on AUM.

A speech dataset (an ``Audio`` column, an audiofolder, a NeMo manifest, or the
bundled ``spoken_digits``) runs the speech stages instead of the text stages
(which stay available when asked for explicitly): the signal scores (duration, VAD
speech ratio, SNR, clipping, loudness, speaking-rate deviation), offline ASR with
WER/CER against the transcripts, audio embeddings with k-means distance and semantic
duplicates on them, and training dynamics of a small convolutional model on log-mel
frames. Then the default speech rule (:data:`dprune.pruners.ranges.SPEECH_QUALITY_RANGES`,
plus no duplicate) drops the clips outside its ranges::

    python flows/prune.py --dataset spoken_digits
    python flows/prune.py --dataset train_manifest.json --audio vad=webrtc,on_error=nan

A second
run with another pruner or budget recomputes only the prune stage;
``--reuse-only`` refuses to compute any score and fails, naming what is
missing. Settings come from flags or from ``--config FILE.yaml`` (keys as the
flow's parameters; flags win).

``--preset corpus`` runs the text-only corpus stages instead, with no labels: exact
duplicates, MinHash near-duplicates, Gopher quality statistics, language id and
perplexity, then keeps the rows that are neither duplicates nor fail a Gopher rule
(:class:`~dprune.pruners.ranges.RangesPruner`; the selection's manifest counts the rows
each rule dropped)::

    python flows/prune.py --preset corpus --dataset 'data/*.jsonl.gz'
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from dprune.core.outputs import output_transaction
from dprune.core.params import InvalidParameterError
from dprune.core.registry import ComponentSpec

from dprune.pruners.ranges import SPEECH_QUALITY_RANGES
from dprune.stages.audio import AUDIO_SCORE_COLUMNS

from flows.settings import (
    CLOSED_VOCABULARY_LIMIT,
    DEFAULT_STORE,
    SPEECH_DYNAMICS_METHOD,
    SPEECH_PROBE,
    corpus_settings,
    KENLM_OPTIONS,
    add_common_arguments,
    check_output_folder,
    check_store,
    script_settings,
    common_params,
    dynamic_score_params,
    parse_params,
    parse_spec,
    resolved_stages,
    speech_settings,
    speech_stages,
    with_task_runner,
)
from tasks.asr import asr_shard_task, asr_task
from tasks.audio import audio_shard_task, audio_task
from tasks.audio_embeddings import audio_embeddings_shard_task, audio_embeddings_task
from tasks.cluster import cluster_task
from tasks.common import map_shard_tasks, resolve_shard_rows, resolved, store_of, submit_shard_tasks
from tasks.embed import embed_shard_task, embed_task
from tasks.export import export_task
from tasks.kenlm import kenlm_task
from tasks.language import language_shard_task, language_task
from tasks.load import load_task
from tasks.minhash import minhash_shard_task, minhash_task
from tasks.near_duplicates import near_duplicates_task
from tasks.perplexity import perplexity_shard_task, perplexity_task
from tasks.prune import prune_task
from tasks.quality import quality_shard_task, quality_task
from tasks.report import report_task
from tasks.score import score_task, scores_task
from tasks.train import train_task

DEFAULT_OUTPUT = "out/prune"
PRESETS = ("default", "corpus")
#: Stages each preset turns off (unless the caller sets them).
_PRESET_OFF = {"default": (), "corpus": ("embedding", "clustering", "dynamics")}


def corpus_rules(score_columns: list[str]) -> dict[str, tuple]:
    """The corpus preset's rules: no duplicate, and every Gopher rule whose statistic was computed."""
    from dprune.corpus.quality import GOPHER_RULES

    rules = {column: (None, 0.0) for column in ("exact_duplicate", "near_duplicate") if column in score_columns}
    rules.update({name: bounds for name, bounds in GOPHER_RULES.items() if name in score_columns})
    return rules


def default_pruner(score_columns: list[str], preset: str = "default",
                   duplicates: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rules for the corpus preset; the speech rule on audio scores; coverage-centric on AUM; else stratified.

    With ``duplicates`` settings whose column was scored, the speech rule also drops every clip whose
    duplicate score reaches their ``threshold`` (the first clip of each group keeps a low score).
    """
    if preset == "corpus" and corpus_rules(score_columns):
        return {"name": "ranges", "params": {"ranges": corpus_rules(score_columns)}}
    if set(AUDIO_SCORE_COLUMNS) - {"speaking_rate"} <= set(score_columns):  # no transcripts: no speaking rate
        ranges = {column: bounds for column, bounds in SPEECH_QUALITY_RANGES.items() if column in score_columns}
        if duplicates is not None and duplicates["score_column"] in score_columns:
            ranges[duplicates["score_column"]] = (None, math.nextafter(float(duplicates["threshold"]), -math.inf))
        return {"name": "ranges", "params": {"ranges": ranges}}
    if "aum" in score_columns:
        return {"name": "coverage_centric", "params": {"k": 0.5, "beta": 0.1, "hardest": "low", "score_column": "aum"}}
    if not score_columns:
        raise ValueError("No score is computed: enable a scoring stage or pass scorers=[...].")
    return {"name": "stratified", "params": {"k": 0.5, "score_column": score_columns[0]}}


@flow(name="prune", task_runner=ThreadPoolTaskRunner(max_workers=1))
def prune(
    dataset: str = "rotten_tomatoes",
    split: str = "train",
    text_column: str | None = "text",
    label_column: str | None = "label",
    embedding: dict[str, Any] | bool | None = None,
    clustering: dict[str, Any] | bool | None = None,
    perplexity: dict[str, Any] | bool | None = None,
    dynamics: dict[str, Any] | bool | None = None,
    audio: dict[str, Any] | bool | None = None,
    asr: dict[str, Any] | bool | None = None,
    audio_embedding: dict[str, Any] | bool | None = None,
    duplicates: dict[str, Any] | bool | None = None,
    audio_column: str | None = None,
    scorers: list[dict[str, Any]] | None = None,
    pruner: dict[str, Any] | None = None,
    store: str = DEFAULT_STORE,
    output: str = DEFAULT_OUTPUT,
    reuse_only: bool = False,
    preset: str = "default",
    corpus: dict[str, Any] | bool | None = None,
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
        probe on the embeddings and adds the scores listed in its ``scores``. For a dataset
        with audio the text stages run only when given explicitly.
    audio, asr, audio_embedding, duplicates : dict, False or None
        Settings of the speech stages, run when the dataset has audio (defaults:
        :data:`flows.settings.SPEECH_STAGE_DEFAULTS`). ``audio``: the signal stage
        (:func:`dprune.stages.audio.audio_signal_stage`) adds ``duration``, ``speech_ratio``,
        ``snr``, ``clipping_ratio``, ``loudness`` and ``speaking_rate`` (deviation from the
        median rate). ``asr``: offline transcripts and their ``wer`` / ``cer`` against
        ``text_column`` (:func:`dprune.stages.asr.asr_scores_stage`; skipped when the dataset
        has no such column). ``audio_embedding``: the vectors that clustering
        (``kmeans_distance``), the dynamics probe and ``duplicates`` (``semantic_duplicate``,
        :class:`~dprune.scorers.semantic_duplicates.SemanticDuplicateScorer`) read on speech,
        unless ``embedding`` is given (text embeddings then). Perplexity runs on speech only
        when given.
    audio_column : str, optional
        The audio column of a user's dataset (default: its ``Audio`` column, or ``audio`` for
        an audiofolder or a NeMo manifest).
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
    preset : {"default", "corpus"}
        ``"corpus"``: text-only corpus stages and no labels (``label_column`` is ignored);
        embedding, clustering and dynamics are off unless set.
    corpus : dict, False or None
        Settings of the corpus stages (see ``flows.settings.DEFAULT_CORPUS``); None: on
        for the corpus preset only. Adds ``exact_duplicate``, ``near_duplicate``, the
        Gopher statistics and ``language_confidence``.
    """
    if preset not in PRESETS:
        raise InvalidParameterError(f"The 'preset' parameter of prune must be one of {list(PRESETS)}. "
                                    f"Got {preset!r} instead.")
    if preset == "corpus":
        label_column = None
    requested = {"embedding": embedding, "clustering": clustering, "perplexity": perplexity, "dynamics": dynamics}
    for stage in _PRESET_OFF[preset]:
        if requested[stage] is None:
            requested[stage] = False
    stages = resolved_stages(requested, flow="prune", labelled=label_column is not None)
    corpus_stages = corpus_settings(corpus, enabled=preset == "corpus", flow="prune")
    extra_scorers = [ComponentSpec.parse(spec) for spec in scorers or []]
    for spec in extra_scorers:  # an unknown name or a bad parameter fails now, before any work
        spec.build_scorer().validate_params()
    if pruner is not None:
        ComponentSpec.parse(pruner).build_pruner().validate_params()
    speech = speech_settings({"audio": audio, "asr": asr, "audio_embedding": audio_embedding,
                              "duplicates": duplicates}, flow="prune")
    check_output_folder(output, flow="prune")
    check_store(store)
    dataset_ref = load_task(store, dataset, split=split, text_column=text_column, label_column=label_column,
                            audio_column=audio_column)
    score_refs, score_columns = [], []

    dataset_audio = store_of(dataset_ref).manifest(dataset_ref)["meta"].get("audio_column")
    embeddings_ref = None
    if dataset_audio is not None:
        # On speech the text stages run only when given; clustering and dynamics read the audio embeddings.
        stages = speech_stages(stages, {"embedding": embedding, "perplexity": perplexity})
        refs, columns, embeddings_ref = speech_scores(
            dataset_ref, speech, audio_column=dataset_audio, text_column=text_column, reuse_only=reuse_only,
            need_embeddings=stages["embedding"] is None and bool(stages["clustering"] or stages["dynamics"]),
        )
        score_refs.extend(refs)
        score_columns.extend(columns)
        if stages["dynamics"] is not None and stages["embedding"] is None:
            method = dynamics.get("method") if isinstance(dynamics, dict) else None
            stages["dynamics"] = speech_dynamics(stages["dynamics"], method or SPEECH_DYNAMICS_METHOD, dataset_audio)
    else:
        asked = sorted(name for name, value in
                       {"audio": audio, "asr": asr, "audio_embedding": audio_embedding, "duplicates": duplicates}.items()
                       if value not in (None, False))
        if asked:
            raise ValueError(
                f"{', '.join(f'{name}=...' for name in asked)} asks for speech stages but dataset {dataset!r} has no "
                "audio column. Pass audio_column=<the column holding the audio>, or leave them unset for text data."
            )

    if stages["embedding"] is not None and (stages["clustering"] or stages["dynamics"]):
        options = {"text_column": text_column, **stages["embedding"]}
        embeddings_ref = map_shard_tasks(embed_shard_task, embed_task, dataset_ref, shard_rows=options["shard_rows"],
                                         reuse_only=reuse_only, options=options)
    if stages["clustering"] and embeddings_ref is not None:
        score_refs.append(cluster_task(dataset_ref, embeddings_ref, reuse_only=reuse_only, **stages["clustering"]))
        score_columns.append(stages["clustering"]["score_column"])

    # With corpus stages and no dynamics (whose scores come between), perplexity runs beside the corpus stages.
    beside_corpus = corpus_stages is not None and stages["dynamics"] is None
    if stages["perplexity"] is not None and not beside_corpus:
        lm, score_options = submit_kenlm(dataset_ref, stages["perplexity"], text_column=text_column,
                                         reuse_only=reuse_only)
        score_refs.append(submit_perplexity(dataset_ref, lm.result(), score_options, text_column=text_column,
                                            reuse_only=reuse_only).result())
        score_columns.append(score_options["score_column"])

    conv = stages["dynamics"] is not None and stages["dynamics"].get("method") == "conv_log_mel"
    if stages["dynamics"] is not None and (embeddings_ref is not None or conv):
        score_refs.extend(dynamics_scores(dataset_ref, embeddings_ref, stages["dynamics"], text_column=text_column,
                                          label_column=label_column, reuse_only=reuse_only))
        score_columns.extend(stages["dynamics"]["scores"])

    if corpus_stages is not None:
        refs, columns = corpus_scores(dataset_ref, corpus_stages, text_column=text_column, reuse_only=reuse_only,
                                      perplexity=stages["perplexity"] if beside_corpus else None)
        score_refs.extend(refs)
        score_columns.extend(columns)

    for spec in extra_scorers:
        score_refs.append(score_task(dataset_ref, {"name": spec.name, "params": dict(spec.params)},
                                     reuse_only=reuse_only))
        score_columns.append(spec.params.get("score_column", "score"))

    pruner = pruner or default_pruner(score_columns, preset, speech["duplicates"] if dataset_audio else None)
    selection_ref = prune_task(dataset_ref, score_refs, pruner)
    # Another run writing this folder waits; dataset and report are written aside and moved into place
    # together (a killed run's half-done move is finished by the next run), so they come from one run.
    with output_transaction(output) as staging:
        staged = export_task(dataset_ref, score_refs, selection_ref, str(staging))
        staged["report"] = report_task(
            dataset_ref, score_refs, selection_ref, str(staging / "report"),
            text_column=text_column, label_column=label_column, link_dir=str(Path(output) / "report"),
        )
    outputs = {name: str(Path(output) / Path(path).relative_to(staging)) for name, path in staged.items()}
    return {
        "dataset": dataset_ref.to_dict(),
        "scores": [ref.to_dict() for ref in score_refs],
        "score_columns": score_columns,
        "pruner": pruner,
        "selection": selection_ref.to_dict(),
        "outputs": outputs,
    }


def dynamics_scores(dataset_ref, embeddings_ref, settings: dict[str, Any], *, text_column: str,
                    label_column: str, reuse_only: bool, names: list[str] | None = None) -> list:
    """Train the dynamics stage with ``settings``; return the scores artifacts of ``names`` (default: its ``scores``)."""
    settings = dict(settings)
    listed = settings.pop("scores")
    conv = settings.get("method") == "conv_log_mel"
    if settings.get("method", "linear_probe") not in ("linear_probe", "conv_log_mel"):  # the trainers that read text
        settings["text_column"] = text_column
    dynamics_ref = train_task(dataset_ref, None if conv else embeddings_ref, reuse_only=reuse_only,
                              label_column=label_column, **settings)
    specs = [{"name": name, "params": dynamic_score_params(name, dynamics_ref, embeddings_ref,
                                                           label_column=label_column, method=settings.get("method"))}
             for name in (listed if names is None else names)]
    return scores_task(dataset_ref, specs, reuse_only=reuse_only)


def speech_scores(dataset_ref, settings: dict[str, Any], *, audio_column: str, text_column: str, reuse_only: bool,
                  need_embeddings: bool):
    """Run the speech stages chosen in ``settings``; return their scores artifacts, columns and the embeddings.

    The audio embeddings are computed when clustering or dynamics read them (``need_embeddings``)
    or for the duplicates; ASR runs only when the dataset has ``text_column``.
    """
    refs, columns = [], []
    common = {"audio_column": audio_column}
    transcribed = text_column in store_of(dataset_ref).read(dataset_ref).column_names
    if settings["audio"] is not None:
        options = {**common, "text_column": text_column, **settings["audio"]}
        options["shard_rows"] = resolve_shard_rows(dataset_ref, options["shard_rows"])
        refs.append(map_shard_tasks(audio_shard_task, audio_task, dataset_ref, shard_rows=options["shard_rows"],
                                    reuse_only=reuse_only, options=options))
        columns.extend(c for c in AUDIO_SCORE_COLUMNS if transcribed or c != "speaking_rate")
    if settings["asr"] is not None and transcribed:
        options = {**common, "text_column": text_column, **settings["asr"]}
        options["shard_rows"] = resolve_shard_rows(dataset_ref, options["shard_rows"])
        if options["vocabulary"] == "auto":
            options["vocabulary"] = asr_vocabulary(dataset_ref, text_column)
        refs.append(map_shard_tasks(asr_shard_task, asr_task, dataset_ref,
                                    shard_rows=options["shard_rows"], reuse_only=reuse_only, options=options))
        columns.extend(options["metrics"])
    embeddings_ref = None
    if settings["audio_embedding"] is not None and (need_embeddings or settings["duplicates"] is not None):
        options = {**common, **settings["audio_embedding"]}
        options["shard_rows"] = resolve_shard_rows(dataset_ref, options["shard_rows"])
        embeddings_ref = map_shard_tasks(audio_embeddings_shard_task, audio_embeddings_task, dataset_ref,
                                         shard_rows=options["shard_rows"], reuse_only=reuse_only, options=options)
        if settings["duplicates"] is not None:
            params = {k: v for k, v in settings["duplicates"].items() if k != "threshold"}
            spec = {"name": "semantic_duplicate", "params": {"embeddings": embeddings_ref, **params}}
            refs.append(score_task(dataset_ref, spec, reuse_only=reuse_only))
            columns.append(params["score_column"])
    return refs, columns, embeddings_ref


def asr_vocabulary(dataset_ref, text_column: str) -> str:
    """``vocabulary="auto"``: the transcripts' phrase grammar for a closed set of transcripts, else the open model."""
    texts = store_of(dataset_ref).read(dataset_ref).unique(text_column)
    return "transcripts" if len(texts) <= CLOSED_VOCABULARY_LIMIT else "open"


def speech_dynamics(settings: dict[str, Any], method: str, audio_column: str) -> dict[str, Any]:
    """Dynamics settings on speech: the conv model on the clips' log-mel frames, or the probe on the audio
    embeddings (with :data:`~flows.settings.SPEECH_PROBE` unless set)."""
    if method == "conv_log_mel":
        return {**settings, "method": method, "audio_column": audio_column}
    if method == "linear_probe":
        return {**SPEECH_PROBE, **settings, "method": method}
    raise ValueError(
        f"dynamics method={method!r} reads text, but this dataset has audio: use method=conv_log_mel (the default "
        "on speech) or linear_probe (on the audio embeddings), or give embedding=... to train on text embeddings."
    )


def submit_kenlm(dataset_ref, settings: dict[str, Any], *, text_column: str, reuse_only: bool):
    """Submit the KenLM training of the perplexity stage with ``settings``; return its future and the scoring options.

    The training is a task on the task runner (a Dask worker), so other stages can run beside it.
    """
    kenlm_options = {k: v for k, v in settings.items() if k in KENLM_OPTIONS}
    score_options = {k: v for k, v in settings.items() if k not in KENLM_OPTIONS}
    if "text_normalizer" in score_options:  # the model is trained on text normalized as it is scored
        kenlm_options.setdefault("normalizer", score_options["text_normalizer"])
    score_options["shard_rows"] = resolve_shard_rows(dataset_ref, score_options["shard_rows"])
    lm = kenlm_task.submit(dataset_ref, text_column=text_column, reuse_only=reuse_only, **kenlm_options)
    return lm, score_options


def submit_perplexity(dataset_ref, lm_ref, score_options: dict[str, Any], *, text_column: str, reuse_only: bool):
    """Submit the perplexity shards under the trained model ``lm_ref`` (options from :func:`submit_kenlm`)."""
    return submit_shard_tasks(perplexity_shard_task, perplexity_task, dataset_ref, lm_ref,
                              shard_rows=score_options["shard_rows"], reuse_only=reuse_only,
                              options={"text_column": text_column, **score_options})


def corpus_scores(dataset_ref, settings: dict[str, Any], *, text_column: str, reuse_only: bool,
                  perplexity: dict[str, Any] | None = None):
    """Run the corpus stages chosen in ``settings`` (and the perplexity stage with ``perplexity`` settings)
    side by side; return their scores artifacts and columns, perplexity first.

    Everything that reads only the dataset is submitted to the task runner at once: the KenLM
    training, exact duplicates and the minhash, quality and language shards, with LSH waiting for
    the signatures; the perplexity shards follow once the model is trained. A Dask runner spreads
    them over its workers; the local runner runs them one at a time, in that order.
    """
    from dprune.corpus.quality import QUALITY_STATISTICS

    lm = None if perplexity is None else submit_kenlm(dataset_ref, perplexity, text_column=text_column,
                                                      reuse_only=reuse_only)
    pending, columns, signatures = [], [], None
    shard_rows = resolve_shard_rows(dataset_ref, settings["shard_rows"])
    common = {"text_column": text_column, "shard_rows": shard_rows, "num_proc": settings["num_proc"]}
    if "exact_duplicate" in settings["stages"]:
        spec = {"name": "exact_duplicate", "params": {"text_column": text_column, "score_column": "exact_duplicate"}}
        pending.append(score_task.submit(dataset_ref, spec, reuse_only=reuse_only))
        columns.append("exact_duplicate")
    if "near_duplicate" in settings["stages"]:
        options = {**common, **{k: settings[k] for k in ("unit", "ngram", "num_perm")}}
        signatures = submit_shard_tasks(minhash_shard_task, minhash_task, dataset_ref, shard_rows=shard_rows,
                                        reuse_only=reuse_only, options=options)
        pending.append(near_duplicates_task.submit(dataset_ref, signatures.commit, reuse_only=reuse_only,
                                                   threshold=settings["threshold"], verify=settings["verify"]))
        columns.append("near_duplicate")
    if "quality" in settings["stages"]:
        pending.append(submit_shard_tasks(quality_shard_task, quality_task, dataset_ref, shard_rows=shard_rows,
                                          reuse_only=reuse_only, options=common))
        columns.extend(QUALITY_STATISTICS)
    if "language" in settings["stages"]:
        pending.append(submit_shard_tasks(language_shard_task, language_task, dataset_ref, shard_rows=shard_rows,
                                          reuse_only=reuse_only, options={**common, "language": settings["language"]}))
        columns.append("language_confidence")
    if lm is not None:
        lm_future, score_options = lm
        pending.insert(0, submit_perplexity(dataset_ref, lm_future.result(), score_options, text_column=text_column,
                                            reuse_only=reuse_only))
        columns.insert(0, score_options["score_column"])
    if signatures is not None:
        signatures.result()  # the signatures' progress, and their error before LSH's
    return [resolved(item) for item in pending], columns


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python flows/prune.py``."""
    parser = argparse.ArgumentParser(description="Prune a dataset with cached, resumable dPrune stages.")
    add_common_arguments(parser, output_help=f"folder for the pruned dataset and report (default {DEFAULT_OUTPUT})")
    parser.add_argument("--scorer", action="append", help="extra scorer spec, e.g. 'cross_entropy:...' (repeatable)")
    parser.add_argument("--pruner", help="pruner spec, e.g. 'top_k:k=0.3,score_column=kmeans_distance'")
    parser.add_argument("--preset", choices=PRESETS, help="'corpus': text-only corpus stages, no labels")
    parser.add_argument("--corpus", metavar="KEY=VALUE,...", help="settings of the corpus stages")
    parser.add_argument("--no-corpus", action="store_true", help="turn the corpus stages off")
    return parser


def parse_args(argv: list[str] | None = None) -> tuple[dict[str, Any], argparse.Namespace]:
    """Flow parameters from ``--config`` and command-line flags (flags win), plus the parsed flags."""
    args = build_parser().parse_args(argv)
    params = common_params(args)
    if args.scorer:
        params["scorers"] = [parse_spec(s) for s in args.scorer]
    if args.pruner:
        params["pruner"] = parse_spec(args.pruner)
    if args.preset:
        params["preset"] = args.preset
    if args.no_corpus:
        params["corpus"] = False
    elif args.corpus:
        params["corpus"] = parse_params(args.corpus)
    return params, args


def print_summary(result: dict[str, Any]) -> None:
    """Where everything went, in a few lines."""
    outputs = result["outputs"]
    kept = json.loads(Path(outputs["kept_ids"]).read_text())
    params = dict(result["pruner"].get("params", {}))
    if isinstance(params.get("ranges"), dict) and len(params["ranges"]) > 6:  # the corpus preset's ~20 bounds
        params["ranges"] = sorted(params["ranges"])
    print(f"\nKept {kept['rows_kept']:,} of {kept['rows_in']:,} rows with {result['pruner']['name']} {params}")
    print(f"  scores        : {', '.join(result['score_columns'])}")
    print(f"  pruned parquet: {outputs['parquet']}")
    print(f"  save_to_disk  : {outputs['dataset_dir']}")
    print(f"  kept ids      : {outputs['kept_ids']}")
    print(f"  all-row scores: {outputs['scores']}")
    print(f"  report        : {outputs['report']}")
    print(f"  store         : {result['dataset']['root']}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    flow_params, cli = parse_args(sys.argv[1:])
    with script_settings():  # a longer wait for Prefect's temporary server
        summary = with_task_runner(prune, cli)(**flow_params)
    print_summary(summary)
