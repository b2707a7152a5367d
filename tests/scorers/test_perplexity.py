"""PerplexityScorer with a real KenLM model trained by lmplz on the bundled corpus."""

from __future__ import annotations

import glob
import os
import pickle
import random
import shutil
import signal
import string
import subprocess
import sys
import textwrap
from pathlib import Path

import kenlm
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import Dataset

from dprune.lm.training import KenLMModelError
from dprune.core.parallel import ShardReport, map_batches, map_shards, plan_shards
from dprune.core.params import InvalidParameterError
from dprune.core.registry import SCORERS
from dprune.scorers.perplexity import PerplexityScorer
from dprune.stages.perplexity import PERPLEXITY, perplexity_scores_stage
from dprune.store import ArtifactStore
from dprune.text.normalization import NORMALIZER_PRESETS, TextNormalizer

EXAMPLES = Path(__file__).resolve().parents[2] / "dprune" / "examples" / "rotten_tomatoes"


@pytest.fixture(scope="module")
def model(tiny_kenlm_model) -> str:
    return tiny_kenlm_model


@pytest.fixture(scope="module")
def held_out() -> list[str]:
    """Test-split reviews: in-domain for the model (trained on the train split) but unseen."""
    return pq.read_table(EXAMPLES / "test.parquet", columns=["text"]).column("text").to_pylist()


@pytest.fixture(scope="module")
def reviews(held_out) -> Dataset:
    return Dataset.from_dict({"text": held_out[:600], "row_id": list(range(600))})


# ---------------------------------------------------------------- quality
def test_in_domain_beats_shuffled_words_and_random_characters(model, held_out):
    scorer = PerplexityScorer(model)
    rng = random.Random(0)
    sentences = [t for t in held_out if len(t.split()) >= 8][:300]
    shuffled = []
    for text in sentences:
        words = text.split()
        rng.shuffle(words)
        shuffled.append(" ".join(words))
    noise = ["".join(rng.choice(string.ascii_lowercase + "     ") for _ in range(len(t))) for t in sentences]
    real, mixed, garbage = (scorer.score_texts(x) for x in (sentences, shuffled, noise))
    assert np.mean(real < mixed) > 0.9
    assert np.mean(real < garbage) > 0.97
    assert np.median(real) * 2 < np.median(mixed) < np.median(garbage)
    one = scorer.score_texts(["A great movie with a moving story.", "story moving a with movie great A.",
                              "xq zvbk ptr lqw mmoz wq"])
    assert one[0] < one[1] < one[2]


# ---------------------------------------------------------------- formulas
def test_kenlm_formula_matches_kenlm_perplexity(model, held_out):
    lm = kenlm.Model(model)
    normalize = TextNormalizer()
    texts = held_out[:200]
    got = PerplexityScorer(model, formula="kenlm").score_texts(texts)
    np.testing.assert_allclose(got, [lm.perplexity(normalize(t)) for t in texts], rtol=1e-10)
    # One line per text: the CCNet formula is the same number.
    np.testing.assert_allclose(PerplexityScorer(model).score_texts(texts), got, rtol=1e-10)


def test_original_formula_reproduces_the_original_scorer(model, held_out):
    lm = kenlm.Model(model)
    texts = held_out[:100] + ["two\nlines  here "]

    def original(text):  # the original dPrune PerplexityScorer._calculate_perplexity
        normalized = " ".join(text.strip().split())
        return 10 ** (-lm.score(normalized) / len(normalized.split()))

    got = PerplexityScorer(model, text_normalizer="whitespace", formula="original").score_texts(texts)
    np.testing.assert_allclose(got, [original(t) for t in texts], rtol=1e-10)


def test_ccnet_formula_pools_lines(model):
    lm = kenlm.Model(model)
    normalize = TextNormalizer()
    doc = "A fine film.\n\n  \nThe ACTING is great , the plot weak!\nSee it."
    lines = [normalize(line) for line in doc.split("\n")]
    lines = [line for line in lines if line]
    expected = 10 ** (-sum(lm.score(line) for line in lines) / sum(len(line.split()) + 1 for line in lines))
    got = PerplexityScorer(model).score_texts([doc, "single line", doc])
    assert got[0] == pytest.approx(expected, rel=1e-10) and got[2] == got[0]
    assert got[1] == pytest.approx(lm.perplexity("single line"), rel=1e-10)
    # The whole-text formulas see one long sentence instead.
    whole = PerplexityScorer(model, formula="kenlm").score_texts([doc])[0]
    assert whole == pytest.approx(lm.perplexity(normalize(doc)), rel=1e-10) and whole != got[0]


@pytest.mark.parametrize("formula", ["ccnet", "kenlm", "original"])
def test_empty_text_is_infinite(model, formula):
    got = PerplexityScorer(model, formula=formula).score_texts(["", "   ", "\n\n\t", "\x00", "a film"])
    assert np.isinf(got[:4]).all() and np.isfinite(got[4])


