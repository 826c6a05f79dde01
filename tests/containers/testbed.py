"""Names, ports and figures shared by the container tests (conftest.py and the test modules)."""

from __future__ import annotations

import os
import time

import requests

PORT_OFFSET = int(os.environ.get("TWINSHOP_TEST_PORT_OFFSET", "10000"))
# Container ports sit 500 above the local engine's (8001 -> 8501 ...), so a whole test session
# can run both engines side by side.
CONTAINER_SHIFT = PORT_OFFSET + 500
MONOLITH_PORT = 8001 + CONTAINER_SHIFT
LB_PORT = 8002 + CONTAINER_SHIFT
STATS_PORT = 8404 + CONTAINER_SHIFT
BOX_PORT = 8101 + CONTAINER_SHIFT  # the `docker run` practice box
BROKER_UI_PORT = 15673 + CONTAINER_SHIFT  # RabbitMQ's management UI (distributed)
MAIL_PORT = 8026 + CONTAINER_SHIFT  # the distributed variant's mailbox page
MONOLITH_MAIL_PORT = 8025 + CONTAINER_SHIFT  # the monolith's
# Every container, volume and compose project the tests create is named with this prefix.
PREFIX = f"twinshop-test{PORT_OFFSET}"

# Figures printed at the end of the session (build times, image sizes, `up --wait` times).
FIGURES: dict[str, str] = {}


def wait_for_http(url: str, timeout: float = 60) -> bool:
    """Poll ``url`` until it answers 200 (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False

# `twinshop --engine compose` in the tests: its own offset (8001 -> 8701 ...), beside the
# local engine's ports and the compose files' test projects above.
ENGINE_OFFSET = PORT_OFFSET + 700
# ...and for the refusals (a start that fails, one interrupted): projects of their own.
REFUSAL_OFFSET = PORT_OFFSET + 800
