"""Tampering with the stored ledger, byte by byte and row by row: verification finds each change and says where."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import delete, select, update

from batteryloop.sim import pilot
from batteryloop.store.tables import participants
from batteryloop.store.trace_tables import trace_chain, trace_events
from batteryloop.trace.canonical import sha256_hex
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.keys import Signer
from batteryloop.trace.ledger import Ledger

from .test_ledger import PACK, soh

OTHER = "PACK-T-0002"


@pytest.fixture
def filled(ledger: Ledger, signers) -> Ledger:
    """Five events on PACK, two on OTHER, one change of owner touching both."""
    w = ChainWriter(signers)
    for i in range(5):
        ledger.submit(w.wire(soh(i)))
    for i in range(2):
        ledger.submit(w.wire(soh(i, pack=OTHER)))
    ledger.submit(w.wire({"id": "both-owner", "kind": "change_of_owner", "actor": pilot.AUTOMAKER,
                          "occurred_at": "2026-03-02T00:00:00Z", "place": {"country": "DE", "site": "dealer"},
                          "subjects": [PACK, OTHER], "data": {"to_holder": pilot.BAAS}}))
    assert ledger.verify_store().ok
    return ledger


def rules(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {p.rule for p in report.problems}


def body_of(store, eid: str) -> str:  # type: ignore[no-untyped-def]
    with store.read() as c:
        return c.execute(select(trace_events.c.body).where(trace_events.c.id == eid)).scalar_one()


def set_body(store, eid: str, body: str, rehash: bool = False) -> None:  # type: ignore[no-untyped-def]
    vals = {"body": body}
    if rehash:
        vals["hash"] = sha256_hex(body.encode())
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == eid).values(**vals))


def test_changed_byte_in_a_body(filled: Ledger, store) -> None:
    eid = f"{PACK}-soh-2"
    body = body_of(store, eid)
    assert "98.98" in body
    set_body(store, eid, body.replace("98.98", "99.98"))  # one digit
    for rep in (filled.verify_event(eid), filled.verify_chain(PACK), filled.verify_store()):
        assert {"hash_mismatch", "signature_invalid"} <= rules(rep)
        assert all(p.event_id == eid for p in rep.problems)
    assert filled.verify_chain(OTHER).ok


def test_changed_byte_with_recomputed_hash(filled: Ledger, store) -> None:
    """The attacker also rewrites the stored hash: the signature (and the next link) still give it away."""
    eid = f"{PACK}-soh-1"
    set_body(store, eid, body_of(store, eid).replace('"BMS gateway"', '"BMS gatewaz"'), rehash=True)
    rep = filled.verify_chain(PACK)
    assert "signature_invalid" in rules(rep) and "hash_mismatch" not in rules(rep)
    assert "link_hash_mismatch" in rules(rep)
    assert {p.event_id for p in rep.problems} == {eid}


def test_non_canonical_rewrite_is_reported(filled: Ledger, store) -> None:
    eid = f"{PACK}-soh-0"
    set_body(store, eid, body_of(store, eid).replace(',"data"', ', "data"'), rehash=True)
    assert "body_not_canonical" in rules(filled.verify_event(eid))


def test_reordered_events(filled: Ledger, store) -> None:
    with store.write() as c:  # swap positions 2 and 3 of PACK's chain
        c.execute(update(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == 2).values(seq=-1))
        c.execute(update(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == 3).values(seq=2))
        c.execute(update(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == -1).values(seq=3))
    rep = filled.verify_chain(PACK)
    assert "prev_mismatch" in rules(rep)
    assert {p.seq for p in rep.problems if p.rule == "prev_mismatch"} >= {2, 3}
    assert "prev_mismatch" in rules(filled.verify_store())


def test_removed_event_in_the_middle(filled: Ledger, store) -> None:
    eid = f"{PACK}-soh-2"
    with store.write() as c:
        c.execute(delete(trace_chain).where(trace_chain.c.event_id == eid))
        c.execute(delete(trace_events).where(trace_events.c.id == eid))
    rep = filled.verify_chain(PACK)
    assert {"chain_gap", "prev_mismatch"} <= rules(rep)
    gap = next(p for p in rep.problems if p.rule == "chain_gap")
    assert gap.seq == 4 and "position 3" in gap.message
    assert "store_seq_gap" in rules(filled.verify_store())


def test_removed_and_renumbered_chain(filled: Ledger, store) -> None:
    """Removing an event and closing the gap in both sequences still breaks the signed link."""
    eid = f"{PACK}-soh-1"
    with store.write() as c:
        gseq = c.execute(select(trace_events.c.gseq).where(trace_events.c.id == eid)).scalar_one()
        c.execute(delete(trace_chain).where(trace_chain.c.event_id == eid))
        c.execute(delete(trace_events).where(trace_events.c.id == eid))
        for s in range(3, 7):
            c.execute(update(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == s).values(seq=s - 1))
        top = c.execute(select(trace_events.c.gseq).order_by(trace_events.c.gseq.desc())).scalars().first()
        for g in range(gseq + 1, top + 1):
            c.execute(update(trace_events).where(trace_events.c.gseq == g).values(gseq=g - 1))
    rep = filled.verify_store()
    assert "prev_mismatch" in rules(rep) and "store_seq_gap" not in rules(rep)
    assert any(p.event_id == f"{PACK}-soh-2" for p in rep.problems)


def test_removed_first_event(filled: Ledger, store) -> None:
    eid = f"{PACK}-soh-0"
    with store.write() as c:
        c.execute(delete(trace_chain).where(trace_chain.c.event_id == eid))
        c.execute(delete(trace_events).where(trace_events.c.id == eid))
        for s in range(2, 7):
            c.execute(update(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == s).values(seq=s - 1))
    assert "genesis" in rules(filled.verify_chain(PACK))


def test_removed_last_event_needs_a_checkpoint(filled: Ledger, store) -> None:
    checkpoint = filled.verify_store().checkpoint
    with store.write() as c:
        c.execute(delete(trace_chain).where(trace_chain.c.event_id == "both-owner"))
        c.execute(delete(trace_events).where(trace_events.c.id == "both-owner"))
    rep = filled.verify_store(checkpoint=checkpoint)
    assert rules(rep) == {"checkpoint_mismatch"}
    assert "8 events" in rep.problems[0].message


def test_history_rewritten_under_a_checkpoint(filled: Ledger, store, signers) -> None:
    """Re-signing a changed event with the actor's own key (a stolen key) is caught by an earlier checkpoint."""
    checkpoint = filled.verify_store().checkpoint
    eid = f"{OTHER}-soh-1"
    body = orjson.loads(body_of(store, eid))
    body["data"]["soh_capacity_pct"] = 50.0
    from batteryloop.trace.events import normalize

    _, canon, h = normalize(body)
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == eid).values(
            body=canon.decode(), hash=h, signature=signers[pilot.AUTOMAKER].sign_hash(h)))
        c.execute(update(trace_chain).where(trace_chain.c.event_id == eid).values(event_hash=h))
    rep = filled.verify_store(checkpoint=checkpoint)
    assert "checkpoint_mismatch" in rules(rep)
    assert "prev_mismatch" in rules(rep)  # the change-of-owner event still points at the old hash


