"""Passport versions: the hash chain verifies, and any change to a stored version is detected."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from batteryloop.passport.versions import diff
from batteryloop.sim import pilot
from batteryloop.store.tables import passport_versions


def _issue(svc: Any) -> tuple[str, Any]:
    op = svc.pilot["callers"][pilot.AUTOMAKER]
    pid = svc.passports.create_passport(next(pilot.generate_batteries(1, seed=11)), op)["passport_id"]
    svc.passports.update_passport(pid, {"state_of_health": {"soh_capacity_pct": 91.5}}, op, reason="BMS")
    svc.passports.update_passport(pid, {"usage": {"deep_discharge_events": 4}}, op, reason="BMS")
    return pid, op


def test_chain_verifies_and_diff_names_fields(pilot_services: Any) -> None:
    pid, op = _issue(pilot_services)
    svc = pilot_services.passports
    hist = svc.history(pid)
    assert [h["version"] for h in hist] == [1, 2, 3]
    assert hist[1]["prev_hash"] == hist[0]["hash"] and hist[2]["prev_hash"] == hist[1]["hash"]
    assert svc.verify(pid) == {"passport_id": pid, "versions": 3, "ok": True, "problems": []}
    d = svc.diff(pid, 1, 3, op)["changes"]
    fields = {c["field"]: c for c in d}
    assert fields["state_of_health.soh_capacity_pct"]["new"] == 91.5
    assert fields["usage.deep_discharge_events"]["new"] == 4
    assert len(d) == 2


def _tamper(store: Any, stmt: Any) -> None:
    with store.write() as conn:
        conn.execute(stmt)


def test_changed_content_is_detected(pilot_services: Any) -> None:
    pid, _ = _issue(pilot_services)
    store = pilot_services.store
    with store.read() as conn:
        data = conn.execute(select(passport_versions.c.data).where(
            passport_versions.c.passport_id == pid, passport_versions.c.version == 2)).scalar_one()
    _tamper(store, update(passport_versions).where(passport_versions.c.passport_id == pid,
                                                   passport_versions.c.version == 2)
            .values(data=data.replace("91.5", "99.5")))
    res = pilot_services.passports.verify(pid)
    assert not res["ok"]
    assert res["problems"][0]["version"] == 2 and "altered" in res["problems"][0]["reason"]


def test_removed_version_and_relinked_chain_detected(pilot_services: Any) -> None:
    pid, _ = _issue(pilot_services)
    store = pilot_services.store
    _tamper(store, delete(passport_versions).where(passport_versions.c.passport_id == pid,
                                                   passport_versions.c.version == 2))
    res = pilot_services.passports.verify(pid)
    assert not res["ok"] and any("expected version 2" in p["reason"] for p in res["problems"])


def test_changed_author_detected(pilot_services: Any) -> None:
    pid, _ = _issue(pilot_services)
    _tamper(pilot_services.store, update(passport_versions).where(
        passport_versions.c.passport_id == pid, passport_versions.c.version == 1).values(author_id=pilot.RECYCLER_EU))
    res = pilot_services.passports.verify(pid)
    assert [p["version"] for p in res["problems"]][0] == 1


def test_diff_function() -> None:
    a = {"x": 1, "n": {"a": 1, "b": [1, 2]}, "gone": True}
    b = {"x": 2, "n": {"a": 1, "b": [1, 3]}, "new": "y"}
    changes = {c["field"]: c["change"] for c in diff(a, b)}
    assert changes == {"x": "changed", "n.b": "changed", "gone": "removed", "new": "added"}


def test_bulk_update_is_all_or_nothing_with_the_single_update_rules(pilot_services: Any) -> None:
    import pytest

    from batteryloop.errors import Conflict, Forbidden, InvalidData

    svc = pilot_services.passports
    a, op = _issue(pilot_services)
    b = svc.create_passport(dict(next(pilot.generate_batteries(1, seed=31)), serial_number="BULK-2"), op)["passport_id"]
    patch = {"state_of_health": {"soh_capacity_pct": 91.5}}
    before = {p: svc.get_record(p).version for p in (a, b)}
    written = svc.update_passports({a: patch, b: patch}, op, reason="BMS report")
    assert written == {p: v + 1 for p, v in before.items()} == {p: svc.get_record(p).version for p in (a, b)}
    assert [svc.get_record(p).data["state_of_health"]["soh_capacity_pct"] for p in (a, b)] == [91.5, 91.5]
    assert svc.history(a)[-1]["reason"] == "BMS report" and svc.verify(a)["ok"] and svc.verify(b)["ok"]
    versions = [svc.get_record(p).version for p in (a, b)]
    # an immutable field is refused before anything is written, naming the passport and the field
    with pytest.raises(InvalidData, match=f"passport {b}: status cannot be changed by an update"):
        svc.update_passports({a: patch, b: {"status": "waste"}}, op)
    # a caller who may not write them is refused
    recycler = pilot_services.pilot["callers"][pilot.RECYCLER_EU]
    with pytest.raises(Forbidden):
        svc.update_passports({a: {"state_of_health": {"soh_capacity_pct": 80.0}}}, recycler)
    assert [svc.get_record(p).version for p in (a, b)] == versions
    # one read-only passport (recycled, archived) late in the batch rolls back the writable one before it
    svc.change_status(b, "waste", op)
    svc.change_status(b, "recycle", op)  # the operator (it holds the pack)
    versions = [svc.get_record(p).version for p in (a, b)]
    with pytest.raises(Conflict, match=f"passport {b} is read-only"):
        svc.update_passports({a: {"state_of_health": {"soh_capacity_pct": 80.0}}, b: patch}, op)
    assert [svc.get_record(p).version for p in (a, b)] == versions
    assert svc.get_record(a).data["state_of_health"]["soh_capacity_pct"] == 91.5


def test_batch_update_in_worker_processes_stores_what_the_serial_one_does(pilot_services: Any, monkeypatch: Any) -> None:
    """``update_passports`` with a process pool builds the versions (merge patch, validation, hash) in its workers:
    the versions stored are those the serial path stores (content, reason, author, chain); who may write is
    still decided, and a bad patch still names its passport and stores nothing."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    import pytest

    from batteryloop.access import Caller
    from batteryloop.errors import Forbidden, InvalidData
    from batteryloop.passport import service as passport_service

    monkeypatch.setattr(passport_service, "PARALLEL_VERSIONS_FROM", 10)
    svc = pilot_services.passports
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    recs = list(pilot.generate_batteries(40, seed=23))
    a = svc.import_passports([{**r, "serial_number": f"{r['serial_number']}A"} for r in recs], op).ids
    b = svc.import_passports([{**r, "serial_number": f"{r['serial_number']}B"} for r in recs], op).ids
    patch = [{"state_of_health": {"soh_capacity_pct": 90.0 - k / 10}, "usage": {"deep_discharge_events": k}}
             for k in range(40)]
    ctx = mp.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        serial = svc.update_passports(dict(zip(a, patch)), op, reason="BMS 2026")
        parallel = svc.update_passports(dict(zip(b, patch)), op, reason="BMS 2026", executor=pool)
        assert len(serial) == len(parallel) == 40 and set(serial.values()) == set(parallel.values()) == {2}
        bad = {pid: p for pid, p in zip(b, patch)}
        bad[b[17]] = {"state_of_health": {"soh_capacity_pct": "ninety"}}
        with pytest.raises(InvalidData) as exc:
            svc.update_passports(bad, op, reason="BMS 2027", executor=pool)
        assert b[17] in exc.value.detail
        with pytest.raises(Forbidden):
            svc.update_passports(dict(zip(b, patch)), Caller(pilot.RECYCLER_EU, frozenset()), executor=pool)

    def stored(pid: str) -> list[tuple[Any, ...]]:
        out = []
        for h in svc.history(pid):
            v = svc.version_view(pid, h["version"], op)
            battery = {k: x for k, x in v["battery"].items() if k not in ("passport_id", "serial_number")}
            out.append((h["version"], h["reason"], h.get("author_id"), battery))
        return out

    for pa, pb in zip(a, b):
        sa, sb = stored(pa), stored(pb)
        assert [x[1] for x in sa] == ["issued", "BMS 2026"]
        assert sa == sb
        assert svc.verify(pb)["ok"]


