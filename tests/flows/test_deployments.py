"""Deploy from deployments/prefect.yaml to a real server and run one deployment through a process worker."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dprune.store import ArtifactStore

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))

pytestmark = pytest.mark.slow


def _prefect(args, env, timeout=180):
    done = subprocess.run([PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_deploy_and_run_through_a_worker(prefect_api, reviews_file, tmp_path):
    api_url, env = prefect_api
    store_root = str(tmp_path / "store")
    env = {**env, "DPRUNE_REPO": str(REPO), "DPRUNE_WORK_POOL": "dprune-test", "DPRUNE_STORE": store_root}
    _prefect(["work-pool", "create", "dprune-test", "--type", "process", "--overwrite"], env)
    _prefect(["--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml", "--all"], env)

    deployment = httpx.post(f"{api_url}/deployments/filter", json={}, timeout=10).json()
    by_name = {d["name"]: d for d in deployment}
    assert {"nightly-full", "reprune-cached"} <= set(by_name)
    assert by_name["nightly-full"]["schedules"][0]["schedule"]["cron"] == "0 2 * * *"
    assert by_name["reprune-cached"]["parameters"]["reuse_only"] is True

    params = {
        "dataset": reviews_file,
        "output": str(tmp_path / "out"),
        "embedding": {"batch_size": 4},
        "clustering": {"num_clusters": 2},
        "perplexity": False,
        "dynamics": False,
        "pruner": {"name": "top_k", "params": {"k": 0.5, "score_column": "kmeans_distance"}},
    }
    out = _prefect(["deployment", "run", "prune/nightly-full", "--params", json.dumps(params)], env)
    flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", out).group(1)
    _prefect(["worker", "start", "--pool", "dprune-test", "--run-once"], env, timeout=400)

    state = httpx.get(f"{api_url}/flow_runs/{flow_run_id}", timeout=10).json()["state"]
    assert state["type"] == "COMPLETED", state
    store = ArtifactStore(store_root)
    selections = [a for a in store.ls("selection") if a["complete"]]
    assert len(selections) == 1 and selections[0]["rows"] == 6
    assert (tmp_path / "out" / "kept_ids.json").exists()
