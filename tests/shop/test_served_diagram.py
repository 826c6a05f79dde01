"""The "How this page was served" diagram in headless Chromium, on both variants, and its ``?explain=1`` JSON.

The diagram must be seen without scrolling, on a projector-sized window, and draw the real path:
in the distributed variant each call the web replica made to the API is a branch of its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import CHROMIUM_ARGS


def explain(http, base_url: str, path: str) -> dict:
    response = http.get(base_url + path, params={"explain": "1"}, timeout=15)
    assert response.headers["Content-Type"] == "application/json"
    data = response.json()
    # The headers of the contract stay as they are, and say the same as the JSON.
    assert response.headers["X-Served-By"] == ",".join(data["nodes"])
    assert "db;dur=" in response.headers["Server-Timing"]
    return data


def test_explain_returns_the_path_as_json(http, base_url, variant):
    data = explain(http, base_url, "/")
    assert data["variant"] == variant
    assert set(data["timings"]) >= {"db", "app"}
    if variant == "monolith":
        assert data["node"] == "monolith" and data["nodes"] == ["monolith"]
        assert data["calls"] == [] and data["via_lb"] is False
        return
    assert data["via_lb"] is True and data["node"].startswith("web-")
    # The catalogue asks the API twice (categories, then products): two calls, each with its own answer.
    assert [call["path"].split("?")[0] for call in data["calls"]] == ["/api/categories", "/api/products"]
    for call in data["calls"]:
        assert call["status"] == 200 and len(call["nodes"]) == 1 and call["nodes"][0].startswith("api-")
        assert call["ms"] >= call["timings"]["app"] >= call["timings"]["db"] >= 0  # the wait includes the API's time
    assert data["nodes"] == [data["node"], *dict.fromkeys(call["nodes"][0] for call in data["calls"])]


def test_explain_keeps_an_error_pages_status(http, base_url):
    response = http.get(base_url + "/products/999999999", params={"explain": "1"}, timeout=15)
    assert response.status_code == 404 and response.json()["nodes"]


def test_explain_leaves_the_json_api_alone(http, base_url):
    response = http.get(base_url + "/api/products/1", params={"explain": "1"}, timeout=15)
    assert response.status_code == 200 and response.json()["id"] == 1


@pytest.fixture(scope="module")
def chromium():
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_the_diagram_is_at_the_top_and_draws_each_api_call_as_a_branch(chromium, base_url, variant):
    page = chromium.new_page(viewport={"width": 1280, "height": 720})  # a projector
    try:
        page.goto(base_url + "/")
        diagram = page.locator("#served-diagram")
        assert diagram.is_visible()
        box = diagram.bounding_box()
        assert box["y"] + box["height"] <= 720, box  # above the fold, without scrolling
        assert page.locator("#served-diagram .hop-name").first.inner_text() == "Browser"
        served_by = page.inner_text("#served-by").split(",")
        if variant == "monolith":
            assert page.locator("#served-diagram .calls").count() == 0
            assert page.inner_text("#served-diagram .box-name") == "monolith"
            assert page.locator("#served-diagram .box .hop-name").all_inner_texts() == ["gunicorn", "MariaDB"]
        else:
            top = page.locator("#served-diagram > .hops > .hop .hop-name").all_inner_texts()
            assert top == ["Browser", "HAProxy", served_by[0]]
            calls = page.locator("#served-diagram .call")
            assert calls.count() == 2  # two API calls: two branches, not a chain
            for i in range(2):
                hops = calls.nth(i).locator(".hop-name").all_inner_texts()
                assert hops[0] == "HAProxy" and hops[1].startswith("api-") and hops[2] == "MariaDB", hops
                assert hops[1] in served_by
        # A visible button folds the diagram away, and opens it again.
        page.click("#served-title")
        assert not diagram.is_visible()
        page.click("#served-title")
        assert diagram.is_visible()
    finally:
        page.close()


def test_a_product_page_of_the_distributed_variant_has_one_branch(chromium, distributed_url):
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    try:
        page.goto(distributed_url + "/products/42")
        assert page.locator("#served-diagram .call").count() == 1
        assert "GET /api/products/42" in page.inner_text("#served-diagram .call")
    finally:
        page.close()
