"""Label noise for evaluations: flip a seeded fraction of the training labels and record which.

Pruning by training dynamics is meant to find mislabelled examples. To measure
that, :func:`flip_labels` corrupts a known set of labels: exactly
``round(fraction * n)`` rows, drawn uniformly with a seed, each moved to another
class drawn uniformly. The corrupted dataset records the flip in two columns,
:data:`FLIPPED_COLUMN` (bool) and :data:`CLEAN_LABEL_COLUMN` (the label before
the flip), so it is a different dataset: its content fingerprint, and with it
every store key computed from it, differs from the clean one.
:func:`write_noisy_dataset` writes it as a Parquet file that any loader or flow
reads, next to ``noise.json`` (fraction, seed and the flipped row ids).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasets import Dataset

from dprune.core.outputs import OutputFiles
from dprune.core.base import column_to_numpy, require_non_empty
from dprune.core.budget import fraction_count
from dprune.data.loading import ROW_ID
from dprune.data.labels import encode_labels, label_array
from dprune.core.params import Interval, check_param

__all__ = ["CLEAN_LABEL_COLUMN", "FLIPPED_COLUMN", "NoisyDatasetPaths", "flip_labels", "write_noisy_dataset"]

#: Column marking the rows whose label was flipped.
FLIPPED_COLUMN = "label_flipped"
#: Column holding each row's label before the flip.
CLEAN_LABEL_COLUMN = "clean_label"
#: Mixed into the seed, so the flipped rows never coincide with a draw seeded the same way elsewhere
#: (``RandomPruner(seed=0)`` would otherwise keep exactly the rows flipped with ``seed=0``).
NOISE_STREAM = 0x6E6F697365  # "noise"
NOISE_FRACTION = [Interval("real", 0, 1, closed="left")]
NOISE_SEED = [Interval(int, 0, None)]


def flip_labels(
    dataset: Dataset, fraction: float, *, seed: int = 0, label_column: str = "label"
) -> tuple[Dataset, np.ndarray]:
    """Flip the labels of a seeded random ``fraction`` of the rows to another class.

    Parameters
    ----------
    dataset : datasets.Dataset
        Labelled data (int, str, bool or ClassLabel labels, at least two classes).
    fraction : float
        Share of rows to flip, in [0, 1); ``round(fraction * n)`` rows (half up) are flipped.
    seed : int, default 0
        Seed of the draw of rows and of their new classes (its own random stream: no
        other component seeded with the same number draws the same rows).
    label_column : str, default "label"
        Column to corrupt; its feature type is kept.

    Returns
    -------
    noisy : datasets.Dataset
        A new dataset with the corrupted ``label_column``, plus :data:`FLIPPED_COLUMN`
        and :data:`CLEAN_LABEL_COLUMN`; the input is not modified.
    flipped : numpy.ndarray of bool
        True for every flipped row.

    Raises
    ------
    InvalidParameterError
        ``fraction`` outside [0, 1) or ``seed`` not an int >= 0.
    KeyError
        ``label_column`` is not a column of ``dataset``.
    ValueError
        The dataset is empty, holds one class only, or already records a flip.
    """
    owner = "flip_labels"
    check_param(owner, "fraction", fraction, NOISE_FRACTION)
    check_param(owner, "seed", seed, NOISE_SEED)
    require_non_empty(dataset, owner=owner)
    taken = [c for c in (FLIPPED_COLUMN, CLEAN_LABEL_COLUMN) if c in dataset.column_names]
    if taken:
        raise ValueError(
            f"{owner}: the dataset already has column(s) {taken}, so its labels were already flipped. "
            "Flip the clean dataset instead, or remove those columns first."
        )
    codes, mapping = encode_labels(dataset, label_column, owner=owner)
    n = len(dataset)
    rng = np.random.default_rng([NOISE_STREAM, seed])
    rows = rng.choice(n, size=fraction_count(fraction, n), replace=False)
    noisy_codes = codes.copy()
    noisy_codes[rows] = (codes[rows] + rng.integers(1, mapping.num_labels, size=rows.size)) % mapping.num_labels
    flipped = np.zeros(n, dtype=bool)
    flipped[rows] = True

    feature = dataset.features[label_column]
    clean = label_array(dataset, label_column, owner=owner).to_pylist()
    if mapping.kind in ("class_label", "int"):
        noisy_values = noisy_codes.tolist()
    else:
        noisy_values = [mapping.values[code] for code in noisy_codes]
    noisy = (
        dataset.remove_columns([label_column])
        .add_column(label_column, noisy_values, feature=feature)
        .add_column(CLEAN_LABEL_COLUMN, clean, feature=feature)
        .add_column(FLIPPED_COLUMN, flipped.tolist())
    )
    return noisy, flipped


@dataclass(frozen=True)
class NoisyDatasetPaths(OutputFiles):
    """Files written by :func:`write_noisy_dataset`."""

    parquet: Path
    record: Path


def write_noisy_dataset(
    dataset: Dataset, output_dir: str | Path, *, fraction: float, seed: int = 0, label_column: str = "label"
) -> NoisyDatasetPaths:
    """Flip labels with :func:`flip_labels`; write ``train.parquet`` and ``noise.json`` to ``output_dir``.

    ``noise.json`` records the fraction, the seed, the label column, the row count
    and the flipped rows (``row_id`` values when the dataset has them, else
    positions). The same dataset, fraction and seed always give the same files.
    """
    noisy, flipped = flip_labels(dataset, fraction, seed=seed, label_column=label_column)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    paths = NoisyDatasetPaths(output / "train.parquet", output / "noise.json")
    noisy.to_parquet(str(paths.parquet))
    id_column = ROW_ID if ROW_ID in dataset.column_names else None
    ids = column_to_numpy(dataset, id_column) if id_column else np.arange(len(dataset))
    record = {
        "fraction": fraction,
        "seed": seed,
        "label_column": label_column,
        "rows": len(dataset),
        "flipped": int(flipped.sum()),
        "id_column": id_column,
        "flipped_ids": ids[flipped].tolist(),
    }
    paths.record.write_text(json.dumps(record, indent=1), encoding="utf-8")
    return paths
