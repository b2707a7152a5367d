"""The settings every flow shares: stage defaults, one command line, one ``--config`` reader, checks.

``flows/prune.py`` and ``flows/evaluate.py`` take the same stage flags (``--embedding
KEY=VALUE,...``, ``--no-clustering``...), the same ``--config FILE.yaml`` (keys are the
flow's parameters; flags win), ``--label-column none`` and the same task-runner flags.
Every stage option is checked against the stage's own parameters before any work
starts, so a typo fails in a second with the library's message shape instead of after
an hour of scoring.
"""

from __future__ import annotations

import argparse
import inspect
import os
import typing
from typing import Any, Callable, Iterable, Mapping

import typing_extensions
import yaml

from dprune.core.params import Interval, InvalidParameterError, Options, check_param

DEFAULT_STORE = os.environ.get("DPRUNE_STORE", ".dprune/store")
DEFAULT_EMBEDDING: dict[str, Any] = {"shard_rows": 2048}
DEFAULT_CLUSTERING: dict[str, Any] = {"num_clusters": 10, "metric": "cosine", "score_column": "kmeans_distance"}
DEFAULT_PERPLEXITY: dict[str, Any] = {"order": 5, "shard_rows": "auto", "score_column": "perplexity"}
#: Text dynamics: partial fine-tuning with its measured defaults (README "Cheaper routes to fine-tuning quality");
#: seeds and epochs: the method's defaults (dprune.stages.dynamics.DEFAULT_SEEDS, DEFAULT_EPOCHS).
DEFAULT_DYNAMICS: dict[str, Any] = {
    "method": "partial_finetune",
    "scores": ["aum", "forgetting", "el2n", "data_map_confidence", "data_map_variability", "data_map_correctness"],
}
#: The speech stages, on by default when the dataset has audio (see :data:`SPEECH_STAGE_DEFAULTS`).
DEFAULT_AUDIO: dict[str, Any] = {"shard_rows": 1000, "vad": "silero"}
#: Offline ASR and WER/CER. ``vocabulary="auto"``: the phrase grammar of the dataset's own transcripts when
#: they are a closed set (at most :data:`CLOSED_VOCABULARY_LIMIT` distinct ones), else the open en-US model.
DEFAULT_ASR: dict[str, Any] = {"vocabulary": "auto", "metrics": ["wer", "cer"], "shard_rows": 1000, "num_proc": 1}
CLOSED_VOCABULARY_LIMIT = 1000
#: Audio embeddings (:mod:`dprune.audio.features`): what clustering, dynamics and duplicates read on speech.
DEFAULT_AUDIO_EMBEDDING: dict[str, Any] = {"shard_rows": 1000, "batch_size": 256}
#: Semantic duplicates on the audio embeddings: column, and the score from which a clip counts as a copy.
DEFAULT_DUPLICATES: dict[str, Any] = {"score_column": "semantic_duplicate", "keep": "first", "threshold": 0.99}
#: Dynamics on speech unless the dynamics settings say otherwise (measured, see the README): the small
#: convolutional model on log-mel frames; with ``method=linear_probe``, the probe's settings on the audio embeddings.
SPEECH_DYNAMICS_METHOD = "conv_log_mel"
SPEECH_PROBE: dict[str, Any] = {"hidden_size": 256, "epochs": 30}
SPEECH_STAGE_DEFAULTS = {
    "audio": DEFAULT_AUDIO,
    "asr": DEFAULT_ASR,
    "audio_embedding": DEFAULT_AUDIO_EMBEDDING,
    "duplicates": DEFAULT_DUPLICATES,
}
#: The text-only corpus stages of ``--preset corpus`` (flow parameter ``corpus``): which run, and their options.
CORPUS_STAGES = ("exact_duplicate", "near_duplicate", "quality", "language")
DEFAULT_CORPUS: dict[str, Any] = {
    "stages": list(CORPUS_STAGES),
    "shard_rows": "auto",
    "threshold": 0.8,
    "unit": "word",
    "ngram": 5,
    "num_perm": 128,
    "verify": "exact",
    "language": None,
    "num_proc": 1,
}
STAGE_DEFAULTS = {
    "embedding": DEFAULT_EMBEDDING,
    "clustering": DEFAULT_CLUSTERING,
    "perplexity": DEFAULT_PERPLEXITY,
    "dynamics": DEFAULT_DYNAMICS,
}
#: Options of the perplexity stage that belong to training the KenLM model.
KENLM_OPTIONS = {"order", "prune", "reference", "reference_text_column", "memory", "vocab_estimate",
                 "discount_fallback", "binary_type", "normalizer"}
