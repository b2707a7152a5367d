"""Prefect task: the selection report, attached to the flow run as Prefect artifacts."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Sequence

from prefect import get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from dprune.report import summary_rows
from dprune.stages import report_stage
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="report")
def report_task(
    dataset_ref: ArtifactRef,
    score_refs: Sequence[ArtifactRef],
    selection_ref: ArtifactRef,
    output_dir: str,
    text_column: str = "text",
    label_column: str | None = "label",
    link_dir: str | None = None,
) -> str:
    """Publish the selection's report (built once per selection) in ``output_dir``; link it and its summary in Prefect.

    ``link_dir``: the folder the report will be found in, when ``output_dir`` is a staging folder
    that the flow moves into place afterwards (default ``output_dir``).
    """
    report = report_stage(
        store_of(dataset_ref), dataset_ref, list(score_refs), selection_ref, output_dir,
        text_column=text_column, label_column=label_column,
    )
    summary = report.summary
    link = (Path(link_dir or output_dir) / report.html.name).resolve().as_uri()
    create_table_artifact(
        key="dprune-selection",
        table=summary_rows(summary, link=link),
        description=f"Kept {summary['kept']} of {summary['rows']} rows (selection {selection_ref.key}). "
                    f"[Open the interactive report]({link}) to see the rows behind each number.",
    )
    create_link_artifact(key="dprune-report", link=link, link_text="dPrune selection report")
    create_markdown_artifact(
        key="dprune-report-figures", markdown=figures_markdown(report.figures),
        description="The report's figures (embedded PNG).",
    )
    get_run_logger().info("report -> %s", report.html)
    return str(report.html)


def figures_markdown(figures: Sequence[Path]) -> str:
    """Markdown showing each PNG figure inline (as a data URI, so the Prefect UI needs no file access)."""
    parts = []
    for figure in figures:
        data = base64.b64encode(Path(figure).read_bytes()).decode("ascii")
        parts.append(f"### {Path(figure).stem.replace('_', ' ')}\n\n![{Path(figure).stem}](data:image/png;base64,{data})")
    return "\n\n".join(parts) or "No figures."
