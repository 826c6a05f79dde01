"""Small helpers shared by several test files (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

# The tests' own ports: every address shifted by this, beside a student's shop and a colleague's tests.
PORT_OFFSET = int(os.environ.get("TWINSHOP_TEST_PORT_OFFSET", "10000"))
GUNICORN_CONF = Path(__file__).resolve().parent.parent / "shop" / "gunicorn.conf.py"

# Headless Chromium as this machine runs it: no sandbox as root, and no calls home (the
# network is closed; Chromium's background connections would only fail and slow it down).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class BackgroundLoop:
    """Calls ``step(session, i)`` in a loop on a background thread, from ``with`` until its end.

    Bounded in time (``max_seconds``) so a forgotten stream stops by itself; a request that
    fails is handed to ``failed(exc)`` and the loop goes on.
    """

    pause = 0.01  # seconds between steps

    def __init__(self, max_seconds: float = 60):
        self.max_seconds = max_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def step(self, session: requests.Session, i: int) -> None:
        raise NotImplementedError

    def failed(self, exc: requests.RequestException) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        started = time.monotonic()
        with requests.Session() as session:
            i = 0
            while not self._stop.is_set() and time.monotonic() - started < self.max_seconds:
                i += 1
                try:
                    self.step(session, i)
                except requests.RequestException as exc:
                    self.failed(exc)
                time.sleep(self.pause)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)


def start_gunicorn(app_path: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Start the shop's gunicorn (shop/gunicorn.conf.py) the way the engines do, for a process
    expected to refuse to start; returns once it has exited (its output is in stdout/stderr)."""
    command = [str(Path(sys.executable).with_name("gunicorn")), "-c", str(GUNICORN_CONF), app_path]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, cwd=GUNICORN_CONF.parent.parent
    )
