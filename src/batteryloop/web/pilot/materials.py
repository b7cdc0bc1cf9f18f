"""Materials: the material flows from mines back to recovered material (Sankey), recycled content against
the 2031/2036 minimums, material recovered per year."""

from __future__ import annotations

from typing import Any

from ...access import Caller
from .charts import COLORS, _fig, _layout, _rgba
from .common import ELEMENTS, _keys, _num, _year_rows


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
            "rc_settings": (rc or {}).get("settings") or {},
            "rc_plant": [r for r in rep.get("recycled_content_by_plant") or [] if isinstance(r, dict)]}
