"""Stage ``language``: language id of every document (py3langid), sharded and resumable.

Artifact: ``language`` (ISO 639-1 code, ``"und"`` for an empty text) and
``language_confidence`` (the model's probability of that language, or of ``language=``
when one is given). :func:`language_stage` returns the confidence as a scores artifact.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from typing_extensions import Unpack

from dprune.corpus.language import identify_languages
from dprune.stages.embeddings import stored_text_fingerprint
from dprune.stages.runner import ShardLayout, Stage, run_sharded, shard_layout
from dprune.stages.scores import columns_stage

LANGUAGE = Stage("language", version=2)  # 2: the batched identifier (py3langid's codes, float32 sums)


def language_stage(
    store: Any,
    dataset_ref: Any,
    *,
    text_column: str = "text",
    language: str | None = None,
    score_column: str = "language_confidence",
    **layout: Unpack[ShardLayout],
) -> Any:
    """Language and confidence of the dataset artifact's texts; the confidence as a scores artifact.

    ``layout`` (:class:`~dprune.stages.runner.ShardLayout`; default 100,000 rows per shard, batches
    of 10,000): ``num_proc`` worker processes compute the batches of a shard (the batched identifier
    of :mod:`dprune.corpus.language`, about ten times py3langid's per-document speed). With
    ``shards``, compute only those shards and return None (or the artifact, when already stored).
    """
    import py3langid

    layout = shard_layout(LANGUAGE, layout, shard_rows=100_000, batch_size=10_000)

    dataset = store.read(dataset_ref)
    fingerprint = stored_text_fingerprint(store, dataset_ref, text_column)

    def compute(table: pa.Table, start: int) -> pa.Table:
        codes, confidence = identify_languages(table.column(text_column), language)
        return pa.table({"language": pa.array(codes.tolist(), type=pa.string()), "language_confidence": confidence})

    ref = run_sharded(
        store, LANGUAGE, {"language": language, "model": f"py3langid {py3langid.__version__}"}, compute,
        dataset=dataset, columns=[text_column],
        schema=pa.schema([("language", pa.string()), ("language_confidence", pa.float64())]),
        parents=[dataset_ref], inputs=(fingerprint,), meta={"dataset_fingerprint": fingerprint}, **layout,
    )
    if ref is None:  # shards were computed, nothing committed yet
        return None
    return columns_stage(store, dataset_ref, ref, {"language_confidence": score_column})
