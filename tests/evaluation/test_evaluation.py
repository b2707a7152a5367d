"""Evaluation library: settings, methods, selections through the store, tables and plot."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import Dataset

from dprune.stages.embeddings import EMBEDDINGS
from dprune.vectors.arrays import embeddings_to_table
from dprune.evaluation.methods import DEFAULT_PRUNERS, DEFAULT_SCORERS, FULL_DATA, FULL_DATA_CLEAN, RANDOM, build_methods, check_labelled, check_settings, random_methods
from dprune.evaluation.results import markdown_report, write_results
from dprune.evaluation.runner import EvaluationInputs, evaluate_full_data, evaluate_methods
from dprune.core.fingerprint import compute_key
from dprune.evaluation.noise import flip_labels
from dprune.core.params import InvalidParameterError
from dprune.scorers.dynamics import AUMScorer
from dprune.stages import load_stage, score_stage
from dprune.store import ArtifactStore
from dprune.dynamics.probe import train_linear_probe

GOOD = {"fractions": [0.5], "seeds": [0, 1, 2], "noise": 0.0, "method": "probe", "label_column": "label"}


@pytest.mark.parametrize("name, value, expected", [
    ("fractions", [0.0], r"'fractions' parameter of evaluate must be a number in \(0, 1\]. Got 0.0"),
    ("fractions", [0.5, 1.5], r"'fractions' parameter of evaluate must be a number in \(0, 1\]. Got 1.5"),
    ("fractions", [], r"'fractions' parameter of evaluate must be a non-empty list. Got \[\]"),
    ("fractions", "0.5", r"'fractions' parameter of evaluate must be a non-empty list. Got '0.5'"),
    ("seeds", [-1], r"'seeds' parameter of evaluate must be an int >= 0. Got -1"),
    ("seeds", [1, 1], r"'seeds' parameter of evaluate must hold distinct seeds"),
    ("noise", 1.0, r"'noise' parameter of evaluate must be a number in \[0, 1\). Got 1.0"),
    ("noise_seed", -2, r"'noise_seed' parameter of evaluate must be an int >= 0. Got -2"),
    ("method", "svm", r"'method' parameter of evaluate must be one of \{'probe', 'finetune'\}. Got 'svm'"),
    ("label_column", None, r"'label_column' parameter of evaluate must be a non-empty str. Got None"),
])
def test_bad_settings_name_the_parameter(name, value, expected):
    with pytest.raises(InvalidParameterError, match=expected):
        check_settings(**{**GOOD, name: value})


def test_settings_are_normalized():
    fractions, seeds = check_settings(**{**GOOD, "fractions": [0.9, 1, 0.1, 0.9]})
    assert fractions == [0.1, 0.9, 1.0] and all(isinstance(f, float) for f in fractions) and seeds == [0, 1, 2]


def test_methods_cross_ranking_pruners_with_scorers():
    methods = {m.name: m for m in build_methods(DEFAULT_SCORERS, DEFAULT_PRUNERS)}
    assert len(methods) == 4 * len(DEFAULT_SCORERS) + 1
    assert methods["coverage_centric[beta=0.1](aum)"].family == "coverage_centric[beta=0.1]"
    assert methods["coverage_centric(aum)"].params == {"score_column": "aum", "hardest": "low"}
    assert methods["coverage_centric(forgetting)"].params["hardest"] == "high"
    assert methods["bottom_k(perplexity)"].scorer == "perplexity"
    region = methods["data_map_region"]
    assert region.params == {"confidence_column": "data_map_confidence", "variability_column": "data_map_variability"}
    assert region.spec(0.3) == {"name": "data_map_region", "params": {**region.params, "k": 0.3}}
    custom = build_methods(["aum"], [{"name": "coverage_centric", "params": {"beta": 0.1, "hardest": "high"}},
                                     {"name": "top_k", "params": {"score_column": "el2n"}}])
    assert [m.name for m in custom] == ["coverage_centric[beta=0.1,hardest=high](aum)", "top_k(el2n)"]
    assert custom[0].params["hardest"] == "high", "a spec's own settings win"
    assert [(m.params, m.seed) for m in random_methods([3, 4])] == [({"seed": 3}, 3), ({"seed": 4}, 4)]


def test_bad_methods_are_refused_with_the_fix():
    with pytest.raises(KeyError, match=r"Unknown pruner 'top_q'. Known pruners: .*top_k"):
        build_methods(["aum"], ["top_q"])
    for spec in ("threshold", "random", {"name": "top_k", "params": {"k": 0.5}}):
        with pytest.raises(InvalidParameterError, match="'pruners' parameter of evaluate must hold pruners with a budget"):
            build_methods(["aum"], [spec])
    with pytest.raises(InvalidParameterError, match=r"'score_columns' parameter of evaluate must be one of \{'aum', 'el2n'\}. Got 'aun'"):
        build_methods(["aun"], ["top_k"], known_scorers=["el2n", "aum"])


# --------------------------------------------------------------------------- through the store
def _blobs(n, seed):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    return rng.normal(size=(n, 8)).astype(np.float32) + np.where(labels[:, None] == 1, 1.0, -1.0), labels


def _embeddings(store, dataset_ref, vectors):
    key = compute_key(EMBEDDINGS.name, 1, {"test_vectors": True}, parents=[dataset_ref])
    return store.write_table(EMBEDDINGS.name, key, embeddings_to_table(vectors), config={}, parents=[dataset_ref])


@pytest.fixture
def noisy_inputs(tmp_path):
    """A 400-row noisy training set (20% flipped) with real AUM scores, and a clean 200-row test set."""
    store = ArtifactStore(str(tmp_path / "store"))
    x, y = _blobs(400, 0)
    x_test, y_test = _blobs(200, 1)
    clean = Dataset.from_dict({"text": [f"train {i}" for i in range(400)], "label": y.tolist()})
    noisy, _ = flip_labels(clean, 0.2, seed=0)
    train_ref = load_stage(store, noisy)
    test_ref = load_stage(store, Dataset.from_dict({"text": [f"test {i}" for i in range(200)], "label": y_test.tolist()}))
    dynamics = train_linear_probe(store.read(train_ref), x, seeds=[0, 1], epochs=20, learning_rate=1e-2)
    aum_ref = score_stage(store, train_ref, AUMScorer(dynamics, score_column="aum"))
    return EvaluationInputs(train=train_ref, test=test_ref, scores=(aum_ref,),
                            train_embeddings=_embeddings(store, train_ref, x),
                            test_embeddings=_embeddings(store, test_ref, x_test))


def test_dynamics_pruning_drops_flipped_labels_and_selections_are_cached(noisy_inputs):
    methods = build_methods(["aum"], ["top_k", "bottom_k"]) + random_methods([0, 1, 2])
    rows = evaluate_methods(noisy_inputs, methods, [0.5, 0.8])
    assert [(r["method"], r["fraction"], r["kept"]) for r in rows[:2]] == [("top_k(aum)", 0.5, 200), ("top_k(aum)", 0.8, 320)]
    at_80 = {(r["method"], r["seed"]): r for r in rows if r["fraction"] == 0.8}
    random_flipped = np.mean([at_80[(RANDOM, s)]["flipped_kept"] for s in (0, 1, 2)])
    assert 0.15 < random_flipped < 0.25
    assert at_80[("top_k(aum)", 0)]["flipped_kept"] < random_flipped / 2, "high AUM keeps few flipped labels"
    assert at_80[("bottom_k(aum)", 0)]["flipped_kept"] > random_flipped, "low AUM keeps the flipped labels"
    assert all(0 <= r["accuracy"] <= 1 for r in rows)

    store = noisy_inputs.store
    selections = {a["key"] for a in store.ls("selection")}
    assert len(selections) == len(methods) * 2
    assert evaluate_methods(noisy_inputs, methods, [0.5, 0.8]) == rows, "same inputs, same results"
    assert {a["key"] for a in store.ls("selection")} == selections, "a rerun finds every selection in the store"


def test_references_include_the_clean_labels_and_missing_scores_are_named(noisy_inputs):
    full, clean = evaluate_full_data(noisy_inputs)
    assert (full["method"], clean["method"]) == (FULL_DATA, FULL_DATA_CLEAN)
    assert full["kept"] == clean["kept"] == 400 and full["flipped_kept"] == pytest.approx(0.2)
    assert clean["accuracy"] > full["accuracy"] - 0.02
    with pytest.raises(KeyError, match=r"'top_k\(el2n\)' needs score column\(s\) \['el2n'\].*hold \['aum'\]"):
        evaluate_methods(noisy_inputs, build_methods(["el2n"], ["top_k"]), [0.5])
    check_labelled(noisy_inputs.store, noisy_inputs.train, "label")
    with pytest.raises(InvalidParameterError, match=r"'label_column' parameter of evaluate must name the label column"):
        check_labelled(noisy_inputs.store, noisy_inputs.train, "stars")


# --------------------------------------------------------------------------- results
def _rows():
    rows = [{"method": FULL_DATA, "family": None, "pruner": None, "scorer": None, "fraction": 1.0, "kept": 100, "seed": 0,
             "accuracy": 0.80, "flipped_kept": 0.2}]
    for fraction, accuracies in ((0.5, (0.70, 0.72, 0.74)), (0.8, (0.76, 0.77, 0.78))):
        rows += [{"method": RANDOM, "family": RANDOM, "pruner": RANDOM, "scorer": None, "fraction": fraction, "kept": int(100 * fraction),
                  "seed": s, "accuracy": a, "flipped_kept": 0.2} for s, a in enumerate(accuracies)]
        rows.append({"method": "top_k(aum)", "family": "top_k", "pruner": "top_k", "scorer": "aum", "fraction": fraction,
                     "kept": int(100 * fraction), "seed": 0, "accuracy": 0.75 if fraction == 0.5 else 0.775,
                     "flipped_kept": 0.05})
    return rows


def test_markdown_marks_methods_above_the_random_band():
    text = markdown_report(_rows(), title="T")
    assert "| method | 50% | 80% |" in text and "full data (100 rows): **80.0%**" in text
    assert "| random | 72.0 ± 2.0 | 77.0 ± 1.0 |" in text
    assert "| top_k(aum) | **75.0** | 77.5 |" in text, "bold only above every random seed"
    assert "Share of kept rows whose label was flipped" in text and "| top_k(aum) | 5.0 | 5.0 |" in text


def test_results_are_written_as_parquet_markdown_and_png(tmp_path):
    paths = write_results(_rows(), tmp_path / "out", title="T")
    table = pq.read_table(paths.parquet)
    assert table.num_rows == len(_rows()) and table.column("accuracy").to_pylist()[0] == 0.8
    assert paths.markdown.read_text().startswith("## T")
    assert paths.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths.plot.stat().st_size > 5000
