"""Circular pages: route decisions of retired packs (legitimate interest), recycling and BaaS economics,
and a battery model's compliance report — plotly figures built here, drawn by the vendored plotly.js."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ..access import Caller
from ..api.deps import Services, page_caller, services
from ..errors import BatteryloopError
from .pages import _ctx, templates

router = APIRouter(include_in_schema=False)
CallerDep = Annotated[Caller, Depends(page_caller)]
ServicesDep = Annotated[Services, Depends(services)]
_LAYOUT = {"height": 360, "margin": {"l": 60, "r": 10, "t": 40, "b": 60}}


def _plotly_version() -> str:
    import plotly

    return plotly.__version__


@router.get("/circular", response_class=HTMLResponse)
def index(request: Request, c: CallerDep) -> Response:
    return templates.TemplateResponse(request, "circular_index.html", _ctx(request, c))


# ------------------------------------------------------------------------------------------ routes
def route_figures(packs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NPV of every feasible route per pack (grouped bars)."""
    import plotly.graph_objects as go

    if not packs:
        return []
    names = [p["passport_id"].rsplit(".", 1)[-1] for p in packs]
    routes: list[str] = []
    for p in packs:
        for o in p["decision"]["ranking"]:
            if o["route"] not in routes:
                routes.append(o["route"])
    fig = go.Figure()
    for r in routes:
        ys = []
        for p in packs:
            o = next((o for o in p["decision"]["ranking"] if o["route"] == r), None)
            ys.append(o["npv_usd"] if o and o["feasible"] else None)
        fig.add_trace(go.Bar(name=r, x=names, y=ys))
    fig.update_layout(barmode="group", title="Net present value by route ($)", yaxis_title="NPV ($)", **_LAYOUT)
    return [{"id": "route-npv", "figure": fig.to_plotly_json()}]


@router.get("/circular/routes", response_class=HTMLResponse)
def routes_page(request: Request, c: CallerDep, s: ServicesDep) -> Response:
    """The route ranking of the retired packs the signed-in participant may read the state of health of."""
    if c.anonymous:
        return templates.TemplateResponse(request, "circular_routes.html", _ctx(
            request, c, result=None, figures=[],
            message="Route decisions read a pack's state of health, which needs legitimate interest: sign in "
                    "as a recycler, repairer, second-life operator, owner, authority or the pack's economic operator."))
    try:
        result = s.circular.retired_routes(c, limit=30)
    except BatteryloopError as exc:
        return templates.TemplateResponse(request, "error.html", _ctx(request, c, error=exc), status_code=exc.status)
    message = None if result["packs"] else (
        "No retired packs (status waste, or state of health below 80 %) whose state of health you may read.")
    flips = [{"passport_id": p["passport_id"], **f} for p in result["packs"]
             for f in p["decision"]["sensitivity"] if f["flips_at"] is not None]
    return templates.TemplateResponse(request, "circular_routes.html", _ctx(
        request, c, result=result, figures=route_figures(result["packs"][:20]), flips=flips, message=message,
        plotly_version=_plotly_version()))


# --------------------------------------------------------------------------------------- economics
def economics_figures(econ: dict[str, Any], baas: dict[str, Any]) -> list[dict[str, Any]]:
    import plotly.graph_objects as go

    rows = [r for r in econ["rows"] if r["feasible"]]
    chems = list(dict.fromkeys(r["chemistry"] for r in econ["rows"]))
    rec = go.Figure()
    for proc in ("pyro", "hydro", "direct"):
        by = {r["chemistry"]: r["material_net_value_usd_per_kwh"] for r in rows if r["process"] == proc}
        rec.add_trace(go.Bar(name=proc, x=chems, y=[by.get(ch) for ch in chems]))
    rec.update_layout(barmode="group", title="Recycling value at the reference prices ($ per kWh of pack)",
                      yaxis_title="$ / kWh (revenue − process inputs)", **_LAYOUT)
    cmp = baas["nio_comparison"]
    fee = go.Figure([
        go.Bar(name="NIO published fee", x=[x["nio"] for x in cmp], y=[x["fee_rmb_per_month"] for x in cmp]),
        go.Bar(name="our price at NIO's pack value", x=[x["nio"] for x in cmp],
               y=[x["ours_rmb_per_month_at_nio_pack_cost"] for x in cmp]),
    ])
    fee.update_layout(barmode="group", title="BaaS monthly fee: ours vs NIO (RMB)", yaxis_title="RMB / month", **_LAYOUT)
    return [{"id": "recycling-value", "figure": rec.to_plotly_json()}, {"id": "baas-nio", "figure": fee.to_plotly_json()}]


