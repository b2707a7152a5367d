"""Open a report in headless Chromium and drive it over the Chrome DevTools protocol.

Used by the report's browser tests and to take the README screenshots: it
collects every JavaScript console error and uncaught exception, evaluates
expressions in the page, moves the mouse and captures PNG screenshots. It needs
a Chromium binary (Debian's ``chromium`` package; ``scripts/setup.sh`` installs it
when run as root) and ``websocket-client`` (the ``test`` extra). Nothing is
downloaded and the browser runs with networking features off.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["BrowserError", "Chromium", "find_chromium"]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0",
)


class BrowserError(RuntimeError):
    """The browser could not be started, or the page did not answer in time."""


def find_chromium() -> str | None:
    """Path of a Chromium binary: ``$DPRUNE_CHROMIUM``, else the first of :data:`CANDIDATES` on ``PATH``."""
    explicit = os.environ.get("DPRUNE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


class Chromium:
    """A headless Chromium with one page, as a context manager.

    Parameters
    ----------
    executable : str, optional
        Browser binary; default :func:`find_chromium`.
    width, height : int
        Viewport size in CSS pixels.
    timeout : float
        Seconds to wait for the browser to start and for each protocol answer.
    """

    def __init__(self, executable: str | None = None, *, width: int = 1280, height: int = 900, timeout: float = 60):
        self.executable = executable or find_chromium()
        self.width, self.height, self.timeout = width, height, timeout
        self.errors: list[str] = []
        self._ids = itertools.count(1)

    def __enter__(self) -> "Chromium":
        import websocket  # the test extra

        if not self.executable:
            raise BrowserError(f"No Chromium found (looked for {CANDIDATES} and $DPRUNE_CHROMIUM). "
                               "Install Debian's chromium package (scripts/setup.sh does so as root).")
        self._profile = tempfile.mkdtemp(prefix="dprune-chromium-")
        self._process = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self._profile}",
             f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            port = self._port()
            pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout).read())
            url = next(p["webSocketDebuggerUrl"] for p in pages if p.get("type") == "page")
            self._socket = websocket.create_connection(url, timeout=self.timeout, suppress_origin=True)
            for method in ("Runtime.enable", "Log.enable", "Page.enable"):
                self.call(method)
            self.call("Emulation.setDeviceMetricsOverride",
                      width=self.width, height=self.height, deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        socket = getattr(self, "_socket", None)
        if socket is not None:
            socket.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _port(self) -> int:
        marker = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrowserError(f"{self.executable} exited with code {self._process.returncode} at start.")
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            time.sleep(0.05)
        raise BrowserError(f"{self.executable} did not open its DevTools port within {self.timeout} s.")

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append("exception: " + details.get("exception", {}).get("description", details.get("text", "")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}".strip())

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one protocol command and return its result (events that arrive meanwhile are recorded)."""
        ident = next(self._ids)
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"evaluating {expression[:80]!r} failed: {result['exceptionDetails'].get('text')} "
                               f"{result['exceptionDetails'].get('exception', {}).get('description', '')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float | None = None) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise BrowserError(f"{expression!r} was still false after {timeout or self.timeout} s; errors: {self.errors}")

    def open(self, path: str | Path, *, ready: str = "window.dpruneReady === true") -> None:
        """Load a local file and wait until ``ready`` holds."""
        self.call("Page.navigate", url=Path(path).resolve().as_uri())
        self.wait_for(f"document.readyState === 'complete' && ({ready})")

    def move_mouse(self, x: float, y: float) -> None:
        """Move the mouse to viewport coordinates (CSS pixels)."""
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    def screenshot(self, path: str | Path, *, selector: str | None = None, scale: float = 1.0,
                   height: float | None = None) -> Path:
        """Save a PNG of the viewport, or of the element matching ``selector`` (its top ``height`` pixels)."""
        params: dict[str, Any] = {"format": "png"}
        if selector is not None:
            box = self.evaluate(
                f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                " return {x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height}; })()"
            )
            if height is not None:
                box["height"] = min(box["height"], height)
            params.update(clip={**box, "scale": scale}, captureBeyondViewport=box["height"] > self.height)
        data = self.call("Page.captureScreenshot", **params)["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)
