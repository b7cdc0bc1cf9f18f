"""Greenhouse-gas intensity of electricity by country, kg CO2e per kWh (UNVERIFIED defaults).

Source: approximate 2023 generation intensities in the range published by Ember, "Yearly electricity
data" (2024 release, https://ember-energy.org/data/yearly-electricity-data/) and the European
Environment Agency's "Greenhouse gas emission intensity of electricity generation" indicator
(https://www.eea.europa.eu/). The figures below were collected from secondary sources and rounded; they
have NOT been checked against the current releases. They are defaults for a first estimate: a
carbon-footprint declaration must override them with the supplier-specific or residual-mix factor the
delegated act requires (key ``kgco2e_per_kwh.<ISO country code>``; new countries may be added).
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="grid_factors",
    citation=Citation(
        title="Electricity generation GHG intensity by country, approx. 2023 (Ember / EEA ranges)",
        publisher="Ember; European Environment Agency",
        date="2024",
        url="https://ember-energy.org/data/yearly-electricity-data/",
        verified=False,
        note="rounded secondary-source values; override for any declaration",
    ),
    values={
        "kgco2e_per_kwh": {
            "WORLD": 0.48, "EU27": 0.24, "DE": 0.38, "FR": 0.056, "PL": 0.66, "SE": 0.04, "NO": 0.03,
            "ES": 0.15, "IT": 0.29, "NL": 0.27, "HU": 0.20, "FI": 0.08, "CN": 0.58, "US": 0.37,
            "JP": 0.48, "KR": 0.43, "IN": 0.71,
        }
    },
    extensible=frozenset({"kgco2e_per_kwh"}),
)
