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

A state of health measured elsewhere (a fleet's telemetry, :mod:`batteryloop.fleet.publish`; a swap station's
diagnoses, :mod:`batteryloop.sim.lanzhou`) takes one path, in batches: :meth:`HealthService.publish_soh_many`,
checked by one :meth:`HealthService.check_soh_many` (which also refuses a measurement not newer than the one
the passport holds), its signed ``soh_update`` events appended by :meth:`HealthService.record_soh_events`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


def rated_for(model: dict[str, Any], per_cell: bool, given: float | None,
              fix: str | None = None) -> tuple[float, int, int]:
    """The rated capacity (Ah) a measurement is compared with, and the factors (parallel, series·parallel)
    that scale its capacities and energies to the pack: (pack rated, 1, 1) or, per cell,
    (pack rated / P, P, S·P). A given rated capacity must be that one (``fix``: what the refusal tells to do,
    by default to leave it out or to pass per_cell)."""
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
        fix = fix or ("leave it out (the passport's is used)"
                      + ("" if per_cell else ", or pass per_cell if the file is one cell of the pack"))
        raise _refuse("rated_capacity_ah", f"given {given:g} Ah, but {what}: {fix}", given)
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


def _newer_than_held(soh: StateOfHealth, rec: Any) -> None:
    """Refuse a measurement not newer than the one the passport holds (a batch published twice, or out of
    order, would set the passport's state of health back in time)."""
    from datetime import UTC, datetime

    held = (rec.data.get("state_of_health") or {}).get("measured_at")
    if not held or soh.measured_at is None:
        return
    then = datetime.fromisoformat(str(held))
    new = soh.measured_at
    then, new = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (then, new))
    if then >= new:
        raise _refuse("state_of_health.measured_at", f"the passport already holds a state of health measured {held}, "
                      f"not older than this one ({soh.measured_at.isoformat()}): it is written already, or a newer "
                      "one is; publish only newer measurements", soh.measured_at.isoformat())


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


