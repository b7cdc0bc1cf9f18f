"""The ledger service's contract, refusal by refusal and check by check.

Every refusal names the event and what is wrong (the field, the rule, the actor or the subject); every
verification problem names the event, the subject and the position. The ledger is the signed,
hash-chained record of REFERENCE.md: an event is appended only when signed by its registered actor and
linked to the head of every chain it joins; verification finds each later change to the stored rows.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import delete, func, insert, select, update

from batteryloop.access import Caller
from batteryloop.identity import ParticipantService
from batteryloop.errors import Conflict, Forbidden, InvalidData, NotFound
from batteryloop.sim import pilot
from batteryloop.sim import supply_chain as sim
from batteryloop.store.db import Store
from batteryloop.store.tables import participants
from batteryloop.store.trace_tables import trace_chain, trace_custody, trace_events, trace_lots
from batteryloop.trace.canonical import GENESIS
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.events import seal
from batteryloop.trace.keys import Signer, b64url_encode
from batteryloop.sim.supply_chain import all_participants, demo_signers
from batteryloop.trace.ledger import (
    IngestReport,
    Ledger,
    StaleChain,
    SubmitResult,
    _chunks,
    _date_text,
    _error_report,
)

from .test_ledger import EM, PACK, soh
from .test_queries import ev, out, small_graph, use_events


def rules(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.rule for p in report.problems]


# ------------------------------------------------------------------------------ a fast store
# The conftest's SQLite store runs the migrations and registers the participants for every test (about 0.2 s);
# mutation testing runs these tests once per mutant, so here the migrated and registered database is built
# once per module and copied for each test. The PostgreSQL pass is unchanged.


def _register(store: Store) -> ParticipantService:
    svc = ParticipantService(store)
    signers = demo_signers()
    for p in all_participants():
        svc.create({**p, "public_key": None if p["id"] == pilot.AUTHORITY else signers[p["id"]].public_key_text})
    return svc


@pytest.fixture(scope="module")
def _template(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("ledger-template") / "t.db"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    _register(store)
    store.dispose()
    return path


@pytest.fixture
def sqlite_store(request, tmp_path, _template) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    if os.environ.get("BATTERYLOOP_TEST_STORE") == "postgresql":
        yield request.getfixturevalue("pg_store")
        return
    shutil.copyfile(_template, tmp_path / "t.db")
    store = Store(f"sqlite:///{tmp_path}/t.db")
    yield store
    store.dispose()


@pytest.fixture
def registry(store: Store) -> ParticipantService:
    """The participants of the conftest's registry (already in the copied SQLite template)."""
    with store.read() as c:
        registered = c.execute(select(func.count()).select_from(participants)).scalar_one()
    return ParticipantService(store) if registered else _register(store)


# ------------------------------------------------------------------------------ pure helpers


def test_helpers() -> None:
    assert _date_text(None) is None
    assert _date_text(dt.date(2026, 3, 4)) == "2026-03-04T00:00:00.000000Z"
    assert _date_text(dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)) == "2026-03-04T00:00:00.000000Z"
    assert _date_text("2026-03-04") == "2026-03-04T00:00:00.000000Z"
    items = [str(i) for i in range(1201)]
    assert [len(c) for c in _chunks(items)] == [500, 500, 201]
    assert [c for c in _chunks(items[:3], size=2)] == [["0", "1"], ["2"]]
    assert list(_chunks([])) == []
    assert IngestReport(received=3, stored=2, duplicates=1, seconds=0.123456).as_dict() == {
        "received": 3, "stored": 2, "duplicates": 1, "ok": True, "error": None, "seconds": 0.1235}
    assert SubmitResult("e", "h", "stored").gseq is None


def test_error_report_names_index_line_event_and_errors() -> None:
    exc = InvalidData("bad thing", [{"field": "f", "rule": "r", "message": "m", "value": None}])
    assert _error_report(4, exc, {"id": "ev-9"}) == {
        "index": 4, "line": 5, "event_id": "ev-9", "type": "InvalidData", "detail": "bad thing",
        "errors": [{"field": "f", "rule": "r", "message": "m", "value": None}]}
    plain = _error_report(0, ValueError("boom"), "not a mapping")
    assert plain == {"index": 0, "line": 1, "event_id": None, "type": "ValueError", "detail": "boom"}
    assert "errors" not in _error_report(0, InvalidData("x", []), None)


# ------------------------------------------------------------------------------ admission


