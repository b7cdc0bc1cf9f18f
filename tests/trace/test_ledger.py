"""The signed, hash-chained ledger: append, idempotency, signatures, stale heads, batches, concurrency."""

from __future__ import annotations

import threading

import orjson
import pytest
from sqlalchemy import text

from batteryloop.access import Caller
from batteryloop.errors import Conflict, Forbidden, InvalidData
from batteryloop.sim import pilot
from batteryloop.trace.canonical import GENESIS
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.events import normalize, seal
from batteryloop.trace.keys import Signer, b64url_encode
from batteryloop.trace.ledger import Ledger, StaleChain

EM = pilot.AUTOMAKER
PACK = "PACK-T-0001"


def soh(i: int, pack: str = PACK, actor: str = EM) -> dict:
    return {"id": f"{pack}-soh-{i}", "kind": "soh_update", "actor": actor,
            "occurred_at": f"2026-03-01T10:{i // 60:02d}:{i % 60:02d}Z",
            "place": {"country": "DE", "site": "BMS gateway"}, "subjects": [pack],
            "data": {"soh_capacity_pct": 99.0 - i * 0.01}}


def test_append_read_and_chain(ledger: Ledger, signers) -> None:
    w = ChainWriter(signers)
    for i in range(3):
        r = ledger.submit(w.wire(soh(i)))
        assert r.status == "stored"
    chain = ledger.chain(PACK)
    assert [c["seq"] for c in chain] == [1, 2, 3]
    assert chain[0]["event"]["prev"][PACK] == GENESIS
    assert chain[1]["event"]["prev"][PACK] == chain[0]["hash"]
    assert ledger.verify_chain(PACK).ok
    assert ledger.verify_store().ok


def test_resubmission_is_a_no_op_and_other_content_is_refused(ledger: Ledger, signers) -> None:
    w = ChainWriter(signers)
    wire = w.wire(soh(0))
    assert ledger.submit(wire).status == "stored"
    assert ledger.submit(wire).status == "duplicate"
    assert len(ledger.chain(PACK)) == 1
    other = ChainWriter(signers).wire({**soh(0), "data": {"soh_capacity_pct": 42.0}})  # same id, other content
    with pytest.raises(Conflict, match="already stored with other content"):
        ledger.submit(other)
    assert len(ledger.chain(PACK)) == 1


def test_missing_forged_and_wrong_key_signatures_are_refused(ledger: Ledger, signers) -> None:
    w = ChainWriter(signers)
    wire = w.wire(soh(0))
    with pytest.raises(InvalidData) as e:
        ledger.submit({k: v for k, v in wire.items() if k != "signature"})
    assert e.value.errors[0]["field"] == "signature" and e.value.errors[0]["rule"] == "required"
    forged = {**wire, "signature": b64url_encode(bytes(64))}
    with pytest.raises(InvalidData) as e:
        ledger.submit(forged)
    assert e.value.errors[0]["rule"] == "signature_valid" and PACK + "-soh-0" in e.value.detail
    # a real signature, but by another participant's key (the recycler signs an event whose actor is EM)
    _, _, h = normalize(wire)
    wrong = {**wire, "signature": signers[pilot.RECYCLER_EU].sign_hash(h)}
    with pytest.raises(InvalidData, match="registered key of BPNL000000000EM1"):
        ledger.submit(wrong)
    # a changed byte after signing
    tampered = {**wire, "data": {"soh_capacity_pct": 98.0}}
    with pytest.raises(InvalidData, match="signature does not verify"):
        ledger.submit(tampered)
    assert ledger.verify_store().events_checked == 0


def test_actor_must_be_registered_with_a_key(ledger: Ledger) -> None:
    stranger = Signer.generate("BPNL0000000000X1")
    with pytest.raises(InvalidData, match="not in the participant registry"):
        ledger.submit(seal({**soh(0, actor=stranger.participant_id), "prev": {PACK: GENESIS}}, stranger).to_wire())
    keyless = Signer.generate(pilot.AUTHORITY)  # registered without a public key
    with pytest.raises(InvalidData, match="no public key"):
        ledger.submit(seal({**soh(0, actor=pilot.AUTHORITY), "prev": {PACK: GENESIS}}, keyless).to_wire())


