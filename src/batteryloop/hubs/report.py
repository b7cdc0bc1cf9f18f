"""What the CLI and the API return: one JSON-ready dict per command (the adapters only serialise it).

- ``batteryloop hub simulate CONFIG [--days N]`` → :func:`hub_report`
- ``batteryloop hub vpp CONFIG`` → :func:`vpp_report`
"""

from __future__ import annotations

from typing import Any

from ..reference import References
from .economics import hub_economics
from .hub import HubConfig, prepare_hub
from .year import simulate_year
from .vpp import GridSignal, vpp_day


def hub_report(config: HubConfig | dict[str, Any], *, days: int = 365, method: str = "optimised",
               compare: bool = True, figures: bool = False, references: References | None = None) -> dict[str, Any]:
    """A hub's simulated year: totals and packs, economics, and (``compare``) the rule-based fallback on
    the same days with the saving; ``figures`` adds the dashboard's Plotly figure dicts."""
    hub = prepare_hub(config, references)
    year = simulate_year(hub, days=days, method=method)
    econ = hub_economics(year, hub, references=references)
    out: dict[str, Any] = {"year": year.summary(), "economics": econ.model_dump(mode="json")}
    if compare:
        other = "rule_based" if method == "optimised" else "optimised"
        alt = simulate_year(hub, days=days, method=other, keep_hourly=False)
        a, b = year.totals["total_cost"], alt.totals["total_cost"]
        out["comparison"] = {
            "method": other, "total_cost": round(b, 2), "this_total_cost": round(a, 2),
            "saving": round(b - a, 2), "saving_fraction": round((b - a) / b, 4) if b else None,
            "unserved_kwh": round(alt.totals["unserved_kwh"], 3),
        }
    if figures:
        from .charts import pack_soh, power_stack, stored_energy

        out["figures"] = {"power_stack": power_stack(year), "stored_energy": stored_energy(year), "pack_soh": pack_soh(year)}
    return out


def vpp_report(hubs: list[HubConfig | dict[str, Any]], signal: GridSignal | dict[str, Any], *, day: int = 180,
               references: References | None = None) -> dict[str, Any]:
    """A VPP day: requested, offered and delivered per step and per hub."""
    return vpp_day([prepare_hub(h, references) for h in hubs], signal, day=day).summary()
