"""The whole-ledger verification behind the ledger (trace/verify_behind.py): checked in steps while the ledger
grows, it gives the whole pass's figures for a ledger that checks out, and gives up (naming why) when a check
found anything or when what it checked has been changed since — then the whole pass names the problem."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, update

from batteryloop.sim import pilot
from batteryloop.store.db import Store
from batteryloop.store.tables import delegations, participants
from batteryloop.store.trace_tables import trace_chain, trace_events
from batteryloop.trace.canonical import sha256_hex
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.keys import Signer
from batteryloop.trace.ledger import Ledger
from batteryloop.trace.verify_behind import BehindState, VerifierBehind

from .test_ledger import EM, PACK, soh
from .test_mutation_ledger import _slip_in
from .test_queries import ev, out, small_graph, use_events

OTHER = "PACK-T-0002"


def _fill(ledger: Ledger, w: ChainWriter, first: int, n: int, packs: tuple[str, ...] = (PACK, OTHER)) -> None:
    for i in range(first, first + n):
        for pack in packs:
            ledger.submit(w.wire(soh(i, pack=pack)))


@pytest.fixture
def stepped(ledger: Ledger, signers, store) -> tuple[Ledger, BehindState, ChainWriter]:  # type: ignore[no-untyped-def]
    """Three steps over a growing ledger (batches of 3 events: ranges cross the steps' boundaries)."""
    w = ChainWriter(signers)
    state = BehindState(store, ledger.max_future_seconds, batch=3)
    _fill(ledger, w, 0, 4)
    assert state.step() == 8
    _fill(ledger, w, 4, 3)
    ledger.submit(w.wire({"id": "both-owner", "kind": "change_of_owner", "actor": pilot.AUTOMAKER,
                          "occurred_at": "2026-03-02T00:00:00Z", "place": {"country": "DE", "site": "dealer"},
                          "subjects": [PACK, OTHER], "data": {"to_holder": pilot.BAAS}}))
    assert state.step() == 15
    return ledger, state, w


def test_the_same_figures_as_the_whole_pass(stepped, store) -> None:  # type: ignore[no-untyped-def]
    ledger, state, w = stepped
    _fill(ledger, w, 0, 2, ("PACK-T-0003",))  # the tail, checked by finish
    out, why = state.finish()
    whole = ledger.verify_store()
    assert whole.ok and ledger.verify_policy().ok and why == ""
    assert out == {"events_checked": 17, "links_checked": 18, "checkpoint": whole.checkpoint}
    assert whole.events_checked == 17 and whole.links_checked == 18


def test_a_body_changed_after_it_was_checked(stepped, store) -> None:  # type: ignore[no-untyped-def]
    """Hash recomputed too: only the digest of what was checked (and the signature, in the whole pass) tells."""
    ledger, state, _ = stepped
    eid = f"{PACK}-soh-1"
    with store.write() as c:
        body = c.execute(select(trace_events.c.body).where(trace_events.c.id == eid)).scalar_one()
        body = body.replace('"BMS gateway"', '"BMS gatewaz"')
        c.execute(update(trace_events).where(trace_events.c.id == eid)
                  .values(body=body, hash=sha256_hex(body.encode())))
    out, why = state.finish()
    assert out is None and why == "an event or link row checked earlier has changed since"
    assert "signature_invalid" in {p.rule for p in ledger.verify_store().problems}


@pytest.mark.parametrize("change", ["signature", "link", "removed", "row column"])
def test_other_changes_after_the_check(stepped, store, change: str) -> None:  # type: ignore[no-untyped-def]
    ledger, state, _ = stepped
    eid = f"{OTHER}-soh-2"
    with store.write() as c:
        if change == "signature":
            c.execute(update(trace_events).where(trace_events.c.id == eid).values(signature="AAAA"))
        elif change == "link":
            c.execute(update(trace_chain).where(trace_chain.c.event_id == eid).values(prev_hash="a" * 64))
        elif change == "removed":
            c.execute(delete(trace_events).where(trace_events.c.id == eid))
        else:
            c.execute(update(trace_events).where(trace_events.c.id == eid).values(country="FR"))
    out, why = state.finish()
    assert out is None and "changed since" in why
    assert not ledger.verify_store().ok


def test_a_link_naming_no_stored_event(stepped, store) -> None:  # type: ignore[no-untyped-def]
    ledger, state, _ = stepped
    with store.write() as c:
        c.execute(insert(trace_chain).values(subject="PACK-T-0009", seq=1, event_id="nowhere", prev_hash="0" * 64,
                                             event_hash="1" * 64))
    out, why = state.finish()
    assert out is None and why == "the store holds chain links that name no stored event"
    assert "link_orphan" in {p.rule for p in ledger.verify_store().problems}


def test_a_tampered_event_found_by_the_step_itself(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    w = ChainWriter(signers)
    _fill(ledger, w, 0, 2)
    with store.write() as c:
        c.execute(update(trace_events).where(trace_events.c.id == f"{PACK}-soh-1").values(actor=pilot.RECYCLER_EU))
    state = BehindState(store, ledger.max_future_seconds)
    state.step()
    assert [p.rule for p in state.problems] == ["row_mismatch"]
    out, why = state.finish()
    assert out is None and why == "1 problem(s) found by the checks behind the ledger"


def test_a_key_changed_after_its_events_were_checked(stepped, store) -> None:  # type: ignore[no-untyped-def]
    _, state, _ = stepped
    with store.write() as c:
        c.execute(update(participants).where(participants.c.id == EM)
                  .values(public_key=Signer.generate(EM).public_key_text))
    out, why = state.finish()
    assert out is None and why == "a participant's registered key changed after events signed by it were checked"


def test_custody_rules_replayed_in_steps(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """An event slipped into the store past the rules is refused by the replay behind the ledger, as by
    verify_policy; a delegation revoked after the replay makes the final pass replay the rules again."""
    w = ChainWriter(signers)
    assert ledger.ingest([w.wire(e) for e in small_graph() + use_events()]).ok
    state = BehindState(store, ledger.max_future_seconds, batch=4)
    state.step()
    with store.write() as c:
        c.execute(insert(delegations).values(subject="P1", grantor_id=pilot.BAAS, grantee_id=pilot.REPAIRER,
                                             actions='["trace.append.soh_update"]',
                                             created_at="2026-01-01T00:00:00.000000Z"))
    figures, why = state.finish()
    assert why == "" and figures is not None and figures["events_checked"] == 20  # replayed again: no refusal
    assert state.replayed_again == "a delegation was created before events already replayed"
    ledger.submit(w.wire(ev(30, "soh_update", pilot.REPAIRER, "DE", "workshop", subjects=["P1"],
                            data={"soh_capacity_pct": 97.0})))
    fresh = BehindState(store, ledger.max_future_seconds, batch=4)
    assert fresh.finish()[1] == ""
    _slip_in(store, w.sign(ev(40, "dismantling", pilot.RECYCLER_EU, "DE", "Magdeburg",
                              inputs=[{"lot": "P1", "mass_kg": 75}],
                              outputs=[out("P1-cells", "cell_batch", 70, {"Li": 9, "Co": 10})])), 22)
    fresh.step()
    assert [p.rule for p in fresh.policy_report.problems] == [p.rule for p in ledger.verify_policy().problems]
    assert fresh.policy_report.problems and fresh.finish()[0] is None


def test_in_a_worker_process(stepped, store) -> None:  # type: ignore[no-untyped-def]
    ledger, _, w = stepped
    behind = VerifierBehind(store, ledger.max_future_seconds)
    behind.check()
    _fill(ledger, w, 0, 2, ("PACK-T-0003",))
    behind.check()
    rep = behind.finish()
    whole = ledger.verify_store()
    assert rep is not None and rep.ok and behind.reason == ""
    assert (rep.events_checked, rep.links_checked, rep.checkpoint) == (whole.events_checked, whole.links_checked,
                                                                       whole.checkpoint)


def test_no_worker_on_an_in_memory_store() -> None:
    behind = VerifierBehind(Store("sqlite:///:memory:"), 300.0)
    behind.check()
    assert behind.finish() is None and "in-memory" in behind.reason


def test_a_dead_worker_ends_the_verification_behind_not_the_run(stepped, store) -> None:  # type: ignore[no-untyped-def]
    """Review finding: a worker killed during a long pilot (the OOM killer) made the next check() raise
    BrokenProcessPool and the pilot abort without a report. Now the run goes on; finish() gives None naming the
    failure, and the report's whole-ledger pass answers."""
    import os
    import signal
    import time

    ledger, _, w = stepped
    behind = VerifierBehind(store, ledger.max_future_seconds)
    behind.check()
    behind._futures[0].result()
    for pid in list(behind._pool._processes):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    _fill(ledger, w, 0, 1, ("PACK-T-0004",))
    behind.check()  # no exception
    behind.start_finish()
    assert behind.finish() is None and "the worker failed" in behind.reason
    assert ledger.verify_store().ok  # what the report runs instead


def test_a_passport_read_by_the_replay_and_deleted_since_is_replayed_again(ledger: Ledger, signers, store) -> None:  # type: ignore[no-untyped-def]
    """Review finding: the final pass compared the operators and birth dates of the passports that still exist;
    one the custody replay had read (its operator allowed an event) and that was deleted since made the whole
    check refuse the event while the pass behind said verified. A vanished passport now counts as a change: the
    rules are replayed again, the refusal found, and the whole pass answers."""
    import datetime as dt

    from batteryloop.access import Caller
    from batteryloop.passport.service import PassportService
    from batteryloop.store.tables import passport_versions, passports

    svc = PassportService(store, base_url="http://x", issuing_agency_code="BL")
    b = next(pilot.generate_batteries(1, seed=7, today=dt.date(2026, 12, 5)))
    svc.create_model(next(m for m in pilot.battery_models() if m["model_id"] == b["model_id"]), Caller(EM))
    pid = svc.create_passport(b, Caller(EM))["passport_id"]
    assert ledger.submit(ChainWriter(signers).wire({
        "id": "a1", "kind": "annotation", "actor": EM, "occurred_at": "2025-03-01T12:00:00Z",
        "place": {"country": "DE", "site": "x"}, "subjects": [pid], "data": {"note": "inspected"}})).status == "stored"
    state = BehindState(store, ledger.max_future_seconds)
    state.step()
    with store.write() as c:  # outside the signed ledger: the passport row disappears
        c.execute(delete(passport_versions).where(passport_versions.c.passport_id == pid))
        c.execute(delete(passports).where(passports.c.id == pid))
    out_, why = state.finish()
    assert out_ is None and "custody rules replayed again" in why
    assert [p.rule for p in ledger.verify_policy().problems] == ["policy_custody"]  # what the whole pass says


@pytest.mark.parametrize("change", ["prev", "event hash", "link removed", "link added"])
def test_a_tampered_link_found_by_the_step_as_by_the_whole_pass(ledger: Ledger, signers, store, change: str) -> None:  # type: ignore[no-untyped-def]
    """The step skips the per-link checks' calls for links as signed; a link that is not is named as the whole
    pass names it (the same problems, messages included)."""
    w = ChainWriter(signers)
    _fill(ledger, w, 0, 2)
    ledger.submit(w.wire({"id": "both-owner", "kind": "change_of_owner", "actor": pilot.AUTOMAKER,
                          "occurred_at": "2026-03-02T00:00:00Z", "place": {"country": "DE", "site": "dealer"},
                          "subjects": [PACK, OTHER], "data": {"to_holder": pilot.BAAS}}))
    for i in (2, 3):
        for pack in (PACK, OTHER):
            assert ledger.submit(w.wire(soh(i, pack=pack, actor=pilot.BAAS))).status == "stored"
    with store.write() as c:
        both = (trace_chain.c.event_id == "both-owner") & (trace_chain.c.subject == OTHER)
        if change == "prev":
            c.execute(update(trace_chain).where(both).values(prev_hash="a" * 64))
        elif change == "event hash":
            c.execute(update(trace_chain).where(both).values(event_hash="b" * 64))
        elif change == "link removed":
            c.execute(delete(trace_chain).where(both))
        else:
            h = c.execute(select(trace_events.c.hash).where(trace_events.c.id == "both-owner")).scalar_one()
            c.execute(insert(trace_chain).values(subject="PACK-T-0007", seq=1, event_id="both-owner",
                                                 prev_hash="0" * 64, event_hash=h))
    state = BehindState(store, ledger.max_future_seconds, batch=4)
    state.step()
    whole = ledger.verify_store().problems
    assert whole and sorted(state.problems, key=repr) == sorted(whole, key=repr)
    assert state.finish() == (None, f"{len(whole)} problem(s) found by the checks behind the ledger")


def test_the_worker_keeps_the_mass_balance_folded(store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """fold_mass_balance: after each step the worker folds the committed events into the kept mass balance, whole
    batches only; the caller's refresh then folds just the tail, and the figures are the full recomputation's."""
    from batteryloop.identity import ParticipantService
    from batteryloop.sim.supply_chain import demo_signers, register_participants
    from batteryloop.store import mb_summary as mb_repo
    from batteryloop.trace import mb_summary
    from batteryloop.trace.queries import TraceQueries

    from .test_mb_summary import _check_all, _wire

    monkeypatch.setattr(mb_summary, "BATCH", 40)  # the worker is forked after this: it folds batches of 40 too
    register_participants(ParticipantService(store), demo_signers())
    wire, ledger = _wire(120), Ledger(store)
    behind = VerifierBehind(store, ledger.max_future_seconds, fold_mass_balance=True)
    for lo in range(0, len(wire), 50):
        assert ledger.ingest(wire[lo:lo + 50], workers=1).ok
        behind.check()
    rep = behind.finish()
    assert rep is not None and rep.ok, behind.reason
    whole = len(wire) // 40 * 40
    assert (behind.folded, behind.fold_errors) == (whole, [])
    with store.read() as conn:
        assert mb_repo.read_mark(conn) == whole
    assert mb_summary.MassBalanceSummary(store).refresh() == len(wire) - whole
    _check_all(TraceQueries(store), store)


@pytest.mark.parametrize("fold", [False, True])
def test_the_worker_folds_only_when_asked(stepped, store, monkeypatch, fold: bool) -> None:  # type: ignore[no-untyped-def]
    from batteryloop.store import mb_summary as mb_repo
    from batteryloop.trace import mb_summary

    monkeypatch.setattr(mb_summary, "BATCH", 5)  # the stepped ledger's 15 events are three whole batches
    ledger, _, w = stepped
    behind = VerifierBehind(store, ledger.max_future_seconds, fold_mass_balance=fold)
    behind.check()
    assert behind.finish() is not None and behind.folded == (15 if fold else 0)
    with store.read() as conn:
        assert mb_repo.read_mark(conn) == (15 if fold else None)


def test_a_fold_that_fails_is_noted_and_the_verification_goes_on(stepped, store, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    from batteryloop.trace.mb_summary import MassBalanceSummary

    def boom(self, **kw):  # type: ignore[no-untyped-def]
        raise RuntimeError("the store is on fire")

    monkeypatch.setattr(MassBalanceSummary, "refresh", boom)  # the worker, forked after this, inherits it
    ledger, _, _ = stepped
    behind = VerifierBehind(store, ledger.max_future_seconds, fold_mass_balance=True)
    behind.check()
    with caplog.at_level("WARNING"):
        rep = behind.finish()
    assert rep is not None and rep.ok and behind.reason == ""
    assert behind.folded == 0 and behind.fold_errors == ["RuntimeError: the store is on fire"]
    assert "not folded behind the ledger: RuntimeError: the store is on fire" in caplog.text
