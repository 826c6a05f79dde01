"""MariaDB on the local engine: one private server per variant, on 127.0.0.1, with its own data directory.

The data directory is created once (``mariadb-install-db``); at every start ``mariadbd`` runs
an init file that makes the shop's database and user exist with this installation's password —
the same SQL the containers' entrypoint runs (:func:`shop.dbadmin.account_sql`). The schema and
seed come afterwards from :mod:`shop.dbadmin`, as in the containers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from shop.config import DatabaseSettings
from shop.dbadmin import account_sql
from twinshop.programs import SetupError, find_program
from twinshop.topology import MARIADB_CNF


def running_as_root() -> bool:
    return os.geteuid() == 0


def server_command(*, folder: Path, port: int) -> list[str]:
    """mariadbd on 127.0.0.1:``port`` with its files in ``folder`` (data/, socket, pid, init.sql)."""
    command = [
        find_program("mariadbd"),
        f"--defaults-file={MARIADB_CNF}",
        f"--datadir={folder / 'data'}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--socket={folder / 'mariadbd.sock'}",
        f"--pid-file={folder / 'data' / 'mariadbd.pid'}",
        f"--init-file={folder / 'init.sql'}",
    ]
    if running_as_root():
        command.append("--user=root")
    return command


def prepare(folder: Path, settings: DatabaseSettings) -> None:
    """Create the data directory on the first start; (re)write the init file every time."""
    datadir = folder / "data"
    if not (datadir / "mysql").is_dir():
        install(datadir)
    init = folder / "init.sql"
    init.write_text(account_sql(settings))
    init.chmod(0o600)


def install(datadir: Path) -> None:
    """MariaDB's system tables in an empty data directory; root may only log in through the socket."""
    datadir.mkdir(parents=True, exist_ok=True)
    command = [
        find_program("mariadb-install-db"),
        "--no-defaults",
        f"--datadir={datadir}",
        "--auth-root-authentication-method=socket",
        "--skip-test-db",
    ]
    if running_as_root():
        command.append("--user=root")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        shutil.rmtree(datadir, ignore_errors=True)
        raise SetupError(f"mariadb-install-db failed: {' / '.join(tail)}")
