"""Database chores: wait for the server, create the schema and seed it, reset the seed.

    python -m shop.dbadmin wait [--timeout 60]   # until the database accepts connections
    python -m shop.dbadmin init                  # schema + seed, only when the database is empty
    python -m shop.dbadmin reset                 # reload the seed (orders are deleted)

Connection settings come from DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD (see .env.example).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from importlib import resources

import pymysql

from shop import repository, seed
from shop.config import ConfigError, DatabaseSettings
from shop.db import connect_direct

log = logging.getLogger("twinshop.dbadmin")


class DatabaseNotReady(RuntimeError):
    pass


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


def sql_literal(value: str) -> str:
    """A MariaDB string literal: any password or name works, quotes and backslashes included."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_identifier(value: str) -> str:
    return "`" + value.replace("`", "``") + "`"


def account_sql(settings: DatabaseSettings, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> str:
    """The SQL that makes the shop's database and its user (with this password) exist, run as MariaDB's root.

    Idempotent (run at every start by the local engine's ``--init-file``, once by the box's entrypoint).
    127.0.0.1: the app connects over TCP; localhost: the unix socket, for ``mariadb -u shop -p``.
    """
    database = sql_identifier(settings.name)
    lines = [f"CREATE DATABASE IF NOT EXISTS {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"]
    for host in hosts:
        account = f"{sql_literal(settings.user)}@{sql_literal(host)}"
        lines += [
            f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {sql_literal(settings.password)};",
            f"ALTER USER {account} IDENTIFIED BY {sql_literal(settings.password)};",
            f"GRANT ALL PRIVILEGES ON {database}.* TO {account};",
        ]
    return "\n".join(lines) + "\n"


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
    wait = sub.add_parser("wait", help="wait until the database accepts connections")
    wait.add_argument("--timeout", type=float, default=60)
    sub.add_parser("init", help="create the schema and seed an empty database")
    sub.add_parser("reset", help="reload the seed data")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = DatabaseSettings.from_env()
        if args.command == "wait":
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
