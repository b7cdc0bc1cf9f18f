"""The CATL–Lanzhou fleets: the regional fleets the integrated station serves by segment, the station's swaps per
day, the state of health its swap diagnoses wrote into the passports, and the station's energy (zero-carbon
ledger: ``/zero-carbon``)."""

from __future__ import annotations

from typing import Any

from ...access import Caller
from .charts import _fig, _layout
from .common import _year_rows

SEGMENT_LABELS = {"bus": "city buses", "truck": "heavy trucks (swap blocks)", "two_wheeler": "two-wheelers",
                  "boat": "river-cruise boat (charged at its pier)"}
COLORS = {"bus": "#1f77b4", "truck": "#d62728", "two_wheeler": "#2ca02c", "boat": "#9467bd"}


def lanzhou(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    lz = rep.get("lanzhou")
    if not isinstance(lz, dict):
        return {"lz": None, "figures": [], "rows": [], "segments": {}, "labels": SEGMENT_LABELS, "hub_rows": [],
                "ledger": None}
    segs = lz.get("segments") or {}
    rows = _year_rows(lz.get("by_year"))
    hub_rows = _year_rows(lz.get("hub_by_year"))
    figures = []
    if rows:
        years = [r["year"] for r in rows]
        fig = go.Figure([go.Bar(name=SEGMENT_LABELS.get(s, s), x=years,
                                y=[((r.get("segments") or {}).get(s) or {}).get("swaps_per_day") for r in rows],
                                marker_color=COLORS.get(s)) for s in segs])
        fig.update_layout(**_layout(barmode="group", title="Swaps per day at the station, by segment (each swap diagnosed; the boat: "
                                          "charges at its pier)",
                                    yaxis_title="swaps (boat: charges) per operating day", xaxis={"dtick": 1},
                                    legend={"orientation": "h", "y": -0.15, "x": 0}, margin={"b": 80}))
        figures.append(_fig("lz-swaps", fig))
        fig = go.Figure()
        for s in segs:
            pts = [((r.get("segments") or {}).get(s) or {}) for r in rows]
            fig.add_trace(go.Scatter(name=f"{SEGMENT_LABELS.get(s, s)}: diagnosed (passports)", x=years,
                                     y=[p.get("soh_diagnosed_mean_pct") for p in pts], mode="lines+markers",
                                     line={"color": COLORS.get(s), "width": 2.5}))
            fig.add_trace(go.Scatter(name=f"{SEGMENT_LABELS.get(s, s)}: true (simulation)", x=years,
                                     y=[p.get("soh_true_mean_pct") for p in pts], mode="lines",
                                     line={"color": COLORS.get(s), "dash": "dot"}))
        fig.update_layout(**_layout(title="Mean state of health of the fleets' packs: from the swap diagnoses and "
                                          "the simulation's truth (%)", yaxis_title="%", xaxis={"dtick": 1},
                                    legend={"orientation": "h", "y": -0.2, "x": 0}, margin={"b": 100}))
        figures.append(_fig("lz-soh", fig))
    ledger = None
    if hub_rows:
        from ...hubs.ledger import zero_carbon_ledger

        parks = [{"year": h["year"], **(h.get("park") or {})} for h in hub_rows if isinstance(h.get("park"), dict)]
        country = next((p.get("country") for p in parks if p.get("country")), None)
        if parks and country:
            ledger = zero_carbon_ledger(parks, country)
    return {"lz": lz, "figures": figures, "rows": rows, "segments": segs, "labels": SEGMENT_LABELS,
            "hub_rows": hub_rows, "ledger": ledger}
