"""The sales consumer's handler: one idempotent API call per order.placed event."""

from __future__ import annotations

import sys

from distributed.events.broker import SALES_QUEUE
from distributed.events.consumer import Consumer, Delivery, Poison, Transient
from distributed.events.internal import ApiUnavailable, InternalApi, UnknownOrder
from shop.app import configure_logging
from shop.config import ApiClientSettings, BrokerSettings, ConfigError, NodeSettings
from shop.order_events import MalformedEvent, parse_event


class SalesCounter:
    def __init__(self, api: InternalApi):
        self.api = api

    def handle(self, delivery: Delivery) -> str:
        try:
            order_id = parse_event(delivery.body)["id"]
        except MalformedEvent as exc:
            raise Poison(f"malformed event: {exc}") from None

        def count() -> bool:
            try:
                return self.api.count_sales(order_id)
            except ApiUnavailable as exc:
                raise Transient(str(exc)) from None
            except UnknownOrder:
                raise Poison(f"order {order_id} does not exist") from None

        counted = delivery.retry(count, f"count order {order_id}")
        return f"counted order {order_id}" if counted else f"order {order_id} was already counted: nothing added"


def main() -> int:
    configure_logging()
    try:
        node = NodeSettings.from_env(default_node="sales-{hostname}", default_variant="distributed")
        counter = SalesCounter(InternalApi(ApiClientSettings.from_env(), secret_key=node.secret_key))
        consumer = Consumer(queue=SALES_QUEUE, handler=counter.handle, settings=BrokerSettings.from_env(),
                            node=node.node)  # fmt: skip
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    consumer.run()
    return 0
