"""Per-example training dynamics: the record format, alignment by row id, and reductions.

A *dynamics table* has one row per presentation of a training example: which
seed and epoch, which optimizer step, which example (``position`` in the
training set and its ``row_id``), its gold class, what the model predicted,
and four numbers measured from the logits of that very forward pass:

=========  ==================================================================
column     meaning
=========  ==================================================================
seed       seed of the training run (several runs can share one table)
epoch      0-based epoch of the presentation
step       optimizer step (``global_step``) during which it was presented
position   index of the example in the training dataset
row_id     stable id of the example (``position`` when the data had no id)
label      gold class id (see the recorded :class:`~dprune.data.labels.LabelMapping`)
pred       arg-max class
correct    ``pred == label``
prob       softmax probability of the gold class
margin     gold logit minus the largest other logit (Pleiss et al., 2020)
loss       cross-entropy of the gold class
el2n       L2 norm of ``softmax - one_hot(label)`` (Paul et al., 2021)
phase      ``"train"``: a presentation in a training step (dropout on, before
           the update); ``"eval"``: an end-of-epoch evaluation of the example
           with the model in eval mode (what EL2N's paper measures)
=========  ==================================================================

:class:`Dynamics` wraps such a table plus its metadata (number of classes,
label mapping, id column, source); it aligns its examples to any dataset by
row id and reduces the presentations to one number per example. The scorers
in :mod:`dprune.scorers.dynamics` are thin wrappers over these reductions.
Every reduction is computed per seed and then averaged over seeds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dprune.core.base import MissingColumnError
from dprune.core.budget import fraction_count
from dprune.data.labels import LabelMapping

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from datasets import Dataset

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "PHASES",
    "Dynamics",
    "batch_dynamics",
    "check_eval_epochs",
    "data_map_regions",
    "dynamics_schema",
    "records_table",
]

FORMAT = "dprune-dynamics"
FORMAT_VERSION = 1
#: Key of the metadata blob in the Arrow schema metadata of a saved table.
_SCHEMA_META_KEY = b"dprune.dynamics"

_NUMERIC_FIELDS = ("prob", "margin", "loss", "el2n")
_FIELDS = ("seed", "epoch", "step", "position", "row_id", "label", "pred", "correct", *_NUMERIC_FIELDS)
#: ``phase`` values: training presentations and end-of-epoch evaluations.
PHASES = ("train", "eval")
NEVER_LEARNED_OPTIONS = ("above_all", "zero")
REGIONS = ("easy-to-learn", "ambiguous", "hard-to-learn")


def dynamics_schema(row_id_type: pa.DataType = pa.int64()) -> pa.Schema:
    """The Arrow schema of a dynamics table (``row_id`` may be int64 or string)."""
    return pa.schema(
        [
            pa.field("seed", pa.int64(), nullable=False),
            pa.field("epoch", pa.int32(), nullable=False),
            pa.field("step", pa.int64(), nullable=False),
            pa.field("position", pa.int64(), nullable=False),
            pa.field("row_id", row_id_type, nullable=False),
            pa.field("label", pa.int32(), nullable=False),
            pa.field("pred", pa.int32(), nullable=False),
            pa.field("correct", pa.bool_(), nullable=False),
            pa.field("prob", pa.float32(), nullable=False),
            pa.field("margin", pa.float32(), nullable=False),
            pa.field("loss", pa.float32(), nullable=False),
            pa.field("el2n", pa.float32(), nullable=False),
            pa.field("phase", pa.string(), nullable=False),
        ]
    )


def batch_dynamics(logits: "torch.Tensor", labels: "torch.Tensor") -> dict[str, "torch.Tensor"]:
    """Per-example statistics of one forward pass, computed on the logits' device.

    Parameters
    ----------
    logits : torch.Tensor of shape (batch, num_labels)
    labels : torch.Tensor of shape (batch,)
        Gold class ids.

    Returns
    -------
    dict of torch.Tensor
        ``pred`` (int), ``correct`` (bool), ``prob``, ``margin``, ``loss``, ``el2n`` (float32),
        detached from the graph.
    """
    import torch

    with torch.no_grad():
        logits = logits.detach().float()
        labels = labels.detach().long().view(-1, 1)
        logp = torch.log_softmax(logits, dim=-1)
        prob_all = logp.exp()
        gold_logit = logits.gather(1, labels).squeeze(1)
        others = logits.scatter(1, labels, float("-inf"))
        pred = logits.argmax(dim=-1)
        onehot = torch.zeros_like(prob_all).scatter_(1, labels, 1.0)
        return {
            "pred": pred,
            "correct": pred == labels.squeeze(1),
            "prob": prob_all.gather(1, labels).squeeze(1),
            "margin": gold_logit - others.max(dim=-1).values,
            "loss": -logp.gather(1, labels).squeeze(1),
            "el2n": torch.linalg.vector_norm(prob_all - onehot, dim=-1),
        }


def check_eval_epochs(eval_epochs: Sequence[int] | None, epochs: int, owner: str) -> tuple[int, ...]:
    """The epochs after which a trainer evaluates every example in eval mode.

    ``None``: the epoch :class:`~dprune.scorers.dynamics.EL2NScorer` reads by default (the
    second, or the only one; see :meth:`Dynamics.resolve_epoch`). ``()``: none.
    """
    if eval_epochs is None:
        return (min(1, epochs - 1),)
    values = tuple(eval_epochs)
    if any(isinstance(e, bool) or not isinstance(e, (int, np.integer)) or not 0 <= e < epochs for e in values):
        raise ValueError(
            f"The 'eval_epochs' parameter of {owner} must list epochs in [0, {epochs}) (0-based). "
            f"Got {eval_epochs!r} instead."
        )
    return tuple(sorted(set(int(e) for e in values)))


def records_table(columns: Mapping[str, Any], row_id_type: pa.DataType | None = None) -> pa.Table:
    """Build a dynamics table from column arrays (numpy or lists), casting to the schema.

    Without a ``phase`` column every row is a training presentation (``"train"``).
    """
    missing = [f for f in _FIELDS if f not in columns]
    if missing:
        raise ValueError(f"Dynamics records are missing column(s) {missing}; expected {list(_FIELDS)}.")
    row_ids = pa.array(columns["row_id"]) if not isinstance(columns["row_id"], pa.Array) else columns["row_id"]
    if row_id_type is None:
        is_text = pa.types.is_string(row_ids.type) or pa.types.is_large_string(row_ids.type)
        row_id_type = pa.string() if is_text else pa.int64()
    schema = dynamics_schema(row_id_type)
    arrays = []
    if "phase" not in columns:
        columns = {**columns, "phase": np.full(len(row_ids), PHASES[0], dtype=object)}
    for field in schema:
        values = row_ids if field.name == "row_id" else columns[field.name]
        array = values if isinstance(values, pa.Array) else pa.array(np.asarray(values))
        arrays.append(array.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


@dataclass(frozen=True)
class _Groups:
    """Presentations sorted by (seed, example, epoch, step), with dense group ids."""

    order: np.ndarray  # permutation of table rows
    key: np.ndarray  # seed_index * n_examples + example_index, in sorted order
    n_seeds: int
    n_examples: int


class Dynamics:
    """A table of per-presentation training dynamics plus its metadata.

    Build one from a training run (:class:`dprune.dynamics.callback.ForgettingCallback`,
    :func:`dprune.dynamics.probe.train_linear_probe`, :func:`dprune.dynamics.finetune.finetune_dynamics`),
    from a saved file (:meth:`load`) or from a store artifact (:meth:`from_store`).

    Parameters
    ----------
    table : pyarrow.Table
        Rows with the columns of :func:`dynamics_schema`. Rows whose ``phase`` is
        ``"eval"`` (end-of-epoch evaluations) are kept apart, in :meth:`evaluation`; every
        reduction of this object reads the training presentations only. Without a
        ``phase`` column every row is a training presentation.
    meta : dict, optional
        ``num_labels``, ``label_mapping`` (``LabelMapping.to_dict()`` or None),
        ``id_column`` (the dataset column the ``row_id`` values came from, or None when
        they are positions), ``n_examples`` (size of the training set), ``source`` and
        any other JSON-able provenance.
    """

    def __init__(self, table: pa.Table, meta: Mapping[str, Any] | None = None):
        if not isinstance(table, pa.Table):
            raise TypeError(f"Dynamics expects a pyarrow.Table. Got {type(table).__name__} instead.")
        missing = [f for f in _FIELDS if f not in table.column_names]
        if missing:
            raise ValueError(
                f"This table is not a dynamics table: it lacks column(s) {missing} (it has {table.column_names}). "
                "Build dynamics with ForgettingCallback, train_linear_probe or finetune_dynamics."
            )
        if meta is None:
            meta = _meta_from_schema(table.schema)
            if not meta:
                raise ValueError(
                    "This table carries no dynamics metadata (label mapping, id column): pass meta= explicitly, or "
                    "use a table written by Dynamics.to_table / Dynamics.save or a store dynamics artifact."
                )
        evaluations = None
        if "phase" in table.column_names:
            is_eval = pc.equal(table["phase"], PHASES[1])
            if pc.any(is_eval).as_py():
                evaluations = table.filter(is_eval).select(list(_FIELDS)).replace_schema_metadata(None)
                table = table.filter(pc.invert(is_eval))
        self.table = table.select(list(_FIELDS)).replace_schema_metadata(None)
        self.evaluations = evaluations
        self.meta = {"format": FORMAT, "version": FORMAT_VERSION, **dict(meta or {})}
        if self.meta.get("num_labels") is None and table.num_rows:
            self.meta["num_labels"] = int(pc.max(table["label"]).as_py()) + 1
        self._groups: _Groups | None = None
        self._identity: str | None = None
        self._example_ids: np.ndarray | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_columns(cls, columns: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> "Dynamics":
        """Build from a mapping of column name -> array (see :func:`dynamics_schema`)."""
        return cls(records_table(columns), meta)

    @classmethod
    def concat(cls, parts: Sequence["Dynamics"]) -> "Dynamics":
        """Join the tables of several runs (e.g. one per seed); their metadata must agree."""
        parts = list(parts)
        if not parts:
            raise ValueError("Dynamics.concat needs at least one Dynamics.")
        first = parts[0]
        for other in parts[1:]:
            for field in ("num_labels", "label_mapping", "id_column"):
                if first.meta.get(field) != other.meta.get(field):
                    raise ValueError(
                        f"Cannot join dynamics with different {field!r}: {first.meta.get(field)!r} vs "
                        f"{other.meta.get(field)!r}. Join only runs on the same dataset and labels."
                    )
        seeds = [set(p.seeds) for p in parts]
        for i in range(len(seeds)):
            for j in range(i + 1, len(seeds)):
                if seeds[i] & seeds[j]:
                    raise ValueError(
                        f"Cannot join dynamics that share seed(s) {sorted(seeds[i] & seeds[j])}; each run needs "
                        "its own seed."
                    )
        table = pa.concat_tables([p.records() for p in parts], promote_options="none")
        meta = dict(first.meta)
        meta["seeds"] = sorted(set().union(*seeds))
        return cls(table, meta)

    @classmethod
    def from_table(cls, table: pa.Table) -> "Dynamics":
        """Build from a table whose schema metadata carries the dynamics metadata (see :meth:`to_table`)."""
        return cls(table)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Dynamics":
        """Read a file written by :meth:`save` (Parquet)."""
        import pyarrow.parquet as pq

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No dynamics file at {path}. Write one with Dynamics.save(path).")
        return cls.from_table(pq.read_table(path))

    @classmethod
    def from_store(cls, store: Any, ref: Any) -> "Dynamics":
        """Read a dynamics artifact from an :class:`~dprune.store.ArtifactStore`."""
        table = store.read_table(ref)
        meta = store.manifest(ref).get("meta", {}).get("dynamics")
        if meta is None:
            raise ValueError(
                f"Artifact {getattr(ref, 'name', ref)} has no dynamics metadata; it was not written by a dprune "
                "dynamics stage."
            )
        return cls(table, meta)

    # ------------------------------------------------------------------ output
    def records(self) -> pa.Table:
        """All rows, training presentations then evaluations, with their ``phase`` column."""
        parts = [(self.table, PHASES[0])] + ([(self.evaluations, PHASES[1])] if self.evaluations is not None else [])
        return pa.concat_tables([
            part.append_column(pa.field("phase", pa.string(), nullable=False), pa.array([phase] * part.num_rows,
                                                                                       pa.string()))
            for part, phase in parts
        ])

    def evaluation(self) -> "Dynamics | None":
        """The end-of-epoch evaluations (model in eval mode) as a Dynamics of their own, or None.

        Dynamics recorded by an end-of-epoch prediction pass (``meta["mode"] == "predict"``,
        see :class:`~dprune.dynamics.callback.ForgettingCallback`) are evaluations already:
        they are returned as they are.
        """
        if self.evaluations is not None:
            return Dynamics(self.evaluations, {**self.meta, "mode": "predict"})
        return self if self.meta.get("mode") == "predict" else None

    def to_table(self) -> pa.Table:
        """All rows (see :meth:`records`) with the metadata embedded in the schema metadata."""
        return self.records().replace_schema_metadata({_SCHEMA_META_KEY: json.dumps(self.meta, sort_keys=True).encode()})

    def save(self, path: str | os.PathLike) -> str:
        """Write the table and metadata to one Parquet file (atomically); returns the path."""
        import pyarrow.parquet as pq

        path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        tmp = f"{path}.tmp-{os.getpid()}"
        pq.write_table(self.to_table(), tmp)
        os.replace(tmp, path)
        return path

    def dprune_identity(self) -> dict[str, Any]:
        """Content identity for cache keys: a hash of the table and the metadata."""
        if self._identity is None:
            from dprune.core.fingerprint import canonical_json, dataset_fingerprint, hash_text

            self._identity = hash_text(dataset_fingerprint(self.records()) + canonical_json(self.meta))
        return {"dynamics_sha256": self._identity}

    def __deepcopy__(self, memo: dict) -> "Dynamics":  # immutable: share it
        return self

    def __getstate__(self) -> dict:
        return {"table": self.records(), "meta": self.meta}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["table"], state["meta"])

    def __len__(self) -> int:
        return self.table.num_rows

    def __repr__(self) -> str:
        return (
            f"Dynamics({self.n_examples} examples, {len(self)} presentations, seeds={self.seeds}, "
            f"epochs={self.epochs}, source={self.meta.get('source')!r})"
        )

    # ------------------------------------------------------------------ properties
    @property
    def num_labels(self) -> int:
        """Number of classes."""
        return int(self.meta.get("num_labels") or 0)

    @property
    def label_mapping(self) -> LabelMapping | None:
        """How the original labels map to class ids, when it was recorded."""
        mapping = self.meta.get("label_mapping")
        return LabelMapping.from_dict(mapping) if mapping else None

    @property
    def id_column(self) -> str | None:
        """Dataset column the ``row_id`` values came from (None: they are positions)."""
        return self.meta.get("id_column")

    @property
    def seeds(self) -> list[int]:
        """Distinct seeds, sorted."""
        return sorted(pc.unique(self.table["seed"]).to_pylist())

    @property
    def epochs(self) -> list[int]:
        """Distinct epochs, sorted."""
        return sorted(pc.unique(self.table["epoch"]).to_pylist())

    @property
    def n_examples(self) -> int:
        """Number of distinct examples with at least one presentation."""
        return len(self.example_ids())

    def column(self, name: str) -> np.ndarray:
        """One column as a numpy array."""
        return self.table[name].to_numpy()

    def example_ids(self) -> np.ndarray:
        """Distinct ``row_id`` values, sorted; reductions return one value per entry, in this order."""
        if self._example_ids is None:
            self._example_ids = np.unique(self.table["row_id"].to_numpy(zero_copy_only=False))
        return self._example_ids

    def example_labels(self) -> np.ndarray:
        """Gold class id of each example (in :meth:`example_ids` order)."""
        g = self._grouping()
        labels = self.column("label")[g.order]
        example = g.key % g.n_examples
        out = np.full(g.n_examples, -1, dtype=np.int64)
        out[example] = labels
        return out

    # ------------------------------------------------------------------ alignment
    def align(
        self,
        dataset: "Dataset",
        *,
        id_column: str | None = "row_id",
        label_column: str | None = "label",
        owner: str = "Dynamics",
    ) -> np.ndarray:
        """For every row of ``dataset``, the index of its example in :meth:`example_ids`.

        Rows are matched by id (``id_column``) when the dynamics were recorded with ids,
        otherwise by position (then the dataset must have exactly the training set's
        length). When ``label_column`` is in the dataset its labels must equal the
        labels trained on.

        Raises
        ------
        KeyError
            The id column is missing.
        ValueError
            A row has no training record (not in the training set, or never presented),
            or its label differs from the trained one: the dataset is not the one trained on.
        """
        from dprune.core.base import column_to_numpy

        example_ids = self.example_ids()
        if self.id_column is not None:
            if id_column is None or id_column not in dataset.column_names:
                raise MissingColumnError(
                    f"{owner} aligns rows by id: the dynamics were recorded by {self.id_column!r} but the dataset "
                    f"has no column {id_column!r} (it has {dataset.column_names}). Score the dataset that was "
                    "trained on, with its id column."
                )
            ids = column_to_numpy(dataset, id_column)
        else:
            n_train = self.meta.get("n_examples")
            if n_train is not None and len(dataset) != n_train:
                raise ValueError(
                    f"{owner}: the dynamics were recorded by position on a training set of {n_train} rows, but the "
                    f"dataset has {len(dataset)} rows. Score exactly the dataset that was trained on (or train on "
                    "a dataset with a 'row_id' column so rows can be matched by id)."
                )
            ids = np.arange(len(dataset))
        try:
            index = np.searchsorted(example_ids, ids)
            index = np.clip(index, 0, max(len(example_ids) - 1, 0))
            found = example_ids[index] == ids if len(example_ids) else np.zeros(len(ids), dtype=bool)
        except TypeError as error:
            raise ValueError(
                f"{owner}: the dataset's {id_column!r} values ({np.asarray(ids).dtype}) cannot be compared with the "
                f"recorded ids ({example_ids.dtype}). Use the same id column as in training."
            ) from error
        found = np.asarray(found, dtype=bool)
        if not found.all():
            missing = np.asarray(ids)[~found]
            raise ValueError(
                f"{owner}: {int((~found).sum())} of {len(ids)} rows have no training record (e.g. "
                f"{id_column or 'position'} {missing[:5].tolist()}); the dynamics cover {len(example_ids)} examples. "
                "The dataset differs from the one trained on, or training never presented these rows "
                "(max_steps, dataloader_drop_last). Score the dataset that was trained on."
            )
        if label_column is not None and label_column in dataset.column_names:
            self._check_labels(dataset, label_column, index, ids, owner)
        return index.astype(np.int64)

    def _check_labels(self, dataset, label_column, index, ids, owner) -> None:
        from dprune.data.labels import encode_labels

        mapping = self.label_mapping
        try:
            if mapping is not None:
                labels, _ = encode_labels(dataset, label_column, mapping=mapping, owner=owner)
            else:
                from dprune.core.base import column_to_numpy

                raw = column_to_numpy(dataset, label_column)
                if raw.dtype.kind not in "iub":
                    return  # string labels and no recorded mapping: nothing to compare
                labels = raw.astype(np.int64)
        except ValueError as error:
            raise ValueError(
                f"{owner}: the dataset's labels do not match the labels trained on ({error}). The dataset "
                "differs from the one trained on."
            ) from error
        trained = self.example_labels()[index]
        bad = labels != trained
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{owner}: {int(bad.sum())} of {len(labels)} rows have a label different from the one they were "
                f"trained with (e.g. {self.id_column or 'position'} {np.asarray(ids)[first]!r}: dataset label class "
                f"{int(labels[first])}, trained class {int(trained[first])}). The dataset differs from the one "
                "trained on; score the dataset that was trained on, or retrain."
            )

    # ------------------------------------------------------------------ reductions
    def _grouping(self) -> _Groups:
        if self._groups is None:
            ids = self.table["row_id"].to_numpy(zero_copy_only=False)
            example = np.searchsorted(self.example_ids(), ids)
            seed_values, seed_index = np.unique(self.column("seed"), return_inverse=True)
            order = np.lexsort((self.column("step"), self.column("epoch"), example, seed_index))
            n_examples = len(self.example_ids())
            key = (seed_index.astype(np.int64) * n_examples + example)[order]
            self._groups = _Groups(order=order, key=key, n_seeds=len(seed_values), n_examples=n_examples)
        return self._groups

    def _seed_average(self, per_group: np.ndarray) -> np.ndarray:
        """(n_seeds * n_examples,) with NaN where absent -> mean over the seeds that saw each example."""
        g = self._grouping()
        matrix = per_group.reshape(g.n_seeds, g.n_examples)
        present = ~np.isnan(matrix)
        counts = present.sum(axis=0)
        sums = np.where(present, matrix, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

    def _group_mean(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        g = self._grouping()
        values = np.asarray(values, dtype=np.float64)[g.order]
        key = g.key
        if mask is not None:
            mask = np.asarray(mask)[g.order]
            values, key = values[mask], key[mask]
        size = g.n_seeds * g.n_examples
        counts = np.bincount(key, minlength=size)
        sums = np.bincount(key, weights=values, minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

    def mean(self, field: str, *, epochs: Iterable[int] | None = None) -> np.ndarray:
        """Per-example mean of ``field`` over its presentations (optionally some epochs), averaged over seeds."""
        if field not in _FIELDS:
            raise ValueError(f"Unknown dynamics field {field!r}; expected one of {list(_FIELDS)}.")
        mask = None
        if epochs is not None:
            mask = np.isin(self.column("epoch"), np.asarray(list(epochs), dtype=np.int64))
        return self._seed_average(self._group_mean(self.column(field), mask))

    def std(self, field: str) -> np.ndarray:
        """Per-example population standard deviation of ``field`` over presentations, averaged over seeds."""
        mean = self._group_mean(self.column(field))
        mean_sq = self._group_mean(np.asarray(self.column(field), dtype=np.float64) ** 2)
        return self._seed_average(np.sqrt(np.clip(mean_sq - mean**2, 0.0, None)))

    def forgetting_events(self, *, never_learned: str = "above_all") -> np.ndarray:
        """Number of learned -> forgotten transitions per example (Toneva et al., ICLR 2019).

        A forgetting event is a presentation classified wrongly right after one classified
        correctly. Examples never classified correctly are, in the paper, forgotten
        infinitely often: with ``never_learned="above_all"`` they get one more than the
        largest count observed, so they rank above every learned example while staying a
        finite number; ``"zero"`` reproduces the original dPrune, which gave them 0 like
        unforgettable examples. Counts are averaged over seeds.
        """
        if never_learned not in NEVER_LEARNED_OPTIONS:
            raise ValueError(f"never_learned must be one of {NEVER_LEARNED_OPTIONS}. Got {never_learned!r} instead.")
        g = self._grouping()
        correct = self.column("correct")[g.order].astype(bool)
        size = g.n_seeds * g.n_examples
        same = g.key[1:] == g.key[:-1]
        forgot = same & correct[:-1] & ~correct[1:]
        events = np.bincount(g.key[1:][forgot], minlength=size).astype(np.float64)
        learned = np.bincount(g.key, weights=correct.astype(np.float64), minlength=size) > 0
        presented = np.bincount(g.key, minlength=size) > 0
        unlearned = presented & ~learned
        if never_learned == "above_all":
            ceiling = (events[presented & learned].max() if (presented & learned).any() else 0.0) + 1.0
            events[unlearned] = ceiling
        events[~presented] = np.nan
        return self._seed_average(events)

    def never_learned(self) -> np.ndarray:
        """Fraction of seeds in which each example was never classified correctly."""
        g = self._grouping()
        correct = self.column("correct")[g.order].astype(np.float64)
        size = g.n_seeds * g.n_examples
        presented = np.bincount(g.key, minlength=size) > 0
        learned = np.bincount(g.key, weights=correct, minlength=size) > 0
        out = np.where(presented, (~learned).astype(np.float64), np.nan)
        return self._seed_average(out)

    def resolve_epoch(self, epoch: int | None) -> int:
        """The recorded epoch an EL2N-style "early" score uses: ``None`` -> the second epoch
        (or the only one); negative values count from the last."""
        epochs = self.epochs
        if not epochs:
            raise ValueError("The dynamics are empty: no epoch was recorded.")
        if epoch is None:
            return epochs[min(1, len(epochs) - 1)]
        if epoch < 0:
            if -epoch > len(epochs):
                raise ValueError(f"epoch={epoch} is out of range: the dynamics have epochs {epochs}.")
            return epochs[epoch]
        if epoch not in epochs:
            raise ValueError(f"epoch={epoch} was not recorded: the dynamics have epochs {epochs}.")
        return epoch


def _meta_from_schema(schema: pa.Schema) -> dict[str, Any]:
    raw = (schema.metadata or {}).get(_SCHEMA_META_KEY)
    if raw is None:
        return {}
    return json.loads(raw.decode())


def data_map_regions(
    confidence: np.ndarray, variability: np.ndarray, *, fraction: float = 1 / 3
) -> np.ndarray:
    """Label each example with its data-map region (Swayamdipta et al., EMNLP 2020).

    Following the paper's selections, ``ambiguous`` is the ``fraction`` most variable
    examples; of the rest, ``easy-to-learn`` is the ``fraction`` most confident and
    ``hard-to-learn`` the ``fraction`` least confident (fractions of the whole set);
    anything else is ``"other"``.

    Returns
    -------
    numpy.ndarray of str
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    variability = np.asarray(variability, dtype=np.float64)
    if confidence.shape != variability.shape or confidence.ndim != 1:
        raise ValueError("confidence and variability must be 1-D arrays of the same length.")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1]. Got {fraction!r} instead.")
    n = len(confidence)
    k = fraction_count(fraction, n)
    labels = np.full(n, "other", dtype=object)
    positions = np.arange(n)
    ambiguous = np.lexsort((positions, -variability))[:k]
    labels[ambiguous] = "ambiguous"
    rest = labels == "other"
    by_conf_desc = [i for i in np.lexsort((positions, -confidence)) if rest[i]][:k]
    labels[by_conf_desc] = "easy-to-learn"
    rest = labels == "other"
    by_conf_asc = [i for i in np.lexsort((positions, confidence)) if rest[i]][:k]
    labels[by_conf_asc] = "hard-to-learn"
    return labels