@dataclass
class SohChecks:
    """What :meth:`HealthService.check_soh_many` found: the passport patch of each pack that passed, the refusal
    of each that did not, and the passports' records it read."""

    patches: dict[str, dict[str, Any]]
    refused: dict[str, Any]  # pack -> BatteryloopError
    records: dict[str, Any]


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

    def check_soh_many(self, items: Mapping[str, StateOfHealth], caller: Caller, *,
                       usage: Mapping[str, Mapping[str, float]] | None = None, now: Any = None,
                       rated_fix: str | None = None) -> SohChecks:
        """The write checks of many packs' states of health measured elsewhere, with one read of the passports
        and one of their relations' facts: for each pack, in this order, its passport exists; the caller may
        write its health (``health.soh.write``: the pack's operator, custodian or a delegated service provider);
        the measurement's rated capacity is the passport model's (``rated_fix``: the fix the refusal names, by
        default :func:`rated_for`'s); the passport holds no measurement as new or newer; the measurement fits the
        pack (:func:`fit_to_pack`: capacity, dates); the lifetime counters in ``usage`` only grow. Returns the
        passport patch of each pack that passed and the refusal of each that did not (in ``items``' order)."""
        from ..errors import BatteryloopError, NotFound

        recs = self.passports.get_records(list(items))
        denied = self.passports.authorize_many(recs.values(), "health.soh.write", caller)
        models: dict[str, dict[str, Any]] = {}
        out = SohChecks(patches={}, refused={}, records=recs)
        for pid, soh in items.items():
            rec = recs.get(pid)
            try:
                if rec is None:
                    raise NotFound(f"no passport {pid!r}")
                if pid in denied:
                    raise denied[pid]
                model = models.get(rec.model_id)
                if model is None:
                    model = models[rec.model_id] = self.passports.model_data(rec.model_id)
                rated_for(model, False, soh.rated_capacity_ah, fix=rated_fix)
                _newer_than_held(soh, rec)
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
                out.refused[pid] = exc
                continue
            out.patches[pid] = patch
        return out

    def publish_soh_many(self, items: Mapping[str, StateOfHealth], caller: Caller, *, reason: str,
                         usage: Mapping[str, Mapping[str, float]] | None = None,
                         place: Mapping[str, str] | None = None, site: str = "state-of-health service",
                         now: Any = None, occurred_at: str | None = None, partial: bool = False,
                         sign: bool = False, rated_fix: str | None = None) -> dict[str, Any]:
        """Many packs' states of health measured elsewhere — a swap station's diagnoses, a fleet's telemetry
        (:mod:`batteryloop.fleet.publish`) — written as passport versions in **one** transaction, after
        :meth:`check_soh_many` (one run for the whole batch), with optionally each pack's grown lifetime counters
        (``usage``).

        Without ``partial`` nothing is written unless every pack passes: the first refusal is raised, naming the
        pack. With ``partial`` a refused pack is listed in ``refused`` (pack → reason) and left out; a refusal
        found at write time rolls the whole batch back and every pack of it is listed as rolled back.

        Returns ``versions`` (how many written), ``written`` (pack → its new version), ``refused`` and one
        ``soh_update`` event per pack written (``events``; at ``occurred_at``, by default the measurement's time;
        at ``place``, by default the passport's country and ``site``). The events are unsigned (the custodian's
        chain writer signs them, as the pilot does, or ``POST /api/v1/trace/events`` takes them signed) unless
        ``sign``: then they are signed with the caller's key and appended as one all-or-nothing ledger batch,
        whose report is ``ledger`` (:meth:`record_soh_events`)."""
        from ..errors import BatteryloopError

        checks = self.check_soh_many(items, caller, usage=usage, now=now, rated_fix=rated_fix)
        if checks.refused and not partial:
            pid, exc = next(iter(checks.refused.items()))
            exc.detail = f"passport {pid}: {exc.detail}"  # which pack of the batch
            exc.args = (exc.detail, *exc.args[1:])
            raise exc
        out: dict[str, Any] = {"versions": 0, "written": {}, "events": [],
                               "refused": {pid: exc.detail for pid, exc in checks.refused.items()}}
        if checks.patches:
            try:
                written = self.passports.update_passports(checks.patches, caller, reason=reason[:200],
                                                          action="health.soh.write")
            except BatteryloopError as exc:
                if not partial:
                    raise
                out["refused"].update({pid: f"rolled back with its batch: {exc.detail}" for pid in checks.patches})
                if sign:
                    out["ledger"] = {"stored": 0, "ok": True}
                return out
            out["versions"], out["written"] = len(written), written
            out["events"] = self.soh_events({pid: items[pid] for pid in written}, caller, records=checks.records,
                                            usage=usage, place=place, site=site, occurred_at=occurred_at)
        if sign:
            out["ledger"] = self.record_soh_events(out["events"], caller)
        return out

    def soh_events(self, items: Mapping[str, StateOfHealth], caller: Caller, *, records: Mapping[str, Any] | None = None,
                   usage: Mapping[str, Mapping[str, float]] | None = None, place: Mapping[str, str] | None = None,
                   site: str = "state-of-health service", occurred_at: str | None = None) -> list[dict[str, Any]]:
        """The unsigned ``soh_update`` event of each pack's state of health (see :meth:`publish_soh_many`); its id
        is the pack's and the measurement's time, so that the same measurement is never recorded twice."""
        if records is None:
            records = self.passports.get_records(list(items))
        events = []
        for pid, soh in items.items():
            data: dict[str, Any] = {"soh_capacity_pct": round(float(soh.soh_capacity_pct or 0.0), 4)}
            fec = (usage or {}).get(pid, {}).get("full_equivalent_cycles")
            if fec is not None:
                data["full_equivalent_cycles"] = round(float(fec), 4)
            when = soh.measured_at.isoformat() if soh.measured_at is not None else _now()
            data["measured_at"] = when
            events.append({"id": f"{pid}-soh-{when[:19].replace(':', '')}", "kind": "soh_update",
                           "actor": caller.participant_id, "occurred_at": occurred_at or when,
                           "place": dict(place or {"country": records[pid].data.get("manufacture_country", "DE"),
                                                   "site": site}),
                           "subjects": [pid], "data": data})
        return events

    def record_soh_events(self, events: Sequence[dict[str, Any]], caller: Caller) -> dict[str, Any]:
        """Sign unsigned ``soh_update`` events (:meth:`soh_events`) with the caller's key — this node must hold
        it — on their chains' current heads and append them as one all-or-nothing ledger batch. Returns
        ``stored``, ``ok`` and, when not ok, the ``reason`` (nothing stored)."""
        if not events:
            return {"stored": 0, "ok": True}
        if self.trace is None:
            return {"stored": 0, "ok": False, "reason": "no ledger configured"}
        signer = self.keys.signer(caller.participant_id) if self.keys is not None else None
        if signer is None:
            return {"stored": 0, "ok": False, "reason": f"this node holds no signing key for "
                    f"{caller.participant_id or 'admin'}: the passport versions are written; submit signed "
                    "soh_update events to POST /api/v1/trace/batches"}
        from ..trace.events import seal

        heads = self.trace.ledger.heads(sorted({s for ev in events for s in ev["subjects"]}))
        wire = [seal({**ev, "actor": signer.participant_id, "prev": {s: heads[s] for s in ev["subjects"]}},
                     signer).to_wire() for ev in events]
        rep = self.trace.ingest(wire, caller)
        res: dict[str, Any] = {"stored": rep.stored, "ok": rep.ok}
        if not rep.ok:
            res["reason"] = f"the ledger refused the batch (nothing stored): {(rep.error or {}).get('detail')}"
        return res

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
