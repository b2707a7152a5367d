"""Stage ``report``: the interactive report and figures of a selection, stored once per selection.

The report is keyed by the selection (and the dataset and scores it describes), so a
re-run with the same selection copies the stored files instead of drawing them again.
:func:`selection_table_of` reads the all-rows table of any stored selection (label
names, every score, cluster, kept, the rule that dropped a row): the content of the
report and, without text, of ``scores.parquet``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pyarrow as pa

from dprune.core.base import Pruner, column_to_numpy
from dprune.core.outputs import replace_path
from dprune.core.registry import PRUNERS
from dprune.data.labels import LabelMapping
from dprune.report import build_report, selection_table, summarize
from dprune.report.interactive import page_identity
from dprune.stages.runner import Stage, StageOutput, run_cached
from dprune.stages.scores import attach_scores, read_scores

REPORT = Stage("report", version=3)
SUMMARY_FILE = "summary.json"
CLUSTER_COLUMN = "cluster_id"


@dataclass(frozen=True)
class PublishedReport:
    """The report copied into an output folder, and the numbers it shows."""

    html: Path
    figures: tuple[Path, ...]
    summary: dict


def selection_parents(store: Any, selection_ref: Any) -> tuple[Any, list[Any]]:
    """The dataset and score artifacts a stored selection was made from (its manifest's parents)."""
    manifest = store.manifest(selection_ref)
    parents = [store.ref(p["stage"], p["key"]) for p in manifest.get("parents", [])]
    if not parents or parents[0].stage != "dataset":
        raise ValueError(
            f"{selection_ref.stage}/{selection_ref.key} is not a selection of a dataset (its parents are "
            f"{[p.name for p in parents]}). Pass a selection artifact: `dprune store ls --stage selection`."
        )
    return parents[0], parents[1:]


def drop_rules_of(pruner_config: dict, scored: Any) -> list[str | None] | None:
    """Per row, the rule that dropped it, when the selection's pruner is rule-based (else None)."""
    name = pruner_config.get("component")
    if name is None or name not in PRUNERS:
        return None
    if PRUNERS.get(name).drop_rules is Pruner.drop_rules:
        return None
    return PRUNERS.build(name, **pruner_config.get("params", {})).drop_rules(scored)


def selection_table_of(
    store: Any,
    selection_ref: Any,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    scored: Any = None,
    scores: Mapping[str, Any] | None = None,
) -> pa.Table:
    """The all-rows table of a stored selection (see :func:`dprune.report.selection_table`).

    The text and label columns default to the ones recorded when the dataset was
    loaded; label names come from the mapping recorded there, else from a
    ``ClassLabel`` feature. ``scored``: the selection's dataset with its scores already
    attached (:func:`~dprune.stages.scores.attach_scores`), and ``scores`` the score columns read
    for it (:func:`~dprune.stages.scores.read_scores`), so they are not read again. The table's
    score columns are these arrays themselves, not a second copy of them.
    """
    dataset_ref, score_refs = selection_parents(store, selection_ref)
    loaded = store.manifest(dataset_ref)
    text_column = text_column or loaded.get("config", {}).get("text_column") or "text"
    if label_column is None:
        label_column = loaded.get("config", {}).get("label_column")
    recorded = loaded.get("meta", {}).get("label_mapping")
    audio_column = loaded.get("meta", {}).get("audio_column")
    if scored is None:
        scores = read_scores(store, dataset_ref, score_refs) if scores is None else scores
        scored = attach_scores(store, dataset_ref, score_refs, scores)
    positions = column_to_numpy(store.read(selection_ref), "position")
    return selection_table(
        scored, positions,
        text_column=text_column if text_column in scored.column_names else None,
        label_column=label_column if label_column in scored.column_names else None,
        cluster_column=CLUSTER_COLUMN if CLUSTER_COLUMN in scored.column_names else None,
        label_mapping=LabelMapping.from_dict(recorded) if recorded else None,
        dropped_by=drop_rules_of(store.manifest(selection_ref).get("config", {}), scored),
        audio_column=audio_column or "audio",
        score_values=scores,
    )


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
    # The page's code is part of the key: a new template or Plotly draws a new report.
    config = {"text_column": text_column, "label_column": label_column, "page": page_identity()}
    parents = [dataset_ref, *score_refs, selection_ref]

    def compute(scratch: str) -> StageOutput:
        table = selection_table_of(store, selection_ref, text_column=text_column, label_column=label_column)
        build_report(table, scratch, title=f"dPrune selection {selection_ref.key[:12]}")
        files = {path.name: str(path) for path in sorted(Path(scratch).iterdir()) if path.is_file()}
        files[SUMMARY_FILE] = json.dumps(summarize(table)).encode()
        return StageOutput(pa.table({"file": list(files)}), files=files)

    with tempfile.TemporaryDirectory(prefix="dprune-report-") as scratch:
        ref = run_cached(store, REPORT, config, lambda: compute(scratch), parents=parents)
    return publish_report(store, ref, output_dir)


def rebuild_report(store: Any, selection_ref: Any, output_dir: str | Path) -> PublishedReport:
    """The report of any stored selection, from the store alone (nothing is recomputed but the report)."""
    dataset_ref, score_refs = selection_parents(store, selection_ref)
    config = store.manifest(dataset_ref).get("config", {})
    return report_stage(store, dataset_ref, score_refs, selection_ref, output_dir,
                        text_column=config.get("text_column") or "text", label_column=config.get("label_column"))


def publish_report(store: Any, ref: Any, output_dir: str | Path) -> PublishedReport:
    """Copy a stored report into ``output_dir``, replacing an older report there as a whole."""
    output = Path(output_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    names = store.read_table(ref).column("file").to_pylist()
    for name in names:
        shutil.copyfile(store.local_file(ref, name), staging / name)
    replace_path(staging, output)
    figures = tuple(output / name for name in names if name.endswith(".png"))
    summary = json.loads((output / SUMMARY_FILE).read_text())
    return PublishedReport(output / "report.html", figures, summary)
