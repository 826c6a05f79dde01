"""``python -m distributed.events.health``: a consumer container's health check - exit 0 while this
container holds an open connection to the broker, 1 otherwise.

A consumer (a mailer, the sales consumer) has no port to ask. It keeps one AMQP connection to
RabbitMQ and consumes its queue on it as soon as it is open; RabbitMQ drops its consumers with the
connection. So "connected to the broker" is, from inside the container, what RabbitMQ's
management UI (and ``twinshop status``) call "consuming its queue". The kernel lists the
container's TCP connections in /proc/net/tcp and /proc/net/tcp6 (the container has a network of
its own, so only its own): one to BROKER_PORT in state ESTABLISHED is enough.

Plain standard library, nothing of the shop imported: Docker runs it every few seconds.
"""

from __future__ import annotations

import os
import sys

ESTABLISHED = "01"  # the kernel's TCP state code in /proc/net/tcp


def connected(port: int, tables: tuple[str, ...] = ("/proc/net/tcp", "/proc/net/tcp6")) -> bool:
    """Whether a TCP connection to ``port`` (on any address) is established."""
    wanted = f"{port:04X}"
    for table in tables:
        try:
            with open(table, encoding="ascii") as handle:
                next(handle, None)  # the header line
                for line in handle:
                    fields = line.split()  # sl local_address rem_address st ...
                    if len(fields) > 3 and fields[2].rpartition(":")[2] == wanted and fields[3] == ESTABLISHED:
                        return True
        except OSError:
            continue
    return False


def main() -> int:
    port = int(os.environ.get("BROKER_PORT", "5672"))
    if connected(port):
        return 0
    print(f"no connection to the broker (port {port}): not consuming", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
