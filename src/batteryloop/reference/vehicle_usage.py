"""How electric vehicles are used: annual distance, energy use, fast-charging share, by vehicle category.

Sources (UNVERIFIED orders of magnitude, rounded):
- Annual distance of private passenger cars in the EU, about 12,000–15,000 km (Eurostat / ODYSSEE-MURE
  road-transport indicators); ride-hailing and taxi cars 50,000–80,000 km (ICCT, "Electric vehicles for
  ride-hailing", 2019); light commercial vans in urban delivery 25,000–40,000 km (ICCT European vans
  market monitor 2022).
- Energy use at the pack, about 0.17–0.20 kWh/km for a mid-size car and 0.25–0.30 kWh/km for a
  3.5 t van (EV Database real-range figures, 2024).
- Fast-charging shares: ICCT 2019 and EV charging studies; taxis fast-charge most of their energy.

A vehicle's full equivalent cycles per year = distance × energy use / pack energy.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="vehicle_usage",
    citation=Citation(
        title="EV usage by category (Eurostat/ODYSSEE annual distances; ICCT ride-hailing and van studies; EV Database)",
        publisher="Eurostat; ICCT; EV Database",
        date="2024",
        url="https://theicct.org/publication/electric-vehicles-for-ride-hailing/",
        verified=False,
        note="rounded orders of magnitude",
    ),
    values={
        "annual_km": {"private_car": 13_500.0, "taxi": 65_000.0, "delivery_van": 32_000.0},
        "annual_km_spread_fraction": {"private_car": 0.35, "taxi": 0.2, "delivery_van": 0.25},
        "kwh_per_km": {"private_car": 0.18, "taxi": 0.17, "delivery_van": 0.27},
        "fast_charge_share": {"private_car": 0.15, "taxi": 0.6, "delivery_van": 0.2},
        "vehicle_category": {"private_car": "M1", "taxi": "M1", "delivery_van": "N1"},
        "mean_temperature_c": {"EU": 12.0, "KR": 13.0, "CN": 17.0},
    },
    extensible=frozenset({"annual_km", "annual_km_spread_fraction", "kwh_per_km", "fast_charge_share",
                          "vehicle_category", "mean_temperature_c"}),
)
