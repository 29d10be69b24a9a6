"""The OpenAPI document as the API really behaves: every error in one shape (`ErrorOut`), and each
operation listing the errors it can give.

FastAPI documents its own validation error shape and no other error; the app answers every error,
validation included, as `{"error", "detail"}` (app.py), so the document is completed here, once.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from aggregator.api.schemas import ErrorOut

_ERROR = {"$ref": "#/components/schemas/ErrorOut"}
_WHY = {
    "401": "API keys are set and the request has no valid `Authorization: Bearer <key>`",
    "404": "No such id",
    "413": "The request body is over AGGREGATOR_MAX_REQUEST_BYTES",
    "422": "Invalid input: a parameter, a body field or a cursor; `detail` says which and why",
    "503": "The store (Redis) is unavailable; try again",
}


def _errors(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["422", "503"]
    if "{" in path:
        codes.append("404")
    if operation.get("security"):
        codes.append("401")
    if method in ("post", "put", "patch"):
        codes.append("413")
    return sorted(codes)


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with its error answers; built once and kept by the app."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorOut"] = ErrorOut.model_json_schema()
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's shape, never sent
        schemas.pop(name, None)
    for path, operations in doc.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in _errors(path, method, operation):
                responses[code] = {
                    "description": _WHY[code],
                    "content": {"application/json": {"schema": _ERROR}},
                }
    app.openapi_schema = doc
    return doc
