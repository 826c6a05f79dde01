"""All of the shop's SQL: products, categories and orders (the monolith's and the API's data).

Implements :class:`shop.data.ShopData` over MariaDB. Every query is parameterised (``%s``);
no value is ever formatted into SQL text. Results are plain dicts with prices as decimal
strings, exactly what the JSON API returns.
"""

from __future__ import annotations

import hashlib
import json
import logging
from decimal import Decimal
from typing import Protocol

import pymysql

from shop.db import DATABASE_DOWN, RETRYABLE, Database
from shop.errors import Conflict, NotFound, OutOfStock, Unavailable, UnknownProduct
from shop.recommend import similar
from shop.validation import (
    DEFAULT_PER_PAGE,
    DEFAULT_RECOMMENDATIONS,
    MAX_ORDER_ID,
    MAX_PRODUCT_ID,
    validate_email,
    validate_idempotency_key,
    validate_order_items,
)

ORDER_ATTEMPTS = 4
DUPLICATE_KEY = 1062  # MariaDB: a UNIQUE or PRIMARY KEY already holds this value
NO_PARENT_ROW = 1452  # MariaDB: a FOREIGN KEY names a row that does not exist

log = logging.getLogger("twinshop.repository")

PRODUCT_COLUMNS = """
    p.id, p.name, p.description, p.price, p.stock,
    c.slug AS category, c.name AS category_name
"""


def money(value: Decimal) -> str:
    """Prices travel as decimal strings ("12.50"), never floats."""
    return f"{Decimal(value):.2f}"


