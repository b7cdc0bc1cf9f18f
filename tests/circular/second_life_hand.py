"""The second-life NPV of docs/circular.md ("Second life: one model") written out by hand, for states of health
that fall in a straight line — calendar fade only (no cycle fade: ``CAL_ONLY`` references) or a given number
of years (the health model's). Plain arithmetic, independent of ``circular.second_life``.

Defaults (REFERENCE.md §4 and the reference sets): repurposing (27.2 + 38.3) / 2 × 1.0824 = 35.4486 $/kWh,
balance of system 60 $/kWh usable, O&M 0.025 × (25 + 60 + 35.4486) = 3.011215 $/kWh usable a year, 300
cycles a year at η 0.90 (2η/(1 + η) = 0.947368 kWh discharged per kWh of throughput), r = 8 %, end of
second life 0.60, at most 10 years.
"""

from __future__ import annotations

import math

from batteryloop.reference import References

REPURPOSING = (27.2 + 38.3) / 2 * 1.0824  # 35.4486 $/kWh
OM = 0.025 * (25 + 60 + REPURPOSING)  # 3.011215 $/kWh·yr


def cal_only(base: References | None = None) -> References:
    """References whose second-life packs fade by the calendar only (1 %/yr at 25 °C): a straight line."""
    return (base or References.default()).override({"second_life_degradation": {"fade_per_fec_at_ref_fraction": {
        "NMC": 0.0, "LFP": 0.0, "NCA": 0.0, "LMO": 0.0, "LMFP": 0.0}}})


def linear_npv(cap: float, s0: float, v: float, recycle_usd: float, *, years: float | None = None,
               fade_per_year: float = 0.01, end: float = 0.60, max_years: float = 10.0, cycles: float = 300.0,
               eta: float = 0.90, r: float = 0.08, repurposing: float = REPURPOSING, bos: float = 60.0,
               om: float = OM) -> float:
    n = years if years is not None else min(max_years, (s0 - end) / fade_per_year)
    slope = (s0 - end) / n if years is not None else fade_per_year
    npv = -cap * repurposing - cap * s0 * bos
    for k in range(1, math.ceil(n) + 1):
        w = min(1.0, n - (k - 1))
        a = s0 - slope * (k - 1)
        b = a - slope * w
        e = cap * (a + b) / 2 * cycles * 2 * eta / (1 + eta) * w
        npv += (e * v - w * cap * s0 * om) * (1 + r) ** -(k - 1 + w)
    return npv + recycle_usd * (1 + r) ** -n
