"""The bookkeeping every stage shares, written once: key, exists?, write, resume, log.

A stage module declares a :class:`Stage` (its name in the store and its version),
builds the config of the settings that change its numbers, and hands a domain
function to one of two helpers:

* :func:`run_cached` for a stage computed in one piece (a table, maybe with files);
* :func:`run_sharded` for a stage computed row range by row range over a dataset,
  committed shard by shard so a killed run resumes at the first missing shard.

A stage with its own shard layout (one shard per seed and epoch, say) uses
:meth:`Stage.lookup` and :meth:`Stage.open_writer` directly. Every key is
:meth:`Stage.key`: a hash of the stage name and version, the config, the parents'
keys and any input identities (content fingerprints), never a path or a name alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, TypedDict

import pyarrow as pa

from dprune.core.fingerprint import compute_key
from dprune.core.memory import release_freed
from dprune.core.parallel import Shard, map_shards

logger = logging.getLogger("dprune.stages")

__all__ = ["ShardLayout", "Stage", "StageOutput", "run_cached", "run_sharded", "shard_layout"]


@dataclass(frozen=True)
class Stage:
    """A stage's name (its folder in the store) and version (bump it when its numbers change)."""

    name: str
    version: int

    def key(self, config: Any, *, parents: Sequence[Any] = (), inputs: Sequence[Any] = ()) -> str:
        """The store key of this stage's output for ``config``, ``parents`` and ``inputs``."""
        return compute_key(self.name, self.version, config, parents=parents, inputs=inputs)

    def lookup(self, store: Any, key: str) -> Any:
        """The committed artifact under ``key``, or None when the store does not hold it."""
        if store.exists(self.name, key):
            logger.info("%s/%s already in the store", self.name, key)
            return store.ref(self.name, key)
        return None

    def open_writer(self, store: Any, key: str, *, config: Any, parents: Sequence[Any] = (), **options: Any) -> Any:
        """A :class:`~dprune.store.ShardedWriter` for this stage's artifact, its version recorded."""
        versions = {"stage": self.version, **options.pop("versions", {})}
        return store.open_writer(self.name, key, config=config, parents=parents, versions=versions, **options)


@dataclass
class StageOutput:
    """What a :func:`run_cached` computation returns when a table alone is not enough."""

    table: Any
    files: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)


