"""A virtual power plant of hubs following a grid signal; a hub's economics, LCOS second-life vs new.

Run: .venv/bin/python bench/hubs_vpp_economics.py [--hubs 10]

Prints (1) the VPP: requested, offered and delivered energy per requested step and in total, and the
time to build and solve the joint LP; (2) for an NMC622 hub and an LFP hub of the same size, the
annual account, the value of the storage, LCOS of second-life vs new storage, CO2 avoided, and the
repurposing route value before and after feeding the hub's figures into the route decision.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from batteryloop.circular import RouteEconomics, decide_route
from batteryloop.hubs import GridSignal, hub_economics, prepare_hub, simulate_year, vpp_day


def hub(k: int, chem: str = "NMC622", n: int = 10) -> dict:
    r = np.random.default_rng(k)
    return {"name": f"hub{k:02d}", "seed": k, "pv_kwp": float(r.uniform(200, 500)),
            "packs": [{"pack_id": f"h{k}-p{i}", "chemistry": chem, "nominal_energy_kwh": 70,
                       "soh_fraction": float(r.uniform(0.65, 0.9))} for i in range(n)],
            "swap": {"swaps_per_day": float(r.uniform(30, 100)), "simulated_days": 3},
            "grid": {"import_limit_kw": 900.0}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubs", type=int, default=10)
    a = ap.parse_args()
    hubs = [prepare_hub(hub(k)) for k in range(a.hubs)]
    req = np.zeros(24)
    req[[11, 12]] = -60.0 * a.hubs   # absorb midday PV
    req[[17, 18, 19]] = 80.0 * a.hubs  # evening peak relief
    t0 = time.perf_counter()
    r = vpp_day(hubs, GridSignal(request_kw=list(req)), day=180)
    el = time.perf_counter() - t0
    s = r.summary()
    print(f"VPP of {a.hubs} hubs, day 180 (baselines + offers + joint LP): {el:.2f} s")
    print("  step  requested  offered  delivered (kW; + up = less import)")
    for i in np.flatnonzero(req):
        print(f"  {i:4d}  {req[i]:9.0f}  {r.offered_kw[i]:7.0f}  {r.delivered_kw[i]:9.0f}")
    print(f"  total: requested {s['requested_kwh']:.0f} kWh, offered (capped at request) {s['offered_kwh']:.0f} kWh, "
          f"delivered {s['delivered_kwh']:.0f} kWh = {100 * s['delivered_fraction_of_requested']:.0f} % of requested, "
          f"{100 * s['delivered_fraction_of_offered']:.0f} % of offered")
    cost = sum(v["cost_of_flexibility"] for v in r.hubs.values())
    print(f"  the hubs' cost of following the signal: {cost:.0f} CNY = {cost / max(s['delivered_kwh'], 1e-9):.3f} CNY/kWh delivered")
    # ask for everything offered, 14:00–21:00: the step-by-step offers are not available all at once
    req2 = np.zeros(24)
    req2[14:22] = r.offered_up_kw[14:22]
    r2 = vpp_day(hubs, GridSignal(request_kw=list(req2)), day=180)
    s2 = r2.summary()
    print(f"  asking for every offered kW from 14:00 to 22:00: requested = offered {s2['requested_kwh']:.0f} kWh, "
          f"delivered {s2['delivered_kwh']:.0f} kWh = {100 * s2['delivered_fraction_of_offered']:.0f} % of offered")

    print("\nEconomics of one hub (10 packs × 70 kWh, year simulated, optimised dispatch):")
    for chem in ("NMC622", "LFP"):
        h = prepare_hub(hub(0, chem))
        t0 = time.perf_counter()
        y = simulate_year(h)
        e = hub_economics(y, h)
        el = time.perf_counter() - t0
        sl, new = e.lcos["second_life"], e.lcos["new"]
        print(f"  {chem}: year + economics {el:.1f} s")
        print(f"    annual (k CNY): EV charging {e.annual['ev_charging_revenue'] / 1e3:.0f}, swaps {e.annual['swap_revenue'] / 1e3:.0f}, "
              f"import {e.annual['import_cost'] / 1e3:.0f}, storage O&M {e.annual['storage_om_cost'] / 1e3:.1f}, "
              f"net cash {e.annual['net_cash'] / 1e3:.0f}; storage value {e.annual['storage_value'] / 1e3:.1f} "
              f"({e.storage_value_per_kwh_discharged:.3f} CNY/kWh discharged), wear {e.annual['wear_cost_non_cash'] / 1e3:.1f}")
        print(f"    LCOS second life {sl.lcos_usd_per_kwh:.3f} USD/kWh (capex {sl.capex_usd / sl.usable_energy_kwh:.0f} USD/kWh, "
              f"{sl.years:.1f} years) vs new {new.lcos_usd_per_kwh:.3f} USD/kWh (capex {new.capex_usd / new.usable_energy_kwh:.0f} USD/kWh, "
              f"{new.years:.1f} years); duty {e.route_overrides['repurpose_cycles_per_year']:.0f} cycles/yr, "
              f"depth {e.route_overrides['repurpose_dod_fraction']:.2f}, "
              f"{e.route_overrides['repurpose_value_usd_per_kwh_delivered']:.3f} USD/kWh discharged; "
              f"break-even price of a retired pack {e.break_even_acquisition_usd_per_kwh:.1f} USD/kWh (default 25)")
        c = e.co2_kg_per_year
        print(f"    CO2 avoided t/yr: PV {c['pv_displaced'] / 1e3:.0f}, storage losses {c['storage_losses'] / 1e3:.1f}, "
              f"new cells not made {c['new_cells_avoided_per_year_of_life'] / 1e3:.1f}/yr of life ({c['new_cells_avoided_once'] / 1e3:.1f} t once)")
        base = decide_route(chem, 70, 0.75)
        fed = decide_route(chem, 70, 0.75, economics=RouteEconomics.from_references(**e.route_overrides))
        print(f"    route decision for a 70 kWh pack at SoH 0.75: repurpose NPV {base.option('repurpose').npv_usd:.0f} USD with "
              f"defaults → {fed.option('repurpose').npv_usd:.0f} USD with this hub's figures; recommended {base.recommended} → {fed.recommended}")


if __name__ == "__main__":
    main()
