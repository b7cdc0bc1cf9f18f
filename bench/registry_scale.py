"""The registry and ledger at national scale on PostgreSQL: bulk load with COPY, then the hot reads.

    .venv/bin/python bench/registry_scale.py [--passports 10000000] [--events 50000000] [--workers 2]
        [--pgdata /tmp/regscale-pg] [--url postgresql://…] [--keep] [--verify-events 200000]

Starts a throw-away PostgreSQL 15 server from Debian's binaries (or uses ``--url``), creates the project's
schema with its own migrations, registers the pilot's participants (demo keys) and battery models through
the services, then fills the store with ``--passports`` passports and ``--events`` ledger events made by
:mod:`batteryloop.sim.registry_bulk` — passports of three models, three plants and eight model-years with
their battery data as the passport service stores it; events forming real chains from mine lots to
recovered material, each in canonical form, hashed and signed (every one) by its actor's demo key, with the
chain links, lots, lot edges, pack sources and custody the ledger derives — written with ``COPY`` (psycopg
3 ``cursor.copy``), ``--workers`` generator processes feeding one loader. The tables' indexes and
constraints, as the migrations made them, are dropped for the load and built again after it.

Then it measures and prints:

* passport GET over HTTP with the real server (``batteryloop serve --workers 2``) on that database: a
  fixed random sample of passport ids (``TABLESAMPLE … REPEATABLE``), one client in sequence (p50/p99)
  and under load from ``wrk`` (32 connections; if installed);
* recall from one mine lot (every pack with its holder), a pack's upstream lineage, the recycled content of
  one model-year (the trace service's mass balance), each through :class:`batteryloop.trace.queries.TraceQueries`;
* the full-chain verification rate (events/s): :meth:`Ledger.verify_store`'s per-range check (body, hash,
  Ed25519 signature, signed links) over the first ``--verify-events`` events with 2 processes, plus each
  sampled pack's chain (:meth:`Ledger.verify_chain`);
* the store's size on disk (``pg_database_size`` and per table, with indexes) and the plans
  (``EXPLAIN ANALYZE``) of the recall and lineage queries.

Drops the database afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import queue
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

from batteryloop.access import Caller
from batteryloop.identity import ParticipantService
from batteryloop.participants import Role
from batteryloop.passport.service import PassportService
from batteryloop.sim import pilot
from batteryloop.sim.registry_bulk import COLUMNS, TABLES, shard_chunks
from batteryloop.sim.supply_chain import demo_signers, register_participants
from batteryloop.store.db import Store, utcnow_iso

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for tests.pg
from tests.pg import PostgresServer, free_port  # noqa: E402  (the suite's throw-away PostgreSQL)

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ server
#: PostgreSQL tuned for a bulk load (tests/pg.py's throw-away server; fsync off: a benchmark, not a store)
BULK_SETTINGS = {
    "wal_level": "minimal", "max_wal_senders": "0", "max_wal_size": "8GB", "shared_buffers": "2GB",
    "maintenance_work_mem": "1GB", "work_mem": "64MB", "effective_cache_size": "12GB", "max_connections": "100",
    "autovacuum": "off", "max_parallel_maintenance_workers": "1",
}


# ------------------------------------------------------------------ load
def set_up(url: str) -> None:
    store = Store(url)
    store.upgrade()
    register_participants(ParticipantService(store), demo_signers())
    svc = PassportService(store, base_url="http://127.0.0.1:8000", issuing_agency_code="BL")
    op = Caller(pilot.AUTOMAKER, frozenset({Role.MANUFACTURER}))
    for m in pilot.battery_models():
        svc.create_model(m, op)
    store.dispose()


def drop_keys(conn: psycopg.Connection) -> list[str]:
    """Drop the bulk tables' indexes and constraints; return the statements that make them again."""
    tables = list(TABLES)
    cons = conn.execute("""
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
        FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('p', 'u', 'f')
        ORDER BY c.contype = 'f' DESC""", (tables,)).fetchall()
    idx = conn.execute("""
        SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)
          AND indexname NOT IN (SELECT conname FROM pg_constraint)""", (tables,)).fetchall()
    # also the foreign keys of other tables that point at the bulk tables
    refs = conn.execute("""
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c WHERE c.contype = 'f' AND c.confrelid::regclass::text = ANY(%s)
          AND NOT c.conrelid::regclass::text = ANY(%s)""", (tables, tables)).fetchall()
    make: list[str] = []
    for t, name, d in refs:
        conn.execute(f'ALTER TABLE {t} DROP CONSTRAINT "{name}"')
    for t, name, d, _ in cons:  # foreign keys first (ORDER BY), then primary and unique keys
        conn.execute(f'ALTER TABLE {t} DROP CONSTRAINT "{name}"')
    for name, _ in idx:
        conn.execute(f'DROP INDEX "{name}"')
    make += [f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {d}' for t, name, d, k in cons if k != "f"]
    make += [d for _, d in idx]
    make += [f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {d}' for t, name, d, k in cons if k == "f"]
    make += [f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {d}' for t, name, d in refs]
    conn.commit()
    return make


def _producer(args: tuple[Any, ...], q: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for chunk in shard_chunks(args):
        q.put(chunk)
    q.put(None)


def load(url: str, passports: int, events: int, workers: int, seed: int,
         max_seconds: float | None = None) -> dict[str, float]:
    epp = events / passports
    stop_at = time.time() + max_seconds if max_seconds else None
    shares = [passports // workers + (1 if s < passports % workers else 0) for s in range(workers)]
    ctx = mp.get_context("fork")
    queues = [ctx.Queue(maxsize=4) for _ in shares]
    procs = [ctx.Process(target=_producer, args=((s, n, seed, epp, 5000, stop_at), q), daemon=True)
             for s, (n, q) in enumerate(zip(shares, queues))]
    for p in procs:
        p.start()
    gseq = 0
    n_pass = n_ev = 0
    rows_out: dict[str, int] = {t: 0 for t in TABLES}
    t0 = time.perf_counter()
    last = t0
    copy_s = 0.0
    live = list(range(len(procs)))
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        while live:
            for s in list(live):
                while True:  # with a timeout, so that an interrupt stops the loader at once
                    try:
                        chunk = queues[s].get(timeout=1)
                        break
                    except queue.Empty:
                        if not procs[s].is_alive():
                            raise RuntimeError(f"generator {s} died") from None
                if chunk is None:
                    live.remove(s)
                    continue
                tc = time.perf_counter()
                rec = utcnow_iso()
                with conn.cursor() as cur:
                    for t in TABLES:
                        rows = chunk.rows[t]
                        if not rows:
                            continue
                        if t == "trace_events":
                            first = gseq + 1
                            rows = [(first + k, *r[1:7], rec, *r[8:]) for k, r in enumerate(rows)]
                            gseq += len(rows)
                        with cur.copy(f"COPY {t} ({', '.join(COLUMNS[t])}) FROM STDIN") as cp:
                            for r in rows:
                                cp.write_row(r)
                        rows_out[t] += len(rows)
                conn.commit()
                copy_s += time.perf_counter() - tc
                n_pass += chunk.passports
                n_ev += chunk.events
                now = time.perf_counter()
                if now - last > 30:
                    last = now
                    print(f"  … {n_pass:,} passports, {n_ev:,} events in {now - t0:,.0f} s "
                          f"({n_ev / (now - t0):,.0f} events/s; COPY {copy_s:,.0f} s; {load_avg()})", flush=True)
    for p in procs:
        p.join()
    took = time.perf_counter() - t0
    print(f"generated, signed and copied {n_pass:,} passports and {n_ev:,} events in {took:,.0f} s "
          f"({n_ev / took:,.0f} events/s, {n_pass / took:,.0f} passports/s; loader busy in COPY {copy_s:,.0f} s)")
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in rows_out.items()))
    return {"load_s": took, "copy_s": copy_s, "passports": n_pass, "events": n_ev}


def rebuild_keys(url: str, make: list[str]) -> float:
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for sql in make:
            t = time.perf_counter()
            conn.execute(sql)
            print(f"  {time.perf_counter() - t:7.1f} s  {sql[:110]}", flush=True)
        t = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        print(f"  {time.perf_counter() - t:7.1f} s  VACUUM (ANALYZE)")
    return time.perf_counter() - t0


def sizes(url: str) -> None:
    with psycopg.connect(url) as conn:
        db = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        print(f"store size on disk: {db / 2**30:,.2f} GiB (pg_database_size)")
        rows = conn.execute("""
            SELECT c.relname, c.reltuples::bigint, pg_table_size(c.oid), pg_indexes_size(c.oid),
                   pg_total_relation_size(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC""").fetchall()
        print(f"  {'table':<22} {'rows':>13} {'table+toast':>12} {'indexes':>10} {'total':>10}  bytes/row")
        for name, n, tsz, isz, tot in rows:
            if tot < 2**20:
                continue
            print(f"  {name:<22} {n:>13,} {tsz / 2**30:>10.2f} G {isz / 2**30:>8.2f} G {tot / 2**30:>8.2f} G"
                  f"  {tot / max(n, 1):,.0f}")


def fill_jumps(url: str) -> None:
    """Recall's jumps over packs (``trace_recall_jumps``, migration 0014) from the loaded lot edges and pack
    sources — what the ledger's appends would have written (the generator writes the rows COPY loads, not
    through the ledger)."""
    from batteryloop.store import trace_reach

    store = Store(url.replace("postgresql://", "postgresql+psycopg://"))
    t = time.perf_counter()
    with store.write() as conn:
        n = trace_reach.rebuild(conn)
    took = time.perf_counter() - t
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) trace_recall_jumps")  # as the loaded tables (index-only scans)
        size = conn.execute("SELECT pg_total_relation_size('trace_recall_jumps')").fetchone()[0]
    print(f"recall's jumps over packs (trace_reach.rebuild, migration 0014's fill): {n:,} rows in {took:,.1f} s, "
          f"{size / 2**20:,.2f} MiB with indexes")
    store.dispose()


# ------------------------------------------------------------------ measurements
def load_avg() -> str:
    return "load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def _proc_cpu_s(counts: Callable[[int, list[str]], bool]) -> float:
    """CPU seconds (user + system) of the live processes ``counts(pid, stat fields after the name)`` selects,
    from /proc (Linux)."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        f = stat[stat.rindex(")") + 2:].split()
        if counts(int(d), f):
            total += int(f[11]) + int(f[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def group_cpu_s(pgid: int) -> float:
    """CPU seconds of the live processes of a process group."""
    return _proc_cpu_s(lambda pid, f: int(f[2]) == pgid)  # field 5, pgrp


def postgres_cpu_s(conn: psycopg.Connection) -> float:
    """CPU seconds of the PostgreSQL server's processes (the postmaster and its children)."""
    ppid = int(Path(conn.execute("SHOW data_directory").fetchone()[0], "postmaster.pid").read_text().split()[0])
    return _proc_cpu_s(lambda pid, f: pid == ppid or int(f[1]) == ppid)  # field 4, ppid


def passport_get(url: str, ids: list[str], seconds: int, server_src: str | None = None,
                 rate_limit: int = 0) -> None:
    port = free_port()
    env = {**os.environ, "BATTERYLOOP_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
           "BATTERYLOOP_RATE_LIMIT_PER_MINUTE": str(rate_limit),
           "BATTERYLOOP_VAR_DIR": tempfile.mkdtemp(prefix="regscale-var-")}
    if server_src:  # another source tree's server (e.g. the code before a change) on the same database
        env["PYTHONPATH"] = server_src
    print(f"server: batteryloop serve --workers 2 from {server_src or 'this tree'}, rate limit "
          f"{rate_limit or 'off'} per minute; client: one httpx.Client in this process, in sequence")
    srv = subprocess.Popen([sys.executable, "-m", "batteryloop.cli", "serve", "--workers", "2", "--port", str(port)],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            for _ in range(600):
                try:
                    if c.get(f"/api/v1/passports/{ids[0]}").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise RuntimeError("the server did not answer: " + (srv.stderr.read().decode()[-2000:] if srv.stderr else ""))
            lat = []
            bad = 0
            pg = psycopg.connect(url)
            cpu0, pg0, t0 = group_cpu_s(srv.pid), postgres_cpu_s(pg), time.perf_counter()
            for pid in ids:  # each id once: cold in the server's caches, mostly cold in PostgreSQL's buffers
                t = time.perf_counter()
                r = c.get(f"/api/v1/passports/{pid}")
                lat.append((time.perf_counter() - t) * 1000)
                bad += r.status_code != 200
            cpu1, pg1, t1 = group_cpu_s(srv.pid), postgres_cpu_s(pg), time.perf_counter()
            pg.close()
            size = len(r.content)
            print(f"passport GET, 2 API workers, one client in sequence, {len(ids):,} sampled ids "
                  f"({size:,}-byte answers, {bad} not 200): p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms, "
                  f"max {max(lat):.1f} ms; CPU per request: API workers {(cpu1 - cpu0) / len(ids) * 1000:.2f} ms, "
                  f"PostgreSQL {(pg1 - pg0) / len(ids) * 1000:.2f} ms (wall {(t1 - t0) / len(ids) * 1000:.2f} ms)")
            lat2 = []
            for pid in ids:  # again: the same ids, warm
                t = time.perf_counter()
                c.get(f"/api/v1/passports/{pid}")
                lat2.append((time.perf_counter() - t) * 1000)
            print(f"  same ids again (warm): p50 {pct(lat2, 50):.2f} ms, p99 {pct(lat2, 99):.2f} ms")
        if shutil.which("wrk"):
            script = Path(tempfile.mkstemp(suffix=".lua")[1])
            script.write_text("ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n"
                              "n = 0\nrequest = function()\n  n = n % #ids + 1\n"
                              "  return wrk.format('GET', '/api/v1/passports/' .. ids[n])\nend\n")
            out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", str(script), base],
                                 capture_output=True, text=True, check=True).stdout
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

            def wpct(p: str) -> str:
                m = re.search(rf"\s{p}%\s+([\d.]+\w+)", out)
                return m.group(1) if m else "?"

            non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(f"passport GET under load (wrk, 32 connections, {seconds} s, same ids): {rps:,.0f} req/s, "
                  f"p50 {wpct('50')}, p99 {wpct('99')}, non-2xx {non2xx.group(1) if non2xx else 0}")
    finally:
        os.killpg(srv.pid, signal.SIGTERM)
        try:
            srv.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(srv.pid, signal.SIGKILL)


def inprocess_get(url: str, ids: list[str], rounds: int = 3) -> None:
    """The passport GET in this process: ASGI calls straight into the app (no socket, no HTTP parsing), so
    that the CPU time per request is the application's own (process_time), and the wall time shows what
    waiting on PostgreSQL adds. Runs whatever ``batteryloop`` is on PYTHONPATH (e.g. the tree before a change)."""
    import asyncio

    os.environ.update({"BATTERYLOOP_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
                       "BATTERYLOOP_RATE_LIMIT_PER_MINUTE": "0",
                       "BATTERYLOOP_VAR_DIR": tempfile.mkdtemp(prefix="regscale-var-")})
    import batteryloop
    from batteryloop.server import create_app

    app = create_app()

    async def call(path: str) -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*")], "client": ("127.0.0.1", 5555),
                 "server": ("127.0.0.1", 8000)}
        out: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(m: Any) -> None:
            out.append(m)

        await app(scope, receive, send)
        return out[0]["status"]

    async def run() -> None:
        for i in ids[:50]:
            assert await call(f"/api/v1/passports/{i}") == 200
        lat = []
        with psycopg.connect(url) as pg:
            c0, p0, w0 = time.process_time(), postgres_cpu_s(pg), time.perf_counter()
            for _ in range(rounds):
                for i in ids:
                    t = time.perf_counter()
                    await call(f"/api/v1/passports/{i}")
                    lat.append((time.perf_counter() - t) * 1000)
            c1, p1, w1 = time.process_time(), postgres_cpu_s(pg), time.perf_counter()
        n = len(lat)
        print(f"passport GET in-process (ASGI, no HTTP; {Path(batteryloop.__file__).parent.parent}), {n:,} requests: "
              f"CPU per request: app {(c1 - c0) / n * 1000:.3f} ms, PostgreSQL {(p1 - p0) / n * 1000:.3f} ms; "
              f"wall {(w1 - w0) / n * 1000:.2f} ms; p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms")

    asyncio.run(run())


def timed(fn: Any, *a: Any, **kw: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn(*a, **kw)
    return (time.perf_counter() - t) * 1000, out


RECALL_PAGE = 1000
"""Packs in the first page of a paged recall (``TraceQueries.recall(…, limit=)``)."""


def recall_through(q: Any, url: str, sample_ores: list[str], first: str) -> None:
    """Recall through recycling from the sampled mine lots and the first 2019 one: the walk of before (every arc,
    ``method="walk"``), the walk over lots and jumps over consumed packs (migration 0014) returning every pack,
    and its first page of RECALL_PAGE packs with the count of all — interleaved, which runs first rotating per
    lot; wall time per call, PostgreSQL's CPU time per call (the server's processes, from /proc) and this
    process's (the service's Python: rows, dicts, holders)."""
    forms = {"walk": {"method": "walk"}, "jumps": {}, "page": {"limit": RECALL_PAGE}}
    ms: dict[str, list[float]] = {f: [] for f in forms}
    cpu: dict[str, float] = {f: 0.0 for f in forms}
    py: dict[str, float] = {f: 0.0 for f in forms}
    counts: list[int] = []
    with psycopg.connect(url) as conn:
        lots = sample_ores + [first] * 4
        for k, o in enumerate(lots):
            order = list(forms)[k % 3:] + list(forms)[:k % 3]
            got = {}
            for f in order:
                c0, p0 = postgres_cpu_s(conn), time.process_time()
                m, got[f] = timed(q.recall, o, **forms[f])
                py[f] += time.process_time() - p0
                cpu[f] += postgres_cpu_s(conn) - c0
                ms[f].append(m)
            assert got["walk"] == got["jumps"], o  # the same packs, holders and all
            assert got["page"]["packs"] == got["jumps"]["packs"][:RECALL_PAGE] and got["page"]["count"] == got["jumps"]["count"]
            counts.append(got["jumps"]["count"])
    n = len(sample_ores)
    name = {"walk": "the walk of before (every arc)", "jumps": "over lots and jumps, every pack",
            "page": f"over lots and jumps, first page of {RECALL_PAGE:,} and the count"}
    print(f"recall through recycling from one mine lot ({n} sampled, {min(counts[:n]):,}–{max(counts[:n]):,} packs each, "
          f"with holders; interleaved; {load_avg()}):")
    for f in forms:
        print(f"  {name[f]:<62} median {statistics.median(ms[f][:n]):7.1f} ms, max {max(ms[f][:n]):7.1f} ms; "
              f"PostgreSQL CPU {cpu[f] / len(lots) * 1000:6.1f} ms, Python {py[f] / len(lots) * 1000:5.1f} ms a call")
    print(f"  the first (2019) mine lot {first}, {counts[-1]:,} packs, median of 4: "
          + ", ".join(f"{f} {statistics.median(ms[f][n:]):.1f} ms" for f in forms))


def recall_reads(url: str) -> None:
    """The recalls of :func:`trace_reads` alone (``--only recall``): through recycling, the three forms."""
    from batteryloop.trace.queries import TraceQueries

    store = Store(url.replace("postgresql://", "postgresql+psycopg://"))
    q = TraceQueries(store)
    with psycopg.connect(url) as conn:
        ores = [r[0] for r in conn.execute("SELECT id FROM trace_lots WHERE kind = 'ore' ORDER BY id").fetchall()]
        first = conn.execute("SELECT id FROM trace_lots WHERE kind = 'ore' ORDER BY produced_at LIMIT 1").fetchone()[0]
    sample_ores = random.Random(7).sample(ores, min(10, len(ores)))
    q.recall(sample_ores[0])  # warm the connection pool
    recall_through(q, url, sample_ores, first)
    store.dispose()


def trace_reads(url: str, verify_events: int, skip_mass_balance: bool) -> None:
    from batteryloop.trace.ledger import Ledger
    from batteryloop.trace.queries import TraceQueries
    from batteryloop.trace._parallel import _init_verify, verify_range

    store = Store(url.replace("postgresql://", "postgresql+psycopg://"))
    q = TraceQueries(store)
    with psycopg.connect(url) as conn:
        ores = [r[0] for r in conn.execute("SELECT id FROM trace_lots WHERE kind = 'ore' ORDER BY id").fetchall()]
        packs = [r[0] for r in conn.execute(
            "SELECT id FROM trace_lots TABLESAMPLE SYSTEM (1) REPEATABLE (7) WHERE kind = 'pack' LIMIT 200").fetchall()]
        years = conn.execute("SELECT model_id, substr(produced_at, 1, 4) y, count(*) FROM trace_lots "
                             "WHERE kind = 'pack' AND model_id = 'EM-NMC811-82' GROUP BY 1, 2 ORDER BY 2").fetchall()
    rng = random.Random(7)
    sample_ores = rng.sample(ores, min(10, len(ores)))
    with psycopg.connect(url) as conn:
        first = conn.execute("SELECT id FROM trace_lots WHERE kind = 'ore' ORDER BY produced_at LIMIT 1").fetchone()[0]
    q.recall(sample_ores[0])  # warm the connection pool
    # the walks as they ran before they became one statement each (a read transaction through the pool, the
    # walk SQL of before, two walks for lineage): the same answers, interleaved with the new for fairness
    old = TraceQueries(store)
    old._walks = None  # type: ignore[assignment]
    before: dict[str, list[float]] = {"lineage": [], "recall": []}
    recall_through(q, url, sample_ores, first)
    for through in (False,):
        rec = []
        for k, o in enumerate(sample_ores):
            rec.append(timed(q.recall, o, through_recycling=through))
        ms = [m for m, _ in rec]
        n_packs = [r["count"] for _, r in rec]
        print(f"recall from one mine lot (stopping at recovered lots; {len(ores):,} mine lots; {len(sample_ores)} "
              f"sampled, {min(n_packs):,}–{max(n_packs):,} packs each, with holders): median "
              f"{statistics.median(ms):.1f} ms, max {max(ms):.1f} ms")
        ms1 = [timed(q.recall, first, through_recycling=through)[0] for _ in range(4)]
        print(f"  the first (2019) mine lot {first}, first-life packs: "
              f"{q.recall(first, through_recycling=through)['count']:,} packs, median of 4 {statistics.median(ms1):.1f} ms")
    lin = []
    for k, p in enumerate(packs):
        if k % 2:
            before["lineage"].append(timed(old.lineage, p)[0])
        lin.append(timed(q.lineage, p)[0])
        if not k % 2:
            before["lineage"].append(timed(old.lineage, p)[0])
    print(f"lineage of one pack ({len(packs)} sampled packs): median {statistics.median(lin):.2f} ms, "
          f"p99 {pct(lin, 99):.2f} ms (before, interleaved: median {statistics.median(before['lineage']):.2f} ms, "
          f"p99 {pct(before['lineage'], 99):.2f} ms)")
    led = Ledger(store)
    ch = [timed(led.verify_chain, p) for p in packs[:100]]
    assert all(r.ok for _, r in ch), [r.problems[:2] for _, r in ch if not r.ok][:1]
    n_ev = sum(r.events_checked for _, r in ch)
    print(f"verify one pack's chain ({len(ch)} packs, {n_ev} events): median {statistics.median([m for m, _ in ch]):.2f} ms, "
          f"{n_ev / (sum(m for m, _ in ch) / 1000):,.0f} events/s")
    # the full-store check, per range of store sequence numbers, as Ledger.verify_store runs it (2 processes)
    with store.read() as conn:
        from batteryloop.store import participants as participants_repo
        texts = dict(participants_repo.public_keys(conn))
    top = verify_events
    batch = 20_000
    ranges = [(lo, min(lo + batch - 1, top), False) for lo in range(1, top + 1, batch)]
    ctx = mp.get_context("fork")
    from concurrent.futures import ProcessPoolExecutor

    t = time.perf_counter()
    seen = 0
    problems = 0
    with ProcessPoolExecutor(2, mp_context=ctx, initializer=_init_verify, initargs=(store.url, texts)) as pool:
        for s, p in pool.map(verify_range, ranges):
            seen += len(s)
            problems += len(p)
    took = time.perf_counter() - t
    print(f"full-chain verification (body, SHA-256, Ed25519 signature, signed links), 2 processes: "
          f"{seen:,} events in {took:.1f} s = {seen / took:,.0f} events/s, {problems} problems")
    year = years[-2][1] if len(years) > 1 else (years[0][1] if years else "2025")  # the last full model-year
    from batteryloop.trace.mb_summary import MassBalanceSummary

    ms_fill, n_fill = timed(MassBalanceSummary(store).refresh)
    print(f"kept mass balance: the first refresh folds in the ledger once: {n_fill:,} events in "
          f"{ms_fill / 1000:,.1f} s")
    kept = sorted(timed(q.recycled_content, model_id="EM-NMC811-82", year=int(year)) for _ in range(5))
    ms_kept, res = kept[2]
    print(f"recycled content of one model-year (EM-NMC811-82, {year}: {res['packs']:,} packs) from the kept "
          f"per-account sums: median of 5 {ms_kept:.1f} ms; "
          + ", ".join(f"{k} {v['total'] * 100:.2f} %" for k, v in res["elements"].items() if v["total"] is not None))
    if skip_mass_balance:
        return
    ms_mb, full = timed(q.recycled_content, model_id="EM-NMC811-82", year=int(year), incremental=False)
    print(f"  the same, mass balance over the whole material graph: {ms_mb / 1000:,.1f} s; "
          + ", ".join(f"{k} {v['total'] * 100:.2f} %" for k, v in full["elements"].items() if v["total"] is not None)
          + f"; largest difference in a share {max(abs((res['elements'][k]['total'] or 0) - (v['total'] or 0)) for k, v in full['elements'].items()):.1e}")
    store.dispose()


def explain(url: str) -> None:
    from batteryloop.store.trace_queries import _RECALL, _UP_LOTS

    # the upstream walk as it was before it stopped at sources (lots with an origin), for comparison
    unbounded = re.sub(r"SELECT e.input_id FROM up JOIN trace_lots o ON o.id = up.id AND o.origin_type IS NULL\s+"
                       r"JOIN trace_lot_edges e ON e.output_id = up.id",
                       "SELECT e.input_id FROM trace_lot_edges e JOIN up ON e.output_id = up.id", _UP_LOTS.text)
    assert unbounded != _UP_LOTS.text
    # recall if it stopped at recovered lots as lineage does (not what the service does: a measurement for
    # the decision whether a recall should follow material through recycling)
    recall = _RECALL[("postgresql", "lot")].text
    stopped = recall.replace("WHERE e.input_id = down.id AND e.output_kind <> 'module'",
                             "WHERE e.input_id = down.id AND e.output_kind <> 'module' AND NOT EXISTS "
                             "(SELECT 1 FROM trace_lots o WHERE o.id = e.output_id AND o.origin_type IS NOT NULL)")
    assert stopped != recall
    with psycopg.connect(url) as conn:
        ore = conn.execute("SELECT id FROM trace_lots WHERE kind = 'ore' ORDER BY produced_at LIMIT 1").fetchone()[0]
        pack = conn.execute("SELECT id FROM trace_lots WHERE kind = 'pack' ORDER BY produced_at DESC LIMIT 1"
                            ).fetchone()[0]
        pid = conn.execute("SELECT id FROM passports ORDER BY id DESC LIMIT 1").fetchone()[0]
        conn.execute("SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_seqscan = off; SET jit = off")
        for name, sql, arg in ((f"recall from the first mine lot {ore}", _RECALL[("postgresql", "lot")].text, ore),
                               ("the same recall stopping at recovered lots (not the service's)", stopped, ore),
                               (f"lineage of the latest pack {pack}", _UP_LOTS.text, pack),
                               ("the same lineage without the stop at sources (before)", unbounded, pack)):
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql.replace(":key", "%s").replace(":root", "%s"),
                                (arg,)).fetchall()
            print(f"EXPLAIN ANALYZE {name}:")
            for (line,) in plan:
                print("   ", line)
        from batteryloop.store.trace_queries import _LINEAGE_PG, _RECALL_PG

        for name, sql, params in ((f"recall in the carried-row form (lot rows carried, packs nothing consumed not "
                                   f"looked past; not the service's through recycling) from {ore}", _RECALL_PG[("lot", True)], {"key": ore}),
                                  ("the same, stopping at recovered lots (the service's first-life recall)", _RECALL_PG[("lot", False)],
                                   {"key": ore}),
                                  (f"lineage in one statement of {pack}", _LINEAGE_PG, {"root": pack})):
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
            print(f"EXPLAIN ANALYZE {name}:")
            for (line,) in plan:
                print("   ", line)
        # the service's recall through recycling: the walk over lots and jumps (migration 0014), whole and one page
        from batteryloop.store.trace_queries import pg_runner, recall_via_jumps

        class Explain:  # runs the start lookups, explains the walk
            def __init__(self, title: str) -> None:
                self.title = title

            def all(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
                if "WITH RECURSIVE w(" in sql:
                    print(f"EXPLAIN ANALYZE {self.title}:")
                    for (line,) in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall():
                        print("   ", line)
                return conn.execute(sql, params).fetchall()

        recall_via_jumps(pg_runner(Explain(f"recall over lots and jumps over consumed packs (the service's through "
                                           f"recycling), every pack, from {ore}")), "postgresql", ore, "lot")
        recall_via_jumps(pg_runner(Explain(f"the same, first page of {RECALL_PAGE:,} and the count")), "postgresql",
                         ore, "lot", RECALL_PAGE)
        conn.execute("RESET ALL")
        plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) SELECT p.*, m.version FROM passports p JOIN battery_models m "
                            "ON m.id = p.model_id WHERE p.id = %s", (pid,)).fetchall()
        print("EXPLAIN ANALYZE passport GET's read:")
        for (line,) in plan:
            print("   ", line)
        print("index use over this run (pg_stat_user_indexes), largest first:")
        for name, table, size, scans in conn.execute(
                "SELECT indexrelname, relname, pg_relation_size(indexrelid), idx_scan FROM pg_stat_user_indexes "
                "WHERE pg_relation_size(indexrelid) > 1000000 ORDER BY 3 DESC").fetchall():
            print(f"  {name:<36} {table:<18} {size / 2**20:8.1f} MB {scans:>9,} scans")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passports", type=int, default=10_000_000)
    ap.add_argument("--events", type=int, default=50_000_000)
    ap.add_argument("--workers", type=int, default=2, help="generator processes (each signs its own shard)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--load-seconds", type=float, help="stop making packs after this long: each shard ends there, "
                    "whole (recycling, lots, custody closed), and the store holds what was made so far")
    ap.add_argument("--pgdata", type=Path, default=Path("/tmp/regscale-pg"))
    ap.add_argument("--url", help="an existing PostgreSQL server's admin URL (a database regscale is made there)")
    ap.add_argument("--keep", action="store_true", help="keep the database and server (prints the URL)")
    ap.add_argument("--reuse", action="store_true", help="with --url: measure the database already loaded")
    ap.add_argument("--db", default="regscale", help="the database's name on the server")
    ap.add_argument("--samples", type=int, default=2000, help="passport ids sampled for the GETs")
    ap.add_argument("--seconds", type=int, default=10, help="wrk run")
    ap.add_argument("--verify-events", type=int, default=200_000)
    ap.add_argument("--skip-mass-balance", action="store_true",
                    help="skip the full recomputation of the mass balance (the kept sums are measured anyway)")
    ap.add_argument("--server-src", help="PYTHONPATH of the API server (e.g. another tree's src, to compare)")
    ap.add_argument("--rate-limit", type=int, default=0,
                    help="the API's rate limit per minute (0: off; high: the shared limiter's cost without 429s)")
    ap.add_argument("--only", choices=("all", "get", "inprocess", "trace", "recall", "explain", "none"), default="all",
                    help="which measurements (none: load only, e.g. with --keep; recall: the recalls of trace only)")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # stop the server on the way out
    if a.events < 4 * a.passports:
        sys.exit("--events: the chains need at least 4 events per passport (production, passport, installation)")
    server = None
    admin = a.url
    if admin is None:
        server = PostgresServer(a.pgdata, BULK_SETTINGS, timeout_s=600)
        admin = server.start().replace("postgresql+psycopg://", "postgresql://")
        print(f"PostgreSQL at {admin} (data in {a.pgdata})")
    url = admin.rsplit("/", 1)[0] + "/" + a.db
    try:
        if not a.reuse:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute("DROP DATABASE IF EXISTS regscale")
                c.execute("CREATE DATABASE regscale")
            set_up(url.replace("postgresql://", "postgresql+psycopg://"))
            with psycopg.connect(url) as conn:
                make = drop_keys(conn)
            print(f"{dt.datetime.now(dt.UTC):%H:%M:%S} loading {a.passports:,} passports and about {a.events:,} events "
                  f"with {a.workers} generator processes")
            load(url, a.passports, a.events, a.workers, a.seed, a.load_seconds)
            print(f"{dt.datetime.now(dt.UTC):%H:%M:%S} building the indexes and keys the migrations define:")
            took = rebuild_keys(url, make)
            print(f"indexes, keys and ANALYZE: {took:,.0f} s")
            fill_jumps(url)
        if a.reuse and not a.server_src and a.only != "inprocess":  # bring its schema to this tree's migrations
            s = Store(url.replace("postgresql://", "postgresql+psycopg://"))
            t = time.perf_counter()
            s.upgrade()
            print(f"migrations brought up to this tree's ({time.perf_counter() - t:,.1f} s)")
            s.dispose()
        sizes(url)
        print(f"{dt.datetime.now(dt.UTC):%H:%M:%S} measuring ({load_avg()})")
        if a.only in ("all", "get"):
            with psycopg.connect(url) as conn:
                ids = [r[0] for r in conn.execute(
                    "SELECT id FROM passports TABLESAMPLE SYSTEM (0.5) REPEATABLE (7) LIMIT %s", (a.samples,)).fetchall()]
            random.Random(7).shuffle(ids)
            passport_get(url, ids, a.seconds, a.server_src, a.rate_limit)
            print(f"({load_avg()})")
        if a.only in ("all", "inprocess"):
            with psycopg.connect(url) as conn:
                ids = [r[0] for r in conn.execute(
                    "SELECT id FROM passports TABLESAMPLE SYSTEM (0.5) REPEATABLE (7) LIMIT %s", (a.samples,)).fetchall()]
            inprocess_get(url, ids)
        if a.only in ("all", "trace"):
            trace_reads(url, a.verify_events, a.skip_mass_balance)
            print(f"({load_avg()})")
        if a.only == "recall":
            recall_reads(url)
            print(f"({load_avg()})")
        if a.only in ("all", "explain"):
            explain(url)
    finally:
        if a.keep:
            print(f"kept: {url}")
        else:
            if a.url and not a.reuse:
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute("DROP DATABASE IF EXISTS regscale WITH (FORCE)")
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
