"""Does a pruning method keep the right rows? Train on what it keeps, test, compare with random.

An evaluation crosses scorers with pruners (:func:`build_methods`), asks each
method for a selection at every keep fraction through the prune stage (so the
scores come from the store and each selection is stored too), trains a
downstream model (:mod:`dprune.evaluation.downstream`) on the kept rows and measures its
accuracy on a test split. Random selection over several seeds gives the
baseline band and the full training set the reference.

:func:`evaluate_methods` returns one row per (method, fraction):
``method, family, pruner, scorer, fraction, kept, seed, accuracy, flipped_kept`` where
``flipped_kept`` is the share of kept rows whose label was flipped (see
:mod:`dprune.evaluation.noise`; null on clean data). :func:`write_results` turns the rows
into a Parquet table, a Markdown table and a plot of accuracy against the kept
fraction, one line per method, random as a band.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dprune.core.base import column_to_numpy
from dprune.evaluation.downstream import FineTunedClassifier, LinearProbe
from dprune.stages.embeddings import read_embeddings
from dprune.data.labels import encode_labels
from dprune.evaluation.noise import CLEAN_LABEL_COLUMN, FLIPPED_COLUMN, NOISE_FRACTION, NOISE_SEED
from dprune.core.params import NON_EMPTY_STR, Interval, InvalidParameterError, Options, check_param
from dprune.core.registry import PRUNERS
from dprune.core.registry import ComponentSpec
from dprune.stages import prune_stage
from dprune.store import ArtifactRef, ArtifactStore

__all__ = [
    "DEFAULT_FRACTIONS",
    "DEFAULT_PRUNERS",
    "DEFAULT_SCORERS",
    "DOWNSTREAM_MODELS",
    "EvaluationInputs",
    "EvaluationPaths",
    "Method",
    "build_methods",
    "check_labelled",
    "check_settings",
    "evaluate_full_data",
    "evaluate_methods",
    "load_downstream",
    "markdown_report",
    "plot_accuracy",
    "random_methods",
    "write_results",
]

logger = logging.getLogger(__name__)

DEFAULT_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
DEFAULT_SCORERS = ("aum", "forgetting", "el2n", "data_map_confidence", "kmeans_distance", "perplexity")
#: Coverage-centric selection twice: the paper's default (no hard cut-off) and the prune flow's (beta=0.1).
DEFAULT_PRUNERS = ("top_k", "bottom_k", "coverage_centric", {"name": "coverage_centric", "params": {"beta": 0.1}},
                   "data_map_region")
DOWNSTREAM_MODELS = ("probe", "finetune")
#: Scores whose *low* end is the hard one (for coverage-centric selection's ``hardest``); others: high.
LOW_IS_HARD = frozenset({"aum", "data_map_confidence", "data_map_correctness"})
#: Settings a pruner gets in an evaluation unless its spec says otherwise (the flow's column names).
PRUNER_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "data_map_region": {"confidence_column": "data_map_confidence", "variability_column": "data_map_variability"},
}
RANDOM, FULL_DATA, FULL_DATA_CLEAN = "random", "full data", "full data, clean labels"
OWNER = "evaluate"


# --------------------------------------------------------------------------- settings
def check_settings(
    *,
    fractions: Sequence[float],
    seeds: Sequence[int],
    noise: float = 0.0,
    noise_seed: int = 0,
    method: str = "probe",
    label_column: str | None = "label",
    owner: str = OWNER,
) -> tuple[list[float], list[int]]:
    """Validate an evaluation's settings; return the sorted fractions and the seeds.

    Raises
    ------
    InvalidParameterError
        Naming the parameter, what it must be and what it got: ``fractions`` (non-empty,
        each in (0, 1]), ``seeds`` (non-empty, distinct ints >= 0), ``noise`` (in [0, 1)),
        ``noise_seed`` (an int >= 0), ``method`` (the downstream model: ``"probe"`` or
        ``"finetune"``) and ``label_column`` (a column name: an evaluation needs labels).
    """
    for name, values in (("fractions", fractions), ("seeds", seeds)):
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be a non-empty list. Got {values!r} instead."
            )
    for fraction in fractions:
        check_param(owner, "fractions", fraction, [Interval("real", 0, 1, closed="right")])
    for seed in seeds:
        check_param(owner, "seeds", seed, [Interval(int, 0, None)])
    if len(set(seeds)) != len(seeds):
        raise InvalidParameterError(
            f"The 'seeds' parameter of {owner} must hold distinct seeds. Got {list(seeds)!r} instead."
        )
    check_param(owner, "noise", noise, NOISE_FRACTION)
    check_param(owner, "noise_seed", noise_seed, NOISE_SEED)
    check_param(owner, "method", method, [Options(DOWNSTREAM_MODELS)])
    check_param(owner, "label_column", label_column, [NON_EMPTY_STR])
    return sorted({float(f) for f in fractions}), [int(s) for s in seeds]


def check_labelled(store: ArtifactStore, dataset_ref: ArtifactRef, label_column: str, *, owner: str = OWNER) -> None:
    """Raise ``InvalidParameterError`` unless the stored dataset was loaded with ``label_column`` as its labels."""
    if store.manifest(dataset_ref)["config"].get("label_column") != label_column:
        raise InvalidParameterError(
            f"The 'label_column' parameter of {owner} must name the label column of the training data (its columns: "
            f"{store.read(dataset_ref).column_names}); an evaluation trains a classifier. Got {label_column!r} instead."
        )


# --------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """One selection method: a registered pruner with its settings, the budget left open.

    ``family`` names the pruner with its own settings (methods of one family differ
    by scorer only); ``seed`` seeds the downstream model trained on its selections;
    ``pruner`` is None for the full-data reference.
    """

    name: str
    pruner: str | None
    params: Mapping[str, Any] = field(default_factory=dict)
    scorer: str | None = None
    seed: int = 0
    family: str | None = None

    def spec(self, fraction: float) -> dict[str, Any]:
        """The pruner spec keeping ``fraction`` of the rows."""
        return {"name": self.pruner, "params": {**self.params, "k": float(fraction)}}


def _label(spec: ComponentSpec) -> str:
    extra = ",".join(f"{k}={v}" for k, v in sorted(spec.params.items()) if k != "score_column")
    return f"{spec.name}[{extra}]" if extra else spec.name


def build_methods(
    scorers: Sequence[str],
    pruners: Sequence[str | Mapping[str, Any]],
    *,
    known_scorers: Sequence[str] | None = None,
    seed: int = 0,
    owner: str = OWNER,
) -> list[Method]:
    """Cross scorers with pruners.

    A pruner that ranks by a ``score_column`` and whose spec does not set one is
    paired with every scorer (coverage-centric selection also gets ``hardest`` from
    :data:`LOW_IS_HARD`); any other pruner, such as ``data_map_region``, makes one
    method. Pruners must take a budget ``k``, which the evaluation sets.

    Parameters
    ----------
    scorers : sequence of str
        Score columns to evaluate.
    pruners : sequence of str or dict
        Registered pruner names or specs (``{"name": ..., "params": {...}}`` or ``"name"``).
    known_scorers : sequence of str, optional
        When given, every scorer must be one of them.
    seed : int, default 0
        Seed of the downstream model for every method.

    Returns
    -------
    list of Method
        Named ``pruner(scorer)``, with the pruner's non-default spec settings in brackets.

    Raises
    ------
    InvalidParameterError
        An unknown scorer, a pruner without a budget, ``random`` (always the baseline), or a spec setting ``k``.
    KeyError
        An unknown pruner name (the message lists the registered ones).
    """
    if isinstance(scorers, str) or not scorers:
        raise InvalidParameterError(f"The 'score_columns' parameter of {owner} must be a non-empty list of score names. "
                                    f"Got {scorers!r} instead.")
    for scorer in scorers:
        check_param(owner, "score_columns", scorer, [Options(sorted(known_scorers))] if known_scorers else [NON_EMPTY_STR])
    if isinstance(pruners, str) or not pruners:
        raise InvalidParameterError(f"The 'pruners' parameter of {owner} must be a non-empty list of pruner names "
                                    f"or specs. Got {pruners!r} instead.")
    methods: dict[str, Method] = {}
    for raw in pruners:
        spec = ComponentSpec.parse(raw)
        cls = PRUNERS.get(spec.name)
        names = cls._get_param_names()
        if spec.name == RANDOM or "k" not in names or "k" in spec.params:
            why = ("random selection is always evaluated as the baseline (set its seeds with 'seeds')"
                   if spec.name == RANDOM else "the evaluation sets the budget 'k' from 'fractions'")
            raise InvalidParameterError(
                f"The 'pruners' parameter of {owner} must hold pruners with a budget 'k' and without 'k' set: "
                f"{why}. Got {raw!r} instead."
            )
        params, family = {**PRUNER_DEFAULTS.get(spec.name, {}), **spec.params}, _label(spec)
        if "score_column" in names and "score_column" not in spec.params:
            for scorer in scorers:
                paired = {**params, "score_column": scorer}
                if "hardest" in names and "hardest" not in spec.params:
                    paired["hardest"] = "low" if scorer in LOW_IS_HARD else "high"
                name = f"{family}({scorer})"
                methods.setdefault(name, Method(name, spec.name, paired, scorer, seed, family))
        else:
            scorer = params.get("score_column")
            name = f"{family}({scorer})" if scorer else family
            methods.setdefault(name, Method(name, spec.name, params, scorer, seed, family))
    return list(methods.values())


def random_methods(seeds: Sequence[int]) -> list[Method]:
    """Random selection once per seed (the seed draws the rows and seeds the downstream model)."""
    return [Method(RANDOM, RANDOM, {"seed": int(seed)}, None, int(seed), RANDOM) for seed in seeds]


# --------------------------------------------------------------------------- running
@dataclass(frozen=True)
class EvaluationInputs:
    """What every evaluation of one scored training set shares (small references, no data).

    Parameters
    ----------
    train, test : ArtifactRef
        Dataset artifacts of the training set (the one that was scored) and the test split.
    scores : tuple of ArtifactRef
        Score artifacts of the training set.
    train_embeddings, test_embeddings : ArtifactRef or None
        Embeddings artifacts (row-aligned with the datasets); the linear probe needs them.
    text_column, label_column : str
    downstream : {"probe", "finetune"}
        The model trained on each selection (see :mod:`dprune.evaluation.downstream`).
    downstream_options : dict
        Keyword settings of that model.
    """

    train: ArtifactRef
    test: ArtifactRef
    scores: tuple[ArtifactRef, ...]
    train_embeddings: ArtifactRef | None = None
    test_embeddings: ArtifactRef | None = None
    text_column: str = "text"
    label_column: str = "label"
    downstream: str = "probe"
    downstream_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> ArtifactStore:
        """The store the training set lives in."""
        return ArtifactStore(self.train.root)


def load_downstream(
    inputs: EvaluationInputs, *, train_label_column: str | None = None
) -> LinearProbe | FineTunedClassifier:
    """The downstream model of ``inputs``, trained on ``train_label_column`` (default: the label column)."""
    store = inputs.store
    train, test = store.read(inputs.train), store.read(inputs.test)
    _, mapping = encode_labels(train, inputs.label_column, owner=OWNER)
    train_labels, _ = encode_labels(train, train_label_column or inputs.label_column, mapping=mapping, owner=OWNER)
    test_labels, _ = encode_labels(test, inputs.label_column, mapping=mapping, owner=f"{OWNER} (test split)")
    options = dict(inputs.downstream_options)
    if inputs.downstream == "finetune":
        return FineTunedClassifier(train, train_labels, test, test_labels, num_labels=mapping.num_labels,
                                   text_column=inputs.text_column, **options)
    if inputs.train_embeddings is None or inputs.test_embeddings is None:
        raise ValueError("The linear probe (downstream='probe') needs train_embeddings and test_embeddings; "
                         "embed both splits (see dprune.stages.embed_stage) and pass their artifacts.")
    return LinearProbe(read_embeddings(store, inputs.train_embeddings), train_labels,
                       read_embeddings(store, inputs.test_embeddings), test_labels,
                       num_labels=mapping.num_labels, **options)


def _score_columns(store: ArtifactStore, refs: Sequence[ArtifactRef]) -> dict[str, ArtifactRef]:
    columns: dict[str, ArtifactRef] = {}
    for ref in refs:
        for column in store.read_table(ref).column_names:
            columns.setdefault(column, ref)
    return columns


def _flipped(store: ArtifactStore, dataset_ref: ArtifactRef) -> np.ndarray | None:
    dataset = store.read(dataset_ref)
    return column_to_numpy(dataset, FLIPPED_COLUMN).astype(bool) if FLIPPED_COLUMN in dataset.column_names else None


def _row(method: Method, fraction: float, positions: np.ndarray, accuracy: float, flipped: np.ndarray | None) -> dict:
    return {
        "method": method.name,
        "family": method.family,
        "pruner": method.pruner,
        "scorer": method.scorer,
        "fraction": float(fraction),
        "kept": int(len(positions)),
        "seed": method.seed,
        "accuracy": accuracy,
        "flipped_kept": None if flipped is None else float(flipped[positions].mean()),
    }


def evaluate_methods(
    inputs: EvaluationInputs, methods: Sequence[Method], fractions: Sequence[float]
) -> list[dict[str, Any]]:
    """Select with each method at each fraction (prune stage), train, test; one row per point.

    Each selection reads only the score artifacts its pruner needs and is stored
    (or found) as a ``selection`` artifact.

    Raises
    ------
    KeyError
        A method needs a score column that none of ``inputs.scores`` holds.
    """
    store = inputs.store
    model = load_downstream(inputs)
    flipped = _flipped(store, inputs.train)
    columns = _score_columns(store, inputs.scores)
    rows = []
    for method in methods:
        pruner = ComponentSpec(method.pruner, method.spec(1.0)["params"]).build_pruner()
        needed = pruner.required_columns()
        missing = [c for c in needed if c not in columns]
        if missing:
            raise KeyError(
                f"Method {method.name!r} needs score column(s) {missing}, but the scores of this run hold "
                f"{sorted(c for c in columns if c != 'row_id')}. Turn on the stage that computes it (for a dynamics "
                "score, list it in the dynamics stage's 'scores') or evaluate another scorer."
            )
        refs = list(dict.fromkeys(columns[c] for c in needed))
        for fraction in fractions:
            selection = prune_stage(store, inputs.train, refs, method.spec(fraction))
            positions = column_to_numpy(store.read(selection), "position")
            rows.append(_row(method, fraction, positions, model.accuracy(positions, seed=method.seed), flipped))
            logger.info("%s, %g%% kept (%d rows): accuracy %.4f", method.name, 100 * fraction, len(positions),
                        rows[-1]["accuracy"])
    return rows


def evaluate_full_data(inputs: EvaluationInputs, seed: int = 0) -> list[dict[str, Any]]:
    """The reference: every training row; with flipped labels, also every row with its clean label."""
    store = inputs.store
    flipped = _flipped(store, inputs.train)
    positions = np.arange(store.manifest(inputs.train)["num_rows"])
    references = [(Method(FULL_DATA, None, seed=seed), None)]
    if flipped is not None:
        references.append((Method(FULL_DATA_CLEAN, None, seed=seed), CLEAN_LABEL_COLUMN))
    rows = []
    for method, label_column in references:
        model = load_downstream(inputs, train_label_column=label_column)
        rows.append(_row(method, 1.0, positions, model.accuracy(positions, seed=seed), flipped))
        logger.info("%s (%d rows): accuracy %.4f", method.name, len(positions), rows[-1]["accuracy"])
    return rows


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class EvaluationPaths:
    """Files written by :func:`write_results`."""

    parquet: Path
    markdown: Path
    plot: Path

    def to_dict(self) -> dict[str, str]:
        """Paths as strings."""
        return {k: str(v) for k, v in self.__dict__.items()}


@dataclass
class _Summary:
    """The rows regrouped: methods by fraction, the random band, the references."""

    fractions: list[float]
    methods: dict[str, dict[float, dict[str, Any]]]
    random: dict[float, list[dict[str, Any]]]
    references: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, rows: Sequence[Mapping[str, Any]]) -> "_Summary":
        fractions = {r["fraction"] for r in rows if r["method"] not in (FULL_DATA, FULL_DATA_CLEAN)}
        summary = cls(sorted(fractions), {}, {}, {})
        for row in rows:
            if row["method"] in (FULL_DATA, FULL_DATA_CLEAN):
                summary.references[row["method"]] = dict(row)
            elif row["method"] == RANDOM:
                summary.random.setdefault(row["fraction"], []).append(dict(row))
            else:
                summary.methods.setdefault(row["method"], {})[row["fraction"]] = dict(row)
        return summary

    def band(self, fraction: float, field_name: str = "accuracy") -> np.ndarray:
        values = [r[field_name] for r in self.random.get(fraction, []) if r[field_name] is not None]
        return np.array(values, dtype=float)


def _pct(value: float | None) -> str:
    return "–" if value is None or np.isnan(value) else f"{100 * value:.1f}"


def _fraction_header(fraction: float) -> str:
    return f"{100 * fraction:g}%"


def markdown_report(rows: Sequence[Mapping[str, Any]], *, title: str = "Evaluation") -> str:
    """Markdown tables: test accuracy per method and kept fraction (and, with label noise, flipped labels kept).

    Random is shown as the mean ± (sample) standard deviation over its seeds; a method's
    accuracy is bold where it is above every random seed at that fraction.
    """
    summary = _Summary.of(rows)
    header = "| method | " + " | ".join(_fraction_header(f) for f in summary.fractions) + " |"
    rule = "|---|" + "---:|" * len(summary.fractions)
    lines = [f"## {title}", ""]
    for name, row in summary.references.items():
        lines.append(f"- {name} ({row['kept']:,} rows): **{_pct(row['accuracy'])}%** test accuracy")
    seeds = sorted({r["seed"] for rs in summary.random.values() for r in rs})
    lines += ["", f"Test accuracy (%) by kept fraction. Random: mean ± std over seeds {seeds}; **bold**: above every "
              "random seed at that fraction.", "", header, rule]

    def random_cell(fraction: float, field_name: str) -> str:
        band = summary.band(fraction, field_name)
        return f"{_pct(band.mean())} ± {100 * band.std(ddof=1 if band.size > 1 else 0):.1f}" if band.size else "–"

    lines.append("| random | " + " | ".join(random_cell(f, "accuracy") for f in summary.fractions) + " |")
    for name, by_fraction in summary.methods.items():
        cells = []
        for fraction in summary.fractions:
            row, band = by_fraction.get(fraction), summary.band(fraction)
            cell = _pct(row["accuracy"]) if row else "–"
            cells.append(f"**{cell}**" if row and band.size and row["accuracy"] > band.max() else cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if any(r.get("flipped_kept") is not None for r in rows):
        lines += ["", "Share of kept rows whose label was flipped (%):", "", header, rule,
                  "| random | " + " | ".join(random_cell(f, "flipped_kept") for f in summary.fractions) + " |"]
        for name, by_fraction in summary.methods.items():
            cells = [_pct(by_fraction[f]["flipped_kept"]) if f in by_fraction else "–" for f in summary.fractions]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_accuracy(rows: Sequence[Mapping[str, Any]], path: str | Path, *, title: str = "Evaluation") -> Path:
    """Accuracy against kept fraction: one panel per method family, one line per method, random as a band.

    Every panel shows the random band (min to max over seeds, mean dashed) and the
    full-data reference (and the clean-label reference with label noise); a line
    keeps its colour (its scorer) in every panel. The accuracy axis starts 5 points
    below the random band, so the band stays readable; lines that drop below it are
    in the Markdown table.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = _Summary.of(rows)
    groups: dict[str, list[str]] = {}
    for name, by_fraction in summary.methods.items():
        groups.setdefault(next(iter(by_fraction.values()))["family"], []).append(name)
    lines = sorted({r["scorer"] or r["method"] for r in rows if r["method"] in summary.methods})
    colours = {s: plt.get_cmap("tab10")(i % 10) for i, s in enumerate(lines)}
    ncols = min(2, max(1, len(groups)))
    nrows = max(1, -(-len(groups) // ncols))
    spare = nrows * ncols > len(groups)  # the legend goes into the empty panel, or below the panels
    legend_height = 0 if spare else 0.6
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.3 * nrows + legend_height), squeeze=False)
    x = np.array(summary.fractions) * 100
    bands = [summary.band(f) for f in summary.fractions]
    lows = [b.min() for b in bands if b.size] + [r["accuracy"] for r in summary.references.values()]
    floor = max(0.0, 100 * min(lows) - 5) if lows else None
    handles: dict[str, Any] = {}
    for ax, (group, names) in zip(axes.flat, groups.items() or [("no methods", [])]):
        if all(b.size for b in bands):
            handles[f"random (min-max of {len(bands[0])} seeds)"] = ax.fill_between(
                x, [b.min() * 100 for b in bands], [b.max() * 100 for b in bands], color="0.8")
            ax.plot(x, [b.mean() * 100 for b in bands], color="0.5", linestyle="--", linewidth=1)
        for reference, style in ((FULL_DATA, ":"), (FULL_DATA_CLEAN, "-.")):
            if reference in summary.references:
                handles[reference] = ax.axhline(summary.references[reference]["accuracy"] * 100, color="black",
                                                linestyle=style, linewidth=1)
        below = False
        for name in names:
            points = summary.methods[name]
            key = next(iter(points.values()))["scorer"] or name
            values = [r["accuracy"] * 100 for r in points.values()]
            (handles[key],) = ax.plot([f * 100 for f in points], values, marker="o", markersize=3,
                                      color=colours[key])
            below = below or (floor is not None and min(values) < floor)
        if floor is not None:
            ax.set_ylim(bottom=floor)
        if below:
            ax.text(0.98, 0.03, "lower points off the axis: see the table", transform=ax.transAxes, ha="right",
                    fontsize=7, color="0.3")
        ax.set_title(group, fontsize=10)
        ax.set_xlabel("kept fraction (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(groups) or 1:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=11)
    if spare:
        axes.flat[-1].legend(handles.values(), handles.keys(), loc="center", fontsize=9, frameon=False)
    else:
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=min(5, max(1, len(handles))),
                   fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, legend_height / (3.3 * nrows + legend_height), 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def write_results(
    rows: Sequence[Mapping[str, Any]], output_dir: str | Path, *, title: str = "Evaluation"
) -> EvaluationPaths:
    """Write ``results.parquet`` (one row per point), ``results.md`` and ``accuracy.png`` to ``output_dir``."""
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    paths = EvaluationPaths(output / "results.parquet", output / "results.md", output / "accuracy.png")
    schema = pa.schema([("method", pa.string()), ("family", pa.string()), ("pruner", pa.string()),
                        ("scorer", pa.string()), ("fraction", pa.float64()), ("kept", pa.int64()), ("seed", pa.int64()),
                        ("accuracy", pa.float64()), ("flipped_kept", pa.float64())])
    pq.write_table(pa.Table.from_pylist([dict(r) for r in rows], schema=schema), paths.parquet)
    paths.markdown.write_text(markdown_report(rows, title=title), encoding="utf-8")
    plot_accuracy(rows, paths.plot, title=title)
    return paths
