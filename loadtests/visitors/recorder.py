"""Writes every request Locust makes to a raw CSV, so percentiles come from real response times.

Locust's own CSV files hold running totals and bucketed percentiles; the report needs each
response time to compute percentiles exactly and to cut the ramp-up away. The recorder
listens to ``events.request``, buffers rows and flushes them once a second (and at the end).

Runs with ``--processes N`` too: the master makes no requests and records nothing; each
worker process writes its own part ``<stem>.worker-<pid>.csv`` next to the given path, and
:func:`loadtests.records.read_raw_csv` reads all parts back as one run.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from pathlib import Path

import gevent
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtests.records import RAW_COLUMNS
from loadtests.visitors.checks import accepted_order_id

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 1.0
FLUSH_ROWS = 2000


def part_path(path: Path, environment: Environment) -> Path:
    """Where this process writes: the path itself, or a per-worker part of it."""
    if isinstance(environment.runner, WorkerRunner):
        return path.with_name(f"{path.stem}.worker-{os.getpid()}{path.suffix}")
    return path


class RawRequestRecorder:
    """Buffers one CSV row per request and appends them to ``path``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", newline="", encoding="utf-8")  # kept open for the whole run
        self._writer = csv.writer(self._file)
        self._writer.writerow(RAW_COLUMNS)
        self._rows: list[list] = []
        self._flusher: gevent.Greenlet | None = None

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        response=None,
        exception: BaseException | None = None,
        start_time: float | None = None,
        context: dict | None = None,
        **_kwargs,
    ) -> None:
        """The ``events.request`` listener: one row, no I/O."""
        headers = getattr(response, "headers", None) or {}
        status = getattr(response, "status_code", 0) or 0
        if start_time is None:
            start_time = time.time() - response_time / 1000.0
        self._rows.append(
            [
                f"{start_time:.6f}",
                request_type,
                name,
                f"{response_time:.3f}",
                0 if exception else 1,
                status,
                headers.get("X-Served-By", "") or "",
                headers.get("Server-Timing", "") or "",
                short_error(exception),
                (context or {}).get("user", ""),
                accepted_order_id(request_type, status, headers) or "",
            ]
        )
        if len(self._rows) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self._file.closed:
            return
        rows, self._rows = self._rows, []
        if rows:
            self._writer.writerows(rows)
        self._file.flush()

    def start_flushing(self) -> None:
        if self._flusher is None:
            self._flusher = gevent.spawn(self._flush_forever)

    def _flush_forever(self) -> None:
        while True:
            gevent.sleep(FLUSH_EVERY_S)
            try:
                self.flush()
            except OSError as exc:  # a full disk must not kill the load test; say so once
                log.error("could not write %s: %s", self.path, exc)
                return

    def close(self) -> None:
        if self._flusher is not None:
            self._flusher.kill(block=False)
            self._flusher = None
        self.flush()
        self._file.close()


def short_error(exception: BaseException | None) -> str:
    if exception is None:
        return ""
    text = str(exception) or type(exception).__name__
    return " ".join(text.split())[:200]


def install(environment: Environment, path: str | os.PathLike | None) -> RawRequestRecorder | None:
    """Record this process's requests to ``path`` (nothing on a master, or without a path)."""
    if not path or isinstance(environment.runner, MasterRunner):
        return None
    recorder = RawRequestRecorder(part_path(Path(path), environment))
    environment.events.request.add_listener(recorder.on_request)
    environment.events.test_start.add_listener(lambda **_kw: recorder.start_flushing())
    environment.events.test_stop.add_listener(lambda **_kw: recorder.flush())
    environment.events.quitting.add_listener(lambda **_kw: recorder.close())
    log.info("recording every request to %s", recorder.path)
    return recorder
