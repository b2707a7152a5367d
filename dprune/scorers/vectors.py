"""Where a vector scorer's vectors come from: a column, an array, an embeddings artifact, or an embedder."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from dprune.core.base import format_positions
from dprune.text.embedding import TextEmbedder
from dprune.vectors.arrays import table_to_embeddings

__all__ = ["vectors_for"]


def _is_artifact_ref(value: Any) -> bool:
    return all(isinstance(getattr(value, a, None), str) for a in ("root", "stage", "key"))

def vectors_for(
    dataset: Any,
    *,
    owner: str,
    text_column: str,
    embeddings_column: str | None = None,
    embeddings: Any = None,
    embedder: TextEmbedder | None = None,
) -> np.ndarray:
    """The ``(len(dataset), dim)`` vectors a scorer works on, from the first source given.

    1. ``embeddings_column``: a list column of the dataset (one vector per row);
    2. ``embeddings``: an ``(n, dim)`` array aligned with the dataset's rows, or the
       ``ArtifactRef`` of an embeddings artifact (see :func:`embed_to_store`);
    3. otherwise ``embedder`` embeds ``dataset[text_column]``.
    """
    n = len(dataset)
    if embeddings_column is not None:
        return table_to_embeddings(dataset, embeddings_column, owner=owner)
    if embeddings is not None:
        if _is_artifact_ref(embeddings):
            from dprune.stages.embeddings import read_embeddings
            from dprune.store import ArtifactStore

            vectors = read_embeddings(ArtifactStore(embeddings.root), embeddings)
            what = f"the embeddings artifact {embeddings.stage}/{embeddings.key}"
        else:
            vectors = np.asarray(embeddings)
            what = "the 'embeddings' array"
            if vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.number):
                raise ValueError(
                    f"The 'embeddings' parameter of {owner} must be a numeric array of shape (rows, dim); "
                    f"got shape {vectors.shape} and dtype {vectors.dtype}."
                )
            vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape[0] != n:
            raise ValueError(
                f"{owner}: {what} has {vectors.shape[0]} rows but the dataset has {n}. Pass embeddings computed "
                "for exactly these rows, in the same order (after any select/filter/shuffle)."
            )
        return vectors
    if embedder is None:
        raise ValueError(f"{owner}: no embeddings column, no embeddings and no embedder to compute them.")
    import pyarrow.compute as pc

    column = dataset.with_format("arrow")[text_column]
    if pa.types.is_null(column.type) or column.null_count:
        rows = np.flatnonzero(pc.is_null(column).to_numpy(zero_copy_only=False))

        raise ValueError(
            f"{owner}: column {text_column!r} has None (missing) text at row position(s) "
            f"{format_positions(rows.tolist())}. Drop those rows "
            f"(dataset.filter(lambda r: r[{text_column!r}] is not None)) or fill them with text "
            "(an empty string is embedded like any other text)."
        )
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise TypeError(
            f"{owner}: column {text_column!r} must hold text; it has type {column.type}. "
            "Pass text_column=<a string column> or embeddings_column=<a vector column>."
        )
    return embedder.embed(column.to_pylist())
