"""Keep the rows whose scores all lie within per-column bounds: :class:`RangesPruner`.

This is how speech corpora are usually cleaned (Lhotse's cut filters, NeMo's speech data
processor): several signal measurements, one acceptable range each, and a row is kept only
when it passes every one. :data:`SPEECH_QUALITY_RANGES` is the default rule of the audio
workflow.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

import numpy as np
from datasets import Dataset

from dprune.core.base import Pruner, column_to_numpy
from dprune.core.params import NONE, Options, Predicate
from dprune.core.registry import register_pruner

__all__ = ["RangesPruner", "SPEECH_QUALITY_RANGES"]

#: The default speech rule, per signal score column (see :mod:`dprune.scorers.audio`): keep a clip
#: when its SNR is at least 20 dB, at most 0.1% of its samples are at full scale, at least 30% of
#: its frames hold speech, its transcript's speaking rate is within a factor 2 of the dataset's
#: median (|ln(rate / median)| <= ln 2), it lasts 0.3 to 30 s and its loudness is above -50 LUFS.
#: A clip whose audio could not be decoded (NaN scores) is dropped.
SPEECH_QUALITY_RANGES: dict[str, tuple[float | None, float | None]] = {
    "snr": (20.0, None),
    "clipping_ratio": (None, 0.001),
    "speech_ratio": (0.3, None),
    "speaking_rate": (None, math.log(2.0)),
    "duration": (0.3, 30.0),
    "loudness": (-50.0, None),
}


def _bound(value: Any) -> bool:
    return value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value))


def _valid_ranges(ranges: Any) -> bool:
    if not isinstance(ranges, Mapping) or not ranges:
        return False
    for column, bounds in ranges.items():
        if not (isinstance(column, str) and column and isinstance(bounds, (tuple, list)) and len(bounds) == 2):
            return False
        low, high = bounds
        if not (_bound(low) and _bound(high)) or (low is not None and high is not None and low > high):
            return False
    return True


RANGES = Predicate(_valid_ranges, "a non-empty dict of column -> (low, high) with numbers or None and low <= high")


@register_pruner("ranges")
class RangesPruner(Pruner):
    """Keep every row whose value in each listed column lies within that column's closed range.

    No budget: how many rows are kept follows from the ranges.

    Parameters
    ----------
    ranges : dict of str to (float or None, float or None), optional
        ``{column: (low, high)}``; ``None`` as a bound leaves that side open. Default
        (``ranges=None``): :data:`SPEECH_QUALITY_RANGES`.
    nan_policy : {"drop", "raise"}, default "drop"
        A NaN value is never in range: ``"drop"`` removes the row, ``"raise"`` reports it.

    Attributes
    ----------
    failed_ : dict of str to int
        After pruning, how many rows each column's range rejected (a row may fail several).
    """

    _parameter_constraints = {"ranges": [NONE, RANGES], "nan_policy": [Options(("drop", "raise"))]}

    def __init__(self, ranges: Mapping[str, tuple[float | None, float | None]] | None = None, nan_policy: str = "drop"):
        self.ranges = ranges
        self.nan_policy = nan_policy

    def resolved_ranges(self) -> Mapping[str, tuple[float | None, float | None]]:
        """The ranges in force (:data:`SPEECH_QUALITY_RANGES` when ``ranges`` is None)."""
        return SPEECH_QUALITY_RANGES if self.ranges is None else self.ranges

    def required_columns(self) -> list[str]:
        return list(self.resolved_ranges())

    def drop_rules(self, dataset: Dataset) -> list[str | None]:
        """Per row, every range it fails (``"snr < 10; duration is NaN"``), None for a row in every range.

        Only the failing rows get a Python list of rules (a row in every range costs one list slot).
        """
        failures: dict[int, list[str]] = {}
        for column, (low, high) in self.resolved_ranges().items():
            values = column_to_numpy(dataset, column).astype(np.float64)
            checks = [(np.isnan(values), f"{column} is NaN")]
            if low is not None:
                checks.append((values < low, f"{column} < {low:g}"))
            if high is not None:
                checks.append((values > high, f"{column} > {high:g}"))
            for rows, rule in checks:
                for row in np.flatnonzero(rows).tolist():
                    failures.setdefault(row, []).append(rule)
        dropped_by: list[str | None] = [None] * len(dataset)
        for row, rules in failures.items():
            dropped_by[row] = "; ".join(rules)
        return dropped_by

    def select_indices(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        keep = np.ones(len(dataset), dtype=bool)
        self.failed_ = {}
        for column, (low, high) in self.resolved_ranges().items():
            values = column_to_numpy(dataset, column)
            if values.dtype.kind not in "iufb":
                raise TypeError(
                    f"RangesPruner needs numeric values in column {column!r}; got dtype {values.dtype}. "
                    "Point ranges at float columns written by scorers."
                )
            values = values.astype(np.float64)
            nan = np.isnan(values)
            if nan.any() and self.nan_policy == "raise":
                raise ValueError(
                    f"RangesPruner found {int(nan.sum())} NaN value(s) in column {column!r} (of {len(values)} rows). "
                    "Fix the scorer, or set nan_policy='drop' to remove those rows."
                )
            ok = ~nan
            if low is not None:
                ok &= values >= low
            if high is not None:
                ok &= values <= high
            self.failed_[column] = int(np.count_nonzero(~ok))
            keep &= ok
        return np.flatnonzero(keep)
