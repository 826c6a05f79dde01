"""How a response was served: the X-Served-By and Server-Timing headers, the page's diagram, ``?explain=1``.

Every process appends its own node name to X-Served-By, followed by the nodes of any
upstream calls it made (the web tier adds the API replicas that answered it), and reports
its time in Server-Timing: ``db`` (database), ``api`` (web -> API calls) and ``app`` (the
whole request inside this process).

The web tier also records each API call on its own (:func:`record_call`: what it asked, which
node answered, how long it waited, the answer's own Server-Timing), so that a page can draw the
request's real path: two API calls are two branches, not a chain. :func:`explain` is that
picture as data; every HTML page draws it at the top (``templates/_served.html``), and the same
page asked with ``?explain=1`` answers it as JSON, for scripts.

:func:`parse_server_timing` is the project's one reader of that header: the web tier uses it
on the API's answers, and the load tests on every response they record.
"""

from __future__ import annotations

import json
import time

from flask import Flask, Response, current_app, g, request


def add_timing(name: str, milliseconds: float) -> None:
    """Add time spent in a dependency (``db``, ``api``) to this request's Server-Timing."""
    timings = g.setdefault("timings", {})
    timings[name] = timings.get(name, 0.0) + milliseconds


def add_upstream_nodes(nodes: list[str]) -> None:
    """Record the nodes an upstream call went through (from its X-Served-By)."""
    upstream = g.setdefault("upstream_nodes", [])
    for node in nodes:
        if node and node not in upstream:
            upstream.append(node)


def record_call(
    *, method: str, path: str, status: int | None, milliseconds: float, nodes: list[str], header: str | None
) -> None:
    """Record one upstream call as the caller saw it: ``nodes`` from its X-Served-By (``[]`` when no
    answer came), ``header`` its Server-Timing (the callee's own ``db`` and ``app``)."""
    g.setdefault("calls", []).append(
        {
            "method": method,
            "path": path,
            "status": status,
            "ms": round(milliseconds, 2),
            "nodes": [n for n in nodes if n],
            "timings": parse_server_timing(header),
        }
    )


def served_by() -> list[str]:
    return [current_app.config["TWINSHOP_NODE"], *g.get("upstream_nodes", [])]


def timings() -> dict[str, float]:
    """The request's timings so far, in milliseconds: db always, api when there was one."""
    result = {"db": 0.0}
    result.update(g.get("timings", {}))
    result["app"] = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    return result


def server_timing_header(values: dict[str, float]) -> str:
    """{"db": 1.234, "app": 5} -> ``db;dur=1.23, app;dur=5.00`` (milliseconds)."""
    return ", ".join(f"{name};dur={value:.2f}" for name, value in values.items())


def parse_server_timing(header: str | None) -> dict[str, float]:
    """Read a Server-Timing header into milliseconds per metric: ``db;dur=1.2, api;dur=3`` ->
    {"db": 1.2, "api": 3.0}.

    Tolerant, as a reader of other servers' headers must be: a missing or empty header gives
    {}, and metrics without a numeric ``dur`` (``cache;desc="hit"``, ``db;dur=x``) are skipped.
    Other parameters may come before or after ``dur`` (``db;desc="query";dur=2``).
    """
    result: dict[str, float] = {}
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur" and name:
                try:
                    result[name.strip()] = float(value)
                except ValueError:
                    pass
    return result


def explain() -> dict:
    """The request's path as data: what the page's diagram draws and what ``?explain=1`` returns.

    ``via_lb``: the request reached this process through HAProxy (which adds X-Forwarded-For).
    ``calls``: this process's upstream calls in the order made, each with the nodes that answered
    it, the caller's wait (``ms``, HAProxy and the network included) and the callee's timings.
    """
    return {
        "variant": current_app.config["TWINSHOP_VARIANT"],
        "node": current_app.config["TWINSHOP_NODE"],
        "nodes": served_by(),
        "via_lb": "X-Forwarded-For" in request.headers,
        "timings": {name: round(value, 2) for name, value in timings().items()},
        "calls": list(g.get("calls", [])),
    }



def register_served_headers(app: Flask) -> None:
    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def add_served_headers(response: Response) -> Response:
        if request.args.get("explain") == "1" and response.mimetype == "text/html":
            # The same page, its path as JSON instead of HTML (the status stays the page's own).
            response.set_data(json.dumps(explain(), indent=2) + "\n")
            response.mimetype = "application/json"
        response.headers["X-Served-By"] = ",".join(served_by())
        response.headers["Server-Timing"] = server_timing_header(timings())
        return response

    app.context_processor(lambda: {"served_panel": explain})
