"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Every limit, range and format below comes from :mod:`shop.validation`, the definitions the
API validates with, and every status an operation can really answer is listed - the API's
own, gunicorn's for a request too large to read (400/414/431) and HAProxy's when no replica
can answer (502/503/504) - so a client, or a fuzzer, can trust the document.
"""

from __future__ import annotations

from shop.validation import (
    DEFAULT_PER_PAGE,
    DEFAULT_RECOMMENDATIONS,
    EMAIL_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_BODY_BYTES,
    MAX_CATEGORY,
    MAX_EMAIL,
    MAX_HEADER_FIELD_BYTES,
    MAX_HEADER_FIELDS,
    MAX_IDEMPOTENCY_KEY,
    MAX_ORDER_ID,
    MAX_ORDER_LINES,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_PRODUCT_ID,
    MAX_QUANTITY,
    MAX_QUERY,
    MAX_RECOMMENDATIONS,
    MAX_REQUEST_LINE,
    PRODUCT_IDS_PATTERN,
)

MONEY = {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$", "examples": ["12.50"]}
PRODUCT_ID = {"type": "integer", "minimum": 1, "maximum": MAX_PRODUCT_ID}
ORDER_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ORDER_ID}

LIMITS = (
    f"Limits: a request line (method, path and query string) of at most {MAX_REQUEST_LINE} bytes "
    f"(414 beyond), at most {MAX_HEADER_FIELDS} header fields of at most {MAX_HEADER_FIELD_BYTES} bytes "
    f"each (431 beyond), a body of at most {MAX_BODY_BYTES} bytes (413 beyond)."
)


def _error(description: str) -> dict:
    return {
        "description": description,
        "headers": _served_headers(),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str, schema: str) -> dict:
    return {
        "description": description,
        "headers": _served_headers(),
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _served_headers() -> dict:
    return {
        "X-Served-By": {"$ref": "#/components/headers/X-Served-By"},
        "Server-Timing": {"$ref": "#/components/headers/Server-Timing"},
    }


def _responses(success: dict, errors: dict[str, str] | None = None) -> dict:
    """An operation's responses: those every operation may answer, then its own."""
    responses = {
        "400": _error("The request is not valid HTTP."),
        "405": _error("Another method than those documented for this path; the Allow header lists them."),
        "414": _error(f"The request line is longer than {MAX_REQUEST_LINE} bytes."),
        "431": _error(
            f"More than {MAX_HEADER_FIELDS} header fields, or a header line over {MAX_HEADER_FIELD_BYTES} bytes."
        ),
        "502": _error("Distributed variant: the API replica broke the connection (answered by HAProxy)."),
        "503": _error(
            "A dependency is unavailable: the database, or in the distributed variant every API replica "
            "(then answered by HAProxy, X-Served-By: lb)."
        ),
        "504": _error("Distributed variant: the API replica did not answer in time (answered by HAProxy)."),
        **success,
    }
    responses.update({status: _error(text) for status, text in (errors or {}).items()})
    return dict(sorted(responses.items()))


