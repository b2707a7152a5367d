"""Canonical configs, store keys and content fingerprints."""

from __future__ import annotations

import hashlib
import pathlib
import subprocess
import sys

import datasets
import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dprune.core.fingerprint import (
    KEY_LENGTH,
    canonical_json,
    compute_key,
    dataset_fingerprint,
    directory_fingerprint,
    file_fingerprint,
    hash_bytes,
    hash_text,
)
from dprune.store import ArtifactRef

BASE_CONFIG = {"model": "all-MiniLM-L6-v2", "pooling": "mean", "max_length": 128, "k": 0.5,
               "normalize": True, "seed": None, "layers": [1, 2]}


# --------------------------------------------------------------------------- canonical_json
def test_canonical_json_is_sorted_and_compact():
    a = canonical_json({"b": 1, "a": {"d": [1, 2], "c": "x"}})
    b = canonical_json({"a": {"c": "x", "d": (1, 2)}, "b": 1})
    assert a == b == '{"a":{"c":"x","d":[1,2]},"b":1}'


def test_canonical_json_keeps_int_and_float_apart():
    assert canonical_json({"k": 1}) != canonical_json({"k": 1.0})
    assert canonical_json(1.0) == "1.0" and canonical_json(1) == "1"
    assert canonical_json(True) != canonical_json(1)
    assert canonical_json(np.int64(3)) == "3" and canonical_json(np.float32(0.5)) == "0.5"
    assert canonical_json(np.bool_(True)) == "true"


def test_canonical_json_paths_and_non_finite():
    assert canonical_json(pathlib.Path("/a/b")) == '"/a/b"'
    nan, inf = canonical_json(float("nan")), canonical_json(float("inf"))
    assert nan != inf and nan != canonical_json("nan")


@pytest.mark.parametrize("value,path", [
    ({"model": {"tok": object()}}, "model.tok"),
    ({"layers": [1, {2}]}, r"layers\[1\]"),
    ({"x": b"bytes"}, "x"),
    ({1: "int key"}, "<root>"),
])
def test_canonical_json_names_the_offending_key(value, path):
    with pytest.raises(TypeError, match=path):
        canonical_json(value)


# --------------------------------------------------------------------------- hashes and keys
def test_hashes_are_sha256():
    assert hash_bytes(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_text("abc") == hash_bytes(b"abc")
    assert hash_text("abc", 32) == hash_bytes(b"abc")[:32]
    with pytest.raises(TypeError):
        hash_text(b"abc")


def test_key_is_stable_across_processes():
    key = compute_key("embed", 1, BASE_CONFIG, parents=["data/abc"], inputs=["fp"])
    assert len(key) == KEY_LENGTH and int(key, 16) >= 0
    code = ("from dprune.core.fingerprint import compute_key; import sys; "
            f"sys.stdout.write(compute_key('embed', 1, {BASE_CONFIG!r}, parents=['data/abc'], inputs=['fp']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": ""}, cwd=str(pathlib.Path(__file__).parents[2]))
    assert out.stdout == key
    # A golden value: a change here silently invalidates every user's cache, so it must be deliberate.
    assert compute_key("embed", 1, {"k": 1}) == "f5c1ba7768d6133456e578f14ef74b3e"


@pytest.mark.parametrize("name", sorted(BASE_CONFIG))
def test_key_is_sensitive_to_every_config_value(name):
    base = compute_key("embed", 1, BASE_CONFIG)
    changed = dict(BASE_CONFIG)
    value = changed[name]
    changed[name] = {str: value + "x" if isinstance(value, str) else value, bool: not value, int: 129,
                     float: 0.25, type(None): 0, list: [2, 1]}[type(value)]
    assert compute_key("embed", 1, changed) != base
    dropped = {k: v for k, v in BASE_CONFIG.items() if k != name}
    assert compute_key("embed", 1, dropped) != base


