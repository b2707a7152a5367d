"""Hypothesis strategies and tiny datasets shared by the pruner tests."""

from __future__ import annotations

import numpy as np
from datasets import Dataset
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True)
SLOW_PROPERTY = settings(max_examples=50, deadline=None, derandomize=True)

_FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
# Small integers make ties common; infinities are valid extremes.
_SCORE = st.one_of(
    st.integers(-3, 3).map(float),
    _FINITE,
    st.sampled_from([np.inf, -np.inf, -0.0, 5e-324, -5e-324, 1e308, -1e308]),
)


def score_arrays(min_size: int = 1, max_size: int = 60, nan: bool = False):
    """float64 score arrays with ties, infinities and (optionally) NaN."""
    element = st.one_of(_SCORE, st.just(np.nan)) if nan else _SCORE
    return arrays(np.float64, st.integers(min_size, max_size), elements=element)


budgets = st.one_of(
    st.integers(1, 80),
    st.floats(0.0, 1.0, exclude_min=True, allow_nan=False),
)


def scored_dataset(scores, labels=None) -> Dataset:
    """A dataset with row ids, labels and the given scores."""
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.size
    labels = np.arange(n) % 2 if labels is None else np.asarray(labels)
    return Dataset.from_dict(
        {"row_id": np.arange(100, 100 + n), "label": labels, "score": scores, "other": np.arange(n)[::-1] * 1.0}
    )
