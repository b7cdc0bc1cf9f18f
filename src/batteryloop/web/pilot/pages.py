"""The pilot's pages: the router, the sections, and :func:`render`, which reads the latest ``batteryloop demo``
run's stored report and hands it to the section's builder and template.

The pages read :func:`batteryloop.sim.report.latest_report` (one JSON document per run in ``pilot_runs``)
— the outflows page also asks the ledger's live outflow report, the query ``GET /api/v1/trace/outflows``
answers, so that the two agree — and draw it with plotly figures built by the section modules (server side, drawn by the bundled plotly.js
through the ``_charts.html`` macro). They show aggregate figures and are public, with two exceptions that
follow the platform's own access rules: the outflow findings (holders, countries, pack by pack) are
answered to authorities and the node admin only, as ``GET /api/v1/trace/outflows`` is; and the per-pack
route decisions (each pack's state of health and grade) to the same overseers, since a route decision
reads a pack's state of health (legitimate interest). Both are the policy point's ``pilot.findings.read``
(:func:`batteryloop.access.pilot_findings_visible`, which the pilot's API asks too). Everyone else sees those two
sections aggregated.

Every section copes with a report that lacks it (older runs, or a run without the data space): the page
says "not in this run" instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from ...access import PILOT_FINDINGS, Caller, Resource, authorize, pilot_findings_visible
from ...api.deps import Services, page_caller, services
from ...errors import InvalidData, NotFound
from ...trace.outflows import to_csv
from .. import filters
from ..pages import _ctx, templates
from .baas import baas
from .charts import _plotly_version
from .dataspace import dataspace
from .economics import economics
from .footprint import footprint
from .health import health
from .lanzhou import lanzhou
from .materials import materials
from .outflows import live_report, outflows
from .overview import overview
from .residual import residual
from .routes import routes

router = APIRouter(include_in_schema=False)
CallerDep = Annotated[Caller, Depends(page_caller)]
ServicesDep = Annotated[Services, Depends(services)]

# (slug, path, title, what the page answers)
SECTIONS: list[tuple[str, str, str, str]] = [
    ("overview", "/pilot", "Overview", "the run in figures: packs, passports, ledger, decisions, recovered material, cash"),
    ("health", "/pilot/health", "Fleet health", "state of health over time by model and usage, and second life"),
    ("materials", "/pilot/materials", "Materials", "material flows from mines to recovered material and back, "
                                                   "recycled content against the 2031/2036 minimums"),
    ("footprint", "/pilot/footprint", "Carbon footprint", "carbon footprint by life-cycle stage and model"),
    ("routes", "/pilot/routes", "Routes", "re-use, remanufacture, repurpose or recycle: what was chosen each year "
                                          "and what it was worth"),
    ("baas", "/pilot/baas", "BaaS", "battery-as-a-service fleet and swap-station figures per year"),
    ("outflows", "/pilot/outflows", "Outflows", "packs that left the loop without a record"),
    ("dataspace", "/pilot/dataspace", "Data space", "connector nodes, credentials, agreements, contracts and transfers"),
    ("economics", "/pilot/economics", "Economics", "does the loop pay, and for whom: cash flows by participant "
                                                   "type, route and year"),
    ("residual", "/pilot/residual-value", "Residual value", "what a retired pack is worth by grade and year, beside "
                                                          "what buyers paid; Korea's rules"),
    ("lanzhou", "/pilot/lanzhou", "Lanzhou fleets", "CATL–Lanzhou: buses, swap trucks and two-wheelers by segment, "
                                                    "swaps per day, state of health from swap diagnoses, the station's energy"),
]

# which reference values each page's figures rest on: (set, key prefix); an empty set name matches any set
REFERENCE_SCOPES: dict[str, list[tuple[str, str]]] = {
    "overview": [],
    "health": [("first_life_fade", ""), ("vehicle_usage", ""), ("batteryloop_assumptions", "pilot.retirement_soh_pct"),
               ("batteryloop_assumptions", "pilot.second_life"), ("batteryloop_assumptions", "second_life_end_soh_fraction"),
               ("batteryloop_assumptions", "pilot.usage_mix"),
               ("batteryloop_assumptions", "pilot.vehicle_scrap"), ("batteryloop_assumptions", "pilot.pack_fault")],
    "materials": [("everbatt_2023", ""), ("eu_2023_1542", "recycled_content"),
                  ("batteryloop_assumptions", "pilot.recycled_input")],
    # every input of the four stages: materials (BatPaC, GREET), cell manufacturing energy and its grid (the cell
    # maker's country) and heat (IPCC), distribution, the hydrometallurgical end of life (EverBatt inputs, their
    # factors, the recycling grid)
    "footprint": [("", "carbon_footprint"), ("", "footprint"), ("greet", ""), ("eu_2023_1542", "carbon_footprint"),
                  ("batpac_5", ""), ("grid_factors", ""), ("ipcc_2006", ""), ("batteryloop_assumptions", "distribution."),
                  ("batteryloop_assumptions", "process_input_kgco2e"),
                  ("batteryloop_assumptions", "recycling_grid_country"),
                  ("everbatt_2023", "process_inputs_per_kg_spent_battery.hydro")],
    "routes": [("batteryloop_assumptions", "route."), ("second_life_literature", ""),
               ("nrel_2015_second_use", ""), ("batteryloop_assumptions", "second_life_end_soh_fraction"), ("everbatt_2023", ""),
               ("batteryloop_assumptions", "pilot.retirement_soh_pct"), ("batteryloop_assumptions", "pilot.seller_share")],
    "baas": [("batteryloop_assumptions", "pilot.baas"), ("", "baas"), ("", "swap"), ("vehicle_usage", "")],
    "outflows": [("batteryloop_assumptions", "pilot.illegal_outflow")],
    "dataspace": [("", "dataspace"), ("", "dsp")],
    "economics": [("batteryloop_assumptions", "route."), ("batteryloop_assumptions", "pilot.seller_share"),
                  ("batteryloop_assumptions", "pilot.take_back"), ("batteryloop_assumptions", "pilot.baas"),
                  ("batteryloop_assumptions", "pilot.second_life"), ("second_life_literature", ""),
                  ("nrel_2015_second_use", ""), ("batteryloop_assumptions", "second_life_end_soh_fraction"), ("", "baas")],
    "lanzhou": [("lanzhou_fleets", ""), ("first_life_fade", ""), ("hub_sites", ""), ("grid_factors", ""),
                ("batteryloop_assumptions", "second_life_end_soh_fraction"),
                ("tou_tariffs_cn", ""), ("second_life_degradation", "")],
    "residual": [("batteryloop_assumptions", "route."), ("second_life_literature", ""),
                 ("nrel_2015_second_use", ""), ("batteryloop_assumptions", "second_life_end_soh_fraction"), ("everbatt_2023", ""),
                 ("batteryloop_assumptions", "pilot.seller_share"), ("korea_battery_rules", "")],
}


def references_for(rep: dict[str, Any], section: str) -> list[dict[str, Any]]:
    """The reference values this page's figures used (the recycled-content minimums included on /materials)."""
    refs = [r for r in (rep.get("references") or []) if isinstance(r, dict)]
    if section == "materials" and isinstance(rep.get("recycled_content"), dict):
        refs = refs + [r for r in rep["recycled_content"].get("references") or [] if isinstance(r, dict)]
    scope = REFERENCE_SCOPES.get(section, [])
    out, seen = [], set()
    for r in refs:
        key = (r.get("set"), r.get("key"))
        if key in seen:
            continue
        if any((not s or r.get("set") == s or str(r.get("set", "")).startswith(s))
               and (not p or str(r.get("key", "")).startswith(p) or (not s and p in str(r.get("key", ""))))
               for s, p in scope):
            out.append(r)
            seen.add(key)
    return out


