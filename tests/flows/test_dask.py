"""The same flow on a Dask LocalCluster of 2 workers, against a real Prefect server: same artifacts as a local run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from dprune.store import ArtifactStore

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _run_flow(args, env, cwd):
    command = [sys.executable, str(REPO / "flows" / "prune.py"), *args]
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done.stdout


def _artifacts(root):
    store = ArtifactStore(root)
    return {(a["stage"], a["key"]): store.read(a["stage"], a["key"]).data.table for a in store.ls() if a["complete"]}


def test_dask_cluster_gives_the_same_artifacts_as_a_local_run(prefect_api, reviews_file, tmp_path, monkeypatch):
    from distributed import LocalCluster

    api_url, env = prefect_api
    for name, value in env.items():
        if name.startswith("PREFECT_"):
            monkeypatch.setenv(name, value)  # the workers inherit it, so they report to the real server
    common = [
        "--dataset", reviews_file, "--no-perplexity", "--no-dynamics",
        "--embedding", "batch_size=4,shard_rows=4", "--clustering", "num_clusters=2",
        "--pruner", "top_k:k=6,score_column=kmeans_distance",
    ]
    _run_flow([*common, "--store", str(tmp_path / "local"), "--output", str(tmp_path / "out-local")], env, tmp_path)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert len(cluster.workers) == 2
        _run_flow(
            [*common, "--store", str(tmp_path / "dask"), "--output", str(tmp_path / "out-dask"),
             "--task-runner", "dask", "--dask-address", cluster.scheduler_address],
            env, tmp_path,
        )
        ran_on_cluster = set(cluster.scheduler.task_prefixes)

    local, distributed = _artifacts(tmp_path / "local"), _artifacts(tmp_path / "dask")
    assert set(local) == set(distributed) and any(stage == "embeddings" for stage, _ in local)
    for key, table in local.items():
        other = distributed[key]
        assert table.schema.equals(other.schema) and table.num_rows == other.num_rows, key
        for name in table.column_names:
            np.testing.assert_allclose(_numbers(table[name]), _numbers(other[name]), rtol=1e-5, atol=1e-6, err_msg=str(key))
    assert ran_on_cluster, "no task ran on the Dask cluster"


def _numbers(column):
    array = column.combine_chunks()
    if pa.types.is_fixed_size_list(array.type) or pa.types.is_list(array.type):
        array = array.flatten()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return np.array([hash(v) for v in array.to_pylist()], dtype=float)
    return array.to_numpy(zero_copy_only=False).astype(float)


def test_corpus_stages_run_side_by_side_on_dask_with_the_local_runs_artifacts(
        prefect_api, kenlm_tools, corpus_folder, tmp_path, monkeypatch):
    from distributed import Client, LocalCluster, get_task_stream
    from distributed.utils import key_split

    api_url, env = prefect_api
    for name, value in env.items():
        if name.startswith("PREFECT_"):
            monkeypatch.setenv(name, value)
    folder, _ = corpus_folder
    common = ["--preset", "corpus", "--dataset", folder, "--corpus", "shard_rows=128",
              "--perplexity", "order=2,discount_fallback=true,shard_rows=128"]
    _run_flow([*common, "--store", str(tmp_path / "local"), "--output", str(tmp_path / "out-local")], env, tmp_path)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client, get_task_stream(client) as stream:
        _run_flow([*common, "--store", str(tmp_path / "dask"), "--output", str(tmp_path / "out-dask"),
                   "--task-runner", "dask", "--dask-address", cluster.scheduler_address], env, tmp_path)
    runs = [(key_split(record["key"]), record["worker"], span["start"], span["stop"])
            for record in stream.data for span in record["startstops"] if span["action"] == "compute"]
    names = {name for name, *_ in runs}
    # the KenLM training, exact duplicates and LSH run on the workers, not in the flow process
    assert {"kenlm_task", "score_task", "near_duplicates_task", "quality_shard_task", "perplexity_task"} <= names
    kenlm = [(worker, start, stop) for name, worker, start, stop in runs if name == "kenlm_task"]
    assert len(kenlm) == 1
    worker, start, stop = kenlm[0]
    beside = {name for name, other, begun, ended in runs if other != worker and begun < stop and ended > start}
    assert beside, f"nothing ran beside the KenLM training: {sorted(runs, key=lambda run: run[2])}"

    local, distributed = _artifacts(tmp_path / "local"), _artifacts(tmp_path / "dask")
    assert set(local) == set(distributed)
    assert {"minhash", "near_duplicates", "quality", "language", "kenlm", "perplexity"} <= {s for s, _ in local}
    for key, table in local.items():
        assert table.equals(distributed[key]), key


def test_a_started_cluster_keeps_glibcs_malloc_defaults(monkeypatch):
    import argparse
    import copy
    import os

    import dask
    import distributed  # noqa: F401  (its defaults in the config before the copy, run alone or not)

    from flows.prune import prune
    from flows.settings import with_task_runner

    monkeypatch.setattr(dask.config, "config", copy.deepcopy(dask.config.config))  # the test's config change only
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    args = argparse.Namespace(task_runner="dask", dask_address=None, dask_workers=1)
    runner = with_task_runner(prune, args).task_runner
    with runner:
        worker_env = list(runner.client.run(os.environ.copy).values())[0]
    # Dask's default (65536) made every large array a fresh mmap: the quality stage twice as slow
    assert "MALLOC_TRIM_THRESHOLD_" not in worker_env
    assert worker_env["OMP_NUM_THREADS"] == "1"  # still one thread per single-threaded worker


def test_the_flows_own_cluster_imports_the_task_modules_before_the_first_task(prefect_api, monkeypatch):
    import argparse
    import threading

    from prefect import flow, task
    from prefect.context import FlowRunContext
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.dask_runner import task_modules
    from flows.settings import with_task_runner

    api_url, env = prefect_api
    for name, value in env.items():
        if name.startswith("PREFECT_"):
            monkeypatch.setenv(name, value)  # the workers report to the real server

    def imported():
        return sorted(name for name in task_modules() if name in sys.modules)

    @task
    def first_task():
        return imported(), sorted(thread.name for thread in threading.enumerate())

    @flow
    def probe():
        before = FlowRunContext.get().task_runner.client.run(imported)  # every worker, before any task
        return before, first_task.submit().result()

    args = argparse.Namespace(task_runner="dask", dask_address=None, dask_workers=2)
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        before, (during, threads) = with_task_runner(probe, args)()
    expected = sorted(task_modules())
    assert {"prefect.task_engine", "tasks.kenlm", "tasks.minhash", "tasks.perplexity"} <= set(expected)
    assert len(before) == 2 and all(names == expected for names in before.values()), before
    assert during == expected
    # the copy of the flow's runner that Prefect enters for a task on a worker starts no cluster of its own
    assert "dprune-dask-start" not in threads