def test_caller_may_only_submit_its_own_events(ledger: Ledger, signers) -> None:
    wire = ChainWriter(signers).wire(soh(0))
    with pytest.raises(Forbidden):
        ledger.submit(wire, Caller(participant_id=pilot.RECYCLER_EU))
    assert ledger.submit(wire, Caller(participant_id=EM)).status == "stored"


def test_stale_prev_and_replay_are_refused(ledger: Ledger, signers) -> None:
    a = ChainWriter(signers)
    b = ChainWriter(signers)  # a second writer that does not know a's events
    ledger.submit(a.wire(soh(0)))
    with pytest.raises(StaleChain) as e:
        ledger.submit(b.wire(soh(1)))  # signed against GENESIS, but the chain is at position 1
    assert e.value.extra["subject"] == PACK and e.value.extra["head_seq"] == 1
    # replay of the first event with its link re-pointed at the current head: the signature no longer holds
    first = ledger.get_event(f"{PACK}-soh-0")["event"]
    replay = {**first, "id": f"{PACK}-soh-replay", "prev": {PACK: ledger.heads([PACK])[PACK]}}
    with pytest.raises(InvalidData, match="signature"):
        ledger.submit(replay)
    # record() re-reads the head, re-signs and appends
    assert ledger.record(soh(1), signers[EM]).status == "stored"
    assert [c["seq"] for c in ledger.chain(PACK)] == [1, 2]


def test_schema_errors_name_field_and_rule(ledger: Ledger, signers) -> None:
    bad = {"id": "ev-x", "kind": "change_of_owner", "actor": EM, "occurred_at": "2026-01-01T00:00:00",
           "place": {"country": "Germany", "site": "x"}, "subjects": [PACK], "data": {}, "prev": {PACK: GENESIS}}
    with pytest.raises(InvalidData) as e:
        normalize(bad)
    fields = {x["field"]: x["rule"] for x in e.value.errors}
    assert "occurred_at" in fields and "place.country" in fields
    with pytest.raises(InvalidData) as e:
        normalize({**bad, "occurred_at": "2026-01-01T00:00:00Z", "place": {"country": "DE", "site": "x"}})
    assert e.value.errors[0]["field"] == "data.to_holder" and e.value.errors[0]["rule"] == "missing"
    with pytest.raises(InvalidData) as e:
        normalize({**bad, "occurred_at": "2026-01-01T00:00:00Z", "place": {"country": "DE", "site": "x"},
                   "data": {"to_holder": pilot.BAAS}, "prev": {}})
    assert e.value.errors[0]["field"] == "prev" and e.value.errors[0]["rule"] == "chain_links"


def test_batch_is_all_or_nothing_and_reports_the_first_invalid_event(ledger: Ledger, signers) -> None:
    w = ChainWriter(signers)
    batch = [w.wire(soh(i)) for i in range(10)]
    batch[6] = {**batch[6], "signature": b64url_encode(bytes(64))}
    rep = ledger.ingest(batch)
    assert not rep.ok and rep.stored == 0
    assert rep.error["index"] == 6 and rep.error["event_id"] == f"{PACK}-soh-6"
    assert rep.error["errors"][0]["rule"] == "signature_valid"
    with pytest.raises(Exception):
        ledger.chain(PACK)  # nothing stored


def test_batch_rolls_back_on_a_ledger_rule(ledger: Ledger, signers) -> None:
    w = ChainWriter(signers)
    good = [w.wire(soh(i)) for i in range(5)]
    stale = ChainWriter(signers).wire(soh(5))  # signed against GENESIS: breaks the chain at index 5
    rep = ledger.ingest(good + [stale])
    assert not rep.ok and rep.error["index"] == 5 and rep.error["type"] == "StaleChain"
    assert ledger.verify_store().events_checked == 0
    rep = ledger.ingest(good)
    assert rep.ok and rep.stored == 5
    rep = ledger.ingest(good)  # the whole batch again: a no-op
    assert rep.ok and rep.stored == 0 and rep.duplicates == 5


def test_jsonl_file_ingest_with_a_bad_line(ledger: Ledger, signers, tmp_path) -> None:
    w = ChainWriter(signers)
    lines = [orjson.dumps(w.wire(soh(i))) for i in range(3)]
    f = tmp_path / "events.jsonl"
    f.write_bytes(b"\n".join(lines[:2] + [b"{not json"] + lines[2:]) + b"\n")
    rep = ledger.ingest_file(f)
    assert not rep.ok and rep.error["line"] == 3 and rep.error["errors"][0]["rule"] == "json"
    f.write_bytes(b"\n".join(lines) + b"\n")
    assert ledger.ingest_file(f).stored == 3


