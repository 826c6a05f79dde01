"""The HTML pages, tried the way a browser uses them: real HTTP against a running variant.

``base_url`` (one per variant), ``http`` (a fresh ``requests.Session``, so a fresh cart) and
``repo`` (the variant's database, used only to set the stock of a few products) come from
tests/conftest.py. Nothing is mocked: the pages read the seeded MariaDB, directly (monolith)
or through the API (distributed).
"""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
import requests
from markupsafe import escape

from shop import seed
from shop.validation import EMAIL_MESSAGE, MAX_EMAIL, MAX_PAGE, MAX_QUANTITY, MAX_QUERY

TIMEOUT = 15
CATEGORIES, PRODUCTS = seed.generate()
PRODUCTS_BY_ID = {p["id"]: p for p in PRODUCTS}
CATEGORY_BY_ID = {c["id"]: c for c in CATEGORIES}
# The products whose stock these tests set (see ``owned_stock``), picked apart from those
# other test modules use.
OWN = [p for p in PRODUCTS if p["id"] > 4000 and p["id"] % 7 == 5]
PLENTY, ALSO_PLENTY = [p for p in OWN if p["stock"] > seed.LOW_STOCK_MAX][:2]
SOLD_OUT = next(p for p in OWN if p["stock"] == 0)
LOW = next(p for p in OWN if 0 < p["stock"] <= seed.LOW_STOCK_MAX)
KITCHEN = next(c for c in CATEGORIES if c["slug"] == "kitchen")


@pytest.fixture(autouse=True)
def owned_stock(repo) -> None:
    """Give this module's products a known stock: other tests (and `reset`) change stock too."""
    for product, stock in [(PLENTY, 1000), (ALSO_PLENTY, 1000), (SOLD_OUT, 0), (LOW, 3)]:
        repo.restock(product_id=product["id"], stock=stock)


def escaped(text: str) -> str:
    """Text as the templates print it (Jinja's autoescape)."""
    return str(escape(text))


def get(http: requests.Session, base_url: str, path: str, **kwargs) -> requests.Response:
    return http.get(base_url + path, timeout=TIMEOUT, **kwargs)


def post(http: requests.Session, base_url: str, path: str, data: dict, **kwargs) -> requests.Response:
    return http.post(base_url + path, data=data, timeout=TIMEOUT, **kwargs)


def hidden_field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} field in the page"
    return html.unescape(match.group(1))


