"""Ratings and compositions of EV packs the battery passport needs (Annex XIII) and no other set gives.

Source: secondary literature and batteryloop estimates, UNVERIFIED (2026-12-05); each key names its own source
in ``notes``. They fill the pilot's demo passports (``sim/pilot.py``) where a value comes from the outside world
(a model's rating, not a pack's measurement); override them with a maker's datasheet.

- ``initial_self_discharge_pct_per_month.lithium_ion``: Battery University BU-802b "What does elevated
  self-discharge do?" (Cadex Electronics, I. Buchmann): lithium-ion loses about 5 % in the first 24 h, then
  1–2 % per month; the demo's new packs take the low end.
- ``expected_lifetime_years.ev_moderate_climate``: US DOE Alternative Fuels Data Center, "Batteries for Electric
  Vehicles", quoting NREL: EV batteries last 12 to 15 years in moderate climates (8 to 12 in extreme ones); the
  demo declares the low end.
- ``power_at_20pct_soc_share_of_80pct``: batteryloop estimate from the shape of HPPC pulse-power curves
  (discharge power falls at low state of charge as the open-circuit voltage drops and the resistance rises).
- ``nominal_power_energy_ratio_per_h``: batteryloop estimate: traction cells' nominal continuous rate is about 1 C
  (cell datasheets of prismatic 60–120 Ah cells), the peak power several times more.
- ``electrolyte_share_of_cell_mass``: electrolyte is 10–15 % of a lithium-ion cell's mass in teardown and
  bill-of-material studies (BatPaC's cell designs within that range); the demo takes 12 %.
- ``recycled_content_pre_consumer_share``: IEA Global EV Outlook 2024: production scrap, not end-of-life packs, is
  today the main feed of battery recycling; batteryloop takes three quarters of a pack's recycled content as
  recovered from manufacturing (pre-consumer) waste.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="battery_ratings_literature",
    citation=Citation(
        title="EV pack ratings for the passport (self-discharge, calendar life, power at SoC, electrolyte share, "
              "recycled-content split): secondary sources and estimates",
        publisher="Battery University (Cadex); US DOE AFDC / NREL; IEA; batteryloop",
        date="2026-12-05",
        verified=False,
        note="each key's source is in the set's notes",
    ),
    values={
        "initial_self_discharge_pct_per_month": {"lithium_ion": 1.0},
        "expected_lifetime_years": {"ev_moderate_climate": 12},
        "power_at_20pct_soc_share_of_80pct": 0.7,
        "nominal_power_energy_ratio_per_h": 1.0,
        "electrolyte_share_of_cell_mass": 0.12,
        "recycled_content_pre_consumer_share": 0.75,
    },
    notes={
        "initial_self_discharge_pct_per_month.lithium_ion": "Battery University BU-802b: 1-2 %/month after the "
                                                            "first day; low end",
        "expected_lifetime_years.ev_moderate_climate": "US DOE AFDC quoting NREL: 12-15 years in moderate climates; "
                                                       "low end",
        "power_at_20pct_soc_share_of_80pct": "batteryloop estimate (HPPC curve shape)",
        "nominal_power_energy_ratio_per_h": "batteryloop estimate (about 1 C nominal for traction cells)",
        "electrolyte_share_of_cell_mass": "10-15 % of cell mass (teardown / BatPaC cell designs); 12 %",
        "recycled_content_pre_consumer_share": "IEA Global EV Outlook 2024: production scrap is the main recycling "
                                               "feed today; batteryloop takes 3/4",
    },
)