def test_custom_callable_normalizer(model):
    lm = kenlm.Model(model)
    got = PerplexityScorer(model, text_normalizer=lambda t: t.lower().replace("!", " ! ")).score_texts(
        ["Wow!  What a FILM"])
    assert got[0] == pytest.approx(lm.perplexity("wow ! what a film"), rel=1e-10)


# ---------------------------------------------------------------- None, types, model errors
def test_none_values_are_named_by_position(model):
    ds = Dataset.from_dict({"text": ["a film", None, "fine", None, "ok"]})
    with pytest.raises(ValueError, match=r"2 None value\(s\), at row positions \[1, 3\].*none_policy='inf'"):
        PerplexityScorer(model).score(ds)
    # Positions are those of the rows actually scored (after select/shuffle).
    with pytest.raises(ValueError, match=r"at row positions \[0, 2\]"):
        PerplexityScorer(model).score(ds.select([3, 0, 1]))
    scores = np.asarray(PerplexityScorer(model, none_policy="inf").score(ds)["score"])
    assert np.isinf(scores[[1, 3]]).all() and np.isfinite(scores[[0, 2, 4]]).all()
    many = Dataset.from_dict({"text": [None] * 25 + ["x"]})
    with pytest.raises(ValueError, match=r"\(25 in total\)"):
        PerplexityScorer(model, num_proc=2, batch_size=4).score(many)


def test_text_column_must_hold_strings(model):
    ds = Dataset.from_dict({"text": [1, 2, 3]})
    with pytest.raises(TypeError, match="column 'text' has type int64"):
        PerplexityScorer(model).score(ds)
    with pytest.raises(KeyError, match="body"):
        PerplexityScorer(model, text_column="body").score(ds)


def test_model_problems_are_reported_at_score_time(model, tmp_path):
    ds = Dataset.from_dict({"text": ["a film"]})
    missing = PerplexityScorer(tmp_path / "missing.bin")  # constructing does no I/O
    with pytest.raises(FileNotFoundError, match="'model_path'.*does not exist"):
        missing.score(ds)
    notes = tmp_path / "notes.bin"
    notes.write_text("not a model")
    with pytest.raises(KenLMModelError, match="is not a KenLM model"):
        PerplexityScorer(notes).score(ds)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(Path(model).read_bytes()[:4096])
    with pytest.raises(KenLMModelError, match="truncated or corrupt"):
        PerplexityScorer(truncated).score(ds)


def test_bad_parameters_use_the_common_message(model):
    ds = Dataset.from_dict({"text": ["a film"]})
    for params, name in [({"batch_size": 0}, "batch_size"), ({"formula": "x"}, "formula"),
                         ({"none_policy": "skip"}, "none_policy"), ({"text_normalizer": 3}, "text_normalizer")]:
        with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of PerplexityScorer"):
            PerplexityScorer(model, **params).score(ds)


# ---------------------------------------------------------------- contract details
def test_registered_and_params_stored_unchanged(model):
    assert SCORERS.get("perplexity") is PerplexityScorer
    normalizer = TextNormalizer(punctuation="keep")
    scorer = PerplexityScorer(model, "body", normalizer, 7, formula="kenlm", num_proc=2, score_column="ppl")
    assert scorer.get_params() == {
        "model_path": model, "text_column": "body", "text_normalizer": normalizer, "batch_size": 7,
        "formula": "kenlm", "none_policy": "raise", "num_proc": 2, "score_column": "ppl",
    }
    assert scorer.config()["params"]["text_normalizer"] == normalizer.to_config()
    assert set(NORMALIZER_PRESETS) >= {"default", "ccnet", "whitespace"}


def test_pickles_without_the_model(model, reviews):
    scorer = PerplexityScorer(model)
    before = scorer.compute_scores(reviews)
    assert scorer._model is not None
    state = scorer.__getstate__()
    assert "_model" not in state
    blob = pickle.dumps(scorer)
    assert len(blob) < os.path.getsize(model) and len(blob) < 2000
    restored = pickle.loads(blob)
    assert getattr(restored, "_model", None) is None
    np.testing.assert_array_equal(restored.compute_scores(reviews), before)


def test_processes_and_batch_sizes_give_identical_scores(model, reviews):
    view = reviews.shuffle(seed=3).select(range(500))
    reference = PerplexityScorer(model).compute_scores(view)
    for params in ({"batch_size": 7}, {"batch_size": 64, "num_proc": 2}, {"batch_size": 10_000, "num_proc": 2}):
        np.testing.assert_array_equal(PerplexityScorer(model, **params).compute_scores(view), reference)
    # The rows of a selected view are the rows scored.
    np.testing.assert_array_equal(reference[:5], PerplexityScorer(model).score_texts(view["text"][:5]))


