"""The database connection pool (DBUtils over PyMySQL) and transaction helpers.

One pool per process, created lazily after gunicorn forks. Reads cost one round trip: the
connections run in autocommit mode and are not pinged; a read that finds its connection
broken (the database restarted) is reconnected and retried once by DBUtils. Writes run in an
explicit transaction (BEGIN ... COMMIT) which DBUtils never retries halfway, so an order is
all or nothing. While the database is down every call fails fast with
:class:`shop.errors.Unavailable` (503), and the process recovers by itself when it returns.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pymysql
from dbutils.pooled_db import PooledDB
from flask import has_request_context
from pymysql.cursors import DictCursor

from shop.config import DatabaseSettings
from shop.errors import Unavailable
from shop.served import add_timing

log = logging.getLogger("twinshop.db")

# What a client is told when the database cannot be reached (the driver's details go to the log).
DATABASE_DOWN = "The database is unavailable right now; try again in a moment."

# Errors that mean "the database is not reachable", as opposed to a bad query.
CONNECTION_ERRORS = (pymysql.err.OperationalError, pymysql.err.InterfaceError, ConnectionError, OSError)


class Database:
    """A lazily created, fork-safe pool of connections to one MariaDB database."""

    def __init__(self, settings: DatabaseSettings):
        self.settings = settings
        self._pool: PooledDB | None = None
        self._pool_pid: int | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> PooledDB:
        if self._pool is None or self._pool_pid != os.getpid():
            with self._lock:
                if self._pool is None or self._pool_pid != os.getpid():
                    s = self.settings
                    self._pool = PooledDB(
                        creator=pymysql,
                        maxconnections=s.pool_size,
                        blocking=True,  # wait for a free connection instead of failing
                        ping=0,  # no ping round trip: a failed read is reconnected and retried
                        reset=False,  # only roll back transactions that were begun and not ended
                        host=s.host,
                        port=s.port,
                        user=s.user,
                        password=s.password,
                        database=s.name,
                        charset="utf8mb4",
                        autocommit=True,
                        cursorclass=DictCursor,
                        connect_timeout=3,
                        read_timeout=30,
                        write_timeout=30,
                    )
                    self._pool_pid = os.getpid()
        return self._pool

    @contextmanager
    def read(self) -> Iterator[pymysql.cursors.Cursor]:
        """A cursor for reads (autocommit: each statement sees the latest committed data)."""
        with self._connection(write=False) as cursor:
            yield cursor

    @contextmanager
    def autocommit(self) -> Iterator[pymysql.cursors.Cursor]:
        """A cursor whose every statement is its own transaction (one round trip: no BEGIN, no COMMIT).

        For a single write that needs no other statement with it (the outbox relay's stamp)."""
        with self._connection(write=False) as cursor:
            yield cursor

    @contextmanager
    def transaction(self) -> Iterator[pymysql.cursors.Cursor]:
        """A cursor inside one transaction: committed on success, rolled back on any error."""
        with self._connection(write=True) as cursor:
            yield cursor

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[pymysql.cursors.Cursor]:
        started = time.perf_counter()
        try:
            try:
                conn = self._get_pool().connection()
            except CONNECTION_ERRORS as exc:
                log.warning("database %s:%s unreachable: %s", self.settings.host, self.settings.port, exc)
                raise Unavailable(DATABASE_DOWN, code="database_unavailable") from exc
            try:
                cursor = conn.cursor()
                if write:
                    # Outside a transaction DBUtils reconnects and retries a statement whose
                    # connection the database dropped; inside one it never does (it could not
                    # replay what came before). So make sure the connection lives, then BEGIN.
                    cursor.execute("SELECT 1")
                    conn.begin()
                yield cursor
                if write:
                    conn.commit()
            except CONNECTION_ERRORS as exc:
                _rollback_quietly(conn)
                if isinstance(exc, pymysql.err.OperationalError) and exc.args and exc.args[0] in RETRYABLE:
                    raise
                log.warning("database connection failed: %s", exc)
                raise Unavailable(DATABASE_DOWN, code="database_unavailable") from exc
            except BaseException:
                _rollback_quietly(conn)
                raise
            finally:
                conn.close()  # back to the pool
        finally:
            if has_request_context():
                add_timing("db", (time.perf_counter() - started) * 1000)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


# Deadlock found / lock wait timeout: the transaction may simply be run again.
DEADLOCK = 1213
LOCK_WAIT_TIMEOUT = 1205
RETRYABLE = (DEADLOCK, LOCK_WAIT_TIMEOUT)


def _rollback_quietly(conn) -> None:
    try:
        conn.rollback()
    except Exception:  # the connection may already be gone; the pool will replace it
        pass


def connect_direct(settings: DatabaseSettings, *, database: bool = True, timeout: float = 3) -> pymysql.Connection:
    """One plain connection (for admin commands: waiting, schema, seed)."""
    return pymysql.connect(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password,
        database=settings.name if database else None,
        charset="utf8mb4",
        cursorclass=DictCursor,
        connect_timeout=timeout,
        autocommit=False,
    )
