"""What HAProxy answers by itself when a whole tier is dead: the shop's shapes, not HAProxy's HTML.

The drills stop every replica of a tier through the engine (as `twinshop kill` does), ask the
load balancer, then start them again.
"""

from __future__ import annotations

import html
import re

import pytest
import requests
from support import wait_until

from distributed.lb.render import LB_ERRORS
from shop.error_page import render_error_page

API_SERVERS = ("api-1", "api-2", "api-3", "api-standby")
WEB_SERVERS = ("web-1", "web-2")


@pytest.fixture
def lb(engine, distributed_url):
    """The distributed entry point; every service is started again (and seen UP) afterwards."""
    yield distributed_url
    for service in engine.topology("distributed").services:
        engine.start(service.name, variant="distributed")
    assert wait_until(lambda: answers(distributed_url + "/api/products/1") and answers(distributed_url + "/"), 30)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def kill_all(engine, names) -> None:
    for name in names:
        engine.kill(name)


def assert_lb_json_error(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": LB_ERRORS[status][1], "message": LB_ERRORS[status][2]}
    assert response.headers["X-Served-By"] == "lb"
    assert re.search(r"\bdb;dur=0\b", response.headers["Server-Timing"])


def test_with_every_api_replica_dead_the_api_answers_503_json(engine, lb):
    kill_all(engine, API_SERVERS)
    assert_lb_json_error(requests.get(lb + "/api/products/1", timeout=15), 503)
    order = {"email": "ana@example.com", "items": [{"product_id": 1, "quantity": 1}]}
    assert_lb_json_error(requests.post(lb + "/api/orders", json=order, timeout=15), 503)
    # The pages still come from the web tier, which says in its own page that the API is missing
    # (and who told it so: the load balancer, in place of the API).
    page = requests.get(lb + "/products/1", timeout=15)
    assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
    assert re.fullmatch(r"web-\d,lb", page.headers["X-Served-By"])
    assert html.escape(LB_ERRORS[503][2]) in page.text


def test_with_every_web_replica_dead_pages_get_the_shops_error_page(engine, lb):
    kill_all(engine, WEB_SERVERS)
    response = requests.get(lb + "/products/1", timeout=15)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["X-Served-By"] == "lb"
    page = response.text
    # Exactly shop/templates/error.html as render.py rendered it into haproxy.cfg.
    assert page == render_error_page(503, "no_backend", LB_ERRORS[503][3], node="lb", variant="distributed")
    assert 'id="error" data-status="503" data-code="no_backend"' in page
    assert html.escape(LB_ERRORS[503][3]) in page
    assert '<a class="brand" href="/">twinshop</a>' in page and "<style>" in page
    assert re.search(r'<dd id="served-by">lb</dd>', page)
    assert "/static/style.css" not in page  # the web tier that serves it is what is missing
    # The API does not need the web tier.
    assert requests.get(lb + "/api/products/1", timeout=15).status_code == 200

