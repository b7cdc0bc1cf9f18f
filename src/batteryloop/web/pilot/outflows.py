"""Outflows: packs that left the loop without a record; the findings pack by pack only to those who may
see them (as ``GET /api/v1/trace/outflows``), counts to everyone."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ...access import Caller
from .charts import COLORS, _count_axis, _fig, _layout
from .common import findings_visible


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
    overseer = findings_visible(c)
    return {"figures": figures, "out": out, "counts": counts, "overseer": overseer,
            "findings": findings if overseer else None, "simulated": simulated if overseer else None,
            "n_findings": len(findings), "n_simulated": len(simulated), "caught": caught,
            "flagged_packs": len(found), "hows": Counter(str(x.get("how")) for x in simulated)}