# -------------------------------------------------------------------------------------------- pages
BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "overview": overview, "health": health, "materials": materials, "footprint": footprint, "routes": routes,
    "baas": baas, "outflows": outflows, "dataspace": dataspace, "economics": economics, "residual": residual,
    "lanzhou": lanzhou,
}


def _latest(s: Services) -> dict[str, Any] | None:
    from ...sim.report import latest_report

    try:
        return latest_report(s.store)
    except NotFound:
        return None


def render(section: str, request: Request, c: Caller, s: Services, **extra: Any) -> Response:
    meta = next(x for x in SECTIONS if x[0] == section)
    base = {"sections": SECTIONS, "section": section, "page_title": meta[2]}
    rep = _latest(s)
    if rep is None:
        return templates.TemplateResponse(request, "pilot_none.html", _ctx(request, c, **base))
    # the filters that carry across pages, applied to the report's rows; the page applied the dimensions of the
    # parts its builder read (web/filters.py)
    values = {d: v for d, v in filters.current(request).values.items()}
    if values:
        cut, dims = filters.filter_report(rep, values)
        tracked = filters.Tracked(cut)
        data = BUILDERS[section](tracked, c, **extra)
        filters.mark_applied(request, set().union(*(dims.get(k, set()) for k in tracked.read)))
    else:
        filters.use(request)
        data = BUILDERS[section](rep, c, **extra)
    refs = references_for(rep, section)
    return templates.TemplateResponse(request, f"pilot_{section}.html", _ctx(
        request, c, **base, rep=rep, run=_run_meta(rep), refs=refs, all_refs=rep.get("references") or [],
        plotly_version=_plotly_version(), **{"overseer": pilot_findings_visible(c), **data}))


