"""What registering each pack's Digital Twin Registry descriptor on issue costs a bulk import.

    PYTHONPATH=src .venv/bin/python bench/pack_twins.py [--packs 20000] [--rounds 2] [--url URL]

Imports the same generated passports into fresh stores (SQLite files under /tmp, or the PostgreSQL
database ``--url``, emptied before each run), alternating: with the descriptors registered in the import's
transaction (as the service does: ``passport/pack_twins.py``) and with that step skipped. Prints, per run,
the wall and CPU time of the import, the rate, and (SQLite) the file size; then the median cost per pack.
With the descriptors, it also reads them back through the registry as their owner (every page of the list,
1,000 per page, and 500 single GETs) and prints the CPU time per descriptor read: since derived pack twins
(the node's descriptors are built from the passport when read) that is where a descriptor's cost went.
The CPU time (``time.process_time``: this process, the SQLite engine included) is the figure to compare on a
loaded machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from batteryloop.passport import pack_twins
from batteryloop.sim import pilot
from batteryloop.store.db import Store
from passport_import import seed_registry  # noqa: E402 - the same set-up as bench/passport_import.py


def fresh(url: str | None, path: Path) -> Store:
    if url is None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        store = Store(f"sqlite:///{path}")
    else:
        store = Store(url)
        from sqlalchemy import text

        with store.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    store.upgrade()
    return store


def run(records: list[dict[str, Any]], url: str | None, path: Path, register: bool) -> dict[str, float]:
    store = fresh(url, path)
    svc, op = seed_registry(store)
    real = pack_twins.register_packs
    if not register:
        pack_twins.register_packs = lambda *a, **k: None  # type: ignore[assignment]
    try:
        w0, c0 = time.perf_counter(), time.process_time()
        report = svc.import_passports([dict(r) for r in records], op)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    finally:
        pack_twins.register_packs = real  # type: ignore[assignment]
    assert report.stored == len(records), report.errors[:1]
    from sqlalchemy import func, select

    from batteryloop.store.twins import dtr_asset_ids, dtr_shells

    with store.read() as conn:
        shells = conn.execute(select(func.count()).select_from(dtr_shells)).scalar_one()
        ids = conn.execute(select(func.count()).select_from(dtr_asset_ids)).scalar_one()
    read = {"list_us": float("nan"), "get_us": float("nan")}
    if register:
        from batteryloop.passport.twin_registry import DigitalTwinRegistry

        reg = DigitalTwinRegistry(store)
        c0, n, cursor = time.process_time(), 0, None
        while True:
            page = reg.list_shells(op, limit=1000, cursor=cursor)
            n += len(page.result)
            cursor = page.cursor
            if cursor is None:
                break
        read["list_us"] = (time.process_time() - c0) / max(n, 1) * 1e6
        sids = [r["id"] for r in page.result[:500]]
        c0 = time.process_time()
        for sid in sids:
            reg.get_shell(op, sid)
        read["get_us"] = (time.process_time() - c0) / max(len(sids), 1) * 1e6
    store.dispose()
    size = path.stat().st_size / 2**20 if url is None else float("nan")
    return {"wall": wall, "cpu": cpu, "shells": shells, "asset_ids": ids, "mib": size, **read}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packs", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--url", default=None, help="a PostgreSQL database to empty and use (default: SQLite files)")
    args = ap.parse_args()
    records = list(pilot.generate_batteries(args.packs, seed=1))
    got: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for i in range(args.rounds):
        for register in (False, True):
            r = run(records, args.url, Path(f"/tmp/bench-pack-twins-{int(register)}.db"), register)
            got[register].append(r)
            print(f"round {i + 1} {'with' if register else 'without'} descriptors: wall {r['wall']:.2f} s, "
                  f"CPU {r['cpu']:.2f} s ({args.packs / r['cpu']:,.0f} passports per CPU-second), "
                  f"{r['shells']} shells, {r['asset_ids']} asset ids, file {r['mib']:.1f} MiB"
                  + (f"; read as owner: list {r['list_us']:.0f} µs, GET {r['get_us']:.0f} µs CPU per descriptor"
                     if register else ""), flush=True)
    cpu = {k: statistics.median(x["cpu"] for x in v) for k, v in got.items()}
    wall = {k: statistics.median(x["wall"] for x in v) for k, v in got.items()}
    print(f"median CPU: without {cpu[False]:.2f} s, with {cpu[True]:.2f} s: "
          f"+{(cpu[True] - cpu[False]) / args.packs * 1e6:.0f} µs per pack (+{cpu[True] / cpu[False] - 1:.0%})")
    print(f"median wall: without {wall[False]:.2f} s, with {wall[True]:.2f} s")


if __name__ == "__main__":
    main()
