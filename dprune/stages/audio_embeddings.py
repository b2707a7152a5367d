"""Stage ``audio_embeddings``: one vector per clip (:mod:`dprune.audio.features`), sharded and resumable.

The artifact has the shape of the text ``embeddings`` artifact -- one column ``embedding``
of type ``fixed_size_list<float32>[dim]`` aligned with the dataset's rows, ``meta`` with
``dim`` -- so :func:`dprune.stages.embeddings.read_embeddings`, the ``clusters`` stage,
``KMeansCentroidDistanceScorer`` / ``SemanticDuplicateScorer`` (``embeddings=``) and the
probe dynamics take it unchanged. Its key hashes the recipe (every setting of the
features), the dataset artifact and the identity of every referenced audio file.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from typing_extensions import Unpack

from dprune.audio.decode import decode_refs
from dprune.audio.features import EMBEDDING_DIM, RECIPE, audio_embeddings
from dprune.core.base import require_columns
from dprune.data.audio import audio_files_identity, refs_from_arrow
from dprune.stages.runner import ShardLayout, Stage, run_sharded, shard_layout
from dprune.vectors.arrays import EMBEDDINGS_COLUMN, embeddings_to_table

AUDIO_EMBEDDINGS = Stage("audio_embeddings", version=1)


class EmbedBatch:
    """``fn(table, start)``: decode a batch of clips and return their embeddings table."""

    def __init__(self, audio_column: str):
        self.audio_column = audio_column

    def __call__(self, table: pa.Table, start: int) -> pa.Table:
        refs = refs_from_arrow(table.column(self.audio_column))
        clips = decode_refs(refs, rows=range(start, start + table.num_rows)).audio
        return embeddings_to_table(audio_embeddings(clips).reshape(len(clips), EMBEDDING_DIM))


def audio_embeddings_stage(
    store: Any,
    dataset_ref: Any,
    *,
    audio_column: str = "audio",
    **layout: Unpack[ShardLayout],
) -> Any:
    """Embed every clip of the dataset artifact; a clip that cannot be decoded stops the stage naming its row.

    ``layout`` is a :class:`~dprune.stages.runner.ShardLayout` (default 5000 rows per shard): its
    ``batch_size`` clips (default 256) are decoded and embedded together (length-bucketed inside the batch).
    """
    layout = shard_layout(AUDIO_EMBEDDINGS, layout, shard_rows=5000, batch_size=256)
    dataset = store.read(dataset_ref)
    require_columns(dataset, [audio_column], owner="the audio_embeddings stage")
    config = {"audio_column": audio_column, "recipe": dict(RECIPE), "dim": EMBEDDING_DIM, "dtype": "float32"}
    identity = audio_files_identity(dataset.with_format("arrow")[audio_column])
    schema = pa.schema([(EMBEDDINGS_COLUMN, pa.list_(pa.float32(), EMBEDDING_DIM))])
    return run_sharded(
        store, AUDIO_EMBEDDINGS, config, EmbedBatch(audio_column), dataset=dataset, columns=[audio_column],
        schema=schema, parents=[dataset_ref], inputs=[identity],
        meta={"dim": EMBEDDING_DIM, "audio_column": audio_column}, **layout,
    )
