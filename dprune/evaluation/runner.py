"""Running an evaluation: each method selects at every keep fraction, a downstream model trains and is tested.

Each selection goes through the prune stage (so the scores come from the store and
each selection is stored too); a downstream model (:mod:`dprune.evaluation.downstream`)
trains on the kept rows and is tested on a test split. :func:`evaluate_methods` returns
one row per (method, fraction): ``method, family, pruner, scorer, fraction, kept, seed,
accuracy, flipped_kept``, where ``flipped_kept`` is the share of kept rows whose label
was flipped (see :mod:`dprune.evaluation.noise`; null on clean data).
:func:`evaluate_detection` measures, on flipped labels, how well each score ranks the
flipped rows first (AUROC), with no downstream model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from dprune.core.base import column_to_numpy
from dprune.core.registry import ComponentSpec
from dprune.data.labels import encode_labels
from dprune.evaluation.downstream import FineTunedClassifier, LinearProbe
from dprune.evaluation.noise import CLEAN_LABEL_COLUMN, FLIPPED_COLUMN
from dprune.stages.embeddings import read_embeddings
from dprune.stages.scores import attach_scores
from dprune.stages.selection import prune_stage
from dprune.store import ArtifactRef, ArtifactStore
from dprune.evaluation.methods import FULL_DATA, FULL_DATA_CLEAN, LOW_IS_HARD, OWNER, Method

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationInputs:
    """What every evaluation of one scored training set shares (small references, no data).

    Parameters
    ----------
    train, test : ArtifactRef
        Dataset artifacts of the training set (the one that was scored) and the test split.
    scores : tuple of ArtifactRef
        Score artifacts of the training set.
    train_embeddings, test_embeddings : ArtifactRef or None
        Embeddings artifacts (row-aligned with the datasets); the linear probe needs them.
    text_column, label_column : str
    downstream : {"probe", "finetune"}
        The model trained on each selection (see :mod:`dprune.evaluation.downstream`).
    downstream_options : dict
        Keyword settings of that model.
    """

    train: ArtifactRef
    test: ArtifactRef
    scores: tuple[ArtifactRef, ...]
    train_embeddings: ArtifactRef | None = None
    test_embeddings: ArtifactRef | None = None
    text_column: str = "text"
    label_column: str = "label"
    downstream: str = "probe"
    downstream_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> ArtifactStore:
        """The store the training set lives in."""
        return ArtifactStore(self.train.root)


def load_downstream(
    inputs: EvaluationInputs, *, train_label_column: str | None = None
) -> LinearProbe | FineTunedClassifier:
    """The downstream model of ``inputs``, trained on ``train_label_column`` (default: the label column)."""
    store = inputs.store
    train, test = store.read(inputs.train), store.read(inputs.test)
    _, mapping = encode_labels(train, inputs.label_column, owner=OWNER)
    train_labels, _ = encode_labels(train, train_label_column or inputs.label_column, mapping=mapping, owner=OWNER)
    test_labels, _ = encode_labels(test, inputs.label_column, mapping=mapping, owner=f"{OWNER} (test split)")
    options = dict(inputs.downstream_options)
    if inputs.downstream == "finetune":
        return FineTunedClassifier(train, train_labels, test, test_labels, num_labels=mapping.num_labels,
                                   text_column=inputs.text_column, **options)
    if inputs.train_embeddings is None or inputs.test_embeddings is None:
        raise ValueError("The linear probe (downstream='probe') needs train_embeddings and test_embeddings; "
                         "embed both splits (see dprune.stages.embed_stage) and pass their artifacts.")
    return LinearProbe(read_embeddings(store, inputs.train_embeddings), train_labels,
                       read_embeddings(store, inputs.test_embeddings), test_labels,
                       num_labels=mapping.num_labels, **options)


def _score_columns(store: ArtifactStore, refs: Sequence[ArtifactRef]) -> dict[str, ArtifactRef]:
    columns: dict[str, ArtifactRef] = {}
    for ref in refs:
        for column in store.read_table(ref).column_names:
            columns.setdefault(column, ref)
    return columns


def _flipped(store: ArtifactStore, dataset_ref: ArtifactRef) -> np.ndarray | None:
    dataset = store.read(dataset_ref)
    return column_to_numpy(dataset, FLIPPED_COLUMN).astype(bool) if FLIPPED_COLUMN in dataset.column_names else None


def _row(method: Method, fraction: float, positions: np.ndarray, accuracy: float, flipped: np.ndarray | None) -> dict:
    return {
        "method": method.name,
        "family": method.family,
        "pruner": method.pruner,
        "scorer": method.scorer,
        "fraction": float(fraction),
        "kept": int(len(positions)),
        "seed": method.seed,
        "accuracy": accuracy,
        "flipped_kept": None if flipped is None else float(flipped[positions].mean()),
    }


def evaluate_methods(
    inputs: EvaluationInputs, methods: Sequence[Method], fractions: Sequence[float]
) -> list[dict[str, Any]]:
    """Select with each method at each fraction (prune stage), train, test; one row per point.

    Each selection reads only the score artifacts its pruner needs and is stored
    (or found) as a ``selection`` artifact.

    Raises
    ------
    KeyError
        A method needs a score column that none of ``inputs.scores`` holds.
    """
    store = inputs.store
    model = load_downstream(inputs)
    flipped = _flipped(store, inputs.train)
    columns = _score_columns(store, inputs.scores)
    rows = []
    for method in methods:
        pruner = ComponentSpec(method.pruner, method.spec(1.0)["params"]).build_pruner()
        needed = pruner.required_columns()
        missing = [c for c in needed if c not in columns]
        if missing:
            raise KeyError(
                f"Method {method.name!r} needs score column(s) {missing}, but the scores of this run hold "
                f"{sorted(c for c in columns if c != 'row_id')}. Turn on the stage that computes it (for a dynamics "
                "score, list it in the dynamics stage's 'scores') or evaluate another scorer."
            )
        refs = list(dict.fromkeys(columns[c] for c in needed))
        for fraction in fractions:
            selection = prune_stage(store, inputs.train, refs, method.spec(fraction))
            positions = column_to_numpy(store.read(selection), "position")
            rows.append(_row(method, fraction, positions, model.accuracy(positions, seed=method.seed), flipped))
            logger.info("%s, %g%% kept (%d rows): accuracy %.4f", method.name, 100 * fraction, len(positions),
                        rows[-1]["accuracy"])
    return rows


def evaluate_full_data(inputs: EvaluationInputs, seed: int = 0) -> list[dict[str, Any]]:
    """The reference: every training row; with flipped labels, also every row with its clean label."""
    store = inputs.store
    flipped = _flipped(store, inputs.train)
    positions = np.arange(store.manifest(inputs.train)["num_rows"])
    references = [(Method(FULL_DATA, None, seed=seed), None)]
    if flipped is not None:
        references.append((Method(FULL_DATA_CLEAN, None, seed=seed), CLEAN_LABEL_COLUMN))
    rows = []
    for method, label_column in references:
        model = load_downstream(inputs, train_label_column=label_column)
        rows.append(_row(method, 1.0, positions, model.accuracy(positions, seed=seed), flipped))
        logger.info("%s (%d rows): accuracy %.4f", method.name, len(positions), rows[-1]["accuracy"])
    return rows


def evaluate_detection(inputs: EvaluationInputs, columns: Sequence[str], *, source: str) -> list[dict[str, Any]]:
    """AUROC of ranking the flipped rows first by each score column (its hard end first).

    A score of :data:`~dprune.evaluation.methods.LOW_IS_HARD` ranks its lowest values first,
    any other its highest. One row per column: ``source`` (e.g. the dynamics method that
    computed it), ``score``, ``auroc``, ``flipped`` (rows flipped) and ``rows``.

    Raises
    ------
    ValueError
        The training set records no flipped labels (evaluate with ``noise`` > 0).
    KeyError
        A column that none of ``inputs.scores`` holds.
    """
    from sklearn.metrics import roc_auc_score

    store = inputs.store
    flipped = _flipped(store, inputs.train)
    if flipped is None:
        raise ValueError("Flipped-label detection needs a training set with flipped labels: evaluate with noise > 0.")
    refs = _score_columns(store, inputs.scores)
    missing = [c for c in columns if c not in refs]
    if missing:
        raise KeyError(f"No score artifact of this run holds column(s) {missing}; they hold {sorted(refs)}.")
    scored = attach_scores(store, inputs.train, list(dict.fromkeys(refs[c] for c in columns)))
    rows = []
    for column in columns:
        values = column_to_numpy(scored, column).astype(float)
        hard_first = -values if column in LOW_IS_HARD else values
        if np.isnan(hard_first).all():
            continue
        hard_first = np.where(np.isnan(hard_first), np.nanmin(hard_first) - 1.0, hard_first)  # NaN: ranked last
        auroc = float(roc_auc_score(flipped, hard_first))
        rows.append({"source": source, "score": column, "auroc": auroc, "flipped": int(flipped.sum()),
                     "rows": int(len(flipped))})
        logger.info("%s %s: flipped-label AUROC %.4f", source, column, auroc)
    return rows