def test_key_is_sensitive_to_stage_version_parents_and_inputs():
    base = compute_key("embed", 1, {"k": 1}, parents=["a/1", "b/2"], inputs=["x"])
    assert compute_key("cluster", 1, {"k": 1}, parents=["a/1", "b/2"], inputs=["x"]) != base
    assert compute_key("embed", 2, {"k": 1}, parents=["a/1", "b/2"], inputs=["x"]) != base
    assert compute_key("embed", "1", {"k": 1}, parents=["a/1", "b/2"], inputs=["x"]) != base
    assert compute_key("embed", 1, {"k": 1.0}, parents=["a/1", "b/2"], inputs=["x"]) != base
    assert compute_key("embed", 1, {"k": 1}, parents=["b/2", "a/1"], inputs=["x"]) != base
    assert compute_key("embed", 1, {"k": 1}, parents=["a/1", "b/2"], inputs=["y"]) != base
    assert compute_key("embed", 1, {"k": 1}, parents=["a/1", "b/2"]) != base
    assert compute_key("embed", 1, {"k": 1}, parents=["a/1", "b/2"], inputs=("x",)) == base


def test_key_accepts_refs_as_parents():
    ref = ArtifactRef("/somewhere", "a", "1")
    assert compute_key("s", 1, {}, parents=[ref]) == compute_key("s", 1, {}, parents=["a/1"])
    with pytest.raises(TypeError, match="parents"):
        compute_key("s", 1, {}, parents="a/1")
    with pytest.raises(TypeError, match=r"parents\[0\]"):
        compute_key("s", 1, {}, parents=[3])
    with pytest.raises(TypeError, match="version"):
        compute_key("s", True, {})


# --------------------------------------------------------------------------- dataset fingerprints
def _table(n: int = 50) -> pa.Table:
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "text": pa.array([f"row {i}" if i % 5 else None for i in range(n)]),
        "x": pa.array(np.linspace(0, 1, n)),
        "tags": pa.array([[i] * (i % 3) for i in range(n)], pa.list_(pa.int16())),
    })


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=20_000), min_size=1, max_size=6))
def test_fingerprint_is_independent_of_chunking(cuts):
    table = pa.table({"x": np.arange(20_000, dtype=np.float64), "s": [str(i % 97) for i in range(20_000)]})
    batches, start = [], 0
    for cut in sorted(set(cuts)) + [20_000]:
        if cut > start:
            batches.append(table.slice(start, cut - start))
            start = cut
    rechunked = pa.concat_tables(batches)
    assert rechunked.column("x").num_chunks == len(batches)
    assert dataset_fingerprint(rechunked) == dataset_fingerprint(table)


def test_every_cell_matters():
    table = _table(12)
    seen = {dataset_fingerprint(table)}
    change = {"id": lambda v: v + 1000, "text": lambda v: (v or "") + "!", "x": lambda v: v + 0.5,
              "tags": lambda v: v + [7]}
    for c, name in enumerate(table.column_names):
        for row in range(table.num_rows):
            for new in (change[name], lambda v: None):
                values = table.column(c).to_pylist()
                if new(values[row]) == values[row]:
                    continue
                values[row] = new(values[row])
                fp = dataset_fingerprint(table.set_column(c, name, pa.array(values, table.schema.field(c).type)))
                assert fp not in seen, (name, row, values[row])
                seen.add(fp)
    assert len(seen) > 12 * 4


def test_schema_and_order_matter_but_metadata_does_not():
    table = _table()
    base = dataset_fingerprint(table)
    assert dataset_fingerprint(table.rename_columns(["id", "text", "y", "tags"])) != base
    assert dataset_fingerprint(table.select(["text", "id", "x", "tags"])) != base
    assert dataset_fingerprint(table.cast(table.schema.set(0, pa.field("id", pa.int32())))) != base
    assert dataset_fingerprint(table.slice(0, 49)) != base
    assert dataset_fingerprint(table.take([1, 0] + list(range(2, 50)))) != base
    assert dataset_fingerprint(table.replace_schema_metadata({"a": "b"})) == base
    assert dataset_fingerprint(table.to_batches()[0]) == base
    assert dataset_fingerprint(table.slice(0, 0)) != dataset_fingerprint(table.select(["id"]).slice(0, 0))


