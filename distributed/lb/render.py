"""Render HAProxy's configuration for the distributed variant, for the local engine or for compose.

One template (haproxy.cfg.j2), two renditions:

* ``mode="local"``: one explicit ``server`` line per (name, "host:port") pair, everything on
  127.0.0.1. The local engine re-renders it with a different number of replicas and reloads
  HAProxy (``haproxy -W``: SIGUSR2 to the master) without dropping connections.
* ``mode="compose"``: each (name, "service:port") pair becomes a DNS-based ``server-template``
  with slots that Docker's resolver fills with the replicas' addresses, so ``deploy.replicas``
  and ``docker compose up --scale`` are found without re-rendering anything.

``python -m distributed.lb.render > distributed/lb/haproxy.cfg`` writes the compose rendition
that compose/distributed.yaml mounts (a test checks the committed file is up to date).

The errors HAProxy answers by itself are written into the configuration in the shop's own
shapes: JSON ``{"error", "message"}`` for the API, and for the pages the shop's error page
(shop/templates/error.html, rendered by :mod:`shop.error_page`). They are inline strings
rather than separate files so that the one mounted file is the whole configuration.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from shop.error_page import render_error_page

TEMPLATE_DIR = Path(__file__).resolve().parent
TEMPLATE_NAME = "haproxy.cfg.j2"
MODES = ("local", "compose", "kubernetes")

# The compose rendition: ports inside the lb container, and the services it discovers.
COMPOSE_LISTEN_PORT = 8000
COMPOSE_STATS_PORT = 8404
COMPOSE_WEB = [("web", "web:8000")]
COMPOSE_API = [("api", "api:8000")]
COMPOSE_STANDBY = ("api-standby", "api-standby:8000")
# The runtime API of the lb container, on its own loopback interface: the haproxy image
# has no socat, but bash's /dev/tcp can talk to a TCP socket (see the rendered comment).
COMPOSE_ADMIN_SOCKET = "ipv4@127.0.0.1:9999"
# The kubernetes rendition: the same ports and slots, the names of the headless Services in the
# namespace of k8s/ (HAProxy's resolver does not apply resolv.conf's search list: full names).
KUBERNETES_DOMAIN = "twinshop.svc.cluster.local"
# Server slots per service in compose: the most replicas `--scale` can reach without a new
# rendition. Kept equal to twinshop.topology.MAX_REPLICAS.
COMPOSE_SLOTS = 9

# Errors HAProxy gives itself: status -> (reason, machine code, what an API client is told,
# what a visitor of a page is told).
LB_ERRORS = {
    400: ("Bad Request", "bad_request", "The load balancer could not read this request as HTTP.", None),
    408: ("Request Timeout", "request_timeout", "The request was not sent completely in time.", None),
    500: ("Internal Server Error", "lb_error", "The load balancer failed to handle this request.", None),
    501: (
        "Not Implemented",
        "not_implemented",
        "This request uses an HTTP feature the load balancer does not implement.",
        None,
    ),
    502: (
        "Bad Gateway",
        "bad_gateway",
        "The server handling this request failed before answering.",
        "The web server handling this page failed before answering; try again in a moment.",
    ),
    503: (
        "Service Unavailable",
        "no_backend",
        "No server is available to handle this request; try again in a moment.",
        "No web server is available to show this page; try again in a moment.",
    ),
    504: (
        "Gateway Timeout",
        "gateway_timeout",
        "The server handling this request did not answer in time.",
        "The web server handling this page did not answer in time; try again in a moment.",
    ),
}
BACKEND_ERRORS = (502, 503, 504)  # what a backend produces: no server UP, a server failing
LB_HEADERS = {"X-Served-By": "lb", "Server-Timing": "db;dur=0", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class ErrorReply:
    """One ``http-error`` line: the status, its content type and its body as an HAProxy string."""

    status: int
    content_type: str
    body: str


def haproxy_string(text: str) -> str:
    """``text`` as one HAProxy argument: in single quotes when it can be (nothing inside them is
    interpreted), otherwise in double quotes with backslashes, quotes, dollars and line breaks escaped."""
    if not re.search(r"['\r\n]", text):
        return f"'{text}'"
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\r", "\\r").replace("\n", "\\n") + '"'


def json_error(status: int) -> str:
    """The shop's error shape for a status HAProxy answers: {"error": code, "message": sentence}."""
    _, code, message, _ = LB_ERRORS[status]
    return json.dumps({"error": code, "message": message}, separators=(",", ":"))


def json_errors(statuses) -> list[ErrorReply]:
    """``http-error`` replies in the JSON error shape, for the API and for requests not yet routed."""
    return [ErrorReply(status, "application/json", haproxy_string(json_error(status))) for status in statuses]


@cache
def page_errors() -> tuple[ErrorReply, ...]:
    """``http-error`` replies with the shop's HTML error page, as the web tier would have rendered it."""
    replies = []
    for status in BACKEND_ERRORS:
        _, code, _, page_message = LB_ERRORS[status]
        page = render_error_page(status, code, page_message, node="lb", variant="distributed")
        replies.append(ErrorReply(status, '"text/html; charset=utf-8"', haproxy_string(page)))
    return tuple(replies)


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ADDRESS = re.compile(r"^[A-Za-z0-9_.-]+:\d{1,5}$")


