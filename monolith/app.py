"""The monolith: pages and JSON API in one process, talking to the database directly (LAMP-style)."""

from __future__ import annotations

from flask import Flask

from shop.app import create_shop_app
from shop.config import DatabaseSettings, MailSettings, NodeSettings
from shop.db import Database
from shop.order_events import InlineFollowUp
from shop.repository import Repository


def create_app(test_config: dict | None = None) -> Flask:
    """Pages + API + repository, in one gunicorn, beside MariaDB; the checkout mails and counts inline."""

    def repository() -> Repository:
        db = Database(DatabaseSettings.from_env())
        node = NodeSettings.from_env(default_node="monolith", default_variant="monolith")
        return Repository(db, follow_up=InlineFollowUp(MailSettings.from_env(), node=node.node, variant=node.variant))

    return create_shop_app(
        default_node="monolith",
        default_variant="monolith",
        data_factory=repository,
        pages=True,
        api=True,
        test_config=test_config,
    )
