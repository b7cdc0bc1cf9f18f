"""Server-rendered pages: the public passport page a QR code opens, sign-in, and the dashboard."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ..access import Caller
from ..errors import BatteryloopError
from ..passport.redact import redact_battery, redact_model
from ..passport.tiers import TIER_ORDER, Tier
from ..api.deps import COOKIE, Services, page_caller, services
from . import filters

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

UNITS = [
    ("_kgco2e_per_kwh", "kg CO₂e/kWh"), ("_pct_per_month", "%/month"), ("_kwh", "kWh"), ("_kg", "kg"),
    ("_ah", "Ah"), ("_mohm", "mΩ"), ("_v", "V"), ("_w", "W"), ("_pct", "%"), ("_c", "°C"), ("_years", "years"),
    ("_km", "km"), ("_h", "h"),
]
ACRONYMS = {"id": "ID", "soh": "SoH", "url": "URL", "cas": "CAS", "c": "C"}


def label(name: str) -> str:
    unit = ""
    for suffix, u in UNITS:
        if name.endswith(suffix):
            name, unit = name[: -len(suffix)], u
            break
    words = [ACRONYMS.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    text = text[:1].upper() + text[1:]
    return f"{text} ({unit})" if unit else text


templates.env.filters["label"] = label
templates.env.tests["mapping"] = lambda v: isinstance(v, dict)
templates.env.tests["seq"] = lambda v: isinstance(v, list)

# Sections of the passport page: (title, tier, fields of the model or battery)
MODEL_SECTIONS: list[tuple[str, list[str]]] = [
    ("General information", ["manufacturer_name", "manufacturer_id", "manufacturer_address", "model_name", "model_id",
                             "category", "vehicle_category", "chemistry", "mass_kg", "warranty_years", "warranty_km"]),
    ("Performance and durability", ["rated_capacity_ah", "rated_energy_kwh", "nominal_voltage_v", "min_voltage_v",
                                    "max_voltage_v", "original_power_capability_w", "original_power_capability_at_soc",
                                    "max_permitted_power_w", "power_energy_ratio_per_h",
                                    "expected_lifetime_cycles", "cycle_life_test_reference", "cycle_life_test_url",
                                    "cycle_life_c_rate",
                                    "capacity_threshold_exhaustion_pct", "idle_temperature_lower_c",
                                    "idle_temperature_upper_c", "initial_round_trip_efficiency_pct",
                                    "round_trip_efficiency_at_50pct_cycle_life_pct", "internal_resistance_cell_mohm",
                                    "internal_resistance_pack_mohm"]),
    ("Performance and durability values (legitimate interest)", ["expected_lifetime_years",
                                                                 "initial_self_discharge_pct_per_month"]),
    ("Materials and composition", ["material_composition", "hazardous_substances", "critical_raw_materials",
                                   "extinguishing_agent"]),
    ("Carbon footprint", ["carbon_footprint"]),
    ("Supply chain and circularity", ["due_diligence_report_url", "recycled_content", "renewable_content_pct",
                                      "collection_information", "collection_information_url", "waste_prevention_url",
                                      "separate_collection_url"]),
    ("Labels and conformity", ["labels", "label_symbols", "declaration_of_conformity_url"]),
    ("Detailed composition, parts and dismantling (legitimate interest)",
     ["detailed_composition", "spare_parts", "dismantling_information", "safety_measures", "safety_instructions_url"]),
    ("Test reports (notified bodies and authorities)", ["test_reports"]),
]
BATTERY_SECTIONS: list[tuple[str, list[str]]] = [
    ("Identification", ["passport_id", "serial_number", "model_id", "economic_operator_id", "economic_operator_name",
                        "economic_operator_address", "manufacture_date", "manufacture_country", "manufacture_site",
                        "manufacture_postal_code", "mass_kg", "predecessor_ids", "successor_id"]),
    ("Recycled content of this battery (Art. 8: its model, plant and year, from the ledger)", ["recycled_content"]),
    ("Status and state of health (legitimate interest)", ["status", "putting_into_service_date", "state_of_health"]),
    ("Usage (legitimate interest)", ["usage"]),
    ("Operator only", ["owner_id"]),
]


def _sections(data: dict[str, Any], spec: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    out = []
    for title, fields in spec:
        rows = [(f, data[f]) for f in fields if f in data and data[f] not in (None, [], {})]
        if rows:
            out.append({"title": title, "rows": rows})
    return out


def _ctx(request: Request, c: Caller, **kw: Any) -> dict[str, Any]:
    return {"request": request, "caller": c, "signed_in": not c.anonymous, **kw}


CallerDep = Annotated[Caller, Depends(page_caller)]
ServicesDep = Annotated[Services, Depends(services)]


TIER_LABELS = {Tier.PUBLIC: "Public", Tier.LEGITIMATE_INTEREST: "Legitimate interest", Tier.AUTHORITY: "Authority",
               Tier.OPERATOR: "Economic operator"}


def view_as_options(held: list[str]) -> list[dict[str, Any]]:
    """The views a reader may switch down to: for each tier held, that tier and the held tiers below it
    (in Annex XIII order). Never a tier the reader does not hold."""
    order = [t for t in TIER_ORDER if t.value in held]
    return [{"value": t.value, "label": TIER_LABELS[t], "tiers": [u.value for u in order[: i + 1]]}
            for i, t in enumerate(order)]


@router.get("/p/{passport_id}", response_class=HTMLResponse)
def passport_page(passport_id: str, request: Request, c: CallerDep, s: ServicesDep,
                  view_as: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    try:
        view = s.passports.get_view(passport_id, c, channel="page")
    except BatteryloopError as exc:
        return templates.TemplateResponse(request, "error.html", _ctx(request, c, error=exc), status_code=exc.status)
    held = list(view["access_tiers"])
    options = view_as_options(held) if len(held) > 1 else []
    chosen = next((o for o in options if o["value"] == view_as), None)
    refused = view_as if view_as and chosen is None else None  # never up: a tier not held is not shown
    if chosen is not None and chosen is not options[-1]:
        # switched down: cut the data again, so restricted fields never reach the HTML
        tiers = frozenset(Tier(t) for t in chosen["tiers"])
        view = {**view, "access_tiers": chosen["tiers"], "battery": redact_battery(view["battery"], tiers),
                "model": redact_model(view["model"], tiers)}
    tiers_now = view["access_tiers"]
    hidden = Tier.LEGITIMATE_INTEREST.value not in tiers_now
    figures = [] if hidden else _capacity_figure(s, passport_id)
    supply = _supply_chain(s, passport_id, c, view)
    if supply and supply.get("figure"):
        figures.append(supply["figure"])
    import plotly

    return templates.TemplateResponse(request, "passport.html", _ctx(
        request, c, view=view, battery_sections=_sections(view["battery"], BATTERY_SECTIONS),
        model_sections=_sections(view["model"], MODEL_SECTIONS), more_hidden=hidden, figures=figures,
        plotly_version=plotly.__version__, supply=supply, held=held, view_options=options,
        view_as=(chosen or (options[-1] if options else {"value": None}))["value"], view_as_refused=refused,
        switched=len(tiers_now) < len(held)))


def _supply_chain(s: Services, passport_id: str, c: Caller, view: dict[str, Any]) -> dict[str, Any] | None:
    """The pack's lineage from the ledger (origin shares per element, responsible-sourcing flags).

    Origins and suppliers are confidential: shown to the economic operator, authorities and the admin."""
    from ..errors import NotFound

    from ..access import Resource, decide

    tiers = view["access_tiers"]  # as shown: a reader who switched down sees no more than that tier
    may = decide(c, "passport.supply_chain.read", Resource("passport", passport_id,
                                                            operator=view["battery"].get("economic_operator_id")))
    if s.trace is None or not may or not (Tier.OPERATOR.value in tiers or Tier.AUTHORITY.value in tiers):
        return None
    try:
        lin = s.trace.lineage(passport_id)
        risks = s.trace.sourcing_risks(passport_id)
    except NotFound:
        return None
    import plotly.graph_objects as go

    elements = sorted(lin["origin_share"])
    origins = sorted({o for e in elements for o in lin["origin_share"][e]})
    fig = go.Figure([go.Bar(name=o.replace(":", " · ").replace("_", " "), x=elements,
                            y=[round(100 * lin["origin_share"][e].get(o, 0.0), 2) for e in elements]) for o in origins])
    fig.update_layout(barmode="stack", title="Origin of each element (% of its mass; ledger lineage)",
                      yaxis_title="%", height=340, margin={"l": 50, "r": 10, "t": 40, "b": 40})
    return {"elements_kg": lin["elements_kg"], "lots": len(lin["lots"]), "flags": risks["flags"],
            "figure": {"id": "origin-shares", "figure": fig.to_plotly_json()}}


def _capacity_figure(s: Services, passport_id: str) -> list[dict[str, Any]]:
    """The capacity fade curve of a pack's ingested cycler history (legitimate-interest readers only)."""
    if s.health is None or s.health.series_dir is None or not s.health.pack_files(passport_id):
        return []
    import plotly.graph_objects as go

    from ..health import cycle_summary

    summ = cycle_summary(s.health.pack_series(passport_id))
    fig = go.Figure([go.Scatter(x=summ["cycle"].to_list(), y=summ["discharge_capacity_ah"].to_list(),
                                mode="lines+markers", name="discharge capacity (Ah)")])
    fig.update_layout(title="Capacity per cycle (ingested cycler data)", xaxis_title="cycle",
                      yaxis_title="discharge capacity (Ah)", height=320, margin={"l": 50, "r": 10, "t": 40, "b": 40})
    return [{"id": "capacity-fade", "figure": fig.to_plotly_json()}]


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, c: CallerDep, s: ServicesDep, chemistry: str | None = None,
              model_id: str | None = None, after: str | None = None) -> Response:
    stats = s.passports.count(c)
    models = s.passports.list_models(c)
    f = filters.use(request, "model", "year", "plant")  # the packs' model, year of manufacture and plant
    if "model" in f:
        models = [m for m in models if m["model_id"] == f["model"]]
    model_id = model_id or f.get("model")
    year = int(f["year"]) if "year" in f else None
    plant = f.get("plant")  # a plant's site, or a plant country (two letters)
    by_country = bool(plant and len(plant) == 2 and plant.isalpha())
    try:
        page = s.passports.search(c, chemistry=chemistry or None, model_id=model_id or None, after=after or None, limit=25,
                                  manufacture_country=plant.upper() if by_country and plant else None,
                                  manufacture_site=plant if plant and not by_country else None,
                                  manufactured_from=dt.date(year, 1, 1) if year else None,
                                  manufactured_to=dt.date(year, 12, 31) if year else None)
    except BatteryloopError as exc:
        return templates.TemplateResponse(request, "error.html", _ctx(request, c, error=exc), status_code=exc.status)
    import plotly

    figures = fleet_figures(s.passports.fleet_health(c)) + pack_figures(page["items"])
    return templates.TemplateResponse(request, "dashboard.html", _ctx(
        request, c, stats=stats, models=models, page=page, chemistry=chemistry or "", model_id=model_id or "",
        today=dt.date.today(), figures=figures, plotly_version=plotly.__version__, pilot=_pilot_line(s)))


