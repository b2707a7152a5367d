"""The numbers of a selection: rows kept per class, cluster, flipped label and rule; score cut-offs.

:func:`summarize` reads a selection table (see :mod:`dprune.report.table`);
:func:`selection_summary` does the same from a scored dataset and the kept
positions. :func:`summary_rows` flattens the summary into table rows for a
Prefect table artifact or Markdown.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.report.table import CLUSTER, DROPPED_BY, FLIPPED, KEPT, LABEL, score_columns, selection_table

__all__ = ["RETENTION_GROUPS", "retention", "selection_summary", "summarize", "summary_rows"]

#: Summary keys of the retention groups, the table column each counts, and their names in tables and figures.
RETENTION_GROUPS = (("by_class", LABEL, "class"), ("by_cluster", CLUSTER, "cluster"),
                    ("by_flipped", FLIPPED, "flipped label"))


def retention(values: pa.Array | pa.ChunkedArray, kept: np.ndarray) -> list[dict[str, Any]]:
    """Rows and kept rows per distinct value of ``values``, in sorted order (missing values last, as ``None``)."""
    counts = (
        pa.table({"group": values, "kept": pa.array(np.asarray(kept, dtype=np.int64))})
        .group_by("group").aggregate([("kept", "count"), ("kept", "sum")])
        .sort_by([("group", "ascending")])
    )
    return [
        {"group": group, "rows": total, "kept": n_kept, "kept_fraction": round(n_kept / total, 4)}
        for group, total, n_kept in zip(*(counts.column(c).to_pylist() for c in ("group", "kept_count", "kept_sum")))
    ]


def summarize(table: pa.Table) -> dict[str, Any]:
    """Numbers that describe one selection table.

    Returns
    -------
    dict
        ``rows``, ``kept``; ``by_class``, ``by_cluster`` and ``by_flipped`` (rows and kept
        per group, when the columns exist); ``by_rule`` (rows dropped per rule, for
        rule-based pruners); and ``scores``: per score column the range of kept and
        dropped values, which shows where the cut fell.
    """
    kept = table.column(KEPT).to_numpy(zero_copy_only=False).astype(bool)
    summary: dict[str, Any] = {"rows": table.num_rows, "kept": int(kept.sum()), "scores": {}}
    for key, column, _ in RETENTION_GROUPS:
        if column in table.column_names:
            summary[key] = retention(table.column(column), kept)
    if DROPPED_BY in table.column_names:
        rules = [r for r in table.column(DROPPED_BY).to_pylist() if r is not None]
        summary["by_rule"] = [{"rule": r, "dropped": rules.count(r)} for r in sorted(set(rules))]
    for column in score_columns(table):
        values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        entry = {}
        for part, mask in (("kept", kept), ("dropped", ~kept)):
            chosen = values[mask & ~np.isnan(values)]
            entry[f"{part}_min"] = float(chosen.min()) if chosen.size else None
            entry[f"{part}_max"] = float(chosen.max()) if chosen.size else None
        summary["scores"][column] = entry
    return summary


def selection_summary(
    scored: Dataset,
    positions: np.ndarray,
    *,
    label_column: str | None = "label",
    cluster_column: str | None = "cluster_id",
    score_columns: Sequence[str] | None = None,
) -> dict[str, Any]:
    """:func:`summarize` of the selection ``positions`` of ``scored`` (labels by name)."""
    return summarize(selection_table(
        scored, positions, text_column=None, label_column=label_column, cluster_column=cluster_column,
        score_columns=score_columns, audio_column=None,
    ))


def summary_rows(summary: dict[str, Any], *, link: str | None = None) -> list[dict[str, Any]]:
    """The summary as flat table rows (for a Prefect table artifact or Markdown).

    With ``link`` (the report's address), the first row carries it, so the numbers
    lead to the rows behind them.
    """
    rows = [{"what": "all rows", "group": link or "", "rows": summary["rows"], "kept": summary["kept"]}]
    for key, _, label in RETENTION_GROUPS:
        for entry in summary.get(key, []):
            rows.append({"what": label, "group": str(entry["group"]), "rows": entry["rows"], "kept": entry["kept"]})
    for entry in summary.get("by_rule", []):
        rows.append({"what": "dropped by rule", "group": entry["rule"], "rows": entry["dropped"], "kept": 0})
    for column, entry in summary["scores"].items():
        rows.append({
            "what": f"score {column}",
            "group": f"kept [{_fmt(entry['kept_min'])}, {_fmt(entry['kept_max'])}]",
            "rows": f"dropped [{_fmt(entry['dropped_min'])}, {_fmt(entry['dropped_max'])}]",
            "kept": "",
        })
    return rows


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
