"""Stage ``dataset``: the loaded rows, the root of every other stage; keyed by their content."""

from __future__ import annotations

from typing import Any, Mapping

from dprune.core.fingerprint import dataset_fingerprint
from dprune.data import load_dataset
from dprune.data.audio import find_audio_column
from dprune.stages.runner import Stage, run_cached

DATASET = Stage("dataset", version=1)


def load_stage(
    store: Any,
    source: str = "rotten_tomatoes",
    *,
    split: str = "train",
    text_column: str | None = "text",
    label_column: str | None = "label",
    id_column: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    audio_column: str | None = None,
) -> Any:
    """Load a dataset and store it as the root artifact; its key is its content fingerprint.

    A speech dataset's audio column holds references (paths or encoded bytes), never decoded
    samples; the manifest's ``meta["audio_column"]`` names it (None for text-only data).
    """
    dataset = load_dataset(
        source,
        split=split,
        text_column=text_column,
        label_column=label_column,
        id_column=id_column,
        storage_options=storage_options,
        audio_column=audio_column,
    )
    audio = find_audio_column(dataset)
    config = {"text_column": text_column, "label_column": label_column if label_column in dataset.column_names else None}
    if audio is not None:  # text datasets keep the keys they had before speech support
        config["audio_column"] = audio
    return run_cached(store, DATASET, config, lambda: dataset, inputs=[dataset_fingerprint(dataset)],
                      meta={"source": str(source), "split": split, "audio_column": audio})
