"""Degradation of repurposed packs in stationary duty, per full equivalent cycle (UNVERIFIED defaults).

Sources (orders of magnitude from the literature, not fitted here):
- Preger et al., "Degradation of commercial lithium-ion cells as a function of chemistry and cycling
  conditions", J. Electrochem. Soc. 167, 120532 (2020): at 25 °C and moderate rates LFP cells kept
  more than 80 % capacity after several thousand cycles, NMC and NCA cells reached 80 % after roughly
  one to two thousand cycles.
- Second-life packs fade faster as they approach the "knee" (e.g. Martinez-Laserna et al., Renewable
  and Sustainable Energy Reviews 93 (2018) 701–718, review of second-life battery ageing).

- Depth of discharge: J. Schmalstieg et al., "A holistic aging model for Li(NiMnCo)O2 based 18650
  lithium-ion batteries", J. Power Sources 257 (2014) 325–334: the cycle-ageing factor grows linearly
  with the cycle depth, beta = 7.348e-3·(V − 3.667)² + 7.600e-4 + 4.081e-3·DoD (per sqrt of charge
  throughput). At a mean voltage near 3.7 V the offset is about 7.7e-4, i.e. 0.19 DoD-units: per full
  equivalent cycle the fade scales as ``(0.19 + DoD) / (0.19 + DoD_ref)``. UNVERIFIED reading of the
  paper's fit (NMC cells), used for every chemistry.
- Temperature of cycle fade: J. Wang et al., "Cycle-life model for graphite-LiFePO4 cells", J. Power
  Sources 196 (2011) 3942–3948: activation energy 31,700 − 370.3·C-rate J/mol (about 31.5 kJ/mol at
  0.5C). Calendar fade: about 50 kJ/mol (Schmalstieg et al. 2014; M. Naumann et al., J. Energy Storage
  17 (2018) 153–169; the value of ``first_life_fade``). UNVERIFIED readings.

batteryloop's model (an assumption, to be replaced by the health package's fitted models when a pack's
own history is known), :mod:`batteryloop.circular.second_life`: capacity fade per full equivalent cycle

    f(s, r, DoD, T) = f_ref · (s_ref / s)^k · (1 + β · r / 100) · (d0 + DoD) / (d0 + DoD_ref) · A_cyc(T)

with ``s`` the state of health (fraction), ``r`` the resistance increase (%), ``A(T)`` =
exp(−Ea/R · (1/T − 1/T_ref)), plus a calendar fade per year × A_cal(T). ``f_ref`` by chemistry family at
``s_ref`` = 0.80, the reference depth (the full SoC window 10–95 %: 0.85) and 25 °C. Stationary storage
stands in a conditioned enclosure: its cells' temperature defaults to the reference 25 °C.
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
        "reference_dod_fraction": 0.85,
        "dod_offset_fraction": 0.19,
        "reference_temperature_c": 25.0,
        "cycle_activation_energy_j_per_mol": 31_500.0,
        "calendar_activation_energy_j_per_mol": 50_000.0,
        "storage_temperature_c": 25.0,
    },
    extensible=frozenset({"fade_per_fec_at_ref_fraction"}),
)
