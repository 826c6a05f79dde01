"""The mail sink: an SMTP server that stores what it receives, and a small HTTP server to read it.

Settings (environment, documented in .env.example):

* ``MAIL_SMTP_BIND`` — where SMTP listens (``127.0.0.1:2525``; ``0.0.0.0:2525`` in a container);
* ``MAIL_HTTP_BIND`` — where the mailbox page and its JSON answer (``127.0.0.1:8025``);
* ``MAIL_STORE`` — the folder that keeps one ``.eml`` file per message (required: the mailbox
  survives a restart of the server, as a real one's spool does);
* ``MAIL_DELAY_S`` — seconds to wait before accepting each message (a slow mail server; also
  changed live with ``PUT /api/settings``).

HTTP: ``/`` the mailbox as a page; ``GET /api/messages[?since=ID]`` the messages as JSON;
``GET /api/messages/<id>`` one raw message; ``DELETE /api/messages`` empties the mailbox
(``twinshop reset`` does it); ``GET|PUT /api/settings`` the delay; ``/healthz``.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.smtp import SMTP

log = logging.getLogger("twinshop.mailsink")

ORDER_HEADER = "X-Twinshop-Order"  # as shop/mail.py writes them (the sink only reads headers)
NODE_HEADER = "X-Twinshop-Node"
VARIANT_HEADER = "X-Twinshop-Variant"
MAX_DELAY_S = 60.0
PAGE_ROWS = 200


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    smtp_host: str
    smtp_port: int
    http_host: str
    http_port: int
    store: Path
    delay_s: float

    @classmethod
    def from_env(cls) -> Settings:
        smtp = _address("MAIL_SMTP_BIND", "127.0.0.1:2525")
        web = _address("MAIL_HTTP_BIND", "127.0.0.1:8025")
        store = os.environ.get("MAIL_STORE", "").strip()
        if not store:
            raise SettingsError("MAIL_STORE is not set: the folder that keeps the messages (see .env.example)")
        return cls(smtp[0], smtp[1], web[0], web[1], Path(store), _delay(os.environ.get("MAIL_DELAY_S", "0")))


def _address(name: str, default: str) -> tuple[str, int]:
    raw = os.environ.get(name, "").strip() or default
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{name} must be HOST:PORT such as {default}, not {raw!r}")
    return host, int(port)


def _delay(raw: object) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SettingsError(f"MAIL_DELAY_S must be a number of seconds such as 0.5, not {raw!r}") from None
    if not 0 <= value <= MAX_DELAY_S:
        raise SettingsError(f"MAIL_DELAY_S must be from 0 to {MAX_DELAY_S:g} seconds, not {raw!r}")
    return value


@dataclass(frozen=True)
class Stored:
    """One message in the mailbox, as the JSON lists it."""

    id: int
    received: float  # unix time it was accepted
    mail_from: str
    to: list[str]
    subject: str
    order: int | None  # the order it confirms (X-Twinshop-Order)
    node: str  # who sent it (X-Twinshop-Node)
    variant: str
    size: int


class Mailbox:
    """The messages, one file each in ``folder``, with an index in memory (rebuilt from the files at start)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._items: list[Stored] = []
        for path in sorted(self.folder.glob("*.eml")):
            try:
                self._items.append(self._index(int(path.stem), path.read_bytes(), path.stat().st_mtime))
            except (OSError, ValueError):
                log.warning("skipping unreadable message file %s", path)
        self._next = (self._items[-1].id + 1) if self._items else 1

    @staticmethod
    def _index(number: int, data: bytes, received: float, mail_from: str = "", to: list[str] | None = None) -> Stored:
        headers = BytesHeaderParser(policy=default_policy).parsebytes(data)
        order = str(headers.get(ORDER_HEADER, "")).strip()
        return Stored(
            id=number,
            received=received,
            mail_from=mail_from or str(headers.get("From", "")),
            to=to or [str(headers.get("To", ""))],
            subject=str(headers.get("Subject", "")),
            order=int(order) if order.isdigit() else None,
            node=str(headers.get(NODE_HEADER, "")),
            variant=str(headers.get(VARIANT_HEADER, "")),
            size=len(data),
        )

    def store(self, data: bytes, *, mail_from: str, to: list[str]) -> Stored:
        with self._lock:
            number, self._next = self._next, self._next + 1
            path = self.folder / f"{number:08d}.eml"
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)  # a message is in the mailbox whole, or not at all
            item = self._index(number, data, time.time(), mail_from, to)
            self._items.append(item)
            return item

    def items(self, since: int = 0) -> list[Stored]:
        with self._lock:
            return [item for item in self._items if item.id > since]

    def count(self) -> int:
        with self._lock:
            return len(self._items)

    def raw(self, number: int) -> bytes | None:
        try:
            return (self.folder / f"{number:08d}.eml").read_bytes()
        except OSError:
            return None

    def clear(self) -> int:
        with self._lock:
            removed = len(self._items)
            for path in self.folder.glob("*.eml"):
                path.unlink(missing_ok=True)
            self._items = []  # numbering goes on: an id is never reused
            return removed