def test_spawned_workers_reload_the_model(model, reviews, monkeypatch):
    monkeypatch.setenv("DPRUNE_MP_START_METHOD", "spawn")
    small = reviews.select(range(60))
    got = PerplexityScorer(model, batch_size=20, num_proc=2).compute_scores(small)
    np.testing.assert_array_equal(got, PerplexityScorer(model).compute_scores(small))


def test_patch_and_vectorized_normalization_paths_agree(model, held_out, monkeypatch):
    from dprune.scorers import perplexity

    texts = held_out[:150] + ["Ünïcode “quotes” — here", "two\nlines", "", "already clean ."]
    lm = kenlm.Model(model)
    normalize = TextNormalizer()
    expected = [lm.perplexity(normalize(t)) if normalize(t) else np.inf for t in texts[:-3]]
    for limit in (0, 10_000):  # everything vectorized / everything patched in Python
        monkeypatch.setattr(perplexity, "_PATCH_MAX_ROWS", limit)
        got = PerplexityScorer(model, formula="kenlm").score_texts(texts)
        np.testing.assert_allclose(got[:-3], expected, rtol=1e-10)
        assert np.isinf(got[-2]) and got[-1] == pytest.approx(lm.perplexity("already clean ."), rel=1e-10)


def test_large_strings_and_chunked_columns(model, held_out):
    from datasets import concatenate_datasets

    texts = held_out[:30] + ["", "two\nlines"]
    reference = PerplexityScorer(model).score_texts(texts)
    large = Dataset(pa.table({"text": pa.array(texts, pa.large_string())}))
    np.testing.assert_array_equal(PerplexityScorer(model, batch_size=8).compute_scores(large), reference)
    parts = [Dataset.from_dict({"text": texts[i:i + 5]}) for i in range(0, len(texts), 5)]
    chunked = concatenate_datasets(parts)
    np.testing.assert_array_equal(PerplexityScorer(model, batch_size=12).compute_scores(chunked), reference)


def test_model_file_replaced_on_disk_is_reloaded(model, tmp_path):
    path = tmp_path / "m.bin"
    shutil.copyfile(model, path)
    scorer = PerplexityScorer(path)
    first = scorer.score_texts(["a film"])
    path.write_text("not a model any more")
    with pytest.raises(KenLMModelError):
        scorer.score_texts(["a film"])
    shutil.copyfile(model, path)
    np.testing.assert_array_equal(scorer.score_texts(["a film"]), first)


# ---------------------------------------------------------------- store: sharded, resumable
def score_into(store, dataset, scorer, **options):
    """The perplexity stage's artifact and the shards this call computed."""
    computed = []
    ref = perplexity_scores_stage(store, dataset, scorer, on_shard=lambda index, start, stop: computed.append(index),
                                  **options)
    return ref, computed


def test_perplexity_stage_round_trip_and_reuse(model, reviews, tmp_path):
    store = ArtifactStore(tmp_path / "store")
    scorer = PerplexityScorer(model, batch_size=64, score_column="ppl")
    ref, computed = score_into(store, reviews, scorer, shard_rows=250)
    assert ref.stage == PERPLEXITY.name and store.exists(ref)
    assert computed == [0, 1, 2]
    stored = store.read(ref)
    assert stored.column_names == ["ppl"] and len(stored) == len(reviews)
    np.testing.assert_array_equal(np.asarray(stored["ppl"]), scorer.compute_scores(reviews))
    manifest = store.manifest(ref)
    assert manifest["config"]["model_sha256"] and manifest["meta"]["num_rows"] == len(reviews)

    again = PerplexityScorer(model, batch_size=7, num_proc=2, score_column="ppl")  # speed knobs: same key
    assert score_into(store, reviews, again, shard_rows=250) == (ref, [])
    # The model is identified by content: a copy elsewhere gives the same artifact.
    copy = tmp_path / "copy.bin"
    shutil.copyfile(model, copy)
    assert score_into(store, reviews, PerplexityScorer(copy, score_column="ppl"), shard_rows=250)[0] == ref
    other, _ = score_into(store, reviews, PerplexityScorer(model, formula="kenlm", score_column="ppl"))
    assert other != ref


def test_empty_dataset_gives_an_empty_artifact(model, tmp_path):
    store = ArtifactStore(tmp_path / "store")
    ref, _ = score_into(store, Dataset.from_dict({"text": pa.array([], pa.string())}), PerplexityScorer(model))
    assert len(store.read(ref)) == 0


