"""What clients may send, defined once: the limits and rules used by the API, the pages, the
repository, gunicorn (request size limits) and the OpenAPI document (shop/openapi.py).

Change a limit here and every place that applies or documents it follows; nothing else in
the project should repeat one of these numbers.
"""

from __future__ import annotations

import re

from shop.errors import InvalidRequest

# -- identifiers: the largest values their columns can hold (schema.sql) -------------------------
MAX_PRODUCT_ID = 2**32 - 1  # products.id INT UNSIGNED
MAX_ORDER_ID = 2**63 - 1  # orders.id BIGINT UNSIGNED, kept to the signed 64-bit range clients handle

# -- catalogue queries ---------------------------------------------------------------------------
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
# A page beyond this is refused rather than run: OFFSET (page - 1) * per_page makes the
# database walk every row before it, so huge page numbers would be a cheap way to load it.
MAX_PAGE = 10_000
MAX_QUERY = 200  # characters of search text
MAX_CATEGORY = 64  # characters of a category slug (categories.slug VARCHAR(64))
DEFAULT_RECOMMENDATIONS = 5
MAX_RECOMMENDATIONS = 20

# -- orders ----------------------------------------------------------------------------------
MAX_ORDER_LINES = 50  # different products in one order (and so in one cart)
MAX_QUANTITY = 99  # units of one product in one order (and in one cart line)
MAX_EMAIL = 254  # characters (orders.email VARCHAR(254), the longest address SMTP allows)
MAX_IDEMPOTENCY_KEY = 200  # characters (orders.idempotency_key VARCHAR(200))
ORDER_FIELDS = ("email", "items")
ORDER_ITEM_FIELDS = ("product_id", "quantity")

# -- HTTP: the size of a request --------------------------------------------------------------
# Bodies: Flask answers 413 beyond this (MAX_CONTENT_LENGTH); an order of MAX_ORDER_LINES
# lines is about 2 KiB.
MAX_BODY_BYTES = 64 * 1024
# The request line ("GET /api/products?q=... HTTP/1.1") and the headers: gunicorn answers
# 414 and 431 beyond these (shop/gunicorn.conf.py). The same values as Apache's defaults
# (LimitRequestLine, LimitRequestFields, LimitRequestFieldSize), and gunicorn's maximum for
# the line; HAProxy's 16 KiB buffer holds any request within them.
MAX_REQUEST_LINE = 8190  # bytes
MAX_HEADER_FIELDS = 100
MAX_HEADER_FIELD_BYTES = 8190  # bytes of one header line, name included

# -- formats: regular expressions that mean the same in Python and in JSON Schema (ECMA-262) -----
# Always applied with fullmatch(): in Python "$" also matches before a final newline.
# "\s" differs between the two (Python's includes \x1c-\x1f and \x85, ECMA's \ufeff), so an
# address part excludes all of them, and every control character, explicitly.
_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f\x85\ufeff]+"
EMAIL_PATTERN = rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$"
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]+$"  # printable ASCII, no spaces
WHOLE_NUMBER_PATTERN = r"^[0-9]{1,19}$"  # digits only: no sign, no spaces, no "1.0", no "²"
PRODUCT_IDS_PATTERN = rf"^[0-9]{{1,10}}(,[0-9]{{1,10}}){{0,{MAX_PER_PAGE - 1}}}$"

EMAIL = re.compile(EMAIL_PATTERN)
IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
WHOLE_NUMBER = re.compile(WHOLE_NUMBER_PATTERN)
PRODUCT_IDS = re.compile(PRODUCT_IDS_PATTERN)

# What a client is told; the pages show the same sentences (and a number out of its range is
# "'<name>' must be a whole number from <low> to <high>." wherever it comes from).
EMAIL_MESSAGE = f"Enter a valid email address (at most {MAX_EMAIL} characters), such as ana@example.com."
ORDER_LINES_MESSAGE = f"An order holds at most {MAX_ORDER_LINES} different products."
MERGED_QUANTITY_MESSAGE = f"An order holds at most {MAX_QUANTITY} units of one product."


def validate_email(email: object) -> str:
    """An order's email address, as given (the pages trim what people type before asking)."""
    if not isinstance(email, str) or len(email) > MAX_EMAIL or not EMAIL.fullmatch(email) or not _is_unicode(email):
        raise InvalidRequest(EMAIL_MESSAGE)
    return email