def test_inserted_event(filled: Ledger, store, signers, registry) -> None:
    """A registered participant signs a genuine-looking event and slips it into the middle of PACK's chain."""
    intruder = signers[pilot.REPAIRER]
    head2 = filled.chain(PACK)[1]["hash"]
    w = ChainWriter({pilot.REPAIRER: intruder}, {PACK: head2})
    ins = w.sign({**soh(77, actor=pilot.REPAIRER)})
    with store.write() as c:
        for s in range(6, 2, -1):
            c.execute(update(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == s).values(seq=s + 1))
        top = c.execute(select(trace_events.c.gseq).order_by(trace_events.c.gseq.desc())).scalars().first()
        c.execute(trace_events.insert().values(gseq=top + 1, id=ins.event.id, hash=ins.hash, kind="soh_update",
                                               actor=pilot.REPAIRER, occurred_at=ins.event.occurred_at, country="DE",
                                               recorded_at="2026-03-01T10:00:00Z", body=ins.body.decode(),
                                               signature=ins.signature))
        # the unique (subject, prev_hash) refuses a second link after head2, so the attacker re-points the
        # link of the event that followed head2 at the inserted one before adding it
        c.execute(update(trace_chain).where(trace_chain.c.subject == PACK, trace_chain.c.seq == 4)
                  .values(prev_hash=ins.hash))
        c.execute(trace_chain.insert().values(subject=PACK, seq=3, event_id=ins.event.id, prev_hash=head2,
                                              event_hash=ins.hash))
    rep = filled.verify_chain(PACK)
    assert rules(rep) == {"link_not_signed"}  # every signature holds; the signed prev of soh-2 does not
    assert rep.problems[0].event_id == f"{PACK}-soh-2" and rep.problems[0].seq == 4


