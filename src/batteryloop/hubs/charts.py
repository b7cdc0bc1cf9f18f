"""Figures for the hub dashboard, as Plotly figure dicts (``{"data": [...], "layout": {...}}``).

Pure data: the web layer renders them with the plotly.js bundled in the package. Three figures:
an hourly stack plot of the power at the hub's bus (sources above zero, uses below), the stored
energy, and each pack's state of health over the simulated days.
"""

from __future__ import annotations

from typing import Any


from .year import YearResult


def power_stack(result: YearResult, first_day: int = 0, days: int = 7) -> dict[str, Any]:
    """Hourly stack: PV used, grid import, storage discharge (+); EV, swap, storage charge, export (−)."""
    if not result.hourly:
        return {"data": [], "layout": {"title": "no hourly series (simulate with keep_hourly=True)"}}
    T = int(round(24 / result.dt_h))
    sl = slice(first_day * T, (first_day + days) * T)
    x = [t.isoformat() for t in result.timestamps_utc()[sl]]
    hr = result.hourly

    def trace(key: str, name: str, sign: float, group: str) -> dict[str, Any]:
        return {"type": "scatter", "mode": "lines", "x": x, "y": (sign * hr[key][sl]).round(3).tolist(), "name": name,
                "stackgroup": group, "line": {"width": 0.5}}

    data = [
        trace("pv_used_kw", "PV", 1, "supply"), trace("grid_import_kw", "grid import", 1, "supply"),
        trace("discharge_kw", "storage discharge", 1, "supply"),
        trace("ev_load_kw", "EV charging", -1, "use"), trace("swap_kw", "swap charging", -1, "use"),
        trace("charge_kw", "storage charge", -1, "use"), trace("grid_export_kw", "grid export", -1, "use"),
    ]
    data.append({"type": "scatter", "mode": "lines", "x": x, "y": hr["price_per_kwh"][sl].round(4).tolist(),
                 "name": f"tariff ({result.currency}/kWh)", "yaxis": "y2", "line": {"dash": "dot"}})
    return {"data": data, "layout": {
        "title": f"{result.hub}: power at the bus ({result.method})", "xaxis": {"title": "time (UTC)"},
        "yaxis": {"title": "kW (+ supply, − use)"}, "yaxis2": {"title": "tariff", "overlaying": "y", "side": "right"},
    }}


def stored_energy(result: YearResult, first_day: int = 0, days: int = 7) -> dict[str, Any]:
    T = int(round(24 / result.dt_h))
    sl = slice(first_day * T, (first_day + days) * T)
    x = [t.isoformat() for t in result.timestamps_utc()[sl]]
    return {"data": [{"type": "scatter", "mode": "lines", "x": x, "y": result.hourly["stored_kwh"][sl].round(3).tolist(),
                      "name": "stored energy"}],
            "layout": {"title": f"{result.hub}: stored energy", "yaxis": {"title": "kWh"}, "xaxis": {"title": "time (UTC)"}}}


def pack_soh(result: YearResult) -> dict[str, Any]:
    """Each pack's state of health (%) per day."""
    days = list(range(result.days + 1))
    data = [{"type": "scatter", "mode": "lines", "x": days, "y": (100 * result.soh_daily[i]).round(3).tolist(), "name": pid}
            for i, pid in enumerate(result.pack_ids)]
    return {"data": data, "layout": {"title": f"{result.hub}: state of health per pack", "xaxis": {"title": "day"},
                                     "yaxis": {"title": "state of health (%)"}}}
