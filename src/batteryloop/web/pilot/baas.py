"""Battery as a service: the fleet, the operator's money and the swap stations, per year."""

from __future__ import annotations

from typing import Any

from ...access import Caller
from .charts import _fig, _layout
from .common import _num, _year_rows


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
