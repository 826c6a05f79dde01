"""Which replica this container is: the number Docker Compose gave it (``api-2``), found through Docker's DNS.

Compose starts the replicas of a service from one configuration, so nothing in their
environment tells them apart. Docker does name each container ``<project>-<service>-<n>``,
and its embedded DNS server (127.0.0.11 inside every container on a user-defined network)
answers a reverse lookup of a container's own address with that name. A replica asks once, at
start-up, so that ``X-Served-By`` says ``api-2`` — the name ``docker compose ps`` and
``twinshop status`` show — rather than a container id. ``/etc/hosts`` would answer the same
question with the container id, which is why the query goes to the DNS server itself.
"""

from __future__ import annotations

import re
import secrets
import socket
import struct
from pathlib import Path

DOCKER_DNS = "127.0.0.11"  # Docker's embedded DNS server, in every container of a user-defined network
PTR = 12  # the DNS record type of a reverse lookup
_NUMBERED = re.compile(r"-(\d+)$")


def _query(name: str) -> bytes:
    """A DNS question for the PTR record of ``name``, recursion desired."""
    header = struct.pack(">HHHHHH", secrets.randbelow(65536), 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(part)]) + part.encode("ascii") for part in name.split("."))
    return header + labels + b"\0" + struct.pack(">HH", PTR, 1)


def _read_name(message: bytes, offset: int) -> tuple[str, int]:
    """The domain name at ``offset`` (following compression pointers) and the offset after it."""
    labels: list[str] = []
    end = None
    for _ in range(64):  # bounded: a malformed answer cannot loop forever
        length = message[offset]
        if length == 0:
            return ".".join(labels), end if end is not None else offset + 1
        if length & 0xC0 == 0xC0:  # a pointer to a name earlier in the message
            end = end if end is not None else offset + 2
            offset = struct.unpack(">H", message[offset : offset + 2])[0] & 0x3FFF
            continue
        labels.append(message[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    raise ValueError("DNS name too long")


def reverse_lookup(address: str, *, server: str = DOCKER_DNS, timeout: float = 1.0) -> str | None:
    """The name a DNS server gives an IPv4 address (None: no answer, no server, or no name)."""
    question = _query(".".join(reversed(address.split("."))) + ".in-addr.arpa")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.sendto(question, (server, 53))
            answer = sock.recv(1024)
    except OSError:
        return None
    try:
        if answer[:2] != question[:2] or struct.unpack(">H", answer[6:8])[0] == 0:
            return None
        _, offset = _read_name(answer, 12)
        offset += 4  # the question's type and class
        _, offset = _read_name(answer, offset)  # the answer's owner name
        kind, _cls, _ttl, length = struct.unpack(">HHIH", answer[offset : offset + 10])
        return _read_name(answer, offset + 10)[0] if kind == PTR and length else None
    except (IndexError, ValueError, struct.error):
        return None


def in_docker_network() -> bool:
    """Whether Docker's embedded DNS server is this container's resolver."""
    try:
        return DOCKER_DNS in Path("/etc/resolv.conf").read_text()
    except OSError:
        return False


def replica_number() -> str | None:
    """This container's compose replica number ("2" for ``twinshop-distributed-api-2``), or None outside compose."""
    if not in_docker_network():
        return None
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    name = reverse_lookup(address)
    match = _NUMBERED.search(name.split(".")[0]) if name else None
    return match.group(1) if match else None
