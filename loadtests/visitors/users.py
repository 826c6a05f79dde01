"""The simulated visitors of the shop: browsers, searchers, shoppers and API clients.

Every user draws its choices (which task, which product, how long to think) from its own
random generator, seeded from a fixed base seed, its class and its number. So user #3 of
each class makes the same sequence of requests against the monolith and the distributed
variant. (Locust's default task picker uses the global ``random`` shared by every user, which
would make each user's sequence depend on timing; that is why the tasks live in a
:class:`SeededTasks` set.)

Each request checks its answer with ``catch_response``: a product page without the
product's name, a form without its tokens or an order page without "Order #<id>" is a
failure, whatever the status code. An out-of-stock order (409) is an expected outcome of a
shop under load, not an error. URLs with ids are grouped with ``name=`` (``/products/[id]``).
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict

from locust import FastHttpUser, TaskSet, tag, task
from locust.env import Environment

from loadtests.scenarios import DEFAULT_SEED, THINK_TIME_S
from loadtests.visitors import checks
from loadtests.visitors.catalogue import API_PER_PAGE, Catalogue, catalogue_for

log = logging.getLogger(__name__)



# -- seeded randomness -------------------------------------------------------------------

_user_numbers: dict[str, itertools.count] = defaultdict(itertools.count)
run_nonce = "0"


def base_seed(environment: Environment) -> int:
    """--seed (or TWINSHOP_SEED, which Locust's parser reads for it); the default without a parser."""
    return int(getattr(environment.parsed_options, "seed", None) or DEFAULT_SEED)


def new_run() -> None:
    """Start numbering users from 0 again and pick a fresh prefix for idempotency keys."""
    global run_nonce
    _user_numbers.clear()
    run_nonce = f"{int(time.time()):x}{os.getpid():x}"


def worker_index(environment: Environment) -> int:
    return int(getattr(environment.runner, "worker_index", 0) or 0)


class SeededTasks(TaskSet):
    """Picks the next (weighted) task with the user's own seeded generator."""

    def get_next_task(self):
        return self.user.rng.choice(self.tasks)


class ShopUser(FastHttpUser):
    """A visitor with its own seeded generator and the shop's catalogue."""

    abstract = True
    network_timeout = 30.0
    connection_timeout = 10.0
    default_headers = {"User-Agent": "twinshop-loadtest"}

    def __init__(self, environment: Environment):
        super().__init__(environment)
        kind = type(self).__name__
        self.number = next(_user_numbers[kind])
        self.rng = random.Random(f"{base_seed(environment)}:{kind}:{worker_index(environment)}:{self.number}")
        self.label = f"{kind}-{worker_index(environment)}-{self.number}"
        self.email = f"{self.label.lower()}@loadtest.example"
        self.catalogue: Catalogue | None = None

    def on_start(self) -> None:
        self.catalogue = catalogue_for(self.host)

    def context(self) -> dict:
        """Tags each request with this user, so the raw CSV shows every user's own sequence."""
        return {"user": self.label}

    def wait_time(self) -> float:
        return self.rng.uniform(*THINK_TIME_S)

    # -- choices ---------------------------------------------------------------------------

    def any_product(self) -> int:
        return self.rng.choice(self.catalogue.ids)

    def product_in_stock(self) -> int:
        return self.rng.choice(self.catalogue.in_stock or self.catalogue.ids)

    def idempotency_key(self) -> str:
        return f"lt-{run_nonce}-{uuid.UUID(int=self.rng.getrandbits(128))}"

    # -- requests with checks ----------------------------------------------------------------

    def view_product(self, product_id: int) -> str | None:
        """GET a product page; it must show the product's name in its <h1>. Returns the body."""
        name = self.catalogue.names[product_id]
        with self.client.get(f"/products/{product_id}", name="/products/[id]", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
                return None
            body = resp.text or ""
            heading = checks.h1_text(body)
            if heading is None or name not in heading:
                resp.failure(f"product {product_id}: the <h1> does not show {name!r}")
                return None
            return body

    def view_listing(self, url: str, name: str, *, allowed: set[int] | None = None) -> list[int]:
        """GET a catalogue or search page: it must link products, show the first one's name and,
        given ``allowed``, link only those products. Returns the linked ids."""
        with self.client.get(url, name=name, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
                return []
            body = resp.text or ""
            ids = checks.linked_product_ids(body)
            if not ids:
                resp.failure("no product links on the page")
                return []
            first = self.catalogue.names.get(ids[0])
            if first is None or not checks.shows_text(body, first):
                resp.failure(f"the page links product {ids[0]} but does not show its name {first!r}")
                return []
            strangers = [i for i in ids if allowed is not None and i not in allowed]
            if strangers:
                resp.failure(f"the page lists products it should not: {strangers[:5]}")
                return []
            return ids


class BrowserTasks(SeededTasks):
    @tag("html", "read", "browse")
    @task(2)
    def home(self) -> None:
        self.user.view_listing("/", "/")

    @tag("html", "read", "browse")
    @task(3)
    def catalogue_page(self) -> None:
        page = self.user.rng.randint(1, self.user.catalogue.pages())
        self.user.view_listing(f"/?page={page}", "/?page=[n]")

    @tag("html", "read", "browse")
    @task(3)
    def category_page(self) -> None:
        catalogue = self.user.catalogue
        slug = self.user.rng.choice(catalogue.slugs)
        page = self.user.rng.randint(1, catalogue.pages(slug))
        self.user.view_listing(
            f"/?category={slug}&page={page}", "/?category=[slug]", allowed=catalogue.category_sets[slug]
        )

    @tag("html", "read", "browse")
    @task(6)
    def product_page(self) -> None:
        self.user.view_product(self.user.any_product())

    @tag("html", "read", "browse")
    @task(2)
    def listing_then_product(self) -> None:
        """Open a catalogue page, then one of the products it links, as a person clicking would."""
        page = self.user.rng.randint(1, self.user.catalogue.pages())
        ids = self.user.view_listing(f"/?page={page}", "/?page=[n]")
        if ids:
            self.user.view_product(self.user.rng.choice(ids))


class Browser(ShopUser):
    """Looks around: the catalogue, its pages, categories and product pages."""

    weight = 5
    tasks = [BrowserTasks]


class SearcherTasks(SeededTasks):
    @tag("html", "read", "search")
    @task(3)
    def search_word(self) -> None:
        word = self.user.rng.choice(self.user.catalogue.words(self.user.any_product()))
        self.user.view_listing(f"/search?{urllib.parse.urlencode({'q': word})}", "/search?q=[word]")

    @tag("html", "read", "search")
    @task(2)
    def search_name(self) -> None:
        """Search a product's full name: that product must be among the results."""
        product_id = self.user.any_product()
        name = self.user.catalogue.names[product_id]
        url = f"/search?{urllib.parse.urlencode({'q': name})}"
        with self.client.get(url, name="/search?q=[name]", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
            elif not checks.shows_text(resp.text or "", name):
                resp.failure(f"searching {name!r} did not show that product")

    @tag("html", "read", "search")
    @task(2)
    def search_then_open(self) -> None:
        word = self.user.rng.choice(self.user.catalogue.words(self.user.any_product()))
        ids = self.user.view_listing(f"/search?{urllib.parse.urlencode({'q': word})}", "/search?q=[word]")
        known = [i for i in ids if i in self.user.catalogue.names]
        if known:
            self.user.view_product(self.user.rng.choice(known))


class Searcher(ShopUser):
    """Types words and product names into the search box, and opens a result."""

    weight = 2
    tasks = [SearcherTasks]


class ShopperTasks(SeededTasks):
    @tag("html", "read", "browse")
    @task(3)
    def look_at_product(self) -> None:
        self.user.view_product(self.user.product_in_stock())

    @tag("html", "write", "checkout")
    @task(1)
    def buy(self) -> None:
        """Product page -> add to cart (CSRF) -> cart -> checkout form -> place order -> order page."""
        user = self.user
        for _ in range(user.rng.randint(1, 2)):
            product_id = user.product_in_stock()
            body = user.view_product(product_id)
            if body is None or not user.add_to_cart(body, product_id, user.rng.randint(1, 2)):
                user.client.cookiejar.clear()
                return
        if not user.view_cart():
            return
        user.checkout()


class Shopper(ShopUser):
    """Buys: puts one or two products in the cart and checks out with the page's tokens."""

    weight = 2
    tasks = [ShopperTasks]

    def add_to_cart(self, product_page: str, product_id: int, quantity: int) -> bool:
        token = checks.hidden_field(product_page, "csrf_token")
        if not token:
            return False
        form = {"csrf_token": token, "product_id": str(product_id), "quantity": str(quantity)}
        with self.client.post(
            "/cart/add", data=form, name="/cart/add", allow_redirects=False, catch_response=True
        ) as resp:
            location = resp.headers.get("Location", "") if resp.headers else ""
            if resp.status_code != 303 or not location.rstrip("/").endswith("/cart"):
                resp.failure(f"expected 303 to /cart, got {resp.status_code} {location!r}")
                return False
        return True

    def view_cart(self) -> bool:
        with self.client.get("/cart", name="/cart", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
                return False
            if not checks.linked_product_ids(resp.text or ""):
                resp.failure("the cart shows no products after adding one")
                return False
        return True

    def checkout(self) -> None:
        with self.client.get("/checkout", name="/checkout", catch_response=True) as resp:
            body = resp.text or ""
            csrf = checks.hidden_field(body, "csrf_token")
            checkout_token = checks.hidden_field(body, "checkout_token")
            if resp.status_code != 200 or not csrf or not checkout_token:
                resp.failure(f"status {resp.status_code}; the form lacks csrf_token or checkout_token")
                self.client.cookiejar.clear()
                return
        form = {"csrf_token": csrf, "checkout_token": checkout_token, "email": self.email}
        with self.client.post(
            "/checkout", data=form, name="/checkout", allow_redirects=False, catch_response=True
        ) as resp:
            location = resp.headers.get("Location", "") if resp.headers else ""
            order_id = checks.order_id_from_location(location)
            if resp.status_code == 409:
                resp.success()  # out of stock: the shop said so, nothing was ordered
                self.client.cookiejar.clear()  # a new visitor with an empty cart next time
                return
            if resp.status_code != 303 or order_id is None:
                resp.failure(f"expected 303 to /orders/<id>, got {resp.status_code} {location!r}")
                self.client.cookiejar.clear()
                return
        with self.client.get(f"/orders/{order_id}", name="/orders/[id]", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
            elif f"Order #{order_id}" not in (resp.text or ""):
                resp.failure(f"the order page does not say 'Order #{order_id}'")


class ApiClientTasks(SeededTasks):
    @tag("api", "read")
    @task(4)
    def list_products(self) -> None:
        user = self.user
        page = user.rng.randint(1, user.catalogue.pages(per_page=API_PER_PAGE))
        url = f"/api/products?page={page}&per_page={API_PER_PAGE}"
        with user.client.get(url, name="/api/products?page=[n]", catch_response=True) as resp:
            body = user.json_or_fail(resp)
            if body is not None:
                if body.get("page") != page or body.get("per_page") != API_PER_PAGE or not body.get("items"):
                    resp.failure(f"page {page}: wrong page/per_page or no items")

    @tag("api", "read")
    @task(2)
    def products_in_category(self) -> None:
        user = self.user
        slug = user.rng.choice(user.catalogue.slugs)
        url = f"/api/products?category={slug}&per_page={API_PER_PAGE}"
        with user.client.get(url, name="/api/products?category=[slug]", catch_response=True) as resp:
            body = user.json_or_fail(resp)
            if body is not None:
                items = body.get("items") or []
                if not items or any(item.get("category") != slug for item in items):
                    resp.failure(f"category {slug}: no items, or items of another category")

    @tag("api", "read", "search")
    @task(2)
    def search(self) -> None:
        user = self.user
        word = user.rng.choice(user.catalogue.words(user.any_product()))
        url = f"/api/products?{urllib.parse.urlencode({'q': word, 'per_page': API_PER_PAGE})}"
        with user.client.get(url, name="/api/products?q=[word]", catch_response=True) as resp:
            body = user.json_or_fail(resp)
            if body is not None and not body.get("total"):
                resp.failure(f"searching {word!r} found nothing, though a product name contains it")

    @tag("api", "read")
    @task(4)
    def get_product(self) -> None:
        user = self.user
        product_id = user.any_product()
        with user.client.get(f"/api/products/{product_id}", name="/api/products/[id]", catch_response=True) as resp:
            body = user.json_or_fail(resp)
            if body is not None and (
                body.get("id") != product_id or body.get("name") != user.catalogue.names[product_id]
            ):
                resp.failure(f"product {product_id}: wrong id or name")

    @tag("api", "write", "checkout")
    @task(2)
    def place_order(self) -> None:
        self.user.place_order()

    @tag("api", "write", "checkout")
    @task(1)
    def replay_order(self) -> None:
        """Send the last order again with the same Idempotency-Key: the same order must come back."""
        self.user.replay_last_order()


class ApiClient(ShopUser):
    """A program using the JSON API: lists, searches, reads products and places orders idempotently."""

    weight = 3
    tasks = [ApiClientTasks]

    def __init__(self, environment: Environment):
        super().__init__(environment)
        self.last_order: tuple[str, dict, int] | None = None  # (key, body, order id)

    def json_or_fail(self, resp, expected: tuple[int, ...] = (200,)) -> dict | None:
        if resp.status_code not in expected:
            resp.failure(f"status {resp.status_code}")
            return None
        try:
            body = resp.json()
        except (ValueError, TypeError):
            resp.failure("the body is not JSON")
            return None
        if not isinstance(body, dict):
            resp.failure("the body is not a JSON object")
            return None
        return body

    def order_body(self) -> dict:
        count = self.rng.randint(1, 3)
        items = {}
        for _ in range(count):
            items[self.product_in_stock()] = self.rng.randint(1, 2)
        return {"email": self.email, "items": [{"product_id": p, "quantity": q} for p, q in items.items()]}

    def place_order(self) -> None:
        key, body = self.idempotency_key(), self.order_body()
        with self.client.post(
            "/api/orders",
            json=body,
            headers={"Idempotency-Key": key},
            name="/api/orders",
            catch_response=True,
        ) as resp:
            if resp.status_code == 409:
                data = self.json_or_fail(resp, expected=(409,))
                if data is not None:
                    if data.get("error") == "out_of_stock":
                        resp.success()  # an expected outcome: the shop refused to oversell
                    else:
                        resp.failure(f"409 with error {data.get('error')!r}, expected 'out_of_stock'")
                return
            data = self.json_or_fail(resp, expected=(201,))
            if data is None:
                return
            if not isinstance(data.get("id"), int):
                resp.failure("201 without an order id")
                return
            self.last_order = (key, body, data["id"])
        order_id = data["id"]
        with self.client.get(f"/api/orders/{order_id}", name="/api/orders/[id]", catch_response=True) as resp:
            data = self.json_or_fail(resp)
            if data is not None and data.get("id") != order_id:
                resp.failure(f"asked for order {order_id}, got {data.get('id')!r}")

    def replay_last_order(self) -> None:
        if self.last_order is None:
            self.place_order()
            return
        key, body, order_id = self.last_order
        with self.client.post(
            "/api/orders",
            json=body,
            headers={"Idempotency-Key": key},
            name="/api/orders (replay)",
            catch_response=True,
        ) as resp:
            data = self.json_or_fail(resp, expected=(201, 200))
            if data is not None and data.get("id") != order_id:
                resp.failure(f"replaying key {key} gave order {data.get('id')!r}, not the first order {order_id}")


# -- the scaling lab's workload: API-bound, CPU-heavy ------------------------------------------

RECOMMENDATIONS = 5  # similar products asked for per call (?limit=)


class RecommenderTasks(SeededTasks):
    @tag("api", "read", "recommend")
    @task(9)
    def recommendations(self) -> None:
        """Similar products of a random product: ~15 ms of pure CPU in the API tier, never cached."""
        user = self.user
        product_id = user.any_product()
        url = f"/api/products/{product_id}/recommendations?limit={RECOMMENDATIONS}"
        with user.client.get(url, name="/api/products/[id]/recommendations", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
                return
            try:
                body = resp.json()
            except (ValueError, TypeError):
                resp.failure("the body is not JSON")
                return
            items = body.get("items") if isinstance(body, dict) else None
            if body.get("product_id") != product_id or not isinstance(items, list) or len(items) != RECOMMENDATIONS:
                resp.failure(f"product {product_id}: wrong product_id or not {RECOMMENDATIONS} recommendations")
            elif any(item.get("id") == product_id for item in items):
                resp.failure(f"product {product_id} is recommended to itself")

    @tag("api", "read")
    @task(1)
    def get_product(self) -> None:
        user = self.user
        product_id = user.any_product()
        with user.client.get(f"/api/products/{product_id}", name="/api/products/[id]", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
                return
            try:
                body = resp.json()
            except (ValueError, TypeError):
                resp.failure("the body is not JSON")
                return
            if not isinstance(body, dict) or body.get("id") != product_id:
                resp.failure(f"product {product_id}: wrong id")


class Recommender(ShopUser):
    """The scaling lab's client: asks for recommendations (9 in 10 calls) and products, without pausing.

    Only the ``scaling`` scenario runs it (``scenario_only``): the other scenarios keep their
    mix of browsers, searchers, shoppers and API clients. No think time: each user sends its
    next request as soon as the previous one is answered, so enough of them saturate the
    API tier and the throughput measured is the variant's capacity.
    """

    weight = 1
    scenario_only = True
    tasks = [RecommenderTasks]

    def wait_time(self) -> float:
        return 0.0
