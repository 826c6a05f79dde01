"""The API tier: the JSON API over the repository; the only service that touches the database."""

from __future__ import annotations

from flask import Flask

from shop.app import create_shop_app
from shop.config import DatabaseSettings
from shop.db import Database
from shop.repository import Repository


def create_app(test_config: dict | None = None) -> Flask:
    """API views + repository (no pages)."""
    return create_shop_app(
        default_node="api-{hostname}",
        default_variant="distributed",
        data_factory=lambda: Repository(Database(DatabaseSettings.from_env())),
        pages=False,
        api=True,
        test_config=test_config,
    )
