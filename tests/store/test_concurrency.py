"""Many writers on one passport and one ledger chain at once — threads and processes, SQLite and PostgreSQL.

What must hold whatever the interleaving:

* no forked chain: the pack's ledger chain is 1..n with each link on the previous hash, and the whole
  ledger verifies; the passport's version chain is linear and verifies;
* no lost update: every writer retries on Conflict (optimistic versions), so the passport ends with
  exactly one version per acknowledged update, and the chain with one link per acknowledged event;
* no duplicate event: writers racing to store the same signed events store each exactly once;
* transient database failures (PostgreSQL deadlocks and serialization failures, SQLite busy) are
  retried by the store with bounded backoff — provoked for real below, not simulated.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from batteryloop.access import Caller
from batteryloop.errors import Conflict
from batteryloop.participants import Role
from batteryloop.sim import pilot
from batteryloop.store import trace_tables as tt
from batteryloop.store.db import Store, StoreBusy, is_transient
from batteryloop.store.tables import participants, passports
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.ledger import Ledger
from batteryloop.sim.supply_chain import attach_demo_keys, demo_signers

EM = pilot.AUTOMAKER


# ------------------------------------------------------------------------------ set-up
def _seed(url: str, n_passports: int = 1) -> list[str]:
    """The pilot's participants (with their demo keys) and models, and ``n_passports`` passports."""
    from tests.conftest import make_services, seed_pilot

    store = Store(url)
    svc = make_services(store)
    data = seed_pilot(svc)
    attach_demo_keys(store, demo_signers())
    r = svc.passports.import_passports(pilot.generate_batteries(n_passports, seed=11), data["callers"][EM])
    assert r.stored == n_passports, r.errors
    store.dispose()
    return r.ids


def _operator() -> Caller:
    p = next(p for p in pilot.PARTICIPANTS if p["id"] == EM)
    return Caller(EM, frozenset(Role(r) for r in p["roles"]))


def _soh_event(pid: str, writer: int, k: int) -> dict[str, Any]:
    return {"id": f"{pid}-w{writer}-e{k}", "kind": "soh_update", "actor": EM,
            "occurred_at": f"2026-04-01T{writer % 24:02d}:{k // 60:02d}:{k % 60:02d}Z",
            "place": {"country": "DE", "site": "BMS gateway"}, "subjects": [pid],
            "data": {"soh_capacity_pct": round(99.0 - k * 0.01, 3)}}


# ------------------------------------------------------------------------------ writers
# Top-level functions: processes (spawn) run them too. Each builds its own store and services, as a
# separate API worker would.
def passport_writer(url: str, pid: str, writer: int, n: int) -> dict[str, Any]:
    """Apply ``n`` updates, each retried on Conflict until acknowledged."""
    from tests.conftest import make_services

    store = Store(url)
    svc = make_services(store).passports
    op = _operator()
    applied, conflicts = [], 0
    for k in range(n):
        while True:
            version = svc.get_record(pid).version
            try:
                svc.update_passport(pid, {"usage": {"deep_discharge_events": writer * 1000 + k}}, op,
                                    reason=f"w{writer}-u{k}", expected_version=version)
                applied.append(f"w{writer}-u{k}")
                break
            except Conflict:
                conflicts += 1
    store.dispose()
    return {"applied": applied, "conflicts": conflicts, "retries": store.retries}


def ledger_writer(url: str, pid: str, writer: int, n: int) -> dict[str, Any]:
    """Append ``n`` events to the pack's chain (re-signed against the new head when beaten)."""
    store = Store(url)
    ledger = Ledger(store)
    signer = demo_signers()[EM]
    stored, conflicts = [], 0
    for k in range(n):
        while True:
            try:
                r = ledger.record(_soh_event(pid, writer, k), signer)
                assert r.status == "stored"
                stored.append(r.event_id)
                break
            except Conflict:  # StaleChain past record()'s own attempts, or StoreBusy
                conflicts += 1
    store.dispose()
    return {"stored": stored, "conflicts": conflicts, "retries": store.retries}


def same_events_writer(url: str, wires: list[dict[str, Any]]) -> dict[str, Any]:
    """Submit the same pre-signed events, in order, as every other writer does."""
    store = Store(url)
    ledger = Ledger(store)
    statuses: dict[str, str] = {}
    for w in wires:
        while True:
            try:
                statuses[w["id"]] = ledger.submit(w).status
                break
            except StoreBusy:
                pass
    store.dispose()
    return {"statuses": statuses, "retries": store.retries}


