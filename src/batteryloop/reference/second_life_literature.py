"""Second-life and pack-price figures from the literature.

Sources:
- Lieskoski et al., "Techno-economic analysis of the second-life battery ..." Batteries (MDPI) 2024:
  repurposing Tesla Model S/X packs cost 27.2–38.3 EUR/kWh.
- Kamath et al., Waste Management 2020: second-life storage cut the levelised cost of electricity by
  12–57 % and life-cycle CO2 by 7–31 % versus new Li-ion across 41 US scenarios.
- Retired EV batteries hold 70–80 % of their capacity (``retirement_soh_fraction``): REFERENCE.md §4 ("typically",
  secondary sources); the same range in M. Gharebaghi et al., "A Survey on Using Second-Life Batteries in
  Stationary Energy Storage Applications", Energies 18(1), 42 (2025), abstract.
- New pack price about $115/kWh in 2024 (secondary sources, UNVERIFIED).
Collected in the project's REFERENCE.md §4 (2026). The set is marked unverified as a whole because
of the last item.

The end of second life (60 % state of health, "common practice" in REFERENCE.md with no source) is not here: it
is a project assumption, ``batteryloop_assumptions.second_life_end_soh_fraction``; how long a second life lasts at
most is NREL's, ``nrel_2015_second_use``.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="second_life_literature",
    citation=Citation(
        title="Repurposing cost (Lieskoski et al., Batteries 2024); LCOE/CO2 (Kamath et al., Waste Management 2020); "
        "retirement state of health (Gharebaghi et al., Energies 2025); 2024 pack price (secondary sources)",
        publisher="MDPI Batteries; Elsevier Waste Management; secondary sources",
        date="2024",
        verified=False,
        note="the repurposing cost, Kamath ranges and retirement range are published; the pack price is unverified",
    ),
    values={
        "repurposing_cost_eur_per_kwh": {"low": 27.2, "high": 38.3},
        "second_life_lcoe_reduction_fraction": {"low": 0.12, "high": 0.57},
        "second_life_co2_reduction_fraction": {"low": 0.07, "high": 0.31},
        "retirement_soh_fraction": {"low": 0.70, "high": 0.80},
        "new_pack_price_usd_per_kwh": 115.0,
    },
    # keys that left this set: an override of one is refused naming its new place
    moved={"second_life_end_soh_fraction": "batteryloop_assumptions.second_life_end_soh_fraction"},
)
