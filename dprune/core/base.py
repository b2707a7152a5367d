"""The Scorer and Pruner contracts.

A :class:`Scorer` adds one named float column to a ``datasets.Dataset``; a
:class:`Pruner` keeps a subset of rows. Both keep the original dPrune entry
points (``score(dataset, **kwargs)`` and ``prune(scored_dataset, **kwargs)``),
so a subclass that overrides them directly keeps working. Built-in components
instead implement one hook each (``compute_scores`` or ``select_indices``) and
leave column checks, naming, parameter validation and budget bookkeeping to
the base class.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import types
import uuid
import warnings
from typing import Any, ClassVar, Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
from datasets import Dataset

from dprune.core.mapped import release_mapped
from dprune.core.params import Constraint, validate_params

DEFAULT_SCORE_COLUMN = "score"


class Component:
    """Shared parameter machinery: explicit keyword parameters, ``get_params``, validation.

    Constructors store their keyword arguments unchanged under the same names
    and do no I/O; everything else is derived when the work starts.
    Subclasses declare allowed values in ``_parameter_constraints``.
    """

    _parameter_constraints: ClassVar[Mapping[str, list[Constraint]]] = {}
    #: Bump when the component's formula changes, so cached results keyed on it are recomputed.
    version: ClassVar[int] = 1

    @classmethod
    def param_names(cls) -> list[str]:
        """The constructor's keyword parameters, in signature order."""
        init = cls.__init__
        if init is object.__init__:
            return []
        signature = inspect.signature(init)
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """Return the constructor parameters of this component, by name."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> "Component":
        """Set constructor parameters by name; unknown names raise ``ValueError``."""
        valid = set(self.param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {name!r}. "
                    f"Valid parameters are: {sorted(valid)}."
                )
            setattr(self, name, value)
        return self

    def clone(self) -> "Component":
        """A new unfitted component with the same parameters (models are shared, not copied)."""
        params = {k: (v if _is_heavy(v) else copy.deepcopy(v)) for k, v in self.get_params().items()}
        return type(self)(**params)

    def validate_params(self) -> None:
        """Check every parameter against the declared constraints."""
        validate_params(type(self).__name__, self.get_params(), self._parameter_constraints)

    def config(self) -> dict[str, Any]:
        """A JSON-able description (name, version, parameters) for configs and cache keys.

        Models and other heavy objects are described by their identity (name or
        path plus a hash of their weights), not by value.
        """
        name = getattr(type(self), "registry_name", None) or f"{type(self).__module__}.{type(self).__qualname__}"
        params = {k: describe_value(v) for k, v in self.get_params().items()}
        return {"component": name, "version": self.version, "params": params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_short_repr(v)}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def describe_value(value: Any) -> Any:
    """JSON-able stand-in for a parameter value, used by :meth:`Component.config`."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [describe_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): describe_value(v) for k, v in value.items()}
    if isinstance(value, Component):
        return value.config()
    if isinstance(value, np.ndarray):
        return {"ndarray_sha256": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest(),
                "shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    identity = getattr(value, "dprune_identity", None)
    if callable(identity):
        return identity()
    state_dict = getattr(value, "state_dict", None)
    if callable(state_dict):  # a torch module: hash its weights
        import torch

        digest = hashlib.sha256()
        for name, tensor in sorted(state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        return {"model": type(value).__name__, "weights_sha256": digest.hexdigest()}
    name_or_path = getattr(value, "name_or_path", None)
    if isinstance(name_or_path, str):  # a tokenizer
        return {"object": type(value).__name__, "name_or_path": name_or_path}
    if callable(value):
        return _describe_callable(value)
    return {"object": type(value).__name__, "repr": repr(value)}


_WARNED_UNCACHEABLE: set[str] = set()
_IN_PROGRESS: set[int] = set()


def _code_identity(code: types.CodeType) -> list:
    consts = [_code_identity(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    return [code.co_code.hex(), consts, list(code.co_names), code.co_argcount, code.co_kwonlyargcount]


def callable_fingerprint(fn: Any) -> str | None:
    """sha256 of a function's code, constants, defaults and closure values (None if unknowable).

    Two lambdas in one module, or one function edited between runs, get different
    fingerprints. Globals the function reads are identified by name only. Builtins and
    NumPy ufuncs are identified by their qualified name; other callables without Python
    code, or whose closure holds an object with no stable description, give None.
    """
    target, bound = (fn.__func__, fn.__self__) if inspect.ismethod(fn) else (fn, None)
    code = getattr(target, "__code__", None)
    if code is None:
        if isinstance(fn, _NAMED_BUILTINS):
            return hashlib.sha256(_callable_name(fn).encode()).hexdigest()
        return None
    if id(target) in _IN_PROGRESS:  # a recursive closure: its code is already being hashed
        return hashlib.sha256(repr(_code_identity(code)).encode()).hexdigest()
    _IN_PROGRESS.add(id(target))
    try:
        cells = [c.cell_contents for c in (target.__closure__ or ())]
        parts = {
            "code": _code_identity(code),
            "defaults": describe_value(list(target.__defaults__ or ())),
            "kwdefaults": describe_value(dict(target.__kwdefaults__ or {})),
            "closure": describe_value(cells),
            "self": describe_value(bound) if bound is not None else None,
        }
    except ValueError:  # an empty closure cell
        return None
    finally:
        _IN_PROGRESS.discard(id(target))
    text = json.dumps(parts, sort_keys=True, default=repr)
    if " at 0x" in text:  # an object described by a repr with its address: differs every run
        return None
    return hashlib.sha256(text.encode()).hexdigest()


#: Callables without Python code whose name identifies them (builtins, methods of builtin types, ufuncs).
_NAMED_BUILTINS = (types.BuiltinFunctionType, types.MethodDescriptorType, types.WrapperDescriptorType,
                   types.MethodWrapperType, types.ClassMethodDescriptorType, np.ufunc)


def _callable_name(fn: Any) -> str:
    module = getattr(fn, "__module__", None) or getattr(getattr(fn, "__objclass__", None), "__module__", "?")
    return f"{module}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"


def _describe_callable(fn: Any) -> dict[str, Any]:
    name = _callable_name(fn)
    cache_key = getattr(fn, "cache_key", None)
    if isinstance(cache_key, str) and cache_key:
        return {"callable": name, "cache_key": cache_key}
    fingerprint = callable_fingerprint(fn)
    if fingerprint is not None:
        return {"callable": name, "code_sha256": fingerprint}
    if name not in _WARNED_UNCACHEABLE:
        _WARNED_UNCACHEABLE.add(name)
        warnings.warn(f"dprune: {name} cannot be fingerprinted, so results computed with it are not cached; "
                      "give it a cache_key (fn.cache_key = 'v1', changed whenever it changes) to cache them.",
                      stacklevel=3)
    return {"callable": name, "not_cached": uuid.uuid4().hex}


def _is_heavy(value: Any) -> bool:
    module = type(value).__module__ or ""
    return module.startswith(("transformers", "torch", "kenlm"))


def _short_repr(value: Any) -> str:
    if _is_heavy(value):
        return f"<{type(value).__name__}>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class MissingColumnError(KeyError, ValueError):
    """A dataset lacks a column a component needs.

    Both a ``KeyError`` and, as in the original dPrune, a ``ValueError``.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


#: How many row positions an error message lists before it says how many there are.
MAX_POSITIONS_SHOWN = 20


def format_positions(positions: Sequence[int]) -> str:
    """Row positions for an error message: the first few, then how many in total."""
    positions = list(positions)
    shown = ", ".join(str(int(p)) for p in positions[:MAX_POSITIONS_SHOWN])
    more = f", ... ({len(positions)} in total)" if len(positions) > MAX_POSITIONS_SHOWN else ""
    return f"[{shown}{more}]"


def require_columns(dataset: Dataset, columns: Sequence[str], *, owner: str) -> None:
    """Raise :class:`MissingColumnError` naming the missing columns, the ones present and the fix."""
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise MissingColumnError(
            f"{owner} needs column(s) {missing} but the dataset has {dataset.column_names}. "
            f"Pass the right column name to {owner} or add the column to the dataset."
        )


def require_non_empty(dataset: Dataset, *, owner: str) -> None:
    """Raise ``ValueError`` for a dataset with no rows."""
    if len(dataset) == 0:
        raise ValueError(
            f"{owner} got an empty dataset (0 rows). Check the data source and any filtering before it."
        )


def column_to_numpy(dataset: Dataset, column: str) -> np.ndarray:
    """One column as a numpy array, honouring ``select``/``shuffle`` index mappings.

    Works on the Arrow column directly, so no other column is materialized.
    """
    chunked = dataset.with_format("arrow")[column]
    if isinstance(chunked, pa.ChunkedArray):
        array = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
    else:
        array = chunked
    return array.to_numpy(zero_copy_only=False)


def take_rows(data: pa.Table | pa.ChunkedArray, positions: Sequence[int] | np.ndarray) -> pa.Table | pa.ChunkedArray:
    """``data.take(positions)``, chunk by chunk: the rows ``positions`` of a table or chunked array, in that order.

    Arrow's own ``take`` on a column of several chunks (a dataset read from several shards) first
    concatenates them, copying the whole column (every page of a memory-mapped text column); this
    reads only the chunks holding the rows, and only those rows (:func:`take_in_order`).
    """
    if isinstance(data, pa.Table):
        return pa.Table.from_arrays([take_rows(column, positions) for column in data.columns], schema=data.schema)
    if data.num_chunks <= 1:
        taken = data.take(pa.array(np.asarray(positions, dtype=np.int64), type=pa.int64()))
        release_mapped(data)
        return taken
    bounds = np.cumsum([0] + [len(chunk) for chunk in data.chunks])
    return pa.chunked_array([take_in_order(data.chunks, bounds, positions)], type=data.type)


def take_in_order(chunks: Iterable[Any], bounds: np.ndarray, positions: Sequence[int] | np.ndarray) -> Any:
    """The rows ``positions`` of ``chunks`` (Arrow arrays or tables, chunk ``k`` holding the rows
    ``bounds[k]`` to ``bounds[k + 1]``) one after another, in the order of ``positions``.

    The chunks are visited once, in order, and only the rows they hold are taken from each, so
    ``chunks`` may be a generator that opens one stored shard at a time, and yields None for a chunk
    that holds none of the positions (so it need not be opened; with no positions at all, the first
    chunk gives the empty result). The pages of a memory-mapped chunk that the taking touched leave
    this process's resident memory once its rows are copied out.
    """
    positions = np.asarray(positions, dtype=np.int64)
    if positions.size and (positions.min() < 0 or positions.max() >= bounds[-1]):
        raise IndexError(f"Row positions must lie in [0, {int(bounds[-1])}); got [{int(positions.min())}, "
                         f"{int(positions.max())}].")
    chunk_of = np.searchsorted(bounds, positions, side="right") - 1
    order = np.argsort(chunk_of, kind="stable")
    ends = np.searchsorted(chunk_of[order], np.arange(len(bounds)))
    pieces, empty = [], None
    for k, chunk in enumerate(chunks):
        if chunk is None:
            continue
        if empty is None:
            empty = chunk.slice(0, 0)
        if ends[k + 1] > ends[k]:
            pieces.append(chunk.take(pa.array(positions[order[ends[k]:ends[k + 1]]] - bounds[k], type=pa.int64())))
            release_mapped(chunk)
        del chunk
    if not pieces:
        return empty
    gathered = pa.concat_tables(pieces) if isinstance(pieces[0], pa.Table) else pa.concat_arrays(pieces)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return gathered.take(pa.array(inverse, type=pa.int64()))


def with_column(dataset: Dataset, name: str, values: np.ndarray) -> Dataset:
    """Return ``dataset`` with column ``name`` set to ``values``, replacing any column of that name."""
    if name in dataset.column_names:
        dataset = dataset.remove_columns(name)
    return dataset.add_column(name, pa.array(values))


def _check_input(component: Any, dataset: Any, method: str) -> str:
    """Validate ``component``'s parameters, then ``dataset`` for ``method``; return the owner name for messages.

    ``dataset`` must be a non-empty ``datasets.Dataset`` holding the component's ``required_columns()``.
    """
    owner = type(component).__name__
    component.validate_params()
    if not isinstance(dataset, Dataset):
        raise TypeError(f"{owner}.{method} expects a datasets.Dataset. Got {type(dataset).__name__} instead.")
    require_non_empty(dataset, owner=owner)
    require_columns(dataset, component.required_columns(), owner=owner)
    return owner


class Scorer(Component):
    """Scores every example of a dataset.

    Subclasses implement :meth:`compute_scores`, which returns one float per
    row; :meth:`score` validates, checks the columns named by
    :meth:`required_columns`, and writes the scores to ``score_column``
    (replacing an older column of that name). A custom scorer written the
    original way, overriding :meth:`score` itself, is also supported.
    """

    score_column: str = DEFAULT_SCORE_COLUMN

    def required_columns(self) -> list[str]:
        """Columns the scorer reads; the base class checks they exist."""
        return []

    def compute_scores(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        """Return an array of ``len(dataset)`` float scores (the one hook to implement)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement compute_scores(dataset) (or override score())."
        )

    def score(self, dataset: Dataset, **kwargs: Any) -> Dataset:
        """Return a new dataset with the scores in ``score_column``; the input is not modified."""
        owner = _check_input(self, dataset, "score")
        scores = np.asarray(self.compute_scores(dataset, **kwargs), dtype=np.float64)
        if scores.shape != (len(dataset),):
            raise RuntimeError(
                f"{owner}.compute_scores returned shape {scores.shape}; expected ({len(dataset)},), "
                "one score per row. This is a bug in the scorer."
            )
        return with_column(dataset, self.score_column, scores)


class Pruner(Component):
    """Selects a subset of the rows of a scored dataset.

    Subclasses implement :meth:`select_indices`, returning the row positions
    to keep (exactly the resolved budget, in output order). :meth:`prune`
    validates, checks the columns named by :meth:`required_columns`, records
    the kept positions in ``selected_indices_`` and returns
    ``dataset.select(...)`` (an index mapping, no data copy). A custom pruner
    written the original way, overriding :meth:`prune` itself, is also
    supported.
    """

    def required_columns(self) -> list[str]:
        """Columns the pruner reads; the base class checks they exist."""
        return []

    def select_indices(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        """Return the positions of the rows to keep (the one hook to implement)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement select_indices(dataset) (or override prune())."
        )

    def drop_rules(self, dataset: Dataset) -> list[str | None] | None:
        """Per row, the rule that drops it (None for a row the rule keeps), or None when no rule applies.

        Rule-based pruners (a threshold on a score) override this so that reports
        can say why a row was dropped; ranking pruners, which drop rows only to
        meet a budget, keep the default.
        """
        return None

    def prune(self, scored_dataset: Dataset, **kwargs: Any) -> Dataset:
        """Return the kept rows of ``scored_dataset``; the input is not modified."""
        indices = self.fit_indices(scored_dataset, **kwargs)
        return scored_dataset.select(indices)

    def fit_indices(self, dataset: Dataset, **kwargs: Any) -> np.ndarray:
        """Validate, select, check and record the kept positions without building a dataset."""
        owner = _check_input(self, dataset, "prune")
        indices = np.asarray(self.select_indices(dataset, **kwargs), dtype=np.int64)
        if indices.ndim != 1 or (indices.size and (indices.min() < 0 or indices.max() >= len(dataset))):
            raise RuntimeError(f"{owner}.select_indices returned out-of-range positions. This is a bug in the pruner.")
        self.selected_indices_ = indices
        return indices
