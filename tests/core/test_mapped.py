"""Pages of memory-mapped tables leave the resident memory once read; values never change."""

import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dprune.core.base import take_rows
from dprune.core.fingerprint import dataset_fingerprint
from dprune.core.mapped import MappedReleaser, read_only_file_mappings, release_mapped

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise and /proc are Linux only")

ROWS = 40_000


def rss_file_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssFile:"))


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """A 40,000-row table of ~1 KB texts (~40 MB) written as Arrow IPC and memory-mapped; and its in-memory twin."""
    rng = np.random.default_rng(0)
    words = np.array(["river", "market", "bread", "valley", "church", "bridge", "harvest", "flood"])
    texts = [" ".join(rng.choice(words, 150)) + f" {i}" for i in range(ROWS)]
    table = pa.table({"text": texts, "n": np.arange(ROWS, dtype=np.int64)})
    path = tmp_path_factory.mktemp("mapped") / "t.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=10_000)
    with pa.ipc.open_stream(pa.memory_map(str(path), "r")) as reader:
        yield reader.read_all(), table


def touch(data) -> int:
    """Read every byte of the text column (its count of the letter "a")."""
    return pc.sum(pc.count_substring(data.column("text"), "a")).as_py()


@linux
def test_release_drops_touched_pages_and_keeps_values(mapped):
    table, twin = mapped
    before = rss_file_kib()
    assert touch(table) == touch(twin)
    touched = rss_file_kib() - before
    assert touched > 20_000  # ~40 MB of text became resident
    released = release_mapped(table)
    assert released > 30 * 2**20
    assert rss_file_kib() - before < touched / 4
    assert table.equals(twin)  # read back from the page cache, same values


@linux
def test_memory_not_mapped_from_a_file_is_left_alone(mapped):
    _, twin = mapped
    copy = pa.table({"text": pa.array(twin.column("text").to_pylist())})
    assert release_mapped(copy) == 0
    assert release_mapped(np.arange(3)) == 0  # not Arrow: nothing to release
    assert copy.column("text").to_pylist() == twin.column("text").to_pylist()
    assert all(start < end for start, end in read_only_file_mappings())


@linux
def test_scans_keep_about_one_window_resident(mapped):
    table, twin = mapped
    before = rss_file_kib()
    assert dataset_fingerprint(table) == dataset_fingerprint(twin)
    assert rss_file_kib() - before < 10_000  # the whole text is ~40 MB; one 64k-row window at most is kept
    positions = np.random.default_rng(1).permutation(ROWS)[:5_000]
    before = rss_file_kib()
    taken = take_rows(table, positions)
    assert rss_file_kib() - before < 5_000
    assert taken.equals(twin.take(positions))


@linux
def test_releaser_releases_a_scans_pieces_in_groups(mapped):
    table, twin = mapped
    pieces = [table.slice(offset, 4_000) for offset in range(0, ROWS, 4_000)]  # ~4 MB each
    releaser = MappedReleaser(every_bytes=3 * pieces[0].nbytes)
    touch(table)
    before = rss_file_kib()
    releaser.add(pieces[0])
    releaser.add(pieces[1])
    assert releaser.released == 0 and len(releaser.held) == 2  # below the group size: held, still resident
    releaser.add(pieces[2])
    assert releaser.released > 0 and releaser.held == []  # the group of three released at once
    for piece in pieces[3:]:
        releaser.add(piece)
    releaser.flush()
    assert releaser.held == [] and rss_file_kib() < before - 20_000
    assert table.equals(twin)
