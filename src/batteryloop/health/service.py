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
from ..passport.tiers import Tier
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
    """State of health for packs with passports; each pack's cycler series are kept as Parquet files
    under ``series_dir/<passport id>/`` in the order they were ingested (a pack's history)."""

    def __init__(self, passports: PassportService, series_dir: Path | None = None, trace: Any = None,
                 keys: Any = None) -> None:
        self.passports = passports
        self.series_dir = series_dir
        self.trace = trace  # a TraceService: state-of-health updates also become signed ledger events
        self.keys = keys  # a KeyStore of the participants whose keys this node holds

    def _ledger_event(self, passport_id: str, soh: StateOfHealth, caller: Caller) -> dict[str, Any]:
        """Record a signed ``soh_update`` event on the pack's chain when this node holds the caller's key."""
        if self.trace is None:
            return {"recorded": False, "reason": "no ledger configured"}
        signer = self.keys.signer(caller.participant_id) if self.keys is not None else None
        if signer is None:
            return {"recorded": False, "reason": f"this node holds no signing key for {caller.participant_id or 'admin'}: "
                    "submit a signed soh_update event to POST /api/v1/trace/events"}
        import uuid

        rec = self.passports.get_record(passport_id)
        data = {"soh_capacity_pct": round(float(soh.soh_capacity_pct or 0.0), 4)}
        if soh.remaining_power_capability_pct is not None:
            data["remaining_power_capability_pct"] = round(float(soh.remaining_power_capability_pct), 4)
        if soh.full_equivalent_cycles is not None:
            data["full_equivalent_cycles"] = round(float(soh.full_equivalent_cycles), 4)
        if soh.measured_at is not None:
            data["measured_at"] = soh.measured_at.isoformat()
        # the event is the update of the pack's state of health, now; when the cells were measured is its data
        # (a lab file may be older than the pack's passport)
        event = {"id": f"soh-{uuid.uuid4()}", "kind": "soh_update", "actor": signer.participant_id,
                 "occurred_at": _now(),
                 "place": {"country": rec.data.get("manufacture_country", "DE"), "site": "state-of-health service"},
                 "subjects": [passport_id], "data": data}
        from ..errors import BatteryloopError

        try:
            res = self.trace.record(event, signer)
        except BatteryloopError as exc:  # the passport version is stored; the report says why the ledger refused
            return {"recorded": False, "reason": f"the ledger refused the soh_update event: {exc.detail}"}
        return {"recorded": True, "event_id": res.event_id, "hash": res.hash}

    def _pack_dir(self, passport_id: str) -> Path:
        from ..passport.identifiers import UniqueIdentifier

        if self.series_dir is None:
            raise InvalidData("no folder for cycler series: set BATTERYLOOP_VAR_DIR (series go to <var>/health)", [])
        UniqueIdentifier.parse(passport_id)  # only [A-Z0-9.-]: safe as a folder name
        return self.series_dir / passport_id

    def ingest(self, passport_id: str, file: str | Path, caller: Caller, *, tz: str = "UTC") -> dict[str, Any]:
        """Read one cycler export and add it to the pack's history (the economic operator)."""
        from .readers import read_cycler_file
        from .summary import cycle_summary
        from .timeseries import write_parquet

        self.passports.authorize_on(passport_id, "health.cycler.write", caller)
        try:
            data = read_cycler_file(file, tz=tz)
        except HealthError as exc:
            raise health_error(exc) from None
        d = self._pack_dir(passport_id)
        d.mkdir(parents=True, exist_ok=True)
        n = len(list(d.glob("*.parquet")))
        dest = d / f"{n:04d}-{Path(file).stem[:80]}.parquet"
        tmp = dest.with_suffix(".tmp")
        write_parquet(data, tmp)
        tmp.replace(dest)  # a killed ingest leaves no half-written series
        s = cycle_summary(data)
        return {"passport_id": passport_id, "file": Path(file).name, "stored_as": dest.name,
                "points": data.frame.height, "cycles": s.height}

    def pack_files(self, passport_id: str) -> list[Path]:
        d = self._pack_dir(passport_id)
        return sorted(d.glob("*.parquet")) if d.is_dir() else []

    def pack_series(self, passport_id: str):  # type: ignore[no-untyped-def]
        from .timeseries import concat, read_parquet

        files = self.pack_files(passport_id)
        if not files:
            from ..errors import NotFound

            raise NotFound(f"no cycler data ingested for {passport_id}: run `batteryloop health ingest FILE --pack "
                           f"{passport_id}` first")
        parts = [read_parquet(f) for f in files]
        return parts[0] if len(parts) == 1 else concat(parts)

    def pack_soh(self, passport_id: str, caller: Caller, *, rated_capacity_ah: float | None = None,
                 write: bool = True) -> dict[str, Any]:
        """State of health from the pack's ingested history; written into its passport unless ``write=False``."""
        rec = self.passports.get_record(passport_id)
        if Tier.LEGITIMATE_INTEREST not in self.passports.tiers_for(rec, caller):
            from ..errors import deny

            raise deny(caller.anonymous, f"the state of health of {passport_id} needs legitimate interest")
        if rated_capacity_ah is None:
            rated_capacity_ah = self._rated(rec)
        try:
            soh = estimate_soh(self.pack_series(passport_id), rated_capacity_ah=rated_capacity_ah)
        except HealthError as exc:
            raise health_error(exc) from None
        out: dict[str, Any] = {"passport_id": passport_id, "state_of_health": soh.model_dump(mode="json")}
        if write:
            fields = passport_fields(soh)
            view = self.passports.update_passport(passport_id, fields, caller, action="health.soh.write",
                                                  reason=f"state of health from {len(self.pack_files(passport_id))} "
                                                         "ingested cycler file(s)")
            out.update(version=view["version"], written=fields, ledger=self._ledger_event(passport_id, soh, caller))
        return out

    def _rated(self, rec: Any) -> float:
        return float(self.passports.model_data(rec.model_id)["rated_capacity_ah"])

    def record_soh(self, passport_id: str, files: Sequence[str | Path], caller: Caller, *,
                   rated_capacity_ah: float | None = None, tz: str = "UTC") -> dict[str, Any]:
        """Read cycler exports of one pack, compute its state of health and store it as a passport version."""
        rec = self.passports.authorize_on(passport_id, "health.soh.write", caller)
        if rated_capacity_ah is None:
            rated_capacity_ah = self._rated(rec)
        try:
            soh = estimate_soh(read_cell(list(files), tz=tz), rated_capacity_ah=rated_capacity_ah)
        except HealthError as exc:
            raise health_error(exc) from None
        fields = passport_fields(soh)
        names = ", ".join(Path(f).name for f in files)[:100]
        view = self.passports.update_passport(passport_id, fields, caller, action="health.soh.write",
                                              reason=f"state of health from cycler data ({names})")
        return {"passport_id": passport_id, "version": view["version"], "state_of_health": soh.model_dump(mode="json"),
                "written": fields, "ledger": self._ledger_event(passport_id, soh, caller)}


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
