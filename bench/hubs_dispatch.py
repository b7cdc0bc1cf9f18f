"""Hub dispatch: time to optimise a day for one hub, a year for N hubs, optimised vs rule-based.

Run: .venv/bin/python bench/hubs_dispatch.py [--hubs 100] [--days 365] [--workers 2]

Prints (1) one hub's day: LP size, time to build and solve from scratch, time to re-solve with a kept
optimiser (warm start), hourly and 15-min; (2) a year for each of ``--hubs`` varied hubs (6–16 packs
at states of health 0.62–0.92, 150–600 kWp PV, 20–150 swaps a day, different seeds) with both
methods on the same days (common random numbers): wall time, solver time, and the total cost of each
method and the saving; (3) weak packs spared: correlation of a pack's full equivalent cycles with its
initial state of health.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np


def hub_config(k: int) -> dict[str, Any]:
    r = np.random.default_rng(1000 + k)
    n = int(r.integers(6, 17))
    chem = "LFP" if k % 3 == 0 else "NMC622"
    return {
        "name": f"hub{k:03d}", "seed": k, "latitude_deg": float(r.uniform(22, 40)), "pv_kwp": float(r.uniform(150, 600)),
        "packs": [{"pack_id": f"h{k}-p{i}", "chemistry": chem, "nominal_energy_kwh": float(r.choice([52, 56, 70])),
                   "soh_fraction": float(r.uniform(0.62, 0.92))} for i in range(n)],
        "swap": {"swaps_per_day": float(r.uniform(20, 150)), "simulated_days": 3},
        "ev_charging": {"sessions_per_day": float(r.uniform(20, 80))},
        "grid": {"import_limit_kw": 900.0},
    }


def run_hub(args: tuple[int, int]) -> dict[str, Any]:
    from batteryloop.hubs import prepare_hub, simulate_year

    k, days = args
    hub = prepare_hub(hub_config(k))
    out: dict[str, Any] = {"hub": k, "packs": sum(len(s.packs) for s in hub.strings)}
    for m in ("optimised", "rule_based"):
        t0 = time.perf_counter()
        y = simulate_year(hub, days=days, method=m, keep_hourly=False)
        out[m] = {"wall_s": time.perf_counter() - t0, "solve_s": y.solve_s, "total_cost": y.totals["total_cost"],
                  "unserved_kwh": y.totals["unserved_kwh"], "usd": y.usd_per_currency,
                  "fec": y.pack_fec.tolist(), "soh0": y.soh_start.tolist()}
    return out


def day_timing() -> None:
    from batteryloop.hubs import DayOptimiser, prepare_hub, rule_based_day
    from batteryloop.hubs.hub import day_inputs, horizon_inputs

    for sph in (1, 4):
        hub = prepare_hub({**hub_config(1), "packs": hub_config(1)["packs"][:10], "steps_per_hour": sph})
        st = hub.initial_state()
        for label, inp in (("24 h", day_inputs(hub, st, 180)), ("48 h look-ahead", horizon_inputs(hub, st, 180, [0.9, 0.8], [1.0, 1.1]))):
            t0 = time.perf_counter()
            opt = DayOptimiser(inp.units, inp.steps, inp.dt_h, inp.eta)
            t1 = time.perf_counter()
            s = opt.solve(inp)
            t2 = time.perf_counter()
            reps = 50
            for d in range(reps):
                nxt = day_inputs(hub, st, 100 + d) if label == "24 h" else horizon_inputs(hub, st, 100 + d, [0.9, 0.8], [1.0, 1.1])
                opt.solve(nxt)
            t3 = time.perf_counter()
            rb = rule_based_day(inp) if label == "24 h" else None
            print(f"  {sph} step/h, {label:15s}: {opt.ncol:5d} columns × {opt.nrow:5d} rows; build {1e3 * (t1 - t0):6.1f} ms, "
                  f"first solve {1e3 * (t2 - t1):6.1f} ms, warm re-solve {1e3 * (t3 - t2) / reps:6.2f} ms/day (incl. inputs)"
                  + (f"; day cost optimised {s.cost['total_cost']:.0f} vs rule-based {rb.cost['total_cost']:.0f} CNY" if rb else ""))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubs", type=int, default=100)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    print("one hub (10 packs), day 180:")
    day_timing()
    print(f"\n{a.hubs} hubs × {a.days} days, {a.workers} worker process(es):")
    t0 = time.perf_counter()
    jobs = [(k, a.days) for k in range(a.hubs)]
    if a.workers > 1:
        # spawn, not fork: a precaution, HiGHS keeps its own threads in a process that already used it
        with ProcessPoolExecutor(a.workers, mp_context=multiprocessing.get_context("spawn")) as ex:
            res = list(ex.map(run_hub, jobs))
    else:
        res = [run_hub(j) for j in jobs]
    wall = time.perf_counter() - t0
    packs = sum(r["packs"] for r in res)
    for m in ("optimised", "rule_based"):
        w = sum(r[m]["wall_s"] for r in res)
        s = sum(r[m]["solve_s"] for r in res)
        print(f"  {m:10s}: {w:7.1f} s of process time ({w / a.hubs:5.2f} s per hub for {a.days} days), of which dispatch {s:6.1f} s")
    print(f"  wall time for both methods, all hubs: {wall:.1f} s; {packs} packs")
    opt = np.array([r["optimised"]["total_cost"] for r in res])
    rule = np.array([r["rule_based"]["total_cost"] for r in res])
    usd = np.array([r["optimised"]["usd"] for r in res])
    sav = (rule - opt) / rule
    print(f"  total cost, all hubs: optimised {opt.sum() / 1e6:.2f} M CNY ({(opt * usd).sum() / 1e6:.2f} M USD), "
          f"rule-based {rule.sum() / 1e6:.2f} M CNY; saving {(rule - opt).sum() / 1e6:.2f} M CNY = {100 * (rule - opt).sum() / rule.sum():.1f} %")
    print(f"  saving per hub: median {100 * np.median(sav):.1f} %, min {100 * sav.min():.1f} %, max {100 * sav.max():.1f} %; "
          f"optimised worse than rule-based on {int((opt > rule + 1e-6).sum())} hub(s)")
    un = sum(r["rule_based"]["unserved_kwh"] for r in res), sum(r["optimised"]["unserved_kwh"] for r in res)
    print(f"  unserved energy: rule-based {un[0]:.0f} kWh, optimised {un[1]:.0f} kWh")
    def weak_vs_strong(m: str) -> np.ndarray:
        # cycles of each hub's weakest pack relative to its strongest pack's
        out = []
        for r in res:
            soh0, fec = np.array(r[m]["soh0"]), np.array(r[m]["fec"])
            out.append(fec[np.argmin(soh0)] / fec[np.argmax(soh0)] if fec[np.argmax(soh0)] > 0 else np.nan)
        return np.array(out)

    corr = [np.corrcoef(r["optimised"]["soh0"], r["optimised"]["fec"])[0, 1] for r in res]
    wo, wr = weak_vs_strong("optimised"), weak_vs_strong("rule_based")
    print(f"  weak packs spared: cycles of the weakest pack / the strongest pack's, median over hubs: optimised "
          f"{np.nanmedian(wo):.2f} (min {np.nanmin(wo):.2f}), rule-based {np.nanmedian(wr):.2f}; "
          f"corr(initial SoH, cycles) optimised median {np.nanmedian(corr):.2f}")


if __name__ == "__main__":
    main()
