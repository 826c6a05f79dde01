"""The "shop data" interface the pages depend on, and its two implementations' contract.

The monolith wires :mod:`shop.repository` (SQL) behind it; the distributed web tier wires
:class:`distributed.web.client.ApiClient` (HTTP to the API). Both return the same plain,
JSON-ready dicts (prices are decimal strings such as ``"12.50"``) and raise the same
:mod:`shop.errors` exceptions, so the templates cannot tell them apart.
"""

from __future__ import annotations

from typing import Protocol


class ShopData(Protocol):
    def list_categories(self) -> list[dict]:
        """[{"id", "slug", "name", "product_count"}] ordered by name."""

    def list_products(
        self,
        *,
        page: int = 1,
        per_page: int = 20,
        q: str | None = None,
        category: str | None = None,
        ids: list[int] | None = None,
    ) -> dict:
        """{"items": [product...], "page", "per_page", "total"}; ordered by id."""

    def get_product(self, product_id: int) -> dict:
        """One product {"id", "name", "description", "category", "category_name", "price", "stock"}; NotFound."""

    def recommendations(self, product_id: int, *, limit: int = 5) -> dict:
        """{"product_id", "items": [product + "score"]}: similar products (CPU-heavy); NotFound."""

    def place_order(self, *, email: str, items: list[dict], idempotency_key: str | None = None) -> dict:
        """Create an order atomically; OutOfStock (409), UnknownProduct (422), InvalidRequest (400)."""

    def get_order(self, order_id: int) -> dict:
        """{"id", "email", "status", "total", "created_at", "items": [...]}.

        Each item: {"product_id", "name", "quantity", "unit_price", "line_total"}.
        """

    def ping(self) -> None:
        """Return when the dependency (database or API) answers; raise Unavailable otherwise."""
