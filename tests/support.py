"""Small helpers shared by several test files (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import time

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
