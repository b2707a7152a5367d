"""Output folders: written aside then renamed into place, one run at a time."""

from __future__ import annotations

import fcntl
import json

import pyarrow as pa
import pytest
from datasets import load_from_disk

from dprune.core.outputs import JOURNAL_NAME, LOCK_NAME, output_lock, output_transaction, publish, replace_path
from dprune.pruners import TopKPruner
from dprune.stages.export import export_stage
from dprune.stages.selection import prune_stage
from dprune.store import ArtifactStore


def test_replace_path_swaps_files_and_folders_whole(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "b.txt").write_text("new")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_text("stale")
    replace_path(tmp_path / "new", tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["b.txt"]  # no stale file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_output_lock_is_exclusive(tmp_path):
    with output_lock(tmp_path / "out"):
        with open(tmp_path / "out" / LOCK_NAME, "a") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(tmp_path / "out" / LOCK_NAME, "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released


def test_a_second_export_replaces_every_file_of_the_first(tmp_path):
    store = ArtifactStore(str(tmp_path / "store"))
    dataset = store.write_table("dataset", "d" * 32, pa.table({"row_id": list(range(6)), "text": list("abcdef")}),
                                config={})
    scores = store.write_table("scores", "s" * 32, pa.table({"row_id": list(range(6)), "score": [float(i) for i in range(6)]}),
                               config={})
    out = tmp_path / "out"
    for n in (5, 2):
        selection = prune_stage(store, dataset, [scores], TopKPruner(k=n, score_column="score"))
        export_stage(store, dataset, [scores], selection, out)
        assert len(load_from_disk(str(out / "pruned_dataset"))) == n
        assert json.loads((out / "kept_ids.json").read_text())["rows_kept"] == n
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "kept_ids.json", "pruned.parquet", "pruned_dataset",
                                                     "scores.parquet"]  # no staging folder or journal left


def test_a_commit_killed_half_way_is_finished_by_the_next_lock(tmp_path):
    out = tmp_path / "out"
    with output_transaction(out) as staging:
        (staging / "a.txt").write_text("run 1")
        (staging / "b").mkdir()
        (staging / "b" / "c.txt").write_text("run 1")
    with output_lock(out):
        staging = out / ".dprune-staging-killed"
        staging.mkdir()
        (staging / "a.txt").write_text("run 2")
        (staging / "b").mkdir()
        (staging / "b" / "c.txt").write_text("run 2")
        (out / JOURNAL_NAME).write_text(json.dumps({"staging": staging.name, "names": ["a.txt", "b"]}))
        replace_path(staging / "a.txt", out / "a.txt")  # the run is killed here: a.txt new, b old
    (out / ".dprune-staging-stray").mkdir()  # a run killed while it staged
    assert (out / "b" / "c.txt").read_text() == "run 1"
    with output_lock(out):
        assert (out / "a.txt").read_text() == (out / "b" / "c.txt").read_text() == "run 2"
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "a.txt", "b"]


def test_a_failed_run_leaves_the_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    with output_transaction(out) as staging:
        (staging / "a.txt").write_text("run 1")
    with pytest.raises(RuntimeError), output_transaction(out) as staging:
        (staging / "a.txt").write_text("run 2")
        raise RuntimeError("scoring failed")
    assert (out / "a.txt").read_text() == "run 1"
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "a.txt"]


def test_publish_refuses_a_staging_folder_elsewhere(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(ValueError, match="must be inside the output folder"):
        publish(tmp_path / "elsewhere", tmp_path / "out")


def test_a_second_writer_waits_and_says_so(tmp_path):
    import logging
    import threading

    out, order, waiting = tmp_path / "out", [], threading.Event()

    class Seen(logging.Handler):
        def emit(self, record):
            if "another run is writing" in record.getMessage():
                waiting.set()

    def second():
        with output_lock(out):
            order.append("second")

    handler = Seen()
    logging.getLogger("dprune.outputs").addHandler(handler)
    try:
        with output_lock(out):
            waiter = threading.Thread(target=second)
            waiter.start()
            assert waiting.wait(timeout=60), "the second writer says that it waits"
            order.append("first done")
        waiter.join()
    finally:
        logging.getLogger("dprune.outputs").removeHandler(handler)
    assert order == ["first done", "second"]
