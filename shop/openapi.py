"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json."""

from __future__ import annotations

from shop.validation import MAX_ORDER_LINES, MAX_PER_PAGE, MAX_QUANTITY, MAX_QUERY


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str, schema: str, status_headers: bool = True) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    if status_headers:
        response["headers"] = {
            "X-Served-By": {"$ref": "#/components/headers/X-Served-By"},
            "Server-Timing": {"$ref": "#/components/headers/Server-Timing"},
        }
    return response


UNAVAILABLE = _error("A dependency (the database, or the API for the web tier) is unavailable.")
ID_PARAM = {"in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
MONEY = {"type": "string", "pattern": r"^\d+\.\d{2}$", "examples": ["12.50"]}


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "twinshop API",
            "version": "1.0.0",
            "description": "The same API in both variants: served by the monolith itself, or by the API replicas "
            "behind HAProxy. Every error has the shape {error, message}.",
        },
        "paths": {
            "/api/products": {
                "get": {
                    "summary": "List products (paged, searchable, filterable by category)",
                    "parameters": [
                        {
                            "name": "page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "default": 1},
                        },
                        {
                            "name": "per_page",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_PER_PAGE,
                                "default": 20,
                            },
                        },
                        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": MAX_QUERY}},
                        {"name": "category", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "ids",
                            "in": "query",
                            "description": "comma-separated product ids",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": _ok("A page of products", "ProductPage"),
                        "400": _error("Bad paging or query"),
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/api/products/{product_id}": {
                "get": {
                    "summary": "One product",
                    "parameters": [{"name": "product_id", **ID_PARAM}],
                    "responses": {
                        "200": _ok("The product", "Product"),
                        "404": _error("No such product"),
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/api/products/{product_id}/recommendations": {
                "get": {
                    "summary": "Similar products, computed from descriptions on every call (deliberately CPU-heavy)",
                    "parameters": [
                        {"name": "product_id", **ID_PARAM},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 20}},
                    ],
                    "responses": {
                        "200": _ok("Similar products, best first", "Recommendations"),
                        "400": _error("Bad limit"),
                        "404": _error("No such product"),
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/api/categories": {
                "get": {
                    "summary": "Every category with its number of products",
                    "responses": {"200": _ok("Categories", "CategoryList"), "503": UNAVAILABLE},
                }
            },
            "/api/orders": {
                "post": {
                    "summary": "Place an order (all or nothing)",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "description": "Repeating a key returns the first order (same id) and creates nothing.",
                            "schema": {"type": "string", "maxLength": 200},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderRequest"}}},
                    },
                    "responses": {
                        "201": _ok("The order (also returned for a repeated Idempotency-Key)", "Order"),
                        "400": _error("Invalid order"),
                        "409": _error("out_of_stock, or an Idempotency-Key reused for a different order"),
                        "413": _error("Body too large"),
                        "415": _error("Body is not JSON"),
                        "422": _error("unknown_product"),
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/api/orders/{order_id}": {
                "get": {
                    "summary": "One order",
                    "parameters": [{"name": "order_id", **ID_PARAM}],
                    "responses": {
                        "200": _ok("The order", "Order"),
                        "404": _error("No such order"),
                        "503": UNAVAILABLE,
                    },
                }
            },
        },
        "components": {
            "headers": {
                "X-Served-By": {
                    "description": "Nodes that handled the request, in order (monolith; web-1,api-2; api-3)",
                    "schema": {"type": "string"},
                },
                "Server-Timing": {
                    "description": "db;dur=…, api;dur=… (distributed web), app;dur=…",
                    "schema": {"type": "string"},
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                },
                "Product": {
                    "type": "object",
                    "required": ["id", "name", "category", "price", "stock"],
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "category": {"type": "string", "description": "category slug"},
                        "category_name": {"type": "string"},
                        "description": {"type": "string"},
                        "price": MONEY,
                        "stock": {"type": "integer", "minimum": 0},
                    },
                },
                "ProductPage": {
                    "type": "object",
                    "required": ["items", "page", "per_page", "total"],
                    "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Product"}},
                        "page": {"type": "integer"},
                        "per_page": {"type": "integer"},
                        "total": {"type": "integer"},
                    },
                },
                "Recommendations": {
                    "type": "object",
                    "properties": {
                        "product_id": {"type": "integer"},
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Product"}},
                    },
                },
                "CategoryList": {
                    "type": "object",
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "integer"},
                                    "slug": {"type": "string"},
                                    "name": {"type": "string"},
                                    "product_count": {"type": "integer"},
                                },
                            },
                        }
                    },
                },
                "OrderRequest": {
                    "type": "object",
                    "required": ["email", "items"],
                    "properties": {
                        "email": {"type": "string", "format": "email", "maxLength": 254},
                        "items": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_ORDER_LINES,
                            "items": {
                                "type": "object",
                                "required": ["product_id", "quantity"],
                                "properties": {
                                    "product_id": {"type": "integer", "minimum": 1},
                                    "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
                                },
                            },
                        },
                    },
                },
                "Order": {
                    "type": "object",
                    "required": ["id", "status", "total", "items"],
                    "properties": {
                        "id": {"type": "integer"},
                        "email": {"type": "string"},
                        "status": {"type": "string", "enum": ["confirmed"]},
                        "total": MONEY,
                        "created_at": {"type": "string", "format": "date-time"},
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "product_id": {"type": "integer"},
                                    "name": {"type": "string"},
                                    "quantity": {"type": "integer"},
                                    "unit_price": MONEY,
                                    "line_total": MONEY,
                                },
                            },
                        },
                    },
                },
            },
        },
    }
