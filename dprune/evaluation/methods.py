"""Evaluation methods: which scorer is paired with which pruner, and the settings of an evaluation.

An evaluation crosses score columns with pruners (:func:`build_methods`); random
selection over several seeds (:func:`random_methods`) is the baseline band.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence


from dprune.core.params import NON_EMPTY_STR, Interval, InvalidParameterError, Options, check_param
from dprune.core.registry import PRUNERS, ComponentSpec
from dprune.evaluation.noise import NOISE_FRACTION, NOISE_SEED
from dprune.store import ArtifactRef, ArtifactStore

DEFAULT_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
DEFAULT_SCORERS = ("aum", "forgetting", "el2n", "data_map_confidence", "kmeans_distance", "perplexity")
#: The default on speech data (dynamics and clustering on the audio embeddings, and the transcripts' WER).
DEFAULT_SPEECH_SCORERS = ("aum", "forgetting", "el2n", "data_map_confidence", "kmeans_distance", "wer")
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
        names = cls.param_names()
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
