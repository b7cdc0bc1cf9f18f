"""Recycling economics and GHG per chemistry and process, per kg of cells, at the EverBatt 2023 defaults.

Run: .venv/bin/python bench/circular_recycling.py [--li2co3 PRICE]
Prints revenue, process input cost, recycler net value (after the gate fee), net GHG (process − credits),
recycling efficiency (cell basis) and Li recovery — and the time per recycle() call.
"""

from __future__ import annotations

import argparse
import time

from batteryloop.circular import CHEMISTRIES, PROCESSES, CircularInputError, composition_for_mass, recycle


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--li2co3", type=float, default=None, help="Li2CO3 price $/kg (default: EverBatt 8.57)")
    args = ap.parse_args()
    prices = {"Li2CO3": args.li2co3} if args.li2co3 is not None else None
    print(f"{'chem':7s} {'process':7s} {'rev $/kg':>8s} {'inputs':>7s} {'net $/kg':>8s} {'GHG kg/kg':>9s} {'eff':>6s} {'Li rec':>6s}")
    n = 0
    t0 = time.perf_counter()
    for chem in CHEMISTRIES:
        comp = composition_for_mass(chem, 1.0, "cell")
        for p in PROCESSES:
            try:
                r = recycle(comp, p, basis="cell", prices_usd_per_kg=prices)
            except CircularInputError as e:
                print(f"{chem:7s} {p:7s}  n/a: {e.rule.split(';')[0]}")
                continue
            n += 1
            print(f"{chem:7s} {p:7s} {r.revenue_usd_per_kg:8.3f} {r.input_cost_usd:7.3f} {r.recycler_net_value_usd_per_kg:8.3f} "
                  f"{r.net_ghg_kgco2e_per_kg:9.3f} {r.recycling_efficiency_fraction:6.1%} "
                  f"{r.material_recovery_fraction.get('Li', 0):6.0%}")
    dt = time.perf_counter() - t0
    print(f"{n} recycle() results in {dt * 1000:.0f} ms ({dt / max(n, 1) * 1000:.2f} ms each)")


if __name__ == "__main__":
    main()
