"""Grading thresholds for retired EV batteries, after UL 1974 (2nd ed., 2023) ideas.

UL 1974, "Evaluation for Repurposing or Remanufacturing Batteries" (UL Standards & Engagement,
2nd edition, 2023), prescribes *what* to check at intake — BMS history review, visual inspection,
open-circuit voltage, capacity, internal resistance, self-discharge, insulation — and that parts
past the original maker's calendar expiry are not repurposed; it leaves the grade limits to the
repurposer's documented procedure. The limits below are therefore batteryloop defaults
(2026-11-26), each marked with where it comes from; override them with :func:`thresholds` or
``dataclasses.replace`` and every grade records the values it used.

- SoH bands: retired EV packs typically hold 70–80 % of capacity; second life commonly ends
  near 60 % (REFERENCE.md §4, unverified secondary sources).
- Insulation: 100 Ω/V for DC circuits, UNECE Regulation No. 100 rev. 3, §5.1.1.3 (verified
  wording of the rule; its use for intake grading is our choice).
- Resistance, self-discharge, temperature, efficiency, outlier limits: batteryloop assumptions,
  unverified, chosen to be conservative; tune them with your own intake statistics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ._core import Citation

CITATION = Citation(
    title="UL 1974, Evaluation for Repurposing or Remanufacturing Batteries (intake checks); grade limits: "
          "batteryloop defaults",
    publisher="UL Standards & Engagement; batteryloop",
    date="2023; 2026-11-26",
    verified=False,
    note="the standard names the checks, not the limits; UNECE R100 rev. 3 §5.1.1.3 gives the insulation rule",
)
SOURCE = "UL 1974 (2nd ed., 2023) intake checks; limits: batteryloop defaults 2026-11-26 (see module doc)"


@dataclass(frozen=True)
class GradingThresholds:
    # state of health bands (capacity, % of rated) — REFERENCE.md §4, unverified
    grade_a_min_soh_pct: float = 80.0
    grade_b_min_soh_pct: float = 70.0
    grade_c_min_soh_pct: float = 60.0
    # resistance increase over beginning of life, % — assumption
    grade_a_max_resistance_increase_pct: float = 25.0
    grade_b_max_resistance_increase_pct: float = 50.0
    grade_c_max_resistance_increase_pct: float = 100.0
    # self-discharge, % of capacity per month at rest — assumption
    grade_a_max_self_discharge_pct_per_month: float = 3.0
    grade_b_max_self_discharge_pct_per_month: float = 5.0
    grade_c_max_self_discharge_pct_per_month: float = 10.0
    # insulation resistance per volt of nominal voltage — UNECE R100 rev. 3 §5.1.1.3 (DC)
    min_insulation_ohm_per_v: float = 100.0
    # a cell/module whose resistance is this many robust z-scores (MAD) above the pack median — assumption
    resistance_outlier_z: float = 3.5
    # highest temperature tolerated in the BMS history before a safety flag, °C — assumption
    max_temperature_c: float = 60.0
    # deep-discharge events: any is flagged; more than this many sends the battery to recycling — assumption
    max_deep_discharge_events: int = 3
    # mean coulombic efficiency below this is abnormal (lithium loss, side reactions) — assumption
    min_coulombic_efficiency: float = 0.98
    # open-circuit voltage spread between cells/modules flagged above this, V — assumption
    max_ocv_spread_v: float = 0.05

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT = GradingThresholds()


def thresholds(**overrides: float) -> GradingThresholds:
    """The defaults with some values replaced; unknown names are an error."""
    unknown = set(overrides) - set(DEFAULT.as_dict())
    if unknown:
        raise KeyError(f"unknown grading threshold(s) {sorted(unknown)}; known: {sorted(DEFAULT.as_dict())}")
    return replace(DEFAULT, **overrides)
