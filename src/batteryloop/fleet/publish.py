"""Results back into the platform: each analysed pack's state of health as a passport version and a signed
``soh_update`` ledger event, in batches, through the health service's batch write
(:meth:`batteryloop.health.service.HealthService.publish_soh_many`, the one path a state of health measured
elsewhere takes into passports: its checks, :meth:`~batteryloop.health.service.HealthService.check_soh_many`, are
the right to write — the ``health.soh.write`` policy: the pack's operator, custodian or a delegated service
provider —, the passport model's rated capacity, no newer measurement held, and
:func:`~batteryloop.health.service.fit_to_pack`: a credible capacity, measured after manufacture and not in the
future).

A pack is matched to its passport by ``pack_id`` = passport id. The table is cut into batches of ``batch`` packs
(in ``pack_id`` order). Per batch:

1. every pack is checked; a refused pack (no estimate, no passport, another rated capacity, a passport already
   holding this or a newer measurement, a failed fit check, no right to write) is listed with its reason and left
   out of the batch — it does not stop the others;
2. the accepted packs' passport versions are written in **one transaction**
   (:meth:`~batteryloop.passport.service.PassportService.update_passports`, action ``health.soh.write``): all or
   none — a refusal found at write time rolls the whole batch back and names the pack;
3. their ``soh_update`` events, signed with the caller's key (this node must hold it), are appended in **one**
   all-or-nothing ledger batch (:meth:`~batteryloop.health.service.HealthService.record_soh_events`).

Each batch's report (packs written, refused with reasons, ledger events stored) is appended to a **journal**
(JSON lines, default ``TABLE.publish.jsonl``) as soon as the batch is done. Publishing again with the same journal
**resumes**: batches recorded as done are skipped (their packs are not re-read), a batch whose versions were written
but whose events were not (a stop between steps 2 and 3) gets its events, and the rest is published. Without a
journal, publishing the same table twice refuses every pack the second time (nothing is written twice).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..access import Caller
from ..health.soh import StateOfHealth

SITE = "fleet telemetry analysis"
NO_ESTIMATE = "no capacity estimate: the window has no charge session with a large enough ΔSoC"
#: the fix a refusal of the registry's rated capacity names (the health service's check, with the fleet's fix)
RATED_FIX = "not the same pack design (fix the fleet registry's rating in _packs.csv, or the pack-passport match)"


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
    """One batch through the health service's batch write (:meth:`HealthService.publish_soh_many
    <batteryloop.health.service.HealthService.publish_soh_many>`: its checks, one transaction of passport
    versions, one ledger batch of signed events); the rows without an estimate are refused here."""
    ids = [r["pack_id"] for r in part]
    rep: dict[str, Any] = {"batch": k, "packs": ids, "state": "done", "published": [], "refused": [],
                           "ledger": {"stored": 0}}
    health = services.health
    items = {r["pack_id"]: _soh(r) for r in part if _has_estimate(r)}
    if pending is not None and pending["state"] == "versions_written":  # resume: only the events are missing
        rep["published"], rep["refused"] = pending["published"], pending["refused"]
        events = health.soh_events({p["pack_id"]: items[p["pack_id"]] for p in rep["published"]}, caller,
                                   site=SITE, occurred_at=datetime.now(UTC).isoformat())
        rep["ledger"] = health.record_soh_events(events, caller)
        rep["state"] = "done" if rep["ledger"]["ok"] else "versions_written"
        return rep
    res = {"written": {}, "refused": {}, "ledger": {"stored": 0, "ok": True}}
    if items:
        upto = max(s.measured_at for s in items.values()).isoformat()[:10]
        res = health.publish_soh_many(items, caller, reason=f"state of health from fleet telemetry (batch {k}, "
                                      f"charge sessions to {upto})", site=SITE, occurred_at=datetime.now(UTC).isoformat(),
                                      partial=True, sign=True, rated_fix=RATED_FIX)
    for row in part:
        pid = row["pack_id"]
        if pid in res["written"]:
            rep["published"].append({"pack_id": pid, "version": res["written"][pid], "soh_pct": row["soh_pct"],
                                     "measured_at": row["measured_at"], "faults": row.get("faults") or ""})
        elif pid not in items:
            rep["refused"].append({"pack_id": pid, "reason": NO_ESTIMATE})
        else:
            reason = res["refused"][pid]
            if reason.startswith("no passport"):
                reason += ": packs are matched to passports by id"
            rep["refused"].append({"pack_id": pid, "reason": reason})
    rep["ledger"] = res["ledger"]
    rep["state"] = "done" if res["ledger"]["ok"] else "versions_written"
    return rep


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


def _has_estimate(row: dict[str, Any]) -> bool:
    return not (row.get("soh_pct") is None or row.get("capacity_ah") is None or row.get("measured_at") is None)