def _run(mode: str, jobs: list[tuple[Any, tuple[Any, ...]]]) -> list[dict[str, Any]]:
    """Run every job at once, on threads or on processes (spawned: each its own interpreter)."""
    if mode == "threads":
        with ThreadPoolExecutor(len(jobs)) as pool:
            return [f.result() for f in [pool.submit(fn, *args) for fn, args in jobs]]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(len(jobs)) as pool:
        return [r.get(timeout=240) for r in [pool.apply_async(fn, args) for fn, args in jobs]]


# ------------------------------------------------------------------------------ the races
@pytest.mark.parametrize("mode", ["threads", pytest.param("processes", marks=pytest.mark.slow)])
def test_writers_on_one_passport_and_its_chain(store_url: str, mode: str) -> None:
    (pid,) = _seed(store_url)
    n_writers, per = (4, 6) if mode == "threads" else (2, 6)
    jobs = [(passport_writer, (store_url, pid, w, per)) for w in range(n_writers)]
    jobs += [(ledger_writer, (store_url, pid, w, per)) for w in range(n_writers)]
    results = _run(mode, jobs)

    applied = [a for r in results for a in r.get("applied", [])]
    stored = [e for r in results for e in r.get("stored", [])]
    assert len(applied) == len(stored) == n_writers * per

    store = Store(store_url)
    try:
        from tests.conftest import make_services

        svc = make_services(store).passports
        hist = svc.history(pid)
        # no lost update: one version per acknowledged write, each with its own reason, linear chain
        assert len(hist) == 1 + len(applied)
        assert [h["version"] for h in hist] == list(range(1, len(hist) + 1))
        assert sorted(h["reason"] for h in hist[1:]) == sorted(applied)
        assert svc.get_record(pid).version == len(hist)
        assert svc.verify(pid)["ok"]

        ledger = Ledger(store)
        chain = ledger.chain(pid)
        # no fork: positions 1..n, each link on the previous hash; no duplicate: every event once
        assert [c["seq"] for c in chain] == list(range(1, len(stored) + 1))
        for a, b in zip(chain, chain[1:]):
            assert b["event"]["prev"][pid] == a["hash"]
        assert sorted(c["event"]["id"] for c in chain) == sorted(stored)
        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(tt.trace_events)).scalar() == len(stored)
        assert ledger.verify_store().ok
    finally:
        store.dispose()


@pytest.mark.parametrize("mode", ["threads", pytest.param("processes", marks=pytest.mark.slow)])
def test_racing_submissions_of_the_same_events_store_each_once(store_url: str, mode: str) -> None:
    (pid,) = _seed(store_url)
    cw = ChainWriter(demo_signers())
    wires = [cw.wire(_soh_event(pid, 0, k)) for k in range(12)]
    n_writers = 5 if mode == "threads" else 3
    results = _run(mode, [(same_events_writer, (store_url, wires))] * n_writers)

    per_event = {w["id"]: Counter(r["statuses"][w["id"]] for r in results) for w in wires}
    for eid, c in per_event.items():
        assert c == Counter({"stored": 1, "duplicate": n_writers - 1}), (eid, c)
    store = Store(store_url)
    try:
        ledger = Ledger(store)
        assert [c["event"]["id"] for c in ledger.chain(pid)] == [w["id"] for w in wires]
        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(tt.trace_events)).scalar() == len(wires)
        assert ledger.verify_store().ok
    finally:
        store.dispose()


