"""CATL battery swapping: Choco-Swap standard packs (2024) and EVOGO block rental.

Source: CATL Choco-Swap launch (2024) and EVOGO announcements, as collected in the project's
REFERENCE.md §5 (2026): pack #20 holds 42 kWh (LFP) or 52 kWh (NMC); pack #25 holds 56 kWh (LFP) or
70 kWh (NMC); a station stocks 14–30 packs; EVOGO blocks rent for RMB 399/month.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="catl_swap",
    citation=Citation(
        title="CATL Choco-Swap standard packs and EVOGO block rental",
        publisher="CATL",
        date="2024",
        url="https://www.catl.com/",
    ),
    values={
        "pack_energy_kwh": {
            "20": {"LFP": 42, "NMC": 52},
            "25": {"LFP": 56, "NMC": 70},
        },
        "station_packs": {"min": 14, "max": 30},
        "evogo_block_rent_rmb_per_month": 399,
    },
)
