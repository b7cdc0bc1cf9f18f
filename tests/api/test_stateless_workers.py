"""The API process keeps no state of its own on PostgreSQL: two app instances (two workers or hosts) over one
database share the rate limit, and what one writes the other reads at once — passports, battery models (whose
cut views both cache, keyed by the model version read from the database) and token revocations (after the
token cache's documented 2 s)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batteryloop.api import ratelimit
from batteryloop.server import create_app
from batteryloop.sim import pilot
from batteryloop.store import ratelimit as buckets
from batteryloop.store.db import Store
from tests.conftest import _new_pg_db, make_services, seed_pilot

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_workers(postgres_url: str, postgres_template: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Two apps, each with its own services and connection pool, on one PostgreSQL database; 60 anonymous
    requests a minute (bursts of 12), the clock stopped so that counts are exact."""
    url = _new_pg_db(postgres_url, postgres_template)
    stores = [Store(url), Store(url)]
    svcs = [make_services(s) for s in stores]
    tokens = seed_pilot(svcs[0])["tokens"]
    monkeypatch.setattr(ratelimit, "wallclock", lambda: 1.7e9)
    apps = []
    for svc in svcs:
        settings = dataclasses.replace(svc.settings, rate_limit_per_minute=60, rate_limit_participant_per_minute=120)
        apps.append(TestClient(create_app(settings, services=svc), client=("10.1.2.3", 4000)))
    yield apps, tokens, stores
    for s in stores:
        s.dispose()


def test_two_workers_share_one_rate_limit(two_workers: Any) -> None:
    (a, b), tokens, _ = two_workers
    got = [(a if i % 2 else b).get("/api/v1/health").status_code for i in range(16)]
    assert got[:12] == [200] * 12 and got[12:] == [429] * 4  # 12 in all, not 12 each
    r = a.get("/api/v1/health")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    me = {"Authorization": f"Bearer {tokens[pilot.AUTOMAKER]}"}
    assert [b.get("/api/v1/health", headers=me).status_code for _ in range(24)] == [200] * 24
    assert a.get("/api/v1/health", headers=me).status_code == 429  # the participant's bucket, shared too


def test_concurrent_takes_never_give_more_than_the_burst(two_workers: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _, _, stores = two_workers
    shared = [buckets.SharedBuckets(s) for s in stores]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: shared[i % 2].take("a:198.51.100.1", 1.0, 20.0, 1.7e9)[0], range(60)))
    assert sum(got) == 20
    # refill: 5 s later at 1 token a second, five more
    assert [shared[0].take("a:198.51.100.1", 1.0, 20.0, 1.7e9 + 5)[0] for _ in range(6)] == [True] * 5 + [False]


def test_idle_buckets_are_pruned(two_workers: Any) -> None:
    _, _, stores = two_workers
    for i in range(5):
        buckets.take(stores[0], f"a:192.0.2.{i}", rate=1.0, burst=10.0, now=1000.0 + i)
    assert buckets.prune(stores[0], before=1003.0) == 3
    # a pruned key starts again with a full bucket, as if it had waited
    assert buckets.take(stores[0], "a:192.0.2.0", rate=1.0, burst=10.0, now=1004.0) == (True, 9.0)
    # SharedBuckets prunes every prune_every_s (the API's limiter asks prune_due and prunes in a worker thread)
    shared = buckets.SharedBuckets(stores[0], prune_every_s=60.0)
    assert shared.prune_due(1004.0) and shared.prune_idle(1004.0, 1.0, 10.0) == 0  # idle 600 s at least: none yet
    assert not shared.prune_due(1063.0) and shared.prune_due(1064.0)
    assert shared.prune_idle(1700.0, 1.0, 10.0) == 3  # .0, .3 and .4, last taken at 1003–1004: idle over 600 s


def _traced(conn: Any, path: Any, fn: Any) -> tuple[Any, str]:
    """``fn()`` with libpq tracing ``conn``'s wire into ``path`` (psycopg's ``PGconn.trace``): its answer and the wire."""
    with path.open("w") as f:
        conn.pgconn.trace(f.fileno())
        try:
            out = fn()
        finally:
            conn.pgconn.untrace()
    return out, path.read_text()


