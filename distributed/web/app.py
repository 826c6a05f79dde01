"""The web tier: renders the shop's pages; every piece of data comes from the API over HTTP."""

from __future__ import annotations

from flask import Flask

from distributed.web.client import ApiClient
from shop.app import create_shop_app
from shop.config import ApiClientSettings


def create_app(test_config: dict | None = None) -> Flask:
    """Pages + API client (no database code at all)."""
    settings = ApiClientSettings.from_env()  # fails fast, naming API_URL, when it is missing
    return create_shop_app(
        default_node="web-{hostname}",
        default_variant="distributed",
        data_factory=lambda: ApiClient(settings),
        pages=True,
        api=False,
        test_config=test_config,
    )