def _query(name: str, schema: dict, description: str = "") -> dict:
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def _path(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "twinshop API",
            "version": "1.1.0",
            "description": "The same API in both variants: served by the monolith itself, or by the API replicas "
            "behind HAProxy. Every error, whoever answers it (the API, gunicorn, HAProxy), has the shape "
            "{error, message} and the headers X-Served-By and Server-Timing. " + LIMITS,
        },
        "paths": {
            "/api/products": {
                "get": {
                    "operationId": "listProducts",
                    "summary": "List products (paged, searchable, filterable by category or ids)",
                    "parameters": [
                        _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
                        _query(
                            "per_page",
                            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
                        ),
                        _query(
                            "q", {"type": "string", "maxLength": MAX_QUERY}, "text searched in names and descriptions"
                        ),
                        _query("category", {"type": "string", "maxLength": MAX_CATEGORY}, "a category slug"),
                        _query(
                            "ids",
                            {"type": "string", "pattern": PRODUCT_IDS_PATTERN},
                            f"up to {MAX_PER_PAGE} comma-separated product ids",
                        ),
                    ],
                    "responses": _responses(
                        {"200": _ok("A page of products (empty after the last page)", "ProductPage")},
                        {"400": "bad_paging or bad_query: a parameter out of its documented range or format"},
                    ),
                }
            },
            "/api/products/{product_id}": {
                "get": {
                    "operationId": "getProduct",
                    "summary": "One product",
                    "parameters": [_path("product_id", PRODUCT_ID)],
                    "responses": _responses({"200": _ok("The product", "Product")}, {"404": "No such product"}),
                }
            },
            "/api/products/{product_id}/recommendations": {
                "get": {
                    "operationId": "getRecommendations",
                    "summary": "Similar products, computed from descriptions on every call (deliberately CPU-heavy)",
                    "parameters": [
                        _path("product_id", PRODUCT_ID),
                        _query(
                            "limit",
                            {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_RECOMMENDATIONS,
                                "default": DEFAULT_RECOMMENDATIONS,
                            },
                        ),
                    ],
                    "responses": _responses(
                        {"200": _ok("Similar products, best first", "Recommendations")},
                        {"400": "bad_query: limit out of range", "404": "No such product"},
                    ),
                }
            },
            "/api/categories": {
                "get": {
                    "operationId": "listCategories",
                    "summary": "Every category with its number of products",
                    "responses": _responses({"200": _ok("Categories", "CategoryList")}),
                }
            },
            "/api/orders": {
                "post": {
                    "operationId": "placeOrder",
                    "summary": "Place an order (all or nothing)",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "Repeating a key returns the first order (same id) and creates nothing.",
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": MAX_IDEMPOTENCY_KEY,
                                "pattern": IDEMPOTENCY_KEY_PATTERN,
                            },
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "description": f"At most {MAX_BODY_BYTES} bytes. Lines of the same product are merged, "
                        f"and together may hold at most {MAX_QUANTITY} units.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderRequest"}}},
                    },
                    "responses": _responses(
                        {"201": _ok("The order (also returned for a repeated Idempotency-Key)", "Order")},
                        {
                            "400": "invalid_json or invalid_request: the body or the Idempotency-Key break a rule",
                            "409": "out_of_stock, or idempotency_key_reused (the key came with a different order)",
                            "413": f"The body is larger than {MAX_BODY_BYTES} bytes",
                            "415": "The body is not sent as application/json",
                            "422": "unknown_product: no product has one of the ids",
                            "503": "A dependency is unavailable: the database; in the monolith also the mail server "
                            "(mail_unavailable: the confirmation mail is sent inside the checkout, so the order is "
                            "not placed); in the distributed variant every API replica (answered by HAProxy)",
                        },
                    ),
                }
            },
            "/api/orders/{order_id}": {
                "get": {
                    "operationId": "getOrder",
                    "summary": "One order",
                    "parameters": [_path("order_id", ORDER_ID)],
                    "responses": _responses({"200": _ok("The order", "Order")}, {"404": "No such order"}),
                }
            },
            "/api/readyz": {
                "get": {
                    "operationId": "apiReadiness",
                    "summary": "Readiness of the API tier (it reaches its database)",
                    "responses": _responses({"200": _ok("Ready", "Ready")}),
                }
            },
        },
        "components": {
            "headers": {
                "X-Served-By": {
                    "description": "Nodes that handled the request, in order (monolith; web-1,api-2; api-3; lb)",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                },
                "Server-Timing": {
                    "description": "db;dur=…, api;dur=… (distributed web), app;dur=…, in milliseconds",
                    "required": True,
                    "schema": {"type": "string", "pattern": r"(^|[ ,])db;dur=[0-9]+(\.[0-9]+)?"},
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "additionalProperties": False,
                    "properties": {
                        "error": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "description": "machine code"},
                        "message": {"type": "string", "minLength": 1, "description": "a sentence for people"},
                    },
                },
                "Product": {
                    "type": "object",
                    "required": ["id", "name", "category", "category_name", "price", "stock"],
                    "properties": {
                        "id": PRODUCT_ID,
                        "name": {"type": "string"},
                        "category": {"type": "string", "maxLength": MAX_CATEGORY, "description": "category slug"},
                        "category_name": {"type": "string"},
                        "description": {"type": "string", "description": "only for a single product"},
                        "price": MONEY,
                        "stock": {"type": "integer", "minimum": 0},
                    },
                },
                "ProductPage": {
                    "type": "object",
                    "required": ["items", "page", "per_page", "total"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "maxItems": MAX_PER_PAGE,
                            "items": {"$ref": "#/components/schemas/Product"},
                        },
                        "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                        "total": {"type": "integer", "minimum": 0},
                    },
                },
                "Recommendations": {
                    "type": "object",
                    "required": ["product_id", "items"],
                    "properties": {
                        "product_id": PRODUCT_ID,
                        "items": {
                            "type": "array",
                            "maxItems": MAX_RECOMMENDATIONS,
                            "items": {
                                "allOf": [
                                    {"$ref": "#/components/schemas/Product"},
                                    {
                                        "type": "object",
                                        "required": ["score"],
                                        "properties": {"score": {"type": "number"}},
                                    },
                                ]
                            },
                        },
                    },
                },
                "CategoryList": {
                    "type": "object",
                    "required": ["items"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "slug", "name", "product_count", "sales"],
                                "properties": {
                                    "id": {"type": "integer", "minimum": 1},
                                    "slug": {"type": "string", "maxLength": MAX_CATEGORY},
                                    "name": {"type": "string"},
                                    "product_count": {"type": "integer", "minimum": 0},
                                    "sales": {
                                        "type": "object",
                                        "description": "The category's sales figures, as the order events have "
                                        "counted them so far (the distributed variant counts them a little later "
                                        "than the order).",
                                        "required": ["orders", "units", "revenue"],
                                        "properties": {
                                            "orders": {"type": "integer", "minimum": 0},
                                            "units": {"type": "integer", "minimum": 0},
                                            "revenue": MONEY,
                                        },
                                    },
                                },
                            },
                        }
                    },
                },
                "OrderRequest": {
                    "type": "object",
                    "required": ["email", "items"],
                    "additionalProperties": False,
                    "properties": {
                        "email": {"type": "string", "maxLength": MAX_EMAIL, "pattern": EMAIL_PATTERN},
                        "items": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_ORDER_LINES,
                            "items": {
                                "type": "object",
                                "required": ["product_id", "quantity"],
                                "additionalProperties": False,
                                "properties": {
                                    "product_id": PRODUCT_ID,
                                    "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
                                },
                            },
                        },
                    },
                },
                "Order": {
                    "type": "object",
                    "required": ["id", "email", "status", "total", "created_at", "items"],
                    "properties": {
                        "id": ORDER_ID,
                        "email": {"type": "string", "maxLength": MAX_EMAIL},
                        "status": {"type": "string", "enum": ["confirmed"]},
                        "total": MONEY,
                        "created_at": {"type": "string", "format": "date-time"},
                        "items": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_ORDER_LINES,
                            "items": {
                                "type": "object",
                                "required": ["product_id", "name", "quantity", "unit_price", "line_total"],
                                "properties": {
                                    "product_id": PRODUCT_ID,
                                    "name": {"type": "string"},
                                    "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
                                    "unit_price": MONEY,
                                    "line_total": MONEY,
                                },
                            },
                        },
                    },
                },
                "Ready": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string", "enum": ["ready"]}},
                },
            },
        },
    }
