"""Stage ``audio_signal``: every clip's signal features, sharded and resumable; and their scores.

:func:`audio_signal_stage` decodes the dataset artifact's audio references shard by shard
(each clip once) and stores :data:`~dprune.audio.signal.SIGNAL_COLUMNS` plus
``audio_error`` (why a clip could not be decoded under ``on_error="nan"``). Its key hashes
the settings that change the numbers (VAD model content hash and threshold, clip level,
error policy), the dataset artifact and the identity of every referenced audio file
(:func:`dprune.data.audio.audio_files_identity`: a hash of each file's bytes, so a file
replaced at the same path gives a new key, even with its old modification time; clips stored as bytes are covered by the
dataset's own content key).

:func:`audio_stage` turns it into a scores artifact: ``duration``, ``speech_ratio``,
``snr``, ``clipping_ratio``, ``loudness`` and ``speaking_rate`` -- the last one as the
deviation ``|ln(rate / median rate)|`` over the whole dataset, the flag for transcripts that
do not belong to their audio -- plus the ``audio_error`` reasons, so the exported dataset says
why a clip has NaN scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from typing_extensions import Unpack

from dprune.audio.decode import DEFAULT_SAMPLE_RATE
from dprune.audio.signal import SIGNAL_COLUMNS, rate_deviation
from dprune.audio.vad import make_vad
from dprune.core.base import column_to_numpy, require_columns
from dprune.data import ROW_ID
from dprune.data.audio import audio_files_identity
from dprune.scorers.audio import SignalBatch
from dprune.stages.runner import ShardLayout, Stage, run_cached, run_sharded, shard_layout
from dprune.stages.scores import SCORES

AUDIO_SIGNAL = Stage("audio_signal", version=1)
#: Version of :func:`audio_scores` (its formulas), part of the scores artifact's key.
AUDIO_SCORES_VERSION = 1

#: Columns of the ``audio_signal`` artifact.
SIGNAL_SCHEMA = pa.schema([(name, pa.float64()) for name in SIGNAL_COLUMNS] + [("audio_error", pa.string())])
#: Score columns of :func:`audio_stage` (``speaking_rate`` is the deviation from the median rate).
AUDIO_SCORE_COLUMNS = ("duration", "speech_ratio", "snr", "clipping_ratio", "loudness", "speaking_rate")


def audio_signal_stage(
    store: Any,
    dataset_ref: Any,
    *,
    audio_column: str = "audio",
    text_column: str | None = "text",
    vad: str = "silero",
    clip_level: float = 0.99,
    on_error: str = "raise",
    **layout: Unpack[ShardLayout],
) -> Any:
    """Signal features of every clip of the dataset artifact, committed shard by shard.

    Parameters
    ----------
    audio_column, text_column : str
        Audio references and transcripts (``text_column=None`` or a missing column: no
        speaking rate).
    vad : {"silero", "webrtc"}
        Voice-activity detector.
    clip_level : float
        Level from which a sample counts as clipped.
    on_error : {"raise", "nan"}
        Bad audio stops the stage naming its row (the shards already committed stay), or gets
        NaN features and its reason in ``audio_error``.
    **layout
        :class:`~dprune.stages.runner.ShardLayout` (default 1000 rows per shard, 16 clips per batch).

    Returns
    -------
    ArtifactRef or None
        None when ``shards`` is given.
    """
    layout = shard_layout(AUDIO_SIGNAL, layout, shard_rows=1000, batch_size=16)
    dataset = store.read(dataset_ref)
    require_columns(dataset, [audio_column], owner="the audio_signal stage")
    if text_column is not None and text_column not in dataset.column_names:
        text_column = None
    batch = SignalBatch(audio_column, text_column, SIGNAL_COLUMNS, vad=vad, clip_level=clip_level, on_error=on_error)
    config = {"audio_column": audio_column, "text_column": text_column, "vad": make_vad(vad).identity(),
              "clip_level": clip_level, "on_error": on_error, "sample_rate": DEFAULT_SAMPLE_RATE,
              "features": list(SIGNAL_COLUMNS)}
    identity = audio_files_identity(dataset.with_format("arrow")[audio_column])
    return run_sharded(
        store, AUDIO_SIGNAL, config, batch, dataset=dataset, columns=batch.columns(), schema=SIGNAL_SCHEMA,
        parents=[dataset_ref], inputs=[identity], **layout,
    )


def audio_scores(signal: pa.Table) -> dict[str, np.ndarray]:
    """The score columns of a signal table (``speaking_rate`` as the deviation from the median)."""
    scores = {name: signal.column(name).to_numpy() for name in AUDIO_SCORE_COLUMNS}
    scores["speaking_rate"] = rate_deviation(scores["speaking_rate"])
    return scores


def audio_stage(store: Any, dataset_ref: Any, **options: Any) -> Any:
    """The audio scores artifact of the dataset: ``row_id``, :data:`AUDIO_SCORE_COLUMNS` and ``audio_error``.

    ``options`` are :func:`audio_signal_stage` parameters. With ``shards``, compute only those
    shards of the signal stage and return None (or the scores, when already stored).
    """
    signal_ref = audio_signal_stage(store, dataset_ref, **options)
    if signal_ref is None:  # shards were computed, nothing committed yet
        return None
    config = {"source": f"{signal_ref.stage}/{signal_ref.key}", "columns": list(AUDIO_SCORE_COLUMNS),
              "audio_scores_version": AUDIO_SCORES_VERSION}

    def compute() -> pa.Table:
        row_ids = column_to_numpy(store.read(dataset_ref), ROW_ID)
        signal = store.read_table(signal_ref)
        return pa.table({ROW_ID: row_ids, **audio_scores(signal), "audio_error": signal.column("audio_error")})

    key = SCORES.key(config, parents=[dataset_ref.key, signal_ref.key])
    return run_cached(store, SCORES, config, compute, parents=[dataset_ref, signal_ref], key=key,
                      meta={"score_columns": list(AUDIO_SCORE_COLUMNS)})
