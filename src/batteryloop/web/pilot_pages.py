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
from ..circular import route_options
from ..errors import NotFound
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
    from ..access import oversees

    return oversees(c)


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
        ", ".join(f"{_fmt_int(n)} {k}" for k, n in sorted((s.get("passports_by_status") or {}).items())) or None)
    ev = s.get("ledger_events")
    verified = s.get("ledger_verified")
    kpi("ledger", _fmt_int(ev), "ledger events " + ("verified ✓" if verified else "— verification failed" if verified is False else "(not verified)"),
        "every signature and hash link checked" if verified else None)
    kpi("decisions", _fmt_int(s.get("route_decisions")), "route decisions",
        ", ".join(f"{_fmt_int(n)} {route_label(k)}" for k, n in sorted((s.get("routes") or {}).items())) or None)
    rec = s.get("recovered_element_kg") or {}
    kpi("recovered", f"{sum(_num(v) for v in rec.values()):,.0f} kg", "recovered Li + Ni + Co",
        ", ".join(f"{el} {_num(v):,.1f} kg" for el, v in rec.items()) or None)
    rc = s.get("recycled_content_pct_last_year") or {}
    rc_first = s.get("recycled_content_pct_first_year") or {}
    best = [(m, el, v) for m, els in rc.items() for el, v in (els or {}).items() if isinstance(v, (int, float))]
    last_year = (s["start_year"] + s["years"] - 1) if isinstance(s.get("start_year"), int) and isinstance(s.get("years"), int) else None
    if best:
        m, el, v = max(best, key=lambda x: x[2])
        kpi("recycled", f"{v:.1f} %", f"highest recycled content{f' in {last_year}' if last_year else ', last year'}",
            f"{el} in {m}'s new packs")
    else:
        kpi("recycled", "—", "recycled content, last year", "not in this run")
    fp = {m: v for m, v in (s.get("footprint_total_kgco2e_per_kwh") or {}).items() if isinstance(v, (int, float))}
    if fp:
        lo, hi = min(fp, key=fp.get), max(fp, key=fp.get)
        kpi("footprint", f"{fp[lo]:.3f}–{fp[hi]:.3f}" if len(fp) > 1 else f"{fp[lo]:.3f}",
            "kg CO₂e per kWh: carbon footprint", f"{lo} lowest, {hi} highest" if len(fp) > 1 else lo)
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
        types = sorted(cash, key=str.lower)
        fig = go.Figure([go.Bar(x=types, y=[cash[t] for t in types],
                                marker_color=["#2ca02c" if cash[t] >= 0 else "#d62728" for t in types],
                                name="net cash")])
        fig.update_layout(**_layout(title="Net cash over the pilot by participant type ($)", yaxis_title="$"))
        figures.append(_fig("overview-cash", fig))
    rc_models = sorted(set(rc) | set(rc_first))
    rc_elements = [el for el in ELEMENTS if any(isinstance((d.get(m) or {}).get(el), (int, float))
                                                for d in (rc, rc_first) for m in rc_models)]
    return {"kpis": kpis, "cash": cash, "summary": s, "figures": figures, "recycled_last": rc, "recycled_first": rc_first,
            "rc_models": rc_models, "rc_elements": rc_elements, "last_year": last_year, "outflow_counts": out}


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
            pts = [(r["year"], r["models"][m]) for r in rows if _enough((r.get("models") or {}).get(m))]
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
                pts = [(r["year"], r["usages"][u]) for r in rows if _enough((r.get("usages") or {}).get(u))]
                fig.add_trace(go.Scatter(x=[y for y, _ in pts], y=[v.get("mean") for _, v in pts], mode="lines+markers",
                                         name=u.replace("_", " "), line={"color": COLORS[(i + 4) % len(COLORS)]},
                                         customdata=[v.get("n") for _, v in pts],
                                         hovertemplate="%{x}: mean %{y:.1f} % (%{customdata} packs)"))
                for y, v in pts:
                    table.append({"year": y, "group": u.replace("_", " "), **v})
            fig.update_layout(**_layout(title="Mean state of health by usage (packs in vehicles)",
                                        yaxis_title="state of health (%)", xaxis={"dtick": 1}))
            figures.append(_fig("health-usages", fig))
        sl = [(r["year"], r["second_life"]) for r in rows if isinstance(r.get("second_life"), dict)]
        if sl:
            ok = [(y, v) for y, v in sl if _enough(v)]
            fig = go.Figure([
                go.Bar(x=[y for y, _ in sl], y=[v.get("n") for _, v in sl], name="packs in second life (right axis)",
                       marker_color=_rgba("#2ca02c", 0.45), yaxis="y2", hovertemplate="%{x}: %{y} packs<extra></extra>"),
                go.Scatter(x=[y for y, _ in ok], y=[v.get("mean") for _, v in ok], mode="lines+markers",
                           name="mean state of health (%, left axis)", line={"color": "#1b5e20", "width": 2.5},
                           hovertemplate="%{x}: mean %{y:.1f} %<extra></extra>"),
            ])
            fig.update_layout(**_layout(title="Second life: packs in the storage hubs and their mean state of health",
                                        yaxis={"title": "state of health (%)", "gridcolor": "#e5e9ee"},
                                        xaxis={"dtick": 1, "gridcolor": "#e5e9ee"},
                                        yaxis2={"title": "packs", "overlaying": "y", "side": "right", "tickmode": "auto", "showgrid": False,
                                                **_count_axis(v.get("n") for _, v in sl)},
                                        legend={"orientation": "h", "y": -0.15, "x": 0}, margin={"b": 80}))
            figures.append(_fig("health-second-life", fig))
            for y, v in sl:
                table.append({"year": y, "group": "second life", **v})
    for r in table:
        if not _enough(r):  # a mean over one or two packs would be those packs' own state of health
            r.update({"mean": None, "p10": None, "p90": None, "withheld": True})
    hubs, idle = [], defaultdict(list)
    for r in _year_rows(rep.get("second_life_by_year")):
        for region, h in r.items():
            if region != "year" and isinstance(h, dict):
                if h.get("energy_delivered_kwh") is None and h.get("storage_net_value_usd") is None \
                        and h.get("net_operating_value_usd") is None:
                    idle[(region, str(h.get("note") or "no hub simulated"))].append(r["year"])
                else:
                    hubs.append({"year": r["year"], "region": region, **h})
    hubs.sort(key=lambda h: (str(h["region"]), h["year"]))
    hubs_idle = [{"region": reg, "note": note, "years": _year_ranges(years)} for (reg, note), years in sorted(idle.items())]
    return {"figures": figures, "table": table, "hubs": hubs, "hubs_idle": hubs_idle, "has_soh": bool(rows),
            "min_group": MIN_GROUP}


