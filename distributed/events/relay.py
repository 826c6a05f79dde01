"""The outbox relay: publishes the order events the API committed to its ``outbox`` table.

One relay runs in every API worker process, as a background thread, on two paths:

* **right after the commit** (``submit()``): the request that placed the order hands over the
  outbox row it has just committed, and the relay publishes it to the ``shop.events`` exchange
  with **publisher confirms** (the broker answers each message with an ack once it is safely in
  every queue it routes to; a nack when a queue is full, see :mod:`distributed.events.broker`),
  then stamps it ``published_at`` - one statement for all it published, no reading back;
* **the sweep**, every ``SWEEP_S`` seconds (every ``RETRY_MAX_S`` at most after a failure): in one
  database transaction, the oldest rows still unpublished after ``SWEEP_AGE_S`` seconds, taken
  with ``SELECT ... FOR UPDATE SKIP LOCKED`` (rows another replica's relay holds are skipped, so
  several replicas never publish the same row at the same time, and none waits for another),
  published with confirms and stamped, then the commit.

If the broker is down, publishing fails, nothing is stamped and the rows wait for the sweep: an
order accepted while the broker is down is announced once it returns. If the relay dies between
the broker's ack and the stamp, the row is published again by a sweep: delivery is **at least
once**, and the consumers are idempotent (keyed by order id), so a duplicate does no harm. The
checkout itself never waits for any of this.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time

import pika
import pika.exceptions

from distributed.events.broker import EXCHANGE, connection_parameters, declare_topology
from shop import repository
from shop.config import BrokerSettings
from shop.db import Database
from shop.errors import Unavailable
from shop.order_events import StagedEvent

log = logging.getLogger("twinshop.relay")

SWEEP_S = 5.0  # look for what the fast path left behind (the broker was down, a queue was full) this often
SWEEP_AGE_S = 2.0  # ... among rows at least this old: younger ones are the fast path's
BATCH = 200  # rows per transaction
RETRY_MAX_S = 2.0  # longest wait between two attempts while the broker is unreachable
BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)


class OutboxRelay:
    """Publishes the outbox to RabbitMQ from a background thread of this process (started on first use)."""

    def __init__(self, db: Database, settings: BrokerSettings, *, node: str):
        self.db, self.settings, self.node = db, settings, node
        self._wake = threading.Event()
        self._staged: queue.SimpleQueue[StagedEvent] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._connection: pika.BlockingConnection | None = None
        self._channel = None
        self.published = 0  # events published by this process (for tests and the benchmark)
        self.cpu_s = 0.0  # CPU seconds the relay thread has used so far (benchmarks/events.py reads it)

    # -- called by request threads ------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start the relay thread in this process (gunicorn forks after loading the app: one per worker)."""
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._connection, self._channel = None, None  # never use a connection inherited across fork
                self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
                self._pid = os.getpid()
                self._thread.start()

    def stats(self) -> dict:
        return {"node": self.node, "pid": os.getpid(), "running": self._pid == os.getpid() and self._thread is not None
                and self._thread.is_alive(), "published": self.published, "cpu_s": self.cpu_s}  # fmt: skip

    def submit(self, event: StagedEvent) -> None:
        """An order and its outbox row were just committed: publish the row soon (returns at once)."""
        self.ensure_running()
        self._staged.put(event)
        self._wake.set()

    # -- the relay thread ---------------------------------------------------------------------

    def _run(self) -> None:
        log.info("outbox relay of %s started (pid %s)", self.node, os.getpid())
        failures = 0
        next_sweep = time.monotonic()
        while True:
            self._wake.wait(timeout=SWEEP_S if not failures else min(RETRY_MAX_S, 0.25 * 2**failures))
            self._wake.clear()
            try:
                staged = self._take_staged()
                if failures:
                    staged = []  # the sweep publishes them, with whatever else was left behind
                if staged:
                    self.publish_staged(staged)
                if failures or time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP_S
                    while self.publish_pending() == BATCH:
                        pass  # a full batch: there may be more right away
                if failures:
                    log.info("outbox relay of %s publishes again", self.node)
                failures = 0
                self._heartbeat()
                self.cpu_s = time.thread_time()  # this thread's own CPU, every sweep included
            except (*BROKER_ERRORS, Unavailable) as exc:
                if not failures:
                    reason = str(exc) or type(exc).__name__
                    log.warning("outbox relay of %s cannot publish (will retry): %s", self.node, reason)
                failures += 1
                self._disconnect()
            except Exception:  # never let the thread die: the next sweep tries again
                log.exception("outbox relay of %s failed", self.node)
                failures += 1
                self._disconnect()

    def _take_staged(self) -> list[StagedEvent]:
        staged = []
        while True:
            try:
                staged.append(self._staged.get_nowait())
            except queue.Empty:
                return staged

    def publish_staged(self, events: list[StagedEvent]) -> int:
        """The fast path: publish rows this process has just committed, then stamp them in one statement."""
        done = self._publish([(e.id, e.routing_key, e.payload) for e in events])
        if done:
            with self.db.autocommit() as cur:
                repository.mark_published(cur, done)
        self.published += len(done)
        return len(done)

    def publish_pending(self) -> int:
        """The sweep, one batch: take rows left unpublished, publish them with confirms, stamp those acked."""
        with self.db.transaction() as cur:
            rows = repository.pending_events(cur, limit=BATCH, older_than_s=SWEEP_AGE_S)
            if not rows:
                return 0
            done = self._publish([(row["id"], row["routing_key"], row["payload"]) for row in rows])
            repository.mark_published(cur, done)
        self.published += len(done)
        return len(done)

    def _publish(self, rows: list[tuple[int, str, str]]) -> list[int]:
        """Publish with confirms, in order; the ids the broker acknowledged (it stops at the first refusal)."""
        channel = self._open_channel()
        done: list[int] = []
        for event_id, routing_key, payload in rows:
            try:
                channel.basic_publish(
                    EXCHANGE,
                    routing_key,
                    payload.encode(),
                    properties=pika.BasicProperties(
                        content_type="application/json",
                        delivery_mode=pika.DeliveryMode.Persistent,  # written to disk by the broker
                        message_id=str(event_id),
                        timestamp=int(time.time()),
                        app_id=self.node,
                    ),
                    mandatory=True,  # no queue bound for it: an error, not a silent drop
                )
            except (pika.exceptions.NackError, pika.exceptions.UnroutableError) as exc:
                # A queue is full (reject-publish) or missing: keep this row and the rest for the sweep.
                log.warning("the broker refused event %s (%s): it stays in the outbox", event_id, type(exc).__name__)
                break
            done.append(event_id)
        return done

    def _open_channel(self):
        if self._channel is None or not self._channel.is_open:
            self._disconnect()
            try:
                self._connection = pika.BlockingConnection(
                    connection_parameters(self.settings, name=f"{self.node} outbox relay (pid {os.getpid()})")
                )
            except OSError as exc:  # reported as the broker's failure, not the database's (we are in its transaction)
                raise pika.exceptions.AMQPConnectionError(str(exc)) from exc
            channel = self._connection.channel()
            declare_topology(channel)
            channel.confirm_delivery()
            self._channel = channel
        return self._channel

    def _heartbeat(self) -> None:
        """Let pika answer the broker's heartbeats while idle (a BlockingConnection only does it when asked)."""
        if self._connection is not None and self._connection.is_open:
            self._connection.process_data_events(time_limit=0)

    def _disconnect(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except BROKER_ERRORS:
                pass