def _product(row: dict, *, with_description: bool = True) -> dict:
    product = {
        "id": row["id"],
        "name": row["name"],
        "category": row["category"],
        "category_name": row["category_name"],
        "price": money(row["price"]),
        "stock": row["stock"],
    }
    if with_description:
        product["description"] = row["description"]
    return product


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` literally anywhere (its % and _ escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def placeholders(count: int) -> str:
    """``%s, %s, ...`` for an IN list: only placeholders enter the SQL text, never values."""
    return ", ".join(["%s"] * count)


def order_request_hash(email: str, items: list[dict]) -> str:
    body = json.dumps({"email": email, "items": items}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class OrderFollowUp(Protocol):
    """What happens once an order is confirmed (mail, sales figures): see :mod:`shop.order_events`."""

    def in_transaction(self, cur, order: dict) -> object:
        """Inside the order's transaction, after its lines: raising here rolls the whole order back. Returns
        what ``after_commit`` needs (the outbox row written), or None."""

    def after_commit(self, order: dict, staged: object) -> None:
        """After the order was committed, with what ``in_transaction`` returned (never raises)."""


class Repository:
    """The SQL-backed implementation of the shop's data interface."""

    def __init__(self, db: Database, follow_up: OrderFollowUp | None = None):
        self.db = db
        self.follow_up = follow_up

    # -- catalogue -------------------------------------------------------------------------

    def list_categories(self) -> list[dict]:
        with self.db.read() as cur:
            cur.execute(
                "SELECT c.id, c.slug, c.name, COUNT(p.id) AS product_count,"
                " COALESCE(s.orders, 0) AS orders, COALESCE(s.units, 0) AS units, COALESCE(s.revenue, 0) AS revenue"
                " FROM categories c LEFT JOIN products p ON p.category_id = c.id"
                " LEFT JOIN category_sales s ON s.category_id = c.id"
                " GROUP BY c.id, c.slug, c.name, s.orders, s.units, s.revenue ORDER BY c.name"
            )
            return [
                {
                    "id": row["id"],
                    "slug": row["slug"],
                    "name": row["name"],
                    "product_count": row["product_count"],
                    # the sales figures, as the order events have counted them so far ("best sellers")
                    "sales": {"orders": int(row["orders"]), "units": int(row["units"]),
                              "revenue": money(row["revenue"])},
                }
                for row in cur.fetchall()
            ]  # fmt: skip

    def list_products(
        self,
        *,
        page: int = 1,
        per_page: int = DEFAULT_PER_PAGE,
        q: str | None = None,
        category: str | None = None,
        ids: list[int] | None = None,
    ) -> dict:
        where, params = [], []
        if q:
            where.append("(p.name LIKE %s OR p.description LIKE %s)")
            params += [like_pattern(q), like_pattern(q)]
        if category:
            where.append("c.slug = %s")
            params.append(category)
        if ids is not None:
            ids = [i for i in ids if 0 < i <= MAX_PRODUCT_ID]
            if not ids:
                return {"items": [], "page": page, "per_page": per_page, "total": 0}
            where.append(f"p.id IN ({placeholders(len(ids))})")
            params += ids
        where_sql = (" WHERE " + " AND ".join(where)) if where else ""
        base = " FROM products p JOIN categories c ON c.id = p.category_id" + where_sql
        with self.db.read() as cur:
            cur.execute("SELECT COUNT(*) AS total" + base, params)
            total = cur.fetchone()["total"]
            cur.execute(
                "SELECT" + PRODUCT_COLUMNS + base + " ORDER BY p.id LIMIT %s OFFSET %s",
                [*params, per_page, (page - 1) * per_page],
            )
            rows = cur.fetchall()
        return {
            "items": [_product(row, with_description=False) for row in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
        }

    def get_product(self, product_id: int) -> dict:
        if not 0 < product_id <= MAX_PRODUCT_ID:
            raise NotFound(f"There is no product {product_id}.")
        with self.db.read() as cur:
            cur.execute(
                "SELECT" + PRODUCT_COLUMNS + " FROM products p JOIN categories c ON c.id = p.category_id"
                " WHERE p.id = %s",
                [product_id],
            )
            row = cur.fetchone()
        if row is None:
            raise NotFound(f"There is no product {product_id}.")
        return _product(row)

    def recommendations(self, product_id: int, *, limit: int = DEFAULT_RECOMMENDATIONS) -> dict:
        """Products similar to this one, computed on every call (see shop/recommend.py)."""
        target = self.get_product(product_id)
        with self.db.read() as cur:
            cur.execute(
                "SELECT" + PRODUCT_COLUMNS + " FROM products p JOIN categories c ON c.id = p.category_id"
                " WHERE c.slug = %s ORDER BY p.id",
                [target["category"]],
            )
            candidates = [_product(row) for row in cur.fetchall()]
        items = similar(target, candidates, limit=limit)
        for item in items:
            item.pop("description", None)
        return {"product_id": product_id, "items": items}

    def restock(self, *, product_id: int, stock: int) -> None:
        """Set a product's stock (used by drills and tests to create scarcity on purpose)."""
        with self.db.transaction() as cur:
            cur.execute("UPDATE products SET stock = %s WHERE id = %s", [stock, product_id])
            if cur.rowcount == 0:
                cur.execute("SELECT id FROM products WHERE id = %s", [product_id])
                if cur.fetchone() is None:
                    raise NotFound(f"There is no product {product_id}.")

    # -- orders ----------------------------------------------------------------------------

    def place_order(self, *, email: str, items: list[dict], idempotency_key: str | None = None) -> dict:
        """Create an order in one transaction, or change nothing.

        ``items`` are validated and merged into ``[{"product_id", "quantity"}]`` sorted by
        product id (a fixed lock order, so two orders never deadlock on each other's rows).
        The returned order has ``"replayed": True`` when the idempotency key was already used.
        """
        email = validate_email(email)
        items = validate_order_items(items)
        idempotency_key = validate_idempotency_key(idempotency_key)
        request_hash = order_request_hash(email, items)
        for _attempt in range(ORDER_ATTEMPTS):
            try:
                return self._place_order_once(email, items, idempotency_key, request_hash)
            except pymysql.err.IntegrityError as exc:
                # Another transaction claimed the same idempotency key first and committed:
                # the loop's next pass finds its order and returns it.
                if exc.args[0] != 1062 or idempotency_key is None:
                    raise
            except pymysql.err.OperationalError as exc:
                if exc.args[0] not in RETRYABLE:
                    log.warning("order failed in the database: %s", exc)
                    raise Unavailable(DATABASE_DOWN, code="database_unavailable") from exc
        raise Unavailable("The shop is too busy to place this order right now; try again in a moment.", code="busy")

    def _place_order_once(self, email: str, items: list[dict], idempotency_key: str | None, request_hash: str) -> dict:
        with self.db.transaction() as cur:
            if idempotency_key is not None:
                existing = self._order_for_key(cur, idempotency_key, request_hash)
                if existing is not None:
                    return existing
            ids = [item["product_id"] for item in items]
            # Only placeholders are formatted in: the ids travel as parameters.
            cur.execute(f"SELECT id, price FROM products WHERE id IN ({placeholders(len(ids))})", ids)  # noqa: S608
            prices = {row["id"]: row["price"] for row in cur.fetchall()}
            unknown = [i for i in ids if i not in prices]
            if unknown:
                raise UnknownProduct(f"There is no product {unknown[0]}.")
            total = sum((prices[i["product_id"]] * i["quantity"] for i in items), Decimal("0"))
            # Inserting the order first claims the idempotency key: a concurrent request with
            # the same key waits on the UNIQUE index until this transaction ends.
            cur.execute(
                "INSERT INTO orders (email, status, total, idempotency_key, request_hash)"
                " VALUES (%s, 'confirmed', %s, %s, %s)",
                [email, total, idempotency_key, request_hash],
            )
            order_id = cur.lastrowid
            for item in items:
                reserve_stock(cur, product_id=item["product_id"], quantity=item["quantity"])
            cur.executemany(
                "INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (%s, %s, %s, %s)",
                [[order_id, i["product_id"], i["quantity"], prices[i["product_id"]]] for i in items],
            )
            order = _load_order(cur, order_id)
            staged = None
            if self.follow_up is not None:
                # The monolith mails and counts here; the distributed API writes its outbox row.
                staged = self.follow_up.in_transaction(cur, order)
        if self.follow_up is not None:
            self.follow_up.after_commit(order, staged)
        order["replayed"] = False
        return order

    def _order_for_key(self, cur, idempotency_key: str, request_hash: str) -> dict | None:
        cur.execute("SELECT id, request_hash FROM orders WHERE idempotency_key = %s", [idempotency_key])
        row = cur.fetchone()
        if row is None:
            return None
        if row["request_hash"] != request_hash:
            raise Conflict(
                "This Idempotency-Key was already used for a different order.",
                code="idempotency_key_reused",
            )
        order = _load_order(cur, row["id"])
        order["replayed"] = True
        return order

    def get_order(self, order_id: int) -> dict:
        if not 0 < order_id <= MAX_ORDER_ID:
            raise NotFound(f"There is no order {order_id}.")
        with self.db.read() as cur:
            order = _load_order(cur, order_id)
        if order is None:
            raise NotFound(f"There is no order {order_id}.")
        return order

    def ping(self) -> None:
        with self.db.read() as cur:
            cur.execute("SELECT 1")

    # -- order events: what the consumers ask the API to do (distributed/api/internal.py) ------------

    def count_order_sales(self, order_id: int) -> bool:
        """Add an order to the sales figures, once: True when counted now, False when it already was."""
        if not 0 < order_id <= MAX_ORDER_ID:
            raise NotFound(f"There is no order {order_id}.")
        with self.db.transaction() as cur:
            return count_sales(cur, order_id=order_id)

    def claim_order_mail(self, *, order_id: int, claimant: str, lease_s: float) -> str:
        """Ask to send an order's confirmation mail: "claimed" (go ahead), "sent" (already sent: do
        nothing) or "busy" (another mailer holds a claim younger than ``lease_s``: try again later).

        A claimant may always take its own claim back (a mailer restarted after a crash); another
        one only once the claim is older than the lease (its holder is presumed dead).
        """
        if not 0 < order_id <= MAX_ORDER_ID:
            raise NotFound(f"There is no order {order_id}.")
        with self.db.transaction() as cur:
            try:
                cur.execute(
                    "INSERT INTO order_mail (order_id, state, claimant, claimed_at) VALUES (%s, 'sending', %s, NOW(3))",
                    [order_id, claimant],
                )
                return "claimed"
            except pymysql.err.IntegrityError as exc:
                if exc.args[0] == NO_PARENT_ROW:
                    raise NotFound(f"There is no order {order_id}.") from None
                if exc.args[0] != DUPLICATE_KEY:
                    raise
            cur.execute(
                "SELECT state, claimant, claimed_at < NOW(3) - INTERVAL %s SECOND AS expired"
                " FROM order_mail WHERE order_id = %s FOR UPDATE",
                [lease_s, order_id],
            )
            row = cur.fetchone()
            if row["state"] == "sent":
                return "sent"
            if row["claimant"] != claimant and not row["expired"]:
                return "busy"
            cur.execute(
                "UPDATE order_mail SET claimant = %s, claimed_at = NOW(3) WHERE order_id = %s AND state = 'sending'",
                [claimant, order_id],
            )
            return "claimed"

    def mark_order_mail_sent(self, *, order_id: int, claimant: str) -> None:
        """Record that the mail went out (whoever claimed it last: the mail server has it now)."""
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE order_mail SET state = 'sent', claimant = %s, sent_at = NOW(3)"
                " WHERE order_id = %s AND state = 'sending'",
                [claimant, order_id],
            )
            if cur.rowcount == 0:
                cur.execute("SELECT state FROM order_mail WHERE order_id = %s", [order_id])
                row = cur.fetchone()
                if row is None:
                    raise NotFound(f"Order {order_id} has no claimed mail.")

    def release_order_mail(self, *, order_id: int, claimant: str) -> None:
        """Give up a claim (the mail could not be made): another delivery may claim it at once."""
        with self.db.transaction() as cur:
            cur.execute(
                "DELETE FROM order_mail WHERE order_id = %s AND claimant = %s AND state = 'sending'",
                [order_id, claimant],
            )

    # -- order events: checks after a run (loadtests/harness/invariants.py) ---------------------------

    def order_ids(self) -> set[int]:
        with self.db.read() as cur:
            cur.execute("SELECT id FROM orders")
            return {int(row["id"]) for row in cur.fetchall()}

    def mail_states(self) -> dict[int, str]:
        """Order id -> its mail's state (sending | sent); orders with no mail record are left out."""
        with self.db.read() as cur:
            cur.execute("SELECT order_id, state FROM order_mail")
            return {int(row["order_id"]): row["state"] for row in cur.fetchall()}

    def sales_counted_orders(self) -> set[int]:
        with self.db.read() as cur:
            cur.execute("SELECT order_id FROM sales_counted")
            return {int(row["order_id"]) for row in cur.fetchall()}

    def category_sales(self) -> dict[int, tuple[int, int, str]]:
        """Category id -> (orders, units, revenue) as the sales figures say."""
        with self.db.read() as cur:
            cur.execute("SELECT category_id, orders, units, revenue FROM category_sales WHERE orders > 0")
            return {int(r["category_id"]): (int(r["orders"]), int(r["units"]), money(r["revenue"]))
                    for r in cur.fetchall()}  # fmt: skip

    def expected_category_sales(self) -> dict[int, tuple[int, int, str]]:
        """Category id -> (orders, units, revenue) recomputed from the lines of the orders counted."""
        with self.db.read() as cur:
            cur.execute(
                "SELECT p.category_id, COUNT(DISTINCT i.order_id) AS orders, SUM(i.quantity) AS units,"
                " SUM(i.quantity * i.unit_price) AS revenue"
                " FROM sales_counted c JOIN order_items i ON i.order_id = c.order_id"
                " JOIN products p ON p.id = i.product_id GROUP BY p.category_id"
            )
            return {int(r["category_id"]): (int(r["orders"]), int(r["units"]), money(r["revenue"]))
                    for r in cur.fetchall()}  # fmt: skip

    def event_progress(self) -> dict[str, int]:
        """How far the follow-up work is: orders, mails sent, orders counted in the sales figures, events
        still in the outbox (one round trip; the harness samples it every second during a run)."""
        with self.db.read() as cur:
            cur.execute(
                "SELECT (SELECT COUNT(*) FROM orders) AS orders,"
                " (SELECT COUNT(*) FROM order_mail WHERE state = 'sent') AS mailed,"
                " (SELECT COUNT(*) FROM sales_counted) AS counted,"
                " (SELECT COUNT(*) FROM outbox WHERE published_at IS NULL) AS unpublished"
            )
            return {key: int(value) for key, value in cur.fetchone().items()}

    def unpublished_event_count(self) -> int:
        """Outbox rows the relay has not published yet (the distributed variant's backlog before RabbitMQ)."""
        with self.db.read() as cur:
            cur.execute("SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL")
            return int(cur.fetchone()["n"])

    # -- invariants (read-only checks the drills run after a load test) -----------------------

    def orders_exist(self, ids) -> set[int]:
        """Which of these order ids exist in the database."""
        wanted = sorted({int(i) for i in ids if 0 < int(i) <= MAX_ORDER_ID})
        found: set[int] = set()
        with self.db.read() as cur:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                # Only placeholders are formatted in: the ids travel as parameters.
                cur.execute(f"SELECT id FROM orders WHERE id IN ({placeholders(len(chunk))})", chunk)  # noqa: S608
                found.update(int(row["id"]) for row in cur.fetchall())
        return found

    def order_count(self) -> int:
        with self.db.read() as cur:
            cur.execute("SELECT COUNT(*) AS n FROM orders")
            return int(cur.fetchone()["n"])

    def negative_stock_count(self) -> int:
        """Products whose stock is below zero (the schema's UNSIGNED column should make it impossible)."""
        with self.db.read() as cur:
            cur.execute("SELECT COUNT(*) AS n FROM products WHERE CAST(stock AS SIGNED) < 0")
            return int(cur.fetchone()["n"])

    def duplicate_idempotency_keys(self, *, limit: int = DEFAULT_RECOMMENDATIONS) -> list[str]:
        """Idempotency keys that more than one order carries (the UNIQUE index should make it impossible)."""
        with self.db.read() as cur:
            cur.execute(
                "SELECT idempotency_key FROM orders WHERE idempotency_key IS NOT NULL"
                " GROUP BY idempotency_key HAVING COUNT(*) > 1 ORDER BY idempotency_key LIMIT %s",
                [limit],
            )
            return [row["idempotency_key"] for row in cur.fetchall()]

    def orders_without_items(self) -> int:
        """Orders with no line at all: half an order, which a transaction must never leave behind."""
        with self.db.read() as cur:
            cur.execute(
                "SELECT COUNT(*) AS n FROM orders o"
                " WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)"
            )
            return int(cur.fetchone()["n"])

    def stock_levels(self) -> dict[int, int]:
        """Product id -> units in stock."""
        with self.db.read() as cur:
            cur.execute("SELECT id, stock FROM products")
            return {int(row["id"]): int(row["stock"]) for row in cur.fetchall()}

    def ordered_quantities(self) -> dict[int, int]:
        """Product id -> units ordered so far (products never ordered are left out)."""
        with self.db.read() as cur:
            cur.execute("SELECT product_id, SUM(quantity) AS n FROM order_items GROUP BY product_id")
            return {int(row["product_id"]): int(row["n"]) for row in cur.fetchall()}


def reserve_stock(cur, *, product_id: int, quantity: int) -> None:
    """Take ``quantity`` units, or raise OutOfStock: the condition makes it safe under any concurrency."""
    cur.execute(
        "UPDATE products SET stock = stock - %s WHERE id = %s AND stock >= %s",
        [quantity, product_id, quantity],
    )
    if cur.rowcount != 1:
        raise OutOfStock(f"Product {product_id} does not have {quantity} unit(s) in stock.")


def count_sales(cur, *, order_id: int) -> bool:
    """Add one order's lines to the sales figures, in the caller's transaction; False if already counted.

    The "counted" row and the figures commit together, so a redelivered event can never count an
    order twice. Categories are updated in id order: two orders never wait for each other's rows
    in opposite orders (no deadlock).
    """
    try:
        cur.execute("INSERT INTO sales_counted (order_id) VALUES (%s)", [order_id])
    except pymysql.err.IntegrityError as exc:
        if exc.args[0] == DUPLICATE_KEY:
            return False
        if exc.args[0] == NO_PARENT_ROW:
            raise NotFound(f"There is no order {order_id}.") from None
        raise
    cur.execute(
        "SELECT p.category_id, SUM(i.quantity) AS units, SUM(i.quantity * i.unit_price) AS revenue"
        " FROM order_items i JOIN products p ON p.id = i.product_id WHERE i.order_id = %s"
        " GROUP BY p.category_id ORDER BY p.category_id",
        [order_id],
    )
    for row in cur.fetchall():
        cur.execute(
            "INSERT INTO category_sales (category_id, orders, units, revenue) VALUES (%s, 1, %s, %s)"
            " ON DUPLICATE KEY UPDATE orders = orders + 1, units = units + VALUES(units),"
            " revenue = revenue + VALUES(revenue)",
            [row["category_id"], row["units"], row["revenue"]],
        )
    return True


def record_mail_sent(cur, *, order_id: int, sender: str, state: str = "sent") -> None:
    """The monolith's record of a mail it has just sent (or that the server refused for good: "rejected"),
    in the order's own transaction."""
    cur.execute(
        "INSERT INTO order_mail (order_id, state, claimant, claimed_at, sent_at) VALUES (%s, %s, %s, NOW(3), NOW(3))",
        [order_id, state, sender],
    )


def record_event(cur, *, order: dict, routing_key: str, payload: str) -> int:
    """Write an event to the outbox, in the order's own transaction; returns its id."""
    cur.execute(
        "INSERT INTO outbox (order_id, routing_key, payload) VALUES (%s, %s, %s)",
        [order["id"], routing_key, payload],
    )
    return int(cur.lastrowid)


def pending_events(cur, *, limit: int, older_than_s: float = 0.0) -> list[dict]:
    """The oldest unpublished outbox rows (at least ``older_than_s`` old), locked for this transaction;
    rows another relay holds are skipped.

    ``SKIP LOCKED`` (MariaDB 10.6+) is what lets every API replica run a relay: two relays never
    take the same row at the same time, and none waits for another.
    """
    cur.execute(
        "SELECT id, order_id, routing_key, payload FROM outbox WHERE published_at IS NULL"
        " AND created_at <= NOW(3) - INTERVAL %s SECOND ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
        [older_than_s, limit],
    )
    return [dict(row) for row in cur.fetchall()]


def mark_published(cur, ids: list[int]) -> None:
    if ids:
        # Only placeholders are formatted in: the ids travel as parameters.
        cur.execute(
            f"UPDATE outbox SET published_at = NOW(3) WHERE id IN ({placeholders(len(ids))})",  # noqa: S608
            ids,
        )


def _load_order(cur, order_id: int) -> dict | None:
    cur.execute("SELECT id, email, status, total, created_at FROM orders WHERE id = %s", [order_id])
    row = cur.fetchone()
    if row is None:
        return None
    cur.execute(
        "SELECT i.product_id, p.name, i.quantity, i.unit_price FROM order_items i"
        " JOIN products p ON p.id = i.product_id WHERE i.order_id = %s ORDER BY i.product_id",
        [order_id],
    )
    items = [
        {
            "product_id": item["product_id"],
            "name": item["name"],
            "quantity": item["quantity"],
            "unit_price": money(item["unit_price"]),
            "line_total": money(item["unit_price"] * item["quantity"]),
        }
        for item in cur.fetchall()
    ]
    return {
        "id": row["id"],
        "email": row["email"],
        "status": row["status"],
        "total": money(row["total"]),
        "created_at": row["created_at"].isoformat(timespec="milliseconds") + "Z",
        "items": items,
    }


# -- schema and seed (used by `python -m shop.dbadmin` and `twinshop reset`) --------------------

SEED_TABLES = (
    "order_mail", "sales_counted", "outbox", "category_sales", "order_items", "orders", "products", "categories",
)  # fmt: skip


def product_count(cur) -> int:
    cur.execute("SELECT COUNT(*) AS n FROM products")
    return cur.fetchone()["n"]


def load_seed(cur, categories: list[dict], products: list[dict]) -> None:
    """Replace every row with the seed: the same data on both variants after each reset."""
    cur.execute("SET FOREIGN_KEY_CHECKS = 0")
    try:
        for table in SEED_TABLES:
            cur.execute(f"TRUNCATE TABLE {table}")  # noqa: S608 - fixed table names, no input
    finally:
        cur.execute("SET FOREIGN_KEY_CHECKS = 1")
    cur.executemany(
        "INSERT INTO categories (id, slug, name) VALUES (%s, %s, %s)",
        [[c["id"], c["slug"], c["name"]] for c in categories],
    )
    cur.executemany(
        "INSERT INTO products (id, category_id, name, description, price, stock) VALUES (%s, %s, %s, %s, %s, %s)",
        [[p["id"], p["category_id"], p["name"], p["description"], p["price"], p["stock"]] for p in products],
    )