def _enough(v: Any) -> bool:
    """A state-of-health aggregate over enough packs to show (no n: an older report, shown as it is)."""
    return isinstance(v, dict) and (not isinstance(v.get("n"), (int, float)) or v["n"] >= MIN_GROUP)


def _year_ranges(years: list[int]) -> str:
    """[2016, 2017, 2018, 2020] → "2016–2018, 2020"."""
    out: list[str] = []
    ys = sorted(set(years))
    i = 0
    while i < len(ys):
        j = i
        while j + 1 < len(ys) and ys[j + 1] == ys[j] + 1:
            j += 1
        out.append(str(ys[i]) if i == j else f"{ys[i]}–{ys[j]}")
        i = j + 1
    return ", ".join(out)


# ---------------------------------------------------------------------------------------- materials
SANKEY_COLORS = {"mine": "#8c6d31", "refining": "#bd9e39", "cathode": "#6baed6", "cells": "#3182bd",
                 "packs": "#08519c", "vehicles (in use)": "#1f77b4", "second life": "#2ca02c", "recycling": "#8c564b",
                 "illegal outflow": "#d62728", "recovered material": "#006d2c"}


def _node_color(name: str) -> str:
    for k, v in SANKEY_COLORS.items():
        if name == k or name.startswith(k):
            return v
    return "#7f7f7f"


