"""Class labels: map a label column to class ids, with clear errors for bad input.

Supervised stages (training dynamics, cross-entropy scoring) need integer class
ids ``0 .. num_labels - 1``. :func:`encode_labels` turns a label column into
those ids and returns the :class:`LabelMapping` it used, so the mapping can be
recorded next to any artifact built from the ids and applied again later.

* ``ClassLabel`` columns keep their ids; the mapping records the class names.
* Integer columns keep their values (``num_labels`` is ``max + 1`` unless given).
* String columns map sorted distinct values to ``0, 1, ...``.
* Boolean columns map ``False -> 0`` and ``True -> 1``.
* Floats are accepted only when every value is a whole number.

A missing column, missing (null) values, negative or out-of-range ids, and a
column holding one class only each raise an error naming the column, what was
expected, what was found and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasets import ClassLabel, Dataset

from dprune.core.base import MissingColumnError

__all__ = ["LabelMapping", "encode_labels", "label_array"]

_KINDS = ("class_label", "int", "str", "bool")


@dataclass(frozen=True)
class LabelMapping:
    """How label values map to class ids: class id ``i`` is ``values[i]``.

    Attributes
    ----------
    kind : str
        ``"class_label"``, ``"int"``, ``"str"`` or ``"bool"``: the type of the
        original labels.
    values : tuple
        The original label value of each class id (class names for a
        ``ClassLabel`` column, the ints ``0 .. n-1`` for an integer column).
    """

    kind: str
    values: tuple

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"LabelMapping kind must be one of {_KINDS}. Got {self.kind!r} instead.")

    @property
    def num_labels(self) -> int:
        """Number of classes."""
        return len(self.values)

    @property
    def names(self) -> list[str]:
        """Class names as strings, by class id (handy for ``id2label``)."""
        return [str(v) for v in self.values]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form, stored in artifact metadata."""
        return {"kind": self.kind, "values": list(self.values)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LabelMapping":
        """Inverse of :meth:`to_dict`."""
        return cls(kind=str(data["kind"]), values=tuple(data["values"]))

    def decode(self, ids: Sequence[int] | np.ndarray, *, column: str = "label") -> list[str | None]:
        """Class names of class ids, for people to read (a missing id stays None).

        Raises ``ValueError`` naming ids outside ``0 .. num_labels - 1``.
        """
        names = self.names
        out: list[str | None] = []
        for value in np.asarray(ids, dtype=object).tolist():
            if value is None:
                out.append(None)
                continue
            if not isinstance(value, (int, np.integer)) or not 0 <= value < len(names):
                raise ValueError(
                    f"Label column {column!r} holds {value!r}, which is not a class id of this mapping "
                    f"(0..{len(names) - 1} for {names}). Decode the ids the mapping was recorded with."
                )
            out.append(names[value])
        return out

    def encode(self, values: Sequence[Any] | np.ndarray, *, column: str = "label") -> np.ndarray:
        """Map raw label values (or class ids for ``class_label``/``int``) to class ids.

        Raises ``ValueError`` naming the unknown values.
        """
        array = np.asarray(values, dtype=object if self.kind == "str" else None)
        if self.kind in ("class_label", "int"):
            ids = _as_int_ids(array, column)
            bad = (ids < 0) | (ids >= self.num_labels)
            if bad.any():
                raise ValueError(
                    f"Label column {column!r} has {int(bad.sum())} value(s) outside the known classes "
                    f"0..{self.num_labels - 1} (e.g. {ids[bad][:5].tolist()}). Use the label ids the model was "
                    "trained with."
                )
            return ids
        lookup = {v: i for i, v in enumerate(self.values)}
        if self.kind == "bool":
            array = array.astype(bool)
        out = np.empty(len(array), dtype=np.int64)
        unknown = []
        for i, v in enumerate(array.tolist()):
            code = lookup.get(v)
            if code is None:
                unknown.append(v)
                out[i] = -1
            else:
                out[i] = code
        if unknown:
            raise ValueError(
                f"Label column {column!r} has {len(unknown)} value(s) not in the known classes "
                f"{list(self.values)} (e.g. {sorted(set(map(repr, unknown)))[:5]}). Use the labels the model was "
                "trained with."
            )
        return out


def _as_int_ids(array: np.ndarray, column: str) -> np.ndarray:
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            examples = array[array != np.round(array)][:3].tolist()
            raise ValueError(
                f"Label column {column!r} holds non-integer floats (e.g. {examples}); "
                "class labels must be whole numbers or strings. This looks like a regression target, which "
                "classification dynamics do not support."
            )
        return array.astype(np.int64)
    if array.dtype.kind == "b":
        return array.astype(np.int64)
    raise ValueError(f"Label column {column!r} must hold integer class ids. Got dtype {array.dtype} instead.")


def label_array(dataset: Dataset, label_column: str, *, owner: str = "dprune") -> pa.Array:
    """The label column as one Arrow array (index mappings honoured), with clear errors."""
    if not isinstance(label_column, str) or label_column not in dataset.column_names:
        raise MissingColumnError(
            f"{owner} needs a label column {label_column!r} but the dataset has {dataset.column_names}. "
            "Pass label_column=<the column holding class labels>, or add labels to the dataset."
        )
    chunked = dataset.with_format("arrow")[label_column]
    array = chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked
    if isinstance(array, pa.ChunkedArray):  # pragma: no cover - combine_chunks returns an Array
        array = array.chunk(0)
    return array


def encode_labels(
    data: Dataset | Sequence[Any] | np.ndarray | pa.Array,
    label_column: str = "label",
    *,
    num_labels: int | None = None,
    mapping: LabelMapping | None = None,
    ids: np.ndarray | None = None,
    owner: str = "dprune",
) -> tuple[np.ndarray, LabelMapping]:
    """Return class ids ``0 .. C-1`` for every row and the mapping used.

    Parameters
    ----------
    data : Dataset or array-like
        A dataset (its ``label_column`` is read) or the label values themselves.
    label_column : str, default "label"
        Column to read, and the name used in error messages.
    num_labels : int, optional
        Number of classes the model has; integer labels must lie in ``[0, num_labels)``.
    mapping : LabelMapping, optional
        Apply this existing mapping (e.g. the one recorded with a dynamics artifact)
        instead of deriving one.
    ids : array, optional
        Row ids used to point at offending rows in error messages.
    owner : str
        Named in error messages.

    Returns
    -------
    (numpy.ndarray of int64, LabelMapping)

    Raises
    ------
    KeyError
        The label column is missing.
    ValueError
        Null labels, negative or out-of-range ids, non-integer floats, or fewer than
        two classes.
    """
    feature = None
    if isinstance(data, Dataset):
        feature = data.features.get(label_column) if label_column in data.column_names else None
        array = label_array(data, label_column, owner=owner)
    elif isinstance(data, (pa.Array, pa.ChunkedArray)):
        array = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
    else:
        array = pa.array(np.asarray(data).tolist() if isinstance(data, np.ndarray) else list(data))

    n_null = array.null_count
    if n_null:
        nulls = np.flatnonzero(pc.is_null(array).to_numpy(zero_copy_only=False))
        where = _describe_rows(nulls, ids)
        raise ValueError(
            f"{owner}: label column {label_column!r} has {n_null} missing (null) value(s), {where}. "
            "Drop or fill the unlabeled rows before training or scoring (e.g. dataset.filter(lambda r: "
            f"r[{label_column!r}] is not None))."
        )

    if mapping is not None:
        return mapping.encode(array.to_numpy(zero_copy_only=False), column=label_column), mapping

    type_ = array.type
    if isinstance(feature, ClassLabel):
        codes = _as_int_ids(array.to_numpy(zero_copy_only=False), label_column)
        new = LabelMapping("class_label", tuple(feature.names))
        _check_range(codes, new.num_labels, label_column, ids, owner, what="ClassLabel ids")
    elif pa.types.is_boolean(type_):
        codes = array.to_numpy(zero_copy_only=False).astype(np.int64)
        new = LabelMapping("bool", (False, True))
    elif pa.types.is_integer(type_) or pa.types.is_floating(type_):
        codes = _as_int_ids(array.to_numpy(zero_copy_only=False), label_column)
        _check_range(codes, num_labels, label_column, ids, owner, what="integer class ids")
        count = int(num_labels) if num_labels is not None else int(codes.max()) + 1 if codes.size else 0
        new = LabelMapping("int", tuple(range(count)))
    elif pa.types.is_string(type_) or pa.types.is_large_string(type_) or pa.types.is_dictionary(type_):
        values = array.to_numpy(zero_copy_only=False)
        classes = sorted(set(values.tolist()))
        new = LabelMapping("str", tuple(classes))
        codes = new.encode(values, column=label_column)
    else:
        raise ValueError(
            f"{owner}: label column {label_column!r} has type {type_}; expected class labels as int, str, bool "
            "or ClassLabel. Convert the column (e.g. dataset.cast_column) before training."
        )

    if num_labels is not None and new.num_labels > num_labels:
        raise ValueError(
            f"{owner}: label column {label_column!r} has {new.num_labels} classes but num_labels={num_labels}."
        )
    present = np.unique(codes)
    if present.size < 2:
        only = new.values[int(present[0])] if present.size else None
        raise ValueError(
            f"{owner}: label column {label_column!r} holds a single class ({only!r}); training dynamics and "
            "supervised scores need at least two classes. Check the split or the label column."
        )
    return codes, new


def _check_range(codes, num_labels, column, ids, owner, *, what) -> None:
    low = codes < 0
    high = codes >= num_labels if num_labels is not None else np.zeros_like(low)
    bad = low | high
    if bad.any():
        expected = f"0..{num_labels - 1}" if num_labels is not None else ">= 0"
        hint = (
            " Negative ids (such as -1) usually mark unlabeled rows (e.g. a test split); filter them out."
            if low.any()
            else " Pass the right num_labels or fix the labels."
        )
        raise ValueError(
            f"{owner}: label column {column!r} must hold {what} in {expected}; {int(bad.sum())} row(s) do not "
            f"({_describe_rows(np.flatnonzero(bad), ids)}, values {codes[bad][:5].tolist()}).{hint}"
        )


def _describe_rows(positions: np.ndarray, ids: np.ndarray | None) -> str:
    head = positions[:5]
    if ids is not None:
        return f"row ids {np.asarray(ids)[head].tolist()}"
    return f"row positions {head.tolist()}"
