"""The consume loop every consumer runs (mailer-N, sales): acknowledge after the work, never lose a message.

For each message of its queue (one at a time: ``prefetch_count=1``, so competing consumers share
the work fairly), the consumer calls its handler, then:

* the handler returned → **ack**: the broker forgets the message. An ack sent *after* the work
  means a consumer that dies mid-way leaves the message unacknowledged, and the broker delivers it
  again (to this consumer once it is back, or to another): **at-least-once** delivery. Handlers are
  idempotent (keyed by order id), so a second delivery of work already done does nothing.
* the handler raised :class:`Poison` (the message itself is bad: malformed, an unknown order, a
  template that cannot render it) → **nack with requeue**: the quorum queue counts the delivery;
  past its delivery limit the broker moves the message to the ``dead-letters`` queue instead of
  delivering it again (:mod:`distributed.events.broker`). Bounded retries, then parked, never
  dropped: ``twinshop status`` and the comparison report show the dead letters.
* a step raised :class:`Transient` (the mail server or the API is down: not the message's fault)
  → the consumer keeps the message and tries that step again, with growing pauses up to
  ``RETRY_MAX_S``, until it works or the process is asked to stop. Meanwhile the queue holds the
  rest: the backlog grows, and drains once the dependency is back.

SIGTERM (``twinshop kill``, ``docker stop``) stops between two steps: an unfinished message is
not acknowledged, so the broker delivers it again later.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pika
import pika.exceptions

from distributed.events.broker import DELIVERY_LIMIT, connection_parameters, declare_topology
from shop.config import BrokerSettings

log = logging.getLogger("twinshop.consumer")

RETRY_MAX_S = 1.0  # longest pause between two attempts of a step while its dependency is down
POISON_PAUSE_S = 0.5  # pause before handing a bad message back (its retries are not a hot loop)
RECONNECT_MAX_S = 2.0


class Transient(Exception):  # noqa: N818 - a kind of outcome, like Poison
    """A dependency is unavailable (mail server, API): the step is tried again; the message is not to blame."""


class Poison(Exception):  # noqa: N818
    """This message cannot be processed: retried a bounded number of times, then dead-lettered."""


class Stopping(Exception):  # noqa: N818
    """The process was asked to stop in the middle of a message: leave it unacknowledged."""


@dataclass
class Delivery:
    """One message as the handler sees it, with a way to retry a step while its dependency is down."""

    body: bytes
    delivery_count: int  # earlier deliveries of this message (0 the first time: quorum queues count them)
    redelivered: bool
    message_id: str | None
    _consumer: Consumer = field(repr=False)

    def retry(self, step: Callable[[], object], what: str) -> object:
        """Run ``step`` until it does not raise Transient (pauses grow to RETRY_MAX_S); Stopping on SIGTERM."""
        failures = 0
        while True:
            try:
                result = step()
            except Transient as exc:
                if failures % 20 == 0:
                    log.warning("%s: cannot %s yet (%s); retrying", self._consumer.node, what, exc)
                failures += 1
                self._consumer.pause(min(RETRY_MAX_S, 0.05 * 2**failures))
                continue
            if failures:
                log.info("%s: could %s after %d retries", self._consumer.node, what, failures)
            return result


Handler = Callable[[Delivery], str]
"""Processes one message; returns what it did, for the log ("mailed order 42", "order 42 already counted")."""


class Consumer:
    """Consumes one queue until SIGTERM, reconnecting to the broker whenever it goes away."""

    def __init__(self, *, queue: str, handler: Handler, settings: BrokerSettings, node: str,
                 pause_before_ack_s: float = 0.0):  # fmt: skip
        self.queue, self.handler, self.settings, self.node = queue, handler, settings, node
        self.pause_before_ack_s = pause_before_ack_s  # a test knob: a window in which to kill the consumer
        self.stopping = False
        self.connection: pika.BlockingConnection | None = None
        self.handled = 0

    def stop(self, *_args) -> None:
        self.stopping = True

    def pause(self, seconds: float) -> None:
        """Sleep while answering the broker's heartbeats; Stopping once asked to stop."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            if self.connection is not None and self.connection.is_open:
                self.connection.sleep(min(left, 0.2))
            else:
                time.sleep(min(left, 0.2))
        if self.stopping:
            raise Stopping()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        failures = 0
        while not self.stopping:
            try:
                self.consume()
                failures = 0
            except (pika.exceptions.AMQPError, OSError) as exc:
                if not failures:
                    log.warning("%s: broker unavailable (%s); reconnecting", self.node, str(exc) or type(exc).__name__)
                failures += 1
                try:
                    self.pause(min(RECONNECT_MAX_S, 0.1 * 2**failures))
                except Stopping:
                    break
            finally:
                self._close()
        log.info("%s: stopped after %d messages", self.node, self.handled)

    def consume(self) -> None:
        self.connection = pika.BlockingConnection(connection_parameters(self.settings, name=self.node))
        channel = self.connection.channel()
        declare_topology(channel)
        channel.basic_qos(prefetch_count=1)  # one unacknowledged message at a time: fair competition
        log.info("%s: consuming queue %r", self.node, self.queue)
        # The consumer tag names this process in the management UI and in `twinshop status`.
        for method, properties, body in channel.consume(self.queue, inactivity_timeout=0.5, consumer_tag=self.node):
            if self.stopping:
                break
            if method is None:
                continue  # nothing arrived in the last half second: look at the stop flag again
            count = int((properties.headers or {}).get("x-delivery-count", 0) or 0)
            delivery = Delivery(body, count, method.redelivered, properties.message_id, self)
            try:
                outcome = self.handler(delivery)
            except Stopping:
                break  # unacknowledged: the broker delivers it again
            except Poison as exc:
                last = count >= DELIVERY_LIMIT
                log.warning("%s: message %s cannot be processed (delivery %d of %d): %s%s", self.node,
                            properties.message_id, count + 1, DELIVERY_LIMIT + 1, exc,
                            " -> dead-lettered" if last else "; handed back")  # fmt: skip
                try:
                    self.pause(POISON_PAUSE_S)
                except Stopping:
                    break
                channel.basic_nack(method.delivery_tag, requeue=True)
                continue
            if self.pause_before_ack_s:
                try:
                    self.pause(self.pause_before_ack_s)
                except Stopping:
                    break
            channel.basic_ack(method.delivery_tag)
            self.handled += 1
            log.info("%s: %s (message %s, delivery %d)", self.node, outcome, properties.message_id, count + 1)

    def _close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and connection.is_open:
            try:
                connection.close()  # unacknowledged messages go back to the queue
            except (pika.exceptions.AMQPError, OSError):
                pass