def test_concurrent_appends_never_fork_the_chain(ledger: Ledger, signers, store) -> None:
    threads, per = 4, 15
    errors: list[BaseException] = []

    def work(t: int) -> None:
        lg = Ledger(store)  # each thread its own service, as separate API workers would be
        try:
            for i in range(per):
                lg.record(soh(t * 100 + i), signers[EM])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    chain = ledger.chain(PACK)
    assert [c["seq"] for c in chain] == list(range(1, threads * per + 1))
    for a, b in zip(chain, chain[1:]):
        assert b["event"]["prev"][PACK] == a["hash"]
    assert ledger.verify_store().ok


def test_concurrent_presigned_events_on_one_head_one_wins(ledger: Ledger, signers, store) -> None:
    """Many writers sign against the same head at once: exactly one is stored, the rest are stale."""
    ledger.submit(ChainWriter(signers).wire(soh(0)))
    head = ledger.heads([PACK])
    wires = [ChainWriter(signers, head).wire(soh(i)) for i in range(1, 9)]
    results: list[str] = []

    def go(wire: dict) -> None:
        try:
            Ledger(store).submit(wire)
            results.append("stored")
        except StaleChain:
            results.append("stale")

    ts = [threading.Thread(target=go, args=(w_,)) for w_ in wires]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(results) == ["stale"] * 7 + ["stored"]
    assert [c["seq"] for c in ledger.chain(PACK)] == [1, 2]


def test_parallel_ingest_matches_serial(ledger: Ledger, signers, store) -> None:
    """Admission in worker processes: same results, same first-error report, same all-or-nothing."""
    w = ChainWriter(signers)
    lines = [orjson.dumps(w.wire(soh(i, pack=f"PACK-P-{i % 7}"))) for i in range(300)]
    bad = list(lines)
    bad[123] = orjson.dumps({**orjson.loads(bad[123]), "signature": b64url_encode(bytes(64))})
    for workers in (1, 2):
        rep = ledger.ingest(bad, workers=workers, chunk=50)
        assert not rep.ok and rep.error["index"] == 123 and rep.error["errors"][0]["rule"] == "signature_valid"
    assert ledger.verify_store().events_checked == 0
    rep = ledger.ingest(lines, Caller(participant_id=pilot.RECYCLER_EU), workers=2, chunk=50)
    assert not rep.ok and rep.error["type"] == "Forbidden" and rep.error["index"] == 0
    rep = ledger.ingest(lines, workers=2, chunk=50)
    assert rep.ok and rep.stored == 300
    rep = ledger.ingest(lines[:100], workers=2, chunk=50)
    assert rep.ok and rep.duplicates == 100
    assert ledger.verify_store().ok


@pytest.mark.parametrize("workers", [1, 2])
def test_jsonl_file_error_names_the_files_own_line_after_blank_lines(ledger: Ledger, signers, tmp_path,
                                                                     workers: int) -> None:
    # blank lines are skipped, but the report must still point at the line an editor shows: here line 6
    # (1 event, 2 blank, 1 event, 1 blank, then the bad text), not the third event's position, 3
    w = ChainWriter(signers)
    good = [orjson.dumps(w.wire(soh(i))) for i in range(2)]
    f = tmp_path / "events.jsonl"
    f.write_bytes(b"\n".join([good[0], b"", b"  ", good[1], b"", b"{not json", b""]))
    rep = ledger.ingest_file(f, workers=workers)
    assert not rep.ok and rep.error["index"] == 2 and rep.error["line"] == 6
    assert rep.error["detail"].startswith("line 6 is not JSON"), rep.error["detail"]


