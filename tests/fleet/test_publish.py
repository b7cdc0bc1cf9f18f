"""`fleet publish`: states of health from telemetry become passport versions and signed ledger events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import pytest

from batteryloop.access import Caller
from batteryloop.fleet.analysis import analyze
from batteryloop.fleet.publish import publish
from batteryloop.fleet.simulate import simulate
from batteryloop.participants import Role
from batteryloop.sim import pilot
from batteryloop.trace.keys import Signer

MODEL = {"car": "EM-NMC811-82", "taxi": "EM-LFP-60"}  # the pilot's models are the car's and the taxi's packs


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("fleet") / "f"
    simulate(root, vehicles=12, days=4, seed=4, interval_s=300.0, fault_share=0.0, buckets=2)
    return analyze(root)


def operator(services: Any) -> Caller:
    signer = Signer.generate(pilot.AUTOMAKER)
    p = next(p for p in pilot.PARTICIPANTS if p["id"] == pilot.AUTOMAKER)
    services.participants.create({**p, "public_key": signer.public_key_text})
    services.keys.save(signer)
    who = Caller(pilot.AUTOMAKER, frozenset(Role(r) for r in p["roles"]))
    for m in pilot.battery_models():
        services.passports.create_model(m, who)
    return who


def passport_for(services: Any, who: Caller, pack_id: str, model_id: str) -> None:
    rec = next(pilot.generate_batteries(1, seed=1))
    rec.pop("state_of_health")
    serial = pack_id.split(".", 2)[2]
    rec.update(serial_number=serial, model_id=model_id, manufacture_date="2025-01-10")
    rec.pop("putting_into_service_date", None)
    view = services.passports.create_passport(rec, who)
    assert view["passport_id"] == pack_id


def test_publish_writes_versions_and_events_that_verify(services: Any, table: pl.DataFrame) -> None:
    who = operator(services)
    ok = table.filter(pl.col("segment").is_in(list(MODEL)) & pl.col("soh_pct").is_not_null())
    assert ok.height >= 2
    for r in ok.iter_rows(named=True):
        passport_for(services, who, r["pack_id"], MODEL[r["segment"]])
    # a pack whose registry says another design than its passport's model
    other = table.filter(pl.col("segment").is_in(["truck", "bus", "two_wheeler"]) & pl.col("soh_pct").is_not_null()).row(0, named=True)
    passport_for(services, who, other["pack_id"], "EM-NMC811-82")
    # a measurement that cannot be this pack's (30 % of rated): the health service's fit check refuses it
    bad = ok.row(0, named=True)["pack_id"]
    rows = table.with_columns(pl.when(pl.col("pack_id") == bad).then(pl.lit(30.0)).otherwise(pl.col("soh_pct")).alias("soh_pct"))

    res = publish(rows, services, who, batch=3)
    reasons = {r["pack_id"]: r["reason"] for r in res["refusals"]}
    assert res["published"] == ok.height - 1 and res["batches"] == -(-table.height // 3)
    # one report per batch: its packs in pack_id order, the versions written, the events stored in one ledger batch
    assert [b["packs"] for b in res["batch_reports"]] == [sorted(table["pack_id"])[i:i + 3] for i in range(0, table.height, 3)]
    assert sum(b["ledger"]["stored"] for b in res["batch_reports"]) == res["published"]
    assert all(b["state"] == "done" for b in res["batch_reports"])
    assert "outside 40-125 %" in reasons[bad]
    assert "not the same pack design" in reasons[other["pack_id"]]
    no_passport = table.filter(~pl.col("pack_id").is_in([*ok["pack_id"], other["pack_id"]])
                               & pl.col("soh_pct").is_not_null())["pack_id"]
    assert all("no passport" in reasons[p] for p in no_passport)
    no_estimate = table.filter(pl.col("soh_pct").is_null())["pack_id"]
    assert all("no capacity estimate" in reasons[p] for p in no_estimate)
    for p in res["packs"]:
        pid = p["pack_id"]
        row = table.filter(pl.col("pack_id") == pid).row(0, named=True)
        rec = services.passports.get_record(pid)
        assert rec.version == p["version"] == 2
        soh = rec.data["state_of_health"]
        assert soh["soh_capacity_pct"] == pytest.approx(row["soh_pct"], abs=1e-3)
        assert datetime.fromisoformat(soh["measured_at"]) == datetime.fromisoformat(row["measured_at"])
        chain = services.trace.chain(pid)
        assert [e["event"]["kind"] for e in chain] == ["soh_update"] and chain[0]["event"]["actor"] == pilot.AUTOMAKER
        assert chain[0]["event"]["data"]["soh_capacity_pct"] == pytest.approx(row["soh_pct"], abs=1e-3)
        assert services.trace.verify(subject=pid).ok
    assert services.trace.verify().ok  # the whole ledger, as `batteryloop trace verify` checks it

    again = publish(rows, services, who)
    assert again["published"] == 0
    assert all("already holds" in r["reason"] for r in again["refusals"] if r["pack_id"] in {p["pack_id"] for p in res["packs"]})


def test_each_batch_goes_through_the_health_services_batch_write(services: Any, table: pl.DataFrame,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """One write path for a state of health measured elsewhere: every batch is checked by one run of the health
    service's check_soh_many (one read of the passports and of their relations), not by checks of its own."""
    who = operator(services)
    ok = table.filter(pl.col("segment").is_in(list(MODEL)) & pl.col("soh_pct").is_not_null()).sort("pack_id")
    for r in ok.iter_rows(named=True):
        passport_for(services, who, r["pack_id"], MODEL[r["segment"]])
    seen: list[list[str]] = []
    check = services.health.check_soh_many

    def spy(items: Any, *a: Any, **kw: Any) -> Any:
        seen.append(list(items))
        return check(items, *a, **kw)

    monkeypatch.setattr(services.health, "check_soh_many", spy)
    res = publish(ok, services, who, batch=2)
    assert seen == [ok["pack_id"][i:i + 2].to_list() for i in range(0, ok.height, 2)]
    assert res["published"] == ok.height


