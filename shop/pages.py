"""The HTML pages (catalogue, search, product, cart, checkout, order), written once for both variants.

Every view reads and writes through :func:`shop.data.shop_data`, so the same code runs in the
monolith (SQL behind it) and in the distributed web tier (HTTP to the API behind it). The
cart lives in the signed session cookie, so any web replica can serve any request. What a
visitor may type is checked by the same rules, with the same sentences, as the JSON API
(:mod:`shop.validation`).
"""

from __future__ import annotations

import re
import secrets
from decimal import Decimal

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import ValidationError

from shop.data import shop_data
from shop.errors import InvalidRequest, NotFound, ShopError
from shop.validation import (
    DEFAULT_PER_PAGE,
    MAX_EMAIL,
    MAX_ORDER_ID,
    MAX_ORDER_LINES,
    MAX_PAGE,
    MAX_PRODUCT_ID,
    MAX_QUANTITY,
    MAX_QUERY,
    ORDER_LINES_MESSAGE,
    parse_whole_number,
    validate_email,
    validate_search_text,
)

# A product with this many units or fewer is shown as "Only N left".
LOW_STOCK = 5
BEST_SELLERS = 3  # categories in the catalogue's "best sellers" box
CHECKOUT_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,128}")  # what secrets.token_urlsafe(24) makes

bp = Blueprint("pages", __name__)


def register_pages(app: Flask) -> None:
    """Serve the pages; their forms are CSRF-checked by the blueprint, the JSON API is not."""
    app.jinja_env.trim_blocks = True  # readable page source: students will "view source"
    app.jinja_env.lstrip_blocks = True
    app.register_blueprint(bp)


@bp.before_request
def require_csrf_token() -> None:
    """Refuse a form POST that does not carry this session's CSRF token (a cross-site forgery)."""
    if request.method != "POST":
        return
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError as error:
        raise InvalidRequest(
            f"{error} The form may have expired: go back, reload the page and submit it again.",
            code="csrf_failed",
        ) from None


@bp.app_context_processor
def cart_summary() -> dict:
    """The number of items in the cart, for the header on every page."""
    return {"cart_count": sum(session.get("cart", {}).values())}


bp.add_app_template_global(generate_csrf, "csrf_token")


@bp.app_context_processor
def input_limits() -> dict:
    """The limits the forms announce (maxlength, max), from the definitions the server checks with."""
    return {"max_query": MAX_QUERY, "max_email": MAX_EMAIL, "max_quantity": MAX_QUANTITY}


@bp.app_template_filter("money")
def format_money(value: str | Decimal) -> str:
    """A price for people: ``"1234.5"`` -> ``"$1,234.50"``."""
    return f"${Decimal(value):,.2f}"


@bp.app_template_filter("masked_email")
def masked_email(email: str) -> str:
    """``ana@example.com`` -> ``a**@example.com``: order pages are reachable by id, so hide who bought."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}{'*' * max(len(name) - 1, 2)}@{domain}"


@bp.app_template_filter("stock_status")
def stock_status(stock: int) -> str:
    """Classify a stock level as "out", "low" or "ok"; the templates word and colour it from this."""
    return "out" if stock <= 0 else "low" if stock <= LOW_STOCK else "ok"


def page_number() -> int:
    """The ``?page=`` of a listing; absent or empty means the first page."""
    return parse_whole_number(request.args.get("page") or None, name="page", high=MAX_PAGE, default=1)


def form_number(name: str, *, low: int, high: int, default: int | None = None) -> int:
    """A whole-number form field (spaces around it ignored); an empty one takes ``default`` when there is one."""
    raw = request.form.get(name, "").strip() or None
    return parse_whole_number(raw, name=name, low=low, high=high, default=default)


def paginated(result: dict) -> dict:
    """The listing plus its page count; asking for a page after the last one is a 404."""
    pages = max(1, -(-result["total"] // result["per_page"]))
    if result["page"] > pages:
        raise NotFound(f"There is no page {result['page']}: the last page is {pages}.")
    return {**result, "pages": pages}


@bp.get("/")
def catalogue() -> ResponseReturnValue:
    """The catalogue, 20 products per page, optionally filtered by category."""
    slug = request.args.get("category") or None
    page = page_number()
    categories = shop_data().list_categories()
    current = next((c for c in categories if c["slug"] == slug), None)
    if slug and current is None:
        raise NotFound("There is no such category.")
    result = shop_data().list_products(page=page, per_page=DEFAULT_PER_PAGE, category=slug)
    return render_template("catalogue.html", categories=categories, category=current, result=paginated(result),
                           best_sellers=best_sellers(categories))  # fmt: skip


def best_sellers(categories: list[dict]) -> list[dict]:
    """The categories that sold the most units so far (from the sales figures the order events keep)."""
    sold = [c for c in categories if c.get("sales", {}).get("units")]
    return sorted(sold, key=lambda c: (-c["sales"]["units"], c["name"]))[:BEST_SELLERS]


@bp.get("/search")
def search() -> ResponseReturnValue:
    """Search the products; an empty query shows only the form."""
    q = validate_search_text(" ".join(request.args.get("q", "").split()))
    page = page_number()
    result = paginated(shop_data().list_products(page=page, per_page=DEFAULT_PER_PAGE, q=q)) if q else None
    return render_template("search.html", q=q, result=result)


@bp.get(f"/products/<int(max={MAX_PRODUCT_ID}):product_id>")
def product(product_id: int) -> ResponseReturnValue:
    """One product: description, price, stock and an add-to-cart form."""
    return render_template("product.html", product=shop_data().get_product(product_id))


def cart_line(product: dict, quantity: int) -> dict:
    """A cart line shaped like an order's line, so one table shows both."""
    return {
        "product_id": product["id"],
        "name": product["name"],
        "stock": product["stock"],
        "unit_price": product["price"],
        "quantity": quantity,
        "line_total": Decimal(product["price"]) * quantity,
    }


