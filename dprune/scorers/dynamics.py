"""Scorers derived from training dynamics (cheap: a reduction over recorded presentations).

Each scorer reads a :class:`~dprune.dynamics.records.Dynamics` (from
:class:`~dprune.dynamics.callback.ForgettingCallback`, :func:`~dprune.dynamics.probe.train_linear_probe`,
:func:`~dprune.dynamics.finetune.finetune_dynamics`, a saved file or a store artifact),
matches its examples to the dataset's rows by ``row_id`` (or by position when
training had no ids), checks the labels agree, and reduces each example's
presentations to one number. Everything is computed per training seed and
averaged over seeds.

================================  ============================================================
scorer (registry name)            score
================================  ============================================================
``ForgettingScorer``              learned -> forgotten transitions (Toneva et al., ICLR 2019);
(``forgetting``)                  never-learned examples rank above every learned one
``AUMScorer`` (``aum``)           area under the margin: mean of gold logit minus largest
                                  other logit (Pleiss et al., NeurIPS 2020); low = likely
                                  mislabeled
``EL2NScorer`` (``el2n``)         L2 norm of softmax minus one-hot, early in training, model in
                                  eval mode (Paul et al., NeurIPS 2021); high = hard / important
``DataMapConfidenceScorer``       mean probability of the gold label (Swayamdipta et al.,
(``data_map_confidence``)         EMNLP 2020)
``DataMapVariabilityScorer``      standard deviation of that probability across epochs
(``data_map_variability``)
``DataMapCorrectnessScorer``      fraction of presentations classified correctly
(``data_map_correctness``)
``TrainingLossScorer``            mean training loss of the gold label
(``training_loss``)
================================  ============================================================
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.base import Scorer
from dprune.dynamics.records import NEVER_LEARNED_OPTIONS, Dynamics

#: How EL2N is measured: end-of-epoch evaluation in eval mode (the paper) or the training pass.
EL2N_MODES = ("eval", "forward")
from dprune.core.params import NON_EMPTY_STR, NONE, Interval, Options, Predicate
from dprune.core.registry import register_scorer

__all__ = [
    "AUMScorer",
    "DataMapConfidenceScorer",
    "DataMapCorrectnessScorer",
    "DataMapVariabilityScorer",
    "DynamicsScorer",
    "EL2NScorer",
    "ForgettingScorer",
    "TrainingLossScorer",
    "as_dynamics",
]


def _is_callback(value: Any) -> bool:
    # dprune.dynamics.callback imports transformers: only look for the class if it was ever imported.
    module = sys.modules.get("dprune.dynamics.callback")
    return module is not None and isinstance(value, module.ForgettingCallback)


def _is_source(value: Any) -> bool:
    from dprune.store import ArtifactRef

    if isinstance(value, (Dynamics, pa.Table, ArtifactRef, os.PathLike)) or _is_callback(value):
        return True
    return isinstance(value, str) and len(value) > 0


_SOURCE = Predicate(
    _is_source,
    "a Dynamics, a ForgettingCallback that has trained, a dynamics table, a store ArtifactRef or the path "
    "of a file written by Dynamics.save",
)


def as_dynamics(source: Any, *, owner: str = "DynamicsScorer") -> Dynamics:
    """Turn any accepted dynamics source into a :class:`Dynamics`.

    Accepted: a :class:`Dynamics`; a :class:`~dprune.dynamics.callback.ForgettingCallback` that has
    recorded a training run; a ``pyarrow.Table`` from :meth:`Dynamics.to_table` (metadata in
    its schema metadata); an :class:`~dprune.store.ArtifactRef` of a
    dynamics artifact (opened with ``ArtifactStore(ref.root)``); a path written by
    :meth:`Dynamics.save`.
    """
    from dprune.store import ArtifactRef, ArtifactStore

    if isinstance(source, Dynamics):
        return source
    if _is_callback(source):
        return source.dynamics
    if isinstance(source, pa.Table):
        return Dynamics.from_table(source)
    if isinstance(source, ArtifactRef):
        return Dynamics.from_store(ArtifactStore(source.root), source)
    if isinstance(source, (str, os.PathLike)):
        return Dynamics.load(source)
    raise TypeError(f"{owner} cannot read training dynamics from a {type(source).__name__}.")


class DynamicsScorer(Scorer):
    """Base of the dynamics scorers: align by row id, then apply one reduction.

    Subclasses implement :meth:`reduce`, returning one value per example of the
    dynamics (in :meth:`Dynamics.example_ids` order).

    Parameters
    ----------
    dynamics : Dynamics, ForgettingCallback, pyarrow.Table, ArtifactRef or path
        Where the training dynamics come from.
    id_column : str, default "row_id"
        Dataset column matched against the recorded ids. Ignored when training recorded
        positions (no id column); then the dataset must be the training set itself.
    label_column : str or None, default "label"
        When the dataset has this column, its labels must equal the labels trained on
        (mapped with the recorded label mapping); ``None`` skips the check.
    score_column : str, default "score"
        Output column.
    """

    #: Name of the constructor parameter holding the dynamics source.
    source_param = "dynamics"
    _parameter_constraints = {
        "dynamics": [_SOURCE],
        "id_column": [NON_EMPTY_STR],
        "label_column": [NONE, NON_EMPTY_STR],
        "score_column": [NON_EMPTY_STR],
    }

    def __init__(self, dynamics: Any, *, id_column: str = "row_id", label_column: str | None = "label",
                 score_column: str = "score"):
        self.dynamics = dynamics
        self.id_column = id_column
        self.label_column = label_column
        self.score_column = score_column

    def _dynamics(self) -> Dynamics:
        return as_dynamics(getattr(self, self.source_param), owner=type(self).__name__)

    def required_columns(self) -> list[str]:
        return [self.id_column] if self._dynamics().id_column is not None else []

    def reduce(self, dynamics: Dynamics) -> np.ndarray:
        """One value per example of ``dynamics`` (the one method to implement)."""
        raise NotImplementedError(f"{type(self).__name__} must implement reduce(dynamics).")

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        dynamics = self._dynamics()
        owner = type(self).__name__
        index = dynamics.align(dataset, id_column=self.id_column, label_column=self.label_column, owner=owner)
        values = np.asarray(self.reduce(dynamics), dtype=np.float64)[index]
        missing = np.isnan(values)
        if missing.any():
            raise ValueError(
                f"{owner}: {int(missing.sum())} rows have no value (e.g. row positions "
                f"{np.flatnonzero(missing)[:5].tolist()}); {self._missing_hint()}"
            )
        return values

    def _missing_hint(self) -> str:
        return "their examples were not presented in the epochs this score uses."


@register_scorer("forgetting")
class ForgettingScorer(DynamicsScorer):
    """Number of forgetting events per example (Toneva et al., ICLR 2019).

    "An Empirical Study of Example Forgetting during Deep Neural Network Learning": a
    forgetting event is a presentation misclassified right after a presentation classified
    correctly. Examples forgotten often (or never learned) are hard or mislabeled;
    unforgettable examples can be pruned with little loss.

    Parameters
    ----------
    forgetting_callback : ForgettingCallback, Dynamics, pyarrow.Table, ArtifactRef or path
        The callback that watched training (original dPrune usage) or any dynamics source.
    never_learned : {"above_all", "zero"}, default "above_all"
        The paper counts never-learned examples as forgotten infinitely often; ``"above_all"``
        gives them one more than the largest observed count, so they rank above every
        learned example. ``"zero"`` is the original dPrune rule (0, like unforgettable
        examples).
    id_column, label_column, score_column
        See :class:`DynamicsScorer`.
    """

    source_param = "forgetting_callback"
    _parameter_constraints = {
        **{k: v for k, v in DynamicsScorer._parameter_constraints.items() if k != "dynamics"},
        "forgetting_callback": [_SOURCE],
        "never_learned": [Options(NEVER_LEARNED_OPTIONS)],
    }

    def __init__(self, forgetting_callback: Any, *, never_learned: str = "above_all", id_column: str = "row_id",
                 label_column: str | None = "label", score_column: str = "score"):
        self.forgetting_callback = forgetting_callback
        self.never_learned = never_learned
        self.id_column = id_column
        self.label_column = label_column
        self.score_column = score_column

    def reduce(self, dynamics: Dynamics) -> np.ndarray:
        return dynamics.forgetting_events(never_learned=self.never_learned)


@register_scorer("aum")
class AUMScorer(DynamicsScorer):
    """Area under the margin (Pleiss et al., NeurIPS 2020).

    "Identifying Mislabeled Data using the Area Under the Margin Ranking": the margin of a
    presentation is the gold-class logit minus the largest other logit; AUM is its mean over
    training. Mislabeled examples have low (negative) AUM: prune the *lowest* scores to
    remove label noise (e.g. ``TopKPruner`` keeps the highest).
    """

    def reduce(self, dynamics: Dynamics) -> np.ndarray:
        return dynamics.mean("margin")


@register_scorer("el2n")
class EL2NScorer(DynamicsScorer):
    """Error L2-norm early in training (Paul et al., NeurIPS 2021).

    "Deep Learning on a Data Diet": the L2 norm of ``softmax(logits) - one_hot(label)``
    measured after a few epochs, averaged over seeds (the paper averages 10 runs). High
    EL2N marks examples that matter for generalization; the lowest can be pruned.

    Parameters
    ----------
    epoch : int, "all" or None, default None
        Which recorded epoch (0-based; negative counts from the last) to use. ``None``:
        the second epoch, the earliest at which every example has been seen once (the
        only epoch if just one was recorded). ``"all"``: the mean over every recorded
        epoch (with partial fine-tuning's evaluation of every epoch, the mean over both
        epochs and seeds ranked flipped labels best, README "Cheaper routes to fine-tuning quality").
    mode : {"eval", "forward"}, default "eval"
        ``"eval"``, as in the paper: the norm from the end-of-epoch evaluation of every
        example with the model in eval mode (records with ``phase="eval"``, written by the
        trainers' ``eval_epochs``, or dynamics recorded by an end-of-epoch prediction pass).
        ``"forward"``: the mean norm over the epoch's training presentations (dropout on,
        weights changing during the epoch), the earlier dPrune variant.
    """

    _parameter_constraints = {
        **DynamicsScorer._parameter_constraints,
        "epoch": [NONE, Interval(int, None, None), Options(("all",))],
        "mode": [Options(EL2N_MODES)],
    }

    def __init__(self, dynamics: Any, *, epoch: int | None = None, mode: str = "eval", id_column: str = "row_id",
                 label_column: str | None = "label", score_column: str = "score"):
        self.dynamics = dynamics
        self.epoch = epoch
        self.mode = mode
        self.id_column = id_column
        self.label_column = label_column
        self.score_column = score_column

    def reduce(self, dynamics: Dynamics) -> np.ndarray:
        source = dynamics
        if self.mode == "eval":
            source = dynamics.evaluation()
            if source is None:
                raise ValueError(
                    "EL2NScorer(mode='eval') needs end-of-epoch evaluations in eval mode, and these dynamics "
                    f"(source {dynamics.meta.get('source')!r}) record training presentations only. Record them with "
                    "eval_epochs=[...] (train_linear_probe, train_partial_finetune, the dynamics stage), or "
                    "ForgettingCallback(mode='predict'); or score mode='forward' (mean over the training pass)."
                )
        values = source.mean("el2n", epochs=None if self.epoch == "all" else [source.resolve_epoch(self.epoch)])
        ids, wanted = source.example_ids(), dynamics.example_ids()
        if np.array_equal(ids, wanted):
            return values
        # evaluations that skipped examples leave NaN there (reported by compute_scores)
        index = np.clip(np.searchsorted(ids, wanted), 0, max(len(ids) - 1, 0))
        return np.where(ids[index] == wanted, values[index], np.nan)

    def _missing_hint(self) -> str:
        return f"they were not presented in epoch {self.epoch!r} of any seed; choose another epoch."


@register_scorer("data_map_confidence")
class DataMapConfidenceScorer(DynamicsScorer):
    """Data-map confidence: mean gold-label probability over training (Swayamdipta et al., EMNLP 2020).

    "Dataset Cartography: Mapping and Diagnosing Datasets with Training Dynamics". High
    confidence and low variability: easy-to-learn; low confidence and low variability:
    hard-to-learn (often mislabeled). See :class:`dprune.pruners.data_map.DataMapRegionPruner`.
    """

    def reduce(self, dynamics: Dynamics) -> np.ndarray:
        return dynamics.mean("prob")


@register_scorer("data_map_variability")
class DataMapVariabilityScorer(DynamicsScorer):
    """Data-map variability: standard deviation of the gold-label probability across epochs
    (Swayamdipta et al., EMNLP 2020). High variability: ambiguous examples."""

    def reduce(self, dynamics: Dynamics) -> np.ndarray:
        return dynamics.std("prob")


@register_scorer("data_map_correctness")
class DataMapCorrectnessScorer(DynamicsScorer):
    """Data-map correctness: fraction of presentations classified correctly (Swayamdipta et al., EMNLP 2020)."""

    def reduce(self, dynamics: Dynamics) -> np.ndarray:
        return dynamics.mean("correct")


@register_scorer("training_loss")
class TrainingLossScorer(DynamicsScorer):
    """Mean cross-entropy of the gold label over training presentations (a loss-based
    difficulty score, recorded for free during training)."""

    def reduce(self, dynamics: Dynamics) -> np.ndarray:
        return dynamics.mean("loss")
