"""The FastAPI application: API routers, web pages, static assets, problem+json errors."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import orjson
from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..config import Settings, get_settings
from ..identity import ParticipantService
from ..passport.service import PassportService
from ..store.db import Store
from . import circular, openapi, participants, passports, problems
from . import health as health_api
from . import hubs as hubs_api
from . import trace as trace_api
from .deps import Services
from .headers import SecurityHeaders, csp_nonce

WEB = Path(__file__).resolve().parent.parent / "web"


def build_services(settings: Settings, store: Store | None = None, *, migrate: bool = True) -> Services:
    store = store or Store(settings.database_url)
    if migrate:
        store.upgrade()
    from ..circular.service import CircularService
    from ..health.service import HealthService
    from ..trace.service import TraceService, TraceSettings

    participants_svc = ParticipantService(store, admin_token=settings.admin_token,
                                          token_ttl=timedelta(days=settings.token_ttl_days))
    passports_svc = PassportService(store, base_url=settings.public_base_url,
                                    issuing_agency_code=settings.issuing_agency_code,
                                    accepted_issuing_agency_codes=settings.accepted_issuing_agency_codes)
    from ..audit import AuditLog
    from ..relations import Delegations
    from ..trace.keystore import KeyStore

    passports_svc.audit = AuditLog(store)
    trace_svc = TraceService(store, TraceSettings.from_env())
    keys = KeyStore(settings.var_dir / "keys")
    return Services(
        settings=settings,
        store=store,
        participants=participants_svc,
        passports=passports_svc,
        circular=CircularService(passports_svc, participants_svc),
        health=HealthService(passports_svc, settings.var_dir / "health", trace=trace_svc, keys=keys),
        audit=passports_svc.audit,
        trace=trace_svc,
        keys=keys,
        delegations=Delegations(store),
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or (services.settings if services else get_settings())
    app = FastAPI(
        title="batteryloop",
        version=__version__,
        description="Battery passport registry (EU 2023/1542 Annex XIII) and circular-economy platform. "
                    "Authenticate with `Authorization: Bearer <token>`; without it you read the public tier.",
    )
    app.state.services = services or build_services(settings)
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
                           trusted_proxies=settings.trusted_proxies)
    app.include_router(participants.router)
    app.include_router(passports.router)
    app.include_router(circular.router)
    app.include_router(health_api.router)
    app.include_router(hubs_api.router)
    app.include_router(trace_api.router)

    node_config = os.environ.get("BATTERYLOOP_NODE_CONFIG")
    if node_config:  # this registry is also a participant's data-space connector, under /node
        from ..exchange.app import mount_node

        mount_node(app, node_config, "/node", store=app.state.services.store, passports=app.state.services.passports)

    from ..web import pages

    pages.templates.env.globals["csp_nonce"] = csp_nonce  # <script nonce="{{ csp_nonce() }}">
    app.include_router(pages.router)
    app.include_router(__import__("batteryloop.web.circular_pages", fromlist=["router"]).router)  # /circular pages
    app.include_router(__import__("batteryloop.web.trace_pages", fromlist=["router"]).router)  # /trace pages
    app.include_router(__import__("batteryloop.web.pilot_pages", fromlist=["router"]).router)  # /pilot dashboard
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

    @app.get("/api/v1/health", tags=["meta"], summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    openapi.install(app)  # every operation's error answers, as problem documents
    app.add_middleware(SecurityHeaders)  # added last, so outermost: on every answer, 413 and 429 included
    return app