def _check_servers(kind: str, servers: list[tuple[str, str]]) -> None:
    for name, address in servers:
        if not _NAME.match(name):
            raise ValueError(f"{kind} server name {name!r} must be letters, digits, '.', '_' or '-'")
        if not _ADDRESS.match(address):
            raise ValueError(f"{kind} server {name!r}: address {address!r} must look like host:port")


def render_haproxy(
    *,
    mode: str,
    listen_port: int,
    stats_port: int,
    web_servers: list[tuple[str, str]],
    api_servers: list[tuple[str, str]],
    standby: tuple[str, str] | None,
    admin_socket: str | None = None,
    slots: int = COMPOSE_SLOTS,
    access_log: bool = False,
) -> str:
    """The text of haproxy.cfg for the given servers.

    ``admin_socket`` is where the admin-level runtime API listens: in local mode pass a path
    in the engine's state folder (no socket is rendered without one; the stats page still
    accepts admin actions from 127.0.0.1); in compose mode it defaults to the lb container's
    loopback. ``slots`` is the number of server-template slots per service (compose only).
    ``access_log`` logs every request; by default only failed, retried or redispatched ones.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    for port_name, port in (("listen_port", listen_port), ("stats_port", stats_port)):
        if not 0 < port < 65536:
            raise ValueError(f"{port_name} {port} is not a TCP port")
    if listen_port == stats_port:
        raise ValueError(f"listen_port and stats_port are both {listen_port}")
    _check_servers("web", web_servers)
    _check_servers("api", api_servers)
    if standby is not None:
        _check_servers("standby", [standby])
    names = [name for name, _ in [*web_servers, *api_servers, *([standby] if standby else [])]]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"server names must be unique; repeated: {', '.join(duplicates)}")
    dns = mode in ("compose", "kubernetes")
    if dns and admin_socket is None:
        admin_socket = COMPOSE_ADMIN_SOCKET
    if dns:
        example_api_server = f"{api_servers[0][0]}-slot-1" if api_servers else "api-slot-1"
    else:
        example_api_server = api_servers[0][0] if api_servers else "api-1"

    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - the output is an HAProxy config, not HTML
    )
    return environment.get_template(TEMPLATE_NAME).render(
        mode=mode,
        dns=dns,
        resolver="cluster" if mode == "kubernetes" else "docker",
        listen_port=listen_port,
        stats_port=stats_port,
        web_servers=list(web_servers),
        api_servers=list(api_servers),
        standby=standby,
        admin_socket=admin_socket,
        example_api_server=example_api_server,
        slots=slots,
        access_log=access_log,
        default_errors=json_errors(LB_ERRORS),
        api_errors=json_errors(BACKEND_ERRORS),
        web_errors=page_errors(),
        lb_headers=" ".join(f"hdr {name} {haproxy_string(value)}" for name, value in LB_HEADERS.items()),
    )


def render_compose() -> str:
    """The rendition committed as distributed/lb/haproxy.cfg and mounted by compose."""
    return render_haproxy(
        mode="compose",
        listen_port=COMPOSE_LISTEN_PORT,
        stats_port=COMPOSE_STATS_PORT,
        web_servers=COMPOSE_WEB,
        api_servers=COMPOSE_API,
        standby=COMPOSE_STANDBY,
    )


def render_kubernetes() -> str:
    """The rendition k8s/lb-config.yaml holds (a test checks it is up to date)."""

    def full(name: str) -> str:
        return f"{name}.{KUBERNETES_DOMAIN}:{COMPOSE_LISTEN_PORT}"

    return render_haproxy(
        mode="kubernetes",
        listen_port=COMPOSE_LISTEN_PORT,
        stats_port=COMPOSE_STATS_PORT,
        web_servers=[("web", full("web"))],
        api_servers=[("api", full("api"))],
        standby=("api-standby", full("api-standby")),
    )


def kubernetes_configmap() -> str:
    """k8s/lb-config.yaml: the kubernetes rendition inside the ConfigMap the lb pod mounts."""
    head = (
        "# GENERATED FILE - do not edit by hand: HAProxy's configuration for Kubernetes, the kubernetes\n"
        "# rendition of distributed/lb/haproxy.cfg.j2, mounted into the lb pod by k8s/lb.yaml:\n"
        "#   python -m distributed.lb.render kubernetes > k8s/lb-config.yaml\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lb-config\n  namespace: twinshop\n"
        "data:\n  haproxy.cfg: |\n"
    )
    return head + "".join(f"    {line}" if line.strip() else "\n" for line in render_kubernetes().splitlines(True))


def main(argv: list[str] | None = None) -> int:
    """``python -m distributed.lb.render [compose|kubernetes]``: the compose rendition (committed as
    distributed/lb/haproxy.cfg), or the kubernetes one as the ConfigMap committed as k8s/lb-config.yaml."""
    mode = (argv if argv is not None else sys.argv[1:]) or ["compose"]
    renditions = {"compose": render_compose, "kubernetes": kubernetes_configmap}
    if mode[0] not in renditions:
        print(f"render: choose compose or kubernetes, not {mode[0]!r}", file=sys.stderr)
        return 2
    sys.stdout.write(renditions[mode[0]]())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
