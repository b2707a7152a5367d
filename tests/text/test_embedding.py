"""TextEmbedder and the embeddings artifact, with the real bundled all-MiniLM-L6-v2."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pytest
import torch
from datasets import Dataset

from dprune.stages.embeddings import EMBEDDINGS, embed_stage, embedding_key, read_embeddings, text_fingerprint
from dprune.vectors.arrays import embeddings_to_table, table_to_embeddings
from dprune.text.embedding import TextEmbedder, embed_texts, load_encoder
from dprune.models import resolve_model_name
from dprune.core.params import InvalidParameterError
from dprune.store import ArtifactStore

TEXTS = [
    "A great movie with a moving story.",
    "Waste of time.",
    "Amazing performances all around, and a score that lingers long after the credits roll.",
    "So predictable and dull.",
    "",
    "A warm, funny and clever film that never talks down to its audience or its characters.",
    "Meh.",
    "The worst script of the year, by a distance, and the acting does not help.",
    "Beautifully shot.",
    "Boring characters and flat jokes.",
]


@pytest.fixture(scope="module")
def encoder():
    return load_encoder()


def _reference(model, tokenizer, text: str, pooling: str = "mean", normalize: bool = True, max_length: int = 256):
    """One text, no padding, straight through the model: the unbatched reference."""
    enc = tokenizer([text], truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state[0]
    if pooling == "cls":
        vec = hidden[0]
    elif pooling == "max":
        vec = hidden.max(dim=0).values
    else:
        vec = hidden.mean(dim=0)
    if normalize:
        vec = torch.nn.functional.normalize(vec, dim=0)
    return vec.numpy()


def test_default_settings_follow_the_sentence_transformers_config():
    embedder = TextEmbedder()
    assert embedder.settings() == {"pooling": "mean", "normalize": True, "max_length": 256, "precision": "float32"}
    assert embedder.dimension == 384


@pytest.mark.parametrize("options", [{}, {"pooling": "cls", "max_length": 64}, {"tokenizer": "all-MiniLM-L6-v2"}])
def test_cache_identity_of_a_model_folder_needs_no_weights(options):
    """Settings and identity of a model in a local folder come from its files; loading it changes neither."""
    light = TextEmbedder(**options)
    described = (light.settings(), light.identity())
    assert light._resolved is None, "the weights must not be loaded to compute a cache key"
    loaded = TextEmbedder(**options)
    loaded.embed(["one text"])
    assert (loaded.settings(), loaded.identity()) == described
    with pytest.raises(ValueError, match="max_length"):
        TextEmbedder(max_length=4096).settings()


@pytest.mark.parametrize("pooling,normalize", [("mean", True), ("cls", False), ("max", False)])
def test_batched_equals_unbatched_reference_in_input_order(encoder, pooling, normalize):
    model, tokenizer = encoder
    vectors = TextEmbedder(pooling=pooling, normalize=normalize, batch_size=3).embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    reference = np.stack([_reference(model, tokenizer, t, pooling, normalize) for t in TEXTS])
    np.testing.assert_allclose(vectors, reference, atol=1e-4)
    if normalize:
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_order_is_restored_for_any_permutation():
    embedder = TextEmbedder(batch_size=4)
    base = embedder.embed(TEXTS)
    perm = np.random.default_rng(0).permutation(len(TEXTS))
    shuffled = embedder.embed([TEXTS[i] for i in perm])
    np.testing.assert_allclose(shuffled, base[perm], atol=1e-5)


def test_matches_sentence_transformers_encode():
    st = pytest.importorskip("sentence_transformers")
    model = st.SentenceTransformer(resolve_model_name("all-MiniLM-L6-v2"), device="cpu")
    expected = model.encode(TEXTS, batch_size=4)
    np.testing.assert_allclose(embed_texts(TEXTS, batch_size=5), expected, atol=1e-5)


def test_model_and_tokenizer_are_not_mutated(encoder):
    from transformers import AutoModel, AutoTokenizer

    path = resolve_model_name("all-MiniLM-L6-v2")
    model, tokenizer = AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    model.train()
    model.encoder.layer[0].eval()  # a mixed state must come back exactly
    modes = [m.training for m in model.modules()]
    params = {name: (p, p.detach().clone()) for name, p in model.named_parameters()}
    backend = tokenizer.backend_tokenizer
    truncation, padding = backend.truncation, backend.padding
    vectors = TextEmbedder(model, tokenizer, device="cpu").embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert [m.training for m in model.modules()] == modes
    for name, p in model.named_parameters():
        original, value = params[name]
        assert p is original and p.device.type == "cpu" and torch.equal(p.detach(), value), name
        assert p.requires_grad
    assert backend.truncation == truncation and backend.padding == padding
    # eval mode is used for the call: dropout is off, so the model in train mode gives the same vectors
    np.testing.assert_allclose(vectors, TextEmbedder().embed(TEXTS), atol=1e-5)


def test_model_with_a_task_head_uses_its_base_model(encoder):
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging

    logging.set_verbosity_error()
    path = resolve_model_name("all-MiniLM-L6-v2")
    head_model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    vectors = TextEmbedder(head_model, encoder[1], pooling="cls", normalize=False).embed(TEXTS[:3])
    expected = TextEmbedder(encoder[0], encoder[1], pooling="cls", normalize=False).embed(TEXTS[:3])
    np.testing.assert_allclose(vectors, expected, atol=1e-5)


def test_model_given_by_name_or_object_without_tokenizer(encoder):
    by_name = TextEmbedder("sentence-transformers/all-MiniLM-L6-v2").embed(TEXTS[:2])
    by_object = TextEmbedder(encoder[0]).embed(TEXTS[:2])  # tokenizer found from the model's folder
    np.testing.assert_allclose(by_name, by_object, atol=1e-6)


def test_bfloat16_fast_mode_is_close_to_exact():
    exact = TextEmbedder().embed(TEXTS)
    fast = TextEmbedder(precision="bfloat16").embed(TEXTS)
    assert TextEmbedder(precision="bfloat16").settings()["precision"] == "bfloat16"
    assert float(np.mean(np.sum(exact * fast, axis=1))) >= 0.99


def test_truncation_to_max_length(encoder):
    long_text = "word " * 400
    short = TextEmbedder(max_length=8).embed([long_text])
    np.testing.assert_allclose(short[0], _reference(*encoder, long_text, max_length=8), atol=1e-4)


def test_bad_texts_are_named():
    embedder = TextEmbedder()
    with pytest.raises(ValueError, match=r"None.*\[1, 3\]"):
        embedder.embed(["ok", None, "fine", None])
    with pytest.raises(ValueError, match=r"\[11, 13\]"):
        embedder.embed(["ok", None, "fine", None], offset=10)
    with pytest.raises(TypeError, match="strings"):
        embedder.embed(["ok", 3])
    empty = embedder.embed(["", "   "])
    assert np.isfinite(empty).all() and np.allclose(np.linalg.norm(empty, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_bad_parameters_are_named():
    with pytest.raises(InvalidParameterError, match="'pooling' parameter of TextEmbedder"):
        TextEmbedder(pooling="last")
    with pytest.raises(InvalidParameterError, match="'batch_size' parameter"):
        TextEmbedder(batch_size=0)
    with pytest.raises(InvalidParameterError, match="'precision' parameter"):
        TextEmbedder(precision="int4")


def test_pickle_drops_the_loaded_model():
    embedder = TextEmbedder(batch_size=7)
    embedder.embed(["warm up"])
    restored = pickle.loads(pickle.dumps(embedder))
    assert restored._resolved is None and restored.batch_size == 7
    np.testing.assert_allclose(restored.embed(["warm up"]), embedder.embed(["warm up"]), atol=1e-6)


def test_identity_tracks_weights_not_objects(encoder):
    import copy

    by_name = TextEmbedder().identity()
    assert by_name["model"].startswith("sha256:")
    model = copy.deepcopy(encoder[0])
    first = TextEmbedder(model, encoder[1]).identity()
    assert first == TextEmbedder(copy.deepcopy(model), encoder[1]).identity()
    with torch.no_grad():
        model.pooler.dense.bias.add_(1.0)
    assert TextEmbedder(model, encoder[1]).identity()["model"] != first["model"]


# ---------------------------------------------------------------- artifact
def _dataset(n: int = 23) -> Dataset:
    texts = [f"review number {i}: " + TEXTS[i % len(TEXTS)] for i in range(n)]
    return Dataset.from_dict({"row_id": list(range(n)), "text": texts})


def test_embed_stage_round_trip_and_cache(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    ds = _dataset()
    computed = []
    ref = embed_stage(store, dataset=ds, shard_rows=10, on_shard=lambda i, a, b: computed.append(i))
    assert ref.stage == EMBEDDINGS.name and computed == [0, 1, 2]
    vectors = read_embeddings(store, ref)
    np.testing.assert_allclose(vectors, embed_texts(ds["text"]), atol=1e-5)
    manifest = store.manifest(ref)
    assert manifest["meta"]["dim"] == 384 and manifest["num_rows"] == len(ds)
    assert manifest["config"]["pooling"] == "mean" and manifest["config"]["normalize"] is True

    again = embed_stage(store, dataset=ds, shard_rows=10, on_shard=lambda i, a, b: computed.append(i))
    assert again == ref and computed == [0, 1, 2]
    fresh = TextEmbedder()
    assert embed_stage(store, dataset=ds, shard_rows=10, embedder=fresh) == ref
    assert embed_stage(store, dataset=ds, shard_rows=10, embedder=fresh, shards=[0]) == ref  # stored: returned as is
    assert fresh._resolved is None, "a stored artifact is found without loading the model"
    # the column name is not part of the key: only the texts are
    renamed = ds.rename_column("text", "review")
    assert embed_stage(store, dataset=renamed, text_column="review", shard_rows=10) == ref
    assert text_fingerprint(renamed, "review") == text_fingerprint(ds, "text")


def test_key_moves_with_every_setting(tmp_path):
    fp = "f" * 64
    keys = {
        embedding_key(TextEmbedder(), fingerprint=fp)[0],
        embedding_key(TextEmbedder(pooling="cls"), fingerprint=fp)[0],
        embedding_key(TextEmbedder(normalize=False), fingerprint=fp)[0],
        embedding_key(TextEmbedder(max_length=32), fingerprint=fp)[0],
        embedding_key(TextEmbedder(precision="bfloat16"), fingerprint=fp)[0],
        embedding_key(TextEmbedder(), fingerprint=fp, dtype="float16")[0],
        embedding_key(TextEmbedder(), fingerprint="e" * 64)[0],
    }
    assert len(keys) == 7
    # batch size and device do not change the vectors, so they do not change the key
    assert embedding_key(TextEmbedder(batch_size=3, device="cpu"), fingerprint=fp)[0] == embedding_key(
        TextEmbedder(), fingerprint=fp)[0]


def test_float16_storage(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    ds = _dataset(5)
    ref = embed_stage(store, dataset=ds, dtype="float16")
    assert store.read_table(ref).schema.field("embedding").type == pa.list_(pa.float16(), 384)
    np.testing.assert_allclose(read_embeddings(store, ref), embed_texts(ds["text"]), atol=2e-3)


def test_resume_computes_only_missing_shards(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    ds = _dataset()

    class Killed(Exception):
        pass

    def die_after_second(i, start, stop):
        if i == 1:
            raise Killed

    with pytest.raises(Killed):
        embed_stage(store, dataset=ds, shard_rows=5, on_shard=die_after_second)
    computed = []
    ref = embed_stage(store, dataset=ds, shard_rows=5, on_shard=lambda i, a, b: computed.append(i))
    assert computed == [2, 3, 4]
    np.testing.assert_allclose(read_embeddings(store, ref), embed_texts(ds["text"]), atol=1e-5)


def test_none_text_is_named_with_its_row(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    ds = Dataset.from_dict({"text": ["a", "b", "c", None, "e", "f"]})
    with pytest.raises(ValueError, match=r"row position\(s\) \[3\]"):
        embed_stage(store, dataset=ds, shard_rows=2)


@pytest.mark.slow
def test_resume_after_the_process_is_killed(tmp_path):
    """A subprocess is SIGKILLed after committing two shards; the rerun computes only the rest."""
    root = str(tmp_path / "store")
    script = textwrap.dedent(
        f"""
        import os, signal
        from datasets import Dataset
        from dprune.stages.embeddings import embed_stage
        from dprune.store import ArtifactStore

        texts = [f"text {{i}} about a movie" for i in range(40)]
        def on_shard(i, start, stop):
            print("committed", i, flush=True)
            if i == 1:
                os.kill(os.getpid(), signal.SIGKILL)
        embed_stage(ArtifactStore({root!r}), dataset=Dataset.from_dict({{"text": texts}}), shard_rows=8, on_shard=on_shard)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert proc.stdout.split() == ["committed", "0", "committed", "1"]
    store = ArtifactStore(root)
    texts = [f"text {i} about a movie" for i in range(40)]
    computed = []
    ref = embed_stage(store, dataset=Dataset.from_dict({"text": texts}), shard_rows=8,
                         on_shard=lambda i, a, b: computed.append(i))
    assert computed == [2, 3, 4]
    np.testing.assert_allclose(read_embeddings(store, ref), embed_texts(texts), atol=1e-5)


