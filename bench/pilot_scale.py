"""Time and peak memory of the pilot (`batteryloop demo --no-serve`) at several sizes, each in its own process.

    .venv/bin/python bench/pilot_scale.py --packs 1000 10000 100000 [--years 10] [--no-dataspace]

Each run uses a fresh SQLite store in a temporary directory; peak memory is the child's maximum resident
set size and CPU its user + system time, worker processes included (getrusage of the children). Prints one
line per size and the cost per pack, to check that cost grows linearly, then the run's own wall time by phase
(the stored report's ``timings_s``: ledger, passports, status changes, …; the rest is the simulation, the
set-up and the report). On a loaded machine the wall time is
the load's: compare CPU seconds. It first prints the machine's reference time (``bench/machine_ref.py``): runs
on different days may land on machines of different speed, and compare only at equal reference times.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(packs: int, years: int, dataspace: bool) -> tuple[float, float, str, float, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="pilot-bench-") as tmp:
        env = {**os.environ, "BATTERYLOOP_DATABASE_URL": f"sqlite:///{tmp}/pilot.db", "BATTERYLOOP_VAR_DIR": tmp}
        cmd = [sys.executable, "-m", "batteryloop.cli", "demo", "--packs", str(packs), "--years", str(years), "--no-serve"]
        if not dataspace:
            cmd.append("--no-dataspace")
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        rss_mb = max(r0.ru_maxrss, r1.ru_maxrss) / 1024
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        if p.returncode != 0:
            raise SystemExit(f"demo --packs {packs} failed:\n{p.stderr[-2000:]}")
        m = re.search(r"ledger: (\d+) signed events, verified: (\w+)", p.stdout + p.stderr)
        return dt, rss_mb, (f"{m.group(1)} ({'verified' if m.group(2) == 'yes' else 'NOT VERIFIED'})" if m else "?"), \
            cpu, _timings(Path(tmp) / "pilot.db")


def _timings(db: Path) -> dict[str, float]:
    """The run's own timings by phase (the stored report's ``summary.timings_s``, seconds of wall time)."""
    import json
    import sqlite3

    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT report FROM pilot_runs ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return json.loads(row[0])["summary"].get("timings_s") or {} if row else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packs", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--no-dataspace", action="store_true")
    a = ap.parse_args()
    print(f"pilot, {a.years} years, data space {'off' if a.no_dataspace else 'on'}; {os.cpu_count()} CPUs")
    # how fast this machine is (machines differ by 1.6-2x between sessions here): compare figures of equal reference
    from machine_ref import line, reference

    print(line(reference()), flush=True)
    print(f"{'packs':>8} {'seconds':>9} {'ms/pack':>8} {'CPU s':>8} {'CPU ms/pack':>12} {'peak RSS MB':>12} "
          f"{'ledger events':>14}")
    for n in a.packs:
        dt, rss, events, cpu, phases = run(n, a.years, not a.no_dataspace)
        print(f"{n:>8} {dt:>9.1f} {1000 * dt / n:>8.2f} {cpu:>8.1f} {1000 * cpu / n:>12.2f} {rss:>12.0f} {events:>14}",
              flush=True)
        print("         phases (s, ms/pack): " + ", ".join(f"{k} {v:.1f} ({1000 * v / n:.2f})" for k, v in phases.items()),
              flush=True)


if __name__ == "__main__":
    main()
