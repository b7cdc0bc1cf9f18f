"""The dashboard's operator tools on a pilot store: how long a table download takes beside its page, the VPP
page's first (computed) and second (kept) view, and one evaluation of three alert rules over the whole store.

Run: nice -n 10 .venv/bin/python bench/dashboard_ops.py [--db var/cli.db] [--packs 500 --years 10]

Without ``--db`` a pilot of ``--packs`` over ``--years`` is run first into a temporary store (its time is not
counted). Prints seconds per step (median of ``--repeat`` for the page and download timings).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=None, help="an existing store (SQLite file) with a pilot run")
    ap.add_argument("--packs", type=int, default=500)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()

    from fastapi.testclient import TestClient

    from batteryloop.access import Caller
    from batteryloop.config import Settings
    from batteryloop.server import create_app
    from batteryloop.services import build_services

    tmp = Path(tempfile.mkdtemp(prefix="bl-bench-dash-"))
    db = a.db or tmp / "bench.db"
    svc = build_services(Settings(database_url=f"sqlite:///{db}", var_dir=tmp, admin_token="bench-admin-token",
                                  rate_limit_per_minute=0))
    if a.db is None:
        from batteryloop.sim.loop import PilotConfig, run_pilot

        t0 = time.perf_counter()
        run_pilot(svc, PilotConfig(packs=a.packs, years=a.years, dataspace=False))
        print(f"pilot {a.packs} packs × {a.years} years (not counted): {time.perf_counter() - t0:.1f} s")
    admin = Caller(is_admin=True)
    c = TestClient(create_app(services=svc))
    c.cookies.set("batteryloop_token", "bench-admin-token")

    def timed(url: str) -> float:
        ts = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            r = c.get(url)
            ts.append(time.perf_counter() - t0)
            assert r.status_code == 200, (url, r.status_code, r.text[:200])
        return statistics.median(ts)

    for page, table in (("/pilot/economics", "year-table"), ("/pilot/routes", "decisions-table"), ("/", "grid-1")):
        html = timed(page)
        sep = "&" if "?" in page else "?"
        csv_s = timed(f"{page}{sep}format=csv&table={table}")
        xlsx_s = timed(f"{page}{sep}format=xlsx&table={table}")
        print(f"{page}: page {html:.3f} s, CSV of {table} {csv_s:.3f} s, Excel {xlsx_s:.3f} s")
    t0 = time.perf_counter()
    r = c.get("/vpp")
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    c.get("/vpp")
    second = time.perf_counter() - t0
    shown = 'id="vpp-hubs"' in r.text
    print(f"/vpp: first view {first:.2f} s (plans the hubs, two VPP solves), kept {second:.3f} s"
          + ("" if shown else " (no operator with 4+ repurposed packs: nothing to aggregate)"))
    for rule in ({"name": "weak", "kind": "soh_below", "params": {"threshold_pct": 75}},
                 {"name": "unsafe", "kind": "safety_flag", "params": {}},
                 {"name": "outflows", "kind": "outflow", "params": {}}):
        svc.alerts.create_rule(admin, {**rule, "channel": "email", "target": "ops@example.org"})
    t0 = time.perf_counter()
    out = svc.alerts.evaluate(admin)
    el = time.perf_counter() - t0
    again = svc.alerts.evaluate(admin)
    print(f"alerts evaluate (3 rules, every pack): {el:.2f} s, "
          + ", ".join(f"{r['kind']} {r['new_alerts']}" for r in out["rules"])
          + f" new alerts, {out['deliveries']['stored']} e-mails stored; again: {len(again['new_alerts'])} new "
          f"in {again['duration_s']:.2f} s")


if __name__ == "__main__":
    main()
