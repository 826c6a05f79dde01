"""The API tier: the JSON API over the repository; the only service that touches the database."""

from __future__ import annotations

from flask import Flask

from distributed.events.relay import OutboxRelay
from shop.app import create_shop_app
from shop.config import BrokerSettings, DatabaseSettings, NodeSettings
from shop.db import Database
from shop.order_events import OutboxFollowUp
from shop.repository import Repository


def create_app(test_config: dict | None = None) -> Flask:
    """API views + repository (no pages); each order's event goes to the outbox, the relay publishes it."""
    relays: list[OutboxRelay] = []

    def repository() -> Repository:
        db = Database(DatabaseSettings.from_env())
        node = NodeSettings.from_env(default_node="api-{hostname}", default_variant="distributed").node
        relays.append(OutboxRelay(db, BrokerSettings.from_env(), node=node))
        return Repository(db, follow_up=OutboxFollowUp(relays[0]))

    app = create_shop_app(
        default_node="api-{hostname}",
        default_variant="distributed",
        data_factory=repository,
        pages=False,
        api=True,
        test_config=test_config,
    )
    from distributed.api.internal import bp as internal_bp

    app.register_blueprint(internal_bp)
    app.extensions["twinshop.relay"] = relays[0]
    # Every replica runs a relay, started with its worker: HAProxy's health checks reach every replica
    # each second, so even a replica that takes no order sweeps what the others could not publish.
    app.before_request(relays[0].ensure_running)
    return app