@router.get("/circular/economics", response_class=HTMLResponse)
def economics_page(request: Request, c: CallerDep, s: ServicesDep, term_months: int = 60, rate: float = 0.08,
                   margin: float = 0.1, residual_share: float | None = None) -> Response:
    """Recycling value by process and chemistry (reference data only: public), and BaaS price vs NIO."""
    from ..circular import nio_buyout_price
    from ..circular.service import CircularService

    try:
        nio_value = nio_buyout_price(0).price
        share = residual_share if residual_share is not None else nio_buyout_price(term_months).price / nio_value
        econ = CircularService.recycling_economics()
        baas = CircularService.baas_price(pack_cost=nio_value, term_months=term_months, residual_value=share * nio_value,
                                          annual_discount_rate_fraction=rate, margin_fraction=margin)
    except BatteryloopError as exc:
        return templates.TemplateResponse(request, "error.html", _ctx(request, c, error=exc), status_code=exc.status)
    return templates.TemplateResponse(request, "circular_economics.html", _ctx(
        request, c, econ=econ, baas=baas, share=share, term_months=term_months, rate=rate, margin=margin,
        figures=economics_figures(econ, baas), plotly_version=_plotly_version()))


# -------------------------------------------------------------------------------------- compliance
def compliance_figures(rep: dict[str, Any]) -> list[dict[str, Any]]:
    import plotly.graph_objects as go

    checks = rep["checks"]
    labels = [f"{x['process'] + ': ' if x['process'] else ''}{x['rule']}" for x in checks]
    colors = ["#2a9d8f" if x["passed"] else "#e76f51" if x["passed"] is False else "#8d99ae" for x in checks]
    fig = go.Figure([
        go.Bar(name="achieved", x=labels, y=[x["achieved_fraction"] for x in checks], marker_color=colors),
        go.Scatter(name="target in force", x=labels, y=[x["target_fraction"] for x in checks], mode="markers",
                   marker={"symbol": "line-ew-open", "size": 18, "color": "black"}),
    ])
    fig.update_layout(title="Achieved vs target (fractions; grey: no target in force yet)", yaxis_range=[0, 1.05],
                      height=420, margin={"l": 50, "r": 10, "t": 40, "b": 160})
    return [{"id": "compliance-checks", "figure": fig.to_plotly_json()}]


@router.get("/circular/compliance", response_class=HTMLResponse)
def compliance_page(request: Request, c: CallerDep, s: ServicesDep, model: str | None = None,
                    year: int | None = None, plant: str | None = None, rule: str | None = None) -> Response:
    """A model's compliance report (model-level, public): pass/fail per target, with references."""
    models = [m["model_id"] for m in s.passports.list_models(c)]
    # default: the latest year the model's packs were made (a year without packs has no recycled content)
    year = year or (s.passports.latest_year(model) if model else None) or s.passports.latest_year() \
        or dt.date.today().year
    rep = None
    if model:
        try:
            rep = s.circular.compliance(model, year, plant=plant or None, rule=rule or None, caller=c)
        except BatteryloopError as exc:
            return templates.TemplateResponse(request, "error.html", _ctx(request, c, error=exc),
                                              status_code=exc.status)
        rep.pop("_csv")
    return templates.TemplateResponse(request, "circular_compliance.html", _ctx(
        request, c, models=models, model=model or "", year=year, plant=plant or "", rule=rule or "", rep=rep,
        figures=compliance_figures(rep) if rep else [], plotly_version=_plotly_version()))
