"""The interactive report: one self-contained HTML file that works offline.

Plotly's own ``plotly.min.js`` (from the ``plotly`` package) is inlined, so the
page needs no network. It holds:

* an interactive data map (see :mod:`dprune.report.data_map`): hovering a point
  shows its text, label, scores and fate; a box or lasso selection lists its rows;
* the row explorer: a searchable, sortable table of the rows behind whatever was
  clicked last (a map selection, a histogram bin, a class or cluster bar, a
  summary line), with an audio player for rows that have audio;
* score histograms of kept and dropped rows (log axis for heavy-tailed scores,
  see :mod:`dprune.report.histograms`) with the kept range marked;
* kept and dropped rows per class, cluster, flipped label and drop rule;
* a searchable table of the most extreme kept and dropped rows of every score.

Counts use every row; the data map and the explorer show a random sample of at
most ``max_points`` rows, which keeps the file small at any dataset size.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa

from dprune.core.base import take_rows
from dprune.report.audio import audio_links
from dprune.report.data_map import MAX_POINTS, data_map_axes, sample_positions
from dprune.report.histograms import HEAVY_TAIL_RATIO, histogram
from dprune.report.summary import RETENTION_GROUPS
from dprune.report.table import AUDIO, CLUSTER, DROPPED_BY, FLIPPED, KEPT, LABEL, ROW_ID, TEXT

__all__ = ["EXTREME_ROWS", "page_identity", "plotly_js", "report_payload", "write_interactive"]

#: Rows per score, per end (lowest / highest) and per part (kept / dropped) in the extremes table.
EXTREME_ROWS = 10
#: Characters of text kept per row in the sample (hover and explorer) and in the extremes table.
SAMPLE_TEXT_CHARS, EXTREME_TEXT_CHARS = 280, 1000


def plotly_js() -> str:
    """The ``plotly.min.js`` bundled with the installed ``plotly`` package."""
    try:
        bundle = resources.files("plotly") / "package_data" / "plotly.min.js"
        return bundle.read_text(encoding="utf-8")
    except ModuleNotFoundError as error:
        raise ImportError("The interactive report needs plotly: pip install plotly") from error


def page_identity() -> str:
    """A hash of the page's template, script and Plotly version: part of a stored report's key."""
    import hashlib

    from plotly import __version__ as plotly_version

    digest = hashlib.sha256(plotly_version.encode())
    for name in ("page.html", "page.js"):
        digest.update((resources.files("dprune.report") / name).read_bytes())
    return digest.hexdigest()[:16]


def _short(text: Any, limit: int) -> Any:
    if not isinstance(text, str) or len(text) <= limit:
        return text
    return text[: limit - 1] + "\u2026"


def significant(values: np.ndarray, digits: int = 6) -> list[float | None]:
    """``values`` rounded to ``digits`` significant digits (short in JSON), None where not finite.

    Vectorized: an integer count of the last kept digit, scaled by an exact power of ten.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values) & (values != 0)
    rounded = np.where(np.isfinite(values), values, 0.0)
    shift = (digits - 1) - np.floor(np.log10(np.abs(values[finite]))).astype(np.int64)
    kept = values[finite]
    up, down = (shift >= 0) & (shift <= 300), shift < 0  # subnormal values stay as they are
    part = kept.copy()
    part[up] = np.round(kept[up] * 10.0 ** shift[up]) / 10.0 ** shift[up]
    part[down] = np.round(kept[down] / 10.0 ** -shift[down]) * 10.0 ** -shift[down]
    rounded[finite] = part
    out: list[float | None] = rounded.tolist()
    for index in np.flatnonzero(~np.isfinite(values)).tolist():
        out[index] = None
    return out


def _rows(table: pa.Table, positions: np.ndarray, scores: Sequence[str], text_chars: int, output_dir: Path,
          *, copy_audio: bool) -> dict[str, Any]:
    part = take_rows(table, positions)  # the sampled rows alone, not a copy of the whole text column
    rows: dict[str, Any] = {ROW_ID: part.column(ROW_ID).to_pylist(), KEPT: part.column(KEPT).to_pylist()}
    for column in (LABEL, CLUSTER, DROPPED_BY, FLIPPED):
        rows[column] = part.column(column).to_pylist() if column in part.column_names else None
    rows[TEXT] = [_short(t, text_chars) for t in part.column(TEXT).to_pylist()] if TEXT in part.column_names else None
    rows[AUDIO] = (
        audio_links(part.column(AUDIO).to_pylist(), rows[ROW_ID], output_dir, copy=copy_audio)
        if AUDIO in part.column_names else None
    )
    rows["scores"] = {c: significant(part.column(c).to_numpy(zero_copy_only=False)) for c in scores}
    return rows