def run_cached(
    store: Any,
    stage: Stage,
    config: Any,
    compute: Callable[[], Any],
    *,
    parents: Sequence[Any] = (),
    inputs: Sequence[Any] = (),
    meta: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> Any:
    """Return the stored artifact of ``stage`` for this config and these parents, computing it if missing.

    Parameters
    ----------
    store : ArtifactStore
    stage : Stage
    config : dict
        The settings that change the stage's output (and only those).
    compute : callable
        ``compute()`` returns a ``pyarrow.Table`` / ``datasets.Dataset``, or a
        :class:`StageOutput` with files (bytes or local paths) and metadata too.
    parents : sequence of ArtifactRef
        Artifacts read by ``compute``; their keys enter the key and the manifest.
    inputs : sequence
        Other content identities (a dataset fingerprint, a file hash).
    meta : dict, optional
        Metadata known before computing.
    key : str, optional
        A key already computed by the caller (it must come from :meth:`Stage.key`).
    """
    key = key or stage.key(config, parents=parents, inputs=inputs)
    existing = stage.lookup(store, key)
    if existing is not None:
        return existing
    output = compute()
    if not isinstance(output, StageOutput):
        output = StageOutput(output)
    full_meta = {**(meta or {}), **output.meta}
    if not output.files:
        ref = store.write_table(stage.name, key, output.table, config=config, parents=parents,
                                versions={"stage": stage.version}, meta=full_meta)
    else:
        table = output.table
        writer = stage.open_writer(store, key, config=config, parents=parents, meta=full_meta, num_shards=1,
                                   schema=table.schema)
        for name, data in output.files.items():
            writer.put_file(name, data)
        writer.write_shard(0, table)
        ref = writer.commit(schema=table.schema)
    del output
    release_freed()
    logger.info("%s/%s computed", stage.name, key)
    return ref


class ShardLayout(TypedDict, total=False):
    """How a row-sharded stage cuts and runs its work; none of it changes the numbers, so none is in the key.

    A stage function takes these as ``**layout: Unpack[ShardLayout]`` and completes them with
    :func:`shard_layout`.

    Attributes
    ----------
    shard_rows : int
        Rows per committed shard.
    batch_size : int
        Rows handed to the domain function at once.
    num_proc : int
        Worker processes computing a shard's batches.
    shards : sequence of int or None
        Compute only these shards (if missing); the stage function then returns None.
    on_shard : callable or None
        ``on_shard(index, start, stop)`` after each shard the call computed.
    """

    shard_rows: int
    batch_size: int
    num_proc: int
    shards: Sequence[int] | None
    on_shard: Callable[[int, int, int], None] | None


def shard_layout(stage: Stage, layout: Mapping[str, Any], *, shard_rows: int, batch_size: int) -> dict[str, Any]:
    """``layout`` completed with the stage's default ``shard_rows`` and ``batch_size`` (one process, every shard).

    Raises
    ------
    TypeError
        For an option that is not a :class:`ShardLayout` key (a typo is never ignored).
    """
    unknown = sorted(set(layout) - set(ShardLayout.__annotations__))
    if unknown:
        raise TypeError(f"The {stage.name} stage got unknown option(s) {unknown}. Its layout options are "
                        f"{list(ShardLayout.__annotations__)}; check the spelling.")
    return {"shard_rows": shard_rows, "batch_size": batch_size, "num_proc": 1, "shards": None, "on_shard": None,
            **layout}


def run_sharded(
    store: Any,
    stage: Stage,
    config: Any,
    compute: Callable[[pa.Table, int], Any],
    *,
    dataset: Any,
    columns: Sequence[str],
    shard_rows: int,
    schema: pa.Schema,
    parents: Sequence[Any] = (),
    inputs: Sequence[Any] = (),
    meta: Mapping[str, Any] | None = None,
    batch_size: int | None = None,
    num_proc: int = 1,
    output_name: str = "score",
    shards: Sequence[int] | None = None,
    on_shard: Callable[[int, int, int], None] | None = None,
    prepare: Callable[[], None] | None = None,
    key: str | None = None,
) -> Any:
    """Compute a row-aligned stage shard by shard over ``dataset``; resume at the first missing shard.

    Parameters
    ----------
    compute : callable
        ``compute(table, start)``: the results for the rows of ``table`` (the ``columns``
        of rows ``start ..``), as an array, dict of arrays or table (see
        :func:`dprune.core.parallel.map_shards`).
    dataset : datasets.Dataset or pyarrow.Table
        The rows to compute over.
    columns : sequence of str
        Columns ``compute`` reads.
    shard_rows : int
        Rows per committed shard: a layout choice, recorded in the writer's plan, not in the key.
    schema : pyarrow.Schema
        The schema of every shard.
    batch_size : int, optional
        Rows per ``compute`` call (default: a whole shard).
    num_proc : int
        Worker processes.
    shards : sequence of int, optional
        Compute only these shards (if missing) and return None without committing: how a
        workflow maps one task per shard. A later call without it commits. When the artifact
        is already committed it is returned (``shards=()`` asks for that alone).
    on_shard : callable, optional
        ``on_shard(index, start, stop)`` after each shard this call computed.
    prepare : callable, optional
        Run once before the first shard is computed (load a model, check a column), never
        when everything is already stored.
    key : str, optional
        A key already computed by the caller (it must come from :meth:`Stage.key`).

    Returns
    -------
    ArtifactRef or None
    """
    if isinstance(shard_rows, bool) or not isinstance(shard_rows, int) or shard_rows < 1:
        raise ValueError(
            f"The 'shard_rows' parameter of the {stage.name} stage must be an int >= 1. Got {shard_rows!r} instead."
        )
    key = key or stage.key(config, parents=parents, inputs=inputs)
    existing = stage.lookup(store, key)
    if existing is not None:
        return existing
    if shards is not None and not shards:  # asked for the committed artifact alone
        return None
    num_rows = len(dataset)
    num_shards = max(1, -(-num_rows // shard_rows))
    writer = stage.open_writer(store, key, config=config, parents=parents, meta={**(meta or {}), "num_rows": num_rows},
                               num_shards=num_shards, schema=schema,
                               plan={"rows_per_shard": shard_rows, "num_rows": num_rows})
    todo = set(writer.missing_shards(num_shards))
    if shards is not None:
        todo &= set(shards)
    if todo and prepare is not None:
        prepare()

    def committed(shard: Shard) -> None:
        logger.info("%s shard %d computed", stage.name, shard.index)
        release_freed()
        if on_shard is not None:
            on_shard(shard.index, shard.start, shard.stop)

    if todo:
        map_shards(compute, dataset, writer, shard_size=shard_rows, columns=list(columns),
                   batch_size=batch_size or shard_rows, num_proc=num_proc, output_name=output_name,
                   on_shard=committed, only=sorted(todo))
    if shards is not None:
        return None
    ref = writer.commit(schema=schema)
    logger.info("%s/%s committed", stage.name, key)
    return ref