def test_sealed_events_are_admitted_as_their_wire_form(ledger: Ledger, signers) -> None:
    """A producer that seals its own events (the pilot) hands them over as SealedEvents: validated once, their
    signatures still checked by the ledger — serially or in worker processes — with the same refusals and
    reports as their wire form gets, and stored exactly as the wire form would be."""
    from batteryloop.trace.events import FlatEvent, SealedEvent

    w = ChainWriter(signers)
    sealed = [w.sign(soh(i, pack=f"PACK-S-{i % 5}")) for i in range(240)]
    forged = list(sealed)
    s = forged[97]
    forged[97] = SealedEvent(s.event, s.body, s.hash, b64url_encode(bytes(64)))
    for workers in (1, 2):
        rep = ledger.ingest(forged, workers=workers, chunk=40)
        assert not rep.ok and rep.error["index"] == 97 and rep.error["errors"][0]["rule"] == "signature_valid"
        assert rep.error["event_id"] == s.event.id
        rep = ledger.ingest(sealed, Caller(participant_id=pilot.RECYCLER_EU), workers=workers, chunk=40)
        assert not rep.ok and rep.error["type"] == "Forbidden" and rep.error["index"] == 0
    assert ledger.verify_store().events_checked == 0  # all or nothing
    half = [SealedEvent(FlatEvent.from_body(x.body), x.body, x.hash, x.signature) for x in sealed]
    rep = ledger.ingest(half, workers=2, chunk=40)
    assert rep.ok and rep.stored == 240
    assert list(ledger.iter_events()) == [x.to_wire() for x in sealed]
    # the same events again, as wire dicts: duplicates (same ids, same hashes)
    rep = ledger.ingest([x.to_wire() for x in sealed], workers=1)
    assert rep.ok and rep.duplicates == 240
    assert ledger.verify_store().ok


@pytest.mark.parametrize("workers", [1, 2])
def test_batch_sealer_seals_as_the_chain_writer_does(ledger: Ledger, signers, workers: int) -> None:
    """The pilot's batch sealer (validation and signatures in worker processes, prev filled in here in chain
    order) gives the very bytes, hashes and signatures that sealing one by one gives — events of several
    subjects interleaved, material events joining lots — and its events are admitted by the ledger."""
    from batteryloop.trace.client import BatchSealer

    def events() -> list[dict]:
        out = [soh(i, pack=f"PACK-B-{i % 7}") for i in range(150)]
        out.insert(40, {"id": "lot-ev-1", "kind": "extraction", "actor": pilot.AUTOMAKER,
                        "occurred_at": "2026-02-01T10:00:00Z", "place": {"country": "DE", "site": "x"},
                        "outputs": [{"lot": "LOT-B-1", "kind": "material", "mass_kg": 10.0,
                                     "elements_kg": {"Li": 1.0}, "origin": {"type": "primary", "country": "DE",
                                                                            "site": "x"}}]})
        return out

    one = ChainWriter(signers)
    want = [one.sign(e) for e in events()]
    sealer = BatchSealer(ChainWriter(signers), workers=workers, chunk=25)
    try:
        for e in events()[:100]:
            sealer.add(e)
        got = sealer.seal()  # two batches: the second continues the chains the first left
        for e in events()[100:]:
            sealer.add(e)
        got += sealer.seal()
    finally:
        sealer.close()
    assert [(g.body, g.hash, g.signature) for g in got] == [(w.body, w.hash, w.signature) for w in want]
    assert [g.event.prev for g in got] == [w.event.prev for w in want]
    rep = ledger.ingest(got, workers=1)
    assert rep.ok and rep.stored == 151
    assert ledger.verify_store().ok
    # an invalid event is refused by seal, naming the field, as sealing it alone would
    sealer = BatchSealer(ChainWriter(signers), workers=workers, chunk=25)
    try:
        for i in range(60):
            sealer.add(soh(i, pack="PACK-B-X") if i != 33 else {**soh(i, pack="PACK-B-X"), "occurred_at": "yesterday"})
        with pytest.raises(InvalidData) as exc:
            sealer.seal()
    finally:
        sealer.close()
    assert exc.value.errors[0]["field"] == "occurred_at"


