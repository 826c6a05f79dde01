"""Database chores: create the shop's account, wait for the server, create the schema and seed it.

    python -m shop.dbadmin account-sql [--host H ...]   # print the SQL creating the database and its user
    python -m shop.dbadmin wait [--timeout 60]          # until the database accepts connections
    python -m shop.dbadmin init                         # schema + seed, only when the database is empty
    python -m shop.dbadmin reset                        # reload the seed (orders are deleted)

Connection settings come from DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD (see .env.example).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterable
from importlib import resources

import pymysql

from shop import repository, seed
from shop.config import ConfigError, DatabaseSettings
from shop.db import connect_direct

log = logging.getLogger("twinshop.dbadmin")


class DatabaseNotReady(RuntimeError):
    pass


# Where the shop's account may log in from when no host is given: the database's own machine,
# over TCP (127.0.0.1, how gunicorn connects in the monolith) and over the unix socket
# (localhost, for `mariadb -u shop -p shop` typed inside the box).
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def _sql_string(value: str) -> str:
    """A MariaDB string literal on one line: quotes, backslashes and line breaks escaped."""
    escapes = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\0": "\\0"}
    return "'" + "".join(escapes.get(char, char) for char in value) + "'"


def _sql_identifier(value: str) -> str:
    return "`" + value.replace("`", "``") + "`"


def account_sql(settings: DatabaseSettings, *, hosts: Iterable[str] = LOCAL_HOSTS) -> str:
    """The SQL that creates the shop's database and its user (DB_NAME, DB_USER, DB_PASSWORD).

    Safe to run at every start of the server (the local engine's ``--init-file``, the
    containers' entrypoint): it creates what is missing, and sets the password again so it
    always matches the settings. One statement per line, no comments, as ``--init-file``
    requires. Account management cannot take ``%s`` parameters, so the values are quoted here,
    in this one place: any password works, quotes and backslashes included.
    """
    hosts = list(hosts)
    if not hosts:
        raise ValueError("account_sql needs at least one host the account may log in from")
    database = _sql_identifier(settings.name)
    lines = [f"CREATE DATABASE IF NOT EXISTS {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"]
    password = _sql_string(settings.password)
    for host in hosts:
        account = f"{_sql_string(settings.user)}@{_sql_string(host)}"
        lines += [
            f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {password};",
            f"ALTER USER {account} IDENTIFIED BY {password};",
            f"GRANT ALL PRIVILEGES ON {database}.* TO {account};",
        ]
    return "\n".join(lines) + "\n"


def wait_for_db(settings: DatabaseSettings, *, timeout: float = 60) -> None:
    """Return once the database accepts a login; raise DatabaseNotReady after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            connect_direct(settings, timeout=2).close()
            return
        except pymysql.err.MySQLError as exc:
            last_error = exc
            time.sleep(0.2)
    raise DatabaseNotReady(f"database {settings.host}:{settings.port} not ready after {timeout:.0f}s: {last_error}")


def schema_statements() -> list[str]:
    text = resources.files("shop").joinpath("schema.sql").read_text()
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


def _prepare(settings: DatabaseSettings, *, only_if_empty: bool) -> bool:
    """Create the schema if missing, then load the seed (always, or only into an empty catalogue)."""
    conn = connect_direct(settings)
    try:
        with conn.cursor() as cur:
            for statement in schema_statements():
                cur.execute(statement)
            seeding = not (only_if_empty and repository.product_count(cur) > 0)
            if seeding:
                repository.load_seed(cur, *seed.generate())
        conn.commit()
        return seeding
    finally:
        conn.close()


def init_db(settings: DatabaseSettings) -> bool:
    """Create the schema if missing and seed an empty catalogue (first start only); True when it seeded."""
    return _prepare(settings, only_if_empty=True)


def reset_db(settings: DatabaseSettings) -> None:
    """Reload the seed so every run starts from the same state."""
    _prepare(settings, only_if_empty=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop.dbadmin", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    account = sub.add_parser("account-sql", help="print the SQL that creates the database and its user")
    account.add_argument(
        "--host",
        dest="hosts",
        metavar="HOST",
        action="append",
        help=f"a host the user may log in from, repeatable ('%%' = any; default: {' '.join(LOCAL_HOSTS)})",
    )
    wait = sub.add_parser("wait", help="wait until the database accepts connections")
    wait.add_argument("--timeout", type=float, default=60)
    sub.add_parser("init", help="create the schema and seed an empty database")
    sub.add_parser("reset", help="reload the seed data")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = DatabaseSettings.from_env()
        if args.command == "account-sql":
            sys.stdout.write(account_sql(settings, hosts=args.hosts or LOCAL_HOSTS))
        elif args.command == "wait":
            wait_for_db(settings, timeout=args.timeout)
            log.info("database %s:%s is accepting connections", settings.host, settings.port)
        elif args.command == "init":
            wait_for_db(settings, timeout=60)
            seeded = init_db(settings)
            log.info("schema ready; %s", "seed loaded" if seeded else "data already present, left as is")
        else:
            wait_for_db(settings, timeout=60)
            reset_db(settings)
            log.info("seed data reloaded")
    except (ConfigError, DatabaseNotReady, pymysql.err.MySQLError) as exc:
        print(f"dbadmin: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
