"""Stages ``transcripts`` (offline ASR, sharded, resumable) and the WER/CER scores computed from it.

:func:`transcripts_stage` decodes the dataset artifact's audio references shard by shard and
stores each clip's PocketSphinx transcript (``transcript``, null when the clip could not be
decoded under ``on_error="nan"``) and ``audio_error``. Its key hashes the recognizer's
content identity (package version, model files' bytes, phrase grammar, settings), the
dataset artifact and the identity of every referenced audio file
(:func:`dprune.data.audio.audio_files_identity`).

:func:`asr_scores_stage` compares those transcripts with the dataset's text column and stores a
scores artifact (``row_id``, ``wer``, ``cer``). The normalizer and the metrics are in *its*
key only, so changing them recomputes the error rates in a moment and never re-runs recognition.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa
from typing_extensions import Unpack

from dprune.audio.transcripts import ASR_NORMALIZER, METRICS, error_rates
from dprune.core.base import column_to_numpy, require_columns
from dprune.data import ROW_ID
from dprune.data.audio import audio_files_identity
from dprune.scorers.asr import VOCABULARIES, TranscribeBatch, recognizer_for
from dprune.stages.runner import ShardLayout, Stage, run_cached, run_sharded, shard_layout
from dprune.stages.scores import SCORES
from dprune.text.normalization import normalizer_config

TRANSCRIPTS = Stage("transcripts", version=1)
#: Version of the error-rate formulas of :func:`asr_scores_stage`, part of its key.
ASR_SCORES_VERSION = 1
TRANSCRIPTS_SCHEMA = pa.schema([("transcript", pa.string()), ("audio_error", pa.string())])


def transcripts_stage(
    store: Any,
    dataset_ref: Any,
    *,
    audio_column: str = "audio",
    text_column: str = "text",
    vocabulary: str = "open",
    on_error: str = "raise",
    **layout: Unpack[ShardLayout],
) -> Any:
    """Transcripts of every clip of the dataset artifact, committed shard by shard.

    Parameters
    ----------
    audio_column : str
        Audio references.
    text_column : str
        Transcripts, read only with ``vocabulary="transcripts"`` (the phrase grammar).
    vocabulary : {"open", "transcripts"}
        See :mod:`dprune.scorers.asr`.
    on_error : {"raise", "nan"}
        A bad clip stops the stage naming its row (committed shards stay), or gets a null transcript.
    **layout
        :class:`~dprune.stages.runner.ShardLayout` (default 1000 rows per shard, 16 clips per batch).
    """
    layout = shard_layout(TRANSCRIPTS, layout, shard_rows=1000, batch_size=16)
    if vocabulary not in VOCABULARIES:
        raise ValueError(f"The 'vocabulary' option of the transcripts stage must be one of {list(VOCABULARIES)}. "
                         f"Got {vocabulary!r} instead.")
    dataset = store.read(dataset_ref)
    require_columns(dataset, [audio_column] + ([text_column] if vocabulary == "transcripts" else []),
                    owner="the transcripts stage")
    texts = dataset[text_column] if vocabulary == "transcripts" else None
    batch = TranscribeBatch(audio_column, recognizer_for(vocabulary, texts), on_error=on_error)
    config = {"audio_column": audio_column, "recognizer": batch.recognizer.identity(), "on_error": on_error}
    identity = audio_files_identity(dataset.with_format("arrow")[audio_column])
    return run_sharded(
        store, TRANSCRIPTS, config, batch, dataset=dataset, columns=[audio_column], schema=TRANSCRIPTS_SCHEMA,
        parents=[dataset_ref], inputs=[identity], prepare=batch.recognizer.decoder, **layout,
    )


def asr_scores_stage(
    store: Any,
    dataset_ref: Any,
    *,
    text_column: str = "text",
    metrics: Sequence[str] = METRICS,
    text_normalizer: Any = None,
    **options: Any,
) -> Any:
    """The ASR-agreement scores artifact: ``row_id`` plus one column per metric (``wer``, ``cer``).

    ``options`` are :func:`transcripts_stage` parameters; with ``shards``, compute only those
    shards of the transcripts and return None (or the scores, when already stored). A clip without a transcript scores NaN.
    """
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown or not metrics:
        raise ValueError(f"The 'metrics' option of the ASR scores must be a non-empty subset of {list(METRICS)}. "
                         f"Got {list(metrics)!r} instead.")
    normalizer = ASR_NORMALIZER if text_normalizer is None else text_normalizer
    transcripts_ref = transcripts_stage(store, dataset_ref, text_column=text_column, **options)
    if transcripts_ref is None:  # shards were computed, nothing committed yet
        return None
    config = {"source": f"{transcripts_ref.stage}/{transcripts_ref.key}", "text_column": text_column,
              "metrics": list(metrics), "normalizer": normalizer_config(normalizer),
              "asr_scores_version": ASR_SCORES_VERSION}

    def compute() -> pa.Table:
        dataset = store.read(dataset_ref)
        require_columns(dataset, [text_column], owner="the ASR scores")
        hypotheses = store.read_table(transcripts_ref).column("transcript").to_pylist()
        references = column_to_numpy(dataset, text_column).tolist()
        missing = np.array([h is None for h in hypotheses])
        columns = {}
        for metric in metrics:
            rates = error_rates(references, hypotheses, metric=metric, normalizer=normalizer)
            rates[missing] = np.nan
            columns[metric] = rates
        return pa.table({ROW_ID: column_to_numpy(dataset, ROW_ID), **columns})

    key = SCORES.key(config, parents=[dataset_ref.key, transcripts_ref.key])
    return run_cached(store, SCORES, config, compute, parents=[dataset_ref, transcripts_ref], key=key,
                      meta={"score_columns": list(metrics)})