def test_batch_sealer_signs_in_parts_while_it_hashes_the_next(ledger: Ledger, signers, monkeypatch) -> None:
    """A big batch: each part's hashes are sent to the workers to sign as soon as they are made, while the
    next part is hashed here; the events are still those sealing one by one gives, in order, and the workers
    signed them (not this process)."""
    from batteryloop.trace import _parallel
    from batteryloop.trace.client import BatchSealer

    events = [soh(i, pack=f"PACK-P-{i % 11}") for i in range(730)]
    one = ChainWriter(signers)
    want = [one.sign(dict(e)) for e in events]
    sealer = BatchSealer(ChainWriter(signers), workers=2, chunk=50)
    submitted: list[int] = []
    try:
        pool = sealer.executor()
        real_submit = pool.submit

        def submit(fn, *args):  # type: ignore[no-untyped-def]
            if fn is _parallel.sign_hashes:
                submitted.append(len(args[0]))
            return real_submit(fn, *args)

        monkeypatch.setattr(pool, "submit", submit)
        for e in events:
            sealer.add(e)
        got = sealer.seal()
    finally:
        sealer.close()
    assert sum(submitted) == 730 and len(submitted) >= 7  # in parts of 100 (the last one smaller)
    assert [(g.body, g.hash, g.signature) for g in got] == [(w.body, w.hash, w.signature) for w in want]
    rep = ledger.ingest(got, workers=1)
    assert rep.ok and rep.stored == 730


def test_sealed_events_checked_in_a_pool_the_caller_keeps(ledger: Ledger, signers) -> None:
    """``ingest(executor=pool)``: the signatures of sealed events are checked in the caller's worker processes
    (the registered keys travel with each chunk), with the serial admitter's refusals, all or nothing."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from batteryloop.trace.events import SealedEvent

    w = ChainWriter(signers)
    sealed = [w.sign(soh(i, pack=f"PACK-K-{i % 3}")) for i in range(30)]
    forged = list(sealed)
    s = forged[21]
    forged[21] = SealedEvent(s.event, s.body, s.hash, b64url_encode(bytes(64)))
    with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as pool:
        rep = ledger.ingest(forged, executor=pool)
        assert not rep.ok and rep.error["index"] == 21 and rep.error["errors"][0]["rule"] == "signature_valid"
        rep = ledger.ingest(sealed, Caller(participant_id=pilot.RECYCLER_EU), executor=pool)
        assert not rep.ok and rep.error["type"] == "Forbidden" and rep.error["index"] == 0
        assert ledger.verify_store().events_checked == 0
        rep = ledger.ingest(sealed, executor=pool)
    assert rep.ok and rep.stored == 30
    assert ledger.verify_store().ok


def test_heads_kept_between_transactions_give_way_to_another_writer(store, registry, signers) -> None:  # type: ignore[no-untyped-def]
    """A ledger keeps the chain heads, lots and custody its last transaction left (trace.ledger._Carry) only
    while the store's last event is still the one it wrote: after another writer appended to the same chain,
    its next append links to that writer's event (a stale head would refuse it as StaleChain)."""
    a, b = Ledger(store), Ledger(store)
    w = ChainWriter(signers)
    a.submit(w.wire(soh(0)))
    assert a._carry is not None and a._carry.heads[PACK][0] == 1
    b.submit(w.wire(soh(1)))
    assert a.submit(w.wire(soh(2))).status == "stored"
    assert [e["seq"] for e in a.chain(PACK)] == [1, 2, 3]
    assert a._carry.heads[PACK][0] == 3 and a.verify_store().ok and a.verify_derived().ok
    # a refused event: what the failed transaction touched is not kept
    with pytest.raises(StaleChain):
        a.submit(ChainWriter(signers).wire(soh(3)))
    assert a._carry is None
    assert a.submit(w.wire(soh(3))).status == "stored" and a.verify_derived().ok


