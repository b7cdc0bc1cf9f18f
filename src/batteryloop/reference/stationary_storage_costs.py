"""Costs and lifetimes of stationary battery storage, new and second-life (UNVERIFIED defaults).

Sources (secondary, not checked against the originals here):
- BloombergNEF, "Energy Storage System Cost Survey 2024" (Dec 2024): global average turnkey price of
  a four-hour energy storage system about 165 USD/kWh (2024).
- Fixed operation and maintenance about 2.5 % of capital cost per year, the order of magnitude used by
  NREL's Annual Technology Baseline for utility-scale battery storage (2024).
- A new LFP storage system: about 6,000 full equivalent cycles to 80 % state of health or a 15-year
  calendar life, whichever comes first (manufacturers' warranties, secondary sources).
- Second-life system: balance of system (power conversion, container, thermal and battery management,
  integration) about 60 USD/kWh; buying a retired pack about 25 USD/kWh of usable capacity
  (batteryloop estimates). The repurposing labour itself is in ``second_life_literature``.

All values are defaults to be overridden with quotes for the project at hand.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="stationary_storage_costs",
    citation=Citation(
        title="Turnkey BESS price (BNEF 2024 survey), O&M (NREL ATB order of magnitude), lifetimes, second-life BOS and acquisition",
        publisher="BloombergNEF; NREL; batteryloop",
        date="2024",
        url="https://about.bnef.com/",
        verified=False,
        note="secondary-source and estimated values",
    ),
    values={
        "new_system_usd_per_kwh": 165.0,
        "new_cycle_life_fec": 6000.0,
        "new_end_soh_fraction": 0.80,
        "new_calendar_life_years": 15.0,
        "new_round_trip_efficiency_fraction": 0.90,
        "fixed_om_fraction_of_capex_per_year": 0.025,
        "second_life_bos_usd_per_kwh": 60.0,
        "second_life_acquisition_usd_per_kwh": 25.0,
    },
)
