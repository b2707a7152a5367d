"""Streaming: export, the report's sample and the stored fingerprints hold a shard or a batch, not the dataset.

Memory is read as the peak of a fresh Arrow memory pool (every Arrow buffer a take or an IPC read
allocates) and of ``tracemalloc`` (Python objects, numpy arrays), around one call on a dataset
several times larger than the cap.
"""

from __future__ import annotations

import contextlib
import tracemalloc

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import Dataset, load_from_disk

import dprune.stages.export as export
from dprune.core.base import take_rows
from dprune.pruners import RangesPruner, TopKPruner
from dprune.stages.embeddings import stored_text_fingerprint, text_fingerprint
from dprune.core.fingerprint import dataset_fingerprint, parts_fingerprint
from dprune.stages.report import selection_table_of
from dprune.stages.selection import prune_stage
from dprune.store import ArtifactStore

ROWS, TEXT_BYTES, SHARD_ROWS = 4000, 2000, 500  # 8 MB of text in 8 shards of 1 MB
CAP = 3 << 20  # bytes: three shards' worth, well under the 8 MB of text
POOLS: list[pa.MemoryPool] = []  # buffers made in a measured block may outlive it: so must their pool


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A stored dataset of 8 shards, a scores artifact and a selection keeping every other row."""
    store = ArtifactStore(str(tmp_path_factory.mktemp("streaming") / "store"))
    rng = np.random.default_rng(0)
    letters = rng.integers(97, 123, size=(ROWS, TEXT_BYTES), dtype=np.uint8)
    texts = [row.tobytes().decode() for row in letters]
    dataset = store.write_table("dataset", "d" * 32, pa.table({"row_id": np.arange(ROWS), "text": texts}),
                                config={}, shard_rows=SHARD_ROWS)
    values = np.arange(ROWS, dtype=np.float64) % 2
    scores = store.write_table("scores", "s" * 32, pa.table({"row_id": np.arange(ROWS), "score": values}),
                               config={}, shard_rows=SHARD_ROWS)
    selection = prune_stage(store, dataset, [scores], RangesPruner(ranges={"score": (None, 0.5)}))
    return store, dataset, scores, selection, texts


@contextlib.contextmanager
def measured():
    """Yield a dict that receives the Arrow and Python peaks (bytes) of the block."""
    pool, previous = pa.proxy_memory_pool(pa.system_memory_pool()), pa.default_memory_pool()
    POOLS.append(pool)
    pa.set_memory_pool(pool)
    tracemalloc.start()
    peaks: dict[str, int] = {}
    try:
        yield peaks
    finally:
        peaks["python"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        pa.set_memory_pool(previous)
        peaks["arrow"] = pool.max_memory()


def test_export_streams_under_a_cap_smaller_than_the_dataset(corpus, tmp_path, monkeypatch):
    store, dataset, scores, selection, texts = corpus
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 250)
    export.export_stage(store, dataset, [scores], selection, tmp_path / "warm")  # imports and caches first
    with measured() as peaks:
        export.export_stage(store, dataset, [scores], selection, tmp_path / "out")
    assert peaks["arrow"] < CAP and peaks["python"] < CAP, peaks
    kept = np.arange(0, ROWS, 2)
    table = pq.read_table(tmp_path / "out" / "pruned.parquet")
    assert table.column("row_id").to_pylist() == kept.tolist()
    assert table.column("text").to_pylist() == [texts[i] for i in kept]
    assert table.column("score").to_pylist() == [0.0] * len(kept)
    saved = load_from_disk(str(tmp_path / "out" / "pruned_dataset"))
    assert saved.data.table.equals(table.replace_schema_metadata(saved.data.table.schema.metadata))
    assert pq.ParquetFile(tmp_path / "out" / "pruned.parquet").num_row_groups == len(kept) // 250


def test_export_keeps_a_ranking_pruners_order(corpus, tmp_path):
    store, dataset, scores, _, texts = corpus
    selection = prune_stage(store, dataset, [scores], TopKPruner(k=7, score_column="score"))
    export.export_stage(store, dataset, [scores], selection, tmp_path / "out")
    positions = store.read_table(selection).column("position").to_pylist()
    table = pq.read_table(tmp_path / "out" / "pruned.parquet")
    assert table.column("text").to_pylist() == [texts[i] for i in positions]
    assert load_from_disk(str(tmp_path / "out" / "pruned_dataset"))["row_id"] == positions


def test_the_reports_sample_reads_only_its_rows(corpus):
    store, _, _, selection, texts = corpus
    table = selection_table_of(store, selection)
    rows = np.array([3999, 0, 1700, 1700, 42])
    with measured() as peaks:
        part = take_rows(table, rows)
    assert part.column("text").to_pylist() == [texts[i] for i in rows]
    assert peaks["arrow"] < 1 << 20, peaks  # the five rows, not a copy of the 8 MB column
    assert take_rows(table, []).num_rows == 0
    with pytest.raises(IndexError):
        take_rows(table, [ROWS])


def test_store_take_reads_shard_by_shard(corpus):
    store, dataset, _, _, texts = corpus
    rows = np.array([10, 3999, 501, 10])
    with measured() as peaks:
        part = store.take(dataset, rows, columns=["text"])
    assert part.column_names == ["text"] and part.column("text").to_pylist() == [texts[i] for i in rows]
    assert peaks["arrow"] < CAP, peaks


def test_store_take_opens_only_the_shards_holding_the_rows(corpus, monkeypatch):
    store, dataset, _, _, texts = corpus
    opened = []
    from_file = Dataset.from_file
    monkeypatch.setattr(Dataset, "from_file", lambda path, **kw: opened.append(path) or from_file(path, **kw))
    rows = np.array([3999, 10, 12])
    assert store.take(dataset, rows, columns=["text"]).column("text").to_pylist() == [texts[i] for i in rows]
    assert len(opened) == 2  # shards 0 and 7 of 8
    assert store.take(dataset, np.zeros(0, dtype=np.int64)).num_rows == 0 and len(opened) == 3
    with pytest.raises(IndexError, match=r"must lie in \[0, 4000\)"):
        store.take(dataset, [4000])


def test_stored_text_fingerprint_is_the_whole_columns_hash_streamed_once(corpus, monkeypatch):
    store, dataset, _, _, _ = corpus
    whole = store.read(dataset)
    assert stored_text_fingerprint(store, dataset, "text") == text_fingerprint(whole, "text")
    monkeypatch.setattr(store, "read_shards", None)  # known now: a shard task does not read the column again
    assert stored_text_fingerprint(store, dataset, "text") == text_fingerprint(whole, "text")
    monkeypatch.undo()
    assert stored_text_fingerprint(store, dataset, "text", rename=False) == \
        dataset_fingerprint(whole.select_columns(["text"]))
    table = pa.table({"x": np.arange(20_000)})
    parts = [table.slice(0, 1), table.slice(1, 9000), table.slice(9001, 0), table.slice(9001, 10_999)]
    assert parts_fingerprint(table.schema, parts) == dataset_fingerprint(table)
