"""Health use cases on stored passports: state of health from cycler data, written into the passport.

The state of health (Annex VII part A) and the usage counters (part B) computed by
:func:`~batteryloop.health.soh.estimate_soh` become a new version of the pack's passport, in its
legitimate-interest tier. The pack's rated capacity comes from its model's passport data.

Before anything is written, the measurement must fit the pack (:func:`fit_to_pack`): its capacity must be
the pack's (or, with ``per_cell``, one cell's: the pack's rated capacity over the model's
``cells_in_parallel``, and then its capacities and energies are scaled up to the pack), a given rated
capacity must be the passport's, the measurement cannot predate the pack's manufacture nor lie in the
future, and the lifetime counters only grow: a measurement adds its throughput to what the passport holds.
Every refusal names the field and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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


#: a measured capacity below this share of the rated one is not a credible state of health of that battery
#: (batteryloop's plausibility bound, not a regulatory figure: second-life grading already sends a battery
#: below 60 % to recycling, reference/ul_1974.py; 40 % leaves room for a worn pack yet refuses a cell's file)
MIN_CREDIBLE_SOH_PCT = 40.0
MAX_CREDIBLE_SOH_PCT = 125.0
#: a given rated capacity within this relative difference of the passport's is the passport's
RATED_TOLERANCE = 0.01
#: a measurement may end this long after now (clock differences between cycler and node)
FUTURE_SLACK_S = 3600.0


def _refuse(field: str, message: str, value: Any = None) -> InvalidData:
    return InvalidData(f"{field}: {message}", [{"field": field, "rule": "health:fit", "message": f"{field}: {message}",
                                                "value": value}])


def rated_for(model: dict[str, Any], per_cell: bool, given: float | None) -> tuple[float, int, int]:
    """The rated capacity (Ah) a measurement is compared with, and the factors (parallel, series·parallel)
    that scale its capacities and energies to the pack: (pack rated, 1, 1) or, per cell,
    (pack rated / P, P, S·P). A given rated capacity must be that one."""
    pack = float(model["rated_capacity_ah"])
    if per_cell:
        p, n_s = model.get("cells_in_parallel"), model.get("cells_in_series")
        if not p or not n_s:
            raise _refuse("model.cells_in_parallel", f"a per-cell measurement needs the model {model['model_id']}'s "
                          "cells_in_series and cells_in_parallel: declare them on the model, or give a pack-level file")
        rated, scale_ah, scale_e = pack / p, int(p), int(p) * int(n_s)
    else:
        rated, scale_ah, scale_e = pack, 1, 1
    if given is not None and abs(given - rated) > RATED_TOLERANCE * rated:
        what = f"one cell of it is rated {rated:g} Ah (the pack's {pack:g} Ah / {scale_ah} in parallel)" if per_cell \
            else f"the passport's pack is rated {pack:g} Ah"
        raise _refuse("rated_capacity_ah", f"given {given:g} Ah, but {what}: leave it out (the passport's is used)"
                      + ("" if per_cell else ", or pass per_cell if the file is one cell of the pack"), given)
    return rated, scale_ah, scale_e


def largest_discharge_ah(data: Any) -> float | None:
    """The largest capacity discharged in one cycle of a series (Ah), or None without a discharge."""
    from .summary import cycle_summary

    q = cycle_summary(data).get_column("discharge_capacity_ah").drop_nulls()
    return float(q.max()) if q.len() else None  # type: ignore[arg-type]


def fit_to_pack(soh: StateOfHealth, rec: Any, model: dict[str, Any], *, per_cell: bool, now: Any = None,
                largest_discharge: float | None = None) -> None:
    """Refuse a state of health that cannot be this pack's (see the module's docstring). The capacity test
    uses the state of health when the estimator found a full discharge, else the largest discharge."""
    from datetime import UTC, datetime, timedelta

    rated = float(soh.rated_capacity_ah or model["rated_capacity_ah"])
    measured = soh.remaining_capacity_ah if soh.remaining_capacity_ah is not None else largest_discharge
    pct = soh.soh_capacity_pct if soh.soh_capacity_pct is not None else (
        None if measured is None else 100.0 * measured / rated)
    if pct is not None and not MIN_CREDIBLE_SOH_PCT <= pct <= MAX_CREDIBLE_SOH_PCT:
        p = model.get("cells_in_parallel")
        near_cell = bool(not per_cell and p and p > 1 and measured and abs(measured * p / rated - 1) < 0.25)
        fix = (f"its capacity is close to one cell's ({rated / p:.3g} Ah): pass per_cell" if near_cell else
               "a cell or module of it? pass per_cell with the model's cells_in_series and cells_in_parallel")
        raise _refuse("state_of_health.soh_capacity_pct",
                      f"the file's capacity ({measured:.4g} Ah) is {pct:.3g} % of the rated {rated:g} Ah, outside "
                      f"{MIN_CREDIBLE_SOH_PCT:g}-{MAX_CREDIBLE_SOH_PCT:g} %: it is not a measurement of this "
                      f"{'cell' if per_cell else 'pack'} ({fix})", round(pct, 3))
    if soh.measured_at is not None:
        made = rec.data.get("manufacture_date")
        ended = soh.measured_at if soh.measured_at.tzinfo else soh.measured_at.replace(tzinfo=UTC)
        if made and ended.date().isoformat() < str(made):
            raise _refuse("state_of_health.measured_at", f"the file ends on {ended.date()}, before the pack was made "
                          f"({made}): it is not this pack's history, or the cycler's clock is wrong (check --tz)",
                          ended.isoformat())
        now = now or datetime.now(UTC)
        if ended > now + timedelta(seconds=FUTURE_SLACK_S):
            raise _refuse("state_of_health.measured_at", f"the file ends on {ended.isoformat()}, in the future: "
                          "the cycler's clock or time zone is wrong (check --tz)", ended.isoformat())


def measured_counters(soh: StateOfHealth, scale_ah: int, scale_e: int) -> dict[str, float]:
    """The measurement's lifetime counters, scaled to the pack (full equivalent cycles need no scaling)."""
    add = {"full_equivalent_cycles": soh.full_equivalent_cycles,
           "energy_throughput_kwh": soh.energy_throughput_kwh * scale_e,
           "capacity_throughput_ah": soh.capacity_throughput_ah * scale_ah}
    return {k: float(v) for k, v in add.items() if v is not None}


