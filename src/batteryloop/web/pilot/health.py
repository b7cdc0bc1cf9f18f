"""Fleet health: state of health by model and usage (p10–p90 bands, groups of fewer than three packs
withheld), second life and the storage hubs."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ...access import Caller
from .charts import COLORS, _count_axis, _fig, _layout, _rgba
from ...sim.report import MIN_GROUP
from .common import _keys, _year_rows


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
        cohorts = _keys([r.get("cohorts") or {} for r in rows], skip=())
        if cohorts:
            fig = go.Figure()
            for i, built in enumerate(cohorts):
                pts = [(r["year"], r["cohorts"][built]) for r in rows if _enough((r.get("cohorts") or {}).get(built))]
                fig.add_trace(go.Scatter(x=[v.get("age_years") for _, v in pts], y=[v.get("mean") for _, v in pts],
                                         mode="lines+markers", name=f"built {built}",
                                         line={"color": COLORS[i % len(COLORS)]},
                                         customdata=[[y, v.get("n"), v.get("mean_cycles")] for y, v in pts],
                                         hovertemplate="age %{x} (year %{customdata[0]}): mean %{y:.1f} % "
                                                       "(%{customdata[1]} packs, %{customdata[2]} cycles)"
                                                       "<extra>built " + built + "</extra>"))
                for y, v in pts:
                    table.append({"year": y, "group": f"built {built} (age {v.get('age_years')})", **v})
            fig.update_layout(**_layout(title="Mean state of health by cohort (packs in vehicles, by the year they "
                                              "were built) against their age",
                                        yaxis_title="state of health (%)", xaxis={"dtick": 1, "title": "age (years)"}))
            figures.append(_fig("health-cohorts", fig))
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
