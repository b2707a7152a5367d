"""A real Prefect server on 127.0.0.1 for the workflow tests, started and stopped by its own handle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from datasets import Dataset

from flows.local_server import start_server, stop_server

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
TEXTS = [
    "a touching story about family", "the plot is thin and the jokes are stale",
    "a marvel of craft and feeling", "boring from start to finish",
    "warm funny and smart", "an ugly mess of a film", "beautifully acted drama",
    "dull dull dull", "a crowd pleaser with heart", "nothing works here",
    "a moving and clever film", "the script is awful",
]


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """Start ``prefect server`` on a free loopback port; yield ``(api_url, env)`` for subprocesses."""
    home = tmp_path_factory.mktemp("prefect-server")
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    for name in ("PREFECT_API_KEY", "PREFECT_API_URL"):
        env.pop(name, None)
    server, env["PREFECT_API_URL"] = start_server(env, home / "server.log", timeout=120)
    try:
        yield env["PREFECT_API_URL"], env
    finally:
        stop_server(server)


@pytest.fixture
def reviews_file(tmp_path):
    """A 12-row labelled text file."""
    path = tmp_path / "reviews.parquet"
    Dataset.from_dict({"text": TEXTS, "label": [i % 2 for i in range(len(TEXTS))]}).to_parquet(str(path))
    return str(path)
