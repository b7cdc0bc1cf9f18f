"""Hub use cases on stored passports: a hub year's new states of health go back into the packs' passports.

The domain (:func:`.simulate.simulate_year`) only computes; this service writes, through
:meth:`batteryloop.passport.service.PassportService.update_passport` (one new version per pack, in its
legitimate-interest tier, with a reason saying where the figures came from). Usage counters add the
year's full equivalent cycles and throughput to what the passport already holds.

Write simulated figures only when the simulation stands for the year the pack actually lived (an
operator's record); for planning, call with ``dry_run=True`` and show the patches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..access import Caller
from ..passport.service import PassportService
from .simulate import YearResult


def soh_patches(result: YearResult, current: dict[str, dict[str, Any]] | None = None,
                measured_at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """passport id → JSON merge patch (``state_of_health``, ``usage``) for every pack with a passport.

    ``current`` maps passport id → its battery data (for the usage counters to add to)."""
    when = (measured_at or datetime.now(UTC)).isoformat()
    out: dict[str, dict[str, Any]] = {}
    for i, pid in enumerate(result.pack_passport_ids):
        if not pid:
            continue
        usage = (current or {}).get(pid, {}).get("usage") or {}
        soh = float(result.soh_daily[i, -1])
        out[pid] = {
            "state_of_health": {"soh_capacity_pct": round(soh * 100, 3), "measured_at": when},
            "usage": {
                "full_equivalent_cycles": round(float(usage.get("full_equivalent_cycles") or 0.0) + float(result.pack_fec[i]), 3),
                "energy_throughput_kwh": round(float(usage.get("energy_throughput_kwh") or 0.0) + float(result.pack_throughput_kwh[i]), 3),
            },
        }
    return out


def write_year_to_passports(passports: PassportService, result: YearResult, caller: Caller, *,
                            dry_run: bool = False, measured_at: datetime | None = None) -> list[dict[str, Any]]:
    """Write each pack's end-of-year state of health and usage as a new passport version."""
    current = {pid: dict(passports.get_record(pid).data) for pid in result.pack_passport_ids if pid}
    patches = soh_patches(result, current, measured_at)
    written = []
    for pid, patch in patches.items():
        reason = (f"hub {result.hub}: {result.days} days of {result.method} dispatch; state of health from the hub "
                  "ageing model (second_life_degradation)")
        if dry_run:
            written.append({"passport_id": pid, "patch": patch, "version": None})
            continue
        view = passports.update_passport(pid, patch, caller, reason=reason[:200])
        written.append({"passport_id": pid, "patch": patch, "version": view["version"]})
    return written
