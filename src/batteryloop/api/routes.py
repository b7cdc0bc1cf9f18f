"""The HTTP API under ``/api/v1``: its routers, its request limits and its problem+json errors.

:func:`install` adds them to an application; :mod:`batteryloop.server` builds that application with the
web pages and the exchange node beside it. A new API module adds its ``router`` to :data:`ROUTERS`.
"""

from __future__ import annotations

import os

import orjson
from fastapi import FastAPI
from fastapi.responses import Response

from .. import __version__
from ..config import Settings
from . import aas, circular, dtr, participants, passports, problems
from . import alerts as alerts_api
from . import health as health_api
from . import hubs as hubs_api
from . import pilot as pilot_api
from . import trace as trace_api

ROUTERS = (participants.router, passports.router, circular.router, health_api.router, hubs_api.router,
           trace_api.router, alerts_api.router, pilot_api.router)


def install(app: FastAPI, settings: Settings) -> None:
    """Problems, the hot read path, the body limits and rate limit, and every API router."""
    if os.environ.get("BATTERYLOOP_BENCH_CONSTANT"):
        size = int(os.environ["BATTERYLOOP_BENCH_CONSTANT"])
        payload = orjson.dumps({"pad": "x" * max(0, size - 11)})

        # registered first, so that route matching costs it nothing: the fairest bare endpoint
        @app.get("/api/v1/_bench/constant", include_in_schema=False)
        async def constant() -> Response:
            return Response(payload, media_type="application/json")

    problems.install(app)
    passports.install_hot_routes(app)
    from .limits import Limits

    authenticate = app.state.services.participants.authenticate
    app.add_middleware(Limits, max_body=settings.max_body_bytes, max_bulk_body=settings.max_bulk_body_bytes,
                       max_depth=settings.max_json_depth, max_digits=settings.max_json_digits,
                       authenticate=authenticate)  # inside the rate limit: a refused flood still counts
    if settings.rate_limit_per_minute > 0:
        from .ratelimit import RateLimit

        app.add_middleware(RateLimit, per_minute=settings.rate_limit_per_minute, authenticate=authenticate,
                           participant_per_minute=settings.rate_limit_participant_per_minute,
                           trusted_proxies=settings.trusted_proxies,
                           shared=app.state.services.rate_buckets)  # PostgreSQL: one limit for all workers
    for router in ROUTERS:
        app.include_router(router)
    aas.install(app)  # the AAS API (IDTA-01002 Part 2) under /aas, with Part 2 error bodies
    dtr.install(app)  # the Digital Twin Registry (Tractus-X) under /api/v3, with Part 2 error bodies

    @app.get("/api/v1/health", tags=["meta"], summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}
