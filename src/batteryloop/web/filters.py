"""Dashboard filters that carry across pages: region, model, plant, year.

Set once — in the filter bar of any page, or in a link's query (``?model=EM-LFP-60&year=2024``) — a filter is
kept in a cookie (:data:`COOKIE`) and applied by every page whose data have that dimension; a value in the
query overrides the cookie for that dimension, an empty one (``?year=``) clears it. :class:`FilterState` (an
ASGI middleware, installed by :func:`.routes.install`) reads them into ``request.state.filters`` before the
page runs and writes the cookie after; a page asks :func:`use` for the dimensions it can apply, which records
them, and the filter bar (``_filters.html``) says which filters this page applied and which it cannot.

:func:`filter_report` applies filters to a pilot run's report (the pilot pages' data): in every list of rows,
a row whose ``year``, ``model``/``model_id``, ``region`` or plant (``plant`` — a site — or ``plant_country``: either
may match) differs from the filter is left out, and
in every mapping keyed by model ids or region names, the other models' or regions' entries; it says per
top-level part of the report which dimensions it could apply, so that a page applies exactly the dimensions
of the parts its builder read (:class:`Tracked`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from fastapi import Request
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .downloads import NOT_PAGES

DIMENSIONS = ("region", "model", "plant", "year")
LABELS = {"region": "Region", "model": "Model", "plant": "Plant", "year": "Year"}
COOKIE = "batteryloop_filters"
MAX_LEN = 100
#: row keys that carry each dimension in a pilot report (and in the other pages' rows)
ROW_KEYS = {"year": ("year",), "model": ("model", "model_id"), "region": ("region",),
            "plant": ("plant", "manufacture_site", "plant_country", "manufacture_country")}
#: a plant is named by its site ("EuroMotors Pack Plant Zwickau") or by its country ("DE"): a row matches when any
#: of its plant keys holds the value
ANY_KEY = frozenset({"plant"})


@dataclass
class Filters:
    """The reader's filters (dimension → value, only those set), problems with what was given, and which
    dimensions the page applied (filled by :func:`use`)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    applied: set[str] = field(default_factory=set)
    aware: bool = False  # the page asked for its filters (it shows the filter bar even when none is set)

    @property
    def year(self) -> int | None:
        return int(self.values["year"]) if "year" in self.values else None

    def not_applied(self) -> list[str]:
        return [d for d in DIMENSIONS if d in self.values and d not in self.applied]

    def query(self, **over: str) -> str:
        """The filters as a query string (for links that carry them)."""
        vals = {**self.values, **over}
        return "&".join(f"{k}={quote(v)}" for k, v in vals.items() if v)


def _check(dim: str, value: str) -> tuple[str | None, str | None]:
    """(the value kept, or None; an error naming what is wrong)."""
    v = value.strip()
    if not v:
        return None, None
    if len(v) > MAX_LEN:
        return None, f"{dim}: at most {MAX_LEN} characters (got {len(v)}); filter ignored"
    if dim == "year":
        if not v.isdigit() or not 1990 <= int(v) <= dt.date.today().year + 50:
            return None, f"year {v!r} is not a year (1990–{dt.date.today().year + 50}); filter ignored"
    return v, None


def read(query: list[tuple[str, str]], cookie: str | None) -> tuple[Filters, bool]:
    """The filters from the cookie with the query's values over them; whether the query set any (cookie to write)."""
    stored: dict[str, str] = {}
    if cookie:
        for k, v in parse_qsl(unquote(cookie), keep_blank_values=False):
            if k in DIMENSIONS:
                stored[k] = v
    given = {k: v for k, v in query if k in DIMENSIONS}
    merged = {**stored, **given}
    f = Filters()
    for d in DIMENSIONS:
        if d in merged:
            v, err = _check(d, merged[d])
            if v is not None:
                f.values[d] = v
            if err and d in given:
                f.errors.append(err)
    return f, bool(given)


def current(request: Request) -> Filters:
    """This request's filters (a bare :class:`Filters` outside the middleware, e.g. in unit tests)."""
    f = getattr(request.state, "filters", None)
    if f is None:
        f, _ = read(list(request.query_params.multi_items()), request.cookies.get(COOKIE))
        request.state.filters = f
    return f


