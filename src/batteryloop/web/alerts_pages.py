"""The alerts page (``/alerts``): the alerts the reader may read (about its own packs; every pack for authorities
and the node admin — the policy point's ``alert.read``, asked by :class:`batteryloop.alerts.service.AlertService`)
with each delivery's outcome, and the reader's rules. Applies the model and year filters (the year an alert fired)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..access import Caller
from ..api.deps import Services, page_caller, services
from ..errors import BatteryloopError
from . import filters
from .pages import _ctx, templates

router = APIRouter(include_in_schema=False)
CallerDep = Annotated[Caller, Depends(page_caller)]
ServicesDep = Annotated[Services, Depends(services)]


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, c: CallerDep, s: ServicesDep,
                pack: Annotated[str | None, Query(max_length=100)] = None,
                kind: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    f = filters.use(request, "model", "year")
    if c.anonymous:
        return templates.TemplateResponse(request, "alerts.html", _ctx(request, c, items=None, rules=[], pack=pack,
                                                                       kind=kind, error=None))
    try:
        year = int(f["year"]) if str(f.get("year", "")).isdigit() else None
        items = s.alerts.alerts(c, pack_id=pack or None, model_id=f.get("model"), kind=kind or None, year=year,
                                limit=500)
        rules = s.alerts.rules(c)
    except BatteryloopError as exc:
        return templates.TemplateResponse(request, "error.html", _ctx(request, c, error=exc), status_code=exc.status)
    names = {r["id"]: r["name"] for r in rules}
    for a in items:
        a["delivery"] = _delivery_text(a["deliveries"])
    return templates.TemplateResponse(request, "alerts.html", _ctx(
        request, c, items=items, rules=rules, rule_names=names, pack=pack, kind=kind, error=None))


def _delivery_text(deliveries: list[dict[str, Any]]) -> str:
    if not deliveries:
        return "not delivered yet"
    d = deliveries[-1]
    if d["status"] == "stored":
        return f"e-mail stored for {d['target'] or 'the rule owner'}"
    code = f", HTTP {d['response_status']}" if d["response_status"] else ""
    to = d["target"] or "the rule owner's receiver"  # another's rule: its target is not shown
    return f"{d['status']} to {to} ({d['attempts']} attempt{'s' if d['attempts'] != 1 else ''}{code})"
