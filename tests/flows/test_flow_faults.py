"""Faults injected into whole prune-flow runs (a small piece of ``benchmarks/faults.py``).

One run is SIGKILLed inside the sharded perplexity stage and a rerun must finish with the
clean run's kept rows, scores, pruned data and report; two runs with different pruners
write one ``--output`` at once and the folder must always be one run's complete output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # six flow runs against the session's Prefect server: ~60 s


def test_a_killed_run_and_a_shared_output_give_the_clean_runs_results(prefect_api, tmp_path):
    api, env = prefect_api
    env = {**env, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "faults.py"), "--smoke", "--prefect-api", api,
                           "--keep", str(tmp_path / "work")],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    faults = summary["flows"]["faults"]
    assert faults["sigkill_perplexity"]["tried"] == faults["rerun_after_kills"]["tried"] == 1
    assert faults["concurrent_runs_one_output"]["tried"] == 1
    assert faults["rerun_after_kills"]["errors"] == 0, faults["rerun_after_kills"]["notes"]
    assert summary["wrong_results"] == 0 and summary["data_lost"] == 0, done.stdout[-3000:]
