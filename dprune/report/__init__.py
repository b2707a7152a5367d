"""What a prune kept and dropped, for people to look at.

* :mod:`~dprune.report.table` -- the all-rows selection table (``scores.parquet``);
* :mod:`~dprune.report.summary` -- the numbers (per class, cluster, rule; score cut-offs);
* :mod:`~dprune.report.interactive` -- the self-contained interactive ``report.html``;
* :mod:`~dprune.report.figures` -- static PNGs for the README and Prefect artifacts;
* :mod:`~dprune.report.writer` -- the report folder from a table or a scored dataset.
"""

from dprune.report.data_map import DATA_MAP_COLUMNS, MAX_POINTS
from dprune.report.histograms import heavy_tailed
from dprune.report.interactive import EXTREME_ROWS
from dprune.report.summary import RETENTION_GROUPS, selection_summary, summarize, summary_rows
from dprune.report.table import scores_table, selection_table
from dprune.report.writer import ReportPaths, build_report, write_report

#: Kept for the earlier report API: rows per end and part in the extremes table.
EXAMPLES_PER_TABLE = EXTREME_ROWS

__all__ = [
    "DATA_MAP_COLUMNS", "EXAMPLES_PER_TABLE", "MAX_POINTS", "RETENTION_GROUPS", "ReportPaths", "build_report",
    "heavy_tailed", "scores_table", "selection_summary", "selection_table", "summarize", "summary_rows",
    "write_report",
]
