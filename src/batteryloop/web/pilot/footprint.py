"""Carbon footprint by life-cycle stage and model."""

from __future__ import annotations

from typing import Any

from ...access import Caller
from .charts import COLORS, _fig, _layout


STAGES = [("raw_material_kgco2e_per_kwh", "raw material acquisition"), ("main_production_kgco2e_per_kwh", "main production"),
          ("distribution_kgco2e_per_kwh", "distribution"), ("end_of_life_kgco2e_per_kwh", "end of life and recycling")]


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
    # a negative end-of-life stage is only possible when credits for recovered material were subtracted
    credited = any(isinstance(v.get("end_of_life_kgco2e_per_kwh"), (int, float)) and v["end_of_life_kgco2e_per_kwh"] < 0
                   for v in fp.values())
    return {"figures": figures, "fp": fp, "stages": STAGES, "models": models, "credited": credited,
            "bridged": bridge.get("model_id") if bridge else None}