def _pilot_line(s: Any) -> dict[str, Any] | None:
    """The latest pilot run's headline (for the link to its dashboard), or None when no pilot ran here."""
    from ..errors import NotFound
    from ..sim.report import latest_report

    try:
        sm = latest_report(s.store)["summary"]
    except NotFound:
        return None
    return {"years": f"{sm['start_year']}–{sm['start_year'] + sm['years'] - 1}", "packs": sm["packs"],
            "events": sm["ledger_events"], "decisions": sm["route_decisions"]}


@router.get("/static/vendor/plotly-{version}.min.js")
def plotly_js(version: str) -> Response:
    """plotly.js as shipped inside the plotly Python package (no CDN), cached by the browser."""
    import plotly

    if version != plotly.__version__:
        return Response(status_code=404)
    return Response(_plotly_js(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})


@cache
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode()


def fleet_figures(fleet: dict[str, Any]) -> list[dict[str, Any]]:
    """Plotly figures (as JSON-ready dicts) of the fleet's state of health, built with plotly itself."""
    import plotly.graph_objects as go

    chem = fleet["by_chemistry"]
    if not chem:
        return []
    hist = go.Figure()
    for name, e in sorted(chem.items()):
        hist.add_trace(go.Histogram(x=e["soh_pct"], name=name, xbins={"size": 2}, opacity=0.75))
    hist.update_layout(barmode="overlay", title="State of health of the fleet (%)", xaxis_title="SoH (%)",
                       yaxis_title="packs", height=320, margin={"l": 40, "r": 10, "t": 40, "b": 40})
    statuses = sorted({s for e in chem.values() for s in e["by_status"]})
    bars = go.Figure([go.Bar(name=st, x=sorted(chem), y=[chem[c]["by_status"].get(st, 0) for c in sorted(chem)])
                      for st in statuses])
    bars.update_layout(barmode="stack", title="Packs by chemistry and status", height=320,
                       margin={"l": 40, "r": 10, "t": 40, "b": 40})
    return [{"id": "soh-hist", "figure": hist.to_plotly_json()}, {"id": "status-bars", "figure": bars.to_plotly_json()}]


