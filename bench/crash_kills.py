"""SIGKILL the API server mid-stream N times on one store and count acknowledged writes lost.

    .venv/bin/python bench/crash_kills.py --kills 20

Runs tests/e2e/test_crash_durability.py with BATTERYLOOP_CRASH_KILLS=N: each round streams passports (single
and 100-passport batches), passport updates and 50-event signed ledger batches into a uvicorn server on
SQLite, kills it with SIGKILL, restarts it and checks every write acknowledged so far (and that no batch is
half-applied and the ledger verifies). Prints the round totals; any lost write fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20)
    a = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                        "tests/e2e/test_crash_durability.py"], cwd=root, capture_output=True, text=True,
                       env={**os.environ, "BATTERYLOOP_CRASH_KILLS": str(a.kills)})
    dt = time.perf_counter() - t0
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith('{"kills"')), None)
    if p.returncode != 0 or line is None:
        print(p.stdout[-3000:], p.stderr[-2000:])
        raise SystemExit(f"crash series failed after {dt:.0f} s")
    r = json.loads(line)
    print(f"{r['kills']} SIGKILLs in {dt:.0f} s: {r['acked_passports']:,} acknowledged passports "
          f"({r['acked_single']:,} single, {r['acked_batches']:,} batches of 100), {r['updates']:,} updates, "
          f"{r['acked_ledger_events']:,} ledger events acknowledged; lost: {r['lost']}; "
          "no half-applied batch; ledger and passport chains verify after every restart")


if __name__ == "__main__":
    main()