def test_refusals_name_event_actor_and_rule(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    wire = ChainWriter(signers).wire(soh(0))
    eid = wire["id"]
    with pytest.raises(Forbidden, match=f"event {eid}: {pilot.RECYCLER_EU} may not submit events whose actor is {EM}"):
        ledger.admit(wire, Caller(participant_id=pilot.RECYCLER_EU))
    with pytest.raises(Forbidden, match="an anonymous caller may not submit"):
        ledger.admit(wire, Caller(participant_id=None))
    # an administrator may submit for anyone
    assert ledger.admit(wire, Caller(is_admin=True)).hash
    for sig in (None, "", 42):
        with pytest.raises(InvalidData, match=f"event {eid}: signature is missing") as e:
            ledger.admit({**wire, "signature": sig})
        assert e.value.errors[0]["field"] == "signature" and e.value.errors[0]["rule"] == "required"
        assert e.value.extra["event_id"] == eid
    forged = b64url_encode(bytes(64))
    with pytest.raises(InvalidData) as e:
        ledger.admit({**wire, "signature": forged})
    err = e.value.errors[0]
    assert (err["field"], err["rule"], err["value"]) == ("signature", "signature_valid", forged[:20])
    assert f"registered key of {EM}" in e.value.detail and e.value.extra["event_id"] == eid
    sealed = seal({k: v for k, v in wire.items() if k != "signature"}, signers[EM])
    assert sealed.hash[:16] in e.value.detail


def test_unknown_and_keyless_actors(ledger: Ledger) -> None:
    stranger = Signer.generate("BPNL0000000000X1")
    wire = seal({**soh(0, actor=stranger.participant_id), "prev": {PACK: GENESIS}}, stranger).to_wire()
    with pytest.raises(InvalidData, match="actor BPNL0000000000X1 is not in the participant registry") as e:
        ledger.admit(wire)
    err = e.value.errors[0]
    assert (err["field"], err["rule"], err["value"]) == ("actor", "registered", "BPNL0000000000X1")
    assert e.value.extra["event_id"] == wire["id"]
    keyless = Signer.generate(pilot.AUTHORITY)
    wire = seal({**soh(0, actor=pilot.AUTHORITY), "prev": {PACK: GENESIS}}, keyless).to_wire()
    with pytest.raises(InvalidData, match=f"actor {pilot.AUTHORITY} has no public key") as e:
        ledger.admit(wire)
    err = e.value.errors[0]
    assert (err["field"], err["rule"], err["value"]) == ("actor", "public_key", pilot.AUTHORITY)
    assert pilot.AUTHORITY in err["message"] and e.value.extra["event_id"] == wire["id"]


def test_public_key_lookup_and_cache(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    assert ledger.public_key("BPNL0000000000X1") is None
    assert ledger.public_key(pilot.AUTHORITY) is False
    key = ledger.public_key(EM)
    assert key.public_bytes_raw() == signers[EM].private_key.public_key().public_bytes_raw()  # type: ignore[union-attr]
    # a key changed in the registry: the cached one is used until the cache is dropped (or expires)
    with store.write() as c:
        c.execute(update(participants).where(participants.c.id == EM).values(public_key="not base64 !!"))
    assert ledger.public_key(EM) is key
    ledger.forget_keys()
    assert ledger.public_key(EM) is False  # unreadable: no usable key
    with store.write() as c:
        c.execute(update(participants).where(participants.c.id == EM).values(public_key=b64url_encode(bytes(5))))
    assert ledger.public_key(EM) is False  # cached
    assert Ledger(store, key_cache_seconds=0).public_key(EM) is False  # wrong length: no usable key
    keys = ledger.registry_keys()
    assert keys[EM] is False and keys[pilot.AUTHORITY] is False
    assert keys[pilot.RECYCLER_EU].public_bytes_raw() == signers[pilot.RECYCLER_EU].private_key.public_key().public_bytes_raw()  # type: ignore[union-attr]
    assert "BPNL0000000000X1" not in keys


def test_key_cache_expires(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    lg = Ledger(store, key_cache_seconds=0.0)
    assert lg.public_key(EM) is not False
    with store.write() as c:
        c.execute(update(participants).where(participants.c.id == EM).values(public_key=None))
    assert lg.public_key(EM) is False
    long = Ledger(store, key_cache_seconds=3600)
    assert long.public_key(pilot.RECYCLER_EU) is not None


def test_max_future_seconds_setting(store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BATTERYLOOP_TRACE_MAX_FUTURE_SECONDS", raising=False)
    assert Ledger(store).max_future_seconds == 300.0
    monkeypatch.setenv("BATTERYLOOP_TRACE_MAX_FUTURE_SECONDS", "12")
    assert Ledger(store).max_future_seconds == 12.0
    assert Ledger(store, max_future_seconds=0).max_future_seconds == 0.0


# ------------------------------------------------------------------------------ appending


def test_submit_results_and_reads(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    results = [ledger.submit(w.wire(soh(i))) for i in range(3)]
    assert [r.gseq for r in results] == [1, 2, 3] and {r.status for r in results} == {"stored"}
    assert [r.event_id for r in results] == [f"{PACK}-soh-{i}" for i in range(3)]
    dup = ledger.submit(w.wire(soh(2)) | {"prev": {PACK: results[1].hash}, "signature": None} | {
        "signature": seal({**soh(2), "prev": {PACK: results[1].hash}}, signers[EM]).signature})
    assert (dup.status, dup.hash, dup.gseq) == ("duplicate", results[2].hash, None)
    got = ledger.get_event(f"{PACK}-soh-1")
    assert got["hash"] == results[1].hash and got["gseq"] == 2 and got["recorded_at"]
    assert got["event"]["signature"] and got["event"]["prev"] == {PACK: results[0].hash}
    assert ledger.heads([PACK, "NEW-SUBJECT"]) == {PACK: results[2].hash, "NEW-SUBJECT": GENESIS}
    chain = ledger.chain(PACK)
    assert [(c["seq"], c["hash"]) for c in chain] == [(i + 1, r.hash) for i, r in enumerate(results)]
    assert all(c["event"]["signature"] for c in chain)
    # every event in store order, in pages
    for page in (1, 2, 5000):
        evs = list(ledger.iter_events(batch=page))
        assert [e["id"] for e in evs] == [r.event_id for r in results]
        assert all(e["signature"] for e in evs)
    with pytest.raises(NotFound, match="no event with id 'nope'"):
        ledger.get_event("nope")
    with pytest.raises(NotFound, match="no events for subject 'nope'"):
        ledger.chain("nope")
    with pytest.raises(NotFound, match="no event with id 'nope'"):
        ledger.verify_event("nope")
    with pytest.raises(NotFound, match="no events for subject 'nope'"):
        ledger.verify_chain("nope")


def test_conflict_and_stale_chain_messages(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    first = ledger.submit(w.wire(soh(0)))
    other = ChainWriter(signers).wire({**soh(0), "data": {"soh_capacity_pct": 42.0}})
    with pytest.raises(Conflict, match=f"event {PACK}-soh-0 is already stored with other content") as e:
        ledger.submit(other)
    assert first.hash[:16] in e.value.detail and e.value.extra["event_id"] == f"{PACK}-soh-0"
    assert "never reused" in e.value.detail
    stale = ChainWriter(signers).wire(soh(1))
    with pytest.raises(StaleChain) as e:
        ledger.submit(stale)
    assert e.value.extra == {"event_id": f"{PACK}-soh-1", "subject": PACK, "head_seq": 1, "head_hash": first.hash}
    assert f"prev[{PACK}] is {GENESIS[:16]}" in e.value.detail and "position 1" in e.value.detail
    assert first.hash[:16] in e.value.detail and "re-sign" in e.value.detail


def test_record_signs_against_the_current_heads(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    a = ledger.record({**soh(0), "prev": {"x": "y"}, "signature": "old"}, signers[EM])
    b = ledger.record(soh(1), signers[EM])
    assert (a.status, b.status) == ("stored", "stored")
    assert ledger.get_event(b.event_id)["event"]["prev"] == {PACK: a.hash}
    with pytest.raises(RuntimeError, match="^unreachable$"):
        ledger.record(soh(2), signers[EM], attempts=0)


def test_record_retries_when_beaten(ledger: Ledger, signers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Another writer appends between our read of the head and our append: record re-reads and re-signs."""
    ledger.submit(ChainWriter(signers).wire(soh(0)))
    real_heads = ledger.heads
    calls: list[int] = []

    def stale_heads(subjects, conn=None):  # type: ignore[no-untyped-def]
        if conn is None:
            calls.append(1)
        return {s: GENESIS for s in subjects} if len(calls) == 1 else real_heads(subjects, conn)

    monkeypatch.setattr(ledger, "heads", stale_heads)
    assert ledger.record(soh(1), signers[EM]).status == "stored"
    assert len(calls) == 2
    calls.clear()
    monkeypatch.setattr(ledger, "heads", lambda subjects, conn=None: {s: GENESIS for s in subjects})
    with pytest.raises(StaleChain):
        ledger.record(soh(2), signers[EM], attempts=2)


def test_lot_refusals(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph()[:8]]).ok
    again = ev(40, "extraction", sim.MINE_CL, "CL", "Atacama",
               outputs=[out("ore-li", "ore", 10, {"Li": 1}, {"type": "primary", "country": "CL", "site": "Atacama"})])
    with pytest.raises(InvalidData, match="event e40: ore-li is not a new lot id"):
        ledger.submit(ChainWriter(signers, ledger.heads(["ore-li"])).wire(again))
    fake = ev(41, "material_recovery", pilot.RECYCLER_EU, "DE", "Magdeburg",
              outputs=[out("ok-rec", "material", 10, {"Co": 2}, {"type": "post_consumer", "country": "DE",
                                                                 "site": "M", "certified_by": pilot.RECYCLER_EU}),
                       out("bad-rec", "material", 10, {"Co": 2}, {"type": "post_consumer", "country": "DE",
                                                                  "site": "M", "certified_by": sim.CAM_KR})])
    with pytest.raises(InvalidData, match=f"event e41: {sim.CAM_KR} is not the event's actor {pilot.RECYCLER_EU}") as e:
        ledger.submit(ChainWriter(signers).wire(fake))
    err = e.value.errors[0]
    assert (err["field"], err["rule"], err["value"]) == ("outputs[1].origin.certified_by", "certified_by_actor", sim.CAM_KR)
    assert f"set certified_by to {pilot.RECYCLER_EU}" in e.value.detail
    two = ev(42, "cathode_production", sim.CAM_KR, "KR", "G", inputs=[{"lot": "li2co3", "mass_kg": 500},
                                                                      {"lot": "coso4", "mass_kg": 500}],
             outputs=[out("x1", "material", 50, {"Li": 1})])
    with pytest.raises(InvalidData, match=r"event e42: .*\(and 1 more\)") as e:
        ledger.submit(ChainWriter(signers, ledger.heads(["li2co3", "coso4"])).wire(two))
    assert len(e.value.errors) == 2
    one = ev(43, "cathode_production", sim.CAM_KR, "KR", "G", inputs=[{"lot": "li2co3", "mass_kg": 500}],
             outputs=[out("x1", "material", 50, {"Li": 1})])
    with pytest.raises(InvalidData) as e:
        ledger.submit(ChainWriter(signers, ledger.heads(["li2co3"])).wire(one))
    assert "more)" not in e.value.detail and e.value.detail.startswith("event e43: ")


def test_a_pack_records_its_sources_and_custody(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """The small graph in one batch and again event by event give the same lots, consumption and custody."""
    from batteryloop.store import ledger as repo

    w = ChainWriter(signers)
    wires = [w.wire(e) for e in small_graph() + use_events()]
    rep = ledger.ingest(wires)
    assert rep.ok and rep.stored == len(wires) and rep.received == len(wires) and rep.duplicates == 0
    assert ledger.verify_derived().ok and ledger.verify_store().ok and ledger.verify_policy().ok
    with store.read() as c:
        lots, edges, sources, custody = repo.derived_tables(c)
    assert lots["li2co3"]["consumed_kg"] == 50 and lots["cam1"]["consumed_kg"] == 150
    assert lots["ore-li"]["consumed_kg"] == 1000 and lots["P1"]["consumed_kg"] == 0
    assert {k for k in sources if k[1] == "P1"} == {("cb1", "P1"), ("m1", "P1")} or sources
    assert custody["P1"]["holder"] == pilot.BAAS and custody["P1"]["country"] == "UA"
    assert custody["P1"]["last_event_id"] == "e13" and custody["P1"]["last_kind"] == "transport"
    assert custody["P2"]["status"] == "exported" and custody["P2"]["exported_to"] == "NG"
    assert custody["P2"]["holder"] == pilot.RECYCLER_EU
    assert custody["m1"]["holder"] == pilot.CELL_KR and custody["m1"]["status"] == "new"


def test_same_state_one_by_one_as_in_a_batch(ledger: Ledger, signers, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from batteryloop.store import ledger as repo
    from batteryloop.store.db import Store

    w = ChainWriter(signers)
    wires = [w.wire(e) for e in small_graph() + use_events()]
    for wire in wires:
        assert ledger.submit(wire).status == "stored"
    other = Store(f"sqlite:///{tmp_path}/other.db")
    other.upgrade()
    try:
        from batteryloop.identity import ParticipantService
        from batteryloop.sim.supply_chain import all_participants

        svc = ParticipantService(other)
        for p in all_participants():
            svc.create({**p, "public_key": None if p["id"] == pilot.AUTHORITY else signers[p["id"]].public_key_text})
        batch = Ledger(other)
        assert batch.ingest(wires, chunk=3).ok
        with store.read() as c1, other.read() as c2:
            a, b = repo.derived_tables(c1), repo.derived_tables(c2)
        assert a == b
        assert ledger.verify_store().checkpoint["digest"] == batch.verify_store().checkpoint["digest"]
    finally:
        other.dispose()


def test_ingest_reports(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    wires = [w.wire(soh(i)) for i in range(4)]
    rep = ledger.ingest(iter(wires[:2]))  # any iterable
    assert rep.ok and (rep.received, rep.stored, rep.duplicates) == (2, 2, 0) and rep.seconds > 0
    texts = [orjson.dumps(x).decode() for x in wires]
    rep = ledger.ingest(texts, workers=None)
    assert rep.ok and (rep.received, rep.stored, rep.duplicates) == (4, 2, 2)
    more = [w.wire(soh(i)) for i in range(4, 8)]
    rep = ledger.ingest(more, Caller(participant_id=pilot.RECYCLER_EU))
    assert not rep.ok and rep.error["type"] == "Forbidden" and rep.error["index"] == 0
    assert rep.error["event_id"] == f"{PACK}-soh-4" and rep.seconds > 0 and rep.stored == 0
    bad = [orjson.dumps(more[0]), b"{oops", orjson.dumps(more[1])]
    rep = ledger.ingest(bad)
    assert not rep.ok and rep.error["index"] == 1 and rep.error["line"] == 2 and rep.error["event_id"] is None
    assert rep.error["errors"][0]["field"] == "(line)" and "line 2 is not JSON" in rep.error["detail"]
    bad = [more[0], {**more[1], "signature": b64url_encode(bytes(64))}]
    rep = ledger.ingest([orjson.dumps(x) for x in bad])
    assert rep.error["event_id"] == f"{PACK}-soh-5" and rep.error["index"] == 1
    rep = ledger.ingest(more, chunk=1)
    assert rep.ok and rep.stored == 4
    assert [c["seq"] for c in ledger.chain(PACK)] == list(range(1, 9))


# ------------------------------------------------------------------------------ verification


@pytest.fixture
def three(ledger: Ledger, signers) -> Ledger:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    for i in range(3):
        ledger.submit(w.wire(soh(i)))
    ledger.submit(w.wire({**soh(3), "subjects": [PACK, "PACK-T-0002"]}))
    return ledger


def test_verify_event_of_an_honest_store(three: Ledger) -> None:
    rep = three.verify_event(f"{PACK}-soh-3")
    assert rep.ok and rep.events_checked == 1 and rep.links_checked == 2 and rep.scope == f"event {PACK}-soh-3"
    rep = three.verify_chain(PACK)
    assert rep.ok and rep.events_checked == 4 and rep.links_checked == 4 and rep.scope == f"chain {PACK}"
    rep = three.verify_store()
    assert rep.ok and rep.events_checked == 4 and rep.links_checked == 5 and rep.scope == "store"
    assert rep.checkpoint["events"] == 4 and rep.checkpoint["last_gseq"] == 4


def test_verify_event_finds_each_broken_link(three: Ledger, store) -> None:
    eid = f"{PACK}-soh-2"
    head1 = three.chain(PACK)[1]["hash"]
    with store.write() as c:
        c.execute(update(trace_chain).where(trace_chain.c.event_id == eid).values(prev_hash="ab" * 32,
                                                                                   event_hash="cd" * 32))
    rep = three.verify_event(eid)
    assert rules(rep) == ["prev_mismatch", "link_hash_mismatch", "link_not_signed"]
    assert all(p.subject == PACK and p.seq == 3 and p.event_id == eid for p in rep.problems)
    assert "abababababababab" in rep.problems[0].message and head1[:16] in rep.problems[0].message
    assert "cdcdcdcdcdcdcdcd" in rep.problems[1].message
    assert "not the prev the actor signed" in rep.problems[2].message


def test_verify_event_first_link_and_gap(three: Ledger, store) -> None:
    first = f"{PACK}-soh-0"
    with store.write() as c:
        c.execute(update(trace_chain).where(trace_chain.c.event_id == first).values(prev_hash="ab" * 32))
    rep = three.verify_event(first)
    assert rules(rep) == ["prev_mismatch", "link_not_signed"] and GENESIS[:16] in rep.problems[0].message
    with store.write() as c:
        c.execute(delete(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == 2))
    rep = three.verify_event(f"{PACK}-soh-2")
    assert rules(rep) == ["chain_gap"] and "position 2 before" in rep.problems[0].message
    assert rep.problems[0].seq == 3


def test_verify_event_link_missing_and_orphan(three: Ledger, store) -> None:
    eid = f"{PACK}-soh-3"
    with store.write() as c:
        c.execute(delete(trace_chain).where(trace_chain.c.event_id == eid, trace_chain.c.subject == "PACK-T-0002"))
    rep = three.verify_event(eid)
    assert rules(rep) == ["link_missing"] and rep.problems[0].subject == "PACK-T-0002"
    assert "names PACK-T-0002 in its signed links" in rep.problems[0].message and rep.links_checked == 1
    with store.write() as c:
        c.execute(delete(trace_events).where(trace_events.c.id == eid))
    rep = three.verify_event(eid)
    assert rules(rep) == ["link_orphan"] and "named by chain links but not stored" in rep.problems[0].message
    assert rep.events_checked == 0
    rep = three.verify_store()
    assert "link_orphan" in rules(rep)


def test_verify_event_unreadable_body(three: Ledger, store) -> None:
    eid = f"{PACK}-soh-1"
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == eid).values(body="{broken"))
    rep = three.verify_event(eid)
    assert rules(rep) == ["body_unreadable"]  # links are not compared with a body that cannot be read
    assert rep.links_checked == 1
    assert three.verify_policy().events_checked == 3
    assert three.verify_derived().events_checked == 3


def test_verify_store_sequence_gaps_and_checkpoints(three: Ledger, store) -> None:
    cp = three.verify_store().checkpoint
    assert three.verify_store(checkpoint=cp).ok
    assert three.verify_store(checkpoint={**cp, "events": 2}).ok is False  # digest of 4 is not that of 2
    small = three.verify_store(batch=1)
    assert small.ok and small.events_checked == 4 and small.checkpoint == cp
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == f"{PACK}-soh-3").values(gseq=9))
    rep = three.verify_store()
    assert rules(rep) == ["store_seq_gap"]
    assert "store sequence 4–8 is missing before event" in rep.problems[0].message
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == f"{PACK}-soh-3").values(gseq=5))
    rep = three.verify_store(checkpoint=cp)
    assert rules(rep) == ["store_seq_gap"]  # the digest covers the hashes in order, not the numbers
    assert "store sequence 4 is missing" in rep.problems[0].message
    rep = three.verify_store(checkpoint={**cp, "digest": "00" * 32})
    assert rules(rep) == ["store_seq_gap", "checkpoint_mismatch"]
    assert "first 4 events no longer match" in rep.problems[1].message and rep.problems[1].event_id is None
    with store.write() as c:
        c.execute(delete(trace_events).where(trace_events.c.id == f"{PACK}-soh-3"))
    rep = three.verify_store(checkpoint=cp)
    assert "checkpoint covers 4 events, the store holds 3" in rep.problems[-1].message


def test_verify_policy_replays_the_custody_rules(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """An event slipped into the store directly: a repairer changes the owner of a pack it does not hold."""
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph() + use_events()]).ok
    rep = ledger.verify_policy()
    assert rep.ok and rep.events_checked == 20 and rep.scope == "custody rules"
    assert ledger.verify_policy("P1").scope == "custody rules of P1"
    assert ledger.verify_policy("P1").events_checked == 4
    assert ledger.verify_policy(batch=2).events_checked == 20
    sneaky = w.sign(ev(50, "change_of_owner", pilot.REPAIRER, "DE", "x", subjects=["P1"],
                       data={"to_holder": pilot.REPAIRER}))
    with store.write() as c:
        c.execute(insert(trace_events).values(gseq=21, id=sneaky.event.id, hash=sneaky.hash, kind="change_of_owner",
                                              actor=pilot.REPAIRER, occurred_at=sneaky.event.occurred_at, country="DE",
                                              recorded_at="2026-02-02T00:00:00.000000Z", body=sneaky.body.decode(),
                                              signature=sneaky.signature))
    rep = ledger.verify_policy()
    assert len(rep.problems) == 1 and rep.problems[0].event_id == "e50"
    assert rep.problems[0].rule.startswith("policy_") and rep.problems[0].subject == "P1"


def test_verify_derived_names_table_key_and_column(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph() + use_events()]).ok
    rep = ledger.verify_derived()
    assert rep.ok and rep.events_checked == 20 and rep.scope == "derived tables" and rep.links_checked > 17
    assert ledger.verify_derived(batch=3).ok
    with store.write() as c:
        c.execute(update(trace_lots).where(trace_lots.c.id == "cam1").values(consumed_kg=149.0))
        c.execute(update(trace_lots).where(trace_lots.c.id == "li2co3").values(mass_kg=100.0 * (1 + 1e-12)))
        c.execute(delete(trace_custody).where(trace_custody.c.subject == "P2"))
    rep = ledger.verify_derived()
    assert [(p.rule, p.event_id) for p in rep.problems] == [("derived_mismatch", "e06"), ("derived_missing", "e17")]
    assert "trace_lots cam1: consumed_kg is 149.0, the signed events give 150.0" in rep.problems[0].message
    assert "trace_custody P2: the events create it but the table has no row" in rep.problems[1].message


def test_verify_chain_counts(three: Ledger, store) -> None:
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == f"{PACK}-soh-1").values(kind="removal"))
    rep = three.verify_chain(PACK)
    assert rules(rep) == ["row_mismatch"] and rep.events_checked == 4 and rep.links_checked == 4


# ------------------------------------------------------------------------------ files, workers, retries


def test_ingest_file_reads_bytes_and_passes_caller_and_options(ledger: Ledger, signers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A JSON-lines file is read as bytes: a line that is not UTF-8 is an invalid line (reported at its
    position, as orjson reports it), not a crash while decoding the file. The caller's right to submit and
    ingest's options (``workers``, ``chunk``) are passed on; a misspelt option is an error, not ignored."""
    w = ChainWriter(signers)
    lines = [orjson.dumps(w.wire(soh(i))) for i in range(3)]
    f = tmp_path / "events.jsonl"
    f.write_bytes(lines[0] + b"\n" + b"\xff\xfe not utf-8\n" + lines[1] + b"\n")
    rep = ledger.ingest_file(f)
    assert not rep.ok and (rep.error["index"], rep.error["line"]) == (1, 2)
    assert rep.error["errors"][0]["rule"] == "json" and "line 2 is not JSON" in rep.error["detail"]
    f.write_bytes(b"\n".join(lines) + b"\n")
    rep = ledger.ingest_file(f, Caller(participant_id=pilot.RECYCLER_EU))
    assert not rep.ok and rep.error["type"] == "Forbidden" and rep.error["index"] == 0
    with pytest.raises(TypeError):
        ledger.ingest_file(f, chunk_size=1)
    rep = ledger.ingest_file(f, Caller(participant_id=EM), chunk=1)
    assert rep.ok and (rep.received, rep.stored) == (3, 3)


def test_ingest_in_worker_processes(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """Admission in two forked workers, chunks of 4: the first invalid event is reported by its index in the
    whole batch (chunk 2, position 1 → index 9), nothing is stored; a caller who is not the actor is refused
    at index 0; the valid batch is stored whole, in order, and a second time is all duplicates."""
    w = ChainWriter(signers)
    wires = [w.wire(soh(i, pack=f"PACK-W-{i % 3}")) for i in range(12)]
    lines = [orjson.dumps(x) for x in wires]
    bad = list(lines)
    bad[9] = orjson.dumps({**wires[9], "signature": b64url_encode(bytes(64))})
    rep = ledger.ingest(bad, workers=2, chunk=4)
    assert not rep.ok and (rep.error["index"], rep.error["line"]) == (9, 10)
    assert rep.error["event_id"] == "PACK-W-0-soh-9" and rep.error["type"] == "InvalidData"
    assert rep.error["errors"][0]["rule"] == "signature_valid" and rep.stored == 0
    assert rep.error["detail"].startswith("event PACK-W-0-soh-9: signature does not verify under the registered key")
    assert ledger.heads(["PACK-W-0"]) == {"PACK-W-0": GENESIS}
    bad = list(lines)
    bad[5] = b"{oops"
    rep = ledger.ingest(bad, workers=2, chunk=4)
    assert not rep.ok and rep.error["index"] == 5 and rep.error["errors"][0]["rule"] == "json"
    rep = ledger.ingest(lines, Caller(participant_id=pilot.RECYCLER_EU), workers=2, chunk=4)
    assert not rep.ok and rep.error["type"] == "Forbidden" and rep.error["index"] == 0
    assert rep.error["detail"] == f"event PACK-W-0-soh-0: {pilot.RECYCLER_EU} may not submit events whose actor is {EM}"
    rep = ledger.ingest(lines, Caller(participant_id=None), workers=2, chunk=4)
    assert rep.error["detail"] == f"event PACK-W-0-soh-0: an anonymous caller may not submit events whose actor is {EM}"
    # the actor itself (from index 6 on: the first five are its, the sixth a stranger's → index 5)
    mixed = lines[:5] + [orjson.dumps(ChainWriter(signers).wire(soh(0, pack="PACK-X", actor=pilot.RECYCLER_EU)))]
    rep = ledger.ingest(mixed, Caller(participant_id=EM), workers=2, chunk=4)
    assert not rep.ok and rep.error["type"] == "Forbidden" and rep.error["index"] == 5
    rep = ledger.ingest(lines, Caller(is_admin=True), workers=2, chunk=4)
    assert rep.ok and (rep.received, rep.stored, rep.duplicates) == (12, 12, 0)
    assert [e["id"] for e in ledger.iter_events()] == [x["id"] for x in wires]
    assert [c["seq"] for c in ledger.chain("PACK-W-1")] == [1, 2, 3, 4]
    rep = ledger.ingest(lines, Caller(participant_id=EM), workers=2, chunk=5)
    assert rep.ok and (rep.stored, rep.duplicates) == (0, 12)
    assert ledger.verify_store().ok


def test_append_is_retried_when_another_writer_wins(ledger: Ledger, signers, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The module docstring: a writer that loses a race on a chain position or store sequence number
    (IntegrityViolation) runs the transaction again, after 2 ms · 2^attempt (2, 4, 8 ms ...), up to 8 attempts;
    then the caller gets a Conflict naming the attempts and the database's message. Nothing half-written
    remains."""
    from batteryloop.store import ledger as repo_mod
    from batteryloop.store.errors import IntegrityViolation

    real = repo_mod.max_gseq
    calls: list[int] = []
    fail = {"n": 3}

    def racing(conn):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) <= fail["n"]:
            raise IntegrityViolation("UNIQUE constraint failed", "UNIQUE constraint failed: trace_chain")
        return real(conn)

    slept: list[float] = []
    monkeypatch.setattr(repo_mod, "max_gseq", racing)
    monkeypatch.setattr("batteryloop.trace.ledger.time.sleep", slept.append)
    w = ChainWriter(signers)
    res = ledger.submit(w.wire(soh(0)))
    assert (res.status, res.gseq) == ("stored", 1) and len(calls) == 4
    assert slept == [0.002, 0.004, 0.008]
    calls.clear(), slept.clear()
    fail["n"] = 99
    with pytest.raises(Conflict) as e:
        ledger.submit(w.wire(soh(1)))
    assert e.value.detail == "could not append after 8 attempts: UNIQUE constraint failed: trace_chain"
    assert len(calls) == 8 and slept == [0.002 * 2 ** k for k in range(7)]
    assert ledger.heads([PACK]) == {PACK: res.hash}


def test_append_is_retried_when_the_store_is_busy(ledger: Ledger, signers, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A transient failure (deadlock, serialization failure, SQLite busy) runs the transaction again, counted
    in the store's retries, up to 8 attempts; then StoreBusy (HTTP 503) tells the client to retry later."""
    from batteryloop.store import ledger as repo_mod
    from batteryloop.store.db import StoreBusy

    real = repo_mod.max_gseq
    calls: list[int] = []
    fail = {"n": 2}

    def busy(conn):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) <= fail["n"]:
            raise repo_mod.TransientStoreError("database is locked")
        return real(conn)

    slept: list[float] = []
    monkeypatch.setattr(repo_mod, "max_gseq", busy)
    monkeypatch.setattr("batteryloop.trace.ledger.time.sleep", slept.append)
    before = store.retries
    w = ChainWriter(signers)
    assert ledger.submit(w.wire(soh(0))).status == "stored"
    assert len(calls) == 3 and store.retries - before == 2 and len(slept) == 2
    assert slept[0] <= 0.005 and slept[1] <= 0.010  # backoff: full jitter under 5 ms · 2^attempt
    calls.clear()
    fail["n"] = 99
    with pytest.raises(StoreBusy) as e:
        ledger.submit(w.wire(soh(1)))
    assert e.value.detail == "could not append after 8 attempts: database is locked; retry later"
    assert len(calls) == 8 and store.retries - before == 2 + 7
    assert [c["seq"] for c in ledger.chain(PACK)] == [1]


def test_verify_event_problems_in_full(three: Ledger, store) -> None:
    """Each problem of one event's check, whole: event, rule, the message with 16 hex digits of each hash,
    the subject and the position in the chain (REFERENCE.md: every problem says where)."""
    eid = f"{PACK}-soh-2"
    head1 = three.chain(PACK)[1]["hash"]
    own = three.chain(PACK)[2]["hash"]
    with store.write() as c:
        c.execute(update(trace_chain).where(trace_chain.c.event_id == eid).values(prev_hash="ab" * 32,
                                                                                   event_hash="cd" * 32))
    got = [p.as_dict() for p in three.verify_event(eid).problems]
    assert got == [
        {"event_id": eid, "rule": "prev_mismatch", "subject": PACK, "seq": 3,
         "message": f"chain {PACK}: event {eid} links to {'ab' * 8}…, the event before it has hash {head1[:16]}…"},
        {"event_id": eid, "rule": "link_hash_mismatch", "subject": PACK, "seq": 3,
         "message": f"chain {PACK}: link names hash {'cd' * 8}…, event has {own[:16]}…"},
        {"event_id": eid, "rule": "link_not_signed", "subject": PACK, "seq": 3,
         "message": f"chain {PACK}: stored link of event {eid} is not the prev the actor signed"}]
    with store.write() as c:
        c.execute(delete(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == 2))
    got = [p.as_dict() for p in three.verify_event(eid).problems]
    assert got[0] == {"event_id": eid, "rule": "chain_gap", "subject": PACK, "seq": 3,
                      "message": f"chain {PACK}: position 2 before event {eid} is missing"}
    assert [p["rule"] for p in got[1:]] == ["link_hash_mismatch", "link_not_signed"]  # a gap hides no other problem
    both = f"{PACK}-soh-3"
    with store.write() as c:
        c.execute(delete(trace_chain).where(trace_chain.c.event_id == both, trace_chain.c.subject == "PACK-T-0002"))
    got = [p.as_dict() for p in three.verify_event(both).problems]
    assert got == [{"event_id": both, "rule": "link_missing", "subject": "PACK-T-0002", "seq": None,
                    "message": f"event {both} names PACK-T-0002 in its signed links but the chain of PACK-T-0002 "
                               "has no link to it (removed)"},
                   # its link on PACK follows the link edited above, which names hash cdcd… for position 3
                   {"event_id": both, "rule": "prev_mismatch", "subject": PACK, "seq": 4,
                    "message": f"chain {PACK}: event {both} links to {own[:16]}…, the event before it has hash "
                               f"{'cd' * 8}…"}]
    with store.write() as c:
        c.execute(delete(trace_events).where(trace_events.c.id == both))
    rep = three.verify_event(both)
    assert [p.as_dict() for p in rep.problems] == [
        {"event_id": both, "rule": "link_orphan", "subject": None, "seq": None,
         "message": f"event {both} is named by chain links but not stored"}]
    assert (rep.events_checked, rep.links_checked, rep.scope) == (0, 0, f"event {both}")


def test_record_gives_up_after_fifty_attempts_by_default(ledger: Ledger, signers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``record``'s default: 50 attempts (its signature), each re-reading the heads; the last StaleChain is raised.
    A rejected batch's internal wrapper keeps the refused event's message."""
    from batteryloop.trace.ledger import _Rejected

    ledger.submit(ChainWriter(signers).wire(soh(0)))
    reads: list[int] = []

    def always_stale(subjects, conn=None):  # type: ignore[no-untyped-def]
        reads.append(1)
        return {s: GENESIS for s in subjects}

    slept: list[float] = []
    monkeypatch.setattr(ledger, "heads", always_stale)
    monkeypatch.setattr("batteryloop.trace.ledger.time.sleep", slept.append)
    # the jitter at its top: each wait is then the bound, 1 ms doubling per attempt up to 40 ms
    monkeypatch.setattr("batteryloop.store.db.random.uniform", lambda lo, hi: hi)
    with pytest.raises(StaleChain, match=f"prev\\[{PACK}\\] is {GENESIS[:16]}"):
        ledger.record(soh(1), signers[EM])
    assert len(reads) == 50
    assert slept == pytest.approx([0.001, 0.002, 0.004, 0.008, 0.016, 0.032] + [0.04] * 44)
    assert str(_Rejected(3, InvalidData("event e: bad", []))) == "event e: bad"


def test_verify_derived_sums_consumption_and_checks_every_custody_column(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """A lot's consumed mass is the sum over every event that consumes it: li2co3 is 50 kg into cam1 (e06) and
    30 kg into cam2 (e18), so 80 kg. Every stored custody column is compared with the one the events give,
    the last event's kind and time included."""
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph() + use_events()]).ok
    ledger.submit(w.wire(ev(18, "cathode_production", sim.CAM_KR, "KR", "Gwangyang",
                            inputs=[{"lot": "li2co3", "mass_kg": 30}], outputs=[out("cam2", "material", 30, {"Li": 5.6})])))
    rep = ledger.verify_derived()
    assert rep.ok and rep.events_checked == 21
    with store.read() as c:
        assert c.execute(select(trace_lots.c.consumed_kg).where(trace_lots.c.id == "li2co3")).scalar_one() == 80
    with store.write() as c:
        c.execute(update(trace_custody).where(trace_custody.c.subject == "P1").values(last_kind="installation"))
        c.execute(update(trace_custody).where(trace_custody.c.subject == "P2").values(
            last_event_at="2026-01-01T00:00:00.000000Z"))
    got = [(p.rule, p.event_id, p.message) for p in ledger.verify_derived().problems]
    p2_at = ledger.get_event("e17")["event"]["occurred_at"]
    assert got == [
        ("derived_mismatch", "e13", "trace_custody P1: last_kind is 'installation', the signed events give 'transport'"),
        ("derived_mismatch", "e17", f"trace_custody P2: last_event_at is '2026-01-01T00:00:00.000000Z', the signed "
                                    f"events give {p2_at!r}")]


def test_verify_derived_survives_an_unreadable_producer(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """The body of the module assembly (e08) made unreadable: the packs made of its modules are still rebuilt
    (their sources then name the modules, whose kind the events no longer give) and the rows only e08 accounts
    for are reported as extra, not a crash."""
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph()]).ok
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == "e08").values(body="{broken"))
    rep = ledger.verify_derived()
    assert rep.events_checked == 12
    found = {(p.rule, p.message.split(":")[0]) for p in rep.problems}
    assert ("derived_extra", "trace_lots m1") in found and ("derived_extra", "trace_lots m2") in found
    assert ("derived_missing", "trace_pack_sources ('m1', 'P1')") in found


def test_verify_derived_reports_every_table_whole(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """Each derived table compared row by row, every problem whole. Rows: P1 is made of module m1, itself of
    cell batch cb1, so its source is (cb1, P1); cam1 consumed 50 kg of li2co3 and 100 kg of coso4 (e06).
    A float differs only beyond 1e-9 of the larger value, at least 1e-9 absolute: P1's consumed mass (0 kg)
    stored as 1e-9 is no change, as 1.5e-9 is one."""
    from batteryloop.store.trace_tables import trace_lot_edges, trace_pack_sources

    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph() + use_events()]).ok
    with store.write() as c:
        c.execute(update(trace_lots).where(trace_lots.c.id == "P1").values(consumed_kg=1e-9))
        c.execute(update(trace_lot_edges).where(trace_lot_edges.c.output_id == "cb1").values(mass_kg=149.0))
        c.execute(delete(trace_lot_edges).where(trace_lot_edges.c.output_id == "cam1",
                                                trace_lot_edges.c.input_id.in_(["li2co3", "coso4"])))
        c.execute(delete(trace_pack_sources).where(trace_pack_sources.c.pack_id == "P1"))
        c.execute(insert(trace_pack_sources).values(source_id="m9", pack_id="P1"))
        c.execute(insert(trace_lots).values(id="ghost", kind="material", mass_kg=1.0, consumed_kg=0.0, elements="{}",
                                            producer=EM, site_country="DE", site="x",
                                            produced_at="2026-01-01T00:00:00.000000Z", event_id="e99"))
        c.execute(insert(trace_custody).values(subject="ghost-pack", holder=EM, country="DE", status="in_use",
                                               last_event_id="e98", last_kind="transport",
                                               last_event_at="2026-01-01T00:00:00.000000Z"))
    got = {(p.rule, p.event_id, p.message) for p in ledger.verify_derived().problems}
    assert got == {
        ("derived_extra", "e99", "trace_lots ghost: a row no signed event accounts for"),
        ("derived_mismatch", "e07", "trace_lot_edges ('cb1', 'cam1'): mass_kg is 149.0, the signed events give 150.0"),
        ("derived_missing", "e06", "trace_lot_edges ('cam1', 'li2co3'): the events create it but the table has no row"),
        ("derived_missing", "e06", "trace_lot_edges ('cam1', 'coso4'): the events create it but the table has no row"),
        ("derived_missing", None, "trace_pack_sources ('cb1', 'P1'): the events create it but the table has no row"),
        ("derived_extra", None, "trace_pack_sources ('m9', 'P1'): a row no signed event accounts for"),
        ("derived_extra", "e98", "trace_custody ghost-pack: a row no signed event accounts for")}
    with store.write() as c:
        c.execute(update(trace_lots).where(trace_lots.c.id == "P1").values(consumed_kg=1.5e-9))
    got = {(p.rule, p.event_id, p.message) for p in ledger.verify_derived().problems}
    assert ("derived_mismatch", "e09", "trace_lots P1: consumed_kg is 1.5e-09, the signed events give 0.0") in got


def test_submit_checks_the_caller(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    wire = ChainWriter(signers).wire(soh(0))
    with pytest.raises(Forbidden, match=f"{pilot.RECYCLER_EU} may not submit events whose actor is {EM}"):
        ledger.submit(wire, Caller(participant_id=pilot.RECYCLER_EU))
    assert ledger.heads([PACK]) == {PACK: GENESIS}
    assert ledger.submit(wire, Caller(participant_id=EM)).status == "stored"


def test_verify_store_problems_in_full(three: Ledger, store) -> None:
    """The store's own checks, every problem whole. Store order 1..4; soh-3 renumbered to 6 leaves 4 and 5
    missing ("4–5"). A removed link in PACK (position 2) and a changed link in PACK-T-0002 (its first and only
    position) are named by chain and position. A checkpoint of 4 events against 3 stored, and a digest that
    no longer matches, each name what happened."""
    eid = f"{PACK}-soh-3"
    cp = three.verify_store().checkpoint
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == eid).values(gseq=6))
    rep = three.verify_store(checkpoint={**cp, "digest": "00" * 32})
    assert [p.as_dict() for p in rep.problems] == [
        {"event_id": eid, "rule": "store_seq_gap", "subject": None, "seq": None,
         "message": f"store sequence 4–5 is missing before event {eid} (removed event)"},
        {"event_id": None, "rule": "checkpoint_mismatch", "subject": None, "seq": None,
         "message": "the first 4 events no longer match the checkpoint's digest: stored history was changed"}]
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == eid).values(gseq=4))
        c.execute(delete(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == 2))
        c.execute(update(trace_chain).where(trace_chain.c.subject == "PACK-T-0002").values(prev_hash="ab" * 32))
    rep = three.verify_store()
    # (the event checks also report the signed links these rows no longer match: link_missing, link_not_signed)
    assert [(p.rule, p.subject, p.seq) for p in rep.problems if p.rule in ("chain_gap", "prev_mismatch", "genesis")] == [
        ("chain_gap", PACK, 3), ("prev_mismatch", PACK, 3), ("genesis", "PACK-T-0002", 1)]
    assert rep.links_checked == 4
    with store.write() as c:
        c.execute(delete(trace_chain).where(trace_chain.c.event_id == eid))
        c.execute(delete(trace_events).where(trace_events.c.id == eid))
    rep = three.verify_store(checkpoint=cp)
    assert rep.problems[-1].as_dict() == {
        "event_id": None, "rule": "checkpoint_mismatch", "subject": None, "seq": None,
        "message": "the checkpoint covers 4 events, the store holds 3: events were removed"}


def test_verify_store_in_worker_processes(three: Ledger, store) -> None:
    """Two worker processes, each reading its own range of the store (batch of 1: four ranges), find what one
    process finds: here a body changed after signing."""
    one = three.verify_store(workers=2, batch=1)
    assert one.ok and one.events_checked == 4 and one.links_checked == 5
    assert one.checkpoint == three.verify_store().checkpoint
    eid = f"{PACK}-soh-1"
    with store.write() as c:
        body = c.execute(select(trace_events.c.body).where(trace_events.c.id == eid)).scalar_one()
        c.execute(update(trace_events).where(trace_events.c.id == eid).values(body=body.replace("98.99", "98.98")))
    serial, parallel = three.verify_store(), three.verify_store(workers=2, batch=1)
    assert not serial.ok and serial.events_checked == 4
    assert [p.as_dict() for p in parallel.problems] == [p.as_dict() for p in serial.problems]
    assert parallel.events_checked == 4


def test_verify_store_of_an_in_memory_store_runs_in_this_process(signers) -> None:  # type: ignore[no-untyped-def]
    """Worker processes cannot open this process's in-memory database: the check runs here whatever is asked."""
    mem = Store("sqlite:///:memory:")
    mem.upgrade()
    _register(mem)
    try:
        lg = Ledger(mem)
        w = ChainWriter(signers)
        for i in range(3):
            lg.submit(w.wire(soh(i)))
        for workers in (1, 2):
            rep = lg.verify_store(workers=workers, batch=1)
            assert rep.ok and rep.events_checked == 3 and rep.links_checked == 3
    finally:
        mem.dispose()


def test_verify_store_checks_the_schema_only_when_asked(three: Ledger, store, signers) -> None:  # type: ignore[no-untyped-def]
    """verify_store's default checks hash, signature and links (fast); ``full_schema`` also re-validates each
    body against its kind's schema. A body re-signed by its actor with a state of health of "high" (not a
    number) passes the first and not the second."""
    from batteryloop.trace.canonical import canonical_json, sha256_hex

    eid = f"{PACK}-soh-1"
    with store.read() as c:
        body = orjson.loads(c.execute(select(trace_events.c.body).where(trace_events.c.id == eid)).scalar_one())
    body["data"]["soh_capacity_pct"] = "high"
    raw = canonical_json(body)
    h = sha256_hex(raw)
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == eid).values(
            body=raw.decode(), hash=h, signature=signers[EM].sign_hash(h)))
        c.execute(update(trace_chain).where(trace_chain.c.event_id == eid).values(event_hash=h))
        c.execute(update(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == 3).values(prev_hash=h))
    # (the next event signed the old hash as its prev: that link is reported either way)
    assert "body_invalid" not in rules(three.verify_store())
    assert "body_invalid" in rules(three.verify_store(full_schema=True))


