"""Map a function over the record batches of a dataset, in one process or several.

The helpers here are what a scorer needs to stream over a large dataset:

* :func:`map_batches` applies ``fn(table, start)`` to consecutive ``batch_size``-row
  Arrow tables of the selected columns and returns the concatenated results;
* :func:`map_shards` does the same per *shard* (``shard_size`` rows) and hands each
  finished shard to an artifact-store writer (``write_shard(i, table)``), skipping the
  shards the writer already holds -- so a killed run resumes where it stopped.

``fn`` receives a ``pyarrow.Table`` with the requested columns of rows
``[start, start + table.num_rows)`` (positions in the dataset, after any
``select``/``shuffle`` mapping) and returns one result per row: a 1-D numpy
array (a single column named ``output_name``), a ``pyarrow.Table`` /
``RecordBatch``, or a dict of equal-length arrays.

With ``num_proc > 1`` the work runs in a process pool. Each worker gets ``fn``
and the dataset once, when it starts (with the default ``fork`` start method
on Linux nothing is copied at all; a memory-mapped dataset is shared by the
OS), and then reads its own batches, so the parent only hands out row ranges
and collects small result arrays. At most ``4 * num_proc`` batches are in
flight and results are consumed in order, so memory does not grow with the
number of rows (except for the returned array itself in :func:`map_batches`).
``fn`` must therefore be picklable for the ``spawn``/``forkserver`` start
methods; a component that caches a heavy model should drop it in
``__getstate__`` and reload it lazily.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import warnings
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence

import numpy as np
import pyarrow as pa

__all__ = ["ShardReport", "Shard", "map_batches", "map_shards", "plan_shards", "default_start_method", "torch_threads"]

BatchFunction = Callable[[pa.Table, int], Any]

_START_METHOD_ENV = "DPRUNE_MP_START_METHOD"


class ShardWriter(Protocol):
    """What :func:`map_shards` needs from an artifact-store writer."""

    def missing_shards(self, num_shards: int) -> Sequence[int]: ...

    def write_shard(self, index: int, table: pa.Table) -> Any: ...


@dataclass(frozen=True)
class Shard:
    """Rows ``[start, stop)`` of a dataset, stored as shard number ``index``."""

    index: int
    start: int
    stop: int

    @property
    def num_rows(self) -> int:
        return self.stop - self.start


@dataclass
class ShardReport:
    """What :func:`map_shards` did: which shards it computed and which it found already written."""

    num_shards: int
    computed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def plan_shards(num_rows: int, shard_size: int) -> list[Shard]:
    """Split ``num_rows`` rows into consecutive shards of ``shard_size`` rows (the last may be shorter).

    An empty dataset has one empty shard, so its artifact still has a (zero-row) table.
    """
    if not isinstance(shard_size, int) or isinstance(shard_size, bool) or shard_size < 1:
        raise ValueError(f"shard_size must be an int >= 1. Got {shard_size!r} instead.")
    if num_rows == 0:
        return [Shard(0, 0, 0)]
    return [Shard(i, start, min(start + shard_size, num_rows)) for i, start in enumerate(range(0, num_rows, shard_size))]


def default_start_method() -> str:
    """``$DPRUNE_MP_START_METHOD`` if set, else ``fork`` where available (Linux), else ``spawn``."""
    explicit = os.environ.get(_START_METHOD_ENV)
    if explicit:
        return explicit
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


# --------------------------------------------------------------------------- results
def _as_table(result: Any, expected_rows: int, output_name: str, fn: Callable) -> pa.Table:
    if isinstance(result, pa.Table):
        table = result
    elif isinstance(result, pa.RecordBatch):
        table = pa.Table.from_batches([result])
    elif isinstance(result, Mapping):
        table = pa.table(dict(result))
    else:
        array = np.asarray(result)
        if array.ndim != 1:
            raise RuntimeError(f"{_name(fn)} returned an array of shape {array.shape}; expected one value per row.")
        table = pa.table({output_name: array})
    if table.num_rows != expected_rows:
        raise RuntimeError(
            f"{_name(fn)} returned {table.num_rows} rows for a batch of {expected_rows}; it must return one per row."
        )
    return table


def _checked(result: Any, start: int, stop: int, output_name: str, fn: Callable) -> np.ndarray | pa.Table:
    if isinstance(result, (pa.Table, pa.RecordBatch, Mapping)):
        return _as_table(result, stop - start, output_name, fn)
    array = np.asarray(result)
    if array.shape != (stop - start,):
        raise RuntimeError(
            f"{_name(fn)} returned shape {array.shape} for a batch of {stop - start} rows; "
            "it must return one value per row."
        )
    return array


def _name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__


# --------------------------------------------------------------------------- execution
_WORKER: dict[str, Any] = {}


def _arrow_view(dataset: Any, columns: Sequence[str] | None) -> Any:
    if isinstance(dataset, (pa.Table, pa.RecordBatch)):
        table = dataset if columns is None else dataset.select(list(columns))
        return table if isinstance(table, pa.Table) else pa.Table.from_batches([table])
    return dataset.with_format("arrow", columns=list(columns) if columns is not None else None)


def _read(view: Any, start: int, stop: int) -> pa.Table:
    if isinstance(view, pa.Table):
        return view.slice(start, stop - start)
    return view[start:stop]


def _init_worker(fn: BatchFunction, dataset: Any, columns: Sequence[str] | None) -> None:
    _WORKER["fn"] = fn
    _WORKER["view"] = _arrow_view(dataset, columns)


def _run_unit(start: int, stop: int) -> Any:
    return _WORKER["fn"](_read(_WORKER["view"], start, stop), start)


def _iter_units(
    fn: BatchFunction,
    dataset: Any,
    columns: Sequence[str] | None,
    units: Sequence[tuple[int, int]],
    num_proc: int,
    start_method: str | None,
) -> Iterator[Any]:
    """Yield ``fn``'s result for each ``(start, stop)`` unit, in order."""
    if num_proc > 1 and multiprocessing.current_process().daemon:
        # e.g. inside a Dask or multiprocessing worker: it may not start children.
        warnings.warn(
            f"num_proc={num_proc} ignored: this is a daemonic worker process, which cannot start "
            "processes; running in this process (parallelize across shards/tasks instead).",
            RuntimeWarning,
            stacklevel=3,
        )
        num_proc = 1
    if num_proc <= 1 or len(units) <= 1:
        view = _arrow_view(dataset, columns)
        for start, stop in units:
            yield fn(_read(view, start, stop), start)
        return
    workers = min(num_proc, len(units))
    context = multiprocessing.get_context(start_method or default_start_method())
    executor = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(fn, dataset, columns)
    )
    window = 4 * workers
    pending: deque[Future] = deque()
    try:
        for start, stop in units:
            pending.append(executor.submit(_run_unit, start, stop))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _batch_units(start: int, stop: int, batch_size: int) -> list[tuple[int, int]]:
    return [(b, min(b + batch_size, stop)) for b in range(start, stop, batch_size)]