def _run_meta(rep: dict[str, Any]) -> dict[str, Any]:
    cfg = rep.get("config") or {}
    s = rep.get("summary") or {}
    return {"run_id": rep.get("run_id"), "created_at": str(rep.get("created_at") or "")[:19].replace("T", " "),
            "packs": cfg.get("packs", s.get("packs")), "years": cfg.get("years", s.get("years")),
            "seed": cfg.get("seed", s.get("seed")), "start_year": cfg.get("start_year", s.get("start_year")),
            "dataspace": cfg.get("dataspace"), "duration_s": s.get("duration_s"),
            "names": rep.get("names") or {}}


_RULE_PARAMS = ("as_of", "k", "floor_days", "default_days", "min_intervals", "removed_days", "min_transit_hours")


def _outflows_page(request: Request, c: Caller, s: Services) -> Response:
    """The live outflow report (the API's query, with the page's filters and page), beside the simulation's truth."""
    live, error, args = live_report(s.trace, c, request.query_params)
    everything = s.trace.outflows(**{k: v for k, v in args.items() if k in _RULE_PARAMS}, limit=None)
    return render("outflows", request, c, s, live=live, error=error, args=args,
                  flagged={f["pack"] for f in everything["findings"]})


@router.get("/pilot/outflows.csv", response_class=PlainTextResponse)
def outflows_csv(request: Request, c: CallerDep, s: ServicesDep) -> Response:
    """The outflow findings of the page's filters as CSV (every finding unless a limit is given): to those who may
    read them pack by pack (the policy point's ``pilot.findings.read``)."""
    authorize(c, PILOT_FINDINGS, Resource("pilot"))
    rep, error, _ = live_report(s.trace, c, request.query_params, csv=True)
    if error:
        raise InvalidData(error, [])
    return Response(to_csv(rep["findings"]), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="outflows-{rep["as_of"][:10]}.csv"',
                             "X-Total-Count": str(rep["total"])})


def _route(section: str, path: str) -> None:
    def page(request: Request, c: CallerDep, s: ServicesDep) -> Response:
        if section == "outflows":
            return _outflows_page(request, c, s)
        if section == "residual":
            region = request.query_params.get("region", "KR")
            return render(section, request, c, s, region=region if region in ("KR", "EU", "all") else "KR")
        return render(section, request, c, s)

    page.__name__ = f"pilot_{section}"
    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse)


for _slug, _path, _title, _about in SECTIONS:
    _route(_slug, _path)
