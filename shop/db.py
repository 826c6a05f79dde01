"""The database connection pool (DBUtils over PyMySQL) and transaction helpers.

One pool per process, created lazily after gunicorn forks. Connections are pinged when
taken from the pool, so a process recovers by itself after the database restarts; while
the database is down every call fails fast with :class:`shop.errors.Unavailable` (503).
"""

from __future__ import annotations

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
                        ping=1,  # check (and reconnect) each time a connection is taken
                        host=s.host,
                        port=s.port,
                        user=s.user,
                        password=s.password,
                        database=s.name,
                        charset="utf8mb4",
                        autocommit=False,
                        cursorclass=DictCursor,
                        connect_timeout=3,
                        read_timeout=30,
                        write_timeout=30,
                    )
                    self._pool_pid = os.getpid()
        return self._pool

    @contextmanager
    def transaction(self) -> Iterator[pymysql.cursors.Cursor]:
        """A cursor inside one transaction: committed on success, rolled back on any error."""
        started = time.perf_counter()
        try:
            try:
                conn = self._get_pool().connection()
            except CONNECTION_ERRORS as exc:
                raise Unavailable(f"the database cannot be reached ({exc})", code="database_unavailable") from exc
            try:
                cursor = conn.cursor()
                yield cursor
                conn.commit()
            except CONNECTION_ERRORS as exc:
                _rollback_quietly(conn)
                if isinstance(exc, pymysql.err.OperationalError) and exc.args and exc.args[0] in RETRYABLE:
                    raise
                raise Unavailable(f"the database connection failed ({exc})", code="database_unavailable") from exc
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