def test_signed_by_the_wrong_key(filled: Ledger, store, signers) -> None:
    """The body is changed and re-signed by another participant's key, hash and links all made consistent."""
    eid = f"{PACK}-soh-4"  # second to last on PACK's chain: its successor is both-owner
    body = orjson.loads(body_of(store, eid))
    body["data"]["soh_capacity_pct"] = 80.0
    from batteryloop.trace.events import normalize

    _, canon, h = normalize(body)
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == eid).values(
            body=canon.decode(), hash=h, signature=signers[pilot.RECYCLER_EU].sign_hash(h)))
        c.execute(update(trace_chain).where(trace_chain.c.event_id == eid).values(event_hash=h))
    rep = filled.verify_event(eid)
    assert rules(rep) == {"signature_invalid"}
    assert "registered key of BPNL000000000EM1" in rep.problems[0].message


def test_replaced_key_in_the_registry(filled: Ledger, store) -> None:
    fake = Signer.generate(pilot.AUTOMAKER)
    with store.write() as c:
        c.execute(update(participants).where(participants.c.id == pilot.AUTOMAKER)
                  .values(public_key=fake.public_key_text))
    rep = filled.verify_store()
    assert rules(rep) == {"signature_invalid"}
    assert rep.events_checked == len(rep.problems) == 8


def test_edited_link_row(filled: Ledger, store) -> None:
    with store.write() as c:
        c.execute(update(trace_chain).where(trace_chain.c.subject == OTHER, trace_chain.c.seq == 2)
                  .values(prev_hash="ab" * 32))
    rep = filled.verify_chain(OTHER)
    assert {"prev_mismatch", "link_not_signed"} <= rules(rep)


def test_removed_link_of_a_multi_subject_event(filled: Ledger, store) -> None:
    with store.write() as c:
        c.execute(delete(trace_chain).where(trace_chain.c.event_id == "both-owner", trace_chain.c.subject == OTHER))
    assert "link_missing" in rules(filled.verify_store())
    assert "link_missing" in rules(filled.verify_event("both-owner"))


def test_parallel_store_verification_finds_the_same(filled: Ledger, store) -> None:
    eid = f"{PACK}-soh-3"
    set_body(store, eid, body_of(store, eid).replace("DE", "FR"))
    a, b = filled.verify_store(), filled.verify_store(workers=2)
    assert rules(a) == rules(b) and {p.event_id for p in a.problems} == {p.event_id for p in b.problems}


def test_derived_tables_are_checked_against_the_signed_events(ledger: Ledger, signers, store) -> None:
    """Lots, edges, pack sources and custody are not signed: verify_derived rebuilds them from the events."""
    from batteryloop.store.trace_tables import trace_custody, trace_lot_edges, trace_lots, trace_pack_sources

    from .test_queries import small_graph, use_events

    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph() + use_events()]).ok
    assert ledger.verify_derived().ok
    with store.write() as c:
        c.execute(update(trace_lots).where(trace_lots.c.id == "rec-li").values(elements='{"Li": 40.0}'))
        c.execute(update(trace_lot_edges).where(trace_lot_edges.c.output_id == "m1").values(mass_kg=1.0))
        c.execute(update(trace_custody).where(trace_custody.c.subject == "P1").values(holder=pilot.REPAIRER))
        c.execute(delete(trace_pack_sources).where(trace_pack_sources.c.pack_id == "P2"))
        c.execute(trace_pack_sources.insert().values(source_id="ore-co", pack_id="P9"))
    rep = ledger.verify_derived()
    msgs = [p.message for p in rep.problems]
    assert any("trace_lots rec-li: elements" in m for m in msgs)
    assert any("trace_lot_edges ('m1', 'cb1'): mass_kg" in m for m in msgs)
    assert any("trace_custody P1: holder" in m for m in msgs)
    assert {"derived_mismatch", "derived_missing", "derived_extra"} <= rules(rep)
    assert ledger.verify_store().ok  # the signed events themselves are intact


def test_changed_column_copied_from_the_body(filled: Ledger, store) -> None:
    eid = f"{PACK}-soh-1"
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == eid).values(actor=pilot.REPAIRER))
    rep = filled.verify_store()
    assert rules(rep) == {"row_mismatch"} and "column actor" in rep.problems[0].message
    assert "row_mismatch" in rules(filled.verify_event(eid))
