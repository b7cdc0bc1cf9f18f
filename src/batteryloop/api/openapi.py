"""The OpenAPI document, completed in one place: every operation's error answers as RFC 9457 problems.

FastAPI documents only the success answer and a 422 of its own shape. Every error this API sends is an
``application/problem+json`` document (see :mod:`batteryloop.api.problems`), so each operation gets the
errors any request may meet — 400, 401, 403, 404, 413, 422, 429 — and writes also 409 (a conflict: an
existing id, a stale version) and 503 (the store stayed busy), each with the ``Problem`` schema. A status
a route documents itself is left as it is (FastAPI's own 422 is replaced). Bearer authentication is
declared as optional on every operation: without a token a caller reads the public tier.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .problems import PROBLEM

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem document; further members may say more (e.g. the current version).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "a URI naming the kind of problem"},
        "title": {"type": "string", "description": "the kind of problem, short"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "the HTTP status"},
        "detail": {"type": "string", "description": "what went wrong, for people: the field, value and rule"},
        "instance": {"type": "string", "description": "the request path"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemError"},
                   "description": "one entry per invalid field (422)"},
    },
    "additionalProperties": True,
}
PROBLEM_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "ProblemError",
    "properties": {
        "field": {"type": "string", "description": "where, e.g. body.cells[3].mass_kg"},
        "in": {"type": ["string", "null"], "description": "body, query, path, header or cookie"},
        "rule": {"type": ["string", "null"], "description": "the rule broken"},
        "message": {"type": "string"},
        "value": {"description": "the value given (shortened)"},
    },
    "additionalProperties": True,
}

#: status → when an operation answers it
ERRORS: dict[str, str] = {
    "400": "Bad request: the request breaks a rule the schema cannot state",
    "401": "Unauthorized: a bearer token is needed here, or the one given is malformed, unknown, expired or revoked",
    "403": "Forbidden: the caller may not do this",
    "404": "Not found: no such resource (or none the caller may see)",
    "413": "Content too large: the request body is over the limit",
    "422": "Invalid data: the problem's errors list each invalid field",
    "429": "Too many requests: retry after Retry-After seconds, or sign in",
}
WRITE_ERRORS: dict[str, str] = {
    "409": "Conflict: the resource exists already or changed since it was read",
    "503": "Store busy: the write kept meeting concurrent writes; retry later",
}
WRITES = frozenset({"post", "put", "patch", "delete"})
#: an operation marked so documents its own error answers (``openapi_extra={OWN_ERRORS: "<shape>"}``)
OWN_ERRORS = "x-error-body"
#: the errors the middleware answers before any route, as problem documents on every path
BEFORE_ROUTES = frozenset({"413", "429"})


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the problem schema and the error answers to every operation of ``schema`` (in place)."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemError"] = PROBLEM_ERROR_SCHEMA
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "an API token (blt_…) from the node operator"}
    for ops in schema.get("paths", {}).values():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            own_422 = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if own_422.get("$ref", "").endswith("/HTTPValidationError"):
                del responses["422"]  # FastAPI's; ours is a problem document
            errors = {**ERRORS, **WRITE_ERRORS} if method in WRITES else ERRORS
            if op.get(OWN_ERRORS):  # a standard's own error body (the AAS API's Part 2 Result): the route
                errors = {s: d for s, d in errors.items() if s in BEFORE_ROUTES}  # documents it; only the
                # limits' and the rate limit's answers, sent before any route, stay problem documents
            for status, description in errors.items():
                responses.setdefault(status, _problem(description))
            op["responses"] = dict(sorted(responses.items()))
            op.setdefault("security", [{}, {"bearer": []}])
    text = repr(schema["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"/{unused}'" not in text:
            schemas.pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the completed document (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, openapi_version=app.openapi_version,
                              description=app.description, routes=app.routes, tags=app.openapi_tags,
                              servers=app.servers)
            # schemas of a standard an adapter serves (the registry's, app.state.openapi_components)
            extra = getattr(app.state, "openapi_components", None) or {}
            doc.setdefault("components", {}).setdefault("schemas", {}).update(extra)
            app.openapi_schema = complete(doc)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