#: Options a flow sets itself (from its own parameters), never a user's stage option.
_FLOW_OWNED = {"store", "dataset_ref", "embeddings_ref", "lm_ref", "dataset", "shards", "on_shard", "text_column",
               "label_column", "corpus", "embeddings", "embedder", "progress"}


def stage_settings(value: Mapping[str, Any] | bool | None, default: Mapping[str, Any]) -> dict[str, Any] | None:
    """``None``/``True`` -> the defaults, ``False`` -> stage off, a mapping -> the defaults updated with it."""
    if value is False:
        return None
    if value is None or value is True:
        return dict(default)
    return {**default, **value}


def _accepted(*functions: Callable[..., Any], extra: Iterable[str] = ()) -> set[str]:
    names = set(extra)
    for function in functions:
        for parameter in inspect.signature(function).parameters.values():
            if parameter.kind is parameter.VAR_KEYWORD:
                names |= _typed_keywords(function, parameter.name)
            elif parameter.kind is not parameter.VAR_POSITIONAL:
                names.add(parameter.name)
    return names - _FLOW_OWNED


def _typed_keywords(function: Callable[..., Any], name: str) -> set[str]:
    """The keys of ``**name: Unpack[SomeTypedDict]`` (none for an untyped ``**name``)."""
    hint = typing.get_type_hints(function, include_extras=True).get(name)
    if typing_extensions.get_origin(hint) is not typing_extensions.Unpack:
        return set()
    (keywords,) = typing_extensions.get_args(hint)
    return set(typing.get_type_hints(keywords)) if typing_extensions.is_typeddict(keywords) else set()


def stage_options(stage: str) -> set[str]:
    """The option names a stage accepts (its stage functions' parameters and the component's)."""
    from dprune.dynamics.conv import train_conv_classifier
    from dprune.dynamics.finetune import finetune_dynamics
    from dprune.dynamics.partial import train_partial_finetune
    from dprune.dynamics.probe import train_linear_probe
    from dprune.scorers.perplexity import PerplexityScorer
    from dprune.stages.clusters import cluster_stage, clusters_stage
    from dprune.stages.dynamics import dynamics_stage
    from dprune.stages.embeddings import embed_stage
    from dprune.stages.kenlm import kenlm_stage
    from dprune.stages.perplexity import perplexity_stage
    from dprune.stages.asr import asr_scores_stage, transcripts_stage
    from dprune.stages.audio import audio_signal_stage
    from dprune.stages.audio_embeddings import audio_embeddings_stage

    accepted = {
        "corpus": lambda: set(DEFAULT_CORPUS),
        "embedding": lambda: _accepted(embed_stage),
        "clustering": lambda: _accepted(cluster_stage, clusters_stage),
        "perplexity": lambda: _accepted(kenlm_stage, perplexity_stage, PerplexityScorer.__init__) - {"self", "model_path"},
        "dynamics": lambda: _accepted(dynamics_stage, train_linear_probe, train_conv_classifier,
                                      train_partial_finetune, finetune_dynamics, extra=["scores"]) - {"audio_column"},
        "audio": lambda: _accepted(audio_signal_stage) - {"audio_column"},
        "asr": lambda: _accepted(transcripts_stage, asr_scores_stage) - {"audio_column"},
        "audio_embedding": lambda: _accepted(audio_embeddings_stage) - {"audio_column"},
        "duplicates": lambda: {"score_column", "keep", "num_clusters", "algorithm", "seed", "threshold"},
    }
    return accepted[stage]()


def check_stage_settings(stage: str, settings: Mapping[str, Any] | None, *, flow: str) -> None:
    """Raise :class:`InvalidParameterError` for an option the stage does not have (before any work)."""
    if settings is None:
        return
    if not isinstance(settings, Mapping):
        raise InvalidParameterError(
            f"The {stage!r} parameter of {flow} must be a mapping of stage options, True or False. "
            f"Got {settings!r} instead."
        )
    known = stage_options(stage)
    unknown = sorted(set(settings) - known)
    if unknown:
        raise InvalidParameterError(
            f"The {stage!r} parameter of {flow} has unknown option(s) {unknown}. "
            f"Options of the {stage} stage: {sorted(known)}."
        )


