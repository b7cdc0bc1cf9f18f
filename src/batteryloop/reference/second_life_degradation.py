"""Degradation of repurposed packs in stationary duty, per full equivalent cycle (UNVERIFIED defaults).

Sources (orders of magnitude from the literature, not fitted here):
- Preger et al., "Degradation of commercial lithium-ion cells as a function of chemistry and cycling
  conditions", J. Electrochem. Soc. 167, 120532 (2020): at 25 °C and moderate rates LFP cells kept
  more than 80 % capacity after several thousand cycles, NMC and NCA cells reached 80 % after roughly
  one to two thousand cycles.
- Second-life packs fade faster as they approach the "knee" (e.g. Martinez-Laserna et al., Renewable
  and Sustainable Energy Reviews 93 (2018) 701–718, review of second-life battery ageing).

batteryloop's model (an assumption, to be replaced by the health package's fitted models when a pack's
own history is known): capacity fade per full equivalent cycle
``f(s, r) = f_ref · (s_ref / s)^k · (1 + β · r / 100)`` with ``s`` the state of health (fraction),
``r`` the resistance increase (%), plus a calendar fade per year. ``f_ref`` by chemistry family at
``s_ref`` = 0.80.
"""

from __future__ import annotations

from ._core import Citation, ReferenceSet

SET = ReferenceSet(
    name="second_life_degradation",
    citation=Citation(
        title="Cycle fade orders of magnitude (Preger et al., JES 2020; Martinez-Laserna et al., RSER 2018); batteryloop fade model",
        publisher="J. Electrochem. Soc.; Renew. Sustain. Energy Rev.; batteryloop",
        date="2020",
        url="https://doi.org/10.1149/1945-7111/abae37",
        verified=False,
        note="values are order-of-magnitude defaults, not fits",
    ),
    values={
        "fade_per_fec_at_ref_fraction": {"LFP": 0.00004, "LMFP": 0.00005, "NMC": 0.0001, "NCA": 0.00012, "LMO": 0.00015},
        "reference_soh_fraction": 0.80,
        "soh_exponent": 2.0,
        "resistance_weight": 0.5,
        "calendar_fade_per_year_fraction": 0.01,
        "default_c_rate_per_h": 0.5,
        "default_round_trip_efficiency_fraction": 0.90,
        "min_soc_fraction": 0.10,
        "max_soc_fraction": 0.95,
    },
    extensible=frozenset({"fade_per_fec_at_ref_fraction"}),
)
