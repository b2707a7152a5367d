"""Stage ``selection``: the rows a pruner keeps, as ``row_id`` and position; the only stage a re-prune runs."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pyarrow as pa

from dprune.core.base import Pruner, column_to_numpy
from dprune.core.registry import ComponentSpec
from dprune.data import ROW_ID
from dprune.stages.runner import Stage, StageOutput, run_cached
from dprune.stages.scores import attach_scores

SELECTION = Stage("selection", version=1)


def prune_stage(
    store: Any,
    dataset_ref: Any,
    score_refs: Sequence[Any],
    pruner: Pruner | ComponentSpec | Mapping[str, Any] | str,
) -> Any:
    """Select rows with a pruner; store the kept ``row_id`` values and their positions."""
    if not isinstance(pruner, Pruner):
        pruner = ComponentSpec.parse(pruner).build_pruner()
    parents = [dataset_ref, *score_refs]

    def compute() -> StageOutput:
        scored = attach_scores(store, dataset_ref, score_refs)
        positions = pruner.fit_indices(scored)
        table = pa.table({ROW_ID: column_to_numpy(scored, ROW_ID)[positions], "position": positions})
        meta = {"rows_in": len(scored), "rows_kept": int(len(positions))}
        if isinstance(getattr(pruner, "failed_", None), dict):  # range pruners: rows each range rejected
            meta["rule_failures"] = pruner.failed_
        return StageOutput(table, meta=meta)

    key = SELECTION.key(pruner.config(), parents=[p.key for p in parents])
    return run_cached(store, SELECTION, pruner.config(), compute, parents=parents, key=key)