def pack_figures(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The listed packs one by one (state of health against the year made, as the reader may see it): a click on
    a pack opens its page (passport, health, and from there its trace) — the chart's customdata is the path."""
    import plotly.graph_objects as go

    pts = [(it["passport_id"], str(it["battery"].get("manufacture_date") or "")[:10],
            (it["battery"].get("state_of_health") or {}).get("soh_capacity_pct"), it["battery"].get("model_id"))
           for it in items]
    pts = [p for p in pts if p[2] is not None and p[1]]
    if not pts:
        return []
    by_model: dict[str, list[tuple[str, str, Any, Any]]] = {}
    for p in pts:
        by_model.setdefault(str(p[3]), []).append(p)
    fig = go.Figure([go.Scatter(x=[p[1] for p in ps], y=[p[2] for p in ps], mode="markers", name=m,
                                customdata=[[f"/p/{p[0]}", p[0]] for p in ps], marker={"size": 9},
                                hovertemplate="%{customdata[1]}<br>made %{x}<br>SoH %{y:.1f} %<extra>click to open</extra>")
                     for m, ps in sorted(by_model.items())])
    fig.update_layout(title="The packs listed below: click a pack to open it", xaxis_title="made",
                      yaxis_title="SoH (%)", height=320, margin={"l": 40, "r": 10, "t": 40, "b": 40})
    return [{"id": "pack-points", "figure": fig.to_plotly_json()}]


_HUB_CACHE: dict[str, Any] = {}


@router.get("/hubs", response_class=HTMLResponse)
def hubs_page(request: Request, c: CallerDep, s: ServicesDep) -> Response:
    """The signed-in operator's second-life hub, built from its repurposed packs' passports, over a year."""
    import hashlib

    import orjson

    from ..hubs.report import hub_report
    from ..hubs.service import plan_from_passports

    if c.anonymous:
        return templates.TemplateResponse(request, "hubs.html", _ctx(request, c, plan=None, report=None,
                                          message="Sign in as a second-life operator to plan a hub from your repurposed packs."))
    try:
        plan = plan_from_passports(s.passports, c)
    except BatteryloopError as exc:
        return templates.TemplateResponse(request, "hubs.html", _ctx(request, c, plan=None, report=None, message=exc.detail))
    if not plan["configs"]:
        return templates.TemplateResponse(request, "hubs.html", _ctx(request, c, plan=plan, report=None,
                                          message="No balanced string could be built from these packs."))
    key = hashlib.sha256(orjson.dumps(plan["configs"][0], option=orjson.OPT_SORT_KEYS)).hexdigest()
    report = _HUB_CACHE.get(key)
    if report is None:
        report = hub_report(plan["configs"][0], days=365, figures=True)
        if len(_HUB_CACHE) > 32:
            _HUB_CACHE.clear()
        _HUB_CACHE[key] = report
    figs = [{"id": k, "figure": v} for k, v in report["figures"].items()]
    import plotly

    return templates.TemplateResponse(request, "hubs.html", _ctx(request, c, plan=plan, report=report, figures=figs,
                                      plotly_version=plotly.__version__, message=None))


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, c: CallerDep, next: str = "/") -> Response:
    return templates.TemplateResponse(request, "login.html", _ctx(request, c, next=next, error=None))


@router.post("/login")
def login(request: Request, s: ServicesDep, token: Annotated[str, Form(max_length=200)],
          next: Annotated[str, Form(max_length=300)] = "/") -> Response:
    c = s.participants.authenticate(token.strip())
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    if c is None:
        return templates.TemplateResponse(request, "login.html", _ctx(
            request, Caller(), next=target, error=f"That token {s.participants.refusal(token.strip())}."),
            status_code=401)
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(COOKIE, token.strip(), httponly=True, samesite="lax", max_age=8 * 3600)
    return resp


@router.get("/logout")
def logout() -> Response:
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp
