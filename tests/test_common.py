"""Every registered Scorer and Pruner through the same contract checks.

A component registered without an entry in the ``*_FACTORIES`` tables of the
``components_*`` modules fails ``test_every_component_has_a_factory``, so no
component escapes these checks.
"""

from __future__ import annotations

import pickle
from typing import Any, Callable

import numpy as np
import pytest
from datasets import Dataset

import dprune
from dprune import InvalidParameterError, resolve_budget
from dprune.core.fingerprint import compute_key, dataset_fingerprint
from dprune.core.registry import PRUNERS, SCORERS

import components_pruners
import components_scorers_asr
import components_scorers_audio
import components_scorers_corpus
import components_scorers_dynamics
import components_scorers_embedding
import components_scorers_perplexity

TEXTS = [
    "A great movie with a moving story.",
    "Waste of time, the plot drags on.",
    "Amazing performances all around.",
    "So predictable and dull.",
    "A warm, funny and clever film.",
    "The worst script of the year.",
    "Beautifully shot and well acted.",
    "Boring characters and flat jokes.",
    "An instant classic for the family.",
    "Nothing works in this mess.",
    "A great movie with a moving story.",
    "Clumsy, loud and far too long.",
]


def tiny_dataset() -> Dataset:
    n = len(TEXTS)
    rng = np.random.default_rng(7)
    return Dataset.from_dict(
        {
            "row_id": list(range(100, 100 + n)),
            "text": TEXTS,
            "label": [i % 2 for i in range(n)],
            "score": rng.normal(size=n).round(6).tolist(),
            "audio": components_scorers_audio.tiny_audio_column(n),
        }
    )


class Context:
    """What a factory may need: the tiny dataset and a tiny trained KenLM model."""

    def __init__(self, kenlm_model: str):
        self.dataset = tiny_dataset()
        self.kenlm_model = kenlm_model


SCORER_FACTORIES: dict[str, Callable[[Context], list]] = {
    **{n: (lambda ctx, f=f: f()) for n, f in components_scorers_embedding.SCORER_FACTORIES.items()},
    **{n: (lambda ctx, f=f: f()) for n, f in components_scorers_corpus.SCORER_FACTORIES.items()},
    **{n: (lambda ctx, f=f: f(ctx.kenlm_model)) for n, f in components_scorers_perplexity.SCORER_FACTORIES.items()},
    **{n: (lambda ctx, f=f: f(ctx.dataset)) for n, f in components_scorers_dynamics.SCORER_FACTORIES.items()},
    **{n: (lambda ctx, f=f: f()) for n, f in components_scorers_audio.SCORER_FACTORIES.items()},
    **{n: (lambda ctx, f=f: f()) for n, f in components_scorers_asr.SCORER_FACTORIES.items()},
}
SCORER_BAD_PARAMS = {
    **components_scorers_embedding.SCORER_BAD_PARAMS,
    **components_scorers_corpus.SCORER_BAD_PARAMS,
    **components_scorers_perplexity.SCORER_BAD_PARAMS,
    **components_scorers_dynamics.SCORER_BAD_PARAMS,
    **components_scorers_audio.SCORER_BAD_PARAMS,
    **components_scorers_asr.SCORER_BAD_PARAMS,
}
PRUNER_FACTORIES = {n: (lambda ctx, f=f: f()) for n, f in components_pruners.PRUNER_FACTORIES.items()}
PRUNER_BAD_PARAMS = components_pruners.PRUNER_BAD_PARAMS


@pytest.fixture(scope="module")
def context(tiny_arpa_model) -> Context:
    # a hand-written ARPA model: the contract suite never skips for want of the KenLM tools
    return Context(str(tiny_arpa_model))


def _instances(factories, name, context):
    instances = factories[name](context)
    assert instances, f"the factory of {name!r} returned no instance"
    return instances


