"""gunicorn's threaded worker, answering the errors gunicorn produces itself in the shop's shapes.

gunicorn reads the request line and the headers before Flask sees anything. A request over
its limits (``limit_request_line`` and friends, set from :mod:`shop.validation` in
shop/gunicorn.conf.py) or one that is not valid HTTP is answered by gunicorn itself, by
default with a small HTML page of its own. This worker keeps gunicorn's decision (the
status, the log line) and replaces only the answer: the shop's JSON error shape
``{"error", "message"}`` for the API - and whenever the address could not even be read,
which is the case for a request line over the limit - or a plain HTML page for a page.
"""

from __future__ import annotations

import html
import json

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from shop.errors import answers_in_json
from shop.validation import MAX_HEADER_FIELD_BYTES, MAX_HEADER_FIELDS, MAX_REQUEST_LINE

# status -> (machine code, what the client is told); other statuses get a generic sentence.
GUNICORN_ERRORS = {
    400: ("bad_request", "The request is not valid HTTP."),
    403: ("forbidden", "This request is not allowed."),
    414: (
        "request_line_too_long",
        f"The request line (method, address and query string) is longer than {MAX_REQUEST_LINE} bytes.",
    ),
    417: ("expectation_failed", "The Expect header of this request cannot be met."),
    431: (
        "headers_too_large",
        f"The request has more than {MAX_HEADER_FIELDS} header fields, "
        f"or a header line longer than {MAX_HEADER_FIELD_BYTES} bytes.",
    ),
    500: ("internal_error", "Something went wrong on our side; it has been logged."),
    501: ("not_implemented", "This request uses an HTTP feature the server does not implement."),
}


class _CapturedAnswer:
    """Stands in for the client socket while gunicorn writes its own error answer, and keeps it."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0  # "non-blocking already": gunicorn then just calls sendall()

    def sendall(self, data: bytes) -> None:
        self.data += data

    def status(self) -> tuple[int, str]:
        """(414, "URI Too Long") from gunicorn's status line "HTTP/1.1 414 URI Too Long"."""
        line = self.data.split(b"\r\n", 1)[0].decode("latin-1")
        _, code, reason = (line.split(" ", 2) + ["", ""])[:3]
        return (int(code), reason) if code.isdigit() else (500, "Internal Server Error")


class ShopWorker(ThreadWorker):
    """The gthread worker (``worker_class`` in shop/gunicorn.conf.py) with the shop's error answers."""

    def handle_error(self, req, client, addr, exc) -> None:
        answer = _CapturedAnswer()
        super().handle_error(req, answer, addr, exc)  # gunicorn classifies and logs; we keep its status
        status, reason = answer.status()
        code, message = GUNICORN_ERRORS.get(status, ("error", reason or "The request failed."))
        path = getattr(req, "path", None)
        if path is None or answers_in_json(path):
            content_type = "application/json"
            body = json.dumps({"error": code, "message": message}, separators=(",", ":")) + "\n"  # as Flask writes it
        else:
            content_type = "text/html; charset=utf-8"
            body = error_page(status, reason, message)
        try:
            util.write_nonblock(client, self.answer(status, reason, content_type, body.encode()))
        except Exception:  # the client may be gone already; gunicorn does the same
            self.log.debug("Failed to send error message.")

    def answer(self, status: int, reason: str, content_type: str, body: bytes) -> bytes:
        """The whole HTTP response, with the headers every shop response carries."""
        node = self.node_name()
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "Connection: close\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Served-By: {node}\r\n"
            "Server-Timing: db;dur=0.00, app;dur=0.00\r\n"
            "Cache-Control: no-store\r\n"
            "\r\n"
        )
        return head.encode("latin-1") + body

    def node_name(self) -> str:
        """This process's name in X-Served-By, as the application resolved it (TWINSHOP_NODE)."""
        config = getattr(self.wsgi, "config", None) or {}
        return str(config.get("TWINSHOP_NODE") or self.cfg.proc_name)


def error_page(status: int, reason: str, message: str) -> str:
    """A plain page for a page address: the application never saw the request, so no layout."""
    return (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>{status} {html.escape(reason)} · twinshop</title></head>\n"
        f'<body>\n<h1>Error {status}</h1>\n<p id="error-message">{html.escape(message)}</p>\n'
        '<p><a href="/">Back to the catalogue</a></p>\n</body>\n</html>\n'
    )
