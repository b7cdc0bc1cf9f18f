"""The pilot's CPU split between its main process and its worker processes (`batteryloop demo --no-serve`).

    PYTHONPATH=src .venv/bin/python bench/cpu_split.py --packs 10000 [--years 10] [--seed 42] [--no-dataspace]

Runs the demo (`sim.demo.run_demo`, what the command runs) in this process on a fresh SQLite store in a
temporary directory and prints the wall time, the main process's CPU (user + system, getrusage of this process)
and its worker processes' (getrusage of the children, once they are reaped), per pack too, with the peak
resident set of each, the load average before and after, the summary's ledger line and the run's own wall time
by phase (the stored report's ``timings_s``). On two cores the main process's CPU is one floor under the wall
time (the workers can run beside it, it cannot be split), half of main and workers together the other. Compare
branches with runs started side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packs", type=int, default=10000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-dataspace", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpu-split-") as tmp:
        os.environ["BATTERYLOOP_DATABASE_URL"] = f"sqlite:///{tmp}/pilot.db"
        os.environ["BATTERYLOOP_VAR_DIR"] = tmp
        from batteryloop.config import get_settings
        from batteryloop.sim.demo import run_demo

        load0 = os.getloadavg()
        s0, c0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        summary = run_demo(get_settings(), packs=a.packs, years=a.years, seed=a.seed, dataspace=not a.no_dataspace)
        wall = time.perf_counter() - t0
        s1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        load1 = os.getloadavg()
        con = sqlite3.connect(f"{tmp}/pilot.db")
        try:
            row = con.execute("SELECT report FROM pilot_runs ORDER BY id DESC LIMIT 1").fetchone()
        finally:
            con.close()
        phases = (json.loads(row[0])["summary"].get("timings_s") or {}) if row else {}
    main_cpu = (s1.ru_utime - s0.ru_utime) + (s1.ru_stime - s0.ru_stime)
    work_cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    ledger = next((ln.strip() for ln in summary.splitlines() if ln.strip().startswith("ledger:")), "ledger: ?")
    n = a.packs
    print(f"pilot {n} packs, {a.years} years, seed {a.seed}, data space {'off' if a.no_dataspace else 'on'}; "
          f"{os.cpu_count()} CPUs; load {load0[0]:.1f} -> {load1[0]:.1f}")
    print(f"wall {wall:.1f} s ({1000 * wall / n:.2f} ms/pack)")
    print(f"CPU main {main_cpu:.1f} s ({1000 * main_cpu / n:.2f} ms/pack), peak RSS {s1.ru_maxrss / 1024:.0f} MB")
    print(f"CPU workers {work_cpu:.1f} s ({1000 * work_cpu / n:.2f} ms/pack), peak RSS {c1.ru_maxrss / 1024:.0f} MB")
    print(ledger)
    print("phases (s of wall time, ms/pack): " + ", ".join(f"{k} {v:.1f} ({1000 * v / n:.2f})" for k, v in phases.items()))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