def test_a_take_costs_one_round_trip(two_workers: Any, tmp_path: Any) -> None:
    """The wire, traced by libpq: the rate limiter's take is the upsert alone, in autocommit on a connection
    of its own — one ReadyForQuery; no pool checkout ping, no BEGIN and no COMMIT round trips (through the
    engine's pool it was two: the ping and the upsert)."""
    shared = buckets.SharedBuckets(two_workers[2][0], prune_every_s=1e12)
    shared._pruned_at = 1.7e9  # no prune in this take
    assert shared.take("a:203.0.113.9", 1.0, 10.0, 1.7e9) == (True, 9.0)
    conn = shared._conns._idle[-1]  # the connection the next take uses
    got, wire = _traced(conn, tmp_path / "libpq.trace", lambda: shared.take("a:203.0.113.9", 1.0, 10.0, 1.7e9))
    assert got == (True, 8.0)
    assert wire.count("ReadyForQuery") == 1 and "BEGIN" not in wire and "COMMIT" not in wire, wire
    # its commit does not wait for the disk (a lost take gives a token back; the row lock is not held for a flush)
    assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "off"
    # the engine's pool path (buckets.take without connections of its own) still works and shares the bucket
    assert buckets.take(two_workers[2][0], "a:203.0.113.9", rate=1.0, burst=10.0, now=1.7e9) == (True, 7.0)


