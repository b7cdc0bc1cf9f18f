"""The web server: one ASGI application with the API, the dashboard and (optionally) the exchange node.

``uvicorn batteryloop.server:create_app --factory`` (what ``batteryloop serve`` runs) builds the services
with :func:`batteryloop.services.build_services` and mounts the adapters on them:

- :mod:`batteryloop.api` — the JSON API under ``/api/v1`` (its limits, rate limit and problem documents);
- the exchange node under ``/node`` when ``BATTERYLOOP_NODE_CONFIG`` names a node configuration;
- :mod:`batteryloop.web` — the dashboard pages and their static files;
- the OpenAPI error answers, and the security headers outermost, on every answer.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import __version__
from .config import Settings, get_settings
from .services import Services, build_services

WEB = Path(__file__).resolve().parent / "web"


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    from .api import openapi
    from .api import routes as api
    from .api.headers import SecurityHeaders, csp_nonce
    from .web import routes as web

    settings = settings or (services.settings if services else get_settings())
    app = FastAPI(
        title="batteryloop",
        version=__version__,
        description="Battery passport registry (EU 2023/1542 Annex XIII) and circular-economy platform. "
                    "Authenticate with `Authorization: Bearer <token>`; without it you read the public tier.",
    )
    app.state.services = services or build_services(settings)
    api.install(app, settings)

    node_config = os.environ.get("BATTERYLOOP_NODE_CONFIG")
    if node_config:  # this registry is also a participant's data-space connector, under /node
        from .exchange.app import mount_node

        mount_node(app, node_config, "/node", store=app.state.services.store, passports=app.state.services.passports)

    web.install(app, csp_nonce)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    openapi.install(app)  # every operation's error answers, as problem documents
    app.add_middleware(SecurityHeaders)  # added last, so outermost: on every answer, 413 and 429 included
    return app
