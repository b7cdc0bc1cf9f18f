"""Health use cases on stored passports: state of health from cycler data, written into the passport.

The state of health (Annex VII part A) and the usage counters (part B) computed by
:func:`~batteryloop.health.soh.estimate_soh` become a new version of the pack's passport, in its
legitimate-interest tier. The pack's rated capacity comes from its model's passport data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..access import Caller
from ..errors import InvalidData
from ..passport.service import PassportService
from .errors import HealthError
from .readers import read_cell
from .soh import StateOfHealth, estimate_soh


def health_error(exc: HealthError) -> InvalidData:
    return InvalidData(str(exc), [{"field": "file", "rule": type(exc).__name__, "message": str(exc), "value": None}])


def passport_fields(soh: StateOfHealth) -> dict[str, Any]:
    """The passport's ``state_of_health`` and ``usage`` fields from a computed state of health."""
    state = {
        "soh_capacity_pct": soh.soh_capacity_pct,
        "remaining_capacity_ah": soh.remaining_capacity_ah,
        "remaining_power_capability_pct": soh.remaining_power_capability_pct,
        "remaining_round_trip_efficiency_pct": soh.round_trip_efficiency_pct,
        "ohmic_resistance_increase_pct": soh.resistance_increase_pct,
        "measured_at": soh.measured_at.isoformat() if soh.measured_at else None,
    }
    usage = {
        "full_equivalent_cycles": soh.full_equivalent_cycles,
        "energy_throughput_kwh": soh.energy_throughput_kwh,
        "capacity_throughput_ah": soh.capacity_throughput_ah,
    }
    clean = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in state.items() if v is not None}
    return {"state_of_health": clean,
            "usage": {k: round(v, 4) for k, v in usage.items() if v is not None}}


class HealthService:
    def __init__(self, passports: PassportService) -> None:
        self.passports = passports

    def record_soh(self, passport_id: str, files: Sequence[str | Path], caller: Caller, *,
                   rated_capacity_ah: float | None = None, tz: str = "UTC") -> dict[str, Any]:
        """Read cycler exports of one pack, compute its state of health and store it as a passport version."""
        rec = self.passports.get_record(passport_id)
        if rated_capacity_ah is None:
            with self.passports.store.read() as conn:
                model, _ = self.passports._model_data(conn, rec.model_id)
            rated_capacity_ah = model["rated_capacity_ah"]
        try:
            soh = estimate_soh(read_cell(list(files), tz=tz), rated_capacity_ah=rated_capacity_ah)
        except HealthError as exc:
            raise health_error(exc) from None
        fields = passport_fields(soh)
        names = ", ".join(Path(f).name for f in files)[:100]
        view = self.passports.update_passport(passport_id, fields, caller,
                                              reason=f"state of health from cycler data ({names})")
        return {"passport_id": passport_id, "version": view["version"], "state_of_health": soh.model_dump(mode="json"),
                "written": fields}