def element_text(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert match, f"no element with id={element_id}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def product_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="product-card" data-product-id="(\d+)"', page)]


def add_to_cart(http: requests.Session, base_url: str, product_id: int, quantity: int = 1) -> requests.Response:
    """What a shopper does: open the product page, then submit its add-to-cart form."""
    page = get(http, base_url, f"/products/{product_id}").text
    form = {"csrf_token": hidden_field(page, "csrf_token"), "product_id": product_id, "quantity": quantity}
    return post(http, base_url, "/cart/add", form)


def checkout_form(http: requests.Session, base_url: str, email: str = "ana@example.com") -> dict:
    page = get(http, base_url, "/checkout").text
    return {
        "csrf_token": hidden_field(page, "csrf_token"),
        "checkout_token": hidden_field(page, "checkout_token"),
        "email": email,
    }


def placed_order_id(response: requests.Response) -> int:
    assert response.status_code == 200, response.text[:500]
    match = re.search(r"/orders/(\d+)$", response.url)
    assert match, f"checkout ended on {response.url}, not on an order page"
    return int(match.group(1))


def assert_error_page(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text[:500]
    assert 'id="error"' in response.text
    assert element_text(response.text, "error-message")


@pytest.mark.parametrize(
    "path", ["/", "/?category=kitchen", "/search", "/search?q=bamboo", "/products/1", "/cart", "/checkout"]
)
def test_every_page_answers_with_the_layout_and_the_served_panel(http, base_url, path):
    response = get(http, base_url, path)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "twinshop" in response.text
    assert 'id="served-panel"' in response.text
    assert "How this page was served" in response.text


def test_the_stylesheet_is_served(http, base_url):
    response = get(http, base_url, "/static/style.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")


def test_the_panel_names_the_nodes_of_the_x_served_by_header(http, base_url, variant):
    for path in ["/", "/products/2", "/cart", "/products/999999999"]:
        response = get(http, base_url, path)
        header_nodes = [node.strip() for node in response.headers["X-Served-By"].split(",")]
        panel_nodes = [node.strip() for node in element_text(response.text, "served-by").split(",")]
        assert panel_nodes == header_nodes, path
        assert element_text(response.text, "served-variant") == variant
        assert re.search(r'id="served-panel" data-variant="([a-z]+)"', response.text).group(1) == variant
        assert 'data-name="db"' in response.text and 'data-name="app"' in response.text
        if variant == "monolith":
            assert header_nodes == ["monolith"], path
        else:
            # web-N / api-N on the local engine; in compose a replica is named after its container (12 hex digits)
            assert re.fullmatch(r"web-(\d|[0-9a-f]{12})", header_nodes[0]), (path, header_nodes)
            assert all(re.fullmatch(r"api-(\d|standby|[0-9a-f]{12})", node) for node in header_nodes[1:]), (
                path,
                header_nodes,
            )
            assert header_nodes[1:] or path == "/cart", (path, header_nodes)  # an empty cart needs no API call


def test_the_catalogue_lists_every_category_with_its_product_count(http, base_url):
    page = get(http, base_url, "/").text
    for category in CATEGORIES:
        count = sum(1 for p in PRODUCTS if p["category_id"] == category["id"])
        assert f'href="/?category={category["slug"]}"' in page
        assert re.search(rf'>{re.escape(escaped(category["name"]))}</a>\s*<span class="count">{count}<', page)
    assert f"{len(PRODUCTS)} products" in page


def test_the_category_filter_shows_only_that_category(http, base_url):
    response = get(http, base_url, "/?category=kitchen&page=2")
    assert response.status_code == 200
    ids = product_ids(response.text)
    expected = [p["id"] for p in PRODUCTS if p["category_id"] == KITCHEN["id"]][20:40]
    assert ids == expected
    assert f"<h1>{escaped(KITCHEN['name'])}</h1>" in response.text
    pages = -(-sum(1 for p in PRODUCTS if p["category_id"] == KITCHEN["id"]) // 20)
    assert f"Page 2 of {pages}" in response.text
    assert 'href="/?page=3&amp;category=kitchen"' in response.text


def test_an_unknown_category_is_a_404_page(http, base_url):
    assert_error_page(get(http, base_url, "/?category=no-such-thing"), 404)


def test_pagination_walks_the_catalogue_in_id_order(http, base_url):
    last = -(-len(PRODUCTS) // 20)
    first = get(http, base_url, "/").text
    assert product_ids(first) == list(range(1, 21))
    assert f"Page 1 of {last}" in first and 'rel="next" href="/?page=2"' in first
    second = get(http, base_url, "/?page=2").text
    assert product_ids(second) == list(range(21, 41))
    assert 'rel="prev" href="/?page=1"' in second
    final = get(http, base_url, f"/?page={last}").text
    assert f"Page {last} of {last}" in final and 'rel="next"' not in final
    assert_error_page(get(http, base_url, f"/?page={last + 1}"), 404)


@pytest.mark.parametrize(
    "page", ["abc", "0", "-1", "1.5", " 2", str(MAX_PAGE + 1), "9" * 5000, "\x00", "²", "<script>"]
)
def test_a_bad_page_number_is_a_400_page_not_a_crash(http, base_url, page):
    for path, params in [("/", {}), ("/?category=kitchen", {}), ("/search", {"q": "bamboo"})]:
        response = get(http, base_url, path, params={**params, "page": page})
        assert_error_page(response, 400)
        assert element_text(response.text, "error-message") == f"'page' must be a whole number from 1 to {MAX_PAGE}."
        assert "<script>" not in response.text


def test_an_empty_page_number_means_the_first_page(http, base_url):
    assert product_ids(get(http, base_url, "/?page=").text) == list(range(1, 21))


def test_search_finds_a_seeded_product_by_its_name(http, base_url):
    wanted = PRODUCTS_BY_ID[1234]
    response = get(http, base_url, "/search", params={"q": wanted["name"]})
    assert response.status_code == 200
    assert wanted["id"] in product_ids(response.text)
    assert escaped(wanted["name"]) in response.text


def test_search_pages_through_many_results(http, base_url):
    word = "Nordvik"
    matching = [p["id"] for p in PRODUCTS if word.lower() in (p["name"] + " " + p["description"]).lower()]
    assert len(matching) > 20
    first = get(http, base_url, "/search", params={"q": word}).text
    assert product_ids(first) == matching[:20]
    assert f"{len(matching)} results" in first
    second = get(http, base_url, "/search", params={"q": word, "page": 2}).text
    assert product_ids(second) == matching[20:40]


def test_an_empty_search_shows_the_form_and_no_results(http, base_url):
    for params in [{}, {"q": ""}, {"q": "   "}]:
        response = get(http, base_url, "/search", params=params)
        assert response.status_code == 200
        assert 'id="search-q"' in response.text
        assert product_ids(response.text) == []
        assert 'id="result-count"' not in response.text


@pytest.mark.parametrize(
    "query", ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "</title><script>x</script>"]
)
def test_search_terms_are_escaped_in_the_page(http, base_url, query):
    response = get(http, base_url, "/search", params={"q": query})
    assert response.status_code == 200
    assert "<script>" not in response.text
    assert "<img src=x" not in response.text
    assert escaped(query) in response.text


def test_a_very_long_search_is_refused_clearly(http, base_url):
    assert get(http, base_url, "/search", params={"q": "a" * MAX_QUERY}).status_code == 200
    response = get(http, base_url, "/search", params={"q": "a" * (MAX_QUERY + 1)})
    assert_error_page(response, 400)
    assert element_text(response.text, "error-message") == f"'q' may hold at most {MAX_QUERY} characters."


def test_the_forms_announce_the_limits_the_server_applies(http, base_url):
    add_to_cart(http, base_url, PLENTY["id"])
    cart = get(http, base_url, "/cart").text
    assert f'min="0" max="{MAX_QUANTITY}"' in cart
    assert f'maxlength="{MAX_QUERY}"' in get(http, base_url, "/search").text
    assert f'maxlength="{MAX_EMAIL}"' in get(http, base_url, "/checkout").text


def test_the_product_page_shows_the_product(http, base_url):
    product = PLENTY
    response = get(http, base_url, f"/products/{product['id']}")
    assert response.status_code == 200
    assert f'<h1 id="product-name">{escaped(product["name"])}</h1>' in response.text
    assert escaped(product["description"]) in response.text
    assert escaped(CATEGORY_BY_ID[product["category_id"]]["name"]) in response.text
    assert f"{product['price']:,.2f}" in response.text
    assert 'action="/cart/add"' in response.text and "<fieldset>" in response.text


def test_a_low_stock_product_says_how_many_are_left(http, base_url):
    page = get(http, base_url, f"/products/{LOW['id']}").text
    assert "Only 3 left" in page
    assert 'max="3"' in page


def test_a_sold_out_product_disables_the_form(http, base_url):
    page = get(http, base_url, f"/products/{SOLD_OUT['id']}").text
    assert "Out of stock" in page
    assert "<fieldset disabled>" in page


@pytest.mark.parametrize("path", ["/products/999999", "/products/0", "/products/abc", "/products/1.5", "/orders/abc"])
def test_an_unknown_or_malformed_id_is_a_404_page(http, base_url, path):
    assert_error_page(get(http, base_url, path), 404)


def test_adding_to_the_cart_redirects_to_the_cart_with_a_message(http, base_url):
    response = add_to_cart(http, base_url, PLENTY["id"], quantity=2)
    assert response.history and response.history[0].status_code == 303
    assert response.url == base_url + "/cart"
    assert f"Added to your cart: {escaped(PLENTY['name'])} (quantity 2)." in response.text
    assert element_text(response.text, "cart-count") == "2"
    assert element_text(response.text, "cart-total") == f"${PLENTY['price'] * 2:,.2f}"


def test_the_cart_updates_quantities_and_removes_lines(http, base_url):
    add_to_cart(http, base_url, PLENTY["id"])
    page = add_to_cart(http, base_url, ALSO_PLENTY["id"]).text
    csrf = hidden_field(page, "csrf_token")

    page = post(http, base_url, "/cart/update", {"csrf_token": csrf, "product_id": PLENTY["id"], "quantity": 3}).text
    assert element_text(page, "cart-count") == "4"
    total = PLENTY["price"] * 3 + ALSO_PLENTY["price"]
    assert element_text(page, "cart-total") == f"${total:,.2f}"

    page = post(http, base_url, "/cart/update", {"csrf_token": csrf, "product_id": PLENTY["id"], "quantity": 0}).text
    assert element_text(page, "cart-count") == "1"
    assert escaped(PLENTY["name"]) not in page.split("<main", 1)[1]

    page = post(http, base_url, "/cart/clear", {"csrf_token": csrf}).text
    assert element_text(page, "cart-count") == "0"
    assert "Your cart is empty" in page


def test_bad_cart_input_is_refused_and_loses_nothing(http, base_url):
    page = add_to_cart(http, base_url, PLENTY["id"]).text
    csrf = hidden_field(page, "csrf_token")
    for form in [
        {"product_id": "abc", "quantity": 1},
        {"product_id": PLENTY["id"], "quantity": -1},
        {"product_id": PLENTY["id"], "quantity": MAX_QUANTITY + 1},
        {"product_id": PLENTY["id"], "quantity": 100000},
    ]:
        response = post(http, base_url, "/cart/update", {"csrf_token": csrf, **form})
        assert_error_page(response, 400)
    message = element_text(response.text, "error-message")
    assert message == f"'quantity' must be a whole number from 0 to {MAX_QUANTITY}."
    assert_error_page(post(http, base_url, "/cart/add", {"csrf_token": csrf, "product_id": 999999}), 404)
    assert element_text(get(http, base_url, "/cart").text, "cart-count") == "1"


def test_checkout_places_an_order_and_empties_the_cart(http, base_url):
    add_to_cart(http, base_url, PLENTY["id"], quantity=2)
    add_to_cart(http, base_url, ALSO_PLENTY["id"])
    response = post(http, base_url, "/checkout", checkout_form(http, base_url))
    assert response.history[0].status_code == 303
    order_id = placed_order_id(response)
    assert f"Order #{order_id}" in response.text
    assert element_text(response.text, "cart-count") == "0"

    # Anyone with the address sees the same order, with its lines and total (any replica).
    page = requests.get(f"{base_url}/orders/{order_id}", timeout=TIMEOUT).text
    assert f"Order #{order_id}" in page
    assert escaped(PLENTY["name"]) in page and escaped(ALSO_PLENTY["name"]) in page
    assert f"${PLENTY['price'] * 2 + ALSO_PLENTY['price']:,.2f}" in page
    assert element_text(page, "order-status")


def test_submitting_the_same_checkout_twice_places_one_order(http, base_url):
    add_to_cart(http, base_url, PLENTY["id"])
    form = checkout_form(http, base_url)
    cookies_before = http.cookies.copy()  # what a browser sends on a double click
    first = placed_order_id(post(http, base_url, "/checkout", form))

    again = placed_order_id(post(http, base_url, "/checkout", form))
    assert again == first

    with requests.Session() as second_click:
        second_click.cookies.update(cookies_before)
        assert placed_order_id(post(second_click, base_url, "/checkout", form)) == first


def test_checkout_with_an_empty_cart_places_no_order(http, base_url):
    page = get(http, base_url, "/checkout").text
    assert "Your cart is empty" in page
    assert 'name="checkout_token"' not in page
    csrf = hidden_field(get(http, base_url, f"/products/{PLENTY['id']}").text, "csrf_token")
    form = {"csrf_token": csrf, "checkout_token": "t" * 32, "email": "ana@example.com"}
    response = post(http, base_url, "/checkout", form)
    assert response.status_code == 400
    assert "Your cart is empty" in response.text
    assert "/orders/" not in response.url


@pytest.mark.parametrize("email", ["not an email", "ana@example", "a" * MAX_EMAIL + "@example.com"])
def test_an_invalid_email_is_refused_with_the_apis_sentence_and_keeps_the_cart(http, base_url, repo, email):
    add_to_cart(http, base_url, PLENTY["id"])
    orders_before = repo.order_count()
    response = post(http, base_url, "/checkout", checkout_form(http, base_url, email=email))
    assert response.status_code == 400
    assert element_text(response.text, "checkout-error").startswith(EMAIL_MESSAGE)
    assert repo.order_count() == orders_before
    assert element_text(get(http, base_url, "/cart").text, "cart-count") == "1"


def test_a_cart_line_is_capped_at_the_order_quantity_limit(http, base_url):
    add_to_cart(http, base_url, PLENTY["id"], quantity=MAX_QUANTITY)
    page = add_to_cart(http, base_url, PLENTY["id"], quantity=5).text
    assert element_text(page, "cart-count") == str(MAX_QUANTITY)
    response = add_to_cart(http, base_url, PLENTY["id"], quantity=MAX_QUANTITY + 1)
    assert_error_page(response, 400)
    message = element_text(response.text, "error-message")
    assert message == f"'quantity' must be a whole number from 1 to {MAX_QUANTITY}."


def test_ordering_a_sold_out_product_is_a_409_and_keeps_the_cart(http, base_url):
    add_to_cart(http, base_url, PLENTY["id"])
    add_to_cart(http, base_url, SOLD_OUT["id"])
    response = post(http, base_url, "/checkout", checkout_form(http, base_url))
    assert response.status_code == 409
    assert element_text(response.text, "checkout-error")
    assert "Nothing was ordered" in response.text
    cart = get(http, base_url, "/cart").text
    assert element_text(cart, "cart-count") == "2"
    assert escaped(SOLD_OUT["name"]) in cart


@pytest.mark.parametrize("path", ["/cart/add", "/cart/update", "/cart/clear", "/checkout"])
def test_a_form_without_a_valid_csrf_token_is_a_400(http, base_url, path):
    add_to_cart(http, base_url, PLENTY["id"])  # the session now holds a real CSRF secret
    form = {"product_id": PLENTY["id"], "quantity": 1, "checkout_token": "t" * 32, "email": "ana@example.com"}
    for token in [None, "", "forged-token"]:
        data = form if token is None else {**form, "csrf_token": token}
        response = post(http, base_url, path, data, allow_redirects=False)
        assert_error_page(response, 400)
        assert "CSRF" in element_text(response.text, "error-message")
    assert element_text(get(http, base_url, "/cart").text, "cart-count") == "1"


def test_a_csrf_token_from_another_session_is_refused(http, base_url):
    with requests.Session() as other:
        token = hidden_field(get(other, base_url, f"/products/{PLENTY['id']}").text, "csrf_token")
    get(http, base_url, f"/products/{PLENTY['id']}")
    response = post(http, base_url, "/cart/add", {"csrf_token": token, "product_id": PLENTY["id"]})
    assert_error_page(response, 400)


def test_the_json_api_needs_no_csrf_token(http, base_url):
    body = {"email": "api@example.com", "items": [{"product_id": PLENTY["id"], "quantity": 1}]}
    response = http.post(f"{base_url}/api/orders", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    assert Decimal(response.json()["total"]) == PLENTY["price"]


def test_order_page_hides_the_buyers_email(http, base_url):
    body = {"email": "carmen.lopez@example.com", "items": [{"product_id": PLENTY["id"], "quantity": 1}]}
    placed = http.post(f"{base_url}/api/orders", json=body)
    assert placed.status_code == 201, placed.text
    page = http.get(f"{base_url}/orders/{placed.json()['id']}")
    assert page.status_code == 200
    assert "carmen.lopez@example.com" not in page.text and "c***********@example.com" in page.text