def cart_lines() -> tuple[list[dict], Decimal]:
    """The cart's lines with today's product data, and its total; forgets products that are gone."""
    cart = session.get("cart", {})
    if not cart:
        return [], Decimal("0.00")
    ids = [int(key) for key in cart]
    found = {p["id"]: p for p in shop_data().list_products(ids=ids, per_page=len(ids))["items"]}
    lines = [cart_line(found[int(key)], quantity) for key, quantity in cart.items() if int(key) in found]
    if len(lines) < len(cart):
        session["cart"] = {str(line["product_id"]): line["quantity"] for line in lines}
        flash("Some products in your cart no longer exist and were removed.", "info")
    return lines, sum((line["line_total"] for line in lines), Decimal("0.00"))


@bp.get("/cart")
def cart() -> ResponseReturnValue:
    """The cart: its lines, quantities and total."""
    lines, total = cart_lines()
    return render_template("cart.html", lines=lines, total=total)


@bp.post("/cart/add")
def cart_add() -> ResponseReturnValue:
    """Add a product to the cart, then show the cart."""
    product_id = form_number("product_id", low=1, high=MAX_PRODUCT_ID)
    quantity = form_number("quantity", low=1, high=MAX_QUANTITY, default=1)
    product = shop_data().get_product(product_id)
    cart = dict(session.get("cart", {}))
    key = str(product_id)
    if key not in cart and len(cart) >= MAX_ORDER_LINES:
        raise InvalidRequest(ORDER_LINES_MESSAGE)
    cart[key] = min(cart.get(key, 0) + quantity, MAX_QUANTITY)
    session["cart"] = cart
    flash(f"Added to your cart: {product['name']} (quantity {quantity}).", "success")
    return redirect(url_for("pages.cart"), 303)


@bp.post("/cart/update")
def cart_update() -> ResponseReturnValue:
    """Set the quantity of a cart line; 0 removes it."""
    key = str(form_number("product_id", low=1, high=MAX_PRODUCT_ID))
    quantity = form_number("quantity", low=0, high=MAX_QUANTITY)
    cart = dict(session.get("cart", {}))
    if key not in cart:
        raise NotFound("That product is not in your cart.")
    if quantity:
        cart[key] = quantity
        flash("Your cart has been updated.", "success")
    else:
        del cart[key]
        flash("The product has been removed from your cart.", "success")
    session["cart"] = cart
    return redirect(url_for("pages.cart"), 303)


@bp.post("/cart/clear")
def cart_clear() -> ResponseReturnValue:
    """Empty the cart."""
    session.pop("cart", None)
    flash("Your cart is now empty.", "success")
    return redirect(url_for("pages.cart"), 303)


def render_checkout(
    lines: list[dict], total: Decimal, *, email: str = "", error: str = "", status: int = 200
) -> ResponseReturnValue:
    """The checkout page, with a fresh checkout token: one token, at most one order."""
    token = secrets.token_urlsafe(24)
    page = render_template("checkout.html", lines=lines, total=total, email=email, error=error, checkout_token=token)
    return page, status


@bp.get("/checkout")
def checkout() -> ResponseReturnValue:
    """The order form: the cart's lines, an email field and a one-time checkout token."""
    lines, total = cart_lines()
    return render_checkout(lines, total)


@bp.post("/checkout")
def place_order() -> ResponseReturnValue:
    """Place the order (the checkout token is its idempotency key), empty the cart, show the order."""
    token = request.form.get("checkout_token", "")
    if not CHECKOUT_TOKEN_PATTERN.fullmatch(token):
        raise InvalidRequest("The checkout form is incomplete: reload the checkout page and try again.")
    last = session.get("last_order")
    if last and last["token"] == token:  # a double submit, after the first one emptied the cart
        return redirect(url_for("pages.order", order_id=last["id"]), 303)
    email = request.form.get("email", "").strip()
    lines, total = cart_lines()
    if not lines:
        return render_checkout(
            lines,
            total,
            email=email,
            error="Your cart is empty: add a product before checking out.",
            status=400,
        )
    items = [{"product_id": line["product_id"], "quantity": line["quantity"]} for line in lines]
    try:
        order = shop_data().place_order(email=validate_email(email), items=items, idempotency_key=token)
    except ShopError as error:
        if error.status >= 500:
            raise
        return render_checkout(lines, total, email=email, error=error.message, status=error.status)
    session.pop("cart", None)
    session["last_order"] = {"token": token, "id": order["id"]}
    flash(f"Thank you: order #{order['id']} has been placed.", "success")
    return redirect(url_for("pages.order", order_id=order["id"]), 303)


@bp.get(f"/orders/<int(max={MAX_ORDER_ID}):order_id>")
def order(order_id: int) -> ResponseReturnValue:
    """One order: its status, lines and total."""
    return render_template("order.html", order=shop_data().get_order(order_id))
