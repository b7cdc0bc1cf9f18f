"""The Ouranos data transport API's HTTP face: ``GET``/``PUT /api/v1/datatransport`` over
:class:`~batteryloop.exchange.ouranos.OuranosService` (mounted by :mod:`batteryloop.exchange.app`)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from .ouranos import OuranosError, OuranosService


def ouranos_router(service: OuranosService, authenticate: Any) -> APIRouter:
    """``GET``/``PUT /api/v1/datatransport?dataTarget=…``; ``authenticate(request) -> operator id``."""
    router = APIRouter(tags=["ouranos"])

    def run(request: Request, fn: Any) -> Response:
        target = request.query_params.get("dataTarget", "")
        try:
            caller = authenticate(request)
            body = fn(caller, target)
            return Response(orjson.dumps(body), media_type="application/json",
                            status_code=201 if request.method == "PUT" else 200)
        except OuranosError as exc:
            return Response(orjson.dumps(exc.body(target, request.method)), status_code=exc.status,
                            media_type="application/json")

    @router.get("/api/v1/datatransport")
    def get(request: Request) -> Response:
        q = request.query_params

        def handle(caller: str, target: str) -> Any:
            if target == "parts":
                return service.parts(caller, q.get("traceId"))
            if target == "partsStructure":
                return service.parts_structure(caller, q.get("traceId", ""))
            if target == "tradeRequest":
                return service.trades(caller, as_="downstream")
            if target == "status":
                return service.status(caller)
            if target == "cfp":
                ids = [x for x in (q.get("traceIds") or q.get("traceId") or "").split(",") if x]
                if not ids or len(ids) > 50:
                    raise OuranosError(400, "Validation failed, traceIds: give 1 to 50 trace ids.")
                return service.cfp(caller, ids)
            if target == "cfpCertification":
                return service.certification(caller, q.get("traceId", ""))
            raise OuranosError(400, "Invalid request parameters, dataTarget: Unexpected query parameter")

        return run(request, handle)

    @router.put("/api/v1/datatransport")
    async def put(request: Request) -> Response:
        raw = await request.body()
        q = request.query_params
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None

        def handle(caller: str, target: str) -> Any:
            if target == "parts":
                return service.put_parts(caller, body)
            if target == "partsStructure":
                return service.put_parts_structure(caller, body)
            if target == "tradeRequest":
                return service.put_trade_request(caller, body)
            if target == "tradeResponse":
                return service.put_trade_response(caller, q.get("tradeId", ""), q.get("traceId", ""))
            if target == "cfp":
                return service.put_cfp(caller, body)
            raise OuranosError(400, "Invalid request parameters, dataTarget: Unexpected query parameter")

        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(run, request, handle)

    return router
