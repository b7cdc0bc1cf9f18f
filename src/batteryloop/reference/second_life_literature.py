"""Second-life and pack-price figures from the literature.

Sources:
- Lieskoski et al., "Techno-economic analysis of the second-life battery ..." Batteries (MDPI) 2024:
  repurposing Tesla Model S/X packs cost 27.2–38.3 EUR/kWh.
- Kamath et al., Waste Management 2020: second-life storage cut the levelised cost of electricity by
  12–57 % and life-cycle CO2 by 7–31 % versus new Li-ion across 41 US scenarios.
- Common practice (secondary sources, UNVERIFIED): retired EV batteries hold 70–80 % of their capacity;
  second life ends at about 60 %.
- New pack price about $115/kWh in 2024 (secondary sources, UNVERIFIED).
Collected in the project's REFERENCE.md §4 (2026). The set is marked unverified as a whole because
of the last two items.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="second_life_literature",
    citation=Citation(
        title="Repurposing cost (Lieskoski et al., Batteries 2024); LCOE/CO2 (Kamath et al., Waste Management 2020); "
        "retirement thresholds and 2024 pack price (secondary sources)",
        publisher="MDPI Batteries; Elsevier Waste Management; secondary sources",
        date="2024",
        verified=False,
        note="the repurposing cost and Kamath ranges are published; thresholds and pack price are unverified",
    ),
    values={
        "repurposing_cost_eur_per_kwh": {"low": 27.2, "high": 38.3},
        "second_life_lcoe_reduction_fraction": {"low": 0.12, "high": 0.57},
        "second_life_co2_reduction_fraction": {"low": 0.07, "high": 0.31},
        "retirement_soh_fraction": {"low": 0.70, "high": 0.80},
        "second_life_end_soh_fraction": 0.60,
        "new_pack_price_usd_per_kwh": 115.0,
    },
)
