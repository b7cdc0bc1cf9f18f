"""Bulk passport import rate on SQLite: validated, versioned (SHA-256) and stored, all or nothing.

    .venv/bin/python bench/passport_import.py [--packs 100000] [--db /tmp/bench-import.db]

Prints passports/s for the whole import (records are generated before the clock starts).
Goal (foundation issue): >= 10,000 passports/s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from batteryloop.access import Caller
from batteryloop.identity import ParticipantService
from batteryloop.participants import Role
from batteryloop.passport.service import PassportService
from batteryloop.sim import pilot
from batteryloop.store.db import Store


def seed_registry(store: Store) -> tuple[PassportService, Caller]:
    """The pilot's participants and battery models in a migrated store: the passport service and the automaker's
    caller, ready to import its packs (bench/pack_twins.py and bench/aas_api.py use it too)."""
    ps = ParticipantService(store)
    for p in pilot.PARTICIPANTS:
        ps.create(p)
    svc = PassportService(store, base_url="http://127.0.0.1:8000", issuing_agency_code="BL")
    op = Caller(pilot.AUTOMAKER, frozenset({Role.MANUFACTURER}))
    for m in pilot.battery_models():
        svc.create_model(m, op)
    return svc, op


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packs", type=int, default=100_000)
    ap.add_argument("--db", default="/tmp/bench-import.db")
    ap.add_argument("--url", default=None, help="database URL (default: SQLite file at --db)")
    args = ap.parse_args()
    url = args.url or f"sqlite:///{args.db}"
    if not args.url:
        for suffix in ("", "-wal", "-shm"):
            Path(args.db + suffix).unlink(missing_ok=True)
    store = Store(url)
    store.upgrade()
    svc, op = seed_registry(store)
    records = list(pilot.generate_batteries(args.packs, seed=1))
    size = sum(len(str(r)) for r in records[:1000]) / 1000
    t0 = time.perf_counter()
    report = svc.import_passports(records, op)
    dt = time.perf_counter() - t0
    assert report.stored == args.packs, report.errors[:1]
    print(f"backend: {store.engine.dialect.name}")
    print(f"passports: {report.stored} (about {size:.0f} characters of battery data each)")
    print(f"import time: {dt:.2f} s")
    print(f"rate: {report.stored / dt:,.0f} passports/s (validated, versioned, stored)")


if __name__ == "__main__":
    main()
