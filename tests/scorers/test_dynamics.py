"""Scorers derived from training dynamics (dprune.scorers.dynamics) and the data-map pruner."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from dprune.dynamics.records import Dynamics, data_map_regions
from dprune.core.params import InvalidParameterError
from dprune.core.pipeline import PruningPipeline
from dprune.pruners.data_map import DataMapRegionPruner
from dprune.scorers.dynamics import (
    AUMScorer,
    DataMapConfidenceScorer,
    DataMapCorrectnessScorer,
    DataMapVariabilityScorer,
    EL2NScorer,
    ForgettingScorer,
    TrainingLossScorer,
    as_dynamics,
)
from dprune.store import ArtifactStore
from dprune.dynamics.probe import train_linear_probe


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 60
    labels = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 6)).astype(np.float32) + (labels[:, None] * 2 - 1)
    ds = Dataset.from_dict({"row_id": np.arange(500, 500 + n), "text": [f"t{i}" for i in range(n)], "label": labels})
    return ds, train_linear_probe(ds, x, epochs=4, batch_size=8, seeds=(0, 1), learning_rate=0.05)


REDUCTIONS = [
    (ForgettingScorer, lambda d: d.forgetting_events()),
    (AUMScorer, lambda d: d.mean("margin")),
    (EL2NScorer, lambda d: d.evaluation().mean("el2n", epochs=[1])),
    (DataMapConfidenceScorer, lambda d: d.mean("prob")),
    (DataMapVariabilityScorer, lambda d: d.std("prob")),
    (DataMapCorrectnessScorer, lambda d: d.mean("correct")),
    (TrainingLossScorer, lambda d: d.mean("loss")),
]


@pytest.mark.parametrize("cls, reduce", REDUCTIONS, ids=[c.__name__ for c, _ in REDUCTIONS])
def test_each_scorer_is_its_reduction_aligned_by_row_id(cls, reduce, data):
    ds, dyn = data
    expected = reduce(dyn)  # in sorted-id order == dataset order here
    np.testing.assert_allclose(cls(dyn).score(ds)["score"], expected)
    shuffled = ds.shuffle(seed=3)
    scores = np.asarray(cls(dyn).score(shuffled)["score"])
    np.testing.assert_allclose(scores, expected[np.asarray(shuffled["row_id"]) - 500])


def test_sources_table_path_ref_and_callback_like_give_the_same_scores(data, tmp_path):
    ds, dyn = data
    expected = AUMScorer(dyn).score(ds)["score"]
    path = dyn.save(tmp_path / "dyn.parquet")
    store = ArtifactStore(tmp_path / "store")
    ref = store.write_table("dynamics", "a" * 32, dyn.table, config={}, meta={"dynamics": dyn.meta})
    for source in (dyn.to_table(), path, str(path), ref):
        np.testing.assert_allclose(AUMScorer(source).score(ds)["score"], expected)
    assert as_dynamics(ref).meta == dyn.meta


def test_forgetting_scorer_original_rule(data):
    ds, dyn = data
    paper = np.asarray(ForgettingScorer(dyn).score(ds)["score"])
    original = np.asarray(ForgettingScorer(dyn, never_learned="zero").score(ds)["score"])
    never = dyn.never_learned()
    assert (paper[never == 1] > paper[never == 0].max()).all() if (never == 1).any() else True
    assert (original[never == 1] == 0).all()


def test_el2n_epoch_parameter(data):
    ds, dyn = data
    np.testing.assert_allclose(EL2NScorer(dyn, epoch=-1, mode="forward").score(ds)["score"],
                               dyn.mean("el2n", epochs=[3]))
    # in eval mode the epochs are those evaluated (here the default, epoch 1, only)
    np.testing.assert_allclose(EL2NScorer(dyn, epoch=-1).score(ds)["score"],
                               dyn.evaluation().mean("el2n", epochs=[1]))
    with pytest.raises(ValueError, match="epoch=3 was not recorded"):
        EL2NScorer(dyn, epoch=3).score(ds)
    with pytest.raises(ValueError, match="epoch=9 was not recorded"):
        EL2NScorer(dyn, epoch=9).score(ds)


def test_el2n_over_all_evaluated_epochs_is_the_mean_per_seed_then_over_seeds(data):
    ds, _ = data
    rng = np.random.default_rng(1)
    x = rng.normal(size=(len(ds), 6)).astype(np.float32) + (np.asarray(ds["label"])[:, None] * 2 - 1)
    dyn = train_linear_probe(ds, x, epochs=3, batch_size=8, seeds=(0, 1), learning_rate=0.05, eval_epochs=[0, 2])
    records = dyn.evaluation().table.to_pandas()
    assert sorted(set(records["epoch"])) == [0, 2]
    direct = records.groupby(["row_id", "seed"])["el2n"].mean().groupby("row_id").mean()
    scores = EL2NScorer(dyn, epoch="all").score(ds)["score"]
    np.testing.assert_allclose(scores, direct.loc[ds["row_id"]].to_numpy(), rtol=1e-6)
    assert not np.allclose(scores, EL2NScorer(dyn).score(ds)["score"])  # not just the second epoch
    with pytest.raises(InvalidParameterError, match="'epoch'"):
        EL2NScorer(dyn, epoch="last").score(ds)


def test_scores_for_rows_not_trained_on_are_an_error(data):
    ds, dyn = data
    other = Dataset.from_dict({"row_id": [500, 9999], "label": [ds[0]["label"], 0]})
    with pytest.raises(ValueError, match="no training record.*9999"):
        DataMapConfidenceScorer(dyn).score(other)


def test_bad_source_is_named(data):
    ds, _ = data
    with pytest.raises(InvalidParameterError, match="'dynamics' parameter of AUMScorer"):
        AUMScorer(42).score(ds)
    with pytest.raises(InvalidParameterError, match="'forgetting_callback' parameter of ForgettingScorer"):
        ForgettingScorer(None).score(ds)


def test_data_map_pruner_keeps_one_region(data):
    ds, dyn = data
    pipeline_scorers = [DataMapConfidenceScorer(dyn, score_column="confidence"),
                        DataMapVariabilityScorer(dyn, score_column="variability")]
    scored = ds
    for scorer in pipeline_scorers:
        scored = scorer.score(scored)
    confidence = np.asarray(scored["confidence"])
    variability = np.asarray(scored["variability"])
    for region, values, pick in (("ambiguous", variability, np.argmax), ("easy-to-learn", confidence, np.argmax),
                                 ("hard-to-learn", confidence, np.argmin)):
        kept = DataMapRegionPruner(region, k=20).prune(scored)
        assert len(kept) == 20
        kept_values = np.asarray(kept[{"ambiguous": "variability"}.get(region, "confidence")])
        dropped = np.delete(values, DataMapRegionPruner(region, k=20).fit_indices(scored))
        if region == "hard-to-learn":
            assert kept_values.max() <= dropped.min()
        else:
            assert kept_values.min() >= dropped.max()
        assert scored[int(pick(values))]["row_id"] in kept["row_id"]
    kept = PruningPipeline(pipeline_scorers, DataMapRegionPruner("ambiguous", k=0.33)).run(ds)
    assert len(kept) == 20
    labels = data_map_regions(confidence, variability)
    assert set(labels) <= {"easy-to-learn", "ambiguous", "hard-to-learn", "other"}
    assert (labels == "ambiguous").sum() == 20


def test_data_map_pruner_names_its_columns_and_params(data):
    ds, _ = data
    with pytest.raises(KeyError, match="variability"):
        DataMapRegionPruner("ambiguous").prune(ds)
    with pytest.raises(InvalidParameterError, match="'region' parameter of DataMapRegionPruner"):
        DataMapRegionPruner("noisy").prune(ds)


def test_dynamics_identity_drives_the_cache_key(data):
    ds, dyn = data
    other = Dynamics(dyn.table.slice(0, len(dyn) - 1), dyn.meta)
    assert AUMScorer(dyn).config() != AUMScorer(other).config()
    assert AUMScorer(dyn).config() == AUMScorer(Dynamics(dyn.records(), dyn.meta)).config()
    assert AUMScorer(dyn).config() != AUMScorer(Dynamics(dyn.table, dyn.meta)).config()  # evaluations count


def test_el2n_reads_the_end_of_epoch_evaluation_in_eval_mode_or_the_training_pass(data):
    ds, dyn = data
    evaluated = dyn.evaluation()
    assert evaluated is not None and evaluated.epochs == [1] and len(evaluated) == 2 * len(ds)
    assert len(dyn) == 2 * 4 * len(ds)  # the evaluations are kept apart from the training presentations
    paper = np.asarray(EL2NScorer(dyn).score(ds)["score"])
    forward = np.asarray(EL2NScorer(dyn, mode="forward").score(ds)["score"])
    np.testing.assert_allclose(forward, dyn.mean("el2n", epochs=[1]))
    assert not np.allclose(paper, forward)
    # the evaluation uses the weights at the end of the epoch: a direct computation agrees
    rows = evaluated.table.to_pandas()
    assert set(rows["step"]) == {2 * int(np.ceil(len(ds) / 8))}  # after the 2 epochs of 8 steps
    training_only = Dynamics(dyn.table, dict(dyn.meta))
    with pytest.raises(ValueError, match="mode='forward'"):
        EL2NScorer(training_only).score(ds)
    round_trip = Dynamics.from_table(dyn.to_table())
    np.testing.assert_allclose(EL2NScorer(round_trip).score(ds)["score"], paper)