def test_who_admits_a_batch(ledger: Ledger, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """ingest's docstring: the default, one worker, forks nothing; ``workers`` > 1 admits in that many processes;
    ``None`` means one per CPU for batches of 4,000 events or more, else one. (Worker admission is replaced
    here by a stand-in that notes the number of workers and stops the batch.)"""
    import gc

    asked: list[int] = []

    class Stop(Exception):
        pass

    def stand_in(items, texts, workers, chunk, line_numbers=None):  # type: ignore[no-untyped-def]
        asked.append(workers)
        raise Stop
        yield  # pragma: no cover

    monkeypatch.setattr("batteryloop.trace._parallel.admit_chunks", stand_in)
    rep = ledger.ingest([b"{oops"] * 3)
    assert rep.ok is False and rep.error["index"] == 0 and asked == []
    rep = ledger.ingest([b"{oops"] * 3999, workers=None)
    assert rep.ok is False and asked == []
    for n, workers in ((3, 2), (3, 3), (4000, None)):
        with pytest.raises(Stop):
            ledger.ingest([b"{oops"] * n, workers=workers)
    assert asked == [2, 3, os.cpu_count()]
    # the collector is off during a batch and back on after it (left off if it was off)
    assert gc.isenabled()
    gc.disable()
    try:
        ledger.ingest([b"{oops"])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_ingest_report_times_and_json_errors(ledger: Ledger) -> None:
    """The report's seconds are the time the call took; a line that is not JSON is an error named by orjson."""
    import time as time_

    t0 = time_.perf_counter()
    rep = ledger.ingest([b"[1,"])
    took = time_.perf_counter() - t0
    assert rep.ok is False and 0 < rep.seconds <= took
    err = rep.error["errors"][0]
    assert (err["field"], err["rule"]) == ("(line)", "json")
    assert err["message"] and rep.error["detail"] == f"line 1 is not JSON: {err['message']}"
    t0 = time_.perf_counter()
    rep = ledger.ingest([])
    assert rep.ok is True and 0 < rep.seconds <= time_.perf_counter() - t0


def test_a_batch_retried_after_its_chunks_were_read_replays_them(ledger: Ledger, signers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The race is lost at the first write (after the first chunk was read from the admission stream): the
    transaction runs again over the chunks already read and the rest, and every event is stored once."""
    from batteryloop.store import ledger as repo_mod
    from batteryloop.store.errors import IntegrityViolation

    real = repo_mod.append
    calls: list[int] = []

    def lose_once(conn, **rows):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityViolation("UNIQUE constraint failed", "UNIQUE constraint failed: trace_chain")
        return real(conn, **rows)

    monkeypatch.setattr(repo_mod, "append", lose_once)
    monkeypatch.setattr("batteryloop.trace.ledger.time.sleep", lambda s: None)
    w = ChainWriter(signers)
    rep = ledger.ingest([w.wire(soh(i)) for i in range(3)], chunk=1)
    assert rep.ok and (rep.stored, rep.duplicates) == (3, 0) and len(calls) == 1 + 3
    assert [c["seq"] for c in ledger.chain(PACK)] == [1, 2, 3]


def test_a_batch_refused_by_a_ledger_rule_is_reported(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """A rule checked at append (here a stale prev: the second event signed against the genesis again) is
    reported like an admission error, by index, and nothing of the batch is stored."""
    w = ChainWriter(signers)
    good = [w.wire(soh(0)), w.wire(soh(1))]
    stale = ChainWriter(signers).wire(soh(2))
    rep = ledger.ingest([*good, stale])
    assert rep.ok is False and rep.error["index"] == 2 and rep.error["type"] == "StaleChain"
    assert rep.error["event_id"] == f"{PACK}-soh-2" and rep.stored == 0
    assert ledger.heads([PACK]) == {PACK: GENESIS}


def _slip_in(store, sealed, gseq: int) -> None:  # type: ignore[no-untyped-def]
    """Write a signed event straight into the store, past the ledger's rules (what verify_policy is for)."""
    with store.write() as c:
        c.execute(insert(trace_events).values(gseq=gseq, id=sealed.event.id, hash=sealed.hash, kind=sealed.event.kind,
                                              actor=sealed.event.actor, occurred_at=sealed.event.occurred_at,
                                              country=sealed.event.place.country,
                                              recorded_at="2026-11-01T00:00:00.000000Z", body=sealed.body.decode(),
                                              signature=sealed.signature))


def test_verify_policy_reports_what_admission_refuses(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """policy.py's module docstring: verify_policy replays the rules admission applies. Each event below is
    refused on submit; written into the store directly it is reported by verify_policy with the same rule and
    message, at that event, naming the subject (none for a time). The rules: a pack is consumed only by its
    holder (P1 is held by the BaaS operator after e12); an id in a registered company's namespace
    (ISO/IEC 15459: BL.<company>.<serial>) is opened only by that company; no event before its subject existed
    (P1 was assembled at hour 9). Controls that both accept: a delegate of the holder (in force since
    2026-01-01) writing the state of health it was granted; an id in the namespace of a company that is not
    registered."""
    from batteryloop.store.tables import delegations

    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph() + use_events()]).ok
    with store.write() as c:
        c.execute(insert(delegations).values(subject="P1", grantor_id=pilot.BAAS, grantee_id=pilot.REPAIRER,
                                             actions='["trace.append.soh_update"]',
                                             created_at="2026-01-01T00:00:00.000000Z"))
    # the controls, through the front door
    ledger.submit(w.wire(ev(30, "soh_update", pilot.REPAIRER, "DE", "workshop", subjects=["P1"],
                            data={"soh_capacity_pct": 97.0})))
    free = "BL.BPNL0000000000X1.S-1"  # a well-formed id of a company that is not registered
    ledger.submit(w.wire(ev(31, "installation", pilot.REPAIRER, "DE", "workshop", subjects=[free],
                            data={"vehicle_id": "WVW0000000000003"})))
    rep = ledger.verify_policy()
    assert rep.ok and rep.events_checked == 22
    refused = [  # (in this order: the dismantling, once slipped in, changes P1's custody for what follows)
        {**ev(42, "soh_update", pilot.BAAS, "DE", "depot", subjects=["P1"], data={"soh_capacity_pct": 99.0}),
         "occurred_at": ev(5, "x", EM, "DE", "x")["occurred_at"]},
        ev(41, "installation", pilot.REPAIRER, "DE", "workshop", subjects=[f"BL.{EM}.NOT-ISSUED-1"],
           data={"vehicle_id": "WVW0000000000004"}),
        ev(40, "dismantling", pilot.RECYCLER_EU, "DE", "Magdeburg", inputs=[{"lot": "P1", "mass_kg": 75}],
           outputs=[out("P1-cells", "cell_batch", 70, {"Li": 9, "Co": 10})]),
    ]
    want = []
    for gseq, data in enumerate(refused, start=23):
        sealed = w.sign(data)
        with pytest.raises((Forbidden, InvalidData)) as e:
            ledger.submit(sealed)
        err = (e.value.extra.get("errors") or e.value.errors)[0]  # Forbidden carries them in extra
        subject = None if err["field"] == "occurred_at" else err["value"]
        want.append((data["id"], f"policy_{err['rule']}", e.value.detail.removeprefix(f"event {data['id']}: "), subject))
        _slip_in(store, sealed, gseq)
    assert [w_[1] for w_ in want] == ["policy_before_subject", "policy_namespace", "policy_custody"]
    assert [w_[3] for w_ in want] == [None, f"BL.{EM}.NOT-ISSUED-1", "P1"]
    # and one the custody rules allow by role: the market surveillance authority's note on a pack it does not
    # hold (it has no key registered here, so it can only be written straight into the store)
    _slip_in(store, ChainWriter(signers).sign(ev(43, "annotation", pilot.AUTHORITY, "BE", "office", subjects=["P2"],
                                                 data={"note": "inspected", "finding": "inspection"})), 26)
    rep = ledger.verify_policy()
    assert [(p.event_id, p.rule, p.message, p.subject) for p in rep.problems] == want
    assert rep.events_checked == 26


def test_a_lot_with_no_custody_record_is_its_producers(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """policy.check_event: a subject's holder is its custody record's holder, else its passport's operator, else
    the producer of the lot of that id. cam1 (a cathode material lot, no custody record) was produced by the
    cathode maker in an earlier batch: a repairer's event on it is refused, naming the subject."""
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph()]).ok
    with pytest.raises(Forbidden) as e:
        ledger.submit(w.wire(ev(30, "repair", pilot.REPAIRER, "DE", "workshop", subjects=["cam1"],
                                data={"description": "x"})))
    assert e.value.extra["errors"][0]["rule"] == "custody" and e.value.extra["errors"][0]["value"] == "cam1"