# ---------------------------------------------------------------- vector columns
def test_table_to_embeddings_checks_shapes():
    good = Dataset.from_dict({"v": [[1.0, 2.0], [3.0, 4.0]]})
    np.testing.assert_array_equal(table_to_embeddings(good, "v"), [[1, 2], [3, 4]])
    fixed = embeddings_to_table(np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal(table_to_embeddings(fixed, "embedding"), np.eye(3))
    with pytest.raises(ValueError, match=r"different lengths.*\[1\]"):
        table_to_embeddings(Dataset.from_dict({"v": [[1.0, 2.0], [3.0]]}), "v")
    with pytest.raises(ValueError, match="list of numbers"):
        table_to_embeddings(Dataset.from_dict({"v": [1.0, 2.0]}), "v")
    with pytest.raises(ValueError, match=r"missing vectors.*\[1\]"):
        table_to_embeddings(Dataset.from_dict({"v": [[1.0], None]}), "v")
    with pytest.raises(ValueError, match="2-D"):
        embeddings_to_table(np.zeros(3))


def test_max_length_beyond_the_model_is_a_clear_error():
    with pytest.raises(ValueError, match="'max_length' parameter of TextEmbedder is 1000.*512"):
        TextEmbedder(max_length=1000).embed(["x"])


def test_embed_stage_follows_the_index_mapping_and_handles_empty(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    ds = _dataset(12).shuffle(seed=3).select(range(9))
    ref = embed_stage(store, dataset=ds, shard_rows=4)
    np.testing.assert_allclose(read_embeddings(store, ref), embed_texts(list(ds["text"])), atol=1e-5)
    empty = embed_stage(store, dataset=ds.select([]))
    assert read_embeddings(store, empty).shape == (0, 384)
