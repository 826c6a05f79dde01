"""The shop's error page rendered outside the application, for answers the load balancer gives itself.

When no web replica can answer, HAProxy answers in their place. So that the visitor still
sees the shop - the same layout, the same "How this page was served" panel naming ``lb`` -
distributed/lb/render.py renders shop/templates/error.html here and writes the result into
haproxy.cfg. The page cannot load /static/style.css (the web tier serves it, and the web
tier is what is missing), so the stylesheet travels inside the page.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, render_template

SHOP_DIR = Path(__file__).resolve().parent


def render_error_page(status: int, code: str, message: str, *, node: str, variant: str) -> str:
    """error.html for ``status``, with the stylesheet inline and the panel naming ``node``."""
    app = Flask("shop", root_path=str(SHOP_DIR))  # the shop's own templates/ and static/
    app.jinja_env.trim_blocks = True  # as the pages render them (shop/pages.py)
    app.jinja_env.lstrip_blocks = True
    with app.test_request_context("/"):
        return render_template(
            "error.html",
            status=status,
            code=code,
            message=message,
            inline_stylesheet=compact_css((SHOP_DIR / "static" / "style.css").read_text()),
            served_panel=lambda: {  # shop.served.explain()'s shape: HAProxy answered alone
                "variant": variant,
                "node": node,
                "nodes": [node],
                "via_lb": False,
                "timings": {"db": 0.0},
                "calls": [],
            },
        )


def compact_css(css: str) -> str:
    """The stylesheet without comments and runs of white space (it travels inside every such page)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"\s+", " ", css)
    return re.sub(r"\s*([{};:,>])\s*", r"\1", css).strip()
