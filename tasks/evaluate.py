"""Prefect tasks of the evaluation flow: flip labels, evaluate one method, publish the results."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from prefect import get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact

from dprune.evaluation.methods import Method
from dprune.evaluation.results import write_results
from dprune.evaluation.runner import EvaluationInputs, evaluate_detection, evaluate_full_data, evaluate_methods
from dprune.evaluation.noise import write_noisy_dataset
from dprune.store import ArtifactRef
from tasks.common import stage_task, store_of


@stage_task(name="flip-labels")
def flip_labels_task(
    dataset_ref: ArtifactRef, output_dir: str, *, fraction: float, seed: int, label_column: str
) -> str:
    """Write the dataset with a seeded ``fraction`` of its labels flipped; return the Parquet file's path."""
    dataset = store_of(dataset_ref).read(dataset_ref)
    paths = write_noisy_dataset(dataset, output_dir, fraction=fraction, seed=seed, label_column=label_column)
    get_run_logger().info("flipped %g%% of %d labels (seed %d) -> %s; record: %s", 100 * fraction, len(dataset),
                          seed, paths.parquet, paths.record)
    return str(paths.parquet.resolve())


def _log(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    logger = get_run_logger()
    for row in rows:
        logger.info("%s (seed %d), %g%% kept (%d rows): test accuracy %.4f", row["method"], row["seed"],
                    100 * row["fraction"], row["kept"], row["accuracy"])
    return list(rows)


@stage_task(name="evaluate")
def evaluate_task(inputs: EvaluationInputs, method: Method, fractions: Sequence[float]) -> list[dict[str, Any]]:
    """Select with ``method`` at every fraction, train the downstream model on each selection, test it."""
    return _log(evaluate_methods(inputs, [method], fractions))


@stage_task(name="evaluate-full-data")
def full_data_task(inputs: EvaluationInputs, seed: int = 0) -> list[dict[str, Any]]:
    """The reference rows: every training row (and, with flipped labels, every row with its clean label)."""
    return _log(evaluate_full_data(inputs, seed=seed))


@stage_task(name="flipped-label-detection")
def detection_task(inputs: EvaluationInputs, columns: Sequence[str], source: str) -> list[dict[str, Any]]:
    """The AUROC of ranking the flipped rows first by each score column of ``inputs``."""
    return evaluate_detection(inputs, columns, source=source)


@stage_task(name="evaluation-report")
def evaluation_report_task(rows: Sequence[dict[str, Any]], output_dir: str, title: str,
                           detection: Sequence[dict[str, Any]] = (), link_dir: str | None = None) -> dict[str, str]:
    """Write the results table (Parquet, Markdown), the plot and the flipped-label detection; publish them.

    ``link_dir``: the folder the plot will be found in, when ``output_dir`` is a staging folder
    that the flow moves into place afterwards (default ``output_dir``).
    """
    paths = write_results(rows, output_dir, title=title, detection=detection)
    create_markdown_artifact(key="dprune-evaluation", markdown=paths.markdown.read_text(encoding="utf-8"),
                             description=title)
    plot = Path(link_dir or output_dir) / paths.plot.name
    create_link_artifact(key="dprune-evaluation-plot", link=plot.resolve().as_uri(),
                         link_text="accuracy against kept fraction")
    get_run_logger().info("evaluation -> %s, %s, %s", paths.parquet, paths.markdown, paths.plot)
    return paths.to_dict()
