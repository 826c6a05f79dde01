"""The repository (all of the shop's SQL) against the monolith's real MariaDB, without HTTP."""

from __future__ import annotations

import uuid

import pytest

from shop import seed
from shop.db import Database
from shop.errors import Conflict, InvalidRequest, NotFound, OutOfStock, UnknownProduct
from shop.repository import Repository
from shop.validation import MAX_ORDER_ID, MAX_ORDER_LINES, MAX_PRODUCT_ID, MAX_QUANTITY

CATEGORIES, PRODUCTS = seed.generate()


@pytest.fixture
def repository(engine, monolith_url):
    database = Database(engine.db_settings("monolith"))
    yield Repository(database)
    database.close()


def test_filters_combine(repository):
    category = CATEGORIES[5]
    word = PRODUCTS[next(i for i, p in enumerate(PRODUCTS) if p["category_id"] == category["id"])]["name"].split()[-1]
    expected = [
        p["id"]
        for p in PRODUCTS
        if p["category_id"] == category["id"] and word.lower() in (p["name"] + " " + p["description"]).lower()
    ]
    result = repository.list_products(q=word, category=category["slug"], per_page=100)
    assert result["total"] == len(expected) and [i["id"] for i in result["items"]] == expected[:100]
    assert repository.list_products(ids=[3, 1, 2, 999999])["total"] == 3
    assert repository.list_products(ids=[])["items"] == []
    assert repository.list_products(category="no-such-category")["total"] == 0


def test_like_wildcards_are_literal(repository):
    assert repository.list_products(q="%")["total"] == 0
    assert repository.list_products(q="_")["total"] == 0


def test_place_order_is_all_or_nothing(repository):
    first, second = PRODUCTS[500], PRODUCTS[501]
    repository.restock(product_id=first["id"], stock=5)
    repository.restock(product_id=second["id"], stock=1)
    with pytest.raises(OutOfStock):
        repository.place_order(
            email="a@example.com",
            items=[{"product_id": first["id"], "quantity": 2}, {"product_id": second["id"], "quantity": 2}],
        )
    assert repository.get_product(first["id"])["stock"] == 5
    with pytest.raises(UnknownProduct):
        repository.place_order(email="a@example.com", items=[{"product_id": 999_999, "quantity": 1}])
    with pytest.raises(InvalidRequest):
        repository.place_order(email="not-mail", items=[{"product_id": first["id"], "quantity": 1}])


def test_duplicate_lines_are_merged(repository):
    product = PRODUCTS[502]
    repository.restock(product_id=product["id"], stock=10)
    order = repository.place_order(
        email="m@example.com",
        items=[{"product_id": product["id"], "quantity": 2}, {"product_id": product["id"], "quantity": 3}],
    )
    assert [(i["product_id"], i["quantity"]) for i in order["items"]] == [(product["id"], 5)]
    assert repository.get_product(product["id"])["stock"] == 5


def test_idempotency_key(repository):
    product = PRODUCTS[503]
    repository.restock(product_id=product["id"], stock=10)
    key = str(uuid.uuid4())
    items = [{"product_id": product["id"], "quantity": 1}]
    first = repository.place_order(email="k@example.com", items=items, idempotency_key=key)
    again = repository.place_order(email="k@example.com", items=items, idempotency_key=key)
    assert (first["replayed"], again["replayed"]) == (False, True) and again["id"] == first["id"]
    with pytest.raises(Conflict):
        repository.place_order(email="other@example.com", items=items, idempotency_key=key)
    assert repository.get_product(product["id"])["stock"] == 9


def test_not_found(repository):
    with pytest.raises(NotFound):
        repository.get_product(0)
    with pytest.raises(NotFound):
        repository.get_product(MAX_PRODUCT_ID + 1)  # larger than the column can hold: not even asked
    with pytest.raises(NotFound):
        repository.get_order(10**15)
    with pytest.raises(NotFound):
        repository.get_order(MAX_ORDER_ID + 1)
    with pytest.raises(NotFound):
        repository.restock(product_id=999_999, stock=1)
    assert repository.list_products(ids=[MAX_PRODUCT_ID + 1])["total"] == 0


def test_the_repository_applies_the_order_rules_itself(repository):
    """The pages of the monolith call the repository directly: it is the last line of defence."""
    product = PRODUCTS[504]
    repository.restock(product_id=product["id"], stock=500)
    orders_before = repository.order_count()
    for items in (
        [{"product_id": product["id"], "quantity": MAX_QUANTITY + 1}],
        [{"product_id": product["id"], "quantity": MAX_QUANTITY}, {"product_id": product["id"], "quantity": 1}],
        [{"product_id": product["id"], "quantity": 1}] * (MAX_ORDER_LINES + 1),
    ):
        with pytest.raises(InvalidRequest):
            repository.place_order(email="r@example.com", items=items)
    with pytest.raises(InvalidRequest):
        repository.place_order(
            email="r@example.com", items=[{"product_id": product["id"], "quantity": 1}], idempotency_key="has space"
        )
    assert repository.order_count() == orders_before
    assert repository.get_product(product["id"])["stock"] == 500
    placed = repository.place_order(
        email="r@example.com", items=[{"product_id": product["id"], "quantity": MAX_QUANTITY}]
    )
    assert placed["items"][0]["quantity"] == MAX_QUANTITY
