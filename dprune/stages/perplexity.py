"""Stage ``perplexity``: every text's perplexity under a KenLM artifact, sharded and resumable.

The key hashes the scorer's settings with the model file's content hash
(:meth:`PerplexityScorer.cache_config`), the content of the text column and the parents
(dataset and model artifacts). :func:`perplexity_stage` returns the scores artifact
(``row_id`` plus ``score_column``) for the selection stage.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import pyarrow as pa

from dprune.core.base import require_columns
from dprune.core.fingerprint import dataset_fingerprint
from dprune.scorers.perplexity import PerplexityScorer
from dprune.stages.embeddings import stored_text_fingerprint
from dprune.stages.kenlm import lm_normalizer, model_path
from dprune.stages.runner import Stage, run_sharded
from dprune.stages.scores import columns_stage

PERPLEXITY = Stage("perplexity", version=1)


def perplexity_scores_stage(
    store: Any,
    dataset: Any,
    scorer: PerplexityScorer,
    *,
    parents: Sequence[Any] = (),
    shard_rows: int = 100_000,
    shards: Sequence[int] | None = None,
    on_shard: Callable[[int, int, int], None] | None = None,
    fingerprint: str | None = None,
) -> Any:
    """Score ``dataset`` with ``scorer`` into a ``perplexity`` artifact (one float64 column ``score_column``).

    ``fingerprint``: the text column's content hash when the caller knows it (default: hashed here).
    """
    config = scorer.cache_config()
    require_columns(dataset, scorer.required_columns(), owner=type(scorer).__name__)
    if fingerprint is None:
        fingerprint = dataset_fingerprint(dataset.select_columns([scorer.text_column]))
    return run_sharded(
        store, PERPLEXITY, config, scorer.score_table, dataset=dataset, columns=[scorer.text_column],
        shard_rows=shard_rows, schema=pa.schema([(scorer.score_column, pa.float64())]), parents=parents,
        inputs=(fingerprint,), meta={"dataset_fingerprint": fingerprint}, batch_size=scorer.batch_size,
        num_proc=scorer.num_proc, output_name=scorer.score_column, shards=shards, on_shard=on_shard,
        prepare=lambda: scorer.prepare(dataset),
    )


def perplexity_stage(
    store: Any,
    dataset_ref: Any,
    lm_ref: Any,
    *,
    text_column: str = "text",
    score_column: str = "perplexity",
    shard_rows: int = 100_000,
    shards: Sequence[int] | None = None,
    on_shard: Callable[[int, int, int], None] | None = None,
    **options: Any,
) -> Any:
    """Perplexity of the dataset artifact's texts under the kenlm artifact ``lm_ref``, as a scores artifact.

    ``options`` are :class:`~dprune.scorers.perplexity.PerplexityScorer` parameters; without a
    ``text_normalizer``, the one the model was trained with (from its manifest) is used. With
    ``shards``, compute only those shards and return None (or the artifact, when already stored).
    """
    trained = lm_normalizer(store, lm_ref)
    if options.get("text_normalizer") is None and trained is not None:
        options["text_normalizer"] = trained  # score text normalized as the model's training text was
    scorer = PerplexityScorer(model_path(store, lm_ref), text_column=text_column, score_column=score_column,
                              **options)
    ref = perplexity_scores_stage(store, store.read(dataset_ref), scorer, parents=[dataset_ref, lm_ref],
                                  shard_rows=shard_rows, shards=shards, on_shard=on_shard,
                                  fingerprint=stored_text_fingerprint(store, dataset_ref, text_column, rename=False))
    if ref is None:  # shards were computed, nothing committed yet
        return None
    return columns_stage(store, dataset_ref, ref, {score_column: score_column})