def test_a_rolled_back_transaction_leaves_the_kept_lots_as_the_store_holds_them(store, registry, signers) -> None:  # type: ignore[no-untyped-def]
    """Review finding: a transaction changed the kept LotState objects in place; when a later event of its batch
    was refused and it rolled back, a carry still matching the store's last event (taken by another thread of the
    API's pool before the swap) said 600 kg consumed where the store says none, and the next transaction stored
    900 kg for 300. The transaction now works on copies (and one thread at a time takes the carry)."""
    from sqlalchemy import select

    from batteryloop.store.trace_tables import trace_lots
    from tests.trace.test_queries import ev, out, small_graph

    led, w = Ledger(store), ChainWriter(signers)
    g = small_graph()
    assert led.ingest([w.wire(e) for e in g[:6]]).ok
    kept = led._carry
    before = kept.lots["ore-li"].consumed_kg
    refiner = g[6]["actor"]
    bad = [ev(20, "refining", refiner, "CN", "Yichun", data={"max_loss_pct": 10},
              inputs=[{"lot": "ore-li", "mass_kg": 600}], outputs=[out("li-b", "material", 60, {"Li": 11.5})]),
           ev(21, "extraction", g[3]["actor"], "CL", "Atacama",  # a lot id already taken: refused, all rolled back
              outputs=[out("ore-li", "ore", 5, {"Li": 1}, {"type": "primary", "country": "CL", "site": "Atacama"})])]
    led._carry = kept  # as a second thread holding the same carry would have it
    assert not led.ingest([w.wire(e) for e in bad]).ok
    assert kept.lots["ore-li"].consumed_kg == before  # the refused batch did not change it
    led._carry = kept
    assert led.record(ev(22, "refining", refiner, "CN", "Yichun", data={"max_loss_pct": 10},
                         inputs=[{"lot": "ore-li", "mass_kg": 300}], outputs=[out("li-a", "material", 30, {"Li": 5.7})]),
                      signers[refiner]).status == "stored"
    with store.read() as c:
        stored = c.execute(select(trace_lots.c.consumed_kg).where(trace_lots.c.id == "ore-li")).scalar()
    assert stored == before + 300 and led.verify_derived().ok


def test_a_sealer_vouches_only_for_what_it_sealed_with_the_registered_key(ledger: Ledger, signers, monkeypatch) -> None:
    """``ingest(sealed_by=sealer)``: the events the in-process sealer just sealed, signed with the keys the store
    has registered for their actors, are admitted without checking their signatures a second time (the
    whole-ledger check still checks each); an event it did not seal (a copy), one changed after sealing, or one
    signed with a key the store no longer has registered is checked as any other — and refused if forged."""
    from batteryloop.trace import ledger as ledger_mod
    from batteryloop.trace.client import BatchSealer
    from batteryloop.trace.events import SealedEvent

    calls: list[str] = []
    real = ledger_mod.verify_signature

    def counting(key, h, sig):  # type: ignore[no-untyped-def]
        calls.append(h)
        return real(key, h, sig)

    monkeypatch.setattr(ledger_mod, "verify_signature", counting)

    def sealed_batch(sealer: BatchSealer, pack: str, n: int) -> list[SealedEvent]:
        for i in range(n):
            sealer.add(soh(i, pack=pack))
        return sealer.seal()

    sealer = BatchSealer(ChainWriter(signers), workers=1)
    got = sealed_batch(sealer, "PACK-V-1", 5)
    rep = ledger.ingest(got, sealed_by=sealer)
    assert rep.ok and rep.stored == 5 and calls == []  # vouched: not checked again at admission
    assert ledger.verify_store().ok and ledger.verify_store().events_checked == 5  # the whole-ledger check does

    # a copy of a sealed event is not what the sealer sealed: checked (and admitted: it is genuine)
    got = sealed_batch(sealer, "PACK-V-2", 3)
    copies = [SealedEvent(s.event, s.body, s.hash, s.signature) for s in got]
    rep = ledger.ingest(copies, sealed_by=sealer)
    assert rep.ok and rep.stored == 3 and len(calls) == 3

    # a signature changed after sealing is not vouched for: checked, and the forgery refused, nothing stored
    calls.clear()
    got = sealed_batch(sealer, "PACK-V-3", 4)
    got[2].signature = b64url_encode(bytes(64))
    rep = ledger.ingest(got, sealed_by=sealer)
    assert not rep.ok and rep.error["index"] == 2 and rep.error["errors"][0]["rule"] == "signature_valid"
    assert calls and ledger.verify_store().events_checked == 8

    # the store registers another key for the actor: the sealer's signatures are checked against it, and refused
    calls.clear()
    got = sealed_batch(sealer, "PACK-V-4", 2)
    other = Signer.generate(EM)
    with ledger.store.write() as conn:
        conn.execute(text("UPDATE participants SET public_key = :k WHERE id = :i"),
                     {"k": other.public_key_text, "i": EM})
    fresh = Ledger(ledger.store)  # (a ledger caches the keys it read for a while; a fresh one reads the new key)
    rep = fresh.ingest(got, sealed_by=sealer)
    assert not rep.ok and rep.error["errors"][0]["rule"] == "signature_valid" and calls
    assert fresh.verify_store().events_checked == 8