class Sink:
    """aiosmtpd's handler: wait the configured delay, store the message, answer 250."""

    def __init__(self, mailbox: Mailbox, delay_s: float):
        self.mailbox, self.delay_s = mailbox, delay_s
        self.in_progress = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.in_progress += 1
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)  # a slow server: the sender waits for the answer
            item = self.mailbox.store(envelope.original_content or envelope.content, mail_from=envelope.mail_from,
                                      to=list(envelope.rcpt_tos))  # fmt: skip
        finally:
            self.in_progress -= 1
        log.info("message %s accepted: order %s from %s", item.id, item.order, item.node or item.mail_from)
        return "250 Message accepted for delivery"


def page(sink: Sink) -> bytes:
    rows = "".join(
        f"<tr><td>{m.id}</td><td>{time.strftime('%H:%M:%S', time.localtime(m.received))}</td>"
        f"<td>{m.order or '–'}</td><td>{html.escape(', '.join(m.to))}</td><td>{html.escape(m.subject)}</td>"
        f"<td>{html.escape(m.node)}</td><td><a href='/api/messages/{m.id}'>raw</a></td></tr>"
        for m in reversed(sink.mailbox.items()[-PAGE_ROWS:])
    )
    text = (
        "<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='5'>"
        "<title>twinshop mail</title><style>body{font-family:sans-serif;margin:2em}td,th{padding:.2em .6em;"
        "text-align:left}tr:nth-child(even){background:#f3f3f3}</style></head><body>"
        f"<h1>Mailbox</h1><p>{sink.mailbox.count()} messages; each mail waits {sink.delay_s:g} s before it is "
        f"accepted. The latest {PAGE_ROWS} below (this page reloads every 5 s); all of them as JSON: "
        "<a href='/api/messages'>/api/messages</a>.</p><table><tr><th>#</th><th>received</th><th>order</th>"
        f"<th>to</th><th>subject</th><th>sent by</th><th></th></tr>{rows}</table></body></html>"
    )
    return text.encode()


def http_handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "twinshop-mailsink"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's signature
            return  # the SMTP side logs each message; page views are not worth a line

        def reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def json(self, status: int, data: object) -> None:
            self.reply(status, json.dumps(data).encode())

        def error(self, status: int, code: str, message: str) -> None:
            self.json(status, {"error": code, "message": message})

        def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
            path, _, query = self.path.partition("?")
            if path == "/healthz":
                self.json(200, {"status": "alive"})
            elif path == "/":
                self.reply(200, page(sink), "text/html; charset=utf-8")
            elif path == "/api/messages":
                since = re.fullmatch(r"since=(\d+)", query)
                items = sink.mailbox.items(int(since.group(1)) if since else 0)
                self.json(200, {"count": sink.mailbox.count(), "items": [asdict(m) for m in items]})
            elif (match := re.fullmatch(r"/api/messages/(\d+)", path)) and (raw := sink.mailbox.raw(int(match[1]))):
                self.reply(200, raw, "message/rfc822")
            elif path in ("/api/settings", "/api/stats"):
                self.json(200, {"delay_s": sink.delay_s, "received": sink.mailbox.count(),
                                "in_progress": sink.in_progress})  # fmt: skip
            else:
                self.error(404, "not_found", "There is nothing at this address.")

        def do_DELETE(self) -> None:  # noqa: N802
            if self.path != "/api/messages":
                return self.error(404, "not_found", "There is nothing at this address.")
            self.json(200, {"deleted": sink.mailbox.clear()})

        def do_PUT(self) -> None:  # noqa: N802
            if self.path != "/api/settings":
                return self.error(404, "not_found", "There is nothing at this address.")
            try:
                body = json.loads(self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 1000)) or b"{}")
                sink.delay_s = _delay(body.get("delay_s"))
            except (ValueError, AttributeError, SettingsError) as exc:
                return self.error(400, "invalid_request", str(exc))
            log.info("delay set to %g s", sink.delay_s)
            self.json(200, {"delay_s": sink.delay_s})

    return Handler


async def serve(settings: Settings) -> None:
    mailbox = Mailbox(settings.store)
    sink = Sink(mailbox, settings.delay_s)
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(
        # SMTPUTF8: addresses in any script (the shop accepts them), as today's mail servers do.
        lambda: SMTP(sink, hostname="twinshop-mail", ident="twinshop mail sink", enable_SMTPUTF8=True),
        settings.smtp_host,
        settings.smtp_port,
    )
    web = ThreadingHTTPServer((settings.http_host, settings.http_port), http_handler(sink))
    web.daemon_threads = True
    threading.Thread(target=web.serve_forever, name="http", daemon=True).start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("SMTP on %s:%s, mailbox on http://%s:%s (%d messages kept in %s), delay %g s", settings.smtp_host,
             settings.smtp_port, settings.http_host, settings.http_port, mailbox.count(), settings.store,
             settings.delay_s)  # fmt: skip
    await stop.wait()
    smtp.close()
    web.shutdown()
    log.info("stopped")


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's line per SMTP command; ours says enough
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(settings))
    except OSError as exc:  # the port is taken, the folder cannot be written ...
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0
