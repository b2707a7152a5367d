"""RangesPruner: per-column ranges, NaN handling and the default speech rule on the bundled example."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from dprune.pruners.ranges import SPEECH_QUALITY_RANGES, RangesPruner


def test_every_range_must_hold():
    ds = Dataset.from_dict({"a": [0.0, 1.0, 2.0, 3.0, np.nan], "b": [5, 5, 1, 5, 5]})
    pruner = RangesPruner(ranges={"a": (1.0, None), "b": [2, 5]})
    assert pruner.fit_indices(ds).tolist() == [1, 3]
    assert pruner.failed_ == {"a": 2, "b": 1}
    with pytest.raises(ValueError, match=r"1 NaN value\(s\) in column 'a'"):
        RangesPruner(ranges={"a": (None, None)}, nan_policy="raise").fit_indices(ds)
    with pytest.raises(TypeError, match="numeric values in column 's'"):
        RangesPruner(ranges={"s": (0, 1)}).fit_indices(Dataset.from_dict({"s": ["x"]}))


def test_default_is_the_speech_rule():
    pruner = RangesPruner()
    assert pruner.ranges is None and pruner.required_columns() == list(SPEECH_QUALITY_RANGES)
