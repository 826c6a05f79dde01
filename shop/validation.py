"""Validation of what clients send: one set of rules for the API, the pages and the repository."""

from __future__ import annotations

import re

from shop.errors import InvalidRequest

MAX_ID = 2**32 - 1
MAX_ORDER_LINES = 50
MAX_QUANTITY = 100
MAX_EMAIL = 254
MAX_QUERY = 200
MAX_PER_PAGE = 100
MAX_PAGE = 100_000
MAX_IDEMPOTENCY_KEY = 200

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces


def validate_email(email: object) -> str:
    if not isinstance(email, str) or not email.strip():
        raise InvalidRequest("'email' is required.")
    email = email.strip()
    if len(email) > MAX_EMAIL or not EMAIL.match(email):
        raise InvalidRequest("'email' must be an e-mail address such as ana@example.com.")
    return email


def validate_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not IDEMPOTENCY_KEY.match(key):
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters without spaces."
        )
    return key


def validate_order_items(items: object) -> list[dict]:
    """Check and normalise an order's items (shared by the API and its tests)."""
    if not isinstance(items, list) or not items:
        raise InvalidRequest("'items' must be a non-empty list of {product_id, quantity}.")
    if len(items) > MAX_ORDER_LINES:
        raise InvalidRequest(f"An order holds at most {MAX_ORDER_LINES} different products.")
    merged: dict[int, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidRequest(f"items[{index}] must be an object with product_id and quantity.")
        product_id, quantity = item.get("product_id"), item.get("quantity")
        if not _is_int(product_id) or not 0 < product_id <= MAX_ID:
            raise InvalidRequest(f"items[{index}].product_id must be a positive whole number.")
        if not _is_int(quantity) or not 0 < quantity <= MAX_QUANTITY:
            raise InvalidRequest(f"items[{index}].quantity must be a whole number from 1 to {MAX_QUANTITY}.")
        merged[product_id] = merged.get(product_id, 0) + quantity
        if merged[product_id] > MAX_QUANTITY:
            raise InvalidRequest(f"At most {MAX_QUANTITY} units of one product per order.")
    return [{"product_id": pid, "quantity": qty} for pid, qty in sorted(merged.items())]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_positive_int(raw: str | None, *, name: str, default: int, maximum: int, code: str) -> int:
    """A query parameter that must be a whole number from 1 to ``maximum``."""
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= maximum:
        raise InvalidRequest(f"'{name}' must be a whole number from 1 to {maximum}.", code=code)
    return int(raw)


def parse_catalogue_query(args) -> dict:
    """page, per_page, q, category and ids from a query string, checked (400 when wrong)."""
    page = parse_positive_int(args.get("page"), name="page", default=1, maximum=MAX_PAGE, code="bad_paging")
    per_page = parse_positive_int(
        args.get("per_page"), name="per_page", default=20, maximum=MAX_PER_PAGE, code="bad_paging"
    )
    q = (args.get("q") or "").strip() or None
    if q is not None and len(q) > MAX_QUERY:
        raise InvalidRequest(f"'q' may hold at most {MAX_QUERY} characters.", code="bad_query")
    category = (args.get("category") or "").strip() or None
    if category is not None and len(category) > 64:
        raise InvalidRequest("'category' is not a category name.", code="bad_query")
    ids = None
    if args.get("ids"):
        parts = args["ids"].split(",")
        if len(parts) > MAX_PER_PAGE or not all(p.strip().isascii() and p.strip().isdigit() for p in parts):
            raise InvalidRequest(f"'ids' must be up to {MAX_PER_PAGE} comma-separated product ids.", code="bad_query")
        ids = [int(p) for p in parts]
    return {"page": page, "per_page": per_page, "q": q, "category": category, "ids": ids}
