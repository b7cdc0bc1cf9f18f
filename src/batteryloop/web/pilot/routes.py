"""Routes: what was chosen for the retired packs each year and what it was worth; each pack's decision
(its state of health and grade) only to those who may see the findings."""

from __future__ import annotations

from typing import Any

from ...access import Caller, pilot_findings_visible
from ...circular import route_options
from .charts import COLORS, _count_axis, _fig, _layout, _rgba
from ...sim.report import MIN_GROUP
from .common import _keys, _num, _year_rows


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
            go.Scatter(name="mean value at sale per pack ($, right axis)", x=labels, y=[econ[k].get("mean_npv_usd") for k in names],
                       mode="markers", yaxis="y2", marker={"size": 14, "color": "#08519c", "symbol": "diamond"},
                       hovertemplate="%{x}: %{y:$,.0f} per pack<extra></extra>"),
        ])
        fig.update_layout(**_layout(title="Route economics: packs and mean value at sale per pack (the route NPV less a later recycling)",
                                    yaxis=_count_axis([econ[k].get("packs") for k in names], title="packs",
                                                      gridcolor="#e5e9ee"),
                                    yaxis2={"title": "mean value at sale per pack ($)", "overlaying": "y", "side": "right", "tickmode": "auto",
                                            "rangemode": "tozero", "showgrid": False, "tickformat": "$,.0f"},
                                    legend={"orientation": "h", "y": -0.15, "x": 0}, margin={"b": 80}))
        figures.append(_fig("routes-economics", fig))
    decisions = [d for d in rep.get("decisions_sample") or [] if isinstance(d, dict)]
    dg = rep.get("decision_groups") if isinstance(rep.get("decision_groups"), dict) else None
    if dg is None:  # a report from before the aggregates: group its sample the report's way
        from ...sim.report import decision_groups

        dg = decision_groups(decisions)
    agg = []
    for g in dg.get("rows") or []:
        n = int(g["packs"])
        agg.append({"year": g["year"], "route": g["route"], "route_label": route_label(g["route"]), "packs": n,
                    "grades": ", ".join(f"{k} {v}" for k, v in sorted((g.get("grades") or {}).items())),
                    "models": ", ".join(f"{k} {v}" for k, v in sorted((g.get("models") or {}).items())),
                    # a mean over one or two packs would be their own state of health
                    "mean_soh": g["soh_sum"] / n if n >= MIN_GROUP else None,
                    "mean_npv": g["npv_sum_usd"] / n if n >= MIN_GROUP else None})
    by_plant = []
    for g in rep.get("decision_groups_by_plant") or []:
        if not isinstance(g, dict):
            continue
        n = int(g["packs"])
        by_plant.append({**g, "route_label": route_label(g["route"]),
                         "mean_soh": g["soh_sum"] / n if n >= MIN_GROUP else None,
                         "mean_npv": g["npv_sum_usd"] / n if n >= MIN_GROUP else None})
    quart = dg.get("soh_by_route") or {}
    if quart:
        # quartiles computed over every decision by the report: the figure carries no pack's own state of health
        fig = go.Figure()
        for i, (route, q) in enumerate(sorted(quart.items())):
            if q["n"] < MIN_GROUP:
                continue
            fig.add_trace(go.Box(name=f"{route_label(route)} ({q['n']})", x=[route_label(route)], q1=[q["q1"]],
                                 median=[q["median"]], q3=[q["q3"]], lowerfence=[q["lowerfence"]],
                                 upperfence=[q["upperfence"]], mean=[q["mean"]], marker_color=_route_color(route, i),
                                 boxpoints=False))
        fig.update_layout(**_layout(title="State of health at retirement by route chosen (every decision; "
                                          f"routes with {MIN_GROUP} packs or more)",
                                    yaxis_title="state of health (%)", showlegend=False))
        if fig.data:
            figures.append(_fig("routes-soh", fig))
    return {"figures": figures, "by_year": by_year, "kinds": kinds, "econ": econ, "agg": agg, "min_group": MIN_GROUP,
            "by_plant": by_plant,
            "route_label": route_label,
            "decisions": decisions if pilot_findings_visible(c) else None, "n_decisions": len(decisions),
            "n_grouped": sum(a["packs"] for a in agg),
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


ROUTE_COLORS = route_options.colors()  # route family → colour, from the route options


def _route_color(route: str, i: int) -> str:
    for k, v in ROUTE_COLORS.items():
        if route.startswith(k):
            return v
    return COLORS[(i + 3) % len(COLORS)]
