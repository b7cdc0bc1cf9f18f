"""The fleet page (``/fleet``): a stored fleet telemetry analysis (``batteryloop fleet analyze DIR -o OUT --store
--as OPERATOR``, kept by :class:`batteryloop.fleet.results.FleetResults`) — the state of health by segment and by
age, the flagged packs with their evidence, and per pack (``/fleet/pack``) its figures and its telemetry summary.

Who reads which analysis is the policy's ``fleet.analysis.read`` (the operator that stored it, authorities, the node
admin). The page's own choices are the analysis, the segment and the fault kind; of the dashboard's filters it
applies the year (the year of the pack's last sample). The tables download as CSV/Excel like every page's.
"""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..access import Caller
from ..api.deps import Services, page_caller, services
from ..errors import BatteryloopError
from ..fleet.analysis import FAULT_KINDS, THRESHOLDS
from ..fleet.results import FleetResults
from . import filters
from .pages import _ctx, templates

router = APIRouter(include_in_schema=False)
CallerDep = Annotated[Caller, Depends(page_caller)]
ServicesDep = Annotated[Services, Depends(services)]

#: fault → (its evidence column, unit): the measure the flag's threshold is set on (analysis.THRESHOLDS)
EVIDENCE = {"self_discharge": ("self_discharge_mv_per_day", "mV/day of rest"),
            "weak_cell": ("weak_cell_excess_mv", "mV more spread at low SoC"),
            "cooling_failure": ("cooling_rise_k_per_min_c2", "K/min per C²"),
            "lithium_plating": ("plating_relaxation_ratio", "late/early relaxation"),
            "sensor_drift": ("sensor_drift_pct_per_30d", "% per 30 days")}
SEGMENTS = ("car", "taxi", "bus", "truck", "two_wheeler")
COLOURS = {"car": "#1f77b4", "taxi": "#ff7f0e", "bus": "#2ca02c", "truck": "#d62728", "two_wheeler": "#9467bd"}


def _results(s: Services) -> FleetResults:
    return FleetResults(s.settings.var_dir / "fleet")


def _plotly_version() -> str:
    import plotly

    return str(plotly.__version__)


