"""The overview page: the run in figures (KPIs), where the packs are each year, net cash by participant type."""

from __future__ import annotations

from typing import Any

from ...access import Caller
from .charts import STATE_COLORS, _fig, _layout
from .common import ELEMENTS, _fmt_int, _keys, _num, _year_rows
from .routes import route_label


def overview(rep: dict[str, Any], c: Caller) -> dict[str, Any]:
    import plotly.graph_objects as go

    s = rep.get("summary") or {}
    kpis = []

    def kpi(kid: str, value: Any, label: str, note: str | None = None) -> None:
        kpis.append({"id": kid, "value": value, "label": label, "note": note})

    kpi("packs", _fmt_int(s.get("packs")), "packs in the pilot", f"{s.get('years', '?')} years from {s.get('start_year', '?')}")
    kpi("passports", _fmt_int(s.get("passports")), "passports issued",
        ", ".join(f"{_fmt_int(n)} {k}" for k, n in sorted((s.get("passports_by_status") or {}).items())) or None)
    ev = s.get("ledger_events")
    verified = s.get("ledger_verified")
    kpi("ledger", _fmt_int(ev), "ledger events " + ("verified ✓" if verified else "— verification failed" if verified is False else "(not verified)"),
        "every signature and hash link checked" if verified else None)
    kpi("decisions", _fmt_int(s.get("route_decisions")), "route decisions",
        ", ".join(f"{_fmt_int(n)} {route_label(k)}" for k, n in sorted((s.get("routes") or {}).items())) or None)
    rec = s.get("recovered_element_kg") or {}
    kpi("recovered", f"{sum(_num(v) for v in rec.values()):,.0f} kg", "recovered Li + Ni + Co",
        ", ".join(f"{el} {_num(v):,.1f} kg" for el, v in rec.items()) or None)
    rc = s.get("recycled_content_pct_last_year") or {}
    rc_first = s.get("recycled_content_pct_first_year") or {}
    best = [(m, el, v) for m, els in rc.items() for el, v in (els or {}).items() if isinstance(v, (int, float))]
    last_year = (s["start_year"] + s["years"] - 1) if isinstance(s.get("start_year"), int) and isinstance(s.get("years"), int) else None
    if best:
        m, el, v = max(best, key=lambda x: x[2])
        kpi("recycled", f"{v:.1f} %", f"highest recycled content{f' in {last_year}' if last_year else ', last year'}",
            f"{el} in {m}'s new packs")
    else:
        kpi("recycled", "—", "recycled content, last year", "not in this run")
    fp = {m: v for m, v in (s.get("footprint_total_kgco2e_per_kwh") or {}).items() if isinstance(v, (int, float))}
    if fp:
        lo, hi = min(fp, key=fp.get), max(fp, key=fp.get)
        kpi("footprint", f"{fp[lo]:.3f}–{fp[hi]:.3f}" if len(fp) > 1 else f"{fp[lo]:.3f}",
            "kg CO₂e per kWh: carbon footprint", f"{lo} lowest, {hi} highest" if len(fp) > 1 else lo)
    out = s.get("outflow_findings") or {}
    kpi("outflows", _fmt_int(sum(_num(v) for v in out.values())), "outflow findings",
        f"{s.get('packs_left_the_loop', 0)} packs left the loop in the simulation")
    cash = s.get("net_cash_usd_by_participant_type") or {}
    figures = []
    fleet = _year_rows(rep.get("fleet_by_year"))
    if fleet:
        fig = go.Figure([go.Bar(name=k, x=[r["year"] for r in fleet], y=[r.get(k, 0) for r in fleet],
                                marker_color=STATE_COLORS.get(k))
                         for k in _keys(fleet)])
        fig.update_layout(**_layout(barmode="stack", title="Where the packs are at each year's end", yaxis_title="packs",
                                    xaxis={"dtick": 1}))
        figures.append(_fig("overview-fleet", fig))
    if cash:
        types = sorted(cash, key=str.lower)
        fig = go.Figure([go.Bar(x=types, y=[cash[t] for t in types],
                                marker_color=["#2ca02c" if cash[t] >= 0 else "#d62728" for t in types],
                                name="net cash")])
        fig.update_layout(**_layout(title="Net cash over the pilot by participant type ($)", yaxis_title="$"))
        figures.append(_fig("overview-cash", fig))
    rc_models = sorted(set(rc) | set(rc_first))
    rc_elements = [el for el in ELEMENTS if any(isinstance((d.get(m) or {}).get(el), (int, float))
                                                for d in (rc, rc_first) for m in rc_models)]
    return {"kpis": kpis, "cash": cash, "summary": s, "figures": figures, "recycled_last": rc, "recycled_first": rc_first,
            "rc_models": rc_models, "rc_elements": rc_elements, "last_year": last_year, "outflow_counts": out}
