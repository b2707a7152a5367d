"""Stage ``minhash``: the MinHash signature of every document, sharded and resumable.

The key hashes the content of the text column (:func:`~dprune.stages.embeddings.text_fingerprint`),
the shingling (unit, n-gram length, normalizer) and the hash family (permutations,
seed, backend). Artifact: one column ``signature`` (``fixed_size_list<uint32>[num_perm]``)
aligned with the dataset's rows; the :mod:`~dprune.stages.near_duplicates` stage reads it.
On a Dask task runner the flow maps one task per shard.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from typing_extensions import Unpack

from dprune.corpus.minhash import document_signatures
from dprune.stages.embeddings import stored_text_fingerprint
from dprune.stages.runner import ShardLayout, Stage, run_sharded, shard_layout
from dprune.text.normalization import normalizer_config, resolve_normalizer

MINHASH = Stage("minhash", version=1)
SIGNATURE_COLUMN = "signature"


def signatures_to_table(signatures: np.ndarray) -> pa.Table:
    """``(n, num_perm)`` uint32 signatures as a one-column table of fixed-size lists."""
    values = pa.array(np.ascontiguousarray(signatures, dtype=np.uint32).reshape(-1))
    return pa.table({SIGNATURE_COLUMN: pa.FixedSizeListArray.from_arrays(values, signatures.shape[1])})


def table_to_signatures(table: pa.Table | pa.RecordBatch) -> np.ndarray:
    """Inverse of :func:`signatures_to_table` (zero-copy for one chunk)."""
    column = table.column(SIGNATURE_COLUMN)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    width = column.type.list_size
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)


def minhash_stage(
    store: Any,
    dataset_ref: Any,
    *,
    text_column: str = "text",
    unit: str = "word",
    ngram: int = 5,
    num_perm: int = 128,
    seed: int = 0,
    text_normalizer: Any = None,
    backend: str = "rensa",
    **layout: Unpack[ShardLayout],
) -> Any:
    """Signatures of the dataset artifact's texts (see :func:`dprune.corpus.minhash.document_signatures`).

    ``layout`` (:class:`~dprune.stages.runner.ShardLayout`; default 100,000 rows per shard, batches
    of 10,000): ``num_proc`` worker processes compute the batches of a shard. With ``shards``,
    compute only those shards and return None (or the artifact, when already stored).
    """
    layout = shard_layout(MINHASH, layout, shard_rows=100_000, batch_size=10_000)
    normalizer = resolve_normalizer(text_normalizer)
    config = {"unit": unit, "ngram": ngram, "num_perm": num_perm, "seed": seed,
              "normalizer": normalizer_config(normalizer), "backend": backend}
    dataset = store.read(dataset_ref)
    fingerprint = stored_text_fingerprint(store, dataset_ref, text_column)

    def compute(table: pa.Table, start: int) -> pa.Table:
        return signatures_to_table(document_signatures(
            table.column(text_column), unit=unit, ngram=ngram, num_perm=num_perm, seed=seed,
            normalizer=normalizer, backend=backend,
        ))

    schema = pa.schema([(SIGNATURE_COLUMN, pa.list_(pa.uint32(), num_perm))])
    return run_sharded(
        store, MINHASH, config, compute, dataset=dataset, columns=[text_column], schema=schema, parents=[dataset_ref],
        inputs=(fingerprint,), meta={"dataset_fingerprint": fingerprint, "text_column": text_column}, **layout,
    )
