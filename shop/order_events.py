"""What happens after an order is confirmed — the confirmation mail and the sales figures — written once,
wired two ways (see docs/architecture.md, "Order events").

* **Monolith: inline** (:class:`InlineFollowUp`), as a LAMP application does it: inside the
  checkout's own transaction the shop sends the mail over SMTP, counts the order in the sales
  figures and records both, then commits. If the mail server cannot take the mail now, the whole
  order is rolled back and the customer gets a 503 ``mail_unavailable``: nothing is half done,
  and nothing is sold without its mail. (An address the server refuses for good - a 5xx answer -
  is not worth retrying: that order stands, recorded as ``rejected``.) The price: every
  checkout waits for the mail server, and fails while it is down. (The one window left: the
  server accepted the mail but the COMMIT then failed — a mail for an order that does not
  exist. The checks report it.)
* **Distributed: an outbox** (:class:`OutboxFollowUp`): inside the order's transaction the API
  writes one ``order.placed`` event into the ``outbox`` table, and after the commit hands it to
  the relay (:mod:`distributed.events.relay`) that publishes it to RabbitMQ. The checkout answers
  without waiting for the mail; the mailers and the sales consumer do the work later.

The event's body is defined here too, so that the writer (the API) and the readers (the
consumers) share one definition.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from flask import has_request_context

from shop import mail, repository
from shop.config import MailSettings
from shop.errors import Unavailable
from shop.served import add_timing

log = logging.getLogger("twinshop.order_events")

ORDER_PLACED = "order.placed"  # the routing key, and the event's name


class MalformedEvent(ValueError):
    """An event body that is not an order.placed event the consumers can act on."""


def event_body(order: dict) -> str:
    """The JSON of an order.placed event: the order as GET /api/orders/<id> shows it (event-carried state)."""
    return json.dumps({"event": ORDER_PLACED, "order": order}, separators=(",", ":"), sort_keys=True)


def parse_event(body: bytes | str) -> dict:
    """The order inside an order.placed event; MalformedEvent when the body is not one."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("event") != ORDER_PLACED or not isinstance(data.get("order"), dict):
        raise MalformedEvent("not an order.placed event")
    order = data["order"]
    order_id = order.get("id")
    if not isinstance(order_id, int) or isinstance(order_id, bool) or order_id <= 0:
        raise MalformedEvent(f"the order has no valid id: {order_id!r}")
    return order


class InlineFollowUp:
    """The monolith's checkout: the mail and the sales figures, in the order's transaction."""

    def __init__(self, settings: MailSettings, *, node: str, variant: str):
        self.settings, self.node, self.variant = settings, node, variant

    def in_transaction(self, cur, order: dict) -> None:
        message = mail.confirmation_message(order, sender=self.settings.sender, node=self.node, variant=self.variant)
        started = time.perf_counter()
        state = "sent"
        try:
            mail.send(message, self.settings, recipient=order["email"])
        except mail.MailUnavailable as exc:
            log.warning("order %s rolled back: %s", order["id"], exc)
            raise Unavailable(
                "The mail server cannot send the order confirmation right now, so the order was not placed; "
                "try again in a moment.",
                code="mail_unavailable",
            ) from exc
        except mail.MailRejected as exc:
            # The server refuses this address for good (the shop accepts more than SMTP does): retrying
            # would not help, and the order itself is fine. It stands, without its mail - as the
            # distributed variant parks such an event in its dead-letter queue.
            log.warning("order %s placed without its confirmation mail: %s", order["id"], exc)
            state = "rejected"
        finally:
            if has_request_context():
                # Reported as its own timing, and taken out of "db": the transaction was open meanwhile,
                # but the time went to the mail server, not to the database.
                spent = (time.perf_counter() - started) * 1000
                add_timing("mail", spent)
                add_timing("db", -spent)
        repository.count_sales(cur, order_id=order["id"])
        repository.record_mail_sent(cur, order_id=order["id"], sender=self.node, state=state)

    def after_commit(self, order: dict, staged: object) -> None:
        return None


@dataclass(frozen=True)
class StagedEvent:
    """An outbox row just committed with its order: what the relay publishes without reading it back."""

    id: int
    routing_key: str
    payload: str


class Relay(Protocol):
    def submit(self, event: StagedEvent) -> None:
        """Publish this committed event soon (never blocks, never raises)."""


class OutboxFollowUp:
    """The distributed API's checkout: one outbox row in the order's transaction, then hand it to the relay."""

    def __init__(self, relay: Relay):
        self.relay = relay

    def in_transaction(self, cur, order: dict) -> StagedEvent:
        payload = event_body(order)
        event_id = repository.record_event(cur, order=order, routing_key=ORDER_PLACED, payload=payload)
        return StagedEvent(event_id, ORDER_PLACED, payload)

    def after_commit(self, order: dict, staged: object) -> None:
        if isinstance(staged, StagedEvent):
            self.relay.submit(staged)