def checked_settings(stage: str, value: Any, default: Mapping[str, Any], *, flow: str) -> dict[str, Any] | None:
    """One stage's settings (defaults applied, None when off), its option names and ``shard_rows`` checked."""
    check_stage_settings(stage, value if isinstance(value, Mapping) else None, flow=flow)
    settings = stage_settings(value, default)
    if settings is not None and "shard_rows" in settings:  # 0 would divide by zero later
        check_param(f"the {stage} stage of {flow}", "shard_rows", settings["shard_rows"],
                    [Interval(int, 1, None), Options(["auto"])])
    return settings


def resolved_stages(values: Mapping[str, Any], *, flow: str, labelled: bool) -> dict[str, dict[str, Any] | None]:
    """Each stage's settings (defaults applied, None when off), checked before any work starts."""
    resolved = {stage: checked_settings(stage, values.get(stage), default, flow=flow)
                for stage, default in STAGE_DEFAULTS.items()}
    if not labelled:
        resolved["dynamics"] = None
    return resolved


def score_columns(stages: Mapping[str, dict[str, Any] | None]) -> list[str]:
    """The score columns the scoring stages will write, in flow order."""
    columns = []
    if stages["clustering"] and stages["embedding"] is not None:
        columns.append(stages["clustering"]["score_column"])
    if stages["perplexity"]:
        columns.append(stages["perplexity"]["score_column"])
    if stages["dynamics"] and stages["embedding"] is not None:
        columns.extend(stages["dynamics"]["scores"])
    return columns


def speech_stages(stages: Mapping[str, dict[str, Any] | None], values: Mapping[str, Any]) -> dict[str, Any]:
    """The text stages on a dataset with audio: embedding and perplexity only when given in ``values``
    (clustering and dynamics read the audio embeddings otherwise)."""
    return {name: (None if name in ("embedding", "perplexity") and values.get(name) in (None, False) else settings)
            for name, settings in stages.items()}


def speech_score_columns(speech: Mapping[str, dict[str, Any] | None],
                         stages: Mapping[str, dict[str, Any] | None]) -> list[str]:
    """The score columns the flow writes for a dataset with audio, in flow order (see ``flows/prune.py``)."""
    from dprune.stages.audio import AUDIO_SCORE_COLUMNS

    columns = list(AUDIO_SCORE_COLUMNS) if speech["audio"] is not None else []
    if speech["asr"] is not None:
        columns.extend(speech["asr"]["metrics"])
    if speech["audio_embedding"] is not None and speech["duplicates"] is not None:
        columns.append(speech["duplicates"]["score_column"])
    embedded = stages["embedding"] is not None or speech["audio_embedding"] is not None
    text = {**stages, "embedding": {} if embedded else None}
    return columns + score_columns(text)


def corpus_settings(value: Mapping[str, Any] | bool | None, *, enabled: bool, flow: str) -> dict[str, Any] | None:
    """The corpus stages' settings (None when off), checked before any work starts.

    ``enabled`` is the preset's choice when ``value`` is None; a mapping turns them on.
    """
    if value is None:
        value = enabled
    if value is False:
        return None
    check_stage_settings("corpus", value if isinstance(value, Mapping) else None, flow=flow)
    settings = stage_settings(value, DEFAULT_CORPUS)
    unknown = sorted(set(settings["stages"]) - set(CORPUS_STAGES))
    if unknown:
        raise InvalidParameterError(
            f"The 'corpus' parameter of {flow} lists unknown stage(s) {unknown} in 'stages'. "
            f"Corpus stages: {list(CORPUS_STAGES)}."
        )
    return settings


