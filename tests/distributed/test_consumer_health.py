"""The consumers' container health check (compose/distributed.yaml): healthy while connected to the broker."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]


def health_check(port: int) -> subprocess.CompletedProcess:
    """The consumers' check as compose/distributed.yaml writes it, run here with BROKER_PORT=port."""
    document = YAML(typ="safe").load((ROOT / "compose" / "distributed.yaml").read_text())
    test = document["x-consumer"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"] and document["services"]["mailer"]["healthcheck"]["test"] == test
    return subprocess.run([sys.executable, *test[2:]], env={"BROKER_PORT": str(port)}, capture_output=True,
                          text=True, timeout=30)  # fmt: skip


def test_healthy_while_a_connection_to_the_broker_port_is_open_and_not_after():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert health_check(port).returncode == 1  # the port listens here, but nobody is connected to it
        with socket.create_connection(("127.0.0.1", port)):
            check = health_check(port)
            assert check.returncode == 0, check.stderr
    assert health_check(port).returncode == 1
