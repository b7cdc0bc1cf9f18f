"""Economics: does the loop pay, and for whom — cash flows by participant type, route and year."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ...access import Caller
from .charts import COLORS, _fig, _layout, _rgba


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
