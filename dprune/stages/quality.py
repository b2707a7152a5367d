"""Stage ``quality``: the Gopher statistics of every document, sharded and resumable.

The key hashes the content of the text column and the list of statistics (and the
stage version: bump it when a formula of :mod:`dprune.corpus.quality` changes).
Artifact: one float64 column per statistic, aligned with the dataset's rows;
:func:`quality_stage` returns them as a scores artifact.
"""

from __future__ import annotations

from typing import Any, Sequence

import pyarrow as pa
from typing_extensions import Unpack

from dprune.corpus.quality import QUALITY_STATISTICS, quality_statistics
from dprune.stages.embeddings import stored_text_fingerprint
from dprune.stages.runner import ShardLayout, Stage, run_sharded, shard_layout
from dprune.stages.scores import columns_stage

QUALITY = Stage("quality", version=1)


def quality_stage(
    store: Any,
    dataset_ref: Any,
    *,
    text_column: str = "text",
    statistics: Sequence[str] | None = None,
    **layout: Unpack[ShardLayout],
) -> Any:
    """Gopher statistics of the dataset artifact's texts, as a scores artifact (one column each).

    ``layout`` (:class:`~dprune.stages.runner.ShardLayout`; default 100,000 rows per shard, batches
    of 10,000): ``num_proc`` worker processes compute the batches of a shard. With ``shards``,
    compute only those shards and return None (or the artifact, when already stored).
    """
    layout = shard_layout(QUALITY, layout, shard_rows=100_000, batch_size=10_000)
    names = list(QUALITY_STATISTICS if statistics is None else statistics)
    unknown = sorted(set(names) - set(QUALITY_STATISTICS))
    if unknown:
        raise ValueError(f"The 'statistics' option of the quality stage has unknown name(s) {unknown}. "
                         f"Known statistics: {list(QUALITY_STATISTICS)}.")
    dataset = store.read(dataset_ref)
    fingerprint = stored_text_fingerprint(store, dataset_ref, text_column)
    ref = run_sharded(
        store, QUALITY, {"statistics": names},
        lambda table, start: quality_statistics(table.column(text_column), names),
        dataset=dataset, columns=[text_column], schema=pa.schema([(name, pa.float64()) for name in names]),
        parents=[dataset_ref], inputs=(fingerprint,), meta={"dataset_fingerprint": fingerprint}, **layout,
    )
    if ref is None:  # shards were computed, nothing committed yet
        return None
    return columns_stage(store, dataset_ref, ref, {name: name for name in names})
