"""The consumers' container health check (distributed/events/health.py): connected to the broker or not."""

from __future__ import annotations

import socket
import subprocess
import sys

from distributed.events.health import connected

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def test_an_established_connection_to_the_broker_port_counts_and_nothing_else(tmp_path):
    table = tmp_path / "tcp"
    rest = "00000000:00000000 00:00000000 00000000 0 0 1\n"
    listening = f"   0: 0100007F:1628 00000000:0000 0A {rest}"  # a server on 5672 here: not a connection to it
    closing = f"   1: 0200000A:A0F2 0300000A:1628 06 {rest}"  # TIME_WAIT: a connection that is over
    table.write_text(HEADER + listening + closing)
    assert not connected(5672, (str(table), str(tmp_path / "missing")))
    table.write_text(table.read_text() + f"   2: 0200000A:A0F4 0300000A:1628 01 {rest}")  # ESTABLISHED
    assert connected(5672, (str(table),))
    assert not connected(5673, (str(table),))


def test_the_check_reads_this_machines_connections(monkeypatch):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            assert connected(port)
            check = subprocess.run([sys.executable, "-m", "distributed.events.health"], capture_output=True, text=True,
                                   env={"BROKER_PORT": str(port), "PATH": ""}, timeout=30)  # fmt: skip
            assert check.returncode == 0, check.stderr
    check = subprocess.run([sys.executable, "-m", "distributed.events.health"], capture_output=True, text=True,
                           env={"BROKER_PORT": str(port), "PATH": ""}, timeout=30)  # fmt: skip
    assert check.returncode == 1 and "not consuming" in check.stderr
