"""The API's internal endpoints, called by the consumers (described in distributed/events/internal.py).

Registered only in the API tier: the monolith does this work inline and has no consumers. Every
call must carry the internal bearer token; without it the answer is a 404, as if the address did
not exist (nobody outside learns that it does).
"""

from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, request

from distributed.events.internal import PREFIX, internal_token
from shop.data import shop_data
from shop.errors import InvalidRequest, NotFound
from shop.validation import MAX_ORDER_ID

bp = Blueprint("internal", __name__, url_prefix=PREFIX)

MAX_LEASE_S = 600.0
MAX_CLAIMANT = 64


@bp.before_request
def require_token() -> None:
    """Only the shop's own consumers may call these endpoints."""
    expected = "Bearer " + internal_token(current_app.config["SECRET_KEY"])
    if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
        raise NotFound("There is nothing at this address.")


def claimant() -> str:
    body = request.get_json(silent=True) or {}
    name = body.get("claimant") if isinstance(body, dict) else None
    if not isinstance(name, str) or not 0 < len(name) <= MAX_CLAIMANT:
        raise InvalidRequest(f"claimant must be a name of 1 to {MAX_CLAIMANT} characters.")
    return name


def checked(order_id: int) -> int:
    if not 0 < order_id <= MAX_ORDER_ID:
        raise NotFound(f"There is no order {order_id}.")
    return order_id


@bp.get("/relay")
def relay():
    """This replica's outbox relay: events published, CPU seconds its thread used (benchmarks/events.py)."""
    return jsonify(current_app.extensions["twinshop.relay"].stats())


@bp.post("/orders/<int:order_id>/sales")
def count_sales(order_id: int):
    """Add the order to the sales figures, once (false: it was already counted)."""
    return jsonify({"counted": shop_data().count_order_sales(checked(order_id))})


@bp.post("/orders/<int:order_id>/mail/claim")
def claim_mail(order_id: int):
    """Claim the order's confirmation mail: claimed (send it), sent (already done) or busy (someone else sends it)."""
    body = request.get_json(silent=True) or {}
    lease = body.get("lease_s", 30) if isinstance(body, dict) else None
    if not isinstance(lease, int | float) or isinstance(lease, bool) or not 0 < lease <= MAX_LEASE_S:
        raise InvalidRequest(f"lease_s must be a number of seconds from 0 to {MAX_LEASE_S:g}.")
    state = shop_data().claim_order_mail(order_id=checked(order_id), claimant=claimant(), lease_s=float(lease))
    return jsonify({"state": state})


@bp.post("/orders/<int:order_id>/mail/sent")
def mail_sent(order_id: int):
    """Record that the order's mail was handed to the mail server."""
    shop_data().mark_order_mail_sent(order_id=checked(order_id), claimant=claimant())
    return jsonify({"state": "sent"})


@bp.delete("/orders/<int:order_id>/mail/claim")
def release_mail(order_id: int):
    """Give up a claim (the mail could not be made)."""
    shop_data().release_order_mail(order_id=checked(order_id), claimant=claimant())
    return jsonify({"state": "released"})
