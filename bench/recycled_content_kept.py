"""The pilot's Art. 8 figures from the kept mass-balance sums against a full pass over the material graph.

    PYTHONPATH=src .venv/bin/python bench/recycled_content_kept.py --packs 5000 [--steps 10] [--db DIR]

Plays the demo (`sim.demo.run_demo`, no data space) into ``DIR/pilot.db`` (a temporary directory unless given;
an existing ``pilot.db`` there is reused), then on a copy of its store: empties the kept sums (``trace_mb_*``) and
refreshes them from nothing in ``--steps`` steps (as the pilot does, a year at a time), and computes every
(model, plant, year) group's passport fields both from the kept sums and from the full graph
(``recycled_content_groups(incremental=False)``). Prints the CPU seconds of this process for each (SQLite runs
in it), the load average, and whether the fields agree.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packs", type=int, default=5000)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--db", type=Path, default=None)
    a = ap.parse_args()
    d = a.db or Path(tempfile.mkdtemp(prefix="rc-kept-"))
    d.mkdir(parents=True, exist_ok=True)
    os.environ["BATTERYLOOP_DATABASE_URL"] = f"sqlite:///{d}/pilot.db"
    os.environ["BATTERYLOOP_VAR_DIR"] = str(d)
    if not (d / "pilot.db").exists():
        from batteryloop.config import get_settings
        from batteryloop.sim.demo import run_demo

        run_demo(get_settings(), packs=a.packs, years=10, seed=42, dataspace=False)
    copy = d / "kept-bench.db"
    shutil.copy(d / "pilot.db", copy)
    con = sqlite3.connect(copy)
    for t in ("trace_mb_mark", "trace_mb_flows", "trace_mb_demand", "trace_mb_outputs", "trace_mb_intermediate"):
        con.execute(f"DELETE FROM {t}")
    con.commit()
    n_events = con.execute("SELECT count(*) FROM trace_events").fetchone()[0]
    con.close()
    import batteryloop.trace.mb_summary as mbs
    from batteryloop.store.db import Store
    from batteryloop.trace.queries import TraceQueries

    store = Store(f"sqlite:///{copy}")
    mbs.BATCH = max(1, n_events // a.steps + 1)
    load0 = os.getloadavg()[0]
    t0 = time.process_time()
    mbs.MassBalanceSummary(store).refresh()
    kept_refresh = time.process_time() - t0
    print(f"store: {d / 'pilot.db'} ({n_events} events); load {load0:.1f}")
    print(f"kept sums refreshed from nothing in {a.steps} steps: {kept_refresh:.2f} s CPU", flush=True)
    q = TraceQueries(store)
    t0 = time.process_time()
    kept = q.recycled_content_groups()
    kept_query = time.process_time() - t0
    t0 = time.process_time()
    full = q.recycled_content_groups(incremental=False)
    full_s = time.process_time() - t0
    same = [(g["model_id"], g["plant"], g["year"], g["packs"], g["fields"]) for g in kept] == [
        (g["model_id"], g["plant"], g["year"], g["packs"], g["fields"]) for g in full]
    print(f"every group's fields from the kept sums: {kept_query:.3f} s CPU; load now {os.getloadavg()[0]:.1f}")
    print(f"full pass over the material graph: {full_s:.2f} s CPU; {len(full)} groups; same fields: {same}")


if __name__ == "__main__":
    main()
