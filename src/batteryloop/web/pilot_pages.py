"""The pilot's dashboard: what the latest ``batteryloop demo`` run did, read from its stored report.

The pages read :func:`batteryloop.sim.report.latest_report` (one JSON document per run in ``pilot_runs``)
and draw it with plotly figures built here (server side, drawn by the bundled plotly.js through the
``_charts.html`` macro). They show aggregate figures and are public, with two exceptions that follow the
platform's own access rules: the outflow findings (holders, countries, pack by pack) are answered to
authorities and the node admin only, as ``GET /api/v1/trace/outflows`` is; and the per-pack route
decisions (each pack's state of health and grade) to the same overseers, since a route decision reads a
pack's state of health (legitimate interest). Everyone else sees those two sections aggregated.

Every section copes with a report that lacks it (older runs, or a run without the data space): the page
says "not in this run" instead of failing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ..access import Caller
from ..api.deps import Services, page_caller, services
from ..errors import NotFound
from ..participants import Role
from .pages import _ctx, templates

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
]
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
          "#bcbd22"]
STATE_COLORS = {"in vehicles": "#1f77b4", "second life": "#2ca02c", "recycled": "#8c564b", "left the loop": "#d62728"}
STAGES = [("raw_material_kgco2e_per_kwh", "raw material acquisition"), ("main_production_kgco2e_per_kwh", "main production"),
          ("distribution_kgco2e_per_kwh", "distribution"), ("end_of_life_kgco2e_per_kwh", "end of life and recycling")]
ELEMENTS = ("Li", "Ni", "Co", "Pb")
MIN_GROUP = 3  # state-of-health figures of fewer packs than this are not shown (they would be the packs' own)
_LAYOUT: dict[str, Any] = {"height": 400, "margin": {"l": 70, "r": 20, "t": 50, "b": 60},
                           "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
                           "xaxis": {"gridcolor": "#e5e9ee"}, "yaxis": {"gridcolor": "#e5e9ee"}}

# which reference values each page's figures rest on: (set, key prefix); an empty set name matches any set
REFERENCE_SCOPES: dict[str, list[tuple[str, str]]] = {
    "overview": [],
    "health": [("first_life_fade", ""), ("vehicle_usage", ""), ("batteryloop_assumptions", "pilot.retirement_soh_pct"),
               ("batteryloop_assumptions", "pilot.second_life"), ("batteryloop_assumptions", "pilot.usage_mix"),
               ("batteryloop_assumptions", "pilot.vehicle_scrap"), ("batteryloop_assumptions", "pilot.pack_fault")],
    "materials": [("everbatt_2023", ""), ("eu_2023_1542", "recycled_content"),
                  ("batteryloop_assumptions", "pilot.recycled_input")],
    "footprint": [("", "carbon_footprint"), ("", "footprint"), ("greet", ""), ("eu_2023_1542", "carbon_footprint")],
    "routes": [("batteryloop_assumptions", "route."), ("second_life_literature", ""), ("everbatt_2023", ""),
               ("batteryloop_assumptions", "pilot.retirement_soh_pct"), ("batteryloop_assumptions", "pilot.seller_share")],
    "baas": [("batteryloop_assumptions", "pilot.baas"), ("", "baas"), ("", "swap"), ("vehicle_usage", "")],
    "outflows": [("batteryloop_assumptions", "pilot.illegal_outflow")],
    "dataspace": [("", "dataspace"), ("", "dsp")],
    "economics": [("batteryloop_assumptions", "route."), ("batteryloop_assumptions", "pilot.seller_share"),
                  ("batteryloop_assumptions", "pilot.take_back"), ("batteryloop_assumptions", "pilot.baas"),
                  ("batteryloop_assumptions", "pilot.second_life"), ("second_life_literature", ""), ("", "baas")],
}


def _plotly_version() -> str:
    import plotly

    return plotly.__version__


def _layout(**kw: Any) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in _LAYOUT.items()}
    for k, v in kw.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out


def _fig(fid: str, fig: Any) -> dict[str, Any]:
    return {"id": fid, "figure": fig.to_plotly_json()}


def _overseer(c: Caller) -> bool:
    """Authorities and the node admin: they may read the outflow findings and per-pack decisions."""
    return c.is_admin or Role.AUTHORITY in c.roles


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) else 0.0


def _year_rows(rows: Any) -> list[dict[str, Any]]:
    """Rows keyed by year, sorted; anything else (None, a bad shape) is no rows."""
    if not isinstance(rows, list):
        return []
    return sorted((r for r in rows if isinstance(r, dict) and "year" in r), key=lambda r: r["year"])


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


# ----------------------------------------------------------------------------------------- overview
def overview(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    s = rep.get("summary") or {}
    kpis = []

    def kpi(kid: str, value: Any, label: str, note: str | None = None) -> None:
        kpis.append({"id": kid, "value": value, "label": label, "note": note})

    kpi("packs", _fmt_int(s.get("packs")), "packs in the pilot", f"{s.get('years', '?')} years from {s.get('start_year', '?')}")
    kpi("passports", _fmt_int(s.get("passports")), "passports issued",
        ", ".join(f"{n} {k}" for k, n in sorted((s.get("passports_by_status") or {}).items())) or None)
    ev = s.get("ledger_events")
    verified = s.get("ledger_verified")
    kpi("ledger", _fmt_int(ev), "ledger events " + ("verified ✓" if verified else "— verification failed" if verified is False else "(not verified)"),
        "every signature and hash link checked" if verified else None)
    kpi("decisions", _fmt_int(s.get("route_decisions")), "route decisions",
        ", ".join(f"{n} {k}" for k, n in sorted((s.get("routes") or {}).items())) or None)
    rec = s.get("recovered_element_kg") or {}
    kpi("recovered", f"{sum(_num(v) for v in rec.values()):,.0f} kg", "recovered Li + Ni + Co",
        ", ".join(f"{el} {_num(v):,.1f} kg" for el, v in rec.items()) or None)
    rc = s.get("recycled_content_pct_last_year") or {}
    best = [(m, el, v) for m, els in rc.items() for el, v in (els or {}).items() if isinstance(v, (int, float))]
    if best:
        m, el, v = max(best, key=lambda x: x[2])
        kpi("recycled", f"{v:.1f} %", "highest recycled content, last year", f"{el} in {m}")
    else:
        kpi("recycled", "—", "recycled content, last year", "not in this run")
    out = s.get("outflow_findings") or {}
    kpi("outflows", _fmt_int(sum(_num(v) for v in out.values())), "outflow findings",
        f"{s.get('packs_left_the_loop', 0)} packs left the loop in the simulation")
    cash = s.get("net_cash_usd_by_participant_type") or {}
    figures = []
    fleet = _year_rows(rep.get("fleet_by_year"))
    if fleet:
        fig = go.Figure([go.Bar(name=k, x=[r["year"] for r in fleet], y=[r.get(k, 0) for r in fleet],
                                marker_color=STATE_COLORS.get(k))
                         for k in _keys(fleet)])
        fig.update_layout(**_layout(barmode="stack", title="Where the packs are at each year's end", yaxis_title="packs",
                                    xaxis={"dtick": 1}))
        figures.append(_fig("overview-fleet", fig))
    if cash:
        types = sorted(cash)
        fig = go.Figure([go.Bar(x=types, y=[cash[t] for t in types],
                                marker_color=["#2ca02c" if cash[t] >= 0 else "#d62728" for t in types],
                                name="net cash")])
        fig.update_layout(**_layout(title="Net cash over the pilot by participant type ($)", yaxis_title="$"))
        figures.append(_fig("overview-cash", fig))
    return {"kpis": kpis, "cash": cash, "summary": s, "figures": figures,
            "recycled_last": rc, "outflow_counts": out}


def _fmt_int(v: Any) -> str:
    return f"{int(v):,}" if isinstance(v, (int, float)) else "—"


def _keys(rows: list[dict[str, Any]], skip: tuple[str, ...] = ("year",)) -> list[str]:
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in skip and k not in keys:
                keys.append(k)
    return keys


# ------------------------------------------------------------------------------------------- health
def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def health(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    rows = _year_rows(rep.get("soh_by_year"))
    figures = []
    table = []
    if rows:
        models = _keys([r.get("models") or {} for r in rows], skip=())
        fig = go.Figure()
        for i, m in enumerate(models):
            color = COLORS[i % len(COLORS)]
            pts = [(r["year"], r["models"][m]) for r in rows if (r.get("models") or {}).get(m)]
            xs = [y for y, _ in pts]
            fig.add_trace(go.Scatter(x=xs, y=[v.get("p90") for _, v in pts], mode="lines", line={"width": 0},
                                     showlegend=False, hoverinfo="skip", legendgroup=m))
            fig.add_trace(go.Scatter(x=xs, y=[v.get("p10") for _, v in pts], mode="lines", line={"width": 0},
                                     fill="tonexty", fillcolor=_rgba(color, 0.18), name=f"{m} p10–p90",
                                     legendgroup=m, hovertemplate="%{x}: p10 %{y:.1f} %<extra>" + m + "</extra>"))
            fig.add_trace(go.Scatter(x=xs, y=[v.get("mean") for _, v in pts], mode="lines+markers",
                                     line={"color": color, "width": 2.5}, name=f"{m} mean", legendgroup=m,
                                     customdata=[v.get("n") for _, v in pts],
                                     hovertemplate="%{x}: mean %{y:.1f} % (%{customdata} packs)<extra>" + m + "</extra>"))
            for y, v in pts:
                table.append({"year": y, "group": m, **v})
        fig.update_layout(**_layout(title="State of health of packs in vehicles: mean and p10–p90 band by model",
                                    yaxis_title="state of health (% of rated capacity)", xaxis={"dtick": 1}))
        figures.append(_fig("health-models", fig))
        usages = _keys([r.get("usages") or {} for r in rows], skip=())
        if usages:
            fig = go.Figure()
            for i, u in enumerate(usages):
                pts = [(r["year"], r["usages"][u]) for r in rows if (r.get("usages") or {}).get(u)]
                fig.add_trace(go.Scatter(x=[y for y, _ in pts], y=[v.get("mean") for _, v in pts], mode="lines+markers",
                                         name=u.replace("_", " "), line={"color": COLORS[(i + 4) % len(COLORS)]},
                                         customdata=[v.get("n") for _, v in pts],
                                         hovertemplate="%{x}: mean %{y:.1f} % (%{customdata} packs)"))
                for y, v in pts:
                    table.append({"year": y, "group": u.replace("_", " "), **v})
            fig.update_layout(**_layout(title="Mean state of health by usage (packs in vehicles)",
                                        yaxis_title="state of health (%)", xaxis={"dtick": 1}))
            figures.append(_fig("health-usages", fig))
        sl = [(r["year"], r["second_life"]) for r in rows if r.get("second_life")]
        if sl:
            fig = go.Figure([
                go.Bar(x=[y for y, _ in sl], y=[v.get("n") for _, v in sl], name="packs in second life",
                       marker_color=_rgba("#2ca02c", 0.45), yaxis="y2"),
                go.Scatter(x=[y for y, _ in sl], y=[v.get("mean") for _, v in sl], mode="lines+markers",
                           name="mean state of health (%)", line={"color": "#1b5e20", "width": 2.5}),
            ])
            fig.update_layout(**_layout(title="Second life: packs in storage hubs and their mean state of health",
                                        yaxis_title="state of health (%)", xaxis={"dtick": 1},
                                        yaxis2={"title": "packs", "overlaying": "y", "side": "right",
                                                "rangemode": "tozero"},
                                        legend={"orientation": "h", "y": 1.08, "x": 0}))
            figures.append(_fig("health-second-life", fig))
            for y, v in sl:
                table.append({"year": y, "group": "second life", **v})
    hubs = []
    for r in _year_rows(rep.get("second_life_by_year")):
        for region, h in r.items():
            if region != "year" and isinstance(h, dict):
                hubs.append({"year": r["year"], "region": region, **h})
    return {"figures": figures, "table": table, "hubs": hubs, "has_soh": bool(rows)}


# ---------------------------------------------------------------------------------------- materials
SANKEY_COLORS = {"mine": "#8c6d31", "refining": "#bd9e39", "cathode": "#6baed6", "cells": "#3182bd",
                 "packs": "#08519c", "vehicles (in use)": "#1f77b4", "second life": "#2ca02c", "recycling": "#8c564b",
                 "illegal outflow": "#d62728", "recovered material": "#006d2c"}


def _node_color(name: str) -> str:
    for k, v in SANKEY_COLORS.items():
        if name == k or name.startswith(k):
            return v
    return "#7f7f7f"


def materials(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    figures = []
    mf = rep.get("material_flows") if isinstance(rep.get("material_flows"), dict) else None
    links = [lk for lk in (mf or {}).get("links") or [] if isinstance(lk, dict) and _num(lk.get("kg")) > 0]
    flows = []
    if links:
        nodes = list(mf.get("nodes") or [])
        for lk in links:
            for n in (lk["source"], lk["target"]):
                if n not in nodes:
                    nodes.append(n)
        idx = {n: i for i, n in enumerate(nodes)}
        fig = go.Figure(go.Sankey(
            valueformat=",.0f", valuesuffix=" kg",
            node={"label": nodes, "color": [_node_color(n) for n in nodes], "pad": 18, "thickness": 16,
                  "line": {"color": "#ffffff", "width": 0.5}},
            link={"source": [idx[lk["source"]] for lk in links], "target": [idx[lk["target"]] for lk in links],
                  "value": [lk["kg"] for lk in links],
                  "color": [_rgba(_node_color(lk["target"] if lk["target"] in ("illegal outflow", "recovered material")
                                              else lk["source"]), 0.35) for lk in links]},
        ))
        fig.update_layout(**_layout(title=f"Material flows over the pilot ({mf.get('unit') or 'kg'})", height=520,
                                    margin={"l": 20, "r": 20, "t": 50, "b": 20}, font={"size": 12}))
        figures.append(_fig("materials-sankey", fig))
        flows = sorted(links, key=lambda lk: -_num(lk["kg"]))
    rc = rep.get("recycled_content") if isinstance(rep.get("recycled_content"), dict) else None
    rc_rows = sorted((r for r in (rc or {}).get("rows") or [] if isinstance(r, dict)),
                     key=lambda r: (str(r.get("model_id")), r.get("year", 0)))
    minimums = (rc or {}).get("minimums") or {}
    rc_table = []
    if rc_rows:
        models = list(dict.fromkeys(r["model_id"] for r in rc_rows))
        for el in ELEMENTS:
            series = {m: [(r["year"], (r.get("elements") or {}).get(el) or {}) for r in rc_rows if r["model_id"] == m]
                      for m in models}
            series = {m: [(y, v) for y, v in pts if v.get("total") is not None] for m, pts in series.items()}
            series = {m: pts for m, pts in series.items() if pts}
            if not series:
                continue
            years = sorted({y for pts in series.values() for y, _ in pts})
            fig = go.Figure()
            for i, m in enumerate(models):
                if m not in series:
                    continue
                pts = series[m]
                fig.add_trace(go.Scatter(x=[y for y, _ in pts], y=[100 * v["total"] for _, v in pts],
                                         mode="lines+markers", name=m, line={"color": COLORS[i % len(COLORS)], "width": 2.5},
                                         hovertemplate="%{x}: %{y:.2f} %<extra>" + m + "</extra>"))
            for j, (date, mins) in enumerate(sorted(minimums.items())):
                if isinstance(mins, dict) and isinstance(mins.get(el), (int, float)):
                    fig.add_trace(go.Scatter(x=[years[0], years[-1]] if len(years) > 1 else [years[0] - 0.5, years[0] + 0.5],
                                             y=[100 * mins[el]] * 2, mode="lines",
                                             name=f"minimum from {date[:4]} ({100 * mins[el]:.0f} %)",
                                             line={"color": "#333333" if j else "#7f7f7f", "dash": "dash" if j else "dot",
                                                   "width": 1.5}, hoverinfo="name"))
            fig.update_layout(**_layout(title=f"Recycled {el} content of new packs by year (Art. 8, mass balance)",
                                        yaxis_title=f"recycled {el} (% of the {el} in the year's packs)",
                                        xaxis={"dtick": 1}, yaxis={"rangemode": "tozero"}))
            figures.append(_fig(f"materials-recycled-{el}", fig))
        for r in rc_rows:
            els = r.get("elements") or {}
            rc_table.append({"model_id": r["model_id"], "year": r.get("year"), "packs": r.get("packs"),
                             "elements": {el: els.get(el) or {} for el in ELEMENTS
                                          if (els.get(el) or {}).get("total") is not None}})
    recovered = _year_rows(rep.get("recovered_by_year"))
    if recovered and any(_num(v) > 0 for r in recovered for k, v in r.items() if k != "year"):
        fig = go.Figure([go.Bar(name=el, x=[r["year"] for r in recovered], y=[r.get(el, 0) for r in recovered],
                                marker_color=COLORS[i % len(COLORS)])
                         for i, el in enumerate(_keys(recovered))])
        fig.update_layout(**_layout(barmode="stack", title="Material recovered by the recyclers each year (kg)",
                                    yaxis_title="kg", xaxis={"dtick": 1}))
        figures.append(_fig("materials-recovered", fig))
    return {"figures": figures, "flows": flows, "unit": (mf or {}).get("unit"), "has_flows": bool(links),
            "rc": rc, "rc_table": rc_table, "minimums": minimums, "recovered": recovered,
            "rc_settings": (rc or {}).get("settings") or {}}


# ---------------------------------------------------------------------------------------- footprint
def footprint(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    fp = rep.get("footprint") if isinstance(rep.get("footprint"), dict) else {}
    fp = {m: v for m, v in fp.items() if isinstance(v, dict) and any(isinstance(v.get(k), (int, float)) for k, _ in STAGES)}
    figures = []
    if fp:
        models = list(fp)
        fig = go.Figure([go.Bar(name=label, x=models, y=[fp[m].get(key) for m in models],
                                marker_color=COLORS[i], hovertemplate="%{x}: %{y:.4f} kg CO₂e/kWh<extra>" + label + "</extra>")
                         for i, (key, label) in enumerate(STAGES)])
        totals = [fp[m].get("total_kgco2e_per_kwh") for m in models]
        if any(isinstance(t, (int, float)) for t in totals):
            fig.add_trace(go.Scatter(x=models, y=totals, mode="markers+text", name="total",
                                     text=[f"{t:.3f}" if isinstance(t, (int, float)) else "" for t in totals],
                                     textposition="top center", marker={"color": "#111111", "symbol": "line-ew-open",
                                                                        "size": 26, "line": {"width": 2}}))
        fig.update_layout(**_layout(barmode="relative",
                                    title="Carbon footprint by life-cycle stage and model (kg CO₂e per kWh)",
                                    yaxis_title="kg CO₂e per kWh of total energy over the service life"))
        figures.append(_fig("footprint-stages", fig))
    models = {m["model_id"]: m for m in rep.get("models") or [] if isinstance(m, dict) and "model_id" in m}
    return {"figures": figures, "fp": fp, "stages": STAGES, "models": models}


# ------------------------------------------------------------------------------------------- routes
def _quartiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.asarray(values, dtype=float)
    return {"q1": float(np.percentile(a, 25)), "median": float(np.percentile(a, 50)), "q3": float(np.percentile(a, 75)),
            "lowerfence": float(a.min()), "upperfence": float(a.max()), "mean": float(a.mean())}


def routes(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    figures = []
    by_year = _year_rows(rep.get("routes_by_year"))
    kinds = _keys(by_year)
    if kinds:
        fig = go.Figure([go.Bar(name=k, x=[r["year"] for r in by_year], y=[r.get(k, 0) for r in by_year],
                                marker_color=_route_color(k, i)) for i, k in enumerate(kinds)])
        fig.update_layout(**_layout(barmode="stack", title="Routes chosen for the packs retired each year",
                                    yaxis_title="packs", xaxis={"dtick": 1}))
        figures.append(_fig("routes-by-year", fig))
    econ = rep.get("route_economics") if isinstance(rep.get("route_economics"), dict) else {}
    econ = {k: v for k, v in econ.items() if isinstance(v, dict)}
    if econ:
        names = list(econ)
        fig = go.Figure([
            go.Bar(name="packs", x=names, y=[econ[k].get("packs") for k in names], marker_color="#9ecae1"),
            go.Scatter(name="mean NPV per pack ($)", x=names, y=[econ[k].get("mean_npv_usd") for k in names],
                       mode="markers+lines", yaxis="y2", marker={"size": 11, "color": "#08519c"}),
        ])
        fig.update_layout(**_layout(title="Route economics: packs and mean net present value per pack",
                                    yaxis_title="packs",
                                    yaxis2={"title": "mean NPV per pack ($)", "overlaying": "y", "side": "right",
                                            "rangemode": "tozero"},
                                    legend={"orientation": "h", "y": 1.08, "x": 0}))
        figures.append(_fig("routes-economics", fig))
    decisions = [d for d in rep.get("decisions_sample") or [] if isinstance(d, dict)]
    groups: dict[tuple[Any, str], list[dict[str, Any]]] = defaultdict(list)
    for d in decisions:
        groups[(d.get("year"), str(d.get("route")))].append(d)
    agg = []
    for (year, route), ds in sorted(groups.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        soh = [d["soh_pct"] for d in ds if isinstance(d.get("soh_pct"), (int, float))]
        npv = [d["npv_usd"] for d in ds if isinstance(d.get("npv_usd"), (int, float))]
        if len(ds) < MIN_GROUP:  # a mean over one or two packs would be their own state of health
            soh, npv = [], []
        agg.append({"year": year, "route": route, "packs": len(ds),
                    "grades": ", ".join(f"{g} {n}" for g, n in sorted(Counter(str(d.get("grade")) for d in ds).items())),
                    "models": ", ".join(f"{m} {n}" for m, n in sorted(Counter(str(d.get("model")) for d in ds).items())),
                    "mean_soh": sum(soh) / len(soh) if soh else None, "mean_npv": sum(npv) / len(npv) if npv else None})
    by_route: dict[str, list[float]] = defaultdict(list)
    for d in decisions:
        if isinstance(d.get("soh_pct"), (int, float)):
            by_route[str(d.get("route"))].append(float(d["soh_pct"]))
    if by_route:
        # quartiles computed here: the figure carries no pack's own state of health
        fig = go.Figure()
        for i, (route, vals) in enumerate(sorted(by_route.items())):
            if len(vals) < MIN_GROUP:
                continue
            q = _quartiles(vals)
            fig.add_trace(go.Box(name=f"{route} ({len(vals)})", x=[route], q1=[q["q1"]], median=[q["median"]],
                                 q3=[q["q3"]], lowerfence=[q["lowerfence"]], upperfence=[q["upperfence"]],
                                 mean=[q["mean"]], marker_color=_route_color(route, i), boxpoints=False))
        fig.update_layout(**_layout(title="State of health at retirement by route chosen (decisions in the sample; "
                                          f"routes with {MIN_GROUP} packs or more)",
                                    yaxis_title="state of health (%)", showlegend=False))
        if fig.data:
            figures.append(_fig("routes-soh", fig))
    return {"figures": figures, "by_year": by_year, "kinds": kinds, "econ": econ, "agg": agg, "min_group": MIN_GROUP,
            "decisions": decisions if _overseer(c) else None, "n_decisions": len(decisions),
            "total_decisions": (rep.get("summary") or {}).get("route_decisions")}


ROUTE_COLORS = {"reuse": "#17becf", "remanufacture": "#1f77b4", "repurpose": "#2ca02c", "recycle": "#8c564b"}


def _route_color(route: str, i: int) -> str:
    for k, v in ROUTE_COLORS.items():
        if route.startswith(k):
            return v
    return COLORS[(i + 3) % len(COLORS)]


# --------------------------------------------------------------------------------------------- baas
def baas(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    rows = _year_rows(rep.get("baas_by_year"))
    figures = []
    if rows:
        years = [r["year"] for r in rows]
        st = [r.get("station") or {} for r in rows]
        fig = go.Figure([
            go.Bar(name="leased packs", x=years, y=[r.get("leased_packs") for r in rows], marker_color="#1f77b4"),
            go.Bar(name="new packs bought", x=years, y=[r.get("new_packs_bought") for r in rows], marker_color="#9ecae1"),
        ])
        if any(isinstance(s.get("swaps_served"), (int, float)) for s in st):
            fig.add_trace(go.Scatter(name="swaps served by the station", x=years, y=[s.get("swaps_served") for s in st],
                                     mode="lines+markers", yaxis="y2", line={"color": "#ff7f0e", "width": 2.5}))
        fig.update_layout(**_layout(barmode="group", title="BaaS fleet and swaps per year", yaxis_title="packs",
                                    xaxis={"dtick": 1},
                                    yaxis2={"title": "swaps", "overlaying": "y", "side": "right", "rangemode": "tozero"},
                                    legend={"orientation": "h", "y": 1.08, "x": 0}))
        figures.append(_fig("baas-fleet", fig))
        money = [("subscription revenue", [r.get("subscription_revenue_usd") for r in rows], "#2ca02c"),
                 ("swap revenue", [s.get("swap_revenue") for s in st], "#98df8a"),
                 ("swap-station gross margin", [s.get("gross_margin") for s in st], "#17becf"),
                 ("pack purchases", [-_num(r.get("pack_capex_usd")) for r in rows], "#d62728")]
        fig = go.Figure([go.Bar(name=n, x=years, y=ys, marker_color=col) for n, ys, col in money
                         if any(isinstance(v, (int, float)) for v in ys)])
        fig.update_layout(**_layout(barmode="group", title="BaaS operator's money per year ($; purchases negative)",
                                    yaxis_title="$", xaxis={"dtick": 1}))
        figures.append(_fig("baas-money", fig))
        with_station = [(y, s) for y, s in zip(years, st, strict=True) if s]
        if with_station:
            xs = [y for y, _ in with_station]
            fig = go.Figure([
                go.Scatter(name="service level", x=xs,
                           y=[100 * _num(s.get("service_level_fraction")) for _, s in with_station],
                           mode="lines+markers", line={"color": "#1f77b4", "width": 2.5}),
                go.Scatter(name="charging at peak hours", x=xs,
                           y=[100 * _num(s.get("peak_charging_share_fraction")) for _, s in with_station],
                           mode="lines+markers", line={"color": "#d62728", "width": 2.5}),
            ])
            fig.update_layout(**_layout(title="Swap station: service level and share of charging at peak (%)",
                                        yaxis_title="%", xaxis={"dtick": 1}, yaxis={"range": [0, 105]}))
            figures.append(_fig("baas-station", fig))
    return {"figures": figures, "rows": rows, "station_years": [r["year"] for r in rows if r.get("station")]}


# ----------------------------------------------------------------------------------------- outflows
def outflows(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    out = rep.get("outflows") if isinstance(rep.get("outflows"), dict) else None
    counts = (out or {}).get("counts") or {}
    simulated = [x for x in (out or {}).get("simulated") or [] if isinstance(x, dict)]
    findings = [x for x in (out or {}).get("findings") or [] if isinstance(x, dict)]
    figures = []
    by_year = Counter((x.get("year"), str(x.get("how"))) for x in simulated)
    if counts:
        rules = sorted(counts)
        fig = go.Figure(go.Bar(x=[r.replace("_", " ") for r in rules], y=[counts[r] for r in rules],
                               marker_color="#d62728", name="findings"))
        fig.update_layout(**_layout(title="Outflow findings by rule (the ledger's outflow report)",
                                    yaxis_title="findings"))
        figures.append(_fig("outflows-rules", fig))
    if simulated:
        years = sorted({y for y, _ in by_year if y is not None})
        hows = sorted({h for _, h in by_year})
        fig = go.Figure([go.Bar(name=h, x=years, y=[by_year.get((y, h), 0) for y in years],
                                marker_color=COLORS[(i + 1) % len(COLORS)]) for i, h in enumerate(hows)])
        fig.update_layout(**_layout(barmode="stack", title="Packs that left the loop in the simulation, by year and way",
                                    yaxis_title="packs", xaxis={"dtick": 1},
                                    legend={"orientation": "h", "y": -0.2, "x": 0}))
        figures.append(_fig("outflows-simulated", fig))
    found = {x.get("pack") for x in findings}
    caught = sum(1 for x in simulated if x.get("pack") in found)
    overseer = _overseer(c)
    return {"figures": figures, "out": out, "counts": counts, "overseer": overseer,
            "findings": findings if overseer else None, "simulated": simulated if overseer else None,
            "n_findings": len(findings), "n_simulated": len(simulated), "caught": caught,
            "flagged_packs": len(found), "hows": Counter(str(x.get("how")) for x in simulated)}


# ---------------------------------------------------------------------------------------- dataspace
DATASPACE_PARTS = [("nodes", "Connector nodes"), ("credentials", "Credentials"),
                   ("recognition_agreements", "Recognition agreements"), ("agreements", "Agreements"),
                   ("contracts", "Contracts"), ("negotiations", "Contract negotiations"), ("transfers", "Transfers"),
                   ("bridge", "Bridge between the data spaces")]


def _table(value: Any) -> dict[str, Any]:
    """A section of the data-space snapshot as a table: a list of records, a mapping, or a plain value."""
    if isinstance(value, list):
        recs = [v if isinstance(v, dict) else {"value": v} for v in value]
        cols: list[str] = []
        for r in recs:
            for k in r:
                if k not in cols:
                    cols.append(k)
        return {"kind": "rows", "cols": cols, "rows": recs}
    if isinstance(value, dict):
        if value and all(isinstance(v, dict) for v in value.values()):
            cols = ["name"]
            for v in value.values():
                for k in v:
                    if k not in cols:
                        cols.append(k)
            return {"kind": "rows", "cols": cols, "rows": [{"name": k, **v} for k, v in value.items()]}
        return {"kind": "fields", "rows": list(value.items())}
    return {"kind": "value", "value": value}


def dataspace(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    ds = rep.get("dataspace")
    if not isinstance(ds, dict) or not ds:
        return {"ds": None, "parts": [], "figures": []}
    parts = []
    known = {k for k, _ in DATASPACE_PARTS}
    for key, title in DATASPACE_PARTS + [(k, k.replace("_", " ").capitalize()) for k in ds if k not in known]:
        if key in ds and ds[key] not in (None, [], {}):
            parts.append({"key": key, "title": title, "table": _table(ds[key])})
    figures = []
    transfers = ds.get("transfers")
    if isinstance(transfers, list) and transfers:
        def who(t: dict[str, Any]) -> str:
            for k in ("asset", "asset_id", "dataset", "kind", "type", "provider", "state"):
                if isinstance(t.get(k), str):
                    return t[k]
            return "transfer"

        n = Counter(who(t) if isinstance(t, dict) else "transfer" for t in transfers)
        names = sorted(n)
        fig = go.Figure(go.Bar(x=names, y=[n[k] for k in names], marker_color="#1f77b4", name="transfers"))
        fig.update_layout(**_layout(title="Transfers over the Dataspace Protocol", yaxis_title="transfers"))
        figures.append(_fig("dataspace-transfers", fig))
    return {"ds": ds, "parts": parts, "figures": figures}


# ---------------------------------------------------------------------------------------- economics
def economics(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    rows = [r for r in rep.get("cash_flows") or [] if isinstance(r, dict) and isinstance(r.get("usd"), (int, float))]
    figures = []
    if not rows:
        return {"figures": [], "rows": [], "types": [], "items": [], "pivot": {}, "by_year": {}, "years": [],
                "totals": {}}
    types = sorted({r["participant_type"] for r in rows})
    items = sorted({r["item"] for r in rows})
    years = sorted({r["year"] for r in rows})
    color = {t: COLORS[i % len(COLORS)] for i, t in enumerate(types)}
    by_year: dict[str, dict[Any, float]] = {t: defaultdict(float) for t in types}
    pivot: dict[str, dict[str, float]] = {t: defaultdict(float) for t in types}
    by_item_year: dict[str, dict[Any, float]] = {i: defaultdict(float) for i in items}
    for r in rows:
        by_year[r["participant_type"]][r["year"]] += r["usd"]
        pivot[r["participant_type"]][r["item"]] += r["usd"]
        by_item_year[r["item"]][r["year"]] += r["usd"]
    fig = go.Figure()
    for t in types:
        fig.add_trace(go.Bar(name=f"{t} (year)", x=years, y=[by_year[t].get(y, 0.0) for y in years],
                             marker_color=_rgba(color[t], 0.75), legendgroup=t))
    for t in types:
        cum, run = [], 0.0
        for y in years:
            run += by_year[t].get(y, 0.0)
            cum.append(round(run, 2))
        fig.add_trace(go.Scatter(name=f"{t} (cumulative)", x=years, y=cum, mode="lines+markers", legendgroup=t,
                                 line={"color": color[t], "width": 2.5, "dash": "dot"}))
    fig.update_layout(**_layout(barmode="relative", height=480,
                                title="Net cash per year by participant type (bars) and cumulative (lines), $",
                                yaxis_title="$", xaxis={"dtick": 1}))
    figures.append(_fig("economics-by-type", fig))
    fig = go.Figure([go.Bar(name=i, x=years, y=[by_item_year[i].get(y, 0.0) for y in years],
                            marker_color=COLORS[(k + 2) % len(COLORS)]) for k, i in enumerate(items)])
    fig.update_layout(**_layout(barmode="relative", title="Cash per year by route and item, all participants ($)",
                                yaxis_title="$", xaxis={"dtick": 1}))
    figures.append(_fig("economics-by-item", fig))
    fig = go.Figure([go.Bar(name=i, y=types, x=[pivot[t].get(i, 0.0) for t in types], orientation="h",
                            marker_color=COLORS[(k + 2) % len(COLORS)]) for k, i in enumerate(items)])
    fig.update_layout(**_layout(barmode="relative", title="For whom: net cash over the pilot by participant type "
                                                          "and route/item ($)",
                                xaxis_title="$", margin={"l": 170, "r": 20, "t": 50, "b": 60}))
    figures.append(_fig("economics-for-whom", fig))
    totals = {t: sum(pivot[t].values()) for t in types}
    return {"figures": figures, "rows": rows, "types": types, "items": items, "years": years,
            "pivot": pivot, "by_year": by_year, "totals": totals,
            "item_totals": {i: sum(pivot[t].get(i, 0.0) for t in types) for i in items}}


# -------------------------------------------------------------------------------------------- pages
BUILDERS: dict[str, Callable[[dict[str, Any], Caller], dict[str, Any]]] = {
    "overview": overview, "health": health, "materials": materials, "footprint": footprint, "routes": routes,
    "baas": baas, "outflows": outflows, "dataspace": dataspace, "economics": economics,
}


def _latest(s: Services) -> dict[str, Any] | None:
    from ..sim.report import latest_report

    try:
        return latest_report(s.store)
    except NotFound:
        return None


def render(section: str, request: Request, c: Caller, s: Services) -> Response:
    meta = next(x for x in SECTIONS if x[0] == section)
    base = {"sections": SECTIONS, "section": section, "page_title": meta[2]}
    rep = _latest(s)
    if rep is None:
        return templates.TemplateResponse(request, "pilot_none.html", _ctx(request, c, **base))
    data = BUILDERS[section](rep, c)
    refs = references_for(rep, section)
    return templates.TemplateResponse(request, f"pilot_{section}.html", _ctx(
        request, c, **base, rep=rep, run=_run_meta(rep), refs=refs, all_refs=rep.get("references") or [],
        plotly_version=_plotly_version(), **{"overseer": _overseer(c), **data}))


def _run_meta(rep: dict[str, Any]) -> dict[str, Any]:
    cfg = rep.get("config") or {}
    s = rep.get("summary") or {}
    return {"run_id": rep.get("run_id"), "created_at": str(rep.get("created_at") or "")[:19].replace("T", " "),
            "packs": cfg.get("packs", s.get("packs")), "years": cfg.get("years", s.get("years")),
            "seed": cfg.get("seed", s.get("seed")), "start_year": cfg.get("start_year", s.get("start_year")),
            "dataspace": cfg.get("dataspace"), "duration_s": s.get("duration_s"),
            "names": rep.get("names") or {}}


def _route(section: str, path: str) -> None:
    def page(request: Request, c: CallerDep, s: ServicesDep) -> Response:
        return render(section, request, c, s)

    page.__name__ = f"pilot_{section}"
    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse)


for _slug, _path, _title, _about in SECTIONS:
    _route(_slug, _path)
