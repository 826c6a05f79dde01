"""The JSON API contract, through real HTTP, on both variants (CONTRACT.md)."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from shop import seed
from shop.openapi import openapi_document
from shop.validation import (
    EMAIL_MESSAGE,
    MAX_CATEGORY,
    MAX_IDEMPOTENCY_KEY,
    MAX_ORDER_LINES,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUANTITY,
    MAX_QUERY,
)

CATEGORIES, PRODUCTS = seed.generate()
MONEY = re.compile(r"^\d+\.\d{2}$")


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error shape: {"error": machine_code, "message": sentence}, never a traceback."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["message"] and "Traceback" not in body["message"]
    if code:
        assert body["error"] == code
    return body


def in_stock_product(repo, minimum: int = 50) -> dict:
    """A seeded product with plenty of stock, its stock set so the test owns it."""
    product = next(p for p in PRODUCTS if p["stock"] >= minimum and p["id"] % 7 == 3)
    repo.restock(product_id=product["id"], stock=1000)
    return product


def order(http, base_url, items, *, email="ana@example.com", key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return http.post(f"{base_url}/api/orders", json={"email": email, "items": items}, headers=headers)


# -- products ---------------------------------------------------------------------------------


def test_product_list_first_page(http, base_url):
    response = http.get(f"{base_url}/api/products")
    assert response.status_code == 200
    body = response.json()
    assert body["page"] == 1 and body["per_page"] == 20 and body["total"] == len(PRODUCTS)
    assert [item["id"] for item in body["items"]] == list(range(1, 21))
    first = body["items"][0]
    assert {"id", "name", "category", "price", "stock"} <= set(first)
    assert first["name"] == PRODUCTS[0]["name"]
    assert isinstance(first["price"], str) and MONEY.match(first["price"])
    assert first["price"] == f"{PRODUCTS[0]['price']:.2f}"


def test_product_list_paging_and_category(http, base_url):
    category = CATEGORIES[3]
    expected = [p for p in PRODUCTS if p["category_id"] == category["id"]]
    body = http.get(f"{base_url}/api/products", params={"category": category["slug"], "page": 2, "per_page": 5}).json()
    assert body["total"] == len(expected)
    assert [i["id"] for i in body["items"]] == [p["id"] for p in expected[5:10]]
    assert {i["category"] for i in body["items"]} == {category["slug"]}


def test_product_search_finds_by_name(http, base_url):
    target = PRODUCTS[1234]
    word = target["name"].split()[-1]
    body = http.get(f"{base_url}/api/products", params={"q": target["name"], "per_page": 100}).json()
    assert target["id"] in [i["id"] for i in body["items"]]
    expected = [p["id"] for p in PRODUCTS if word.lower() in (p["name"] + " " + p["description"]).lower()]
    body = http.get(f"{base_url}/api/products", params={"q": word, "per_page": 100}).json()
    assert body["total"] == len(expected)
    assert [i["id"] for i in body["items"]] == expected[:100]


@pytest.mark.parametrize(
    "query", ["'; DROP TABLE products; --", '" OR 1=1 --', "%", "_", "<script>alert(1)</script>", "é ñ 漢字"]
)
def test_search_with_hostile_strings_is_literal(http, base_url, query):
    response = http.get(f"{base_url}/api/products", params={"q": query})
    assert response.status_code == 200
    assert response.json()["total"] == 0  # matched literally: nothing in the catalogue holds these
    assert http.get(f"{base_url}/api/products").json()["total"] == len(PRODUCTS)


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "-1"},
        {"page": "abc"},
        {"page": "1.5"},
        {"per_page": "0"},
        {"per_page": "101"},
        {"per_page": "x"},
        {"page": "99999999999999999999"},
        {"page": "9" * 5000},
        {"page": str(MAX_PAGE + 1)},
        {"per_page": str(MAX_PER_PAGE + 1)},
        {"page": ""},
        {"page": " 2"},
        {"page": "2.0"},
        {"page": "²"},
    ],
)
def test_bad_paging_is_400(http, base_url, params):
    body = assert_error(http.get(f"{base_url}/api/products", params=params), 400, "bad_paging")
    name = next(iter(params))
    high = MAX_PAGE if name == "page" else MAX_PER_PAGE
    assert body["message"] == f"'{name}' must be a whole number from 1 to {high}."


def test_the_largest_page_and_page_size_are_accepted(http, base_url):
    body = http.get(f"{base_url}/api/products", params={"page": 1, "per_page": MAX_PER_PAGE}).json()
    assert [item["id"] for item in body["items"]] == list(range(1, MAX_PER_PAGE + 1))
    body = http.get(f"{base_url}/api/products", params={"page": MAX_PAGE}).json()
    assert body["page"] == MAX_PAGE and body["items"] == [] and body["total"] == len(PRODUCTS)


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * (MAX_QUERY + 1)},
        {"q": " " * (MAX_QUERY + 1)},
        {"category": "c" * (MAX_CATEGORY + 1)},
        {"ids": "1,,2"},
        {"ids": "1, 2"},
        {"ids": ",".join(["1"] * (MAX_PER_PAGE + 1))},
        {"ids": ""},
    ],
)
def test_bad_query_is_400(http, base_url, params):
    assert_error(http.get(f"{base_url}/api/products", params=params), 400, "bad_query")


def test_query_at_its_limits_is_accepted(http, base_url):
    assert http.get(f"{base_url}/api/products", params={"q": "x" * MAX_QUERY}).json()["total"] == 0
    ids = ",".join(str(i) for i in range(1, MAX_PER_PAGE + 1))
    body = http.get(f"{base_url}/api/products", params={"ids": ids, "per_page": MAX_PER_PAGE}).json()
    assert [item["id"] for item in body["items"]] == list(range(1, MAX_PER_PAGE + 1))


def test_get_product(http, base_url):
    expected = PRODUCTS[41]
    response = http.get(f"{base_url}/api/products/{expected['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == expected["name"] and body["description"] == expected["description"]
    assert body["category"] == CATEGORIES[expected["category_id"] - 1]["slug"]


@pytest.mark.parametrize("product_id", ["999999", "0", "abc", "-1", "1.5", "99999999999999999999999"])
def test_unknown_product_is_404(http, base_url, product_id):
    assert_error(http.get(f"{base_url}/api/products/{product_id}"), 404, "not_found")


def test_categories(http, base_url):
    items = http.get(f"{base_url}/api/categories").json()["items"]
    assert {c["slug"] for c in items} == {c["slug"] for c in CATEGORIES}
    assert sum(c["product_count"] for c in items) == len(PRODUCTS)


# -- orders -----------------------------------------------------------------------------------


def test_place_and_read_order(http, base_url, repo):
    product = in_stock_product(repo)
    response = order(http, base_url, [{"product_id": product["id"], "quantity": 3}])
    assert response.status_code == 201, response.text
    placed = response.json()
    assert response.headers["Location"] == f"/api/orders/{placed['id']}"
    assert placed["status"] == "confirmed"
    assert placed["total"] == f"{product['price'] * 3:.2f}"
    assert placed["items"] == [
        {
            "product_id": product["id"],
            "name": product["name"],
            "quantity": 3,
            "unit_price": f"{product['price']:.2f}",
            "line_total": f"{product['price'] * 3:.2f}",
        }
    ]
    assert repo.get_product(product["id"])["stock"] == 997
    fetched = http.get(f"{base_url}/api/orders/{placed['id']}")
    assert fetched.status_code == 200 and fetched.json() == placed


def test_repeated_idempotency_key_returns_first_order(http, base_url, repo):
    product = in_stock_product(repo)
    key = str(uuid.uuid4())
    first = order(http, base_url, [{"product_id": product["id"], "quantity": 1}], key=key)
    second = order(http, base_url, [{"product_id": product["id"], "quantity": 1}], key=key)
    assert first.status_code == 201 and second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert repo.get_product(product["id"])["stock"] == 999  # taken once


def test_idempotency_key_reused_for_other_order_is_409(http, base_url, repo):
    product = in_stock_product(repo)
    key = str(uuid.uuid4())
    assert order(http, base_url, [{"product_id": product["id"], "quantity": 1}], key=key).status_code == 201
    other = order(http, base_url, [{"product_id": product["id"], "quantity": 2}], key=key)
    assert_error(other, 409, "idempotency_key_reused")
    assert repo.get_product(product["id"])["stock"] == 999


def test_out_of_stock_is_409_and_changes_nothing(http, base_url, repo):
    plenty, scarce = in_stock_product(repo), PRODUCTS[10]
    repo.restock(product_id=scarce["id"], stock=2)
    response = order(
        http,
        base_url,
        [{"product_id": plenty["id"], "quantity": 5}, {"product_id": scarce["id"], "quantity": 3}],
    )
    assert_error(response, 409, "out_of_stock")
    assert repo.get_product(plenty["id"])["stock"] == 1000  # the whole order rolled back
    assert repo.get_product(scarce["id"])["stock"] == 2


def test_unknown_product_in_order_is_422(http, base_url, repo):
    plenty = in_stock_product(repo)
    response = order(
        http, base_url, [{"product_id": plenty["id"], "quantity": 1}, {"product_id": 999999, "quantity": 1}]
    )
    assert_error(response, 422, "unknown_product")
    assert repo.get_product(plenty["id"])["stock"] == 1000


def test_an_order_at_the_limits_is_accepted(http, base_url, repo):
    lines = [p for p in PRODUCTS if p["id"] % 11 == 4][:MAX_ORDER_LINES]
    for product in lines:
        repo.restock(product_id=product["id"], stock=MAX_QUANTITY)
    items = [{"product_id": p["id"], "quantity": MAX_QUANTITY} for p in lines]
    email = "a" * 64 + "@" + "b" * 185 + ".com"  # 254 characters
    try:
        response = order(http, base_url, items, email=email, key=uuid.uuid4().hex.ljust(MAX_IDEMPOTENCY_KEY, "k"))
        assert response.status_code == 201, response.text
        assert len(response.json()["items"]) == MAX_ORDER_LINES
        assert all(repo.get_product(p["id"])["stock"] == 0 for p in lines)
    finally:
        for product in lines:  # the seed's stock again: other tests compare the two variants' catalogues
            repo.restock(product_id=product["id"], stock=product["stock"])


def test_lines_of_one_product_are_merged_up_to_the_quantity_limit(http, base_url, repo):
    product = in_stock_product(repo)
    half = MAX_QUANTITY // 2
    items = [{"product_id": product["id"], "quantity": half}, {"product_id": product["id"], "quantity": 1.0}]
    response = order(http, base_url, items)
    assert response.status_code == 201, response.text
    assert [(i["product_id"], i["quantity"]) for i in response.json()["items"]] == [(product["id"], half + 1)]
    too_many = [{"product_id": product["id"], "quantity": half + 1}] * 2
    body = assert_error(order(http, base_url, too_many), 400, "invalid_request")
    assert body["message"] == f"An order holds at most {MAX_QUANTITY} units of one product."
    assert repo.get_product(product["id"])["stock"] == 1000 - half - 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "ana@example.com"},
        {"items": [{"product_id": 1, "quantity": 1}]},
        {"email": "not-an-email", "items": [{"product_id": 1, "quantity": 1}]},
        {"email": "ana@example.com", "items": []},
        {"email": "ana@example.com", "items": "nope"},
        {"email": "ana@example.com", "items": [{"product_id": 1}]},
        {"email": "ana@example.com", "items": [{"product_id": "1", "quantity": 1}]},
        {"email": "ana@example.com", "items": [{"product_id": 1, "quantity": 0}]},
        {"email": "ana@example.com", "items": [{"product_id": 1, "quantity": -3}]},
        {"email": "ana@example.com", "items": [{"product_id": 1, "quantity": 10**12}]},
        {"email": "ana@example.com", "items": [{"product_id": 1, "quantity": 1.5}]},
        {"email": "ana@example.com", "items": [{"product_id": True, "quantity": 1}]},
        {"email": "ana@example.com", "items": [{"product_id": -1, "quantity": 1}]},
        {"email": 42, "items": [{"product_id": 1, "quantity": 1}]},
        {"email": "ana@example.com", "items": [{"product_id": 1, "quantity": MAX_QUANTITY + 1}]},
        {"email": "ana@example.com", "items": [{"product_id": 1, "quantity": 1}] * (MAX_ORDER_LINES + 1)},
        {"email": "ana@example.com", "items": [{"product_id": 1, "quantity": 1, "gift": True}]},
        {"email": "ana@example.com", "items": [{"product_id": 1, "quantity": 1}], "coupon": "FREE"},
        {"email": " ana@example.com", "items": [{"product_id": 1, "quantity": 1}]},
        {"email": "ana@example.com\n", "items": [{"product_id": 1, "quantity": 1}]},
        {"email": "a\x1f@example.com", "items": [{"product_id": 1, "quantity": 1}]},
        {"email": "a" * 250 + "@b.co", "items": [{"product_id": 1, "quantity": 1}]},
    ],
)
def test_invalid_order_is_400(http, base_url, repo, body):
    before = repo.get_product(1)["stock"]
    assert_error(http.post(f"{base_url}/api/orders", json=body), 400, "invalid_request")
    assert repo.get_product(1)["stock"] == before


@pytest.mark.parametrize("body", ['["not", "an", "object"]', "null", '"ana@example.com"', "42", ""])
def test_an_order_that_is_not_a_json_object_is_400(http, base_url, body):
    response = http.post(f"{base_url}/api/orders", data=body, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "invalid_json")


def test_an_invalid_email_gets_the_same_sentence_as_on_the_checkout_page(http, base_url):
    response = order(http, base_url, [{"product_id": 1, "quantity": 1}], email="ana@example")
    assert assert_error(response, 400, "invalid_request")["message"] == EMAIL_MESSAGE


def test_malformed_json_is_400(http, base_url):
    response = http.post(f"{base_url}/api/orders", data="{not json", headers={"Content-Type": "application/json"})
    assert_error(response, 400, "invalid_json")


def test_wrong_content_type_is_415(http, base_url):
    response = http.post(f"{base_url}/api/orders", data="email=a@b.co", headers={"Content-Type": "text/plain"})
    assert_error(response, 415, "unsupported_media_type")


def test_oversized_body_is_413(http, base_url):
    items = [{"product_id": 1, "quantity": 1, "padding": "x" * 1000} for _ in range(100)]
    assert_error(http.post(f"{base_url}/api/orders", json={"email": "a@b.co", "items": items}), 413, "too_large")


@pytest.mark.parametrize("key", ["x" * (MAX_IDEMPOTENCY_KEY + 1), "with space", "tab\tkey"])
def test_bad_idempotency_key_is_400(http, base_url, repo, key):
    before = repo.order_count()
    response = order(http, base_url, [{"product_id": 1, "quantity": 1}], key=key)
    assert_error(response, 400, "invalid_request")
    assert repo.order_count() == before


@pytest.mark.parametrize("order_id", ["999999999", "abc", "0"])
def test_unknown_order_is_404(http, base_url, order_id):
    assert_error(http.get(f"{base_url}/api/orders/{order_id}"), 404, "not_found")


def test_unknown_api_route_and_method(http, base_url):
    assert_error(http.get(f"{base_url}/api/nothing-here"), 404, "not_found")
    response = http.delete(f"{base_url}/api/products/1")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


# -- headers, health, documentation -----------------------------------------------------------


def test_served_by_and_server_timing(http, base_url, variant):
    response = http.get(f"{base_url}/api/products/1")
    nodes = response.headers["X-Served-By"].split(",")
    if variant == "monolith":
        assert nodes == ["monolith"]
    else:
        # api-N, in compose too (each replica learns its number from Docker's DNS)
        assert len(nodes) == 1 and re.fullmatch(r"api-(\d|standby)", nodes[0])
    assert re.search(r"\bdb;dur=\d+(\.\d+)?", response.headers["Server-Timing"])


def test_health_and_readiness(http, base_url, variant):
    alive = http.get(f"{base_url}/healthz")
    assert alive.status_code == 200 and alive.json()["status"] == "alive"
    ready = http.get(f"{base_url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["node"] == ("monolith" if variant == "monolith" else ready.headers["X-Served-By"].split(",")[0])
    assert http.get(f"{base_url}/api/readyz").json() == {"status": "ready"}


def test_openapi_document_states_the_limits_the_api_applies(http, base_url):
    document = http.get(f"{base_url}/api/openapi.json").json()
    assert document == json.loads(json.dumps(openapi_document()))
    assert document["openapi"] == "3.1.0"
    products = {p["name"]: p["schema"] for p in document["paths"]["/api/products"]["get"]["parameters"]}
    assert products["page"]["maximum"] == MAX_PAGE and products["per_page"]["maximum"] == MAX_PER_PAGE
    assert products["q"]["maxLength"] == MAX_QUERY
    order_request = document["components"]["schemas"]["OrderRequest"]
    assert order_request["properties"]["items"]["maxItems"] == MAX_ORDER_LINES
    assert order_request["properties"]["items"]["items"]["properties"]["quantity"]["maximum"] == MAX_QUANTITY
    statuses = set(document["paths"]["/api/orders"]["post"]["responses"])
    assert statuses == {"201", "400", "405", "409", "413", "414", "415", "422", "431", "502", "503", "504"}


def test_recommendations_are_similar_products_of_the_category(http, base_url):
    product = PRODUCTS[99]
    response = http.get(f"{base_url}/api/products/{product['id']}/recommendations", params={"limit": 4})
    assert response.status_code == 200
    body = response.json()
    assert body["product_id"] == product["id"] and len(body["items"]) == 4
    slug = CATEGORIES[product["category_id"] - 1]["slug"]
    assert all(item["category"] == slug and item["id"] != product["id"] for item in body["items"])
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_recommendations_errors(http, base_url):
    assert_error(http.get(f"{base_url}/api/products/999999/recommendations"), 404, "not_found")
    assert_error(http.get(f"{base_url}/api/products/1/recommendations", params={"limit": "0"}), 400)
    assert_error(http.get(f"{base_url}/api/products/1/recommendations", params={"limit": "lots"}), 400)
