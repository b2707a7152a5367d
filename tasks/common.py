"""What every stage task shares: its Prefect options and the store behind a reference.

The artifact store is the cache: a task asks the store whether its artifact
is committed and recomputes it when it is not. Prefect's own result cache is
turned off so a deleted or corrupted artifact is never returned stale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Sequence

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from dprune.store import ArtifactRef, ArtifactStore

stage_task = partial(task, cache_policy=NO_CACHE, persist_result=False)


def store_of(ref_or_root: ArtifactRef | str, *, reuse_only: bool = False) -> ArtifactStore:
    """The store a reference lives in (or the store at a root URL).

    With ``reuse_only`` the store refuses to write, so a stage whose artifact is
    missing fails naming it instead of computing it.
    """
    root = ref_or_root.root if isinstance(ref_or_root, ArtifactRef) else ref_or_root
    return ArtifactStore(root, reuse_only=reuse_only)


def shard_indices(dataset_ref: ArtifactRef, shard_rows: int) -> list[int]:
    """Shard numbers of a row-sharded stage over the dataset (from its manifest's row count)."""
    rows = store_of(dataset_ref).manifest(dataset_ref)["num_rows"]
    return list(range(max(1, -(-rows // shard_rows))))


#: Data per shard when a sharded stage's ``shard_rows`` is ``"auto"``: several seconds of work for the
#: cheapest stage (KenLM scores ~30 MB of text a second), so per-task orchestration (~0.4 s) stays small.
AUTO_SHARD_BYTES = 64 << 20
#: Fewest rows per automatic shard (tiny datasets get one shard, not thousands of tiny ones).
AUTO_MIN_SHARD_ROWS = 1000


def resolve_shard_rows(dataset_ref: ArtifactRef, shard_rows: int | str) -> int:
    """``shard_rows`` itself, or for ``"auto"`` equal shards of at most about :data:`AUTO_SHARD_BYTES` of the dataset.

    Sized by work (bytes of the stored dataset), not by a fixed row count: 1M short rows and 1M long
    documents get shards of similar cost. The rows are split evenly over the fewest shards of at most
    that size (two shards of 50,000 rows rather than 83,000 and 17,000), so parallel workers finish
    a stage together.
    """
    if shard_rows != "auto":
        return shard_rows
    manifest = store_of(dataset_ref).manifest(dataset_ref)
    rows = manifest["num_rows"]
    total = sum(shard["bytes"] for shard in manifest["shards"]) or 1
    shards = max(1, -(-total // AUTO_SHARD_BYTES))
    return max(AUTO_MIN_SHARD_ROWS, -(-rows // shards))


def run_shard(stage: Callable[..., Any], what: str, shard: int, *args: Any, **options: Any) -> int:
    """Run a sharded ``stage`` for one shard and log whether it computed it (and in how many seconds) or found it
    committed.

    The seconds are those of the stage call inside the task (read, compute, write): a task's
    time beyond them is orchestration.
    """
    computed: list[int] = []
    start = time.perf_counter()
    stage(*args, shards=[shard], on_shard=lambda index, start, stop: computed.append(index), **options)
    if shard in computed:
        get_run_logger().info("%s shard %d computed in %.3f s", what, shard, time.perf_counter() - start)
    else:
        get_run_logger().info("%s shard %d already in the store", what, shard)
    return shard


def sharded_stage_tasks(
    stage: Callable[..., Any],
    name: str,
    *,
    shard_doc: str,
    commit_doc: str,
    shard_options: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """The two Prefect tasks of a row-sharded ``stage``: ``{name}-shard`` (one shard) and ``{name}`` (the commit).

    ``stage(store, dataset_ref, *parents, **options)`` is a stage function; ``parents`` are
    the other artifacts it reads (the KenLM model of the perplexity stage). The shard task
    computes one shard (a no-op when it, or the whole artifact, is already committed) and
    returns its number; ``shard_options`` are passed to the stage by the shard task only
    (e.g. no progress bar per shard). The commit task computes any shard still missing,
    commits the artifact and returns the stage's reference; with ``lookup_only`` it only
    returns the artifact when it is already committed (else None), computing nothing.
    """
    fixed = dict(shard_options or {})

    def shard_task(dataset_ref: ArtifactRef, shard: int, parents: Sequence[ArtifactRef] = (),
                   reuse_only: bool = False, **options: Any) -> int:
        store = store_of(dataset_ref, reuse_only=reuse_only)
        return run_shard(stage, name, shard, store, dataset_ref, *parents, **fixed, **options)

    def commit_task(dataset_ref: ArtifactRef, parents: Sequence[ArtifactRef] = (), reuse_only: bool = False,
                    lookup_only: bool = False, **options: Any) -> ArtifactRef | None:
        store = store_of(dataset_ref, reuse_only=reuse_only)
        if lookup_only:
            return stage(store, dataset_ref, *parents, shards=(), **options)
        ref = stage(store, dataset_ref, *parents, **options)
        get_run_logger().info("%s -> %s/%s", name, ref.stage, ref.key)
        return ref

    for fn, fn_name, doc in ((shard_task, f"{name}_shard_task", shard_doc), (commit_task, f"{name}_task", commit_doc)):
        fn.__name__ = fn.__qualname__ = fn_name
        fn.__doc__ = doc
    return stage_task(name=f"{name}-shard")(shard_task), stage_task(name=name)(commit_task)


@dataclass(frozen=True)
class ShardedRun:
    """A sharded stage submitted to the task runner: its shard tasks' futures and its commit.

    ``commit`` is the commit task's future (it waits for the shard tasks), or the artifact
    itself when it was already in the store (then ``shards`` is empty).
    """

    name: str
    shards: Sequence[Any]
    commit: Any

    def result(self) -> ArtifactRef:
        """Wait for the shard tasks (publishing their progress), then return the committed artifact."""
        if self.shards:
            track_progress(self.shards, self.name)
        return resolved(self.commit)


def resolved(value: Any) -> Any:
    """``value``'s result when it is a Prefect future or a :class:`ShardedRun` (waiting for it), else ``value``."""
    from prefect.futures import PrefectFuture

    return value.result() if isinstance(value, (PrefectFuture, ShardedRun)) else value


def submit_shard_tasks(shard_task, commit_task, dataset_ref: ArtifactRef, *parents: ArtifactRef, shard_rows: int,
                       reuse_only: bool, options: dict[str, Any]) -> ShardedRun:
    """Submit a sharded stage (tasks from :func:`sharded_stage_tasks`) without waiting: one task per shard, then
    the commit task, which waits for them on the task runner.

    Stages submitted one after another this way run side by side on a Dask runner (one task at
    a time, in submission order, on the local runner). A stage whose artifact is already
    committed is found without any task run (a re-prune on cached scores costs no shard tasks).
    """
    from prefect import unmapped

    committed = commit_task.fn(dataset_ref, parents, reuse_only=reuse_only, lookup_only=True, **options)
    if committed is not None:
        get_run_logger().info("%s: already in the store as %s/%s", commit_task.name, committed.stage, committed.key)
        return ShardedRun(shard_task.name, (), committed)
    static = {name: unmapped(value) for name, value in options.items()}
    shards = shard_indices(dataset_ref, shard_rows)
    get_run_logger().info("%s: %d shard tasks of %d rows", commit_task.name, len(shards), shard_rows)
    futures = shard_task.map(unmapped(dataset_ref), shards, parents=unmapped(parents),
                             reuse_only=unmapped(reuse_only), **static)
    commit = commit_task.submit(dataset_ref, parents, reuse_only=reuse_only, wait_for=list(futures), **options)
    return ShardedRun(shard_task.name, list(futures), commit)


def map_shard_tasks(shard_task, commit_task, dataset_ref: ArtifactRef, *parents: ArtifactRef, shard_rows: int,
                    reuse_only: bool, options: dict[str, Any]) -> ArtifactRef:
    """Run a sharded stage (:func:`submit_shard_tasks`) and wait for its artifact.

    The shard tasks run in parallel on a Dask runner.
    """
    return submit_shard_tasks(shard_task, commit_task, dataset_ref, *parents, shard_rows=shard_rows,
                              reuse_only=reuse_only, options=options).result()


def track_progress(futures: Sequence[Any], what: str) -> None:
    """Wait for ``futures`` in order, publishing a Prefect progress artifact ("3 of 8 shards done").

    Waiting in submission order (rather than as completed) works the same on every task runner.
    """
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    total = len(futures)
    key = f"dprune-{what}-progress".replace("_", "-")  # Prefect's artifact keys: lowercase, digits and dashes
    artifact = create_progress_artifact(progress=0.0, key=key,
                                        description=f"{what}: 0 of {total} shards done")
    for done, future in enumerate(futures, 1):
        future.result()
        update_progress_artifact(artifact, progress=100.0 * done / total,
                                 description=f"{what}: {done} of {total} shards done")
