"""Trainers that produce dynamics (dprune.dynamics.probe, .finetune) and the resumable dynamics stage."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch
from datasets import Dataset, Value
from sklearn.metrics import roc_auc_score

from dprune.data.loading import load_dataset
from dprune.dynamics.records import Dynamics
from dprune.store import ArtifactStore
from dprune.dynamics.finetune import finetune_dynamics
from dprune.dynamics.probe import train_linear_probe
from dprune.stages.dynamics import DYNAMICS, dynamics_stage


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def blobs(n=400, dim=16, flip_fraction=0.1, seed=0):
    """Two well-separated Gaussian classes with a random ``flip_fraction`` of labels flipped."""
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, 2, n)
    x = rng.normal(size=(n, dim)).astype(np.float32) + 2.0 * (clean[:, None] * 2 - 1)
    flipped = np.zeros(n, dtype=bool)
    flipped[rng.choice(n, int(flip_fraction * n), replace=False)] = True
    labels = np.where(flipped, 1 - clean, clean)
    ds = Dataset.from_dict({"row_id": np.arange(1000, 1000 + n), "label": labels, "embedding": x.tolist()})
    return ds, x, flipped


def sort_table(table: pa.Table) -> pa.Table:
    return table.sort_by([(c, "ascending") for c in ("seed", "epoch", "step", "position")])


# ---------------------------------------------------------------- linear probe
def test_linear_probe_records_every_example_every_epoch_for_every_seed():
    ds, x, _ = blobs(n=50)
    dyn = train_linear_probe(ds, x, epochs=3, batch_size=8, seeds=(0, 5))
    table = dyn.table.to_pandas()
    assert len(table) == 50 * 3 * 2
    assert dyn.seeds == [0, 5] and dyn.epochs == [0, 1, 2]
    for _, group in table.groupby(["seed", "epoch"]):
        assert sorted(group.row_id) == list(range(1000, 1050))
    assert (np.asarray(ds["row_id"])[table.position] == table.row_id).all()
    assert (np.asarray(ds["label"])[table.position] == table.label).all()
    assert dyn.meta["source"] == "linear_probe" and dyn.meta["id_column"] == "row_id"
    assert dyn.meta["label_mapping"] == {"kind": "int", "values": [0, 1]}
    # every seed shuffles on its own
    first = table[(table.epoch == 0)].groupby("seed").position.apply(list)
    assert first[0] != first[5]


def test_linear_probe_is_deterministic_and_takes_a_column():
    ds, x, _ = blobs(n=40)
    a = train_linear_probe(ds, x, epochs=2, seeds=1)
    b = train_linear_probe(ds, "embedding", epochs=2, seeds=1)
    assert a.table.equals(b.table)
    c = train_linear_probe(ds, x, epochs=2, seeds=2)
    assert not a.table.equals(c.table.set_column(0, "seed", a.table["seed"]))
    mlp = train_linear_probe(ds, x, epochs=2, seeds=1, hidden_size=8)
    assert len(mlp) == len(a)


def test_linear_probe_finds_flipped_labels_on_separable_data():
    ds, x, flipped = blobs()
    dyn = train_linear_probe(ds, x, epochs=10, batch_size=16, learning_rate=1e-2)
    index = dyn.align(ds)
    assert roc_auc_score(flipped, -dyn.mean("margin")[index]) >= 0.95
    assert roc_auc_score(flipped, -dyn.mean("prob")[index]) >= 0.95
    assert roc_auc_score(flipped, dyn.forgetting_events()[index]) >= 0.9


def test_string_labels_are_mapped_and_recorded():
    ds, x, _ = blobs(n=30)
    names = np.array(["neg", "pos"])[np.asarray(ds["label"])]
    ds = ds.remove_columns("label").add_column("label", names.tolist())
    dyn = train_linear_probe(ds, x, epochs=1, seeds=0)
    assert dyn.label_mapping.values == ("neg", "pos")
    table = dyn.table.to_pandas()
    assert (names[table.position] == np.array(["neg", "pos"])[table.label]).all()
    assert len(dyn.align(ds)) == 30  # string labels checked through the recorded mapping


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda ds: ds.remove_columns("label"), KeyError, "label"),
        (lambda ds: ds.cast_column("label", Value("int64")).map(lambda r, i: {"label": None if i == 3 else r["label"]},
                                                                  with_indices=True), ValueError, "missing"),
        (lambda ds: ds.map(lambda r, i: {"label": -1 if i == 0 else r["label"]}, with_indices=True), ValueError,
         "unlabeled"),
        (lambda ds: ds.map(lambda r: {"label": 1}), ValueError, "single class"),
        (lambda ds: ds.select([]), ValueError, "empty"),
    ],
    ids=["no-label-column", "missing-label", "negative-label", "single-class", "empty"],
)
def test_bad_labels_are_clear_errors(change, error, match):
    ds, _, _ = blobs(n=20)
    broken = change(ds)
    with pytest.raises(error, match=match):
        train_linear_probe(broken, np.zeros((len(broken), 4), dtype=np.float32), epochs=1)


def test_bad_embeddings_and_settings_are_clear_errors():
    ds, x, _ = blobs(n=20)
    with pytest.raises(ValueError, match="10 rows but the dataset has 20"):
        train_linear_probe(ds, x[:10])
    with pytest.raises(ValueError, match="NaN"):
        train_linear_probe(ds, np.full_like(x, np.nan))
    with pytest.raises(KeyError, match="vectors"):
        train_linear_probe(ds, "vectors")
    with pytest.raises(ValueError, match="'epochs' parameter"):
        train_linear_probe(ds, x, epochs=0)
    with pytest.raises(ValueError, match="'seeds' parameter"):
        train_linear_probe(ds, x, seeds=[1, 1])
    duplicated = ds.map(lambda r: {"row_id": 7})
    with pytest.raises(ValueError, match="duplicate"):
        train_linear_probe(duplicated, x)


# ---------------------------------------------------------------- store stage (linear probe)
def test_dynamics_stage_stores_one_shard_per_seed_and_epoch(tmp_path):
    ds, x, _ = blobs(n=60)
    store = ArtifactStore(tmp_path / "store")
    dataset_ref = store.write_table("dataset", "d" * 32, ds, config={})
    ref = dynamics_stage(store, dataset_ref, embeddings="embedding", seeds=(0, 1), epochs=3)
    manifest = store.manifest(ref)
    assert ref.stage == DYNAMICS.name and len(manifest["shards"]) == 6
    stored = Dynamics.from_store(store, ref)
    direct = train_linear_probe(ds, x, epochs=3, seeds=(0, 1))
    assert sort_table(stored.table).equals(sort_table(direct.table))
    assert stored.meta["label_mapping"] == direct.meta["label_mapping"]
    # a second call finds the artifact and trains nothing
    assert dynamics_stage(store, dataset_ref, embeddings="embedding", seeds=(0, 1), epochs=3) == ref
    # any training setting is part of the key
    assert dynamics_stage(store, dataset_ref, embeddings="embedding", seeds=(0, 1), epochs=2) != ref


def test_dynamics_stage_resumes_after_a_kill(tmp_path, monkeypatch):
    ds, _, _ = blobs(n=60)
    store = ArtifactStore(tmp_path / "store")
    dataset_ref = store.write_table("dataset", "d" * 32, ds, config={})
    written = []
    original_open = store.open_writer

    def open_writer(*args, **kwargs):
        writer = original_open(*args, **kwargs)
        write_shard = writer.write_shard

        def counting(i, table):
            if len(written) == 3 and not killed[0]:
                killed[0] = True
                raise KeyboardInterrupt("simulated kill")
            written.append(i)
            return write_shard(i, table)

        writer.write_shard = counting
        return writer

    killed = [False]
    monkeypatch.setattr(store, "open_writer", open_writer)
    with pytest.raises(KeyboardInterrupt):
        dynamics_stage(store, dataset_ref, embeddings="embedding", seeds=(0, 1), epochs=3)
    assert written == [0, 1, 2]
    ref = dynamics_stage(store, dataset_ref, embeddings="embedding", seeds=(0, 1), epochs=3)
    assert written == [0, 1, 2, 3, 4, 5]  # only the missing shards were written
    clean = ArtifactStore(tmp_path / "clean")
    clean_ref = dynamics_stage(clean, clean.write_table("dataset", "d" * 32, ds, config={}), embeddings="embedding",
                               seeds=(0, 1), epochs=3)
    assert Dynamics.from_store(store, ref).table.equals(Dynamics.from_store(clean, clean_ref).table)


def test_dynamics_stage_bad_method(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises(ValueError, match="'method' parameter"):
        dynamics_stage(store, None, method="svm")


# ---------------------------------------------------------------- fine-tuning
@pytest.fixture(scope="module")
def small_reviews():
    return load_dataset("rotten_tomatoes", split="train").shuffle(seed=4).select(range(16))


def test_finetune_dynamics_records_every_example(small_reviews):
    dyn = finetune_dynamics(small_reviews, epochs=2, batch_size=8, max_length=24, seeds=(0,))
    table = dyn.table.to_pandas()
    assert len(table) == 32
    for _, group in table.groupby("epoch"):
        assert sorted(group.row_id) == sorted(small_reviews["row_id"])
    assert dyn.meta["source"] == "fine_tune"
    assert dyn.label_mapping.names == ["rotten", "fresh"]
    assert len(dyn.align(small_reviews)) == 16


def test_finetune_stage_resumes_from_its_last_checkpoint(small_reviews, tmp_path, monkeypatch):
    settings = dict(method="fine_tune", seeds=(0,), epochs=2, batch_size=8, max_length=24)
    clean = ArtifactStore(tmp_path / "clean")
    clean_ref = dynamics_stage(clean, clean.write_table("dataset", "d" * 32, small_reviews, config={}),
                               checkpoint_dir=tmp_path / "ckpt-clean", **settings)

    store = ArtifactStore(tmp_path / "store")
    dataset_ref = store.write_table("dataset", "d" * 32, small_reviews, config={})
    original_open = store.open_writer
    state = {"kill": True, "written": []}

    def open_writer(*args, **kwargs):
        writer = original_open(*args, **kwargs)
        write_shard = writer.write_shard

        def maybe_kill(i, table):
            if i == 1 and state["kill"]:  # killed at the end of epoch 1, after the epoch-0 checkpoint
                state["kill"] = False
                raise KeyboardInterrupt("simulated kill")
            state["written"].append(i)
            return write_shard(i, table)

        writer.write_shard = maybe_kill
        return writer

    monkeypatch.setattr(store, "open_writer", open_writer)
    checkpoints = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        dynamics_stage(store, dataset_ref, checkpoint_dir=checkpoints, **settings)
    assert state["written"] == [0]
    assert any(checkpoints.rglob("checkpoint-*"))
    ref = dynamics_stage(store, dataset_ref, checkpoint_dir=checkpoints, **settings)
    assert state["written"] == [0, 1]
    assert not any(checkpoints.rglob("checkpoint-*"))  # removed after the commit
    a = sort_table(Dynamics.from_store(store, ref).table)
    b = sort_table(Dynamics.from_store(clean, clean_ref).table)
    for column in ("seed", "epoch", "step", "position", "row_id", "label"):
        assert a[column].equals(b[column]), column
    np.testing.assert_allclose(a["loss"].to_numpy(), b["loss"].to_numpy(), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- quality on the bundled data
def _embed(texts, cache):
    path = cache / "rotten_tomatoes_train_minilm.npy"
    if path.exists():
        return np.load(path)
    try:
        from dprune.text.embedding import embed_texts
    except ImportError:  # pragma: no cover - embeddings module not available
        embed_texts = None
    if embed_texts is not None:
        vectors = np.asarray(embed_texts(texts), dtype=np.float32)
    else:  # pragma: no cover
        vectors = _mean_pooled_minilm(texts)
    np.save(path, vectors)
    return vectors


def _mean_pooled_minilm(texts):  # pragma: no cover - fallback only
    from transformers import AutoModel, AutoTokenizer

    from dprune.models import resolve_model_name

    path = resolve_model_name("all-MiniLM-L6-v2")
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), 128):
            batch = tokenizer(texts[start : start + 128], padding=True, truncation=True, max_length=128,
                              return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy())
    return np.concatenate(out)


@pytest.fixture(scope="session")
def bundled_embeddings(tmp_path_factory):
    """MiniLM embeddings of the bundled train split, computed once per session (a minute or
    two on 2 cores); set DPRUNE_TEST_EMBEDDINGS_CACHE to a folder to keep them across sessions."""
    ds = load_dataset("rotten_tomatoes", split="train")
    folder = os.environ.get("DPRUNE_TEST_EMBEDDINGS_CACHE")
    cache = Path(folder) if folder else tmp_path_factory.mktemp("embeddings")
    cache.mkdir(parents=True, exist_ok=True)
    return ds, _embed(list(ds["text"]), cache)


@pytest.mark.slow
def test_probe_dynamics_find_flipped_labels_in_the_bundled_data(bundled_embeddings):
    """Flip 10% of the labels; the probe's dynamics must rank the flipped rows first.

    The bar is what the features allow: a cross-validated logistic regression on the same
    embeddings ranks the flipped rows by its held-out gold-label probability; the dynamics
    scores must come within 0.02 AUROC of that, and clear 0.8.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    from dprune.scorers.dynamics import AUMScorer, DataMapConfidenceScorer, ForgettingScorer

    ds, embeddings = bundled_embeddings
    rng = np.random.default_rng(0)
    flipped = np.zeros(len(ds), dtype=bool)
    flipped[rng.choice(len(ds), len(ds) // 10, replace=False)] = True
    labels = np.asarray(ds["label"])
    noisy = ds.map(lambda r, i: {"label": 1 - r["label"] if flipped[i] else r["label"]}, with_indices=True)
    dynamics = train_linear_probe(noisy, embeddings)

    def scores(scorer):
        return np.asarray(scorer.score(noisy)["score"])

    aurocs = {
        "aum": roc_auc_score(flipped, -scores(AUMScorer(dynamics))),
        "forgetting": roc_auc_score(flipped, scores(ForgettingScorer(dynamics))),
        "confidence": roc_auc_score(flipped, -scores(DataMapConfidenceScorer(dynamics))),
    }
    noisy_labels = np.where(flipped, 1 - labels, labels)
    held_out = cross_val_predict(LogisticRegression(max_iter=2000), embeddings, noisy_labels, cv=5,
                                 method="predict_proba")
    ceiling = roc_auc_score(flipped, -held_out[np.arange(len(ds)), noisy_labels])
    print(f"AUROC flipped vs clean: {aurocs}; cross-validated logistic regression: {ceiling:.4f}")
    best = max(aurocs.values())
    assert best >= 0.8
    assert best >= ceiling - 0.02
