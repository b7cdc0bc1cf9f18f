"""The pilot's two worker tasks replayed on a stored pilot, in this process: CPU per event.

    PYTHONPATH=src .venv/bin/python bench/worker_cpu.py --db /path/to/pilot.db [--steps 10]

The store is one a pilot left behind (``BATTERYLOOP_DATABASE_URL=sqlite:///…/pilot.db batteryloop demo --packs 5000
--no-serve``). Prints the CPU time (this process) of:

* **behind**: the verification behind the ledger as its worker runs it (``trace.verify_behind``: ``_init_behind``,
  ``--steps`` steps over a ledger that grows by equal parts, as the pilot's years, then the final pass), with its
  answer (the checkpoint's digest: the same on any branch for the same store);
* **seal**: the sealing workers' validation (``trace._parallel.validate_unsealed``) of every stored event without its
  ``prev`` and signature, checked to give back each stored body (with placeholder ``prev``) byte for byte.

Compare branches by pointing ``PYTHONPATH`` at each one's ``src``, runs side by side; say the load.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time


def behind(url: str, steps: int) -> None:
    import batteryloop.trace.verify_behind as vb
    from batteryloop.store import ledger as repo
    from batteryloop.store.db import Store

    with Store(url).read() as c:
        n = repo.max_gseq(c)
    tops = [n * k // steps for k in range(1, steps + 1)]
    at = [0]
    real = repo.max_gseq
    repo.max_gseq = lambda conn: tops[min(at[0], steps - 1)]  # the ledger as it stood after each step's part
    try:
        t0 = time.process_time()
        vb._init_behind(url, 300.0)
        for k in range(steps):
            at[0] = k
            vb._behind_step()
        out, why = vb._behind_finish()
        cpu = time.process_time() - t0
    finally:
        repo.max_gseq = real
    if out is None:
        raise SystemExit(f"behind: no answer ({why})")
    print(f"behind: {n} events in {steps} steps + final pass: CPU {cpu:.2f} s ({1e6 * cpu / n:.0f} µs/event); "
          f"checkpoint {out['checkpoint']['digest'][:16]}…, {out['links_checked']} links")


def seal(path: str) -> None:
    import orjson

    from batteryloop.trace._parallel import validate_unsealed
    from batteryloop.trace.canonical import GENESIS

    con = sqlite3.connect(path)
    try:
        bodies = [r[0] for r in con.execute("SELECT body FROM trace_events ORDER BY gseq")]
    finally:
        con.close()
    raws, expect = [], []
    for b in bodies:
        d = orjson.loads(b)
        subjects = d.pop("prev")
        raws.append(orjson.dumps(d))
        d["prev"] = {s: GENESIS for s in subjects}
        expect.append(orjson.dumps(d, option=orjson.OPT_SORT_KEYS))
    t0 = time.process_time()
    out = [b for i in range(0, len(raws), 1000) for b in validate_unsealed(raws[i:i + 1000])]  # the workers' chunks
    cpu = time.process_time() - t0
    if out != expect:
        raise SystemExit(f"seal: {sum(a != b for a, b in zip(out, expect, strict=True))} bodies differ from the stored")
    print(f"seal: {len(raws)} events validated: CPU {cpu:.2f} s ({1e6 * cpu / len(raws):.0f} µs/event); "
          "every body as stored")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="a pilot's SQLite store (file path)")
    ap.add_argument("--steps", type=int, default=10, help="steps of the verification behind the ledger")
    a = ap.parse_args()
    import batteryloop

    print(f"batteryloop from {os.path.dirname(batteryloop.__file__)}; load {os.getloadavg()[0]:.1f}")
    behind(f"sqlite:///{os.path.abspath(a.db)}", a.steps)
    seal(a.db)
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
