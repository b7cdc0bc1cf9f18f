"""Outflows: packs that left the loop without a record — the ledger's live outflow report, the one query
``GET /api/v1/trace/outflows`` and ``batteryloop trace outflows`` answer (:meth:`TraceQueries.outflows`),
beside what the simulation did (the run's stored report).

Counts by kind go to everyone; the findings pack by pack (holders, countries), the filters, the pages
and the CSV only to those the policy point lets read them (:func:`batteryloop.access.pilot_findings_visible`, as the API's
outflow report is answered to authorities and the node admin).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ...access import Caller, pilot_findings_visible
from ...errors import InvalidData
from .charts import COLORS, _count_axis, _fig, _layout

PARAMS = ("as_of", "k", "floor_days", "default_days", "min_intervals", "removed_days", "min_transit_hours",
          "model", "country", "kind", "participant", "limit", "offset")
"""The query parameters the page takes: the API's (filters, paging and rule parameters for overseers only)."""


def live_report(trace: Any, c: Caller, query: Mapping[str, Any], *, csv: bool = False
                ) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """The live outflow report for the page: (report, the error a bad parameter gave or ``None``, the
    parameters taken). Callers who may not read findings get the default report (its counts only)."""
    args: dict[str, Any] = {}
    if pilot_findings_visible(c):
        for name in PARAMS:
            if name == "kind":
                kinds = [v for v in query.getlist("kind") if v] if hasattr(query, "getlist") else query.get("kind")
                if kinds:
                    args["kind"] = kinds
            elif query.get(name) not in (None, ""):
                args[name] = query.get(name)
    if csv and "limit" not in args:
        args["limit"] = None
    try:
        return trace.outflows(**args), None, args
    except InvalidData as exc:
        return trace.outflows(**({"limit": None} if csv else {})), exc.detail, {}


def outflows(rep: dict[str, Any], c: Caller, live: dict[str, Any] | None = None, error: str | None = None,
             args: dict[str, Any] | None = None, flagged: set[str] | None = None) -> dict[str, Any]:
    import plotly.graph_objects as go

    stored = rep.get("outflows") if isinstance(rep.get("outflows"), dict) else None
    # the live report, unless the ledger has no pack and the run stored none (an older run, another store)
    out = live if live is not None and (live.get("packs_checked") or stored is not None) else stored
    counts = (out or {}).get("counts") or {}
    simulated = [x for x in (stored or {}).get("simulated") or [] if isinstance(x, dict)]
    findings = [x for x in (out or {}).get("findings") or [] if isinstance(x, dict)]
    figures = []
    by_year = Counter((x.get("year"), str(x.get("how"))) for x in simulated)
    if counts:
        kinds = sorted(counts)
        fig = go.Figure(go.Bar(x=[r.replace("_", " ") for r in kinds], y=[counts[r] for r in kinds],
                               marker_color="#d62728", name="findings"))
        fig.update_layout(**_layout(title="Outflow findings by kind (the ledger's outflow report)",
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
    found = flagged if flagged is not None else {x.get("pack") for x in findings}
    caught = sum(1 for x in simulated if x.get("pack") in found)
    overseer = pilot_findings_visible(c)
    total = (out or {}).get("total", len(findings))
    args = args or {}
    keep = {k: v for k, v in args.items() if k not in ("offset",)}

    def page_url(offset: int | None) -> str | None:
        if offset is None:
            return None
        return "/pilot/outflows?" + urlencode({**keep, "offset": offset}, doseq=True)

    off = int((out or {}).get("offset") or 0)
    lim = (out or {}).get("limit")
    prev = page_url(max(0, off - lim)) if lim and off > 0 else None
    return {"figures": figures, "out": out, "counts": counts, "overseer": overseer,
            "findings": findings if overseer else None, "simulated": simulated if overseer else None,
            "n_findings": total, "n_simulated": len(simulated), "caught": caught,
            "flagged_packs": (out or {}).get("packs", len(found)), "hows": Counter(str(x.get("how")) for x in simulated),
            "error": error, "args": args, "kinds": (out or {}).get("kinds") or {},
            "next_url": page_url((out or {}).get("next_offset")), "prev_url": prev,
            "csv_url": "/pilot/outflows.csv" + ("?" + urlencode(keep, doseq=True) if keep else ""),
            "params": (out or {}).get("parameters") or {}}
