"""Which scores the data map plots, and the random sample it shows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dprune.report.data_map import DataMapAxes, data_map_axes, sample_positions


def _table(**scores):
    n = len(next(iter(scores.values()))) if scores else 3
    return pa.table({"row_id": np.arange(n), "label": ["a"] * n, "cluster": np.zeros(n, dtype=int),
                     **scores, "kept": np.ones(n, dtype=bool)})


def test_dynamics_first_then_two_scores_then_one_score_then_nothing():
    heavy, flat = np.array([1.0, 2, 3, 500]), np.array([0.1, 0.2, 0.3, 0.4])
    both = _table(perplexity=heavy, data_map_confidence=flat, data_map_variability=flat)
    assert data_map_axes(both) == DataMapAxes("dynamics", "data_map_variability", "data_map_confidence")
    assert data_map_axes(_table(perplexity=heavy, kmeans_distance=flat)) == DataMapAxes(
        "scores", "perplexity", "kmeans_distance", x_log=True, y_log=False)
    assert data_map_axes(_table(kmeans_distance=flat)) == DataMapAxes("strip", "kmeans_distance")
    assert data_map_axes(_table()) == DataMapAxes("none")


def test_sample_is_all_rows_when_small_else_sorted_distinct_and_seeded():
    assert sample_positions(10, 20).tolist() == list(range(10))
    sample = sample_positions(100_000, 5000, seed=3)
    assert len(np.unique(sample)) == 5000 and np.all(np.diff(sample) > 0)
    assert np.array_equal(sample, sample_positions(100_000, 5000, seed=3))
    assert not np.array_equal(sample, sample_positions(100_000, 5000, seed=4))
    with pytest.raises(ValueError, match="max_points must be an int >= 1"):
        sample_positions(10, 0)