def evidence(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The flagged faults of a pack with the measure behind each, its threshold and unit."""
    out = []
    for kind in filter(None, (row.get("faults") or "").split(";")):
        col, unit = EVIDENCE[kind]
        out.append({"fault": kind, "measure": col, "value": row.get(col), "threshold": THRESHOLDS[col], "unit": unit,
                    "cell": row.get("weak_cell_index") if kind == "weak_cell" else None})
    return out


def segment_rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Per segment: packs, packs with a state of health, its median and 10th/90th percentiles, packs flagged."""
    rows = []
    for seg in [s for s in SEGMENTS if s in set(df["segment"])] + sorted(set(df["segment"]) - set(SEGMENTS)):
        d = df.filter(pl.col("segment") == seg)
        soh = d["soh_pct"].drop_nulls()
        rows.append({"segment": seg, "packs": d.height, "with_soh": soh.len(),
                     "median": soh.median() if soh.len() else None,
                     "p10": soh.quantile(0.1, "linear") if soh.len() else None,
                     "p90": soh.quantile(0.9, "linear") if soh.len() else None,
                     "flagged": int((d["faults"] != "").sum())})
    return rows


def figures(df: pl.DataFrame, rid: str) -> list[dict[str, Any]]:
    """SoH by segment (box per segment) and SoH against age (a point per pack; a click opens its drill-down)."""
    import plotly.graph_objects as go
    from urllib.parse import quote

    d = df.filter(pl.col("soh_pct").is_not_null())
    box = go.Figure()
    age = go.Figure()
    for seg in [s for s in SEGMENTS if s in set(d["segment"])] + sorted(set(d["segment"]) - set(SEGMENTS)):
        g = d.filter(pl.col("segment") == seg)
        colour = COLOURS.get(seg, "#555")
        box.add_trace(go.Box(name=seg, y=g["soh_pct"].to_list(), boxpoints="all", jitter=0.4, pointpos=0,
                             marker={"color": colour, "size": 4}, text=g["pack_id"].to_list()))
        age.add_trace(go.Scatter(name=seg, x=g["age_days"].to_list(), y=g["soh_pct"].to_list(), mode="markers",
                                 marker={"color": colour, "size": 7, "symbol": ["x" if f else "circle" for f in g["faults"]]},
                                 text=[f"{p}{' — ' + f if f else ''}" for p, f in zip(g["pack_id"], g["faults"])],
                                 customdata=[f"/fleet/pack?analysis={rid}&pack={quote(p)}" for p in g["pack_id"]],
                                 hovertemplate="%{text}<br>age %{x} days, SoH %{y:.1f} %<extra></extra>"))
    box.update_layout(title="State of health by segment (%)", yaxis_title="SoH (%)", height=380, showlegend=False,
                      margin={"l": 50, "r": 10, "t": 40, "b": 40})
    age.update_layout(title="State of health against age (× flagged; click a pack for its telemetry)",
                      xaxis_title="age (days since first use)", yaxis_title="SoH (%)", height=380,
                      margin={"l": 50, "r": 10, "t": 40, "b": 40}, legend={"orientation": "h", "y": -0.25})
    return [{"id": "fleet-soh-segment", "figure": box.to_plotly_json()},
            {"id": "fleet-soh-age", "figure": age.to_plotly_json()}]


def _chosen(request: Request, c: Caller, s: Services, analysis: str | None) -> tuple[list[dict[str, Any]], str | None]:
    metas = _results(s).list(c)
    if analysis:
        return metas, analysis
    return metas, metas[0]["id"] if metas else None


@router.get("/fleet", response_class=HTMLResponse)
def fleet_page(request: Request, c: CallerDep, s: ServicesDep,
               analysis: Annotated[str | None, Query(max_length=40)] = None,
               segment: Annotated[str | None, Query(max_length=20)] = None,
               fault: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    f = filters.use(request, "year")
    base = {"meta": None, "analyses": [], "figures": [], "plotly_version": _plotly_version(), "segment": segment,
            "fault": fault, "segments": SEGMENTS, "fault_kinds": FAULT_KINDS}
    if c.anonymous:
        return templates.TemplateResponse(request, "fleet.html", _ctx(request, c, **base, signin=True))
    metas, rid = _chosen(request, c, s, analysis)
    if rid is None:
        return templates.TemplateResponse(request, "fleet.html", _ctx(request, c, **base, signin=False))
    try:
        meta, df, _ = _results(s).load(rid, c)
    except BatteryloopError as exc:
        return templates.TemplateResponse(request, "error.html", _ctx(request, c, error=exc), status_code=exc.status)
    if "year" in f:
        df = df.filter(pl.col("measured_at").str.slice(0, 4) == f["year"])
    shown = df.filter(pl.col("segment") == segment) if segment else df
    flagged = shown.filter(pl.col("faults") != "")
    if fault:
        flagged = flagged.filter(pl.col("faults").str.split(";").list.contains(fault))
    rows = [{**r, "evidence": evidence(r)} for r in flagged.sort("pack_id").iter_rows(named=True)]
    return templates.TemplateResponse(request, "fleet.html", _ctx(
        request, c, **{**base, "analyses": metas, "meta": meta, "signin": False,
                       "segment_rows": segment_rows(df), "flagged": rows, "shown": shown.height,
                       "figures": figures(shown, meta["id"])}))


@router.get("/fleet/pack", response_class=HTMLResponse)
def fleet_pack_page(request: Request, c: CallerDep, s: ServicesDep,
                    pack: Annotated[str, Query(max_length=100)],
                    analysis: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    base = {"meta": None, "pack": None, "pack_id": pack, "summary": [], "evidence": []}
    if c.anonymous:
        return templates.TemplateResponse(request, "fleet_pack.html", _ctx(request, c, **base, signin=True))
    _, rid = _chosen(request, c, s, analysis)
    try:
        if rid is None:
            from ..errors import NotFound

            raise NotFound("no stored fleet analysis you may read")
        meta, df, summary = _results(s).load(rid, c)
        row = df.filter(pl.col("pack_id") == pack)
        if row.height == 0:
            from ..errors import NotFound

            raise NotFound(f"pack {pack!r} is not in the fleet analysis {rid}")
    except BatteryloopError as exc:
        return templates.TemplateResponse(request, "error.html", _ctx(request, c, error=exc), status_code=exc.status)
    r = row.row(0, named=True)
    figures_ = [(k, r[k]) for k in df.columns if k not in ("pack_id", "faults")]
    return templates.TemplateResponse(request, "fleet_pack.html", _ctx(
        request, c, **{**base, "meta": meta, "pack": r, "signin": False, "figures": figures_, "evidence": evidence(r),
                       "summary": summary.filter(pl.col("pack_id") == pack).to_dicts()}))
