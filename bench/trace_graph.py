"""Lineage, recall and full-store verification on a generated pilot of 100,000 packs.

    .venv/bin/python bench/trace_graph.py [--packs 100000] [--db /tmp/trace_pilot.db]

The pilot (batteryloop.sim.supply_chain.supply_chain: mines, refiners, recyclers, cathode, cells, modules,
packs, passports, installations) is written through the ledger — every event signed, verified and
chained — into a SQLite file, kept for re-runs (delete it to regenerate). Then it prints:

* the store's size (events, chain links, lots, lot edges);
* recall from one mine lot (every pack containing its material, with holder): median and max over
  mine lots, over lots and jumps (the service's) and the walk of every arc (``method="walk"``) interleaved,
  and that walk's recursive SQL alone;
* upstream lineage of one pack (every lot, origin shares per element): median over packs, and the
  recursive SQL alone;
* full-store verification time (every event's hash and signature, every chain link).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from sqlalchemy import func, select

from batteryloop.identity import ParticipantService
from batteryloop.store.db import Store
from batteryloop.store.trace_tables import trace_chain, trace_events, trace_lot_edges, trace_lots
from batteryloop.trace.ledger import Ledger
from batteryloop.store.trace_queries import _RECALL, _UP, _UP_LOTS, _driver_rows
from batteryloop.trace.queries import TraceQueries
from batteryloop.sim.supply_chain import demo_signers, register_participants, supply_chain


def timed(fn, *args, **kw):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args, **kw)
    return (time.perf_counter() - t) * 1000, out


def build(store: Store, packs: int, workers: int) -> None:
    register_participants(ParticipantService(store), demo_signers())
    ledger = Ledger(store)
    t = time.perf_counter()
    batch: list[dict] = []
    n = 0
    for ev in supply_chain(packs, seed=11):
        batch.append(ev)
        if len(batch) >= 50_000:
            rep = ledger.ingest(batch, workers=workers)
            assert rep.ok, rep.error
            n += len(batch)
            batch = []
            print(f"  … {n:,} events ({time.perf_counter() - t:.0f} s)", flush=True)
    if batch:
        rep = ledger.ingest(batch, workers=workers)
        assert rep.ok, rep.error
        n += len(batch)
    print(f"generated, signed and ingested {n:,} events in {time.perf_counter() - t:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packs", type=int, default=100_000)
    ap.add_argument("--db", default=None)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--skip-verify", action="store_true", help="queries only")
    a = ap.parse_args()
    db = Path(a.db or f"/tmp/batteryloop_trace_pilot_{a.packs}.db")
    fresh = not db.exists()
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    if fresh:
        build(store, a.packs, a.workers)
    with store.read() as c:
        counts = {t.name: c.execute(select(func.count()).select_from(t)).scalar()
                  for t in (trace_events, trace_chain, trace_lots, trace_lot_edges)}
        ores = [r.id for r in c.execute(select(trace_lots.c.id).where(trace_lots.c.kind == "ore").order_by(trace_lots.c.id))]
        packs = [r.id for r in c.execute(select(trace_lots.c.id).where(trace_lots.c.kind == "pack")
                                         .order_by(trace_lots.c.id).limit(200))]
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus (other processes share them)")
    print(f"store {db} ({db.stat().st_size / 1e6:,.0f} MB): " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    q = TraceQueries(store)
    for ore in ores[:20]:  # warm the page cache: the figures are for a store that is in use
        q.recall(ore)
    for p in packs:
        q.lineage(p)
    rec, walk = [], []
    for k, ore in enumerate(ores[:20]):  # over lots and jumps (the service's) and the walk of every arc, alternating
        if k % 2:
            walk.append(timed(q.recall, ore, method="walk")[0])
        ms, r = timed(q.recall, ore)
        rec.append((ms, r["count"]))
        if not k % 2:
            walk.append(timed(q.recall, ore, method="walk")[0])
    raw = []
    with store.read() as c:
        for ore in ores[:20]:
            ms, rows = timed(lambda o=ore: _driver_rows(c, _RECALL[("sqlite", "lot")], {"key": o}))
            raw.append(ms)
    print(f"recall from a mine lot ({len(rec)} lots, {min(n for _, n in rec):,}–{max(n for _, n in rec):,} packs each): "
          f"median {statistics.median(m for m, _ in rec):.1f} ms, max {max(m for m, _ in rec):.1f} ms "
          f"(the walk of every arc, interleaved: median {statistics.median(walk):.1f} ms, max {max(walk):.1f} ms); "
          f"that walk's recursive SQL alone median {statistics.median(raw):.1f} ms")
    lin = []
    for p in packs:
        ms, r = timed(q.lineage, p)
        lin.append(ms)
    raw = []
    with store.read() as c:
        for p in packs:
            ms, _ = timed(lambda p=p: (_driver_rows(c, _UP_LOTS, {"root": p}), _driver_rows(c, _UP, {"root": p})))
            raw.append(ms)
    print(f"upstream lineage of a pack ({len(lin)} packs, {len(r['lots'])} lots each): median "
          f"{statistics.median(lin):.2f} ms, p95 {sorted(lin)[int(len(lin) * 0.95)]:.2f} ms; "
          f"recursive SQL alone median {statistics.median(raw):.2f} ms")
    if a.skip_verify:
        return
    ledger = Ledger(store)
    for w in (1, a.workers):
        t = time.perf_counter()
        v = ledger.verify_store(workers=w)
        print(f"full-store verification, {w} process(es): {time.perf_counter() - t:.1f} s for "
              f"{v.events_checked:,} events and {v.links_checked:,} links, ok={v.ok}")


if __name__ == "__main__":
    main()