def _extremes(table: pa.Table, kept: np.ndarray, scores: Sequence[str], output_dir: Path) -> dict[str, Any]:
    picks: list[tuple[int, str, str, str]] = []
    for column in scores:
        values = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        for part, mask in (("kept", kept), ("dropped", ~kept)):
            rows = np.flatnonzero(mask & np.isfinite(values))
            order = rows[np.argsort(values[rows], kind="stable")]
            picks += [(int(i), column, "lowest", part) for i in order[:EXTREME_ROWS]]
            picks += [(int(i), column, "highest", part) for i in order[::-1][:EXTREME_ROWS]]
    positions = np.array([p[0] for p in picks], dtype=np.int64)
    rows = _rows(table, positions, scores, EXTREME_TEXT_CHARS, output_dir, copy_audio=True)
    rows.update(score=[p[1] for p in picks], end=[p[2] for p in picks], part=[p[3] for p in picks])
    rows["value"] = [rows["scores"][column][i] for i, column in enumerate(rows["score"])]
    return rows


def report_payload(
    table: pa.Table,
    summary: dict[str, Any],
    output_dir: Path,
    *,
    title: str,
    max_points: int = MAX_POINTS,
    seed: int = 0,
    figures: Sequence[Path] = (),
) -> dict[str, Any]:
    """Everything the page draws, as JSON-able data (audio clips are written under ``output_dir``)."""
    kept = table.column(KEPT).to_numpy(zero_copy_only=False).astype(bool)
    scores = list(summary["scores"])
    sample = sample_positions(table.num_rows, max_points, seed=seed)
    axes = data_map_axes(table)
    histograms = []
    for column in scores:
        hist = histogram(table.column(column).to_numpy(zero_copy_only=False), kept)
        entry = summary["scores"][column]
        histograms.append({
            "column": column, "log": hist.log, "edges": significant(hist.edges), "kept": hist.kept.tolist(),
            "dropped": hist.dropped.tolist(), "missing": hist.missing,
            "kept_range": [entry["kept_min"], entry["kept_max"]],
        })
    retention = [
        {"key": key, "field": column, "what": label, "groups": summary[key]}
        for key, column, label in RETENTION_GROUPS if summary.get(key)
    ]
    return {
        "title": title,
        "rows": table.num_rows,
        "kept": int(kept.sum()),
        "score_columns": scores,
        "summary": summary,
        "sample": _rows(table, sample, scores, SAMPLE_TEXT_CHARS, output_dir, copy_audio=False),
        "map": {"kind": axes.kind, "x": axes.x, "y": axes.y, "x_log": axes.x_log, "y_log": axes.y_log},
        "histograms": histograms,
        "heavy_tail_ratio": HEAVY_TAIL_RATIO,
        "retention": retention,
        "extremes": _extremes(table, kept, scores, output_dir),
        "figures": [Path(f).name for f in figures],
    }


def _json_script(payload: dict[str, Any]) -> str:
    # "<" escaped so no text can close the <script> element; NaN was already turned into null.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")


def write_interactive(
    table: pa.Table,
    summary: dict[str, Any],
    output_dir: Path,
    *,
    title: str = "dPrune selection report",
    max_points: int = MAX_POINTS,
    seed: int = 0,
    figures: Sequence[Path] = (),
) -> Path:
    """Write ``report.html`` (self-contained: data, code and Plotly inline) into ``output_dir``."""
    payload = report_payload(table, summary, output_dir, title=title, max_points=max_points, seed=seed,
                             figures=figures)
    page = (resources.files("dprune.report") / "page.html").read_text(encoding="utf-8")
    script = (resources.files("dprune.report") / "page.js").read_text(encoding="utf-8")
    parts = {
        "TITLE": html.escape(title),
        "PLOTLY": plotly_js().replace("</script", "<\\/script"),
        "DATA": _json_script(payload),
        "SCRIPT": script,
    }
    text = re.sub(r"\{\{(TITLE|PLOTLY|DATA|SCRIPT)\}\}", lambda match: parts[match.group(1)], page)
    path = output_dir / "report.html"
    path.write_text(text, encoding="utf-8")
    return path