def test_publish_refuses_a_table_without_the_rights(services: Any, table: pl.DataFrame) -> None:
    who = operator(services)
    r = table.filter(pl.col("segment").is_in(list(MODEL)) & pl.col("soh_pct").is_not_null()).row(0, named=True)
    passport_for(services, who, r["pack_id"], MODEL[r["segment"]])
    stranger = Caller(pilot.RECYCLER_EU, frozenset({Role("recycler")}))
    res = publish(table.filter(pl.col("pack_id") == r["pack_id"]), services, stranger)
    assert res["published"] == 0 and res["refusals"][0]["pack_id"] == r["pack_id"]
    assert services.passports.get_record(r["pack_id"]).version == 1


def events_of(services: Any, pid: str) -> list[str]:
    from batteryloop.errors import NotFound

    try:
        return [e["event"]["kind"] for e in services.trace.chain(pid)]
    except NotFound:
        return []


def test_a_batch_is_written_all_or_nothing(services: Any, table: pl.DataFrame) -> None:
    """A pack refused at write time (its passport was archived: the battery was recycled) rolls its whole batch
    back; the other batches are written."""
    who = operator(services)
    ok = table.filter(pl.col("segment").is_in(list(MODEL)) & pl.col("soh_pct").is_not_null()).sort("pack_id")
    assert ok.height >= 4
    for r in ok.iter_rows(named=True):
        passport_for(services, who, r["pack_id"], MODEL[r["segment"]])
    victim = ok["pack_id"][1]
    services.passports.change_status(victim, "recycle", Caller(None, frozenset(), is_admin=True))
    res = publish(ok, services, who, batch=2)
    first, *rest = res["batch_reports"]
    assert first["packs"] == ok["pack_id"][:2].to_list() and first["ledger"]["stored"] == 0
    reasons = {r["pack_id"]: r["reason"] for r in res["refusals"]}
    assert set(reasons) == set(first["packs"])
    assert "rolled back" in reasons[ok["pack_id"][0]] and "read-only" in reasons[ok["pack_id"][0]]
    assert services.passports.get_record(ok["pack_id"][0]).version == 1  # not written: its batch-mate was refused
    assert events_of(services, ok["pack_id"][0]) == []
    assert res["published"] == ok.height - 2
    assert all(services.passports.get_record(p).version == 2 for p in ok["pack_id"][2:])


def test_publishing_resumes_from_its_journal(services: Any, table: pl.DataFrame, tmp_path: Any) -> None:
    """A run stopped after its first batch, then one whose node lacks the signing key (versions written, events
    pending), then the full run: every pack ends with exactly one new version and one signed event."""
    signer = Signer.generate(pilot.AUTOMAKER)
    p = next(p for p in pilot.PARTICIPANTS if p["id"] == pilot.AUTOMAKER)
    services.participants.create({**p, "public_key": signer.public_key_text})
    who = Caller(pilot.AUTOMAKER, frozenset(Role(r) for r in p["roles"]))
    for m in pilot.battery_models():
        services.passports.create_model(m, who)
    ok = table.filter(pl.col("segment").is_in(list(MODEL)) & pl.col("soh_pct").is_not_null()).sort("pack_id")
    assert ok.height >= 3
    for r in ok.iter_rows(named=True):
        passport_for(services, who, r["pack_id"], MODEL[r["segment"]])
    journal = tmp_path / "j.jsonl"

    class Stop(Exception):
        pass

    def stop_after_first(rep: dict[str, Any]) -> None:
        raise Stop

    # no key on this node yet: batch 1's versions are written, its events are not; the run is stopped there
    with pytest.raises(Stop):
        publish(ok, services, who, batch=2, journal=journal, on_batch=stop_after_first)
    [line] = journal.read_text().splitlines()
    assert '"state":"versions_written"' in line
    assert services.passports.get_record(ok["pack_id"][0]).version == 2 and events_of(services, ok["pack_id"][0]) == []
    services.keys.save(signer)
    res = publish(ok, services, who, batch=2, journal=journal)
    assert res["published"] == ok.height and res["refused"] == 0
    assert all(b["state"] == "done" for b in res["batch_reports"])
    for pid in ok["pack_id"]:
        assert services.passports.get_record(pid).version == 2
        assert [e["event"]["kind"] for e in services.trace.chain(pid)] == ["soh_update"]
    assert services.trace.verify().ok
    again = publish(ok, services, who, batch=2, journal=journal)  # everything done: nothing re-read or written
    assert again["resumed_batches"] == again["batches"] and again["published"] == ok.height
    assert all(services.passports.get_record(pid).version == 2 for pid in ok["pack_id"])
    with pytest.raises(ValueError, match="other packs"):
        publish(ok, services, who, batch=1, journal=journal)