def _same_params(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    return all(x is y or _equal(x, y) for x, y in zip(a.values(), b.values()))


def _equal(x, y) -> bool:
    try:
        result = x == y
        return bool(np.all(result))
    except Exception:
        return False


def _changed(value):
    """A different value of the same type, or None when there is no obvious one."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2 if value not in (0.0,) else 0.5
    if isinstance(value, str):
        return value + "_x"
    return None


def _key(component) -> str:
    return compute_key("component", 1, component.config())


def test_every_component_has_a_factory():
    assert set(SCORERS.names()) == set(SCORER_FACTORIES), "register a factory in tests/components_scorers_*.py"
    assert set(PRUNERS.names()) == set(PRUNER_FACTORIES), "register a factory in tests/components_pruners.py"


def test_exports_cover_the_registry():
    for _, cls in SCORERS.items() + PRUNERS.items():
        assert getattr(dprune, cls.__name__) is cls, f"dprune does not export {cls.__name__}"


# ---------------------------------------------------------------- shared checks
@pytest.mark.parametrize("registry,factories", [(SCORERS, SCORER_FACTORIES), (PRUNERS, PRUNER_FACTORIES)], ids=["scorers", "pruners"])
def test_get_params_round_trip_and_key_stability(registry, factories, context):
    for name in registry.names():
        for component in _instances(factories, name, context):
            params = component.get_params()
            rebuilt = type(component)(**params)
            assert _same_params(rebuilt.get_params(), params), name
            assert _key(rebuilt) == _key(component), f"{name}: key not stable"
            assert repr(component).startswith(type(component).__name__)


@pytest.mark.parametrize("registry,factories", [(SCORERS, SCORER_FACTORIES), (PRUNERS, PRUNER_FACTORIES)], ids=["scorers", "pruners"])
def test_key_is_sensitive_to_every_simple_parameter(registry, factories, context):
    for name in registry.names():
        component = _instances(factories, name, context)[0]
        base_key = _key(component)
        for param, value in component.get_params().items():
            other = _changed(value)
            if other is None:
                continue
            changed = component.clone().set_params(**{param: other})
            assert _key(changed) != base_key, f"{name}: key ignores {param!r}"


@pytest.mark.parametrize("registry,factories", [(SCORERS, SCORER_FACTORIES), (PRUNERS, PRUNER_FACTORIES)], ids=["scorers", "pruners"])
def test_pickle_round_trip(registry, factories, context):
    for name in registry.names():
        component = _instances(factories, name, context)[0]
        restored = pickle.loads(pickle.dumps(component))
        assert type(restored) is type(component)
        assert _key(restored) == _key(component), name


# ---------------------------------------------------------------- scorers
@pytest.mark.parametrize("name", SCORERS.names())
def test_scorer_contract(name, context):
    dataset = context.dataset
    before = dataset_fingerprint(dataset)
    for scorer in _instances(SCORER_FACTORIES, name, context):
        scored = scorer.score(dataset)
        column = scorer.get_params().get("score_column", "score")
        assert len(scored) == len(dataset)
        values = np.asarray(scored[column], dtype=float)
        assert values.shape == (len(dataset),) and scored.features[column].dtype in ("float64", "float32")
        assert set(dataset.column_names) | {column} == set(scored.column_names)
        again = scorer.score(dataset)
        np.testing.assert_allclose(np.asarray(again[column], dtype=float), values, rtol=1e-5, atol=1e-6, equal_nan=True)
        rescored = scorer.score(scored)
        assert rescored.column_names.count(column) == 1
    assert dataset_fingerprint(dataset) == before, f"{name} mutated its input"


@pytest.mark.parametrize("name", SCORERS.names())
def test_scorer_custom_column_coexists(name, context):
    scorer = _instances(SCORER_FACTORIES, name, context)[0].clone().set_params(score_column=f"{name}_score")
    scored = scorer.score(context.dataset)
    assert "score" in scored.column_names and f"{name}_score" in scored.column_names


@pytest.mark.parametrize("name", SCORERS.names())
def test_scorer_rejects_empty_and_handles_one_row(name, context):
    scorer = _instances(SCORER_FACTORIES, name, context)[0]
    with pytest.raises(ValueError, match="empty"):
        scorer.score(context.dataset.select([]))
    one = context.dataset.select([0])
    try:
        scored = scorer.score(one)
    except ValueError as error:  # allowed only with a message that explains the limit
        assert len(str(error)) > 30, f"{name}: unhelpful one-row error {error!r}"
    else:
        assert len(scored) == 1


@pytest.mark.parametrize("name", SCORERS.names())
def test_scorer_missing_column_is_named(name, context):
    scorer = _instances(SCORER_FACTORIES, name, context)[0]
    required = scorer.required_columns()
    if not required:
        pytest.skip(f"{name} reads no dataset column")
    broken = context.dataset.rename_column(required[0], "renamed_away")
    with pytest.raises(KeyError, match=required[0]):
        scorer.score(broken)


@pytest.mark.parametrize("name", SCORERS.names())
def test_scorer_bad_parameters_are_named(name, context):
    cases = SCORER_BAD_PARAMS.get(name, [])
    assert cases, f"list at least one bad parameter for {name}"
    for overrides, param in cases:
        scorer = _instances(SCORER_FACTORIES, name, context)[0].clone().set_params(**overrides)
        with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of {type(scorer).__name__}"):
            scorer.score(context.dataset)


# ---------------------------------------------------------------- pruners
def _scored(context):
    return context.dataset


@pytest.mark.parametrize("name", PRUNERS.names())
def test_pruner_contract(name, context):
    dataset = _scored(context)
    before = dataset_fingerprint(dataset)
    for pruner in _instances(PRUNER_FACTORIES, name, context):
        kept = pruner.prune(dataset)
        again = pruner.clone().prune(dataset)
        assert kept["row_id"] == again["row_id"], f"{name} is not deterministic"
        ids = kept["row_id"]
        assert len(set(ids)) == len(ids) and set(ids) <= set(dataset["row_id"])
        assert kept.column_names == dataset.column_names
        k = pruner.get_params().get("k")
        if k is not None:
            assert len(kept) == resolve_budget(k, len(dataset)), f"{name} missed its budget"
        assert np.array_equal(np.sort(pruner.selected_indices_), np.sort(np.asarray([dataset["row_id"].index(i) for i in ids])))
    assert dataset_fingerprint(dataset) == before, f"{name} mutated its input"


@pytest.mark.parametrize("name", PRUNERS.names())
def test_pruner_rejects_empty_and_handles_one_row(name, context):
    pruner = _instances(PRUNER_FACTORIES, name, context)[0]
    with pytest.raises(ValueError, match="empty"):
        pruner.prune(_scored(context).select([]))
    kept = pruner.prune(_scored(context).select([0]))
    assert len(kept) <= 1


@pytest.mark.parametrize("name", PRUNERS.names())
def test_pruner_missing_column_is_named(name, context):
    pruner = _instances(PRUNER_FACTORIES, name, context)[0]
    required = pruner.required_columns()
    if not required:
        pytest.skip(f"{name} reads no dataset column")
    broken = _scored(context).rename_column(required[0], "renamed_away")
    with pytest.raises(KeyError, match=required[0]):
        pruner.prune(broken)


@pytest.mark.parametrize("name", PRUNERS.names())
def test_pruner_bad_parameters_are_named(name, context):
    cases = PRUNER_BAD_PARAMS.get(name, [])
    assert cases, f"list at least one bad parameter for {name}"
    for overrides, param in cases:
        pruner = _instances(PRUNER_FACTORIES, name, context)[0].clone().set_params(**overrides)
        with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of {type(pruner).__name__}"):
            pruner.prune(_scored(context))
