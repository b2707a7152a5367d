"""Evaluation results: a Parquet table, a Markdown table and a plot of accuracy against the kept fraction.

With flipped labels, the flipped-label detection of each score (AUROC, see
:func:`dprune.evaluation.runner.evaluate_detection`) is written beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dprune.core.outputs import OutputFiles
from dprune.evaluation.methods import FULL_DATA, FULL_DATA_CLEAN, RANDOM


@dataclass(frozen=True)
class EvaluationPaths(OutputFiles):
    """Files written by :func:`write_results`."""

    parquet: Path
    markdown: Path
    plot: Path
    detection: Path


@dataclass
class _Summary:
    """The rows regrouped: methods by fraction, the random band, the references."""

    fractions: list[float]
    methods: dict[str, dict[float, dict[str, Any]]]
    random: dict[float, list[dict[str, Any]]]
    references: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, rows: Sequence[Mapping[str, Any]]) -> "_Summary":
        fractions = {r["fraction"] for r in rows if r["method"] not in (FULL_DATA, FULL_DATA_CLEAN)}
        summary = cls(sorted(fractions), {}, {}, {})
        for row in rows:
            if row["method"] in (FULL_DATA, FULL_DATA_CLEAN):
                summary.references[row["method"]] = dict(row)
            elif row["method"] == RANDOM:
                summary.random.setdefault(row["fraction"], []).append(dict(row))
            else:
                summary.methods.setdefault(row["method"], {})[row["fraction"]] = dict(row)
        return summary

    def band(self, fraction: float, field_name: str = "accuracy") -> np.ndarray:
        values = [r[field_name] for r in self.random.get(fraction, []) if r[field_name] is not None]
        return np.array(values, dtype=float)


def _pct(value: float | None) -> str:
    return "–" if value is None or np.isnan(value) else f"{100 * value:.1f}"


def _fraction_header(fraction: float) -> str:
    return f"{100 * fraction:g}%"


def markdown_report(rows: Sequence[Mapping[str, Any]], *, title: str = "Evaluation") -> str:
    """Markdown tables: test accuracy per method and kept fraction (and, with label noise, flipped labels kept).

    Random is shown as the mean ± (sample) standard deviation over its seeds; a method's
    accuracy is bold where it is above every random seed at that fraction.
    """
    summary = _Summary.of(rows)
    header = "| method | " + " | ".join(_fraction_header(f) for f in summary.fractions) + " |"
    rule = "|---|" + "---:|" * len(summary.fractions)
    lines = [f"## {title}", ""]
    for name, row in summary.references.items():
        lines.append(f"- {name} ({row['kept']:,} rows): **{_pct(row['accuracy'])}%** test accuracy")
    seeds = sorted({r["seed"] for rs in summary.random.values() for r in rs})
    lines += ["", f"Test accuracy (%) by kept fraction. Random: mean ± std over seeds {seeds}; **bold**: above every "
              "random seed at that fraction.", "", header, rule]

    def random_cell(fraction: float, field_name: str) -> str:
        band = summary.band(fraction, field_name)
        return f"{_pct(band.mean())} ± {100 * band.std(ddof=1 if band.size > 1 else 0):.1f}" if band.size else "–"

    lines.append("| random | " + " | ".join(random_cell(f, "accuracy") for f in summary.fractions) + " |")
    for name, by_fraction in summary.methods.items():
        cells = []
        for fraction in summary.fractions:
            row, band = by_fraction.get(fraction), summary.band(fraction)
            cell = _pct(row["accuracy"]) if row else "–"
            cells.append(f"**{cell}**" if row and band.size and row["accuracy"] > band.max() else cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if any(r.get("flipped_kept") is not None for r in rows):
        lines += ["", "Share of kept rows whose label was flipped (%):", "", header, rule,
                  "| random | " + " | ".join(random_cell(f, "flipped_kept") for f in summary.fractions) + " |"]
        for name, by_fraction in summary.methods.items():
            cells = [_pct(by_fraction[f]["flipped_kept"]) if f in by_fraction else "–" for f in summary.fractions]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_accuracy(rows: Sequence[Mapping[str, Any]], path: str | Path, *, title: str = "Evaluation") -> Path:
    """Accuracy against kept fraction: one panel per method family, one line per method, random as a band.

    Every panel shows the random band (min to max over seeds, mean dashed) and the
    full-data reference (and the clean-label reference with label noise); a line
    keeps its colour (its scorer) in every panel. The accuracy axis starts 5 points
    below the random band, so the band stays readable; lines that drop below it are
    in the Markdown table.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = _Summary.of(rows)
    groups: dict[str, list[str]] = {}
    for name, by_fraction in summary.methods.items():
        groups.setdefault(next(iter(by_fraction.values()))["family"], []).append(name)
    lines = sorted({r["scorer"] or r["method"] for r in rows if r["method"] in summary.methods})
    colours = {s: plt.get_cmap("tab10")(i % 10) for i, s in enumerate(lines)}
    ncols = min(2, max(1, len(groups)))
    nrows = max(1, -(-len(groups) // ncols))
    spare = nrows * ncols > len(groups)  # the legend goes into the empty panel, or below the panels
    legend_height = 0 if spare else 0.6
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.3 * nrows + legend_height), squeeze=False)
    x = np.array(summary.fractions) * 100
    bands = [summary.band(f) for f in summary.fractions]
    lows = [b.min() for b in bands if b.size] + [r["accuracy"] for r in summary.references.values()]
    floor = max(0.0, 100 * min(lows) - 5) if lows else None
    handles: dict[str, Any] = {}
    for ax, (group, names) in zip(axes.flat, groups.items() or [("no methods", [])]):
        if all(b.size for b in bands):
            handles[f"random (min-max of {len(bands[0])} seeds)"] = ax.fill_between(
                x, [b.min() * 100 for b in bands], [b.max() * 100 for b in bands], color="0.8")
            ax.plot(x, [b.mean() * 100 for b in bands], color="0.5", linestyle="--", linewidth=1)
        for reference, style in ((FULL_DATA, ":"), (FULL_DATA_CLEAN, "-.")):
            if reference in summary.references:
                handles[reference] = ax.axhline(summary.references[reference]["accuracy"] * 100, color="black",
                                                linestyle=style, linewidth=1)
        below = False
        for name in names:
            points = summary.methods[name]
            key = next(iter(points.values()))["scorer"] or name
            values = [r["accuracy"] * 100 for r in points.values()]
            (handles[key],) = ax.plot([f * 100 for f in points], values, marker="o", markersize=3,
                                      color=colours[key])
            below = below or (floor is not None and min(values) < floor)
        if floor is not None:
            ax.set_ylim(bottom=floor)
        if below:
            ax.text(0.98, 0.03, "lower points off the axis: see the table", transform=ax.transAxes, ha="right",
                    fontsize=7, color="0.3")
        ax.set_title(group, fontsize=10)
        ax.set_xlabel("kept fraction (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(groups) or 1:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=11)
    if spare:
        axes.flat[-1].legend(handles.values(), handles.keys(), loc="center", fontsize=9, frameon=False)
    else:
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=min(5, max(1, len(handles))),
                   fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, legend_height / (3.3 * nrows + legend_height), 1, 1))
    path = Path(path)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def detection_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table of flipped-label AUROC: one line per score, one column per source (e.g. dynamics method)."""
    sources = list(dict.fromkeys(r["source"] for r in rows))
    scores = list(dict.fromkeys(r["score"] for r in rows))
    auroc = {(r["source"], r["score"]): r["auroc"] for r in rows}
    best = {s: max(auroc[s, c] for c in scores if (s, c) in auroc) for s in sources}
    lines = ["", f"Flipped-label detection: AUROC of ranking the {rows[0]['flipped']:,} flipped rows (of "
             f"{rows[0]['rows']:,}) first, each score's hard end first; **bold**: the best score of each column.", "",
             "| score | " + " | ".join(sources) + " |", "|---|" + "---:|" * len(sources)]
    for score in scores:
        cells = []
        for source in sources:
            value = auroc.get((source, score))
            cell = "–" if value is None else f"{value:.3f}"
            cells.append(f"**{cell}**" if value is not None and value == best[source] else cell)
        lines.append(f"| {score} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_results(
    rows: Sequence[Mapping[str, Any]], output_dir: str | Path, *, title: str = "Evaluation",
    detection: Sequence[Mapping[str, Any]] = (),
) -> EvaluationPaths:
    """Write ``results.parquet`` (one row per point), ``results.md``, ``accuracy.png`` and ``detection.parquet``
    (the ``detection`` rows of :func:`~dprune.evaluation.runner.evaluate_detection`; none on clean labels)."""
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    paths = EvaluationPaths(output / "results.parquet", output / "results.md", output / "accuracy.png",
                            output / "detection.parquet")
    schema = pa.schema([("method", pa.string()), ("family", pa.string()), ("pruner", pa.string()),
                        ("scorer", pa.string()), ("fraction", pa.float64()), ("kept", pa.int64()), ("seed", pa.int64()),
                        ("accuracy", pa.float64()), ("flipped_kept", pa.float64())])
    pq.write_table(pa.Table.from_pylist([dict(r) for r in rows], schema=schema), paths.parquet)
    detection_schema = pa.schema([("source", pa.string()), ("score", pa.string()), ("auroc", pa.float64()),
                                  ("flipped", pa.int64()), ("rows", pa.int64())])
    pq.write_table(pa.Table.from_pylist([dict(r) for r in detection], schema=detection_schema), paths.detection)
    markdown = markdown_report(rows, title=title) + (detection_markdown(detection) if detection else "")
    paths.markdown.write_text(markdown, encoding="utf-8")
    plot_accuracy(rows, paths.plot, title=title)
    return paths