def test_a_passports_operator_and_manufacture_date_bind_its_chain(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """policy.py: a subject with no custody record is held by the economic operator of the passport of that id,
    and no event may be before the passport's manufacture date. A pilot battery made 2025-02-26 by the
    automaker: the repairer's state of health is refused (custody), the automaker's own from 2025-02-25 too
    (before_subject), its installation on 2025-03-01 is stored. Both refused events, slipped into the store,
    are reported by verify_policy with admission's rule and message."""
    from batteryloop.passport.service import PassportService

    svc = PassportService(store, base_url="http://x", issuing_agency_code="BL")
    battery = next(pilot.generate_batteries(1, seed=7, today=dt.date(2026, 12, 5)))
    assert (battery["economic_operator_id"], battery["manufacture_date"]) == (EM, "2025-02-26")
    svc.create_model(next(m for m in pilot.battery_models() if m["model_id"] == battery["model_id"]), Caller(EM))
    pid = svc.create_passport(battery, Caller(EM))["passport_id"]
    w = ChainWriter(signers)

    def at(day: str, n: int, actor: str, kind: str, data: dict) -> dict:  # type: ignore[type-arg]
        return {"id": f"pp-{n}", "kind": kind, "actor": actor, "occurred_at": f"{day}T12:00:00Z",
                "place": {"country": "DE", "site": "x"}, "subjects": [pid], "data": data}

    # (in this order: the replay applies a slipped-in event's custody change, and the first event on a subject
    # makes its actor the holder)
    refused = [at("2025-02-25", 2, EM, "soh_update", {"soh_capacity_pct": 99.0}),
               at("2025-03-02", 1, pilot.REPAIRER, "soh_update", {"soh_capacity_pct": 99.0})]
    want = []
    for gseq, data in enumerate(refused, start=1):
        sealed = w.sign(data)
        with pytest.raises((Forbidden, InvalidData)) as e:
            ledger.submit(sealed)
        err = (e.value.extra.get("errors") or e.value.errors)[0]
        want.append((data["id"], f"policy_{err['rule']}", e.value.detail.removeprefix(f"event {data['id']}: ")))
        _slip_in(store, sealed, gseq)
    assert [x[1] for x in want] == ["policy_before_subject", "policy_custody"]
    assert want[0][2] == f"2025-02-25T12:00:00.000000Z is before {pid} existed (made 2025-02-26)"
    assert ledger.submit(ChainWriter(signers).wire(at("2025-03-01", 3, EM, "installation",
                                                      {"vehicle_id": "WVW0000000000005"}))).status == "stored"
    rep = ledger.verify_policy()
    assert [(p.event_id, p.rule, p.message) for p in rep.problems] == want and rep.events_checked == 3


def test_certifier_roles_are_read_from_the_registry_and_cached(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """A recovered lot must be certified by the recycler that recovers it, a registered recycler: an actor
    whose roles lack it is refused. Roles are cached like keys (``key_cache_seconds``): a role removed from the
    registry still counts until the cache expires; with no cache it no longer does."""
    from batteryloop.store.tables import participants as p_table
    from tests.trace.test_queries import waste_events

    w = ChainWriter(signers)

    def recovered(n: int, actor: str) -> dict:  # type: ignore[type-arg]
        assert ledger.ingest([w.wire(e) for e in waste_events(f"mod-{n}", 10, {"Co": 2}, tag=f"w{n}-")]).ok
        return ev(n, "material_recovery", actor, "DE", "Magdeburg", inputs=[{"lot": f"mod-{n}", "mass_kg": 10}],
                  outputs=[out(f"rec-{n}", "material", 10, {"Co": 2}, {"type": "post_consumer", "country": "DE",
                                                                     "site": "M", "certified_by": actor})])

    with pytest.raises(InvalidData) as e:
        ledger.submit(w.wire(recovered(1, sim.CAM_KR)))
    assert e.value.errors == [{"field": "outputs[0].origin.certified_by", "rule": "certifier_is_recycler",
                               "value": sim.CAM_KR,
                               "message": f"outputs[0].origin.certified_by: {sim.CAM_KR} must be a participant "
                                          "registered with the recycler role: only a recycler recovers and "
                                          "certifies lots of recycled origin"}]
    assert e.value.extra["event_id"] == "e01"
    cached = Ledger(store, key_cache_seconds=3600)
    assert cached.submit(w.wire(recovered(2, pilot.RECYCLER_EU))).status == "stored"
    with store.write() as c:
        c.execute(update(p_table).where(p_table.c.id == pilot.RECYCLER_EU).values(roles='["repairer"]'))
    assert cached.submit(w.wire(recovered(3, pilot.RECYCLER_EU))).status == "stored"  # cached
    with pytest.raises(InvalidData, match="must be a participant registered with the recycler role"):
        Ledger(store, key_cache_seconds=0).submit(w.wire(recovered(4, pilot.RECYCLER_EU)))


def test_verify_policy_on_an_event_by_an_unregistered_actor(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """An event written straight into the store by an actor the registry does not know: the replay gives that
    actor no roles and reports the event (a stranger holds nothing), it does not fail."""
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph()]).ok
    stranger = Signer.generate("BPNL0000000000X1")
    sealed = seal({**ev(30, "soh_update", stranger.participant_id, "DE", "x", subjects=["P1"],
                        data={"soh_capacity_pct": 90.0}), "prev": {"P1": ledger.heads(["P1"])["P1"]}}, stranger)
    _slip_in(store, sealed, 14)
    rep = ledger.verify_policy()
    assert [(p.event_id, p.rule, p.subject) for p in rep.problems] == [("e30", "policy_custody", "P1")]


def test_admission_errors_whole(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """Each admission refusal's error entry whole (field, rule, message, value) and the detail naming 16 hex
    digits of the event hash."""
    wire = ChainWriter(signers).wire(soh(0))
    eid = wire["id"]
    with pytest.raises(InvalidData) as e:
        ledger.admit({**wire, "signature": None})
    assert e.value.errors == [{"field": "signature", "rule": "required", "value": None,
                               "message": "signature: the actor's Ed25519 signature (base64url) of the event hash"}]
    stranger = Signer.generate("BPNL0000000000X1")
    other = seal({**soh(0, actor=stranger.participant_id), "prev": {PACK: GENESIS}}, stranger).to_wire()
    with pytest.raises(InvalidData) as e:
        ledger.admit(other)
    assert e.value.errors == [{"field": "actor", "rule": "registered", "value": "BPNL0000000000X1",
                               "message": "actor: BPNL0000000000X1 is not a registered participant"}]
    forged = b64url_encode(bytes(64))
    h = seal({k: v for k, v in wire.items() if k != "signature"}, signers[EM]).hash
    with pytest.raises(InvalidData) as e:
        ledger.admit({**wire, "signature": forged})
    assert e.value.errors == [{"field": "signature", "rule": "signature_valid", "value": forged[:20],
                               "message": "signature: not a valid signature of the event hash by the actor's "
                                          "registered key"}]
    assert e.value.detail == (f"event {eid}: signature does not verify under the registered key of {EM} "
                              f"(event hash {h[:16]}…; was it signed over the canonical form by that key?)")


def test_duplicates_within_a_batch_and_after_a_lost_race(ledger: Ledger, signers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The same event twice in one batch is stored once (the second is a duplicate); a duplicate names its id.
    Other content under a stored id is a conflict naming 16 hex digits of both hashes. The module docstring's
    race: another writer stored this very event after our duplicate check (simulated: the check finds
    nothing) — the stale head is then recognised as the duplicate, not reported stale."""
    w = ChainWriter(signers)
    a = w.wire(soh(0))
    rep = ledger.ingest([a, a])
    assert rep.ok and (rep.stored, rep.duplicates) == (1, 1)
    dup = ledger.submit(a)
    assert (dup.event_id, dup.status) == (a["id"], "duplicate")
    other = ChainWriter(signers).wire({**soh(0), "data": {"soh_capacity_pct": 42.0}})
    with pytest.raises(Conflict) as e:
        ledger.submit(other)
    h_other = seal({k: v for k, v in other.items() if k != "signature"}, signers[EM]).hash
    assert e.value.detail == (f"event {a['id']} is already stored with other content (stored hash {dup.hash[:16]}…, "
                              f"submitted {h_other[:16]}…): an event id is never reused")
    monkeypatch.setattr(ledger, "_existing", lambda conn, ids: {})
    late = ledger.submit(a)
    assert (late.event_id, late.status, late.hash) == (a["id"], "duplicate", dup.hash)


def test_stale_and_transformation_refusals_whole(ledger: Ledger, signers) -> None:  # type: ignore[no-untyped-def]
    """A stale prev names both hashes by 16 hex digits; a transformation refusal with one error is exactly
    'event <id>: <its message>' and names the event."""
    first = ledger.submit(ChainWriter(signers).wire(soh(0)))
    with pytest.raises(StaleChain) as e:
        ledger.submit(ChainWriter(signers).wire(soh(1)))
    assert e.value.detail == (f"event {PACK}-soh-1: prev[{PACK}] is {GENESIS[:16]}… but the chain of {PACK} is at "
                              f"position 1 with hash {first.hash[:16]}…: fetch the head, re-sign and resubmit")
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph()[:8]]).ok
    one = ev(43, "cathode_production", sim.CAM_KR, "KR", "G", inputs=[{"lot": "li2co3", "mass_kg": 500}],
             outputs=[out("x1", "material", 50, {"Li": 1})])
    with pytest.raises(InvalidData) as e:
        ledger.submit(ChainWriter(signers, ledger.heads(["li2co3"])).wire(one))
    assert len(e.value.errors) == 1 and e.value.detail == f"event e43: {e.value.errors[0]['message']}"
    assert e.value.extra["event_id"] == "e43"
