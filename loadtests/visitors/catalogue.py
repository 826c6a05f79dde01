"""What a visitor knows about the shop: products, categories and words to search for, read once per process.

At the start of a run each Locust process reads the whole catalogue through
``GET /api/products`` (plain HTTP, not counted in the statistics), so the simulated users
can ask for products that exist and check that pages show the right names.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field

import gevent.lock

from shop.validation import DEFAULT_PER_PAGE as HTML_PER_PAGE  # the catalogue pages show this many
from shop.validation import MAX_PER_PAGE as DISCOVERY_PER_PAGE

log = logging.getLogger(__name__)

API_PER_PAGE = 20  # what the simulated API clients ask for
WORD = re.compile(r"[A-Za-z]{4,}")


@dataclass
class Catalogue:
    """What a visitor can know about the shop: products, categories, words to search for."""

    names: dict[int, str]
    categories: dict[str, list[int]]  # slug -> product ids
    ids: list[int] = field(init=False)
    in_stock: list[int] = field(default_factory=list)

    category_sets: dict[str, set[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.ids = sorted(self.names)
        self.category_sets = {slug: set(ids) for slug, ids in self.categories.items()}
        if not self.in_stock:
            self.in_stock = list(self.ids)

    @property
    def slugs(self) -> list[str]:
        return sorted(self.categories)

    def pages(self, slug: str | None = None, per_page: int = HTML_PER_PAGE) -> int:
        count = len(self.categories[slug]) if slug else len(self.ids)
        return max(1, math.ceil(count / per_page))

    def words(self, product_id: int) -> list[str]:
        return WORD.findall(self.names[product_id]) or [self.names[product_id]]


def fetch_json(url: str, timeout: float = 15.0) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "twinshop-loadtest"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own http:// URL
        return json.loads(response.read().decode("utf-8"))


def fetch_catalogue(base_url: str) -> Catalogue:
    """Read every product through ``GET /api/products`` (100 per page)."""
    names: dict[int, str] = {}
    categories: dict[str, list[int]] = defaultdict(list)
    in_stock: list[int] = []
    page, total = 1, None
    while total is None or len(names) < total:
        query = urllib.parse.urlencode({"page": page, "per_page": DISCOVERY_PER_PAGE})
        body = fetch_json(f"{base_url.rstrip('/')}/api/products?{query}")
        total = int(body["total"])
        if not body["items"]:
            break
        for item in body["items"]:
            names[int(item["id"])] = str(item["name"])
            categories[str(item["category"])].append(int(item["id"]))
            if int(item.get("stock", 1)) > 0:
                in_stock.append(int(item["id"]))
        page += 1
    if not names:
        raise RuntimeError(f"{base_url}/api/products lists no products: is the seed data loaded (`twinshop reset`)?")
    return Catalogue(names=names, categories=dict(categories), in_stock=sorted(in_stock))


_catalogues: dict[str, Catalogue] = {}
_catalogue_lock = gevent.lock.Semaphore()


def catalogue_for(base_url: str, *, refresh: bool = False) -> Catalogue:
    """The catalogue of ``base_url``, fetched once per process (and again with ``refresh``)."""
    with _catalogue_lock:
        if refresh or base_url not in _catalogues:
            started = time.monotonic()
            _catalogues[base_url] = fetch_catalogue(base_url)
            log.info(
                "catalogue of %s: %d products, %d categories (%.1f s)",
                base_url,
                len(_catalogues[base_url].ids),
                len(_catalogues[base_url].categories),
                time.monotonic() - started,
            )
        return _catalogues[base_url]
