"""The shop's errors: one exception family, one JSON error shape for every client."""

from __future__ import annotations

from flask import Response, jsonify


class ShopError(Exception):
    """A failure a client can be told about: HTTP status, machine code, human sentence."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidRequest(ShopError):
    status = 400
    code = "invalid_request"


class NotFound(ShopError):
    status = 404
    code = "not_found"


class Conflict(ShopError):
    status = 409
    code = "conflict"


class OutOfStock(Conflict):
    code = "out_of_stock"


class PayloadTooLarge(ShopError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(ShopError):
    status = 415
    code = "unsupported_media_type"


class UnknownProduct(ShopError):
    status = 422
    code = "unknown_product"


class Unavailable(ShopError):
    """A dependency (database, API) cannot be reached: always a 503, never a traceback."""

    status = 503
    code = "unavailable"


ERRORS_BY_STATUS: dict[int, type[ShopError]] = {
    400: InvalidRequest,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: UnknownProduct,
    503: Unavailable,
}


def answers_in_json(path: str) -> bool:
    """Whether errors at this path get the JSON shape (the API, the health checks) or the HTML page."""
    return path == "/api" or path.startswith("/api/") or path in ("/healthz", "/readyz")


def error_response(status: int, code: str, message: str) -> Response:
    """The one JSON error shape: {"error": code, "message": sentence}."""
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def error_from_response(status: int, body: object) -> ShopError:
    """Rebuild the ShopError an API answered with (used by the web tier's API client)."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code, message = body["error"], str(body.get("message", ""))
    else:
        code, message = "upstream_error", f"the API answered with HTTP {status}"
    if status >= 500:
        # 500s from upstream are reported as our own dependency failure.
        return Unavailable(
            message or "The shop's API is unavailable right now; try again in a moment.", code=code, status=503
        )
    cls = ERRORS_BY_STATUS.get(status, ShopError)
    return cls(message, code=code, status=status)
