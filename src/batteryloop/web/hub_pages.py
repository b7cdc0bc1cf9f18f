"""The hubs' virtual power plant (``/vpp``) and the zero-carbon ledger of the hubs' parks (``/zero-carbon``).

**VPP.** A second-life operator's repurposed packs (its passports: the policy point's read tiers decide, as on
``/hubs``) are planned into up to three hubs of its country (:func:`batteryloop.hubs.service.plan_from_passports`)
and aggregated on one day (:func:`batteryloop.hubs.vpp.vpp_day`): first with no request, which gives each hour's
flexibility on offer (up: less import; down: more), then following a grid signal — absorb the midday sun
(11:00–13:00, half the downward offer) and relieve the evening peak (17:00–20:00, half the upward offer). The page
shows per hour what was offered, requested and delivered, the net grid position before and after, and per hub
what following the signal cost against its own optimum, by cause — energy bought and sold, wear, refilling what
the day ended short of — and so the least an aggregator must pay per kWh delivered (the storage owner's opportunity
cost; the hubs shed no load to follow it: docs/hubs.md). Overseers (authorities, the node admin) pick the operator (``?operator=``). Computed on first view and
kept (nothing at seed time).

**Zero-carbon ledger.** For each second-life integrator's hub of the latest pilot run, the park's figures per year
(the run's hub simulation, ``second_life_by_year[…].park``) — and the CATL–Lanzhou integrated station's
(``lanzhou.hub_by_year[…].park``, region CN) — through :func:`batteryloop.hubs.ledger.zero_carbon_ledger` with the
grid factor of the hub's country. Applies the region and year filters.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..access import Caller, oversees
from ..api.deps import Services, page_caller, services
from ..errors import BatteryloopError, NotFound
from . import filters
from .pages import _ctx, templates

router = APIRouter(include_in_schema=False)
CallerDep = Annotated[Caller, Depends(page_caller)]
ServicesDep = Annotated[Services, Depends(services)]

MAX_HUBS = 3
VPP_DAY = 180
ABSORB_HOURS = (11, 12)  # midday: the grid asks the hubs to take the sun's surplus (down)
RELIEF_HOURS = (17, 18, 19)  # evening peak: the grid asks the hubs to import less (up)
REQUEST_SHARE = 0.5  # the share of the hour's offer the signal asks for
_CACHE: dict[str, dict[str, Any]] = {}


def _plotly_version() -> str:
    import plotly

    return str(plotly.__version__)


# ------------------------------------------------------------------------------------------------ VPP
def repurposed_by_operator(s: Services, c: Caller) -> dict[str, list[str]]:
    """Operator → its live repurposed passports the caller may list (search cuts what it may not), by model and
    state of health (so that neighbours, which balance into strings of one design, go into the same hub)."""
    out: dict[str, list[tuple[str, tuple[str, float]]]] = {}
    after = None
    for _ in range(20):
        page = s.passports.search(c, status="repurposed", limit=500, after=after,
                                  **({} if oversees(c) else {"economic_operator_id": c.participant_id}))
        for it in page["items"]:
            op = it["battery"].get("economic_operator_id")
            if not it["archived"] and op:
                soh = (it["battery"].get("state_of_health") or {}).get("soh_capacity_pct") or 0.0
                out.setdefault(op, []).append((it["passport_id"], (str(it["battery"].get("model_id")), soh)))
        after = page.get("next")
        if not after:
            break
    return {op: [pid for pid, _ in sorted(v, key=lambda x: (x[1], x[0]))] for op, v in out.items()}


def vpp_for(s: Services, c: Caller, operator: str, ids: list[str]) -> dict[str, Any]:
    """The operator's hubs as a VPP on :data:`VPP_DAY` (cached by the packs and the operator)."""
    import numpy as np

    from ..hubs import GridSignal, prepare_hub, vpp_day
    from ..hubs.service import plan_from_passports

    key = hashlib.sha256(("|".join([operator, *ids])).encode()).hexdigest()
    if key in _CACHE:
        return _CACHE[key]
    country = s.participants.get(operator)["country"]
    n = max(1, min(MAX_HUBS, len(ids) // 4))
    size = -(-len(ids) // n)
    chunks = [ids[i * size:(i + 1) * size] for i in range(n)]  # neighbours (model, SoH): balanced strings
    configs, excluded = [], 0
    for i, chunk in enumerate(chunks):
        plan = plan_from_passports(s.passports, c, passport_ids=chunk, hub_name=f"hub {i + 1}", site=country)
        excluded += len(plan["excluded"])
        configs += plan["configs"][:1]
    if not configs:
        raise NotFound(f"no balanced string could be built from the {len(ids)} repurposed packs of {operator}")
    hubs = [prepare_hub(cfg) for cfg in configs]
    steps = hubs[0].steps
    free = vpp_day(hubs, GridSignal(request_kw=[0.0] * steps), day=VPP_DAY)
    per_h = steps // 24
    req = np.zeros(steps)
    for h in ABSORB_HOURS:
        sl = slice(h * per_h, (h + 1) * per_h)
        req[sl] = -REQUEST_SHARE * free.offered_down_kw[sl]
    for h in RELIEF_HOURS:
        sl = slice(h * per_h, (h + 1) * per_h)
        req[sl] = REQUEST_SHARE * free.offered_up_kw[sl]
    res = vpp_day(hubs, GridSignal(request_kw=[round(float(x), 3) for x in req]), day=VPP_DAY)
    summ = res.summary()
    base_net = sum(b.grid_import_kw - b.grid_export_kw for b in res.baselines.values())
    vpp_net = sum(x.grid_import_kw - x.grid_export_kw for x in res.schedules.values())
    stored = sum(x.soc_kwh.sum(axis=0) for x in res.schedules.values())
    hours = []
    for h in range(24):
        sl = slice(h * per_h, (h + 1) * per_h)
        hours.append({"hour": h, "offered_up_kw": float(free.offered_up_kw[sl].mean()),
                      "offered_down_kw": float(free.offered_down_kw[sl].mean()),
                      "requested_kw": float(res.requested_kw[sl].mean()), "delivered_kw": float(res.delivered_kw[sl].mean()),
                      "baseline_net_kw": float(base_net[sl].mean()), "vpp_net_kw": float(vpp_net[sl].mean()),
                      "stored_kwh": float(stored[sl].mean())})
    rows = []
    for hp in hubs:
        name = hp.config.name
        hsum = summ["hubs"][name]
        b, x = res.baselines[name].cost, res.schedules[name].cost
        packs = sum(len(st.packs) for st in hp.config.strings) if getattr(hp.config, "strings", None) else None
        rows.append({"hub": name, "packs": packs, "currency": hp.currency,
                     "offered_up_kwh": hsum["offered_up_kwh"], "offered_down_kwh": hsum["offered_down_kwh"],
                     "delivered_up_kwh": hsum["delivered_up_kwh"], "delivered_down_kwh": hsum["delivered_down_kwh"],
                     "baseline_import_cost": b["import_cost"], "baseline_export_revenue": b["export_revenue"],
                     "vpp_import_cost": x["import_cost"], "vpp_export_revenue": x["export_revenue"],
                     "cost_of_flexibility": hsum["cost_of_flexibility"], "cost_parts": hsum.get("cost_parts") or {}})
    cost = sum(r["cost_of_flexibility"] for r in rows)
    parts = {k: sum(float(r["cost_parts"].get(k, 0.0)) for r in rows) for k in ("energy", "wear", "refill", "unserved")}
    delivered = summ["delivered_kwh"]
    out = {"operator": operator, "country": country, "day": VPP_DAY, "hubs": rows, "hours": hours,
           "summary": {k: summ[k] for k in ("requested_kwh", "offered_kwh", "delivered_kwh",
                                            "delivered_fraction_of_requested", "delivered_fraction_of_offered")},
           "cost_of_flexibility": cost, "currency": hubs[0].currency,
           # the storage owner's opportunity cost per kWh of flexibility delivered: energy bought and sold (the
           # arbitrage given up, the round-trip losses), wear, and refilling what the day ended short of
           "break_even_per_kwh": cost / delivered if delivered > 0 else None,
           "break_even_parts_per_kwh": {k: v / delivered for k, v in parts.items()} if delivered > 0 else None,
           "packs": len(ids), "excluded": excluded, "solve_s": round(free.solve_s + res.solve_s, 2)}
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[key] = out
    return out


def vpp_figures(v: dict[str, Any]) -> list[dict[str, Any]]:
    import plotly.graph_objects as go

    hrs = [h["hour"] for h in v["hours"]]
    offer = go.Figure([
        go.Bar(name="offered up (kW: less import)", x=hrs, y=[h["offered_up_kw"] for h in v["hours"]], marker_color="#74c476"),
        go.Bar(name="offered down (kW: more import)", x=hrs, y=[-h["offered_down_kw"] for h in v["hours"]], marker_color="#9ecae1"),
        go.Scatter(name="requested", x=hrs, y=[h["requested_kw"] for h in v["hours"]], mode="markers",
                   marker={"symbol": "line-ew-open", "size": 18, "color": "#222"}),
        go.Scatter(name="delivered", x=hrs, y=[h["delivered_kw"] for h in v["hours"]], mode="markers",
                   marker={"size": 9, "color": "#d94801"}),
    ])
    offer.update_layout(barmode="relative", title="Flexibility per hour: offered, requested, delivered (kW)",
                        xaxis={"title": "hour", "dtick": 2}, yaxis_title="kW (+ up, − down)", height=360,
                        margin={"l": 50, "r": 10, "t": 40, "b": 40}, legend={"orientation": "h", "y": -0.2})
    net = go.Figure([
        go.Scatter(name="own optimum", x=hrs, y=[h["baseline_net_kw"] for h in v["hours"]], mode="lines",
                   line={"dash": "dot", "color": "#555"}),
        go.Scatter(name="following the signal", x=hrs, y=[h["vpp_net_kw"] for h in v["hours"]], mode="lines+markers",
                   line={"color": "#08519c"}),
    ])
    net.update_layout(title="The hubs' net grid position (kW, + import)", xaxis={"title": "hour", "dtick": 2},
                      yaxis_title="kW", height=360, margin={"l": 50, "r": 10, "t": 40, "b": 40},
                      legend={"orientation": "h", "y": -0.2})
    return [{"id": "vpp-offer", "figure": offer.to_plotly_json()}, {"id": "vpp-net", "figure": net.to_plotly_json()}]


@router.get("/vpp", response_class=HTMLResponse)
def vpp_page(request: Request, c: CallerDep, s: ServicesDep,
             operator: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    filters.use(request)  # none of the four dimensions: the filter bar says so
    base = {"vpp": None, "operators": [], "operator": None, "message": None, "figures": [],
            "plotly_version": _plotly_version(), "hours_shown": (ABSORB_HOURS, RELIEF_HOURS), "share": REQUEST_SHARE}
    if c.anonymous:
        return templates.TemplateResponse(request, "vpp.html", _ctx(request, c, **{**base, "message": (
            "Sign in as a second-life operator (or an authority) to aggregate the hubs built from repurposed packs.")}))
    try:
        by_op = repurposed_by_operator(s, c)
        ops = sorted(by_op, key=lambda o: (-len(by_op[o]), o))
        chosen = operator if operator in by_op else (ops[0] if ops else None)
        if chosen is None or len(by_op[chosen]) < 4:
            return templates.TemplateResponse(request, "vpp.html", _ctx(request, c, **{**base, "operators": ops, "message": (
                "No operator you may read has four repurposed packs or more: no hub string can be built yet.")}))
        v = vpp_for(s, c, chosen, by_op[chosen])
    except BatteryloopError as exc:
        return templates.TemplateResponse(request, "vpp.html", _ctx(request, c, **{**base, "message": exc.detail}))
    names = _names(s, ops)
    return templates.TemplateResponse(request, "vpp.html", _ctx(
        request, c, **{**base, "vpp": v, "operators": ops, "operator": chosen, "names": names,
                       "counts": Counter({o: len(by_op[o]) for o in ops}), "figures": vpp_figures(v)}))


def _names(s: Services, ids: list[str]) -> dict[str, str]:
    out = {}
    for i in ids:
        try:
            out[i] = s.participants.get(i)["name"]
        except BatteryloopError:
            out[i] = i
    return out


# ------------------------------------------------------------------------------------- the zero-carbon ledger
def park_ledgers(rep: dict[str, Any], values: dict[str, str]) -> tuple[list[dict[str, Any]], set[str]]:
    """One ledger per hub (region) of the run, cut to the region and year filters; the filters applied."""
    from ..hubs.ledger import zero_carbon_ledger

    by_region: dict[str, dict[str, Any]] = {}
    for row in rep.get("second_life_by_year") or []:
        if not isinstance(row, dict):
            continue
        for region, h in row.items():
            if not isinstance(h, dict):
                continue
            e = by_region.setdefault(region, {"region": region, "hub": h.get("hub"), "operator": h.get("operator_name"),
                                              "rows": [], "country": None})
            park = h.get("park")
            if isinstance(park, dict):
                e["country"] = park.get("country")
                e["rows"].append({"year": row.get("year"), **park})
    lz = rep.get("lanzhou")  # the CATL–Lanzhou integrated station (sim/lanzhou.py): its park, year by year
    if isinstance(lz, dict):
        for h in lz.get("hub_by_year") or []:
            if not isinstance(h, dict) or not isinstance(h.get("park"), dict):
                continue
            region = str(lz.get("region") or "CN")
            e = by_region.setdefault(region, {"region": region, "hub": lz.get("station"), "operator": lz.get("operator_name"),
                                              "rows": [], "country": None})
            e["country"] = h["park"].get("country")
            e["rows"].append({"year": h.get("year"), **h["park"]})
    applied = set()
    out = []
    for region in sorted(by_region):
        e = by_region[region]
        if "region" in values:
            applied.add("region")
            if region != values["region"]:
                continue
        rows = e["rows"]
        if "year" in values:
            applied.add("year")
            rows = [r for r in rows if str(r["year"]) == values["year"]]
        led = zero_carbon_ledger(rows, e["country"]) if rows and e["country"] else None
        out.append({**e, "ledger": led})
    return out, applied


def ledger_figures(parks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import plotly.graph_objects as go

    figs = []
    for p in parks:
        led = p["ledger"]
        if not led or not led["years"]:
            continue
        ys = [y["year"] for y in led["years"]]
        fig = go.Figure([
            go.Bar(name="grid emissions (t)", x=ys, y=[y["grid_emissions_kg"] / 1e3 for y in led["years"]], marker_color="#969696"),
            go.Bar(name="avoided by second-life storage (t)", x=ys, y=[-y["avoided_by_storage_kg"] / 1e3 for y in led["years"]],
                   marker_color="#41ab5d"),
            go.Scatter(name="net emissions (t)", x=ys, y=[y["net_emissions_kg"] / 1e3 for y in led["years"]], mode="lines+markers",
                       line={"color": "#222"}),
            go.Scatter(name="solar share (%, right)", x=ys, y=[None if y["solar_share"] is None else 100 * y["solar_share"]
                                                              for y in led["years"]],
                       mode="lines+markers", yaxis="y2", line={"color": "#fd8d3c", "dash": "dot"}),
        ])
        fig.update_layout(barmode="relative", title=f"{p['hub']} ({p['region']}): emissions per year (t CO₂e)",
                          xaxis={"dtick": 1}, yaxis_title="t CO₂e", height=360,
                          yaxis2={"overlaying": "y", "side": "right", "range": [0, 100], "title": "solar share (%)",
                                  "showgrid": False},
                          margin={"l": 50, "r": 50, "t": 40, "b": 40}, legend={"orientation": "h", "y": -0.2})
        figs.append({"id": f"ledger-{p['region']}", "figure": fig.to_plotly_json()})
    return figs


@router.get("/zero-carbon", response_class=HTMLResponse)
def zero_carbon_page(request: Request, c: CallerDep, s: ServicesDep) -> Response:
    from ..sim.report import latest_report

    f = filters.current(request)
    try:
        rep = latest_report(s.store)
    except NotFound:
        filters.use(request)
        return templates.TemplateResponse(request, "zero_carbon.html", _ctx(request, c, parks=None, figures=[],
                                                                            plotly_version=_plotly_version()))
    values = {d: v for d, v in f.values.items() if d in ("region", "year")}
    parks, applied = park_ledgers(rep, values)
    filters.mark_applied(request, applied)
    return templates.TemplateResponse(request, "zero_carbon.html", _ctx(
        request, c, parks=parks, figures=ledger_figures(parks), plotly_version=_plotly_version(),
        run={"run_id": rep.get("run_id"), "years": (rep.get("summary") or {}).get("years")}))
