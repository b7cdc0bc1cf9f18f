"""NIO Battery-as-a-Service (BaaS) published figures, 2020 launch and 2024 prices.

Source: NIO Inc., BaaS launch announcement (20 Aug 2020) and 2024 BaaS price changes, as collected in
the project's REFERENCE.md §5 (2026). Amounts in RMB.
- With BaaS the car price is reduced by RMB 70,000.
- 2020: 70 kWh pack RMB 980/month; 100 kWh pack RMB 1,680/month. 2024: RMB 728 (70/75 kWh) and RMB 1,128
  (100 kWh) per month.
- Buyout of a 70/75 kWh pack: RMB 70,000, reduced by RMB 460 for each monthly payment made in years
  2 to 5 of the subscription (months 13–60).
- A swap is charged (electricity price + service fee) × kWh swapped, at least 20 kWh.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="nio_baas",
    citation=Citation(
        title="NIO Battery as a Service: launch terms (2020) and 2024 subscription prices",
        publisher="NIO Inc.",
        date="2024",
        url="https://www.nio.com/",
    ),
    values={
        "car_price_reduction_rmb": 70000,
        "subscription_rmb_per_month": {
            "2020": {"70kWh": 980, "100kWh": 1680},
            "2024": {"75kWh": 728, "100kWh": 1128},
        },
        "buyout": {
            "base_price_rmb": 70000,
            "reduction_rmb_per_payment": 460,
            "reduction_first_month": 13,
            "reduction_last_month": 60,
        },
        "swap_min_kwh": 20,
    },
)
