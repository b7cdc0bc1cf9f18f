"""Results back into the platform: each analysed pack's state of health as a passport version and a signed
``soh_update`` ledger event, in batches, through the services with the health service's write checks
(:func:`batteryloop.health.service.fit_to_pack`: a credible capacity, the passport model's rated capacity, measured
after manufacture and not in the future; the ``health.soh.write`` policy: the pack's operator, custodian or a
delegated service provider).

A pack is matched to its passport by ``pack_id`` = passport id. The table is cut into batches of ``batch`` packs
(in ``pack_id`` order). Per batch:

1. every pack is checked; a refused pack (no estimate, no passport, another rated capacity, a passport already
   holding this or a newer measurement, a failed fit check, no right to write) is listed with its reason and left
   out of the batch — it does not stop the others;
2. the accepted packs' passport versions are written in **one transaction**
   (:meth:`~batteryloop.passport.service.PassportService.update_passports`, action ``health.soh.write``): all or
   none — a refusal found at write time rolls the whole batch back and names the pack;
3. their ``soh_update`` events, signed with the caller's key (this node must hold it), are appended in **one**
   all-or-nothing ledger batch (:meth:`~batteryloop.trace.service.TraceService.ingest`).

Each batch's report (packs written, refused with reasons, ledger events stored) is appended to a **journal**
(JSON lines, default ``TABLE.publish.jsonl``) as soon as the batch is done. Publishing again with the same journal
**resumes**: batches recorded as done are skipped (their packs are not re-read), a batch whose versions were written
but whose events were not (a stop between steps 2 and 3) gets its events, and the rest is published. Without a
journal, publishing the same table twice refuses every pack the second time (nothing is written twice).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..access import Caller
from ..errors import BatteryloopError
from ..health.service import RATED_TOLERANCE  # the health service's own check, refused here with the fleet's fix
from ..health.soh import StateOfHealth

ACTION = "health.soh.write"


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


def publish(table: pl.DataFrame, services: Any, caller: Caller, *, batch: int = 100, journal: str | Path | None = None,
            on_batch: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Write each pack's state of health in batches (see the module's docstring); returns the published and
    refused packs and one report per batch. ``journal``: the JSON-lines file that makes a stopped run resumable."""
    if batch < 1:
        raise ValueError("--batch must be at least 1")
    rows = table.sort("pack_id").to_dicts()
    done = _read_journal(journal) if journal else {}
    published: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    for k, start in enumerate(range(0, len(rows), batch), 1):
        part = rows[start:start + batch]
        ids = [r["pack_id"] for r in part]
        prev = done.get(k)
        if prev is not None and prev["packs"] != ids:
            raise ValueError(f"the journal {journal} records batch {k} with other packs ({prev['packs'][0]}…) than "
                             f"this table and batch size give ({ids[0]}…): publish with the same table and --batch, "
                             "or with a new journal")
        if prev is not None and prev["state"] == "done":
            rep = {**prev, "resumed": True}
        else:
            rep = _one_batch(k, part, services, caller, pending=prev)
            if journal:
                _append_journal(journal, rep)
        reports.append(rep)
        published.extend(rep["published"])
        refused.extend(rep["refused"])
        if on_batch:
            on_batch(rep)
    return {"published": len(published), "refused": len(refused), "batches": len(reports),
            "resumed_batches": sum(1 for r in reports if r.get("resumed")),
            "packs": published, "refusals": refused,
            "batch_reports": [{k: v for k, v in r.items() if k not in ("published", "refused")} for r in reports]}


