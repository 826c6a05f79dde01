"""One mailer: consumes ``mailer``, claims, renders, sends over SMTP, records, acknowledges."""

from __future__ import annotations

import logging
import sys

from distributed.events.broker import MAILER_QUEUE
from distributed.events.consumer import Consumer, Delivery, Poison, Transient
from distributed.events.internal import ApiUnavailable, InternalApi, UnknownOrder
from shop import mail
from shop.app import configure_logging
from shop.config import ApiClientSettings, BrokerSettings, ConfigError, MailerSettings, MailSettings, NodeSettings
from shop.order_events import MalformedEvent, parse_event

log = logging.getLogger("twinshop.mailer")


class Mailer:
    """The handler of one mailer process."""

    def __init__(self, api: InternalApi, settings: MailSettings, *, node: str, variant: str, lease_s: float):
        self.api, self.settings, self.node, self.variant, self.lease_s = api, settings, node, variant, lease_s

    def handle(self, delivery: Delivery) -> str:
        try:
            order = parse_event(delivery.body)
        except MalformedEvent as exc:
            raise Poison(f"malformed event: {exc}") from None
        order_id = order["id"]

        def claim() -> str:
            try:
                state = self.api.claim_mail(order_id, claimant=self.node, lease_s=self.lease_s)
            except ApiUnavailable as exc:
                raise Transient(str(exc)) from None
            except UnknownOrder:
                raise Poison(f"order {order_id} does not exist") from None
            if state == "busy":
                raise Transient(f"another mailer is sending order {order_id}'s mail")
            return state

        if delivery.retry(claim, f"claim order {order_id}'s mail") == "sent":
            return f"order {order_id} was already mailed: nothing sent"
        try:
            message = mail.confirmation_message(order, sender=self.settings.sender, node=self.node,
                                                variant=self.variant)  # fmt: skip
        except mail.TemplateFailed as exc:
            self._release(order_id)
            raise Poison(f"the mail cannot be rendered: {exc}") from None

        def send() -> None:
            try:
                mail.send(message, self.settings, recipient=order["email"])
            except mail.MailUnavailable as exc:
                raise Transient(str(exc)) from None
            except mail.MailRejected as exc:
                self._release(order_id)
                raise Poison(str(exc)) from None

        delivery.retry(send, f"send order {order_id}'s mail")

        def record() -> None:
            try:
                self.api.mark_mail_sent(order_id, claimant=self.node)
            except ApiUnavailable as exc:
                raise Transient(str(exc)) from None
            except UnknownOrder:  # the order is gone since the claim (`twinshop reset`): nothing left to record
                log.warning("%s: order %s vanished after its mail was sent", self.node, order_id)

        delivery.retry(record, f"record order {order_id}'s mail as sent")
        return f"mailed order {order_id} to {order.get('email')}"

    def _release(self, order_id: int) -> None:
        try:
            self.api.release_mail(order_id, claimant=self.node)
        except (ApiUnavailable, UnknownOrder) as exc:  # the claim then simply expires
            log.warning("%s: could not release order %s's claim: %s", self.node, order_id, exc)


def main() -> int:
    configure_logging()
    try:
        node = NodeSettings.from_env(default_node="mailer-{hostname}", default_variant="distributed")
        api = InternalApi(ApiClientSettings.from_env(), secret_key=node.secret_key)
        knobs = MailerSettings.from_env()
        mailer = Mailer(api, MailSettings.from_env(), node=node.node, variant=node.variant,
                        lease_s=knobs.claim_lease_s)  # fmt: skip
        consumer = Consumer(queue=MAILER_QUEUE, handler=mailer.handle, settings=BrokerSettings.from_env(),
                            node=node.node, pause_before_ack_s=knobs.pause_before_ack_s)  # fmt: skip
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    consumer.run()
    return 0
