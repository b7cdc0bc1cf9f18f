"""Results back into the platform: each analysed pack's state of health as a passport version and a signed
``soh_update`` ledger event, through :meth:`batteryloop.health.service.HealthService.publish_soh` (the same fit
checks as a cycler file's: credible capacity, rated capacity the passport's, measured after manufacture and not in
the future).

A pack is matched to its passport by ``pack_id`` = passport id. Packs are written in batches of ``batch``; a refused
pack does not stop the others: the report lists every refusal with its reason (no estimate, no passport, another
rated capacity, a passport already holding this or a newer measurement, a failed fit check, no right to write).
Publishing the same table twice refuses every pack the second time (nothing is written twice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from ..access import Caller
from ..errors import BatteryloopError
from ..health.service import RATED_TOLERANCE  # the health service's own check, refused here with the fleet's fix
from ..health.soh import StateOfHealth


def _soh(row: dict[str, Any]) -> StateOfHealth:
    return StateOfHealth(
        measured_at=datetime.fromisoformat(row["measured_at"]), cycle=None,
        rated_capacity_ah=float(row["rated_capacity_ah"]), rated_capacity_estimated=False,
        remaining_capacity_ah=float(row["capacity_ah"]), soh_capacity_pct=float(row["soh_pct"]),
        initial_internal_resistance_ohm=None,
        internal_resistance_ohm=None if row.get("resistance_mohm") is None else float(row["resistance_mohm"]) / 1000,
        resistance_increase_pct=None, remaining_power_capability_pct=None, initial_round_trip_efficiency_pct=None,
        round_trip_efficiency_pct=None, round_trip_efficiency_fade_pct=None, self_discharge_mv_per_day=None,
        full_equivalent_cycles=None, energy_throughput_kwh=0.0, capacity_throughput_ah=0.0, cycles_counted=0,
        method="batteryloop.fleet.analysis/1 (capacity from charge sessions' ΔAh/ΔSoC of BMS telemetry)",
        notes=(f"faults: {row.get('faults') or 'none'}",),
    )


def publish(table: pl.DataFrame, services: Any, caller: Caller, *, batch: int = 100) -> dict[str, Any]:
    """Write each pack's state of health (see the module's docstring); returns the published and refused packs."""
    if batch < 1:
        raise ValueError("--batch must be at least 1")
    rows = table.sort("pack_id").to_dicts()
    published: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    batches = 0
    for start in range(0, len(rows), batch):
        batches += 1
        for row in rows[start:start + batch]:
            pid = row["pack_id"]
            reason = _refusal(row, services)
            if reason:
                refused.append({"pack_id": pid, "reason": reason})
                continue
            try:
                res = services.health.publish_soh(
                    pid, _soh(row), caller,
                    reason=f"state of health from fleet telemetry ({row.get('capacity_sessions')} charge sessions to "
                           f"{row['measured_at'][:10]})")
            except BatteryloopError as exc:
                refused.append({"pack_id": pid, "reason": exc.detail})
                continue
            published.append({"pack_id": pid, "version": res["version"], "soh_pct": row["soh_pct"],
                              "ledger": res["ledger"], "faults": row.get("faults") or ""})
    return {"published": len(published), "refused": len(refused), "batches": batches,
            "packs": published, "refusals": refused}


def _refusal(row: dict[str, Any], services: Any) -> str | None:
    from ..errors import NotFound

    if row.get("soh_pct") is None or row.get("capacity_ah") is None or row.get("measured_at") is None:
        return "no capacity estimate: the window has no charge session with a large enough ΔSoC"
    try:
        rec = services.passports.get_record(row["pack_id"])
    except NotFound:
        return f"no passport {row['pack_id']!r}: packs are matched to passports by id"
    model = services.passports.model_data(rec.model_id)
    rated = float(model["rated_capacity_ah"])
    if abs(float(row["rated_capacity_ah"]) - rated) > RATED_TOLERANCE * rated:
        return (f"the fleet registry rates the pack {row['rated_capacity_ah']:g} Ah, its passport's model "
                f"{rec.model_id} {rated:g} Ah: not the same pack design (fix _packs.csv or the match)")
    held = (rec.data.get("state_of_health") or {}).get("measured_at")
    if held and datetime.fromisoformat(held) >= datetime.fromisoformat(row["measured_at"]):
        return f"the passport already holds a state of health measured {held}, not older than this one ({row['measured_at']})"
    return None
