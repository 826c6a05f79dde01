"""Fuzz the API from its own published OpenAPI document, on both running variants (schemathesis).

Schemathesis reads /api/openapi.json from the variant under test and, for every operation,
sends requests the document says are valid and requests it says are invalid (its
"positive" and "negative" modes, plus the edge cases of each constraint). Every answer must be
a documented status with the documented body and headers; a valid request must be accepted;
an invalid one must be refused; nothing may be a 500. A constraint the code applies but the
document does not state - or the other way round - fails this test.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from shop.openapi import openapi_document
from shop.validation import MAX_QUANTITY

# Bounded: about 20 s for both variants on two cores (7 operations and the document check, on each variant).
EXAMPLES_PER_OPERATION = 25

CONFIG = schemathesis.Config.from_str(
    """
[generation]
mode = "all"

[phases.stateful]
enabled = false

[checks]
# An invalid request may also be refused for its size (a long query string: 414, documented).
negative_data_rejection.expected-statuses = [400, 404, 405, 406, 409, 413, 414, 415, 422, 431]

[[operations]]
include-name = "POST /api/orders"
# A valid order may name a product that does not exist (422, documented) or one without
# enough stock left (409, documented): accepting the data is not the same as having it.
checks.positive_data_acceptance.expected-statuses = ["2XX", 409, 422]
"""
)


# The document the code generates; test_the_published_document_is_the_one_fuzzed checks that
# both variants publish exactly this one. (Loading it here, not from a running variant, lets
# pytest list one test per operation before anything is started.)
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)


@schema.hook
def filter_case(context, case) -> bool:
    """Valid orders (positive mode) keep the one rule JSON Schema cannot state, as the document says
    in words: lines of the same product are merged, and together hold at most MAX_QUANTITY units.
    (Negative cases are left alone: breaking it there must be, and is, refused.)"""
    if case.operation.label != "POST /api/orders" or case.meta.generation.mode != GenerationMode.POSITIVE:
        return True
    units: Counter[float] = Counter()
    for item in case.body["items"]:
        units[float(item["product_id"])] += item["quantity"]
    return max(units.values()) <= MAX_QUANTITY


@pytest.fixture(autouse=True)
def stock_as_found(repo):
    """The fuzzer's orders take stock, differently on each variant: give it back afterwards, so
    later tests (which compare the two variants) find the same catalogue on both."""
    before = repo.stock_levels()
    yield
    for product_id, stock in repo.stock_levels().items():
        if stock != before[product_id]:
            repo.restock(product_id=product_id, stock=before[product_id])


def test_the_published_document_is_the_one_fuzzed(http, base_url):
    response = http.get(f"{base_url}/api/openapi.json", timeout=15)
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(openapi_document()))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,  # no replay of earlier runs' examples from .hypothesis/: each run stands on its own
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_every_answer_is_documented(case, base_url, http):
    # Through the test's own session, closed at its end: no idle keep-alive connection is left
    # holding a local port the next variant's services may need.
    case.call_and_validate(base_url=base_url, session=http, timeout=15)
