"""A state of health written to a passport must be that battery's: the file's capacity fits the pack (or,
per cell, one cell: pack rated / cells_in_parallel), a given rated capacity is the passport's, the
measurement is dated after the pack was made and not in the future, and the lifetime counters only grow.
Every refusal names the field and the fix, and leaves the passport as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from batteryloop.errors import InvalidData
from batteryloop.health import estimate_soh, read_cell
from batteryloop.health.service import fit_to_pack
from batteryloop.sim import pilot
from tests.conftest import make_services, seed_pilot
from tests.lab import lab_battery, lab_model

MACCOR = "PreDiag_000229_000229_truncated.034"  # a ~4.8 Ah cell, recorded until 2019-12-17


@pytest.fixture
def svc(sqlite_store: Any) -> Any:
    s = make_services(sqlite_store)
    s.callers = seed_pilot(s)["callers"]
    return s


def _lab(svc: Any, seed: int, *, made: str = "2019-06-01", **model: Any) -> str:
    m = lab_model(**model)
    try:
        svc.passports.create_model(m, svc.callers[pilot.AUTOMAKER])
    except Exception:  # noqa: BLE001 — registered by an earlier call
        pass
    return svc.passports.import_passports([lab_battery(seed, made=made, model_id=m["model_id"])],
                                          svc.callers[pilot.AUTOMAKER]).ids[0]


def _refused(svc: Any, pid: str, field: str, *words: str, **kw: Any) -> None:
    before = svc.passports.get_record(pid).version
    with pytest.raises(InvalidData) as exc:
        svc.health.record_soh(pid, [kw.pop("file")], svc.callers[pilot.AUTOMAKER], **kw)
    assert exc.value.errors[0]["field"] == field, exc.value.errors
    for w in words:
        assert w in exc.value.detail, exc.value.detail
    assert svc.passports.get_record(pid).version == before  # nothing written


def test_a_lab_cell_is_not_a_traction_pack(svc: Any, data_dir: Path) -> None:
    """The 2019 Maccor cell (≈4.8 Ah) against a 230.9 Ah NMC811 pack: ≈2 % state of health — refused; with
    the file's own rating as --rated-capacity-ah — refused as not the passport's rating."""
    f = data_dir / "cyclers" / MACCOR
    pid = svc.passports.import_passports(pilot.generate_batteries(1, seed=5), svc.callers[pilot.AUTOMAKER]).ids[0]
    _refused(svc, pid, "state_of_health.soh_capacity_pct", "230.9", "per_cell", file=f)
    _refused(svc, pid, "rated_capacity_ah", "5 Ah", "230.9 Ah", "per_cell", file=f, rated_capacity_ah=5.0)
    # per cell: the pack's cell is 230.9 / 3 = 77 Ah, not 4.8 Ah — still not this pack's
    _refused(svc, pid, "state_of_health.soh_capacity_pct", file=f, per_cell=True)


def test_per_cell_needs_the_pack_layout(svc: Any, data_dir: Path) -> None:
    m = lab_model(model_id="LAB-NO-LAYOUT")
    del m["cells_in_series"], m["cells_in_parallel"]
    svc.passports.create_model(m, svc.callers[pilot.AUTOMAKER])
    pid = svc.passports.import_passports([lab_battery(7, model_id="LAB-NO-LAYOUT")], svc.callers[pilot.AUTOMAKER]).ids[0]
    _refused(svc, pid, "model.cells_in_parallel", "cells_in_series", "LAB-NO-LAYOUT", file=data_dir / "cyclers" / MACCOR,
             per_cell=True)
    # pack-level, the same file fits this 5 Ah model
    assert svc.health.record_soh(pid, [data_dir / "cyclers" / MACCOR], svc.callers[pilot.AUTOMAKER])["version"] == 2


def test_per_cell_scales_to_the_pack_by_hand(svc: Any, data_dir: Path) -> None:
    """A 2s3p module rated 15 Ah: one cell is 15 / 3 = 5 Ah. The cell's state of health is the module's
    (the cell is taken as representative); remaining capacity × 3 (parallel), capacity throughput × 3,
    energy throughput × 6 (2 series × 3 parallel); full equivalent cycles unchanged; counters add to what
    the passport held (10 cycles, 0.4 kWh, 100 Ah)."""
    f = data_dir / "cyclers" / MACCOR
    cell = estimate_soh(read_cell([f]), rated_capacity_ah=5.0)
    pid = _lab(svc, 8, model_id="LAB-2S3P", rated_ah=15.0, series=2, parallel=3)
    out = svc.health.record_soh(pid, [f], svc.callers[pilot.AUTOMAKER], per_cell=True)
    w = out["written"]
    assert w["state_of_health"]["soh_capacity_pct"] == pytest.approx(cell.soh_capacity_pct, abs=1e-4)
    assert w["state_of_health"]["remaining_capacity_ah"] == pytest.approx(3 * cell.remaining_capacity_ah, abs=1e-3)
    assert w["usage"]["capacity_throughput_ah"] == pytest.approx(100.0 + 3 * cell.capacity_throughput_ah, abs=1e-3)
    assert w["usage"]["energy_throughput_kwh"] == pytest.approx(0.4 + 6 * cell.energy_throughput_kwh, abs=1e-3)
    assert w["usage"]["full_equivalent_cycles"] == pytest.approx(10.0 + cell.full_equivalent_cycles, abs=1e-3)
    # the same file as the whole module (not per cell) is a third of its rating: refused, with the per-cell hint
    _refused(svc, pid, "state_of_health.soh_capacity_pct", "per_cell", file=f)


def test_measured_before_the_pack_was_made_is_refused(svc: Any, data_dir: Path) -> None:
    pid = _lab(svc, 9, made="2020-01-01")
    _refused(svc, pid, "state_of_health.measured_at", "2019-12-17", "2020-01-01", "--tz", file=data_dir / "cyclers" / MACCOR)


def test_measured_in_the_future_is_refused(svc: Any, data_dir: Path) -> None:
    pid = _lab(svc, 10)
    rec = svc.passports.get_record(pid)
    soh = estimate_soh(read_cell([data_dir / "cyclers" / MACCOR]), rated_capacity_ah=5.0)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    fit_to_pack(soh.model_copy(update={"measured_at": now + timedelta(minutes=59)}), rec, lab_model(), per_cell=False, now=now)
    with pytest.raises(InvalidData, match="in the future") as exc:
        fit_to_pack(soh.model_copy(update={"measured_at": now + timedelta(hours=2)}), rec, lab_model(), per_cell=False, now=now)
    assert exc.value.errors[0]["field"] == "state_of_health.measured_at"


def test_counters_only_grow(svc: Any, data_dir: Path) -> None:
    """Two uploads of files add both; a recomputation from the same ingested history adds nothing; a new
    file in the history adds only its own throughput."""
    f = data_dir / "cyclers" / MACCOR
    one = estimate_soh(read_cell([f]), rated_capacity_ah=5.0)
    pid = _lab(svc, 11)
    op = svc.callers[pilot.AUTOMAKER]
    svc.health.record_soh(pid, [f], op)
    u = svc.health.record_soh(pid, [f], op)["written"]["usage"]
    assert u["capacity_throughput_ah"] == pytest.approx(100.0 + 2 * one.capacity_throughput_ah, abs=1e-3)
    # the ingested history
    pid2 = _lab(svc, 12)
    svc.health.ingest(pid2, f, op)
    a = svc.health.pack_soh(pid2, op)["written"]["usage"]
    assert a["capacity_throughput_ah"] == pytest.approx(100.0 + one.capacity_throughput_ah, abs=1e-3)
    b = svc.health.pack_soh(pid2, op)["written"]["usage"]
    assert b == a  # the same history again adds nothing
    svc.health.ingest(pid2, f, op)
    c = svc.health.pack_soh(pid2, op)["written"]["usage"]
    assert c["capacity_throughput_ah"] > a["capacity_throughput_ah"]
    stored = svc.passports.get_record(pid2).data["usage"]
    assert stored["capacity_throughput_ah"] == c["capacity_throughput_ah"]


def _soh_at(pct: float, rated_ah: float, at: datetime) -> Any:
    from batteryloop.health.soh import StateOfHealth

    return StateOfHealth(measured_at=at, cycle=None, rated_capacity_ah=rated_ah, rated_capacity_estimated=False,
                         remaining_capacity_ah=rated_ah * pct / 100, soh_capacity_pct=pct,
                         initial_internal_resistance_ohm=None, internal_resistance_ohm=None,
                         resistance_increase_pct=None, remaining_power_capability_pct=None,
                         initial_round_trip_efficiency_pct=None, round_trip_efficiency_pct=None,
                         round_trip_efficiency_fade_pct=None, self_discharge_mv_per_day=None,
                         full_equivalent_cycles=None, energy_throughput_kwh=0.0, capacity_throughput_ah=0.0,
                         cycles_counted=0)


def test_a_batch_write_refuses_a_measurement_older_than_the_passports(svc: Any) -> None:
    """The batch path (a fleet's telemetry, a swap station's diagnoses) runs one set of checks for every caller:
    a measurement not newer than the one the passport holds would set it back in time — refused, naming the pack
    (before the fleet's and the health service's batch writes were one, only the fleet refused it). With
    ``partial`` the refused packs are listed and the others written; the versions written are returned."""
    op = svc.callers[pilot.AUTOMAKER]
    a, b, c = svc.passports.import_passports(pilot.generate_batteries(3, seed=41), op).ids
    recs = svc.passports.get_records([a, b, c])
    rated = {p: float(svc.passports.model_data(r.model_id)["rated_capacity_ah"]) for p, r in recs.items()}
    held = max(datetime.fromisoformat(r.data["state_of_health"]["measured_at"]) for r in recs.values())
    now = held + timedelta(days=1)

    def soh(p: str, pct: float, hours: float) -> Any:
        return _soh_at(pct, rated[p], held + timedelta(hours=hours))

    newer, older = soh(a, 90.0, 1), soh(b, 90.0, -24)
    before = {p: svc.passports.get_record(p).version for p in (a, b, c)}
    with pytest.raises(InvalidData, match=f"passport {b}: state_of_health.measured_at: the passport already holds"):
        svc.health.publish_soh_many({a: newer, b: older}, op, reason="test", now=now)
    assert {p: svc.passports.get_record(p).version for p in (a, b, c)} == before  # all or nothing

    res = svc.health.publish_soh_many({a: newer, b: older, c: soh(c, 30.0, 1)}, op,
                                      reason="test", now=now, partial=True)
    assert res["written"] == {a: before[a] + 1} and res["versions"] == 1
    assert set(res["refused"]) == {b, c} and "already holds" in res["refused"][b] and "outside 40-125 %" in res["refused"][c]
    assert svc.passports.get_record(a).version == before[a] + 1
    assert [(e["kind"], e["subjects"]) for e in res["events"]] == [("soh_update", [a])]
    assert {p: svc.passports.get_record(p).version for p in (b, c)} == {b: before[b], c: before[c]}
