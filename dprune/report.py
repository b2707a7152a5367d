"""What a prune kept and dropped: a summary table and an HTML report with figures.

:func:`selection_summary` gives the numbers (rows kept per class and per
cluster, and per flipped/clean label when the labels were flipped on purpose by
:mod:`dprune.evaluation.noise`; score cut-offs); :func:`write_report` adds the pictures a user
looks at before trusting a cut: score histograms with the cut lines, the data
map (confidence against variability) when training dynamics are present,
retention bars, and the most extreme kept and dropped examples (with an audio player
for each clip of a speech dataset).
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from datasets import Dataset

from dprune.audio.decode import AudioDecodeError, preview_bytes
from dprune.core.outputs import OutputFiles
from dprune.core.base import column_to_numpy
from dprune.data.audio import find_audio_column, refs_from_arrow
from dprune.evaluation.noise import FLIPPED_COLUMN

#: Data-map columns, under the flow's names or plain ones.
DATA_MAP_COLUMNS = {
    "confidence": ("data_map_confidence", "confidence"),
    "variability": ("data_map_variability", "variability"),
    "correctness": ("data_map_correctness", "correctness"),
}
EXAMPLES_PER_TABLE = 5
#: Summary keys of the retention groups and their names in tables and figures.
RETENTION_GROUPS = (("by_class", "class"), ("by_cluster", "cluster"), ("by_flipped", "flipped label"))
#: Fixed margins of the 6 x 3.2 in score histograms (room for a title, a label and 7-digit counts).
HISTOGRAM_MARGINS = {"left": 0.13, "right": 0.97, "bottom": 0.16, "top": 0.89}


def _float_columns(dataset: Dataset, exclude: Sequence[str]) -> list[str]:
    return [
        name
        for name, feature in dataset.features.items()
        if name not in exclude and getattr(feature, "dtype", None) in ("float32", "float64")
    ]


def _retention(values: np.ndarray, kept_mask: np.ndarray) -> list[dict[str, Any]]:
    groups, inverse = np.unique(values, return_inverse=True)
    total = np.bincount(inverse, minlength=len(groups))
    kept = np.bincount(inverse, weights=kept_mask, minlength=len(groups)).astype(int)
    return [
        {"group": g.item() if hasattr(g, "item") else g, "rows": int(t), "kept": int(k), "kept_fraction": round(k / t, 4)}
        for g, t, k in zip(groups, total, kept)
    ]


def selection_summary(
    scored: Dataset,
    positions: np.ndarray,
    *,
    label_column: str | None = "label",
    cluster_column: str | None = "cluster_id",
    score_columns: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Numbers that describe one selection.

    Returns
    -------
    dict
        ``rows``, ``kept``, ``by_class``, ``by_cluster`` and ``by_flipped`` (rows and
        kept per group, when the columns exist) and ``scores``: per score column the
        range of kept and dropped values, which shows where the cut fell.
    """
    kept_mask = np.zeros(len(scored), dtype=bool)
    kept_mask[np.asarray(positions, dtype=np.int64)] = True
    if score_columns is None:
        score_columns = _float_columns(scored, exclude=[label_column or "", cluster_column or ""])
    summary: dict[str, Any] = {"rows": len(scored), "kept": int(kept_mask.sum()), "scores": {}}
    for key, column in (("by_class", label_column), ("by_cluster", cluster_column), ("by_flipped", FLIPPED_COLUMN)):
        if column and column in scored.column_names:
            summary[key] = _retention(column_to_numpy(scored, column), kept_mask)
    for column in score_columns:
        values = column_to_numpy(scored, column).astype(np.float64)
        entry = {}
        for part, mask in (("kept", kept_mask), ("dropped", ~kept_mask)):
            chosen = values[mask & ~np.isnan(values)]
            entry[f"{part}_min"] = float(chosen.min()) if chosen.size else None
            entry[f"{part}_max"] = float(chosen.max()) if chosen.size else None
        summary["scores"][column] = entry
    return summary


def summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary as flat table rows (for a Prefect table artifact or Markdown)."""
    rows = [{"what": "all rows", "group": "", "rows": summary["rows"], "kept": summary["kept"]}]
    for key, label in RETENTION_GROUPS:
        for entry in summary.get(key, []):
            rows.append({"what": label, "group": str(entry["group"]), "rows": entry["rows"], "kept": entry["kept"]})
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


@dataclass(frozen=True)
class ReportPaths(OutputFiles):
    """Files written by :func:`write_report`."""

    html: Path
    figures: tuple[Path, ...]


def write_report(
    scored: Dataset,
    positions: np.ndarray,
    output_dir: str | Path,
    *,
    text_column: str = "text",
    label_column: str | None = "label",
    cluster_column: str | None = "cluster_id",
    score_columns: Sequence[str] | None = None,
    title: str = "dPrune selection report",
) -> ReportPaths:
    """Write ``report.html`` and PNG figures describing a selection into ``output_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    summary = selection_summary(
        scored, positions, label_column=label_column, cluster_column=cluster_column, score_columns=score_columns
    )
    kept_mask = np.zeros(len(scored), dtype=bool)
    kept_mask[np.asarray(positions, dtype=np.int64)] = True
    figures: list[Path] = []

    for column in summary["scores"]:
        values = column_to_numpy(scored, column).astype(np.float64)
        finite = np.isfinite(values)
        fig, ax = plt.subplots(figsize=(6, 3.2))
        bins = np.histogram_bin_edges(values[finite], bins=40) if finite.any() else 10
        # one filled outline per histogram, not one rectangle per bin: the same picture, drawn faster
        ax.hist(values[finite & kept_mask], bins=bins, alpha=0.7, label="kept", color="tab:green",
                histtype="stepfilled")
        ax.hist(values[finite & ~kept_mask], bins=bins, alpha=0.6, label="dropped", color="tab:red",
                histtype="stepfilled")
        entry = summary["scores"][column]
        for edge in {entry["kept_min"], entry["kept_max"]} - {None}:
            ax.axvline(edge, color="black", linestyle="--", linewidth=1)
        ax.set_xlabel(column)
        ax.set_ylabel("rows")
        ax.legend()
        ax.set_title(f"{column}: kept vs dropped (dashed: kept range)")
        fig.subplots_adjust(**HISTOGRAM_MARGINS)
        figures.append(_save(fig, output / f"hist_{column}.png", plt, tight=False))

    data_map = {
        role: next((c for c in names if c in scored.column_names), None) for role, names in DATA_MAP_COLUMNS.items()
    }
    if data_map["confidence"] and data_map["variability"]:
        fig, ax = plt.subplots(figsize=(5, 4.5))
        colour = column_to_numpy(scored, data_map["correctness"]) if data_map["correctness"] else None
        points = ax.scatter(
            column_to_numpy(scored, data_map["variability"]), column_to_numpy(scored, data_map["confidence"]),
            c=colour, cmap="viridis", s=4, alpha=0.6,
        )
        if colour is not None:
            fig.colorbar(points, ax=ax, label="correctness")
        ax.set_xlabel("variability")
        ax.set_ylabel("confidence")
        ax.set_title("Data map")
        figures.append(_save(fig, output / "data_map.png", plt))

    for key, label in RETENTION_GROUPS:
        entries = summary.get(key)
        if entries:
            fig, ax = plt.subplots(figsize=(max(4, 0.25 * len(entries) + 2), 3))
            ax.bar([str(e["group"]) for e in entries], [e["kept_fraction"] for e in entries], color="tab:blue")
            ax.set_ylim(0, 1)
            ax.set_xlabel(label)
            ax.set_ylabel("kept fraction")
            ax.set_title(f"Retention per {label}")
            figures.append(_save(fig, output / f"retention_{key.removeprefix('by_')}.png", plt))

    page = output / "report.html"
    page.write_text(_html(title, summary, figures, scored, kept_mask, text_column), encoding="utf-8")
    return ReportPaths(page, tuple(figures))


def _save(fig, path: Path, plt, *, tight: bool = True) -> Path:
    if tight:  # measuring the labels costs about a third of a figure's drawing time
        fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _player(scored: Dataset, audio_column: str, row: int) -> str:
    """An ``<audio>`` element playing row ``row``'s clip (embedded as Ogg Vorbis), or why it cannot."""
    ref = refs_from_arrow(scored.with_format("arrow")[row : row + 1][audio_column])[0]
    try:
        data = base64.b64encode(preview_bytes(ref)).decode("ascii")
    except AudioDecodeError as error:
        return f"<td>unplayable: {html.escape(error.reason)}</td>"
    return f'<td><audio controls preload="none" src="data:audio/ogg;base64,{data}"></audio></td>'


def _extremes(scored: Dataset, kept_mask: np.ndarray, column: str, text_column: str) -> str:
    values = column_to_numpy(scored, column).astype(np.float64)
    texts = scored[text_column] if text_column in scored.column_names else None
    audio_column = find_audio_column(scored)
    blocks = []
    for part, mask in (("kept", kept_mask), ("dropped", ~kept_mask)):
        rows = np.flatnonzero(mask & ~np.isnan(values))
        if rows.size == 0:
            continue
        order = rows[np.argsort(values[rows], kind="stable")]
        picks = {"lowest": order[:EXAMPLES_PER_TABLE], "highest": order[::-1][:EXAMPLES_PER_TABLE]}
        for end, chosen in picks.items():
            cells = "".join(
                f"<tr><td>{values[i]:.4g}</td><td>{html.escape(str(texts[i]) if texts is not None else str(i))}</td>"
                + (_player(scored, audio_column, int(i)) if audio_column else "") + "</tr>"
                for i in chosen
            )
            header = "<tr><th>score</th><th>text</th>" + ("<th>listen</th>" if audio_column else "") + "</tr>"
            blocks.append(f"<h4>{part}, {end} {html.escape(column)}</h4><table>{header}{cells}</table>")
    return "".join(blocks)


def _html(title, summary, figures, scored, kept_mask, text_column) -> str:
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>" for row in summary_rows(summary)
    )
    images = "".join(f'<figure><img src="{p.name}" alt="{p.stem}"></figure>' for p in figures)
    extremes = "".join(_extremes(scored, kept_mask, column, text_column) for column in summary["scores"])
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}figure{{display:inline-block;margin:.5em}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>Kept {summary['kept']:,} of {summary['rows']:,} rows.</p>
<h2>Summary</h2><table><tr><th>what</th><th>group</th><th>rows</th><th>kept</th></tr>{rows}</table>
<h2>Figures</h2>{images}
<h2>Most extreme kept and dropped examples</h2>{extremes}
</body></html>
"""
