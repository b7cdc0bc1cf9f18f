"""Regulation (EU) 2023/1542 on batteries and waste batteries (12 July 2023).

Source: Regulation (EU) 2023/1542 of the European Parliament and of the Council of 12 July 2023,
OJ L 191, 28.7.2023, p. 1 — https://eur-lex.europa.eu/eli/reg/2023/1542/oj

- Art. 8(2)-(3): minimum recycled content in active materials, per battery model, per year, per plant
  (cobalt, lithium, nickel, lead), from 18 Aug 2031 and from 18 Aug 2036.
- Annex XII Part B: recycling efficiency targets (share of the waste battery's mass recycled),
  by 31 Dec 2025 and by 31 Dec 2030. Calculation method: Delegated Regulation (EU) 2025/606.
- Annex XII Part C: material recovery targets (share of each metal recovered), by 31 Dec 2027 and
  by 31 Dec 2031.
- Art. 7 and Annex II, with the Commission's draft delegated act on the carbon-footprint calculation
  rules for EV batteries (2024): full-equivalent cycles per year by vehicle category. The performance
  classes and the maximum threshold are not adopted yet: the class limits here are empty and must be
  supplied as an override (``carbon_footprint.class_limits_kgco2e_per_kwh``).

Dates are the first day a target applies (ISO). All shares are fractions (0.16 = 16 %).
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="eu_2023_1542",
    citation=Citation(
        title="Regulation (EU) 2023/1542 concerning batteries and waste batteries, Art. 7, Art. 8, Annex II, Annex XII",
        publisher="European Parliament and Council",
        date="2023-07-12",
        url="https://eur-lex.europa.eu/eli/reg/2023/1542/oj",
    ),
    values={
        # Art. 8(2) and 8(3): minimum share of the metal in active materials recovered from waste.
        "recycled_content_min_fraction": {
            "2031-08-18": {"Co": 0.16, "Li": 0.06, "Ni": 0.06, "Pb": 0.85},
            "2036-08-18": {"Co": 0.26, "Li": 0.12, "Ni": 0.15, "Pb": 0.85},
        },
        # Annex XII Part B: recycling efficiency by battery type; key = date from which it applies.
        "recycling_efficiency_min_fraction": {
            "lithium_based": {"2025-12-31": 0.65, "2030-12-31": 0.70},
            "lead_acid": {"2025-12-31": 0.75, "2030-12-31": 0.80},
            "nickel_cadmium": {"2025-12-31": 0.80},
            "other": {"2025-12-31": 0.50},
        },
        # Annex XII Part C: recovery of each metal.
        "material_recovery_min_fraction": {
            "2027-12-31": {"Co": 0.90, "Cu": 0.90, "Pb": 0.90, "Ni": 0.90, "Li": 0.50},
            "2031-12-31": {"Co": 0.95, "Cu": 0.95, "Pb": 0.95, "Ni": 0.95, "Li": 0.80},
        },
        "carbon_footprint": {
            # full equivalent cycles per year, by vehicle category (draft delegated act, 2024)
            "cycles_per_year": {
                "M1": 60, "N1": 60,
                "M2": 250, "M3": 250, "N2": 250, "N3": 250,
                "L": 20,
            },
            # upper limit (inclusive) of each class, A = lowest footprint. Not adopted yet: supply them.
            "class_limits_kgco2e_per_kwh": {},
        },
    },
    extensible=frozenset({
        "carbon_footprint.class_limits_kgco2e_per_kwh",
        "carbon_footprint.cycles_per_year",
    }),
    notes={
        "carbon_footprint.class_limits_kgco2e_per_kwh": (
            "performance classes and the maximum threshold are to be set by delegated acts (Art. 7(2), 7(3)); "
            "not adopted yet"
        ),
        "recycled_content_min_fraction": "not applicable to re-used, repurposed or remanufactured batteries (Art. 8(4))",
    },
)