def use(request: Request, *dims: str) -> dict[str, str]:
    """The filters of ``dims`` that are set (the page applies them: recorded for the filter bar)."""
    f = current(request)
    f.aware = True
    out = {d: f.values[d] for d in dims if d in f.values}
    f.applied.update(out)
    return out


def mark_applied(request: Request, dims: set[str]) -> None:
    f = current(request)
    f.aware = True
    f.applied.update(d for d in dims if d in f.values)


class FilterState:
    """Reads the filters of a page request into ``request.state.filters``; writes the cookie when the query set any."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NOT_PAGES):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        header = next((v for k, v in scope.get("headers", ()) if k == b"cookie"), b"")
        f, write = read(query, cookie_parser(header.decode("latin-1")).get(COOKIE))  # as request.cookies reads it
        scope.setdefault("state", {})["filters"] = f

        async def with_cookie(message: Message) -> None:
            if write and message["type"] == "http.response.start":
                value = quote(f.query(), safe="")
                attrs = "; Path=/; SameSite=Lax; HttpOnly; Max-Age=" + ("2592000" if value else "0")
                message = {**message, "headers": [*message.get("headers", ()),
                                                  (b"set-cookie", f"{COOKIE}={value}{attrs}".encode("latin-1"))]}
            await send(message)

        await self.app(scope, receive, with_cookie)


# ------------------------------------------------------------------------------------ pilot reports
def _matches(dim: str, value: Any, want: str) -> bool:
    if value is None:
        return True  # a row without that dimension's value is not filtered out by it
    return str(value) == want


def filter_report(rep: Mapping[str, Any], values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """(the report cut to ``values``, top-level key → the dimensions applied inside it)."""
    models = {str(m.get("model_id")) for m in rep.get("models") or [] if isinstance(m, dict)}
    regions = _regions(rep)
    out: dict[str, Any] = {}
    applied: dict[str, set[str]] = {}
    for k, v in rep.items():
        if k in ("models", "participants", "names", "references", "config", "_tokens", "run_id", "created_at"):
            out[k] = v
            continue
        seen: set[str] = set()
        out[k] = _cut(v, values, models, regions, seen)
        if seen:
            applied[k] = seen
    return out, applied


def _regions(rep: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(v: Any, depth: int = 0) -> None:
        if depth > 4:
            return
        if isinstance(v, dict):
            if isinstance(v.get("region"), str):
                found.add(v["region"])
            for x in v.values():
                walk(x, depth + 1)
        elif isinstance(v, list):
            for x in v[:200]:
                walk(x, depth + 1)

    walk(rep.get("decisions_sample"))
    for row in rep.get("second_life_by_year") or []:
        if isinstance(row, dict):
            found.update(k for k, x in row.items() if isinstance(x, dict) and k.isupper() and len(k) <= 3)
    return found


def _cut(v: Any, values: Mapping[str, str], models: set[str], regions: set[str], seen: set[str]) -> Any:
    if isinstance(v, list):
        rows = []
        for x in v:
            if isinstance(x, dict) and not _keep_row(x, values, seen):
                continue
            rows.append(_cut(x, values, models, regions, seen))
        return rows
    if isinstance(v, dict):
        out = {}
        keyed_by_model = "model" in values and models and any(k in models for k in v)
        keyed_by_region = "region" in values and regions and any(k in regions for k in v)
        if keyed_by_model:
            seen.add("model")
        if keyed_by_region:
            seen.add("region")
        for k, x in v.items():
            if keyed_by_model and k in models and k != values["model"]:
                continue
            if keyed_by_region and k in regions and k != values["region"]:
                continue
            out[k] = _cut(x, values, models, regions, seen)
        return out
    return v


def _keep_row(row: Mapping[str, Any], values: Mapping[str, str], seen: set[str]) -> bool:
    for dim, want in values.items():
        present = [row[k] for k in ROW_KEYS[dim] if k in row and not isinstance(row[k], (dict, list))]
        if not present:
            continue
        seen.add(dim)
        hits = [_matches(dim, v, want) for v in present]
        if not (any(hits) if dim in ANY_KEY else all(hits)):
            return False
    return True


class Tracked(dict):  # type: ignore[type-arg]
    """A report that records which top-level parts a page's builder read."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.read: set[str] = set()

    def __getitem__(self, key: Any) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)
