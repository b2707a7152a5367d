"""A real Prefect server on 127.0.0.1 for the workflow tests, started and stopped by its own handle."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from datasets import Dataset

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
TEXTS = [
    "a touching story about family", "the plot is thin and the jokes are stale",
    "a marvel of craft and feeling", "boring from start to finish",
    "warm funny and smart", "an ugly mess of a film", "beautifully acted drama",
    "dull dull dull", "a crowd pleaser with heart", "nothing works here",
    "a moving and clever film", "the script is awful",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """Start ``prefect server`` on a free loopback port; yield ``(api_url, env)`` for subprocesses."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
    }
    env.pop("PREFECT_API_KEY", None)
    log = open(home / "server.log", "w")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.5)
        yield env["PREFECT_API_URL"], env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture
def reviews_file(tmp_path):
    """A 12-row labelled text file."""
    path = tmp_path / "reviews.parquet"
    Dataset.from_dict({"text": TEXTS, "label": [i % 2 for i in range(len(TEXTS))]}).to_parquet(str(path))
    return str(path)
