"""What counts as a correct page: small, cheap checks of response bodies used by the simulated users.

Regular expressions rather than an HTML parser: the load generator shares the machine with
the shop, and every millisecond it spends parsing is CPU the shop does not get.
"""

from __future__ import annotations

import html
import re

PRODUCT_LINK = re.compile(r'href="/products/(\d+)"')
H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S | re.I)
TAG = re.compile(r"<[^>]+>")
ORDER_LOCATION = re.compile(r"/orders/(\d+)/?$")


def escape_like_jinja(text: str) -> str:
    """How Jinja2 (MarkupSafe) escapes text in a page: & < > ' "."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;").replace('"', "&#34;")
    )


def shows_text(body: str, text: str) -> bool:
    """Is ``text`` on the page, escaped the way the templates escape it (or verbatim)?"""
    return escape_like_jinja(text) in body or text in body


def h1_text(body: str) -> str | None:
    """The text of the first <h1>, tags stripped, entities decoded, spaces collapsed."""
    match = H1.search(body)
    if match is None:
        return None
    return " ".join(html.unescape(TAG.sub("", match.group(1))).split())


def linked_product_ids(body: str) -> list[int]:
    """Product ids the page links to, in page order."""
    return [int(m) for m in PRODUCT_LINK.findall(body)]


def hidden_field(body: str, field: str) -> str | None:
    """The value of the form input named ``field`` (attributes in any order)."""
    for tag in re.finditer(r"<input\b[^>]*>", body, re.I):
        text = tag.group(0)
        if re.search(rf'\bname="{re.escape(field)}"', text):
            value = re.search(r'\bvalue="([^"]*)"', text)
            return html.unescape(value.group(1)) if value else None
    return None


def order_id_from_location(location: str | None) -> int | None:
    """The order id of a redirect to /orders/<id>."""
    match = ORDER_LOCATION.search(location or "")
    return int(match.group(1)) if match else None


ACCEPTED = (201, 303)  # POST /api/orders answers 201, POST /checkout a 303 to /orders/<id>


def accepted_order_id(request_type: str, status: int, headers) -> int | None:
    """The id of the order the shop accepted with this request, from its ``Location`` header.

    ``POST /api/orders`` answers 201 with ``Location: /api/orders/<id>``; the checkout form
    answers 303 to ``/orders/<id>``. Anything else accepted no order.
    """
    if request_type != "POST" or status not in ACCEPTED:
        return None
    return order_id_from_location(headers.get("Location", "") or "")
