"""The dashboard's pages: :func:`install` adds each page module's ``router`` in :data:`PAGES`, and the two
mechanisms every page shares: the filters that carry across pages (:mod:`.filters`) and the CSV/Excel download
of every data table (:mod:`.downloads`).

A new page module or package (a ``router`` of ``GET`` pages rendering templates from ``web/templates``;
``pilot`` is a package, one module per dashboard section) is added to :data:`PAGES`; its access rules come
from :mod:`batteryloop.access`, like the API's.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from . import alerts_pages, circular_pages, fleet_pages, hub_pages, pages, pilot, trace_pages
from .downloads import TableDownloads
from .filters import FilterState

PAGES = (pages, circular_pages, trace_pages, pilot, alerts_pages, hub_pages, fleet_pages)


def install(app: FastAPI, csp_nonce: Callable[[], str]) -> None:
    pages.templates.env.globals["csp_nonce"] = csp_nonce  # <script nonce="{{ csp_nonce() }}">
    for module in PAGES:
        app.include_router(module.router)
    app.add_middleware(FilterState)  # inside the downloads: a download sees the same filters as its page
    app.add_middleware(TableDownloads)
