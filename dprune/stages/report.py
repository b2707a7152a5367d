"""Stage ``report``: the HTML report and figures of a selection, stored once per selection.

The report is keyed by the selection (and the dataset and scores it describes), so a
re-run with the same selection copies the stored files instead of drawing them again.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa

from dprune.core.base import column_to_numpy
from dprune.report import selection_summary, write_report
from dprune.stages.runner import Stage, StageOutput, run_cached
from dprune.stages.scores import attach_scores

REPORT = Stage("report", version=2)
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class PublishedReport:
    """The report copied into an output folder, and the numbers it shows."""

    html: Path
    figures: tuple[Path, ...]
    summary: dict


def report_stage(
    store: Any,
    dataset_ref: Any,
    score_refs: Sequence[Any],
    selection_ref: Any,
    output_dir: str | Path,
    *,
    text_column: str = "text",
    label_column: str | None = "label",
) -> PublishedReport:
    """Build (or reuse) the selection's report artifact and copy it into ``output_dir`` as a whole."""
    config = {"text_column": text_column, "label_column": label_column}
    parents = [dataset_ref, *score_refs, selection_ref]

    def compute(scratch: str) -> StageOutput:
        scored = attach_scores(store, dataset_ref, score_refs)
        positions = column_to_numpy(store.read(selection_ref), "position")
        label = label_column if label_column in scored.column_names else None
        summary = selection_summary(scored, positions, label_column=label)
        paths = write_report(scored, positions, scratch, text_column=text_column, label_column=label)
        files = {path.name: str(path) for path in (paths.html, *paths.figures)}
        files[SUMMARY_FILE] = json.dumps(summary).encode()
        table = pa.table({"file": list(files)})
        return StageOutput(table, files=files)

    with tempfile.TemporaryDirectory(prefix="dprune-report-") as scratch:
        ref = run_cached(store, REPORT, config, lambda: compute(scratch), parents=parents)
    return publish_report(store, ref, output_dir)


def publish_report(store: Any, ref: Any, output_dir: str | Path) -> PublishedReport:
    """Copy a stored report into ``output_dir``, replacing an older report there as a whole."""
    output = Path(output_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    names = store.read_table(ref).column("file").to_pylist()
    for name in names:
        shutil.copyfile(store.local_file(ref, name), staging / name)
    if output.exists():
        retired = output.with_name(f".{output.name}-old-{os.getpid()}")
        os.replace(output, retired)
        os.replace(staging, output)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, output)
    figures = tuple(output / name for name in names if name.endswith(".png"))
    summary = json.loads((output / SUMMARY_FILE).read_text())
    return PublishedReport(output / "report.html", figures, summary)
