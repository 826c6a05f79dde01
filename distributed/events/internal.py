"""The API's internal endpoints for the consumers, and the consumers' client of them.

Only the API touches the database, so a consumer that needs it asks the API (through the load
balancer, like the web tier). These endpoints are not part of the public contract and are left
out of /api/openapi.json on purpose; every call must carry ``Authorization: Bearer <token>``,
a token derived from the SECRET_KEY every application process already holds, so nobody
reaching the load balancer from outside can call them.

| call | answer |
|---|---|
| ``POST /api/internal/orders/<id>/sales`` | 200 ``{"counted": true}`` (counted now) or ``false`` (already counted); 404 no such order |
| ``POST /api/internal/orders/<id>/mail/claim`` ``{"claimant", "lease_s"}`` | 200 ``{"state": "claimed" \\| "sent" \\| "busy"}``; 404 |
| ``POST /api/internal/orders/<id>/mail/sent`` ``{"claimant"}`` | 200 ``{"state": "sent"}`` |
| ``DELETE /api/internal/orders/<id>/mail/claim`` ``{"claimant"}`` | 200 ``{"state": "released"}`` |
| ``GET /api/internal/relay`` | 200 this replica's relay: ``{"published", "cpu_s", ...}`` (the benchmark) |
"""  # noqa: E501

from __future__ import annotations

import hashlib
import hmac
import logging

import requests

from shop.config import ApiClientSettings

log = logging.getLogger("twinshop.internal")

PREFIX = "/api/internal"


def internal_token(secret_key: str) -> str:
    """The bearer token of the internal endpoints: an HMAC of the shop's SECRET_KEY (never the key itself)."""
    return hmac.new(secret_key.encode(), b"twinshop internal API", hashlib.sha256).hexdigest()


class ApiUnavailable(RuntimeError):
    """The API could not answer now (unreachable, 5xx): try again later."""


class UnknownOrder(LookupError):
    """The API says the order does not exist (404)."""


class InternalApi:
    """What a consumer asks the API: a pooled requests session through the load balancer."""

    def __init__(self, settings: ApiClientSettings, *, secret_key: str):
        self.settings = settings
        self.session = requests.Session()
        self.session.trust_env = False  # an internal address: no proxies
        self.session.headers["Authorization"] = f"Bearer {internal_token(secret_key)}"

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            response = self.session.request(method, self.settings.base_url + PREFIX + path, json=body,
                                            timeout=(self.settings.connect_timeout, self.settings.read_timeout))
        except requests.RequestException as exc:  # fmt: skip
            raise ApiUnavailable(f"{method} {path}: {exc}") from exc
        if response.status_code == 404:
            raise UnknownOrder(f"{method} {path}: {response.text[:200]}")
        if response.status_code != 200:
            # 401 (a wrong token), 5xx (the database, or every API replica, is down): nothing the
            # message itself is to blame for, so it is retried rather than dead-lettered.
            raise ApiUnavailable(f"{method} {path}: HTTP {response.status_code} {response.text[:200]}")
        return response.json()

    def count_sales(self, order_id: int) -> bool:
        return bool(self._call("POST", f"/orders/{order_id}/sales")["counted"])

    def claim_mail(self, order_id: int, *, claimant: str, lease_s: float) -> str:
        return self._call("POST", f"/orders/{order_id}/mail/claim", {"claimant": claimant, "lease_s": lease_s})["state"]

    def mark_mail_sent(self, order_id: int, *, claimant: str) -> None:
        self._call("POST", f"/orders/{order_id}/mail/sent", {"claimant": claimant})

    def release_mail(self, order_id: int, *, claimant: str) -> None:
        self._call("DELETE", f"/orders/{order_id}/mail/claim", {"claimant": claimant})
