"""The seed data is deterministic, realistic enough to exercise the pages, and consistent."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from shop import seed
from shop.validation import MAX_CATEGORY


@pytest.fixture(scope="module")
def seeded() -> tuple[list[dict], list[dict]]:
    return seed.generate()


def fingerprint(data: object) -> str:
    return hashlib.sha256(json.dumps(data, default=str, sort_keys=True).encode()).hexdigest()


def test_two_calls_give_identical_data(seeded):
    assert seed.generate() == seeded
    assert fingerprint(seed.generate()) == fingerprint(seeded)


def test_the_data_matches_its_recorded_fingerprint(seeded):
    """Same data on every machine and Python version; after changing the seed on purpose, update this."""
    assert fingerprint(seeded) == "30ecebb97275b9e570fdd1becdff7683b437a567f4cafc93627644f12543fe41"


def test_counts_match_the_summary(seeded):
    categories, products = seeded
    assert len(categories) == seed.SEED_SUMMARY["categories"] == 12
    assert len(products) == seed.SEED_SUMMARY["products"] == 5000
    assert [c["id"] for c in categories] == list(range(1, 13))
    assert [p["id"] for p in products] == list(range(1, 5001))


def test_every_category_has_a_unique_slug_and_products(seeded):
    categories, products = seeded
    slugs = [c["slug"] for c in categories]
    assert len(set(slugs)) == len(slugs)
    assert all(slug and slug == slug.lower() and " " not in slug for slug in slugs)
    assert max(len(slug) for slug in slugs) <= MAX_CATEGORY  # the API refuses longer category filters
    used = {p["category_id"] for p in products}
    assert used == {c["id"] for c in categories}


def test_every_product_belongs_to_an_existing_category(seeded):
    categories, products = seeded
    ids = {c["id"] for c in categories}
    assert all(p["category_id"] in ids for p in products)


def test_prices_are_two_place_decimals_in_their_category_range(seeded):
    _, products = seeded
    for product in products:
        price = product["price"]
        assert isinstance(price, Decimal)
        assert price.as_tuple().exponent == -2
        low, high = seed.CATEGORY_VOCABULARY[product["category_id"] - 1]["prices"]
        assert Decimal(low) <= price < Decimal(high + 1), product


def test_about_one_product_in_ten_is_low_on_stock(seeded):
    _, products = seeded
    stocks = [p["stock"] for p in products]
    assert all(isinstance(s, int) and s >= 0 for s in stocks)
    low = [s for s in stocks if s <= seed.LOW_STOCK_MAX]
    assert 0.08 <= len(low) / len(stocks) <= 0.12
    assert 0 in low
    assert all(10 <= s <= 500 for s in stocks if s > seed.LOW_STOCK_MAX)


def test_names_are_unique_and_descriptions_have_two_to_four_sentences(seeded):
    _, products = seeded
    names = [p["name"] for p in products]
    assert len(set(names)) == len(names)
    for product in products:
        words = product["name"].split()
        assert len(set(words)) == len(words), product["name"]
        sentences = product["description"].count(". ") + 1
        assert 2 <= sentences <= 4, product["description"]
        assert len(product["name"]) <= 200


def test_descriptions_share_vocabulary_within_a_category(seeded):
    """The "similar products" feature needs words shared inside a category, not across."""
    _, products = seeded

    def words(category_id: int) -> set[str]:
        return {
            word
            for p in products
            if p["category_id"] == category_id
            for word in p["description"].lower().replace(".", " ").replace(",", " ").split()
            if len(word) > 5
        }

    kitchen, electronics = words(1), words(4)
    assert len(kitchen & electronics) < 0.2 * min(len(kitchen), len(electronics))


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_another_process_generates_the_same_data(seeded, hash_seed):
    """String hashing is randomised per process: no set or dict order may leak into the data."""
    script = (
        "import hashlib, json; from shop import seed; "
        "print(hashlib.sha256(json.dumps(seed.generate(), default=str, sort_keys=True).encode()).hexdigest())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == fingerprint(seeded)
