"""The broker's topology, declared identically by the relay and by every consumer (docs/architecture.md).

::

    relay ──publish "order.placed"──► exchange "shop.events" (topic)
                                         ├─ binding "order.placed" ─► queue "mailer"  (mailer-1..N compete)
                                         └─ binding "order.#"     ─► queue "sales"   (the sales consumer)
    a message a consumer cannot process ──► exchange "shop.dead-letters" (fanout) ─► queue "dead-letters"

A topic exchange is publish-subscribe: every queue bound to a matching key gets its own copy of
every event. Within one queue, consumers compete: each message goes to one of them (like SQS).

Every queue is a **quorum queue** (RabbitMQ's durable, replicated queue type; one node here) with:

* ``x-delivery-limit`` — a message returned to the queue more than ``DELIVERY_LIMIT`` times (a
  consumer rejected it, or died holding it) is not delivered again but dead-lettered;
* ``x-dead-letter-exchange`` with ``x-dead-letter-strategy: at-least-once`` — the broker moves it
  to ``dead-letters`` and only then forgets it (never silently dropped);
* ``x-max-length`` with ``x-overflow: reject-publish`` — past ``MAX_LENGTH`` messages waiting, the
  broker refuses new ones: the relay's publish is nacked, the event stays in the outbox and is
  published again later. A full queue slows the announcements down; it loses none. (Quorum
  queues apply the limit approximately: a few messages may go past it.)
"""

from __future__ import annotations

import logging

import pika

from shop.config import BrokerSettings
from shop.order_events import ORDER_PLACED

# pika logs every failed connection attempt as an ERROR with a traceback, many per second while the
# broker is down; the relay and the consumers say it themselves, once, in one line.
logging.getLogger("pika").setLevel(logging.CRITICAL)

EXCHANGE = "shop.events"
DEAD_LETTER_EXCHANGE = "shop.dead-letters"
DEAD_LETTER_QUEUE = "dead-letters"
MAILER_QUEUE = "mailer"
SALES_QUEUE = "sales"
BINDINGS = {MAILER_QUEUE: ORDER_PLACED, SALES_QUEUE: "order.#"}  # queue -> binding key on shop.events
QUEUES = (MAILER_QUEUE, SALES_QUEUE, DEAD_LETTER_QUEUE)
MAX_LENGTH = 10_000  # messages waiting in one queue before the broker refuses more (reject-publish)
DELIVERY_LIMIT = 3  # returns to the queue before a message is dead-lettered: at most 4 deliveries in all


def queue_arguments() -> dict:
    return {
        "x-queue-type": "quorum",
        "x-max-length": MAX_LENGTH,
        "x-overflow": "reject-publish",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-strategy": "at-least-once",
    }


def declare_topology(channel) -> None:
    """Declare exchanges, queues and bindings; a no-op when they exist with the same settings."""
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="fanout", durable=True)
    channel.queue_declare(
        DEAD_LETTER_QUEUE,
        durable=True,
        arguments={"x-queue-type": "quorum", "x-max-length": MAX_LENGTH, "x-overflow": "reject-publish"},
    )
    channel.queue_bind(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE)
    for queue, key in BINDINGS.items():
        channel.queue_declare(queue, durable=True, arguments=queue_arguments())
        channel.queue_bind(queue, EXCHANGE, routing_key=key)


def connection_parameters(settings: BrokerSettings, *, name: str) -> pika.ConnectionParameters:
    """How to reach the broker; ``name`` shows in the management UI's Connections tab (api-2 relay, mailer-1)."""
    return pika.ConnectionParameters(
        host=settings.host,
        port=settings.port,
        virtual_host=settings.vhost,
        credentials=pika.PlainCredentials(settings.user, settings.password),
        client_properties={"connection_name": name},
        heartbeat=30,
        blocked_connection_timeout=10,  # a broker short of memory or disk blocks publishers: give up after 10 s
        connection_attempts=1,
        socket_timeout=2,
        stack_timeout=5,
    )
