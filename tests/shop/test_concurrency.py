"""Orders under concurrency: stock never below zero, one order per Idempotency-Key (both variants)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from shop import seed

_, PRODUCTS = seed.generate()


def fire_together(count: int, send) -> list[requests.Response]:
    """Run ``send`` from ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def one(_):
        with requests.Session() as session:
            barrier.wait()
            return send(session)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_200_concurrent_orders_for_10_units(base_url, repo):
    product = PRODUCTS[77]
    repo.restock(product_id=product["id"], stock=10)
    body = {"email": "rush@example.com", "items": [{"product_id": product["id"], "quantity": 1}]}
    responses = fire_together(200, lambda s: s.post(f"{base_url}/api/orders", json=body, timeout=60))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 10, 409: 190}, statuses
    assert all(r.json()["error"] == "out_of_stock" for r in responses if r.status_code == 409)
    assert len({r.json()["id"] for r in responses if r.status_code == 201}) == 10
    assert repo.get_product(product["id"])["stock"] == 0


def test_concurrent_requests_with_one_idempotency_key_make_one_order(base_url, repo):
    product = PRODUCTS[78]
    repo.restock(product_id=product["id"], stock=100)
    key = str(uuid.uuid4())
    body = {"email": "twice@example.com", "items": [{"product_id": product["id"], "quantity": 2}]}
    responses = fire_together(
        30,
        lambda s: s.post(f"{base_url}/api/orders", json=body, headers={"Idempotency-Key": key}, timeout=60),
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert repo.get_product(product["id"])["stock"] == 98
