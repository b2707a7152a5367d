"""The log-axis rule for heavy-tailed scores, and kept/dropped histogram counts."""

from __future__ import annotations

import numpy as np

from dprune.report.histograms import BINS, HEAVY_TAIL_RATIO, heavy_tailed, histogram


def test_heavy_tailed_scores_get_a_log_axis_and_others_a_linear_one():
    rng = np.random.default_rng(0)
    perplexity = np.exp(rng.normal(6, 1, 5000))  # max/median ~ e^3.7
    assert heavy_tailed(perplexity)
    assert not heavy_tailed(rng.uniform(0.2, 0.9, 5000))  # cosine distances
    assert not heavy_tailed(np.r_[perplexity, 0.0])  # a zero cannot be drawn on a log axis
    assert not heavy_tailed(rng.normal(0, 1, 100))  # negative values (AUM)
    assert heavy_tailed(np.array([1.0, 1.0, HEAVY_TAIL_RATIO])) and not heavy_tailed(np.array([1.0, 1.0, 9.9]))
    assert heavy_tailed(np.array([1.0, np.nan, 1.0, 50.0]))


def test_histogram_counts_every_finite_row_once_split_by_kept():
    rng = np.random.default_rng(1)
    values = np.exp(rng.normal(5, 2, 1000))
    values[:7] = np.nan
    kept = rng.random(1000) < 0.3
    hist = histogram(values, kept)
    assert hist.log and hist.missing == 7 and len(hist.edges) == BINS + 1
    assert np.allclose(np.diff(np.log10(hist.edges)), np.diff(np.log10(hist.edges))[0])
    assert hist.kept.sum() == (kept[7:]).sum() and hist.dropped.sum() == (~kept[7:]).sum()
    linear = histogram(rng.uniform(0, 1, 100), np.ones(100, dtype=bool))
    assert not linear.log and linear.kept.sum() == 100 and linear.dropped.sum() == 0
