"""Stage ``dataset``: the loaded rows, the root of every other stage; keyed by their content."""

from __future__ import annotations

from typing import Any, Mapping

from dprune.core.fingerprint import dataset_fingerprint
from dprune.data import load_dataset
from dprune.stages.runner import Stage, run_cached

DATASET = Stage("dataset", version=1)


def load_stage(
    store: Any,
    source: str = "rotten_tomatoes",
    *,
    split: str = "train",
    text_column: str = "text",
    label_column: str | None = "label",
    id_column: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Any:
    """Load a dataset and store it as the root artifact; its key is its content fingerprint."""
    dataset = load_dataset(
        source,
        split=split,
        text_column=text_column,
        label_column=label_column,
        id_column=id_column,
        storage_options=storage_options,
    )
    config = {"text_column": text_column, "label_column": label_column if label_column in dataset.column_names else None}
    return run_cached(store, DATASET, config, lambda: dataset, inputs=[dataset_fingerprint(dataset)],
                      meta={"source": str(source), "split": split})
