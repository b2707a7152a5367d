"""Training reference models with real lmplz/build_binary, store artifacts, and model loading errors."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import fsspec
import kenlm
import pyarrow.parquet as pq
import pytest
from datasets import Dataset

from dprune.lm.tools import KenLMToolsNotFoundError
from dprune.lm.training import (
    KenLMModelError,
    check_kenlm_file,
    corpus_fingerprint,
    kenlm_config,
    load_kenlm_model,
    train_kenlm_model,
)
from dprune.stages.kenlm import KENLM, kenlm_stage, model_path
from dprune.store import ArtifactStore
from dprune.text.normalization import TextNormalizer

BUNDLED = Path(__file__).resolve().parents[2] / "dprune" / "examples" / "rotten_tomatoes" / "train.parquet"
SMALL = {"memory": "32M", "vocab_estimate": 5000}


@pytest.fixture(scope="module")
def reviews() -> list[str]:
    return pq.read_table(BUNDLED, columns=["text"]).column("text").to_pylist()[:3000]


@pytest.fixture(scope="module")
def corpus(reviews) -> Dataset:
    return Dataset.from_dict({"text": reviews, "label": [i % 2 for i in range(len(reviews))]})


def test_train_from_dataset_column(kenlm_tools, corpus, tmp_path):
    out = tmp_path / "sub" / "ref.bin"
    lm = train_kenlm_model(corpus, out, order=3, **SMALL)
    assert lm.path == str(out.resolve()) and check_kenlm_file(out) == "binary"
    assert sorted(lm.ngram_counts) == [1, 2, 3] and all(v > 0 for v in lm.ngram_counts.values())
    assert lm.num_lines == len(corpus)
    assert lm.config == kenlm_config(order=3)
    model = kenlm.Model(str(out))
    assert model.order == 3
    normalize = TextNormalizer()
    assert model.perplexity(normalize("a great movie .")) < model.perplexity(normalize("movie . great a"))


def test_files_globs_compression_and_urls_give_the_same_model(kenlm_tools, corpus, reviews, tmp_path):
    from_dataset = train_kenlm_model(corpus, tmp_path / "a.bin", order=3, **SMALL)
    half = len(reviews) // 2
    (tmp_path / "txt").mkdir()
    (tmp_path / "txt" / "part-0.txt").write_text("\n".join(reviews[:half]) + "\n", encoding="utf-8")
    with gzip.open(tmp_path / "txt" / "part-1.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(reviews[half:]) + "\n")
    from_glob = train_kenlm_model(str(tmp_path / "txt" / "part-*"), tmp_path / "b.bin", order=3, **SMALL)
    memory = fsspec.filesystem("memory")
    memory.pipe("/dprune-test/corpus.txt", ("\n".join(reviews) + "\n").encode())
    from_url = train_kenlm_model("memory://dprune-test/corpus.txt", tmp_path / "c.bin", order=3, **SMALL)
    assert from_dataset.ngram_counts == from_glob.ngram_counts == from_url.ngram_counts
    sentence = TextNormalizer()("A moving and funny story.")
    scores = {kenlm.Model(p.path).score(sentence) for p in (from_dataset, from_glob, from_url)}
    assert len(scores) == 1
    # File corpora are identified by their bytes (stable across calls).
    assert corpus_fingerprint(str(tmp_path / "txt" / "part-*")) == from_glob.corpus_fingerprint


def test_rows_are_split_into_lines_and_blank_lines_skipped(kenlm_tools, tmp_path):
    rows = ["first line of one\n\nsecond line of one", None, "  ", "third line here"] * 50
    lm = train_kenlm_model(Dataset.from_dict({"text": rows}), tmp_path / "m.bin", order=2,
                           discount_fallback=True, **SMALL)
    assert lm.num_lines == 3 * 50


def test_pruning_drops_rare_ngrams(kenlm_tools, corpus, tmp_path):
    full = train_kenlm_model(corpus, tmp_path / "full.bin", order=4, **SMALL)
    pruned = train_kenlm_model(corpus, tmp_path / "pruned.bin", order=4, prune=(0, 0, 1), **SMALL)
    assert pruned.ngram_counts[1] == full.ngram_counts[1]
    assert pruned.ngram_counts[3] < full.ngram_counts[3] / 2
    assert pruned.config["prune"] == [0, 0, 1, 1]
    assert os.path.getsize(pruned.path) < os.path.getsize(full.path)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"prune": (1, 1)}, ValueError, "cannot prune unigrams"),
        ({"prune": (0, 2, 1)}, ValueError, "non-decreasing"),
        ({"prune": (0, 0, 0, 0)}, ValueError, "1 to order=3"),
        ({"prune": (0, -1)}, ValueError, "ints >= 0"),
        ({"prune": "001"}, TypeError, "sequence of ints"),
        ({"order": 7}, ValueError, r"'order' parameter must be an int in \[2, 6\]"),
        ({"order": 1}, ValueError, "at least bigrams"),
        ({"binary_type": "hash"}, ValueError, "'binary_type'"),
        ({"memory": "lots"}, ValueError, "'memory'"),
        ({"normalizer": "shouty"}, ValueError, "Known presets"),
    ],
)
def test_bad_settings_are_named(corpus, tmp_path, kwargs, error, match):
    settings = {"order": 3, **kwargs}
    with pytest.raises(error, match=match):
        train_kenlm_model(corpus, tmp_path / "x.bin", **settings)


def test_bad_corpora_are_explained(kenlm_tools, corpus, tmp_path):
    with pytest.raises(TypeError, match="output_path"):
        train_kenlm_model(corpus)
    with pytest.raises(KeyError, match="no column 'body'"):
        train_kenlm_model(corpus, tmp_path / "x.bin", text_column="body")
    with pytest.raises(TypeError, match="must hold strings"):
        train_kenlm_model(corpus, tmp_path / "x.bin", text_column="label")
    with pytest.raises(FileNotFoundError, match="matches no file"):
        train_kenlm_model(str(tmp_path / "nothing-*.txt"), tmp_path / "x.bin")
    with pytest.raises(ValueError, match="no text"):
        train_kenlm_model(Dataset.from_dict({"text": ["", "   ", None]}), tmp_path / "x.bin", **SMALL)
    tiny = Dataset.from_dict({"text": ["the same line"] * 20})
    with pytest.raises(RuntimeError, match="discount_fallback=True"):
        train_kenlm_model(tiny, tmp_path / "x.bin", order=3, **SMALL)
    assert not (tmp_path / "x.bin").exists()


def test_missing_tools_error_names_the_build_command(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("DPRUNE_KENLM_BIN", str(tmp_path / "no-tools"))
    with pytest.raises(KenLMToolsNotFoundError, match="DPRUNE_KENLM_BIN"):
        train_kenlm_model(corpus, tmp_path / "x.bin", order=3, **SMALL)
    monkeypatch.delenv("DPRUNE_KENLM_BIN")
    monkeypatch.setenv("DPRUNE_TOOLS_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    with pytest.raises(KenLMToolsNotFoundError, match="python -m dprune.lm.tools build"):
        train_kenlm_model(corpus, tmp_path / "x.bin", order=3, **SMALL)


def test_trie_binary(kenlm_tools, corpus, tmp_path):
    lm = train_kenlm_model(corpus, tmp_path / "trie.bin", order=3, binary_type="trie", **SMALL)
    probing = train_kenlm_model(corpus, tmp_path / "probing.bin", order=3, **SMALL)
    sentence = "a funny , moving film ."
    assert kenlm.Model(lm.path).score(sentence) == pytest.approx(kenlm.Model(probing.path).score(sentence), abs=1e-4)


# ---------------------------------------------------------------- the kenlm stage
def test_kenlm_stage_round_trip_and_reuse(kenlm_tools, corpus, tmp_path, monkeypatch):
    store = ArtifactStore(tmp_path / "store")
    first = kenlm_stage(store, corpus=corpus, order=3, **SMALL)
    assert first.stage == KENLM.name and store.exists(first)
    path = model_path(store, first)
    assert check_kenlm_file(path) == "binary" and kenlm.Model(path).order == 3
    manifest = store.manifest(first)
    assert manifest["config"]["order"] == 3 and manifest["meta"]["num_lines"] == len(corpus)
    table = store.read(first)
    assert dict(zip(table["order"], table["ngrams"])) == {
        int(k): v for k, v in manifest["meta"]["ngram_counts"].items()}

    # Same corpus content and settings: reused without running lmplz at all.
    monkeypatch.setenv("DPRUNE_KENLM_BIN", str(tmp_path / "no-tools"))
    assert kenlm_stage(store, corpus=corpus.select_columns(["text"]), order=3, memory="1G") == first
    monkeypatch.delenv("DPRUNE_KENLM_BIN")

    # Any setting or corpus change is a different artifact.
    other_order = kenlm_stage(store, corpus=corpus, order=2, **SMALL)
    other_corpus = kenlm_stage(store, corpus=corpus.select(range(100, len(corpus))), order=3, **SMALL)
    other_norm = kenlm_stage(store, corpus=corpus, order=3, normalizer="ccnet", **SMALL)
    assert len({ref.key for ref in (first, other_order, other_corpus, other_norm)}) == 4

    # A deleted artifact is rebuilt, never returned stale.
    store.delete(first)
    rebuilt = kenlm_stage(store, corpus=corpus, order=3, **SMALL)
    assert rebuilt == first and store.exists(rebuilt)


def test_a_stored_dataset_trains_shard_by_shard_into_the_same_model(kenlm_tools, corpus, tmp_path):
    store = ArtifactStore(tmp_path / "store")
    dataset = store.write_table("dataset", "d" * 32, corpus, config={}, shard_rows=700)  # 5 shards
    ref = kenlm_stage(store, dataset, order=3, **SMALL)
    whole = train_kenlm_model(corpus, tmp_path / "whole.bin", order=3, **SMALL)
    manifest = store.manifest(ref)
    assert manifest["meta"]["corpus_fingerprint"] == whole.corpus_fingerprint == corpus_fingerprint(store.read(dataset))
    assert Path(model_path(store, ref)).read_bytes() == Path(whole.path).read_bytes()
    assert ref == kenlm_stage(store, corpus=store.read(dataset), order=3, **SMALL)  # same content, same key
    with pytest.raises(ValueError, match="fingerprint="):
        train_kenlm_model(store.read_shards(dataset), tmp_path / "x.bin", order=3, **SMALL)


# ---------------------------------------------------------------- loading errors
def test_load_errors_say_what_is_wrong(tiny_kenlm_model, tmp_path):
    assert load_kenlm_model(tiny_kenlm_model).order == 3
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_kenlm_model(tmp_path / "missing.bin")
    with pytest.raises(IsADirectoryError):
        load_kenlm_model(tmp_path)
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(KenLMModelError, match="empty"):
        load_kenlm_model(empty)
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\n")
    with pytest.raises(KenLMModelError, match="is not a KenLM model.*just some notes"):
        load_kenlm_model(text)
    truncated = tmp_path / "truncated.bin"
    data = Path(tiny_kenlm_model).read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(KenLMModelError, match="truncated or corrupt"):
        load_kenlm_model(truncated)
    incomplete = tmp_path / "incomplete.bin"
    incomplete.write_bytes(b"mmap lm http://kheafield.com/code incomplete\n" + b"\0" * 64)
    with pytest.raises(KenLMModelError, match="incomplete"):
        load_kenlm_model(incomplete)


def test_arpa_models_load_and_bad_arpa_is_reported(kenlm_tools, tmp_path):
    import subprocess

    arpa = tmp_path / "m.arpa"
    subprocess.run([str(kenlm_tools["lmplz"]), "-o", "2", "-S", "16M", "--vocab_estimate", "100",
                    "--discount_fallback", "-T", str(tmp_path), "--arpa", str(arpa)],
                   input=b"a b c\na b d\nb c d\n", check=True, capture_output=True)
    assert check_kenlm_file(arpa) == "arpa"
    assert load_kenlm_model(arpa).order == 2
    broken = tmp_path / "broken.arpa"
    shutil.copyfile(arpa, broken)
    broken.write_text(arpa.read_text().replace("\\2-grams:", "\\2-gramz:"))
    with pytest.raises(KenLMModelError, match="ARPA file but is malformed"):
        load_kenlm_model(broken)
