"""Battery-as-a-service figures: NIO's published fees against the subscription model, the buyout schedule,
and a 30-day swap-station simulation under allocation and charging policies.

Run: .venv/bin/python bench/circular_baas.py
"""

from __future__ import annotations

import time

from batteryloop.circular import implied_annual_rate, nio_buyout_price, subscription_price
from batteryloop.circular.swap_station import SwapStationConfig, simulate_swap_station


def main() -> None:
    print("NIO BaaS: annual return implied by the published monthly fee on a RMB 70,000 pack")
    print(f"{'published fee':24s} {'term':>5s} {'residual RMB':>12s} {'implied rate':>18s}")
    for fee, label in ((980, "2020 70 kWh"), (728, "2024 75 kWh")):
        for term in (60, 96, 120):
            for residual in (0, 14_000):
                r = implied_annual_rate(fee, 70_000, term, residual)
                shown = "none (fees < cost)" if r is None else f"{r:.2%}"
                print(f"{fee:>4d} RMB/month ({label}) {term:>4d}m {residual:>12,d} {shown:>18s}")
    q = subscription_price(70_000, 96, 14_000, 0.08, margin_fraction=0.10)
    print(f"model fee, RMB 70,000 pack, 8 years, residual 14,000, 8 %/yr, 10 % margin: {q.monthly_price:.0f} RMB/month")
    print("NIO buyout after n payments:", ", ".join(f"{n}: {nio_buyout_price(n).price:,.0f}" for n in (0, 12, 24, 36, 48, 60)))
    print()
    print("Swap station, 30 days, 20 packs, 300 vehicles, 8 × 60 kW chargers (illustrative defaults):")
    print(f"{'policy':32s} {'swaps':>6s} {'served':>7s} {'peak kWh':>9s} {'margin':>9s} {'SoH prem/std':>13s} {'ms':>5s}")
    for name, kw in [
        ("soh_aware + tariff_aware", {}),
        ("soh_aware + immediate", {"charging": "immediate"}),
        ("fifo + tariff_aware", {"allocation": "fifo"}),
        ("soh_aware + tariff_aware, 300/day", {"swaps_per_day": 300}),
    ]:
        t0 = time.perf_counter()
        k = simulate_swap_station(SwapStationConfig(**kw))
        ms = (time.perf_counter() - t0) * 1000
        soh = f"{k.mean_soh_delivered['premium']:.3f}/{k.mean_soh_delivered['standard']:.3f}"
        print(f"{name:32s} {k.swaps_requested:6d} {k.service_level_fraction:7.1%} {k.peak_charging_share_fraction:9.1%} "
              f"{k.gross_margin:9,.0f} {soh:>13s} {ms:5.0f}")


if __name__ == "__main__":
    main()