def _check(batch_size: int, num_proc: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1. Got {batch_size!r} instead.")
    if not isinstance(num_proc, int) or isinstance(num_proc, bool) or num_proc < 1:
        raise ValueError(f"num_proc must be an int >= 1. Got {num_proc!r} instead.")


def map_batches(
    fn: BatchFunction,
    dataset: Any,
    *,
    columns: Sequence[str] | None = None,
    batch_size: int = 1000,
    num_proc: int = 1,
    output_name: str = "score",
    start_method: str | None = None,
) -> np.ndarray | pa.Table:
    """Apply ``fn(table, start)`` to every ``batch_size``-row batch and concatenate the results.

    Parameters
    ----------
    fn : callable
        ``fn(table, start) -> array | Table | dict``, one result row per input row.
    dataset : datasets.Dataset or pyarrow.Table
        The rows to map (a ``Dataset``'s ``select``/``shuffle`` mapping is honoured).
    columns : sequence of str, optional
        Columns ``fn`` reads (default: all).
    batch_size : int
        Rows per call of ``fn``.
    num_proc : int
        Worker processes (1 runs in the calling process).
    output_name : str
        Column name used when ``fn`` returns a bare array and a table is needed.
    start_method : str, optional
        ``multiprocessing`` start method (default :func:`default_start_method`).

    Returns
    -------
    numpy.ndarray or pyarrow.Table
        An array when ``fn`` returns arrays, else a table.
    """
    _check(batch_size, num_proc)
    units = _batch_units(0, len(dataset), batch_size)
    results = []
    stream = _iter_units(fn, dataset, columns, units, num_proc, start_method)
    try:
        for (start, stop), result in zip(units, stream):
            results.append(_checked(result, start, stop, output_name, fn))
    finally:
        stream.close()
    if not results:
        return np.empty(0, dtype=np.float64)
    if all(isinstance(r, np.ndarray) for r in results):
        return np.concatenate(results)
    return pa.concat_tables([r if isinstance(r, pa.Table) else pa.table({output_name: r}) for r in results])


def map_shards(
    fn: BatchFunction,
    dataset: Any,
    writer: ShardWriter,
    *,
    shard_size: int,
    columns: Sequence[str] | None = None,
    batch_size: int = 1000,
    num_proc: int = 1,
    output_name: str = "score",
    start_method: str | None = None,
    on_shard: Callable[[Shard], None] | None = None,
    only: Sequence[int] | None = None,
) -> ShardReport:
    """Compute and write every shard the writer does not hold yet; return what was done.

    Shard ``i`` holds the results for rows ``[i * shard_size, (i + 1) * shard_size)``
    as one table; it is passed to ``writer.write_shard(i, table)`` (which commits it
    atomically) as soon as all its batches are done, in shard order. Shards listed by
    ``writer.missing_shards(num_shards)`` are computed; the others are skipped. The
    caller commits the writer afterwards.

    ``on_shard(shard)`` is called after each shard is written (progress reporting).
    ``only`` restricts the work to those shard numbers (one task of a workflow that
    maps over shards). Other parameters are as in :func:`map_batches`.
    """
    _check(batch_size, num_proc)
    shards = plan_shards(len(dataset), shard_size)
    missing = set(writer.missing_shards(len(shards)))
    if only is not None:
        missing &= set(only)
    report = ShardReport(num_shards=len(shards))
    todo = [s for s in shards if s.index in missing]
    report.skipped = [s.index for s in shards if s.index not in missing]
    units: list[tuple[int, int]] = []
    owner: list[Shard] = []
    for shard in todo:
        batches = _batch_units(shard.start, shard.stop, batch_size) or [(shard.start, shard.stop)]
        units += batches
        owner += [shard] * len(batches)
    if not todo:
        return report
    parts: list[pa.Table] = []

    def flush(shard: Shard) -> None:
        table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        writer.write_shard(shard.index, table)
        report.computed.append(shard.index)
        if on_shard is not None:
            on_shard(shard)

    results = _iter_units(fn, dataset, columns, units, num_proc, start_method)
    try:
        for (start, stop), shard, result in zip(units, owner, results):
            parts.append(_as_table(result, stop - start, output_name, fn))
            if stop == shard.stop:  # its last batch: commit the shard before the next one can fail
                flush(shard)
                parts = []
    finally:
        results.close()
    return report

@contextlib.contextmanager
def torch_threads(count: int | None):
    """Run with ``count`` torch CPU threads: tiny matrix products are fastest (and do not fight
    other processes for cores) on one thread."""
    import torch

    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