def test_values_under_null_slots_are_ignored():
    validity = pa.py_buffer(np.packbits([1, 0, 1, 0], bitorder="little").tobytes())
    zeros = pa.py_buffer(np.array([1, 0, 3, 0], dtype=np.int64).tobytes())
    garbage = pa.py_buffer(np.array([1, 77, 3, -5], dtype=np.int64).tobytes())
    a = pa.Array.from_buffers(pa.int64(), 4, [validity, zeros], null_count=2)
    b = pa.Array.from_buffers(pa.int64(), 4, [validity, garbage], null_count=2)
    assert a.equals(b)
    assert dataset_fingerprint(pa.table({"v": a})) == dataset_fingerprint(pa.table({"v": b}))
    assert dataset_fingerprint(pa.table({"v": a})) != dataset_fingerprint(pa.table({"v": [1, 0, 3, 0]}))


def test_parquet_round_trip_keeps_the_fingerprint(tmp_path):
    table = pa.table({
        "b": pa.array([None if i % 5 == 0 else i % 3 == 0 for i in range(1000)]),
        "t": pa.array([None if i % 4 == 0 else i for i in range(1000)], pa.timestamp("ms")),
        "s": pa.array([None if i % 6 == 0 else str(i) for i in range(1000)]),
    })
    pq.write_table(table, tmp_path / "t.parquet")
    assert dataset_fingerprint(pq.read_table(tmp_path / "t.parquet")) == dataset_fingerprint(table)


def test_dataset_fingerprint_respects_indices_mapping():
    table = pa.table({"a": list(range(100)), "b": [str(i) for i in range(100)]})
    ds = datasets.Dataset(table)
    assert dataset_fingerprint(ds) == dataset_fingerprint(table)
    picked = [57, 3, 3, 99, 10]
    sel = ds.select(picked)
    assert dataset_fingerprint(sel) == dataset_fingerprint(table.take(picked))
    assert dataset_fingerprint(sel) != dataset_fingerprint(ds.select([57, 3, 99, 10]))
    shuffled = ds.shuffle(seed=0)
    assert dataset_fingerprint(shuffled) != dataset_fingerprint(ds)
    assert dataset_fingerprint(shuffled) == dataset_fingerprint(shuffled.flatten_indices())


def test_fingerprint_golden_value():
    # Fingerprints hash Arrow IPC messages. If a pyarrow upgrade changes them, every cached
    # dataset key moves (a one-off cache miss, never a wrong hit): bump the version and the
    # value in the same commit, deliberately.
    table = pa.table({"a": pa.array([1, 2, None], pa.int64()), "s": ["x", None, "z"]})
    assert dataset_fingerprint(table) == "96952ea8c9c068d15d3868e0070f365f13fd4a4738dbd1c5b94dc6719cda5127"


def test_fingerprint_rejects_other_types():
    with pytest.raises(TypeError, match="pyarrow.Table"):
        dataset_fingerprint([1, 2, 3])


# --------------------------------------------------------------------------- files
def test_file_fingerprint_local_and_memory(tmp_path):
    data = np.random.default_rng(0).bytes(300_000)
    (tmp_path / "w.bin").write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert file_fingerprint(tmp_path / "w.bin") == expected
    fs = fsspec.filesystem("memory")
    fs.pipe("/fp-test/w.bin", data)
    try:
        assert file_fingerprint("memory://fp-test/w.bin") == expected
        assert file_fingerprint(("memory://fp-test/w.bin", {})) == expected
    finally:
        fs.rm("/fp-test", recursive=True)
    with pytest.raises(FileNotFoundError):
        file_fingerprint(tmp_path / "missing.bin")


def test_directory_fingerprint_tracks_content_and_names(tmp_path):
    d = tmp_path / "model"
    (d / "sub").mkdir(parents=True)
    (d / "config.json").write_text("{}")
    (d / "sub" / "weights.bin").write_bytes(b"\x00" * 10)
    base = directory_fingerprint(d)
    assert directory_fingerprint(str(d) + "/") == base
    (d / "sub" / "weights.bin").write_bytes(b"\x00" * 9 + b"\x01")
    edited = directory_fingerprint(d)
    assert edited != base
    (d / "sub" / "weights.bin").rename(d / "sub" / "weights2.bin")
    assert directory_fingerprint(d) not in {base, edited}
    with pytest.raises(FileNotFoundError):
        directory_fingerprint(tmp_path / "nope")