def _unit(unit: Any) -> str:
    """The flows' unit for a title in parentheses: "kg of Li, Ni, Co, Mn and Fe (graphite apart)" → "…; graphite apart"."""
    u = str(unit or "kg")
    return u.replace(" (", "; ").replace(")", "") if u.count("(") == 1 and u.endswith(")") else u


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
        fig.update_layout(**_layout(title=f"Material flows over the pilot ({_unit(mf.get('unit'))})", height=520,
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
    return {"figures": figures, "flows": flows, "unit": _unit((mf or {}).get("unit")) if mf else None,
            "has_flows": bool(links),
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
    ds = rep.get("dataspace") if isinstance(rep.get("dataspace"), dict) else {}
    bridge = ds.get("bridge") if isinstance(ds.get("bridge"), dict) else None
    return {"figures": figures, "fp": fp, "stages": STAGES, "models": models,
            "bridged": bridge.get("model_id") if bridge else None}


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
        fig = go.Figure([go.Bar(name=route_label(k), x=[r["year"] for r in by_year], y=[r.get(k, 0) for r in by_year],
                                marker_color=_route_color(k, i)) for i, k in enumerate(kinds)])
        fig.update_layout(**_layout(barmode="stack", title="Routes chosen for the packs retired each year",
                                    yaxis=_count_axis([sum(_num(r.get(k)) for k in kinds) for r in by_year],
                                                      title="packs", gridcolor="#e5e9ee"),
                                    xaxis={"dtick": 1}, legend={"traceorder": "reversed"}))
        figures.append(_fig("routes-by-year", fig))
    econ = rep.get("route_economics") if isinstance(rep.get("route_economics"), dict) else {}
    econ = {k: v for k, v in econ.items() if isinstance(v, dict)}
    if econ:
        names = list(econ)
        labels = [route_label(k) for k in names]
        fig = go.Figure([
            go.Bar(name="packs (left axis)", x=labels, y=[econ[k].get("packs") for k in names],
                   marker_color=[_rgba(_route_color(k, i), 0.45) for i, k in enumerate(names)],
                   hovertemplate="%{x}: %{y} packs<extra></extra>"),
            go.Scatter(name="mean NPV per pack ($, right axis)", x=labels, y=[econ[k].get("mean_npv_usd") for k in names],
                       mode="markers", yaxis="y2", marker={"size": 14, "color": "#08519c", "symbol": "diamond"},
                       hovertemplate="%{x}: %{y:$,.0f} per pack<extra></extra>"),
        ])
        fig.update_layout(**_layout(title="Route economics: packs and mean net present value per pack",
                                    yaxis=_count_axis([econ[k].get("packs") for k in names], title="packs",
                                                      gridcolor="#e5e9ee"),
                                    yaxis2={"title": "mean NPV per pack ($)", "overlaying": "y", "side": "right", "tickmode": "auto",
                                            "rangemode": "tozero", "showgrid": False, "tickformat": "$,.0f"},
                                    legend={"orientation": "h", "y": -0.15, "x": 0}, margin={"b": 80}))
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
        agg.append({"year": year, "route": route, "route_label": route_label(route), "packs": len(ds),
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
            fig.add_trace(go.Box(name=f"{route_label(route)} ({len(vals)})", x=[route_label(route)], q1=[q["q1"]], median=[q["median"]],
                                 q3=[q["q3"]], lowerfence=[q["lowerfence"]], upperfence=[q["upperfence"]],
                                 mean=[q["mean"]], marker_color=_route_color(route, i), boxpoints=False))
        fig.update_layout(**_layout(title="State of health at retirement by route chosen (decisions in the sample; "
                                          f"routes with {MIN_GROUP} packs or more)",
                                    yaxis_title="state of health (%)", showlegend=False))
        if fig.data:
            figures.append(_fig("routes-soh", fig))
    return {"figures": figures, "by_year": by_year, "kinds": kinds, "econ": econ, "agg": agg, "min_group": MIN_GROUP,
            "route_label": route_label,
            "decisions": decisions if _overseer(c) else None, "n_decisions": len(decisions),
            "total_decisions": (rep.get("summary") or {}).get("route_decisions")}


def route_label(route: Any) -> str:
    """A route option's label (circular/route_options.py: recycle_hydro → recycle (hydro)); other names with
    their underscores as spaces."""
    r = str(route)
    spec = route_options.get(r)
    if spec is not None:
        return spec.label
    for k in route_options.kinds():
        if r.startswith(k + "_"):
            return f"{k} ({r[len(k) + 1:].replace('_', ' ')})"
    return r.replace("_", " ")


def _count_axis(values: Any, **kw: Any) -> dict[str, Any]:
    """A y (or x) axis of counts: whole numbers only (no 0.5 packs on small counts)."""
    top = max((_num(v) for v in values), default=0)
    return {"tickformat": ",d", "rangemode": "tozero", **({"dtick": 1} if top <= 8 else {}), **kw}


ROUTE_COLORS = route_options.colors()  # route family → colour, from the route options


def _route_color(route: str, i: int) -> str:
    for k, v in ROUTE_COLORS.items():
        if route.startswith(k):
            return v
    return COLORS[(i + 3) % len(COLORS)]


# --------------------------------------------------------------------------------------------- baas
def _station(st: Any) -> dict[str, Any]:
    """A year's swap-station KPIs under their current keys (``*_per_year``, USD); older reports' keys read too."""
    if not isinstance(st, dict) or not st:
        return {}

    def pick(*keys: str) -> Any:
        return next((st[k] for k in keys if isinstance(st.get(k), (int, float))), None)

    return {"stations": pick("stations"),
            "swaps": pick("swaps_served_per_year", "swaps_served"),
            "service_level": pick("service_level_fraction"),
            "peak_share": pick("peak_charging_share_fraction"),
            "energy_kwh": pick("energy_charged_kwh_per_year", "energy_charged_kwh"),
            "revenue_usd": pick("swap_revenue_usd_per_year", "swap_revenue"),
            "margin_usd": pick("gross_margin_usd_per_year", "gross_margin")}


def baas(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    rows = _year_rows(rep.get("baas_by_year"))
    figures = []
    st = [_station(r.get("station")) for r in rows]
    fee_models = sorted({m for r in rows for m in (r.get("monthly_fee_usd") or {})})
    if rows:
        years = [r["year"] for r in rows]
        fig = go.Figure([
            go.Bar(name="leased packs", x=years, y=[r.get("leased_packs") for r in rows], marker_color="#1f77b4"),
            go.Bar(name="new packs bought", x=years, y=[r.get("new_packs_bought") for r in rows], marker_color="#9ecae1"),
        ])
        swaps = [s_.get("swaps") for s_ in st]
        if any(isinstance(v, (int, float)) for v in swaps):
            fig.add_trace(go.Scatter(name="swaps served by the stations per year (right axis)", x=years, y=swaps,
                                     mode="lines+markers", yaxis="y2", line={"color": "#ff7f0e", "width": 2.5},
                                     hovertemplate="%{x}: %{y:,.0f} swaps<extra></extra>"))
        fig.update_layout(**_layout(barmode="group", title="BaaS fleet and swaps per year", yaxis_title="packs",
                                    xaxis={"dtick": 1},
                                    yaxis2={"title": "swaps per year", "overlaying": "y", "side": "right", "tickmode": "auto",
                                            "rangemode": "tozero", "showgrid": False, "tickformat": ",d"},
                                    legend={"orientation": "h", "y": -0.15, "x": 0}, margin={"b": 80}))
        figures.append(_fig("baas-fleet", fig))
        money = [("subscription revenue", [r.get("subscription_revenue_usd") for r in rows], "#2ca02c"),
                 ("swap revenue", [s_.get("revenue_usd") for s_ in st], "#98df8a"),
                 ("swap stations' gross margin", [s_.get("margin_usd") for s_ in st], "#17becf"),
                 ("pack purchases", [-_num(r.get("pack_capex_usd")) for r in rows], "#d62728")]
        fig = go.Figure([go.Bar(name=n, x=years, y=ys, marker_color=col,
                                hovertemplate="%{x}: %{y:$,.0f}<extra>" + n + "</extra>") for n, ys, col in money
                         if any(isinstance(v, (int, float)) for v in ys)])
        fig.update_layout(**_layout(barmode="group", title="BaaS operator's money per year ($; purchases negative; "
                                                           "swap revenue before the stations' costs)",
                                    yaxis_title="$ per year", xaxis={"dtick": 1},
                                    legend={"orientation": "h", "y": -0.15, "x": 0}, margin={"b": 80}))
        figures.append(_fig("baas-money", fig))
        with_station = [(y, s_) for y, s_ in zip(years, st, strict=True) if s_]
        if with_station:
            xs = [y for y, _ in with_station]
            fig = go.Figure([
                go.Scatter(name="service level (swaps served of those requested)", x=xs,
                           y=[100 * _num(s_.get("service_level")) for _, s_ in with_station],
                           mode="lines+markers", line={"color": "#1f77b4", "width": 2.5}),
                go.Scatter(name="share of charging energy at peak hours", x=xs,
                           y=[100 * _num(s_.get("peak_share")) for _, s_ in with_station],
                           mode="lines+markers", line={"color": "#d62728", "width": 2.5}),
            ])
            fig.update_layout(**_layout(title="Swap station: service level and share of charging at peak (%)",
                                        yaxis_title="%", xaxis={"dtick": 1}, yaxis={"range": [0, 105]},
                                        legend={"orientation": "h", "y": -0.15, "x": 0}, margin={"b": 80}))
            figures.append(_fig("baas-station", fig))
    station_years = [r["year"] for r, s_ in zip(rows, st, strict=True) if s_]
    return {"figures": figures, "rows": [{**r, "st": s_} for r, s_ in zip(rows, st, strict=True)],
            "station_years": station_years, "fee_models": fee_models}


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
                                    yaxis=_count_axis(counts.values(), title="findings", gridcolor="#e5e9ee")))
        figures.append(_fig("outflows-rules", fig))
    if simulated:
        years = sorted({y for y, _ in by_year if y is not None})
        hows = sorted({h for _, h in by_year})
        fig = go.Figure([go.Bar(name=h, x=years, y=[by_year.get((y, h), 0) for y in years],
                                marker_color=COLORS[(i + 1) % len(COLORS)]) for i, h in enumerate(hows)])
        per_year = [sum(by_year.get((y, h), 0) for h in hows) for y in years]
        fig.update_layout(**_layout(barmode="stack", title="Packs that left the loop in the simulation, by year and way",
                                    yaxis=_count_axis(per_year, title="packs", gridcolor="#e5e9ee"),
                                    xaxis={"dtick": 1, "type": "category"}, showlegend=True,
                                    legend={"orientation": "h", "y": -0.2, "x": 0}, margin={"b": 90}))
        figures.append(_fig("outflows-simulated", fig))
    found = {x.get("pack") for x in findings}
    caught = sum(1 for x in simulated if x.get("pack") in found)
    overseer = _overseer(c)
    return {"figures": figures, "out": out, "counts": counts, "overseer": overseer,
            "findings": findings if overseer else None, "simulated": simulated if overseer else None,
            "n_findings": len(findings), "n_simulated": len(simulated), "caught": caught,
            "flagged_packs": len(found), "hows": Counter(str(x.get("how")) for x in simulated)}


# ---------------------------------------------------------------------------------------- dataspace
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


SPACES = {"catena-x": ("Catena-X", "The European automotive data space: members identified by their business partner "
                                   "number (BPN), credentials issued by the Catena-X issuer, passports and other data "
                                   "exchanged between connectors over the Dataspace Protocol (DSP)."),
          "ouranos": ("Ouranos", "Japan's Ouranos Ecosystem: supply-chain data linkage for the battery carbon footprint "
                                 "(trade requests and certified CFP answers between operators), credentials issued by "
                                 "the Ouranos issuer.")}
NODE_ROLES = {
    "cx-issuer": ("Catena-X issuer", "Issues the Catena-X members' credentials (membership, BPN, data-exchange "
                                     "governance, dismantler)"),
    "ou-issuer": ("Ouranos issuer", "Issues the Ouranos members' credentials (membership, the certification of the "
                                    "cell maker's footprint)"),
    "automaker": ("automaker", "Serves the pilot's passports over DSP; asks the cell maker for its cell footprint"),
    "recycler": ("EU recycler", "Pulls the passports of packs retired in the EU (legitimate-interest tier, as its "
                                "dismantler credential allows)"),
    "cellmaker": ("Japanese cell maker", "Answers the automaker's trade request with its aggregated, certified cell "
                                         "carbon footprint; keeps its suppliers' figures on its node"),
}
CREDENTIAL_NAMES = {"BpnCredential": "BPN", "MembershipCredential": "Membership",
                    "DataExchangeGovernanceCredential": "Data-exchange governance",
                    "DismantlerCredential": "Dismantler", "CertificationCredential": "Certification"}
DATASET_KINDS = [("urn:bl:passport:", "passport"), ("urn:ouranos:cfp:", "cell carbon footprint")]
CFP_PARTS = {"pre_production": "pre-production", "main_production": "main production"}
DONE_STATES = {"FINALIZED", "COMPLETED", "VERIFIED", "AGREED", "STARTED"}


def _space(s: Any) -> str:
    return SPACES.get(str(s).lower(), (str(s), ""))[0] if s else "—"


def _cred_name(t: Any) -> str:
    import re

    t = str(t or "credential")
    if t in CREDENTIAL_NAMES:
        return CREDENTIAL_NAMES[t]
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", t.removesuffix("Credential")).split()
    return (" ".join([words[0]] + [w.lower() for w in words[1:]]) if words else t)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _dataset_kind(ds_id: Any) -> str:
    s = str(ds_id or "")
    for prefix, kind in DATASET_KINDS:
        if s.startswith(prefix):
            return kind
    return s.rsplit(":", 1)[0] if ":" in s else (s or "data")


def short_id(v: Any, keep: int = 18) -> str:
    """A long identifier cut for display (the page gives the full value in a title or a details element)."""
    s = "" if v is None else str(v)
    if len(s) <= keep + 8:
        return s
    if s.startswith("urn:uuid:"):
        return s[:17] + "…"
    return s[:keep] + "…" + s[-4:]


def _pair_rows(nodes: list[dict[str, Any]], label: Callable[[Any], str]) -> list[dict[str, Any]]:
    """One row per contract agreement between two nodes, seen from both sides: provider, consumer, dataset,
    negotiation and transfer state (the provider's record first)."""
    rows: dict[Any, dict[str, Any]] = {}
    for n in nodes:
        me = n.get("did")
        for kind in ("negotiations", "transfers"):
            for x in n.get(kind) or []:
                if not isinstance(x, dict):
                    continue
                provider, consumer = (me, x.get("counterparty")) if x.get("role") == "provider" else (x.get("counterparty"), me)
                key = x.get("agreement") or (kind, provider, consumer, x.get("dataset"), x.get("updated_at"))
                r = rows.setdefault(key, {"agreement": x.get("agreement"), "provider": provider, "consumer": consumer,
                                          "dataset": None, "negotiation": None, "transfer": None, "reason": None,
                                          "updated_at": None, "_from": {}})
                field_ = "negotiation" if kind == "negotiations" else "transfer"
                # the provider's record wins; a consumer's only fills what is missing
                if r[field_] is None or x.get("role") == "provider":
                    r[field_] = x.get("state")
                if x.get("dataset"):
                    r["dataset"] = x["dataset"]
                if x.get("reason"):
                    r["reason"] = x["reason"]
                if str(x.get("updated_at") or "") > str(r["updated_at"] or ""):
                    r["updated_at"] = x.get("updated_at")
    out = []
    for r in rows.values():
        r["provider_name"], r["consumer_name"] = label(r["provider"]), label(r["consumer"])
        r["kind"] = _dataset_kind(r["dataset"]) if r["dataset"] else "data"
        out.append(r)
    return sorted(out, key=lambda r: str(r["updated_at"] or ""))


def dataspace(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    ds = rep.get("dataspace")
    if not isinstance(ds, dict) or not ds:
        return {"ds": None, "figures": [], "short_id": short_id}
    names = rep.get("names") or {}
    nodes = [n for n in ds.get("nodes") or [] if isinstance(n, dict)]
    by_did: dict[str, dict[str, Any]] = {}
    for n in nodes:
        title, role = NODE_ROLES.get(str(n.get("name")), (str(n.get("name") or "node"), ""))
        org = names.get(n.get("participant_id"))
        n_ = {**n, "title": title, "role": role, "org": org,
              "label": f"{org} ({title})" if org else title, "space_name": _space(n.get("space"))}
        if n.get("did"):
            by_did[n["did"]] = n_
        n.update(n_)

    def label(did: Any) -> str:
        return by_did[did]["label"] if did in by_did else short_id(did) or "—"

    for n in nodes:
        n["creds"] = [{**cr, "name": _cred_name(cr.get("type")) if cr.get("type") != "unverifiable" else "unverifiable",
                       "issuer_name": (by_did[cr["issuer"]]["title"] if cr.get("issuer") in by_did
                                       else short_id(cr.get("issuer")) if cr.get("issuer") else None)}
                      for cr in n.get("credentials") or [] if isinstance(cr, dict)]
        negs = [x for x in n.get("negotiations") or [] if isinstance(x, dict)]
        trs = [x for x in n.get("transfers") or [] if isinstance(x, dict)]
        n["n_negotiations"], n["n_transfers"] = len(negs), len(trs)
        n["states"] = {"negotiations": dict(Counter(str(x.get("state")) for x in negs)),
                       "transfers": dict(Counter(str(x.get("state")) for x in trs))}
    spaces = []
    for key in dict.fromkeys(str(n.get("space")).lower() for n in nodes):
        title, about = SPACES.get(key, (key, ""))
        spaces.append({"key": key, "title": title, "about": about,
                       "nodes": [n for n in nodes if str(n.get("space")).lower() == key]})
    agreements = []
    for a in ds.get("agreements") or []:
        if not isinstance(a, dict):
            continue
        types = [f"{_cred_name(t)}" for t in a.get("credential_types") or []]
        agreements.append({**a, "sentence": f"{_space(a.get('accepting_space'))} accepts "
                                            f"{_and(types) or 'no'} credentials issued in {_space(a.get('issuing_space'))}"})
    pairs = _pair_rows(nodes, label)
    figures = []
    done = [r for r in pairs if r["transfer"] == "COMPLETED"]
    if done:
        flows = Counter((r["provider_name"], r["consumer_name"], r["kind"]) for r in done)
        labels = list(dict.fromkeys(x for p, q, _ in flows for x in (p, q)))
        idx = {x: i for i, x in enumerate(labels)}
        space_of = {n["label"]: n["space_name"] for n in nodes}
        colors = {"Catena-X": "#1f77b4", "Ouranos": "#d62728"}
        fig = go.Figure(go.Sankey(
            valueformat=",d", valuesuffix=" transfers",
            node={"label": labels, "pad": 24, "thickness": 18, "color": [colors.get(space_of.get(x, ""), "#7f7f7f") for x in labels],
                  "customdata": [space_of.get(x, "?") for x in labels],
                  "hovertemplate": "%{label}<br>%{customdata}: %{value} transfers<extra></extra>"},
            link={"source": [idx[p] for p, _, _ in flows], "target": [idx[q] for _, q, _ in flows],
                  "value": list(flows.values()), "label": [k for _, _, k in flows],
                  "color": [_rgba(colors.get(space_of.get(p, ""), "#7f7f7f"), 0.35) for p, _, _ in flows],
                  "hovertemplate": "%{source.label} → %{target.label}<br>%{value} %{label} transfer(s)<extra></extra>"},
        ))
        fig.update_layout(**_layout(title="Completed DSP transfers between connector nodes (provider → consumer; "
                                          "blue Catena-X, red Ouranos)", height=360,
                                    margin={"l": 20, "r": 20, "t": 50, "b": 20}, font={"size": 12}))
        figures.append(_fig("dataspace-flows", fig))
    if pairs:
        pair_names = list(dict.fromkeys(f"{r['provider_name']} → {r['consumer_name']}" for r in pairs))
        series: dict[str, Counter[str]] = defaultdict(Counter)
        for r in pairs:
            p = f"{r['provider_name']} → {r['consumer_name']}"
            if r["negotiation"]:
                series[f"negotiations {str(r['negotiation']).lower()}"][p] += 1
            if r["transfer"]:
                series[f"transfers {str(r['transfer']).lower()}"][p] += 1
        ok = {"negotiations finalized": "#9ecae1", "transfers completed": "#1f77b4"}
        fig = go.Figure([go.Bar(name=s, y=pair_names, x=[series[s].get(p, 0) for p in pair_names], orientation="h",
                                marker_color=ok.get(s, COLORS[(i + 1) % len(COLORS)]),
                                hovertemplate="%{y}: %{x}<extra>" + s + "</extra>")
                         for i, s in enumerate(sorted(series, key=lambda s: (s not in ok, s)))])
        fig.update_layout(**_layout(barmode="group", title="Contract negotiations and transfers per provider → consumer "
                                                           "pair, by state", height=max(260, 120 + 70 * len(pair_names)),
                                    xaxis={"title": "contracts", "tickformat": ",d", "rangemode": "tozero"},
                                    yaxis={"automargin": True, "autorange": "reversed"},
                                    margin={"l": 20, "r": 20, "t": 50, "b": 50},
                                    legend={"orientation": "h", "y": -0.25, "x": 0}))
        figures.append(_fig("dataspace-pairs", fig))
    bridge = ds.get("bridge") if isinstance(ds.get("bridge"), dict) else None
    b = None
    if bridge:
        cfp = {k: v for k, v in (bridge.get("supplier_cfp_kgco2e_per_kwh") or {}).items() if isinstance(v, (int, float))}
        try:
            committed = float(bridge.get("committed_total"))
        except (TypeError, ValueError):
            committed = None
        cfp_total = sum(cfp.values()) if cfp else None
        certs = []
        for cert in bridge.get("certifications") or []:
            if isinstance(cert, dict):
                ground = str(cert.get("ground") or "")
                ag = next((a for a in agreements if ground in (f"agreement:{a.get('id')}", a.get("id"))), None)
                certs.append({**cert, "issuer_name": label(cert.get("issuer")) if cert.get("issuer") else None,
                              "issuer_space": by_did[cert["issuer"]]["space_name"] if cert.get("issuer") in by_did else None,
                              "agreement": ag, "ground_id": ground.removeprefix("agreement:")})
        automaker = next((n for n in nodes if n.get("name") == "automaker"), None)
        supplier_node = by_did.get(bridge.get("supplier_did")) if bridge.get("supplier_did") else None
        b = {**bridge, "cfp": {CFP_PARTS.get(k, k.replace("_", " ")): v for k, v in cfp.items()}, "cfp_total": cfp_total, "committed": committed,
             "matches": (committed is not None and cfp_total is not None and abs(committed - cfp_total) < 1e-6),
             "certs": certs, "automaker": automaker["label"] if automaker else "the automaker",
             "automaker_space": automaker["space_name"] if automaker else None,
             "supplier_name": names.get(bridge.get("supplier")) or (supplier_node or {}).get("label") or bridge.get("supplier"),
             "supplier_space": (supplier_node or {}).get("space_name"),
             "pcf": bridge.get("pack_carbon_footprint") if isinstance(bridge.get("pack_carbon_footprint"), dict) else {}}
    pulls = sorted((p for p in ds.get("passport_pulls") or [] if isinstance(p, dict)),
                   key=lambda p: (p.get("year") or 0, str(p.get("pack"))))
    puller = next((n["label"] for n in nodes if n.get("name") == "recycler"), "the EU recycler")
    server = next((n["org"] or n["title"] for n in nodes if n.get("name") == "automaker"), "the automaker")
    known = {"nodes", "agreements", "bridge", "passport_pulls"}
    extra = [{"key": k, "title": k.replace("_", " ").capitalize(), "table": _table(v)}
             for k, v in ds.items() if k not in known and v not in (None, [], {})]
    totals = {"nodes": len(nodes), "spaces": len(spaces), "contracts": len(pairs),
              "negotiations_done": sum(1 for r in pairs if r["negotiation"] == "FINALIZED"),
              "transfers_done": len(done), "pulls": len(pulls),
              "credentials": sum(len(n["creds"]) for n in nodes)}
    return {"ds": ds, "figures": figures, "spaces": spaces, "agreements": agreements, "bridge": b, "pulls": pulls,
            "pairs": pairs, "extra": extra, "totals": totals, "puller": puller, "server": server,
            "done_states": DONE_STATES, "short_id": short_id}


# ---------------------------------------------------------------------------------------- economics
def economics(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    rows = [r for r in rep.get("cash_flows") or [] if isinstance(r, dict) and isinstance(r.get("usd"), (int, float))]
    figures = []
    if not rows:
        return {"figures": [], "rows": [], "types": [], "items": [], "pivot": {}, "by_year": {}, "years": [],
                "totals": {}}
    types = sorted({r["participant_type"] for r in rows}, key=str.lower)
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
                                xaxis_title="$", yaxis={"autorange": "reversed"},
                                margin={"l": 170, "r": 20, "t": 50, "b": 60}))
    figures.append(_fig("economics-for-whom", fig))
    totals = {t: sum(pivot[t].values()) for t in types}
    return {"figures": figures, "rows": rows, "types": types, "items": items, "years": years,
            "item_types": {i: [t for t in types if i in pivot[t]] for i in items},
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