def speech_settings(values: Mapping[str, Any], *, flow: str) -> dict[str, dict[str, Any] | None]:
    """The speech stages' settings (defaults applied, None when off), checked before any work starts.

    They run only on a dataset with audio; a text dataset ignores their defaults.
    """
    from dprune.audio.transcripts import METRICS
    from dprune.scorers.asr import VOCABULARIES

    resolved = {stage: checked_settings(stage, values.get(stage), default, flow=flow)
                for stage, default in SPEECH_STAGE_DEFAULTS.items()}
    if resolved["asr"] is not None:
        check_param(f"the asr stage of {flow}", "vocabulary", resolved["asr"]["vocabulary"],
                    [Options([*VOCABULARIES, "auto"])])
        metrics = resolved["asr"]["metrics"]
        if not metrics or not isinstance(metrics, (list, tuple)) or set(metrics) - set(METRICS):
            raise InvalidParameterError(
                f"The 'metrics' option of the asr stage of {flow} must be a non-empty list among {list(METRICS)}. "
                f"Got {metrics!r} instead."
            )
    if resolved["duplicates"] is not None:
        check_param(f"the duplicates stage of {flow}", "threshold", resolved["duplicates"]["threshold"],
                    [Interval("real", -1.0, 1.0)])
    return resolved


def check_output_folder(output: str, *, flow: str) -> None:
    """Raise before any work when ``output`` exists and is not a folder."""
    if os.path.exists(output) and not os.path.isdir(output):
        raise InvalidParameterError(
            f"The 'output' parameter of {flow} must be a folder (it is created if missing). Got {output!r}, "
            "which is a file: pass another path or remove the file."
        )


#: Seconds a flow script waits for Prefect's temporary server (Prefect's default, 20 s, is too short when
#: two flows start at once on a busy machine). ``$PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` wins.
SERVER_STARTUP_TIMEOUT_S = 120


def script_settings():
    """Prefect settings for a flow run from the command line (a context manager)."""
    import contextlib

    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

    if "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in os.environ:
        return contextlib.nullcontext()
    return temporary_settings(updates={PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: SERVER_STARTUP_TIMEOUT_S})


def check_store(store: str) -> None:
    """Before any work, create and mark the store root, or raise naming a root that is a file or a
    folder of other files (:class:`~dprune.store.NotAStoreError`)."""
    from dprune.store import ArtifactStore

    ArtifactStore(store).init()


# --------------------------------------------------------------------------- command line
def parse_value(text: str) -> Any:
    """``key=value`` values are YAML scalars: 0.5 is a float, 3 an int, true a bool."""
    return yaml.safe_load(text)


def parse_params(text: str) -> dict[str, Any]:
    """``key=value,key=value`` (or a JSON/YAML mapping) as a dict."""
    if text.lstrip().startswith("{"):
        return yaml.safe_load(text)
    params = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"error: cannot read {item!r} in {text!r}; write key=value pairs")
        params[key.strip()] = parse_value(value)
    return params


def parse_spec(text: str) -> dict[str, Any]:
    """``name`` or ``name:key=value,key=value`` or a JSON/YAML mapping."""
    if text.lstrip().startswith("{"):
        return yaml.safe_load(text)
    name, _, rest = text.partition(":")
    return {"name": name.strip(), "params": parse_params(rest)}


def add_common_arguments(parser: argparse.ArgumentParser, *, output_help: str) -> argparse.ArgumentParser:
    """The flags every flow takes: data, stages, store, output, reuse, config and task runner."""
    parser.add_argument("--config", help="YAML file whose keys are this flow's parameters (flags win)")
    parser.add_argument("--dataset", help="bundled example name, file, fsspec URL or hub name")
    parser.add_argument("--split")
    parser.add_argument("--text-column", help="text column ('none' for audio without transcripts: no ASR)")
    parser.add_argument("--label-column", help="label column ('none' for unlabelled data: no dynamics)")
    for stage in [*STAGE_DEFAULTS, *SPEECH_STAGE_DEFAULTS]:
        flag = stage.replace("_", "-")
        parser.add_argument(f"--{flag}", metavar="KEY=VALUE,...", help=f"settings of the {stage} stage"
                            + (" (speech data)" if stage in SPEECH_STAGE_DEFAULTS else ""))
        parser.add_argument(f"--no-{flag}", action="store_true", help=f"turn the {stage} stage off")
    parser.add_argument("--audio-column", help="audio column of a speech dataset (default: its Audio column)")
    parser.add_argument("--store", help="artifact store root (path or fsspec URL; default $DPRUNE_STORE or "
                                        ".dprune/store)")
    parser.add_argument("--output", help=output_help)
    parser.add_argument("--reuse-only", action="store_true", default=None,
                        help="fail instead of computing missing scores")
    parser.add_argument("--task-runner", choices=["local", "dask"], default="local",
                        help="'dask' maps sharded stages over a Dask cluster")
    parser.add_argument("--dask-address", help="scheduler address of an existing Dask cluster (default: start one)")
    parser.add_argument("--dask-workers", type=int, default=2, help="workers of the local Dask cluster")
    return parser


