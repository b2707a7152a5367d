"""A Prefect server on 127.0.0.1 owned by its caller: started on a free port, stopped by its own handle.

The workflow tests and the benchmarks run flows against one (``PREFECT_API_URL``), so that every
flow run of a session shares one server instead of starting a temporary one; nothing but the
loopback address is contacted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["free_port", "start_server", "stop_server"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], log: Path, timeout: float = 180.0) -> tuple[subprocess.Popen, str]:
    """Start ``prefect server start`` on a free loopback port and wait until it answers.

    Parameters
    ----------
    env : dict
        The server's environment (``PREFECT_HOME`` and the like).
    log : Path
        File that receives the server's output.
    timeout : float
        Seconds to wait for a healthy answer before giving up (a loaded machine is slow).

    Returns
    -------
    server, api_url
        The server's process (in a session of its own, see :func:`stop_server`) and its API URL.
    """
    port = free_port()
    prefect = str(Path(sys.executable).with_name("prefect"))
    with open(log, "w") as handle:
        server = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return server, url
        except (urllib.error.URLError, OSError):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            raise RuntimeError(f"prefect server did not start within {timeout:.0f} s; see {log}")
        time.sleep(0.5)


def stop_server(server: subprocess.Popen) -> None:
    """Stop a server from :func:`start_server` (its whole process group) and wait for it to exit."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