# ------------------------------------------------------------------- transient failures are retried
@pytest.mark.postgres
def test_postgres_deadlock_is_retried(request: pytest.FixtureRequest) -> None:
    """Two transactions lock two passports in opposite orders: PostgreSQL aborts one (40P01), the store
    runs it again, and both writes land."""
    from tests.conftest import _new_pg_db

    store_url = _new_pg_db(request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_template"))
    a, b = _seed(store_url, 2)
    store = Store(store_url)
    barrier = threading.Barrier(2)
    tries: Counter[str] = Counter()

    def tx(first: str, second: str, tag: str) -> str:
        def fn(conn: Any) -> str:
            tries[tag] += 1
            conn.execute(text("SET LOCAL deadlock_timeout = '100ms'"))
            conn.execute(passports.update().where(passports.c.id == first).values(updated_at=tag))
            if tries[tag] == 1:
                barrier.wait(timeout=10)  # both hold their first lock before either takes its second
            conn.execute(passports.update().where(passports.c.id == second).values(updated_at=tag))
            return tag
        return store.run_write(fn)

    try:
        with ThreadPoolExecutor(2) as pool:
            done = [f.result() for f in [pool.submit(tx, a, b, "ab"), pool.submit(tx, b, a, "ba")]]
        assert done == ["ab", "ba"]
        assert store.retries == 1 and sorted(tries.values()) == [1, 2]
        with store.read() as conn:
            final = {r.id: r.updated_at for r in conn.execute(select(passports.c.id, passports.c.updated_at))}
        # the retried transaction committed last, so both rows carry its tag
        last = "ab" if tries["ab"] == 2 else "ba"
        assert final == {a: last, b: last}
    finally:
        store.dispose()


def _hold_sqlite_lock(path: str, seconds: float, started: threading.Event) -> None:
    con = sqlite3.connect(path, isolation_level=None, timeout=10)
    con.execute("BEGIN IMMEDIATE")
    started.set()
    time.sleep(seconds)
    con.execute("COMMIT")
    con.close()


def test_sqlite_busy_is_retried_then_given_up(tmp_path: Any) -> None:
    path = f"{tmp_path}/busy.db"
    Store(f"sqlite:///{path}").upgrade()
    store = Store(f"sqlite:///{path}", busy_timeout_ms=20)  # give up waiting fast, so the store must retry
    row = {"id": "P-BUSY", "id_scheme": "test", "name": "busy", "country": "DE", "roles": "[]", "created_at": "x"}

    started = threading.Event()
    holder = threading.Thread(target=_hold_sqlite_lock, args=(path, 0.25, started))
    holder.start()
    started.wait(5)
    store.run_write(lambda conn: conn.execute(insert(participants), row))
    holder.join()
    assert store.retries >= 1
    with store.read() as conn:
        assert conn.execute(select(participants.c.name).where(participants.c.id == "P-BUSY")).scalar() == "busy"

    # bounded: a lock held longer than every attempt ends in a clear StoreBusy, and nothing is written
    started.clear()
    holder = threading.Thread(target=_hold_sqlite_lock, args=(path, 1.5, started))
    holder.start()
    started.wait(5)
    t0 = time.monotonic()
    with pytest.raises(StoreBusy, match="busy through 3 attempts"):
        store.run_write(lambda conn: conn.execute(insert(participants), {**row, "id": "P-NEVER"}), attempts=3)
    assert time.monotonic() - t0 < 1.5
    holder.join()
    with store.read() as conn:
        assert conn.execute(select(participants.c.id).where(participants.c.id == "P-NEVER")).first() is None

    # a real error (here a duplicate key) is not retried
    before = store.retries
    with pytest.raises(Exception) as info:
        store.run_write(lambda conn: conn.execute(insert(participants), row))
    assert not is_transient(info.value) and store.retries == before
    store.dispose()


def test_busy_sqlite_during_passport_update_and_ledger_append_is_retried(tmp_path: Any) -> None:
    """The services' own writes go through the retry: a lock held for a moment delays them, never fails them."""
    path = f"{tmp_path}/svc.db"
    Store(f"sqlite:///{path}").upgrade()
    (pid,) = _seed(f"sqlite:///{path}")
    store = Store(f"sqlite:///{path}", busy_timeout_ms=20)
    from tests.conftest import make_services

    svc = make_services(store).passports
    for attempt_write in (
        lambda: svc.update_passport(pid, {"usage": {"deep_discharge_events": 7}}, _operator(), reason="busy"),
        lambda: Ledger(store).record(_soh_event(pid, 0, 0), demo_signers()[EM]),
    ):
        before = store.retries
        started = threading.Event()
        holder = threading.Thread(target=_hold_sqlite_lock, args=(path, 0.2, started))
        holder.start()
        started.wait(5)
        attempt_write()
        holder.join()
        assert store.retries > before
    assert svc.history(pid)[-1]["reason"] == "busy"
    assert len(Ledger(store).chain(pid)) == 1
    store.dispose()


def test_racing_imports_of_the_same_batch_store_it_once(store_url: str) -> None:
    """Several imports of the same passports at once: one stores the batch, the others report 409."""
    _seed(store_url, 1)
    from tests.conftest import make_services

    batch = list(pilot.generate_batteries(40, seed=23))
    store = Store(store_url)
    svc = make_services(store).passports
    barrier = threading.Barrier(4)

    def go(_: int) -> Any:
        barrier.wait(timeout=10)
        return svc.import_passports(batch, _operator())

    try:
        with ThreadPoolExecutor(4) as pool:
            reports = list(pool.map(go, range(4)))
        assert sorted(r.stored for r in reports) == [0, 0, 0, 40]
        for r in reports:
            if not r.stored:
                assert r.errors and r.errors[0]["status"] == 409 and not r.ids
        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(passports)).scalar() == 41
    finally:
        store.dispose()