def read_config(path: str) -> dict[str, Any]:
    """The flow parameters in a YAML file, or a one-line error naming the file and the problem."""
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        raise SystemExit(f"error: --config {path}: no such file") from None
    except yaml.YAMLError as error:
        raise SystemExit(f"error: --config {path} is not valid YAML: {error}") from None
    if not isinstance(loaded, dict):
        raise SystemExit(f"error: --config {path} must hold a mapping of flow parameters; got a {type(loaded).__name__}")
    return loaded


def common_params(args: argparse.Namespace) -> dict[str, Any]:
    """The shared flow parameters from ``--config`` and the common flags (flags win; unset flags left out)."""
    params = read_config(args.config) if args.config else {}
    flags = {"dataset": args.dataset, "split": args.split, "text_column": args.text_column,
             "label_column": args.label_column, "store": args.store, "output": args.output,
             "reuse_only": args.reuse_only, "audio_column": args.audio_column}
    for stage in [*STAGE_DEFAULTS, *SPEECH_STAGE_DEFAULTS]:
        flags[stage] = False if getattr(args, f"no_{stage}") else (
            parse_params(getattr(args, stage)) if getattr(args, stage) else None
        )
    for column in ("label_column", "text_column"):  # 'none': unlabelled data, or clips without transcripts
        if flags[column] in ("none", "None", ""):
            flags[column] = None
            params[column] = None
    params.update({k: v for k, v in flags.items() if v is not None})
    if isinstance(params.get("label_column"), str) and params["label_column"].lower() == "none":
        params["label_column"] = None  # from --config; an absent key keeps the flow's default ("label")
    return params


def with_task_runner(flow: Any, args: argparse.Namespace) -> Any:
    """``flow`` with the task runner chosen on the command line.

    The default (one thread, as the flows are declared) returns ``flow`` itself: a copy made
    by ``with_options`` costs Prefect another pass over the flow's parameter schema. A cluster the
    flow starts itself starts as the flow run begins, its workers warm
    (:class:`flows.dask_runner.StartedDaskTaskRunner`); ``--dask-address`` connects to a running one.
    """
    if args.task_runner != "dask":
        return flow
    try:
        from prefect_dask import DaskTaskRunner

        from flows.dask_runner import StartedDaskTaskRunner, task_modules
    except ImportError as error:
        raise SystemExit("error: --task-runner dask needs the dask extra: pip install -e '.[dask]'") from error
    if args.dask_address:
        return flow.with_options(task_runner=DaskTaskRunner(address=args.dask_address))
    import dask

    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's adaptive
    # mmap threshold: every array over 128 KiB is then mapped and zeroed afresh, and the quality
    # statistics took twice their local time on a worker. Workers get glibc's defaults, as a local run.
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
    # The cluster starts while the flow loads the dataset; each worker imports the task modules as it starts.
    cluster = {"n_workers": args.dask_workers, "threads_per_worker": 1, "preload": task_modules()}
    return flow.with_options(task_runner=StartedDaskTaskRunner(cluster_kwargs=cluster))


def reads_dynamics(name: str) -> bool:
    """Whether a score listed in the dynamics stage's ``scores`` reads the training dynamics (not the embeddings)."""
    return name != "confident_learning"


def dynamic_score_params(name: str, dynamics_ref: Any, embeddings_ref: Any, *,
                         label_column: str | None, method: str | None = None) -> dict[str, Any]:
    """Parameters of a score listed in the dynamics stage's ``scores``.

    A dynamics scorer reads the dynamics artifact (every method records the end-of-epoch
    evaluation EL2N reads); ``confident_learning`` reads the embeddings (out-of-fold
    probabilities, no training dynamics needed). After partial fine-tuning (``method``), which
    evaluates every epoch, EL2N is the mean over those evaluations: it ranked flipped labels best.
    """
    from dprune.core.registry import SCORERS

    if not reads_dynamics(name):
        return {"embeddings": embeddings_ref, "label_column": label_column, "score_column": name}
    params = {SCORERS.get(name).source_param: dynamics_ref, "score_column": name, "label_column": label_column}
    if name == "el2n" and method == "partial_finetune":
        params["epoch"] = "all"
    return params
