"""Residual value (Kia's Korean pilot, issue 18): what a retired pack is worth, by grade and year, beside what its
buyers paid in the pilot's own sales; Korea's rules where they differ from the EU's (reference korea_battery_rules)."""

from __future__ import annotations

from typing import Any

from ...access import Caller, pilot_findings_visible
from .charts import COLORS, _fig, _layout
from ...sim.report import MIN_GROUP


def residual(rep: dict[str, Any], c: Caller, region: str = "KR") -> dict[str, Any]:
    import plotly.graph_objects as go

    from ...errors import NotFound
    from ...reference.korea_battery_rules import DIFFERENCES_FROM_EU
    from ...sim.report import residual_value_of

    try:
        table = residual_value_of(rep, None if region == "all" else region,
                                  min_group=None if pilot_findings_visible(c) else MIN_GROUP)
    except NotFound:
        table = None
    figures: list[dict[str, Any]] = []
    if table and table["rows"]:
        rows = table["rows"]
        fig = go.Figure()
        for k, g in enumerate(table["grades"]):
            mine = [r for r in rows if r["grade"] == g]
            color = COLORS[k % len(COLORS)]
            fig.add_trace(go.Scatter(name=f"grade {g}: residual value", x=[r["year"] for r in mine],
                                     y=[r["residual_value_usd_per_kwh"] for r in mine], mode="lines+markers",
                                     line={"color": color, "width": 2.5}))
            fig.add_trace(go.Scatter(name=f"grade {g}: buyers paid", x=[r["year"] for r in mine],
                                     y=[r["paid_usd_per_kwh"] for r in mine], mode="lines+markers",
                                     line={"color": color, "dash": "dot"}))
        fig.update_layout(**_layout(title="Residual value of a retired pack and what buyers paid, $ per kWh, by grade",
                                    yaxis_title="$ per kWh of rated energy", xaxis={"dtick": 1}))
        figures.append(_fig("residual-by-grade", fig))
    # what "buyers paid" is in the pilot: the route operator pays the seller a fixed share of the value its route
    # decision booked (an assumption of the run), so the paid/value column restates it — say so on the page
    seller_share = next((r["value"] for r in rep.get("references") or ()
                         if r.get("set") == "batteryloop_assumptions"
                         and r.get("key") == "pilot.seller_share_of_route_value_fraction"), None)
    return {"figures": figures, "table": table, "region": region, "differences": DIFFERENCES_FROM_EU,
            "seller_share": seller_share}
