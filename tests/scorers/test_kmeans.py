"""KMeansCentroidDistanceScorer with the bundled all-MiniLM-L6-v2."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from dprune import PruningPipeline
from dprune.text.embedding import TextEmbedder, load_encoder
from dprune.scorers.kmeans import KMeansCentroidDistanceScorer

TEXTS = [
    "A great movie!", "Waste of time.", "Amazing.", "So predictable.",
    "A warm and clever film.", "The worst script of the year.", "Beautifully shot.", "Boring and flat.",
]


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_dict({"row_id": list(range(len(TEXTS))), "text": TEXTS, "label": [1, 0, 1, 0, 1, 0, 1, 0]})


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return TextEmbedder().embed(TEXTS)


def test_readme_quick_start_works_without_a_model():
    from dprune.pruners import BottomKPruner

    raw = Dataset.from_dict({"text": ["A great movie!", "Waste of time.", "Amazing.", "So predictable."]})
    scorer = KMeansCentroidDistanceScorer(text_column="text", num_clusters=2)
    pruned = PruningPipeline(scorer=scorer, pruner=BottomKPruner(k=0.5)).run(raw)
    assert len(pruned) == 2 and len(raw) == 4 and "score" not in raw.column_names


def test_original_positional_constructor_with_objects(dataset):
    model, tokenizer = load_encoder()
    scorer = KMeansCentroidDistanceScorer(model, tokenizer, "text", 2, 8)
    assert scorer.get_params()["batch_size"] == 8
    scored = scorer.score(dataset)
    assert len(scored["score"]) == len(dataset) and np.all(np.asarray(scored["score"]) >= 0)


def test_scores_are_distances_to_own_centroid(dataset, vectors):
    scorer = KMeansCentroidDistanceScorer(num_clusters=3, seed=1)
    scores = np.asarray(scorer.score(dataset)["score"])
    expected = np.linalg.norm(vectors - scorer.centroids_[scorer.cluster_ids_], axis=1)
    np.testing.assert_allclose(scores, expected, atol=1e-4)
    assert scorer.cluster_ids_.shape == (len(dataset),) and scorer.centroids_.shape == (3, 384)


def test_precomputed_embeddings_give_the_same_scores(dataset, vectors, tmp_path):
    from dprune.stages.embeddings import embed_stage
    from dprune.store import ArtifactStore

    from_text = np.asarray(KMeansCentroidDistanceScorer(num_clusters=2).score(dataset)["score"])
    with_column = dataset.add_column("emb", vectors.tolist())
    scorer = KMeansCentroidDistanceScorer(num_clusters=2, embeddings_column="emb")
    assert scorer.required_columns() == ["emb"]
    np.testing.assert_allclose(scorer.score(with_column)["score"], from_text, atol=1e-4)
    array_scores = KMeansCentroidDistanceScorer(num_clusters=2, embeddings=vectors).score(dataset)["score"]
    np.testing.assert_allclose(array_scores, from_text, atol=1e-4)
    ref = embed_stage(ArtifactStore(str(tmp_path / "store")), dataset=dataset)
    ref_scores = KMeansCentroidDistanceScorer(num_clusters=2, embeddings=ref).score(dataset)["score"]
    np.testing.assert_allclose(ref_scores, from_text, atol=1e-4)


def test_cosine_metric(dataset):
    scores = np.asarray(KMeansCentroidDistanceScorer(num_clusters=2, metric="cosine").score(dataset)["score"])
    assert scores.min() >= 0 and scores.max() <= 2


def test_too_many_clusters_is_a_clear_error(dataset):
    with pytest.raises(ValueError, match=r"'num_clusters' parameter of KMeansCentroidDistanceScorer is 9.*only 8"):
        KMeansCentroidDistanceScorer(num_clusters=9).score(dataset)


def test_bad_vectors_are_named(dataset, vectors):
    ragged = dataset.add_column("emb", [v.tolist() for v in vectors[:-1]] + [[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"'emb'.*different lengths.*\[7\]"):
        KMeansCentroidDistanceScorer(num_clusters=2, embeddings_column="emb").score(ragged)
    with pytest.raises(ValueError, match="7 rows but the dataset has 8"):
        KMeansCentroidDistanceScorer(num_clusters=2, embeddings=vectors[:7]).score(dataset)
    with pytest.raises(KeyError, match="missing_column"):
        KMeansCentroidDistanceScorer(num_clusters=2, embeddings_column="missing_column").score(dataset)


def test_none_texts_are_named_and_empty_strings_work():
    ds = Dataset.from_dict({"text": ["good", None, "bad", "", None]})
    with pytest.raises(ValueError, match=r"None.*\[1, 4\]"):
        KMeansCentroidDistanceScorer(num_clusters=2).score(ds)
    ok = Dataset.from_dict({"text": ["good", "", "bad", ""]})
    assert np.isfinite(KMeansCentroidDistanceScorer(num_clusters=2).score(ok)["score"]).all()


def test_config_carries_the_default_model_identity():
    config = KMeansCentroidDistanceScorer(num_clusters=2).config()
    assert config["model_identity"].startswith("sha256:")
    named = KMeansCentroidDistanceScorer("all-MiniLM-L6-v2", num_clusters=2).config()
    assert named["model_identity"] == config["model_identity"]
    assert "model_identity" not in KMeansCentroidDistanceScorer(embeddings_column="e").config()