def _is_unicode(text: str) -> bool:
    """False for text with lone surrogates (JSON may carry "\\udc00"): the database cannot store them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if len(key) > MAX_IDEMPOTENCY_KEY or not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters without spaces."
        )
    return key


def validate_order(body: object) -> tuple[str, list[dict]]:
    """An order request's email and items, checked; unknown fields are refused, not ignored."""
    if not isinstance(body, dict):
        raise InvalidRequest('The body must be a JSON object: {"email": ..., "items": [...]}.', code="invalid_json")
    _refuse_unknown_fields(body, ORDER_FIELDS, "An order")
    return validate_email(body.get("email")), validate_order_items(body.get("items"))


def validate_order_items(items: object) -> list[dict]:
    """Check an order's items and merge lines of the same product: [{product_id, quantity}] by id."""
    if not isinstance(items, list) or not items:
        raise InvalidRequest("'items' must be a non-empty list of {product_id, quantity}.")
    if len(items) > MAX_ORDER_LINES:
        raise InvalidRequest(ORDER_LINES_MESSAGE)
    merged: dict[int, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidRequest(f"items[{index}] must be an object with product_id and quantity.")
        _refuse_unknown_fields(item, ORDER_ITEM_FIELDS, f"items[{index}]")
        product_id, quantity = _whole(item.get("product_id")), _whole(item.get("quantity"))
        if product_id is None or not 0 < product_id <= MAX_PRODUCT_ID:
            raise InvalidRequest(f"items[{index}].product_id must be a whole number from 1 to {MAX_PRODUCT_ID}.")
        if quantity is None or not 0 < quantity <= MAX_QUANTITY:
            raise InvalidRequest(f"items[{index}].quantity must be a whole number from 1 to {MAX_QUANTITY}.")
        merged[product_id] = merged.get(product_id, 0) + quantity
        if merged[product_id] > MAX_QUANTITY:
            raise InvalidRequest(MERGED_QUANTITY_MESSAGE)
    return [{"product_id": pid, "quantity": qty} for pid, qty in sorted(merged.items())]


def _refuse_unknown_fields(obj: dict, allowed: tuple[str, ...], what: str) -> None:
    unknown = sorted(str(key) for key in obj if key not in allowed)
    if unknown:
        fields = " and ".join(allowed)
        raise InvalidRequest(f"{what} has only {fields}; unexpected: {', '.join(unknown)}.")


def _whole(value: object) -> int | None:
    """A JSON whole number as an int, else None: 3 and 3.0 are the same number in JSON (and in
    JSON Schema's "integer"); 3.5, "3", true and null are not whole numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def parse_whole_number(
    raw: str | None, *, name: str, low: int = 1, high: int, default: int | None = None, code: str = "invalid_request"
) -> int:
    """A whole number from ``low`` to ``high`` sent as text (query string, form field).

    Absent takes ``default`` when there is one; empty is not a number (the pages, where an
    empty form field or ``?page=`` means "absent", pass None). The digits are checked before
    ``int()`` sees them, so "-1", " 2", "1.0", "²" or a thousand digits are refused the same way.
    """
    if raw is None and default is not None:
        return default
    if raw is None or not WHOLE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidRequest(f"'{name}' must be a whole number from {low} to {high}.", code=code)
    return int(raw)


def validate_search_text(q: str) -> str:
    if len(q) > MAX_QUERY:
        raise InvalidRequest(f"'q' may hold at most {MAX_QUERY} characters.", code="bad_query")
    return q


def parse_catalogue_query(args) -> dict:
    """page, per_page, q, category and ids from a query string, checked (400 when wrong)."""
    page = parse_whole_number(args.get("page"), name="page", high=MAX_PAGE, default=1, code="bad_paging")
    per_page = parse_whole_number(
        args.get("per_page"), name="per_page", high=MAX_PER_PAGE, default=DEFAULT_PER_PAGE, code="bad_paging"
    )
    q = validate_search_text(args.get("q") or "")
    category = args.get("category") or ""
    if len(category) > MAX_CATEGORY:
        raise InvalidRequest(f"'category' may hold at most {MAX_CATEGORY} characters.", code="bad_query")
    ids = None
    if args.get("ids") is not None:
        if not PRODUCT_IDS.fullmatch(args["ids"]):
            raise InvalidRequest(f"'ids' must be 1 to {MAX_PER_PAGE} comma-separated product ids.", code="bad_query")
        ids = [int(part) for part in args["ids"].split(",")]
    return {"page": page, "per_page": per_page, "q": q.strip() or None, "category": category or None, "ids": ids}