def test_a_passport_read_costs_one_round_trip_and_survives_a_lost_connection(two_workers: Any,
                                                                              tmp_path: Any) -> None:
    """The passport GET's read (FastReader on PostgreSQL) is one SELECT in autocommit — one ReadyForQuery; when
    the server drops its connection (pg_terminate_backend, as a restart would), the next GET reads again on a
    new connection instead of failing."""
    import psycopg

    (a, _), tokens, stores = two_workers
    op = {"Authorization": f"Bearer {tokens[pilot.AUTOMAKER]}"}
    rec = next(pilot.generate_batteries(1, seed=5))
    pid = a.post("/api/v1/passports", json=rec, headers=op).json()["passport_id"]
    assert a.get(f"/api/v1/passports/{pid}").status_code == 200
    reader = a.app.state.services.passports._fast._pg  # type: ignore[attr-defined]
    conn = reader._idle[-1]
    r, wire = _traced(conn, tmp_path / "libpq.trace", lambda: a.get(f"/api/v1/passports/{pid}"))
    assert r.status_code == 200 and r.json()["passport_id"] == pid
    assert wire.count("ReadyForQuery") == 1 and "BEGIN" not in wire and "COMMIT" not in wire, wire
    with psycopg.connect(stores[0].url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    r = a.get(f"/api/v1/passports/{pid}")
    assert r.status_code == 200 and r.json()["passport_id"] == pid
    assert conn.closed and reader._idle and reader._idle[-1] is not conn


def test_what_one_worker_writes_the_other_reads(two_workers: Any) -> None:
    (a, b), tokens, _ = two_workers
    op = {"Authorization": f"Bearer {tokens[pilot.AUTOMAKER]}"}
    rec = next(pilot.generate_batteries(1, seed=4))
    pid = a.post("/api/v1/passports", json=rec, headers=op).json()["passport_id"]
    assert b.get(f"/api/v1/passports/{pid}", headers=op).json()["version"] == 1  # b caches the model view now
    assert a.patch(f"/api/v1/passports/{pid}?if_version=1", json={"state_of_health": {"soh_capacity_pct": 88.0}},
                   headers=op).status_code == 200
    seen = b.get(f"/api/v1/passports/{pid}", headers=op).json()
    assert seen["version"] == 2 and seen["battery"]["state_of_health"]["soh_capacity_pct"] == 88.0
    # a model change through a is in b's next passport view: the cached cut view is keyed by model version
    assert b.get(f"/api/v1/passports/{pid}", headers=op).json()["model"]["warranty_years"] == 8
    r = a.patch(f"/api/v1/models/{rec['model_id']}", json={"warranty_years": 11}, headers=op)
    assert r.status_code == 200, r.text
    assert b.get(f"/api/v1/passports/{pid}", headers=op).json()["model"]["warranty_years"] == 11
    # a token revoked through a is refused by b once b's token cache (2 s) has run out
    rec_h = {"Authorization": f"Bearer {tokens[pilot.RECYCLER_EU]}"}
    assert b.get("/api/v1/passports", headers=rec_h).status_code == 200
    assert a.delete(f"/api/v1/participants/{pilot.RECYCLER_EU}/tokens",
                    headers={"Authorization": "Bearer admin-secret-token"}).status_code == 200
    time.sleep(2.1)
    assert b.get("/api/v1/passports", headers=rec_h).status_code == 401


def test_the_prune_holds_no_bucket_lock_across_a_flush(two_workers: Any, tmp_path: Any) -> None:
    """The take runs on the event loop and waits on its bucket's row lock: the prune's DELETE, which locks the idle
    buckets it deletes, must not hold them across a WAL flush either (docs/reliability.md: 'a bucket's row lock is
    not held across a WAL flush'). It runs as the take does — one statement in autocommit on the limiter's
    sessions (synchronous_commit off) — not in a pool transaction whose COMMIT waits for the disk."""
    store = two_workers[2][0]
    shared = buckets.SharedBuckets(store, prune_every_s=1e12)
    shared._pruned_at = 1.7e9
    for i in range(3):
        assert shared.take(f"a:198.51.100.{i}", 1.0, 10.0, 1.7e9 + i)[0]
    conn = shared._conns._idle[-1]  # the connection the next statement uses
    got, wire = _traced(conn, tmp_path / "prune.trace", lambda: shared.prune_idle(1.7e9 + 601.5, 1.0, 10.0))
    assert got == 2  # the buckets last used at 1.7e9 and 1.7e9 + 1: idle over 600 s
    assert "DELETE FROM rate_limit_buckets" in wire and "BEGIN" not in wire and "COMMIT" not in wire, wire
    assert wire.count("ReadyForQuery") == 1
    assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "off"
    assert buckets.prune(store, before=1.7e9 + 10) == 1  # the engine's pool path still works


def test_a_bucket_locked_elsewhere_gives_a_503_in_bounded_time_not_a_stalled_worker(two_workers: Any) -> None:
    """The take runs on the worker's event loop: if its bucket's row stays locked (another session holding it in a
    long transaction, a stuck server), the request must be refused after the limiter's lock timeout — a 503 that
    says why, never a pass (fail closed) — instead of the whole worker waiting for as long as the lock is held."""
    import psycopg

    (a, _b), _, stores = two_workers
    assert a.get("/api/v1/health").status_code == 200  # the bucket's row exists now
    url = stores[0].engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    import threading

    with psycopg.connect(url) as holder:
        holder.execute("SELECT 1 FROM rate_limit_buckets WHERE key = %s FOR UPDATE", ("a:10.1.2.3",))
        release = threading.Timer(10.0, holder.rollback)  # a limiter without timeouts waits for this (and passes)
        release.start()
        t0 = time.monotonic()
        r = a.get("/api/v1/health")
        waited = time.monotonic() - t0
        release.cancel()
        if release.finished.is_set() is False:
            holder.rollback()
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1" and "did not answer in time" in r.json()["detail"]
    assert "LockNotAvailable" in r.json()["detail"]
    assert buckets.LOCK_TIMEOUT_MS / 1000 <= waited < buckets.LOCK_TIMEOUT_MS / 1000 + 5
    assert a.get("/api/v1/health").status_code == 200  # the lock released: served again


def test_a_passport_read_behind_a_table_lock_gives_a_503_in_bounded_time(two_workers: Any) -> None:
    """The passport GET's one read (store/fastread.py) has bounded waits: behind a lock no read can pass (DDL such
    as a migration's ALTER TABLE holds ACCESS EXCLUSIVE on the table) the GET is refused after the read's lock
    timeout with a 503 that says why, instead of holding the worker's thread for as long as the lock is held."""
    import threading

    import psycopg

    from batteryloop.store import fastread

    (a, _b), tokens, stores = two_workers
    url = stores[0].engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    op = {"Authorization": f"Bearer {tokens[pilot.AUTOMAKER]}"}
    pid = a.post("/api/v1/passports", json=next(pilot.generate_batteries(1, seed=6)), headers=op).json()["passport_id"]
    assert a.get(f"/api/v1/passports/{pid}").status_code == 200  # the reader's connection is open and warm
    with psycopg.connect(url) as holder:
        holder.execute("LOCK TABLE passports IN ACCESS EXCLUSIVE MODE")
        release = threading.Timer(15.0, holder.rollback)  # a read without timeouts waits for this (and then answers)
        release.start()
        t0 = time.monotonic()
        r = a.get(f"/api/v1/passports/{pid}")
        waited = time.monotonic() - t0
        release.cancel()
        if not release.finished.is_set():
            holder.rollback()
    assert r.status_code == 503, r.text
    assert "did not answer the read in time" in r.json()["detail"] and "LockNotAvailable" in r.json()["detail"]
    assert fastread.READ_LOCK_TIMEOUT_MS / 1000 <= waited < fastread.READ_LOCK_TIMEOUT_MS / 1000 + 5
    assert a.get(f"/api/v1/passports/{pid}").status_code == 200  # the lock released: served again
