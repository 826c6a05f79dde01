"""The monolith: pages and JSON API in one process, talking to the database directly (LAMP-style)."""

from __future__ import annotations

from flask import Flask

from shop.app import create_shop_app
from shop.config import DatabaseSettings
from shop.db import Database
from shop.repository import Repository


def create_app(test_config: dict | None = None) -> Flask:
    """Pages + API + repository, in one gunicorn, beside MariaDB."""
    return create_shop_app(
        default_node="monolith",
        default_variant="monolith",
        data_factory=lambda: Repository(Database(DatabaseSettings.from_env())),
        pages=True,
        api=True,
        test_config=test_config,
    )
