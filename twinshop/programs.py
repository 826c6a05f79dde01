"""The system programs the local engine runs (MariaDB, HAProxy), found where Debian installs them."""

from __future__ import annotations

import shutil
from pathlib import Path


class SetupError(RuntimeError):
    """A program the engine needs is missing, or MariaDB's data directory could not be made."""


PACKAGES = {"haproxy": "haproxy", "mariadbd": "mariadb-server", "mariadb-install-db": "mariadb-server"}


def find_program(name: str) -> str:
    """The path of a system program (also looked for in /usr/sbin, which is not on every user's PATH)."""
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if not found:
        raise SetupError(f"{name} not found: install Debian's {PACKAGES.get(name, name)} package (`make demo` does it)")
    return found
