"""The selection summary: numbers per class (by name), cluster, flipped label and drop rule; score cut-offs."""

from __future__ import annotations

import numpy as np
from datasets import ClassLabel, Dataset

from dprune.evaluation.noise import flip_labels
from dprune.report import selection_summary, selection_table, summarize, summary_rows


def _scored():
    n = 40
    data = Dataset.from_dict({
        "text": [f"review {i}" for i in range(n)], "label": [i % 2 for i in range(n)],
        "cluster_id": [i % 4 for i in range(n)], "aum": np.linspace(-2, 2, n),
    })
    data = data.cast_column("label", ClassLabel(names=["rotten", "fresh"]))
    noisy, flipped = flip_labels(data, 0.25, seed=0)
    return noisy, flipped


def test_summary_counts_kept_rows_per_class_name_cluster_and_flipped_label_and_the_score_cut():
    scored, flipped = _scored()
    kept = np.arange(20, 40)  # the 20 highest AUM
    summary = selection_summary(scored, kept)
    assert (summary["rows"], summary["kept"]) == (40, 20)
    labels = np.array(scored["label"])
    names = {0: "rotten", 1: "fresh"}
    assert {e["group"]: (e["rows"], e["kept"]) for e in summary["by_class"]} == {
        names[c]: (int((labels == c).sum()), int((labels[20:] == c).sum())) for c in (0, 1)}
    assert sum(e["kept"] for e in summary["by_cluster"]) == 20 and len(summary["by_cluster"]) == 4
    by_flipped = {e["group"]: e for e in summary["by_flipped"]}
    assert by_flipped[True]["rows"] == 10 and by_flipped[True]["kept"] == int(flipped[20:].sum())
    aum = summary["scores"]["aum"]
    assert aum["dropped_max"] < aum["kept_min"] == scored["aum"][20]
    rows = summary_rows(summary, link="file:///tmp/report.html")
    assert rows[0]["group"] == "file:///tmp/report.html"
    assert {"flipped label", "class"} <= {row["what"] for row in rows}
    assert any(row["group"] == "fresh" for row in rows)


def test_summary_counts_rows_dropped_per_rule():
    scored, _ = _scored()
    rules = [None] * 20 + ["aum < -1"] * 10 + ["aum > 1"] * 10
    table = selection_table(scored, np.arange(20), dropped_by=rules)
    summary = summarize(table)
    assert summary["by_rule"] == [{"rule": "aum < -1", "dropped": 10}, {"rule": "aum > 1", "dropped": 10}]
    assert [r for r in summary_rows(summary) if r["what"] == "dropped by rule"][0]["rows"] == 10