def test_batch_update_in_parts_ahead_keeps_the_order_of_refusals(pilot_services: Any, monkeypatch: Any) -> None:
    """In parallel, the next part is read, checked and sent to the workers before this one's versions are awaited:
    the versions stored are the serial path's, and the refusal raised is still the first in the batch's order
    (a bad patch in the first part before a read-only passport in the second; a missing passport in the last
    part), with nothing stored."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    import pytest

    from batteryloop.errors import Conflict, InvalidData, NotFound
    from batteryloop.passport import service as passport_service

    monkeypatch.setattr(passport_service, "PARALLEL_VERSIONS_FROM", 10)
    monkeypatch.setattr(passport_service, "PARALLEL_VERSIONS_PART", 10)
    svc = pilot_services.passports
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    recs = list(pilot.generate_batteries(35, seed=29))
    a = svc.import_passports([{**r, "serial_number": f"{r['serial_number']}P"} for r in recs], op).ids
    b = svc.import_passports([{**r, "serial_number": f"{r['serial_number']}Q"} for r in recs], op).ids
    patch = [{"state_of_health": {"soh_capacity_pct": 88.0 - k / 10}} for k in range(35)]
    ctx = mp.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        serial = svc.update_passports(dict(zip(a, patch)), op, reason="BMS 2026")
        before = {pid: svc.get_record(pid).version for pid in b}
        bad = dict(zip(b, patch))
        bad[b[3]] = {"state_of_health": {"soh_capacity_pct": "ninety"}}  # part 1
        with monkeypatch.context() as m:  # b[14], in part 2, read-only for these two calls
            m.setattr(passport_service, "_check_writable", _refusing(passport_service._check_writable, b[14]))
            with pytest.raises(InvalidData) as exc:  # part 1's bad patch, not part 2's read-only passport
                svc.update_passports(bad, op, reason="BMS 2027", executor=pool)
            assert b[3] in exc.value.detail
            with pytest.raises(Conflict, match=b[14]):  # without the bad patch: part 2's refusal
                svc.update_passports(dict(zip(b, patch)), op, reason="BMS 2027", executor=pool)
        with pytest.raises(NotFound, match="no passport"):
            svc.update_passports({**dict(zip(b, patch)), "BL.NOPE.X-1": patch[0]}, op, executor=pool)
        assert {pid: svc.get_record(pid).version for pid in b} == before  # nothing stored by the refused batches
        calls: list[str] = []
        real_find, real_update = passport_service.find_records, passport_service.passport_repo.update_current_many
        monkeypatch.setattr(passport_service, "find_records", lambda *a, **k: calls.append("read") or real_find(*a, **k))
        monkeypatch.setattr(passport_service.passport_repo, "update_current_many",
                            lambda *a, **k: calls.append("write") or real_update(*a, **k))
        parallel = svc.update_passports(dict(zip(b, patch)), op, reason="BMS 2026", executor=pool)
    assert calls == ["read", "read", "write", "read", "write", "read", "write", "write"]  # each part read ahead
    assert len(parallel) == len(serial) == 35
    for pa, pb in zip(a, b):
        da = {k: v for k, v in svc.get_record(pa).data.items() if k not in ("passport_id", "serial_number", "status")}
        db = {k: v for k, v in svc.get_record(pb).data.items() if k not in ("passport_id", "serial_number", "status")}
        assert da == db


def _refusing(check: Any, read_only: str) -> Any:
    from batteryloop.errors import Conflict

    def refuse(rec: Any, *args: Any, **kw: Any) -> None:
        if rec.id == read_only:
            raise Conflict(f"passport {rec.id} is read-only (test)")
        check(rec, *args, **kw)

    return refuse


def test_import_in_worker_processes_stores_and_refuses_as_the_serial_one(pilot_services: Any, monkeypatch: Any) -> None:
    """``import_passports`` with a process pool validates the records and builds their rows in its workers:
    it stores what the serial import stores (rows and first versions), and refuses with the same report —
    an invalid record, one whose given id names another issuer, one the caller may not issue, a duplicate —
    storing nothing."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from batteryloop.access import Caller
    from batteryloop.passport import service as passport_service

    monkeypatch.setattr(passport_service, "PARALLEL_VERSIONS_FROM", 10)
    svc = pilot_services.passports
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    recs = list(pilot.generate_batteries(30, seed=31))
    serial_recs = [{**r, "serial_number": f"{r['serial_number']}S"} for r in recs]
    par_recs = [{**r, "serial_number": f"{r['serial_number']}W"} for r in recs]
    par_recs[4] = {**par_recs[4], "passport_id": f"BL.BPNL000000000EM1.{par_recs[4]['serial_number']}"}  # given id
    serial_recs[4] = {**serial_recs[4], "passport_id": f"BL.BPNL000000000EM1.{serial_recs[4]['serial_number']}"}

    bad = [dict(r) for r in par_recs]
    bad[3]["mass_kg"] = "heavy"  # invalid
    bad[9] = {**bad[9], "passport_id": f"BL.BPNLOTHERCOMPANY1.{bad[9]['serial_number']}"}  # another issuer
    bad[17] = dict(bad[16])  # a duplicate
    ctx = mp.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        sent: list[int] = []
        real_submit = pool.submit
        monkeypatch.setattr(pool, "submit", lambda fn, *a: (fn is passport_service._issued_rows and sent.append(len(a[0])))
                            or real_submit(fn, *a))
        want = svc.import_passports([dict(r) for r in bad], op)
        assert not sent
        got = svc.import_passports([dict(r) for r in bad], op, executor=pool)
        assert got.errors == want.errors and len(got.errors) == 3 and got.stored == 0 and not got.ids
        assert [e["index"] for e in got.errors] == [3, 9, 17]
        other = Caller(pilot.RECYCLER_EU, frozenset({"recycler"}))
        want = svc.import_passports([dict(r) for r in par_recs], other)
        got = svc.import_passports([dict(r) for r in par_recs], other, executor=pool)
        assert got.errors == want.errors and got.errors and got.stored == 0
        serial = svc.import_passports(serial_recs, op)
        parallel = svc.import_passports(par_recs, op, executor=pool)
    assert sent and sum(sent) == 3 * 30  # built in the workers, three batches of 30
    assert serial.stored == parallel.stored == 30 and not parallel.errors
    assert parallel.ids[4] == par_recs[4]["passport_id"]
    for sa, pa in zip(serial.ids, parallel.ids):
        ra, rb = svc.get_record(sa), svc.get_record(pa)
        assert (ra.version, ra.status, ra.economic_operator_id, ra.model_id) == (rb.version, rb.status,
                                                                                 rb.economic_operator_id, rb.model_id)
        da = {k: v for k, v in ra.data.items() if k not in ("passport_id", "serial_number")}
        db = {k: v for k, v in rb.data.items() if k not in ("passport_id", "serial_number")}
        assert da == db
        assert [h["reason"] for h in svc.history(pa)] == ["issued"] and svc.verify(pa)["ok"]
