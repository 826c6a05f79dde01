"""The one application factory behind every process type (monolith, web, api).

Each variant's ``create_app()`` calls :func:`create_shop_app` with its own wiring: which
blueprints it serves and which :class:`shop.data.ShopData` implementation feeds them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from flask import Flask, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from shop.config import NodeSettings
from shop.data import ShopData, install_shop_data, shop_data
from shop.errors import InvalidRequest, ShopError, Unavailable, answers_in_json, error_response
from shop.served import register_served_headers
from shop.validation import MAX_BODY_BYTES

log = logging.getLogger("twinshop")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, building its signer once per key instead of on every request.

    Flask makes a new serializer (and key derivation) for each request, even one that carries
    no cookie; on a JSON API call that was almost a tenth of the process's CPU.
    """

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = app.extensions.get("twinshop.session_serializer")
        if cached is None or cached[0] != keys:
            cached = (keys, super().get_signing_serializer(app))
            app.extensions["twinshop.session_serializer"] = cached
        return cached[1]


def create_shop_app(
    *,
    default_node: str,
    default_variant: str,
    data_factory: Callable[[], ShopData],
    pages: bool,
    api: bool,
    test_config: dict | None = None,
) -> Flask:
    """Build a Flask app serving the pages and/or the JSON API over the given data source."""
    configure_logging()
    settings = NodeSettings.from_env(default_node=default_node, default_variant=default_variant)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TWINSHOP_NODE=settings.node,
        TWINSHOP_VARIANT=settings.variant,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_NAME="twinshop_session",
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
    )
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False
    app.session_interface = SessionInterface()
    install_shop_data(app, data_factory())

    register_served_headers(app)
    register_health(app)
    register_error_handlers(app)
    register_body_reading(app)
    if api:
        from shop.api import bp as api_bp

        app.register_blueprint(api_bp)
    if pages:
        from shop.pages import register_pages

        register_pages(app)
    return app


def configure_logging() -> None:
    """Logs go to stdout, one line per event (gunicorn and supervisord collect them)."""
    root = logging.getLogger()
    if not any(getattr(h, "_twinshop", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._twinshop = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.setLevel(logging.INFO)


def register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        """Liveness: 200 while the process lives."""
        return jsonify({"status": "alive", "node": app.config["TWINSHOP_NODE"]})

    @app.get("/readyz")
    def readyz():
        """Readiness: 200 when what this process needs (database, or API) answers."""
        shop_data().ping()
        return jsonify({"status": "ready", "node": app.config["TWINSHOP_NODE"]})


def register_body_reading(app: Flask) -> None:
    @app.before_request
    def read_body() -> None:
        """Read a request's body (at most MAX_BODY_BYTES) before any view does.

        gunicorn reads the body only when the application asks for it, so a body that is not
        valid HTTP - a broken chunked encoding, a client gone half-way - would surface as an
        exception deep inside a view: a 500. Read here, it is the client's 400.
        """
        if request.content_length is None and "Transfer-Encoding" not in request.headers:
            return
        try:
            request.get_data(cache=True)
        except HTTPException:  # 413: over MAX_CONTENT_LENGTH
            raise
        except Exception as exc:
            log.info("unreadable request body on %s %s: %s", request.method, request.path, exc)
            raise InvalidRequest("The request body could not be read as HTTP.", code="bad_request") from None


def register_error_handlers(app: Flask) -> None:
    def render_error(status: int, code: str, message: str):
        if answers_in_json(request.path):
            return error_response(status, code, message)
        try:
            return render_template("error.html", status=status, code=code, message=message), status
        except Exception:  # the error page itself must never fail into a traceback
            log.exception("error page failed to render")
            return error_response(status, code, message)

    @app.errorhandler(ShopError)
    def handle_shop_error(error: ShopError):
        if isinstance(error, Unavailable):
            log.warning("dependency unavailable: %s", error.message)
        return render_error(error.status, error.code, error.message)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        status = error.code or 500
        code = {
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            415: "unsupported_media_type",
        }.get(status, (error.name or "error").lower().replace(" ", "_"))
        message = {
            404: "There is nothing at this address.",
            405: f"{request.method} is not allowed here.",
            413: f"The request body is larger than {MAX_BODY_BYTES} bytes.",
        }.get(status, error.description or error.name)
        response = app.make_response(render_error(status, code, message))
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:  # a 405 says which methods the address accepts (RFC 9110)
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return render_error(500, "internal_error", "Something went wrong on our side; it has been logged.")
