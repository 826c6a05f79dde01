"""The shop's JSON API (the contract in CONTRACT.md): the same views in the monolith and the API tier."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from shop.data import shop_data
from shop.errors import UnsupportedMediaType
from shop.openapi import openapi_document
from shop.validation import (
    DEFAULT_RECOMMENDATIONS,
    MAX_RECOMMENDATIONS,
    parse_catalogue_query,
    parse_whole_number,
    validate_order,
)

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/products")
def list_products():
    """A page of products, optionally filtered by search text, category or ids."""
    return jsonify(shop_data().list_products(**parse_catalogue_query(request.args)))


@bp.get("/products/<int:product_id>")
def get_product(product_id: int):
    """One product, with its description."""
    return jsonify(shop_data().get_product(product_id))


@bp.get("/products/<int:product_id>/recommendations")
def recommendations(product_id: int):
    """Similar products, computed from descriptions on every call: the CPU-heavy endpoint."""
    limit = parse_whole_number(
        request.args.get("limit"),
        name="limit",
        high=MAX_RECOMMENDATIONS,
        default=DEFAULT_RECOMMENDATIONS,
        code="bad_query",
    )
    return jsonify(shop_data().recommendations(product_id, limit=limit))


@bp.get("/categories")
def list_categories():
    """Every category with its number of products."""
    return jsonify({"items": shop_data().list_categories()})


@bp.post("/orders")
def place_order():
    """Place an order: all of it or nothing; a repeated Idempotency-Key returns the first order."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the order as JSON with Content-Type: application/json.")
    email, items = validate_order(request.get_json(silent=True))  # None (not JSON) is refused as invalid_json
    order = shop_data().place_order(email=email, items=items, idempotency_key=request.headers.get("Idempotency-Key"))
    replayed = order.pop("replayed", False)
    response = jsonify(order)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_order", order_id=order["id"])
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/orders/<int:order_id>")
def get_order(order_id: int):
    """One order with its lines."""
    return jsonify(shop_data().get_order(order_id))


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document describing this API."""
    return jsonify(openapi_document())


@bp.get("/readyz")
def readyz():
    """The API tier's readiness, reachable through the load balancer's /api/ route (used by web)."""
    shop_data().ping()
    return jsonify({"status": "ready"})