def accumulated_usage(stored: dict[str, Any] | None, soh: StateOfHealth, scale_ah: int, scale_e: int,
                      already: dict[str, float] | None = None) -> dict[str, float]:
    """The passport's lifetime counters after this measurement: what it held plus what the measurement adds
    (its throughput scaled to the pack, minus ``already`` counted from the same history). Never less."""
    stored = stored or {}
    already = already or {}
    return {k: round(float(stored.get(k) or 0.0) + max(0.0, v - float(already.get(k, 0.0))), 4)
            for k, v in measured_counters(soh, scale_ah, scale_e).items()}


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

    def publish_soh(self, passport_id: str, soh: StateOfHealth, caller: Caller, *, reason: str) -> dict[str, Any]:
        """Write a state of health measured elsewhere (e.g. from fleet telemetry, :mod:`batteryloop.fleet`) into
        the pack's passport, with the same checks as a cycler file's (:func:`fit_to_pack`), and record the signed
        ``soh_update`` event. The lifetime counters are left as they are (the measurement carries none)."""
        rec = self.passports.authorize_on(passport_id, "health.soh.write", caller)
        model = self.passports.model_data(rec.model_id)
        rated_for(model, False, soh.rated_capacity_ah)
        fit_to_pack(soh, rec, model, per_cell=False)
        fields = {"state_of_health": passport_fields(soh)["state_of_health"]}
        view = self.passports.update_passport(passport_id, fields, caller, action="health.soh.write", reason=reason[:200])
        return {"passport_id": passport_id, "version": view["version"], "written": fields,
                "ledger": self._ledger_event(passport_id, soh, caller)}

    def publish_soh_many(self, items: Mapping[str, StateOfHealth], caller: Caller, *, reason: str,
                         usage: Mapping[str, Mapping[str, float]] | None = None,
                         place: Mapping[str, str] | None = None, now: Any = None) -> dict[str, Any]:
        """Many packs' states of health measured elsewhere — a swap station's diagnoses — in one transaction,
        with :meth:`publish_soh`'s checks for every pack (the caller may write it, ``health.soh.write``; the
        measurement fits the pack, :func:`fit_to_pack`), and optionally each pack's grown lifetime counters
        (``usage``: they may only grow). Nothing is written unless every pack passes; the first refusal names
        the pack. Returns the versions written and one ``soh_update`` event per pack (unsigned: the custodian's
        chain writer signs them, as the pilot does, or ``POST /api/v1/trace/events`` takes them signed)."""
        from ..errors import BatteryloopError

        recs = self.passports.get_records(list(items))
        models: dict[str, dict[str, Any]] = {}
        patches: dict[str, dict[str, Any]] = {}
        events = []
        for pid, soh in items.items():
            rec = recs.get(pid)
            try:
                if rec is None:
                    from ..errors import NotFound

                    raise NotFound(f"no passport {pid!r}")
                model = models.get(rec.model_id)
                if model is None:
                    model = models[rec.model_id] = self.passports.model_data(rec.model_id)
                rated_for(model, False, soh.rated_capacity_ah)
                fit_to_pack(soh, rec, model, per_cell=False, now=now)
                patch: dict[str, Any] = {"state_of_health": passport_fields(soh)["state_of_health"]}
                if usage and pid in usage:
                    stored = rec.data.get("usage") or {}
                    for k, v in usage[pid].items():
                        if float(v) < float(stored.get(k) or 0.0):
                            raise _refuse(f"usage.{k}", f"the lifetime counter may only grow: the passport holds "
                                          f"{stored.get(k)}, not more than {v}", v)
                    patch["usage"] = {k: round(float(v), 4) for k, v in usage[pid].items()}
            except BatteryloopError as exc:
                exc.detail = f"passport {pid}: {exc.detail}"  # which pack of the batch
                exc.args = (exc.detail, *exc.args[1:])
                raise
            patches[pid] = patch
            data: dict[str, Any] = {"soh_capacity_pct": round(float(soh.soh_capacity_pct or 0.0), 4)}
            if patch.get("usage", {}).get("full_equivalent_cycles") is not None:
                data["full_equivalent_cycles"] = patch["usage"]["full_equivalent_cycles"]
            when = soh.measured_at.isoformat() if soh.measured_at is not None else _now()
            data["measured_at"] = when
            events.append({"id": f"{pid}-soh-{when[:19].replace(':', '')}", "kind": "soh_update",
                           "actor": caller.participant_id, "occurred_at": when,
                           "place": dict(place or {"country": rec.data.get("manufacture_country", "DE"),
                                                   "site": "state-of-health service"}),
                           "subjects": [pid], "data": data})
        n = self.passports.update_passports(patches, caller, reason=reason[:200], action="health.soh.write") if patches else 0
        return {"versions": n, "events": events}

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
                 write: bool = True, per_cell: bool = False) -> dict[str, Any]:
        """State of health from the pack's ingested history; written into its passport unless ``write=False``."""
        rec = self.passports.get_record(passport_id)
        if Tier.LEGITIMATE_INTEREST not in self.passports.tiers_for(rec, caller):
            from ..errors import deny

            raise deny(caller.anonymous, f"the state of health of {passport_id} needs legitimate interest")
        model = self.passports.model_data(rec.model_id)
        rated, scale_ah, scale_e = rated_for(model, per_cell, rated_capacity_ah)
        try:
            series = self.pack_series(passport_id)
            soh = estimate_soh(series, rated_capacity_ah=rated)
            # the summary again only when the estimator found no full discharge to judge the capacity by
            largest = largest_discharge_ah(series) if soh.remaining_capacity_ah is None else None
        except HealthError as exc:
            raise health_error(exc) from None
        fit_to_pack(soh, rec, model, per_cell=per_cell, largest_discharge=largest)
        out: dict[str, Any] = {"passport_id": passport_id, "state_of_health": soh.model_dump(mode="json")}
        if write:
            counted_file = self._pack_dir(passport_id) / "counted.json"
            already = json.loads(counted_file.read_text()) if counted_file.is_file() else {}
            fields = self._fields(soh, rec, scale_ah, scale_e, already)
            view = self.passports.update_passport(passport_id, fields, caller, action="health.soh.write",
                                                  reason=f"state of health from {len(self.pack_files(passport_id))} "
                                                         "ingested cycler file(s)")
            # the history's throughput is now in the passport's counters: the next computation adds only what is new
            tmp = counted_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(measured_counters(soh, scale_ah, scale_e)))
            tmp.replace(counted_file)
            out.update(version=view["version"], written=fields, ledger=self._ledger_event(passport_id, soh, caller))
        return out

    def _fields(self, soh: StateOfHealth, rec: Any, scale_ah: int, scale_e: int,
                already: dict[str, float] | None = None) -> dict[str, Any]:
        """The passport patch: the state of health (capacities scaled to the pack) and the grown counters."""
        fields = passport_fields(soh)
        if scale_ah != 1 and "remaining_capacity_ah" in fields["state_of_health"]:
            fields["state_of_health"]["remaining_capacity_ah"] = round(soh.remaining_capacity_ah * scale_ah, 4)
        fields["usage"] = accumulated_usage(rec.data.get("usage"), soh, scale_ah, scale_e, already)
        return fields

    def record_soh(self, passport_id: str, files: Sequence[str | Path], caller: Caller, *,
                   rated_capacity_ah: float | None = None, tz: str = "UTC", per_cell: bool = False) -> dict[str, Any]:
        """Read cycler exports of one pack (or, ``per_cell``, of one of its cells), compute its state of health
        and store it as a passport version; the counters add to the passport's."""
        rec = self.passports.authorize_on(passport_id, "health.soh.write", caller)
        model = self.passports.model_data(rec.model_id)
        rated, scale_ah, scale_e = rated_for(model, per_cell, rated_capacity_ah)
        try:
            data = read_cell(list(files), tz=tz, sort_by_time=True)  # a history is in time order, whatever the upload order
            soh = estimate_soh(data, rated_capacity_ah=rated)
            largest = largest_discharge_ah(data) if soh.remaining_capacity_ah is None else None
        except HealthError as exc:
            raise health_error(exc) from None
        fit_to_pack(soh, rec, model, per_cell=per_cell, largest_discharge=largest)
        fields = self._fields(soh, rec, scale_ah, scale_e)
        names = ", ".join(Path(f).name for f in files)[:100]
        view = self.passports.update_passport(passport_id, fields, caller, action="health.soh.write",
                                              reason=f"state of health from cycler data ({names})")
        return {"passport_id": passport_id, "version": view["version"], "state_of_health": soh.model_dump(mode="json"),
                "written": fields, "ledger": self._ledger_event(passport_id, soh, caller)}


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
