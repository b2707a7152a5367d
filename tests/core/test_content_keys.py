"""Cache keys follow content: files rewritten in place, models replaced at one path, callables."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from dprune.core.base import callable_fingerprint, describe_value
from dprune.core.fingerprint import local_file_sha256
from dprune.data import load_dataset
from dprune.scorers.cross_entropy import CrossEntropyScorer
from dprune.scorers.perplexity import PerplexityScorer


def _rewrite_keeping_mtime(path, data: bytes) -> None:
    st = os.stat(path)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # like cp -p, rsync -a, tar


def test_file_hash_follows_a_rewrite_that_keeps_size_and_mtime(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"first model")
    first = local_file_sha256(path)
    assert local_file_sha256(path) == first  # cached
    _rewrite_keeping_mtime(path, b"other model")  # same size, same mtime
    assert local_file_sha256(path) != first


def test_loader_reads_a_file_rewritten_with_its_old_mtime(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\nhello,1\nworld,0\n")
    assert load_dataset(str(path))["text"] == ["hello", "world"]
    _rewrite_keeping_mtime(path, b"text,label\nHELLO,1\nWORLD,0\n")
    assert load_dataset(str(path))["text"] == ["HELLO", "WORLD"]


def test_perplexity_key_follows_the_model_file(tmp_path):
    model = tmp_path / "lm.bin"
    model.write_bytes(b"model A" * 10)
    before = PerplexityScorer(model_path=str(model)).config()
    _rewrite_keeping_mtime(model, b"model B" * 10)
    after = PerplexityScorer(model_path=str(model)).config()
    assert before != after and before["params"] == after["params"]


def test_cross_entropy_key_follows_a_model_folder(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights v1")
    before = CrossEntropyScorer(model=str(folder)).config()
    (folder / "model.safetensors").write_bytes(b"weights v2")
    assert CrossEntropyScorer(model=str(folder)).config() != before


def _make_scaler(factor):
    return lambda x: x * factor


def test_callables_are_keyed_by_code_and_closure():
    first, second = (lambda x: x + 1), (lambda x: x + 2)
    assert callable_fingerprint(first) != callable_fingerprint(second)  # same module, same qualname
    assert callable_fingerprint(_make_scaler(2)) == callable_fingerprint(_make_scaler(2))
    assert callable_fingerprint(_make_scaler(2)) != callable_fingerprint(_make_scaler(3))
    assert callable_fingerprint(_make_scaler(np.arange(3))) != callable_fingerprint(_make_scaler(np.arange(4)))
    assert callable_fingerprint(np.log) == callable_fingerprint(np.log) is not None


def test_a_callable_that_cannot_be_fingerprinted_is_not_cached_and_warns_once():
    class Opaque:
        pass

    opaque = Opaque()

    def uses(x):
        return (x, opaque)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        one, two = describe_value(uses), describe_value(uses)
    assert one != two  # a fresh key each time: never served from the cache
    assert len(caught) == 1 and "cache_key" in str(caught[0].message)
    uses.cache_key = "v1"
    assert describe_value(uses) == describe_value(uses) == {"callable": f"{__name__}.{uses.__qualname__}",
                                                            "cache_key": "v1"}


def test_recursive_closure_is_fingerprinted():
    def outer():
        def fact(n):
            return 1 if n < 2 else n * fact(n - 1)
        return fact

    assert callable_fingerprint(outer()) == callable_fingerprint(outer()) is not None


@pytest.mark.parametrize("value", [len, print])
def test_builtins_are_identified_by_name(value):
    assert callable_fingerprint(value) is not None


def test_large_file_hash_is_kept_across_processes_and_follows_a_rewrite(tmp_path, monkeypatch):
    from dprune.core import fingerprint

    monkeypatch.setenv("DPRUNE_TOOLS_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "weights.bin"
    path.write_bytes(b"a" * fingerprint.PERSISTED_HASH_BYTES)
    first = local_file_sha256(path)
    records = list((tmp_path / "cache" / "hashes").glob("*.json"))
    assert len(records) == 1
    monkeypatch.setattr(fingerprint, "_LOCAL_HASHES", {})  # as in a new process
    monkeypatch.setattr(fingerprint.hashlib, "sha256", _refuse_hashing_files(fingerprint.hashlib.sha256))
    assert local_file_sha256(path) == first  # from the record, without reading the file
    monkeypatch.undo()
    monkeypatch.setenv("DPRUNE_TOOLS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fingerprint, "_LOCAL_HASHES", {})
    _rewrite_keeping_mtime(path, b"b" * fingerprint.PERSISTED_HASH_BYTES)  # same size and mtime
    assert local_file_sha256(path) != first


def _refuse_hashing_files(sha256):
    def guarded(data=b""):
        if data == b"":  # the file hash starts empty and reads chunks; keys of paths pass data
            raise AssertionError("the file was read again")
        return sha256(data)
    return guarded
