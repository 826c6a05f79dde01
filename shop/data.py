"""The "shop data" interface the pages and the API depend on, and where a process finds its own.

The monolith wires :mod:`shop.repository` (SQL) behind it; the distributed web tier wires
:class:`distributed.web.client.ApiClient` (HTTP to the API). Both return the same plain,
JSON-ready dicts (prices are decimal strings such as ``"12.50"``) and raise the same
:mod:`shop.errors` exceptions, so the templates cannot tell them apart.
"""

from __future__ import annotations

from typing import Protocol

from flask import Flask, current_app

from shop.validation import DEFAULT_PER_PAGE, DEFAULT_RECOMMENDATIONS

EXTENSION_KEY = "twinshop.data"


class ShopData(Protocol):
    def list_categories(self) -> list[dict]:
        """[{"id", "slug", "name", "product_count", "sales": {"orders", "units", "revenue"}}] ordered by name.

        ``sales``: the category's figures as the order events have counted them so far (in the
        distributed variant a little behind the orders: the sales consumer counts them later).
        """

    def list_products(
        self,
        *,
        page: int = 1,
        per_page: int = DEFAULT_PER_PAGE,
        q: str | None = None,
        category: str | None = None,
        ids: list[int] | None = None,
    ) -> dict:
        """{"items": [product...], "page", "per_page", "total"}; ordered by id."""

    def get_product(self, product_id: int) -> dict:
        """One product {"id", "name", "description", "category", "category_name", "price", "stock"}; NotFound."""

    def recommendations(self, product_id: int, *, limit: int = DEFAULT_RECOMMENDATIONS) -> dict:
        """{"product_id", "items": [product + "score"]}: similar products (CPU-heavy); NotFound."""

    def place_order(self, *, email: str, items: list[dict], idempotency_key: str | None = None) -> dict:
        """Create an order atomically; OutOfStock (409), UnknownProduct (422), InvalidRequest (400)."""

    def get_order(self, order_id: int) -> dict:
        """{"id", "email", "status", "total", "created_at", "items": [...]}.

        Each item: {"product_id", "name", "quantity", "unit_price", "line_total"}.
        """

    def ping(self) -> None:
        """Return when the dependency (database or API) answers; raise Unavailable otherwise."""


def install_shop_data(app: Flask, data: ShopData) -> None:
    """Wire ``data`` into ``app``: what :func:`shop_data` returns while it serves a request."""
    app.extensions[EXTENSION_KEY] = data


def shop_data() -> ShopData:
    """The data source wired into this process (the repository, or the API client)."""
    return current_app.extensions[EXTENSION_KEY]
