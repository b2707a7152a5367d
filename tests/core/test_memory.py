"""Memory freed by a stage goes back to the system; memory in use is left alone."""

import sys

import numpy as np
import pyarrow as pa
import pytest

from dprune.core.memory import release_freed


def rss_anon_mib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:")) >> 10


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_freed_arrow_memory_leaves_the_resident_size():
    kept = pa.array(np.arange(1_000, dtype=np.float64))
    release_freed()  # what earlier tests freed would otherwise be reused and hide the growth
    before = rss_anon_mib()
    # 2,000 arrays of 160 KB (~320 MB) from Arrow's pool, then freed: the pool keeps them for reuse
    arrays = [pa.array(np.arange(20_000, dtype=np.int64)).cast(pa.float64()) for _ in range(2_000)]
    assert rss_anon_mib() - before > 250
    del arrays
    release_freed()
    assert rss_anon_mib() - before < 120
    assert kept.to_pylist() == list(np.arange(1_000, dtype=np.float64))
