"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount

from ..errors import BatteryloopError, _loc, _short, record_error_field
from ..responses import PROBLEM

log = logging.getLogger("batteryloop.api")


def problem(status: int, title: str, detail: str, instance: str, headers: Mapping[str, str] | None = None,
            **extra: Any) -> Response:
    body: dict[str, Any] = {"type": f"https://batteryloop.dev/problems/{status}", "title": title, "status": status,
                            "detail": detail, "instance": instance}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    try:
        payload = orjson.dumps(body, default=str)
    except TypeError:  # e.g. an echoed input value orjson cannot encode: fall back to the stdlib encoder
        import json

        payload = json.dumps(body, default=str).encode()
    return Response(payload, status_code=status, media_type=PROBLEM, headers=headers)


def _allowed(request: Request) -> str:
    """The methods this path takes. The router's own ``Allow`` names only the first route on the path (e.g.
    POST but not GET), so ask every route (mounted apps answer for themselves); where the OpenAPI document
    describes the path, keep the methods of its most specific template, as OpenAPI matches
    (``/passports/batch`` before ``/passports/{passport_id}``)."""
    methods = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    routed = [m for m in methods if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)]
    path = request.scope["path"]
    documented: dict[int, set[str]] = {}  # number of path parameters → methods of the templates matching
    for template, ops in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path):
            documented.setdefault(template.count("{"), set()).update(m.upper() for m in ops)
    if documented:
        best = documented[min(documented)]
        routed = [m for m in routed if m in best] or sorted(best)
    return ", ".join(routed)


ErrorBody = Callable[[int, str, Mapping[str, str]], Response]
"""An error answer in another shape than a problem document: (status, detail, headers) → the answer."""


def own_error_body(app: Any, prefix: str, body: ErrorBody) -> None:
    """Paths under ``prefix`` answer errors with ``body`` (their standard's own shape, e.g. the AAS API's
    Part 2 ``Result`` under /aas) instead of a problem document."""
    app.state.error_bodies = {**(getattr(app.state, "error_bodies", None) or {}), prefix: body}


def error_body_of(app: Any, path: str) -> ErrorBody | None:
    """The error body registered (:func:`own_error_body`) for the prefix ``path`` is under, if any."""
    for prefix, body in (getattr(getattr(app, "state", None), "error_bodies", None) or {}).items():
        if path == prefix or path.startswith(prefix + "/"):
            return body  # type: ignore[no-any-return]
    return None


def _answer(request: Request, status: int, title: str, detail: str, headers: Mapping[str, str] | None = None,
            **extra: Any) -> Response:
    """A problem document, unless the path's standard answers errors in its own shape (:func:`error_body_of`)."""
    path = request.url.path
    body = error_body_of(request.app, path)
    root = request.scope.get("root_path") or ""
    if body is None and root and path.startswith(root):  # an app mounted under a path (the exchange node under
        body = error_body_of(request.app, path[len(root):])  # /node) registered its prefixes within it
    if body is not None:
        return body(status, detail, {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})})
    return problem(status, title, detail, path, headers, **extra)


def install(app: FastAPI) -> None:
    @app.exception_handler(BatteryloopError)
    async def _ours(request: Request, exc: BatteryloopError) -> Response:
        return _answer(request, exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for e in exc.errors():
            loc = tuple(e.get("loc", ()))
            where = loc[0] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else None
            field = _loc(loc[1:] if where else loc)
            msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
            if field == "(record)":  # a check of the whole body that names its field: that field
                field, msg = record_error_field(field, msg)
            errors.append({"field": field, "in": where, "rule": e.get("type"), "message": f"{field}: {msg}",
                           "value": _short(e.get("input"))})
        first = errors[0]["message"] if errors else "invalid request"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return _answer(request, 422, "Invalid data", f"invalid request: {first}{more}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized", 403: "Forbidden"}
        headers = dict(exc.headers or {})  # keep the exception's headers (e.g. a 401's WWW-Authenticate)
        if exc.status_code == 405:
            headers["Allow"] = _allowed(request) or headers.get("Allow") or "GET, HEAD"
        return _answer(request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return _answer(request, 500, "Internal error", "the server failed to handle this request; it has been logged")
