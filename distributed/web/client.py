"""The web tier's window on the shop: :class:`shop.data.ShopData` implemented over HTTP.

Everything the pages need comes from the API through the load balancer. This is where the
network hop becomes visible: serialisation, timeouts, retries (only for idempotent requests)
and failures that cannot happen inside one process.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shop.config import ApiClientSettings
from shop.errors import Unavailable, error_from_response
from shop.served import add_timing, add_upstream_nodes, parse_server_timing, record_call
from shop.validation import DEFAULT_PER_PAGE, DEFAULT_RECOMMENDATIONS

log = logging.getLogger("twinshop.web.client")


class ApiClient:
    """Calls the JSON API with a pooled, retrying requests.Session (one per process)."""

    def __init__(self, settings: ApiClientSettings, *, pool_size: int = 16):
        self.settings = settings
        self.pool_size = pool_size
        self._session: requests.Session | None = None
        self._session_pid: int | None = None
        self._lock = threading.Lock()

    def _get_session(self) -> requests.Session:
        if self._session is None or self._session_pid != os.getpid():
            with self._lock:
                if self._session is None or self._session_pid != os.getpid():
                    retry = Retry(
                        total=self.settings.retries,
                        connect=self.settings.retries,  # the request never left: safe for any method
                        read=self.settings.retries,
                        status=self.settings.retries,
                        # Only idempotent requests are replayed after a read error, a 502 or a 504:
                        # replaying a POST could place an order twice. A 503 is not retried: it
                        # means a dependency every replica shares (the database) is down, and
                        # asking again at once would only add load.
                        allowed_methods=frozenset({"GET", "HEAD"}),
                        status_forcelist=(502, 504),
                        backoff_factor=0.05,
                        raise_on_status=False,
                        respect_retry_after_header=False,
                    )
                    session = requests.Session()
                    # The API is an internal address: HTTP(S)_PROXY / NO_PROXY and .netrc are for
                    # the outside world (and reading them walks os.environ on every call).
                    session.trust_env = False
                    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.pool_size, max_retries=retry)
                    session.mount("http://", adapter)
                    session.mount("https://", adapter)
                    self._session, self._session_pid = session, os.getpid()
        return self._session

    def _call(self, method: str, path: str, *, params=None, json=None, headers=None) -> dict:
        url = self.settings.base_url + path
        started = time.perf_counter()
        try:
            # Prepared here and sent with Session.send, not Session.request: this client has no
            # session-wide cookies, auth, proxies or hooks to merge in, and merging them cost about
            # a sixth of the call's CPU (measured: benchmarks/page_rps.py, docs/benchmarks.md).
            request = requests.Request(
                method, url, params=params, json=json, headers={"Accept": "application/json", **(headers or {})}
            ).prepare()
            response = self._get_session().send(
                request,
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            waited = (time.perf_counter() - started) * 1000
            add_timing("api", waited)
            record_call(method=method, path=path, status=None, milliseconds=waited, nodes=[], header=None)
            log.warning("API call %s %s failed: %s", method, url, exc)
            raise Unavailable(
                "The shop's API cannot be reached right now; try again in a moment.", code="api_unavailable"
            ) from exc
        waited = (time.perf_counter() - started) * 1000
        add_timing("api", waited)
        nodes = [n.strip() for n in response.headers.get("X-Served-By", "").split(",")]
        add_upstream_nodes(nodes)
        # Each call on its own, for the page's diagram: two calls are two branches, not a chain.
        record_call(method=method, path=request.path_url, status=response.status_code, milliseconds=waited,
                    nodes=nodes, header=response.headers.get("Server-Timing"))  # fmt: skip
        upstream_db = parse_server_timing(response.headers.get("Server-Timing")).get("db")
        if upstream_db is not None:
            add_timing("db", upstream_db)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise error_from_response(response.status_code, body)
        if not isinstance(body, dict):
            raise Unavailable("The API answered with something that is not JSON.", code="api_bad_response")
        if response.headers.get("Idempotent-Replayed") == "true":
            body["replayed"] = True
        return body

    def list_categories(self) -> list[dict]:
        return self._call("GET", "/api/categories")["items"]

    def list_products(
        self,
        *,
        page: int = 1,
        per_page: int = DEFAULT_PER_PAGE,
        q: str | None = None,
        category: str | None = None,
        ids: list[int] | None = None,
    ) -> dict:
        params: dict[str, object] = {"page": page, "per_page": per_page}
        if q:
            params["q"] = q
        if category:
            params["category"] = category
        if ids is not None:
            if not ids:
                return {"items": [], "page": page, "per_page": per_page, "total": 0}
            params["ids"] = ",".join(str(i) for i in ids)
        return self._call("GET", "/api/products", params=params)

    def get_product(self, product_id: int) -> dict:
        return self._call("GET", f"/api/products/{int(product_id)}")

    def recommendations(self, product_id: int, *, limit: int = DEFAULT_RECOMMENDATIONS) -> dict:
        return self._call("GET", f"/api/products/{int(product_id)}/recommendations", params={"limit": limit})

    def place_order(self, *, email: str, items: list[dict], idempotency_key: str | None = None) -> dict:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._call("POST", "/api/orders", json={"email": email, "items": items}, headers=headers)

    def get_order(self, order_id: int) -> dict:
        return self._call("GET", f"/api/orders/{int(order_id)}")

    def ping(self) -> None:
        self._call("GET", "/api/readyz")
