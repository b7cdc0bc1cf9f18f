"""Signed-event ingest on SQLite with full verification, against the raw Ed25519 verification rate.

    .venv/bin/python bench/trace_ingest.py [--events 40000] [--workers 2]

Prints, from one run on this machine:
* the raw single-thread rate of the ledger's Ed25519 check (`trace.keys.verify_signature`, libsodium; distinct events and signatures);
* the ingest rate of signed, chained events from a JSON-lines file into a fresh SQLite store — each
  event validated against its kind's schema, canonicalized, hashed, its signature verified against
  the actor's registered key, its chain links checked against the heads, and stored (event row, chain
  links, custody) in one all-or-nothing transaction — with ``--workers`` processes and with one;
* the same for the supply-chain mix (multi-subject transformation events with lots and edges);
* full-store verification time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import orjson
from batteryloop.identity import ParticipantService
from batteryloop.sim import pilot
from batteryloop.store.db import Store
from batteryloop.trace.client import ChainWriter
from batteryloop.trace.keys import Signer, verify_signature
from batteryloop.trace.ledger import Ledger
from batteryloop.sim.supply_chain import demo_signers, register_participants, supply_chain


def raw_verify_rate(n: int = 20000) -> float:
    """Signature checks a second with the ledger's own check (trace.keys.verify_signature: libsodium)."""
    signer = Signer.generate("BPNL0000000000R1")
    pub = signer.public_key
    hashes = [os.urandom(32).hex() for _ in range(n)]
    sigs = [signer.sign_hash(h) for h in hashes]
    t = time.perf_counter()
    for h, s in zip(hashes, sigs, strict=True):
        if not verify_signature(pub, h, s):
            raise AssertionError("a signature made here did not verify")
    return n / (time.perf_counter() - t)


def fresh(tmp: Path, name: str) -> tuple[Store, Ledger]:
    store = Store(f"sqlite:///{tmp}/{name}.db")
    store.upgrade()
    register_participants(ParticipantService(store), demo_signers())
    return store, Ledger(store)


def soh_stream(n: int, packs: int) -> list[bytes]:
    w = ChainWriter(demo_signers())
    actors = [pilot.AUTOMAKER, pilot.BAAS, pilot.SECOND_LIFE]
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    # each pack reports through its own holder (the custody rules refuse anyone else), in time order, in the past
    return [orjson.dumps(w.wire({
        "id": f"soh-{i:08d}", "kind": "soh_update", "actor": actors[(i % packs) % 3],
        "occurred_at": (start + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "place": {"country": "DE", "site": "BMS gateway"}, "subjects": [f"PACK-{i % packs:07d}"],
        "data": {"soh_capacity_pct": round(100 - (i % 300) * 0.1, 1), "full_equivalent_cycles": i % 900}}))
        for i in range(n)]


def run_ingest(tmp: Path, name: str, lines: list[bytes], workers: int, repeat: int = 1) -> tuple[float, float, Ledger]:
    """Best and median rate over ``repeat`` runs, each into a fresh store."""
    f = tmp / f"{name}.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    rates = []
    for k in range(repeat):
        _, ledger = fresh(tmp, f"{name}-w{workers}-{k}")
        t = time.perf_counter()
        rep = ledger.ingest_file(f, workers=workers)
        dt = time.perf_counter() - t
        assert rep.ok and rep.stored == len(lines), rep.as_dict()
        rates.append(len(lines) / dt)
    return max(rates), sorted(rates)[len(rates) // 2], ledger


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=40000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--packs", type=int, default=2000, help="packs of the supply-chain mix")
    ap.add_argument("--repeat", type=int, default=3, help="ingest runs per figure (best and median printed)")
    a = ap.parse_args()
    print(f"cpus: {os.cpu_count()}, workers: {a.workers}, load average at start: {os.getloadavg()[0]:.2f}")
    raw = max(raw_verify_rate() for _ in range(a.repeat))
    print(f"raw Ed25519 verification, one thread (libsodium, the ledger's check), best of {a.repeat}: {raw:,.0f} /s")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        lines = soh_stream(a.events, packs=max(1, a.events // 20))
        rate, med, ledger = run_ingest(tmp, "soh", lines, a.workers, a.repeat)
        print(f"ingest, state-of-health events ({a.events:,}, 1 subject each), {a.workers} workers: best "
              f"{rate:,.0f} events/s = {rate / raw:.0%} of the raw rate (median {med:,.0f})")
        rate1, med1, _ = run_ingest(tmp, "soh1", lines, 1, a.repeat)
        print(f"  same, one process: best {rate1:,.0f} events/s = {rate1 / raw:.0%} (median {med1:,.0f})")
        t = time.perf_counter()
        rep = ledger.verify_store()
        print(f"  full-store verification ({rep.events_checked:,} events, {rep.links_checked:,} links), "
              f"one process: {time.perf_counter() - t:.2f} s, ok={rep.ok}")
        t = time.perf_counter()
        rep = ledger.verify_store(workers=a.workers)
        print(f"  same, {a.workers} workers: {time.perf_counter() - t:.2f} s, ok={rep.ok}")
        mix = [orjson.dumps(e) for e in supply_chain(a.packs, seed=3)]
        rate, med, _ = run_ingest(tmp, "mix", mix, a.workers, a.repeat)
        print(f"ingest, supply-chain mix ({len(mix):,} events for {a.packs:,} packs: mines to packs, lots and "
              f"edges), {a.workers} workers: best {rate:,.0f} events/s (median {med:,.0f})")
    print(f"load average at end: {os.getloadavg()[0]:.2f} (other processes share these cores)")


if __name__ == "__main__":
    main()