_CHILD = textwrap.dedent(
    """
    import sys, time
    import datasets
    from dprune.scorers.perplexity import PerplexityScorer
    from dprune.stages.perplexity import perplexity_scores_stage
    from dprune.store import ArtifactStore

    texts_path, model, root = sys.argv[1:4]
    datasets.disable_progress_bars()
    dataset = datasets.Dataset.from_parquet(texts_path)

    def progress(index, start, stop):
        print(f"committed {index}", flush=True)
        time.sleep(0.4)

    perplexity_scores_stage(ArtifactStore(root), dataset, PerplexityScorer(model, batch_size=50), shard_rows=100,
                            on_shard=progress)
    print("finished", flush=True)
    """
)


def test_resume_after_kill_recomputes_only_missing_shards(model, reviews, tmp_path):
    data = tmp_path / "texts.parquet"
    pq.write_table(reviews.data.table, data)
    child = tmp_path / "child.py"
    child.write_text(_CHILD)
    root = tmp_path / "store"
    process = subprocess.Popen([sys.executable, str(child), str(data), model, str(root)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in process.stdout:
            if line.startswith("committed"):
                seen.append(int(line.split()[1]))
            if len(seen) == 2:
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.kill()
        process.wait(timeout=60)
    assert seen == [0, 1], process.stderr.read()
    assert process.returncode == -signal.SIGKILL

    num_shards = len(plan_shards(len(reviews), 100))
    sidecars = glob.glob(str(root / PERPLEXITY.name / "*" / "_index" / "shard-*.json"))
    committed = sorted(int(Path(p).stem.split("-")[1]) for p in sidecars)
    assert 2 <= len(committed) < num_shards
    assert not glob.glob(str(root / PERPLEXITY.name / "*" / "manifest.json"))

    scorer = PerplexityScorer(model, batch_size=50)
    ref, rerun = score_into(ArtifactStore(root), Dataset.from_parquet(str(data)), scorer, shard_rows=100)
    missing = [i for i in range(num_shards) if i not in committed]
    assert [i for i in range(num_shards) if i not in rerun] == committed
    assert rerun == missing
    np.testing.assert_array_equal(np.asarray(ArtifactStore(root).read(ref)["score"]),
                                  PerplexityScorer(model).compute_scores(reviews))


# ---------------------------------------------------------------- the shared batch-map helpers
def _double(table: pa.Table, start: int) -> np.ndarray:
    return np.asarray(table.column("x"), dtype=np.float64) * 2 + 0 * start


def _two_columns(table: pa.Table, start: int) -> dict:
    return {"pos": np.arange(start, start + table.num_rows), "x": table.column("x")}


def _fail_on_second_batch(table: pa.Table, start: int) -> np.ndarray:
    if start > 0:
        raise ValueError(f"bad rows from {start}")
    return np.zeros(table.num_rows)


class _MemoryWriter:
    def __init__(self, done=()):
        self.shards = {i: None for i in done}

    def missing_shards(self, n):
        return [i for i in range(n) if i not in self.shards]

    def write_shard(self, i, table):
        self.shards[i] = table


@pytest.mark.parametrize("num_proc", [1, 2])
def test_map_batches_orders_results(num_proc):
    table = pa.table({"x": np.arange(103, dtype=np.float64)})
    np.testing.assert_array_equal(map_batches(_double, table, batch_size=10, num_proc=num_proc), np.arange(103) * 2.0)
    out = map_batches(_two_columns, Dataset(table), columns=["x"], batch_size=25, num_proc=num_proc)
    assert out.column("pos").to_pylist() == list(range(103))
    with pytest.raises(ValueError, match="bad rows from 10"):
        map_batches(_fail_on_second_batch, table, batch_size=10, num_proc=num_proc)
    assert map_batches(_double, table.slice(0, 0), batch_size=10).shape == (0,)


def test_map_shards_skips_committed_shards():
    table = pa.table({"x": np.arange(95, dtype=np.float64)})
    writer = _MemoryWriter(done=(1,))
    report = map_shards(_double, table, writer, shard_size=30, batch_size=7, num_proc=2, output_name="y")
    assert report == ShardReport(num_shards=4, computed=[0, 2, 3], skipped=[1])
    assert writer.shards[3].column("y").to_pylist() == list(np.arange(90, 95) * 2.0)
    assert writer.shards[0].num_rows == 30 and writer.shards[1] is None
    with pytest.raises(ValueError, match="shard_size"):
        plan_shards(10, 0)


def _map_in_daemon(queue) -> None:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = map_batches(_double, pa.table({"x": np.arange(10.0)}), batch_size=3, num_proc=2)
    queue.put((out.tolist(), [str(w.message) for w in caught]))


def test_daemonic_workers_fall_back_to_one_process():
    import multiprocessing

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=_map_in_daemon, args=(queue,), daemon=True)
    worker.start()
    values, messages = queue.get(timeout=60)
    worker.join(timeout=60)
    assert values == list(np.arange(10.0) * 2)
    assert any("num_proc=2 ignored: this is a daemonic worker process" in m for m in messages)