def _one_batch(k: int, part: list[dict[str, Any]], services: Any, caller: Caller,
               pending: dict[str, Any] | None) -> dict[str, Any]:
    """One batch: checks, one transaction of passport versions, one ledger batch of signed events."""
    from ..health.service import fit_to_pack, passport_fields, rated_for

    ids = [r["pack_id"] for r in part]
    rep: dict[str, Any] = {"batch": k, "packs": ids, "state": "done", "published": [], "refused": [],
                           "ledger": {"stored": 0}}
    if pending is not None and pending["state"] == "versions_written":  # resume: only the events are missing
        rep["published"], rep["refused"] = pending["published"], pending["refused"]
        rep["ledger"] = _events(rep["published"], services, caller)
        rep["state"] = "done" if rep["ledger"].get("ok", True) else "versions_written"
        return rep
    patches: dict[str, dict[str, Any]] = {}
    accepted: list[dict[str, Any]] = []
    for row in part:
        pid = row["pack_id"]
        reason = _refusal(row, services)
        if reason is None:
            try:
                soh = _soh(row)
                rec = services.passports.authorize_on(pid, ACTION, caller)
                model = services.passports.model_data(rec.model_id)
                rated_for(model, False, soh.rated_capacity_ah)
                fit_to_pack(soh, rec, model, per_cell=False)
            except BatteryloopError as exc:
                reason = exc.detail
        if reason:
            rep["refused"].append({"pack_id": pid, "reason": reason})
            continue
        patches[pid] = {"state_of_health": passport_fields(soh)["state_of_health"]}
        accepted.append(row)
    if patches:
        try:
            services.passports.update_passports(
                patches, caller, action=ACTION,
                reason=f"state of health from fleet telemetry (batch {k}, charge sessions to "
                       f"{max(r['measured_at'] for r in accepted)[:10]})")
        except BatteryloopError as exc:  # all or none: the batch is rolled back, every pack says why
            rep["refused"].extend({"pack_id": r["pack_id"], "reason": f"batch {k} rolled back: {exc.detail}"}
                                  for r in accepted)
            rep["ledger"] = {"stored": 0, "ok": True}
            return rep
        for r in accepted:
            rec = services.passports.get_record(r["pack_id"])
            rep["published"].append({"pack_id": r["pack_id"], "version": rec.version, "soh_pct": r["soh_pct"],
                                     "measured_at": r["measured_at"], "faults": r.get("faults") or ""})
    rep["state"] = "versions_written"
    rep["ledger"] = _events(rep["published"], services, caller)
    if rep["ledger"].get("ok", True):
        rep["state"] = "done"
    return rep


def _events(published: list[dict[str, Any]], services: Any, caller: Caller) -> dict[str, Any]:
    """The batch's signed ``soh_update`` events, appended all or nothing."""
    from ..trace.events import seal

    if not published:
        return {"stored": 0, "ok": True}
    signer = services.keys.signer(caller.participant_id) if getattr(services, "keys", None) is not None else None
    if signer is None:
        return {"stored": 0, "ok": False, "reason": f"this node holds no signing key for {caller.participant_id or 'admin'}"
                ": the passport versions are written; submit signed soh_update events to POST /api/v1/trace/batches"}
    heads = services.trace.ledger.heads([p["pack_id"] for p in published])
    now = datetime.now(UTC).isoformat()
    wire = []
    for p in published:
        rec = services.passports.get_record(p["pack_id"])
        ev = {"id": f"soh-{uuid.uuid4()}", "kind": "soh_update", "actor": signer.participant_id, "occurred_at": now,
              "place": {"country": rec.data.get("manufacture_country", "DE"), "site": "fleet telemetry analysis"},
              "subjects": [p["pack_id"]], "prev": {p["pack_id"]: heads[p["pack_id"]]},
              "data": {"soh_capacity_pct": round(float(p["soh_pct"]), 4), "measured_at": p["measured_at"]}}
        wire.append(seal(ev, signer).to_wire())
    rep = services.trace.ingest(wire, caller)
    out = {"stored": rep.stored, "ok": rep.ok}
    if not rep.ok:
        out["reason"] = f"the ledger refused the batch (nothing stored): {(rep.error or {}).get('detail')}"
    return out


def _read_journal(path: str | Path) -> dict[int, dict[str, Any]]:
    """The last report of each batch in the journal (a later line of the same batch supersedes)."""
    p = Path(path)
    out: dict[int, dict[str, Any]] = {}
    if p.is_file():
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if line.strip():
                try:
                    d = json.loads(line)
                    out[int(d["batch"])] = d
                except (ValueError, KeyError, TypeError):
                    raise ValueError(f"{p}, line {n}: not a publish journal line (JSON with batch, packs, state)") from None
    return out


def _append_journal(path: str | Path, rep: dict[str, Any]) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("a") as f:  # one line per batch, flushed and synced: a stop loses at most the batch under way
        f.write(json.dumps(rep, separators=(",", ":")) + "\n")
        f.flush()
        import os

        os.fsync(f.fileno())


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
