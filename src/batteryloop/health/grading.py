"""Grading of retired packs, modules and cells for re-use, second life or recycling, in the spirit
of UL 1974 (intake review → tests → grade with reasons). Thresholds: :mod:`batteryloop.reference.ul_1974`.

Grades: ``A`` (re-use or demanding second life), ``B`` (second-life storage), ``C`` (low-demand
second life, after repair or with derating), ``recycle`` (not fit for re-use: route to recycling).
Every grade comes with the reasons that set it and the safety flags raised, so that an operator
can read why. Missing measurements never raise a grade: without a capacity test the best grade
is C.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from batteryloop.reference.ul_1974 import DEFAULT, SOURCE, GradingThresholds
from batteryloop.health.soh import StateOfHealth

GRADES = ("A", "B", "C", "recycle")
VISUAL_REJECTS = frozenset({"swelling", "leakage", "venting", "burn marks", "deformation", "cracked casing", "corrosion"})


class IntakeRecord(BaseModel):
    """What intake knows about one battery. Every field is optional except the identifier."""

    battery_id: str
    soh_capacity_pct: float | None = None
    resistance_increase_pct: float | None = None
    self_discharge_pct_per_month: float | None = None
    coulombic_efficiency: float | None = None
    insulation_resistance_ohm: float | None = None
    nominal_voltage_v: float | None = None
    open_circuit_voltage_v: float | None = None
    min_cell_voltage_v: float | None = Field(None, description="lowest safe cell voltage of the chemistry")
    cell_ocv_v: list[float] = Field(default_factory=list, description="per cell or module")
    cell_resistance_ohm: list[float] = Field(default_factory=list, description="per cell or module")
    max_temperature_c_seen: float | None = None
    deep_discharge_events: int | None = None
    visual_defects: list[str] = Field(default_factory=list)
    calendar_expiry: date | None = Field(None, description="the original maker's calendar expiry")
    inspected_on: date | None = None


#: every code intake grading can raise (alert rules on safety flags are checked against it)
SAFETY_FLAG_CODES = ("high_self_discharge", "insulation", "over_discharged", "ocv_imbalance", "resistance_outlier",
                     "temperature_excursion", "deep_discharge", "abnormal_efficiency", "visual", "calendar_expired")


class SafetyFlag(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    blocking: bool


class GradeResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    battery_id: str
    grade: str
    reasons: list[str]
    safety_flags: list[SafetyFlag]
    thresholds: dict[str, float]
    source: str = SOURCE


def intake_from_soh(battery_id: str, soh: StateOfHealth, **extra: object) -> IntakeRecord:
    """An intake record pre-filled from a computed state of health."""
    # a rest-voltage decay (mV/day) is not a capacity loss (%/month) without the OCV curve:
    # self-discharge is left for the intake test to fill in
    return IntakeRecord(
        battery_id=battery_id,
        soh_capacity_pct=soh.soh_capacity_pct,
        resistance_increase_pct=soh.resistance_increase_pct,
        **extra,  # type: ignore[arg-type]
    )


def _band(value: float | None, limits: tuple[float, float, float], higher_is_better: bool) -> int | None:
    """0, 1, 2 for A, B, C; 3 for recycle; None when not measured."""
    if value is None:
        return None
    for i, lim in enumerate(limits):
        if (value >= lim) if higher_is_better else (value <= lim):
            return i
    return 3


def grade(intake: IntakeRecord, t: GradingThresholds = DEFAULT) -> GradeResult:
    """Grade one battery from its intake record."""
    reasons: list[str] = []
    flags: list[SafetyFlag] = []
    worst = 0

    def lower_to(level: int, why: str) -> None:
        nonlocal worst
        reasons.append(why)
        worst = max(worst, level)

    soh = _band(intake.soh_capacity_pct, (t.grade_a_min_soh_pct, t.grade_b_min_soh_pct, t.grade_c_min_soh_pct), True)
    if soh is None:
        lower_to(2, "capacity not tested: at best grade C")
    else:
        lower_to(soh, f"state of health {intake.soh_capacity_pct:.1f} % → {GRADES[soh]}")
    r = _band(intake.resistance_increase_pct, (t.grade_a_max_resistance_increase_pct, t.grade_b_max_resistance_increase_pct, t.grade_c_max_resistance_increase_pct), False)
    if r is not None:
        lower_to(r, f"resistance increase {intake.resistance_increase_pct:.1f} % → {GRADES[r]}")
    sd = _band(intake.self_discharge_pct_per_month, (t.grade_a_max_self_discharge_pct_per_month, t.grade_b_max_self_discharge_pct_per_month, t.grade_c_max_self_discharge_pct_per_month), False)
    if sd is not None:
        lower_to(sd, f"self-discharge {intake.self_discharge_pct_per_month:.1f} %/month → {GRADES[sd]}")
        if sd >= 2:
            flags.append(SafetyFlag(code="high_self_discharge", message="self-discharge above grade B limit: possible internal short", blocking=sd == 3))
    if intake.insulation_resistance_ohm is not None and intake.nominal_voltage_v:
        per_v = intake.insulation_resistance_ohm / intake.nominal_voltage_v
        if per_v < t.min_insulation_ohm_per_v:
            flags.append(SafetyFlag(code="insulation", message=f"insulation {per_v:.0f} Ω/V < {t.min_insulation_ohm_per_v:.0f} Ω/V", blocking=True))
    if intake.open_circuit_voltage_v is not None and intake.min_cell_voltage_v is not None and intake.open_circuit_voltage_v < intake.min_cell_voltage_v:
        flags.append(SafetyFlag(code="over_discharged", message=f"open-circuit voltage {intake.open_circuit_voltage_v} V below the chemistry's minimum {intake.min_cell_voltage_v} V", blocking=True))
    if len(intake.cell_ocv_v) >= 2 and max(intake.cell_ocv_v) - min(intake.cell_ocv_v) > t.max_ocv_spread_v:
        spread = max(intake.cell_ocv_v) - min(intake.cell_ocv_v)
        flags.append(SafetyFlag(code="ocv_imbalance", message=f"cell voltage spread {spread * 1000:.0f} mV > {t.max_ocv_spread_v * 1000:.0f} mV", blocking=False))
        lower_to(1, "cells out of balance: at best grade B until rebalanced")
    if len(intake.cell_resistance_ohm) >= 3:
        rr = np.asarray(intake.cell_resistance_ohm, dtype=float)
        med = float(np.median(rr))
        mad = float(np.median(np.abs(rr - med))) * 1.4826 or 1e-12
        z = (rr - med) / mad
        out = np.flatnonzero(z > t.resistance_outlier_z)
        if out.size:
            flags.append(SafetyFlag(code="resistance_outlier", message=f"resistance outlier(s) at position(s) {out.tolist()} (z > {t.resistance_outlier_z})", blocking=False))
            lower_to(2, "resistance outlier within the pack: grade C (replace the outlier cells to regrade)")
    if intake.max_temperature_c_seen is not None and intake.max_temperature_c_seen > t.max_temperature_c:
        flags.append(SafetyFlag(code="temperature_excursion", message=f"BMS history shows {intake.max_temperature_c_seen} °C > {t.max_temperature_c} °C", blocking=False))
        lower_to(2, "temperature excursion in the BMS history: at best grade C")
    if intake.deep_discharge_events:
        blocking = intake.deep_discharge_events > t.max_deep_discharge_events
        flags.append(SafetyFlag(code="deep_discharge", message=f"{intake.deep_discharge_events} deep-discharge event(s)", blocking=blocking))
        lower_to(2, "deep discharges in the BMS history: at best grade C")
    if intake.coulombic_efficiency is not None and intake.coulombic_efficiency < t.min_coulombic_efficiency:
        flags.append(SafetyFlag(code="abnormal_efficiency", message=f"coulombic efficiency {intake.coulombic_efficiency:.3f} < {t.min_coulombic_efficiency}", blocking=False))
        lower_to(2, "abnormal coulombic efficiency: at best grade C")
    defects = {d.strip().lower() for d in intake.visual_defects}
    if defects & VISUAL_REJECTS:
        flags.append(SafetyFlag(code="visual", message=f"visual inspection: {sorted(defects & VISUAL_REJECTS)}", blocking=True))
    if intake.calendar_expiry is not None:
        today = intake.inspected_on or date.today()
        if today > intake.calendar_expiry:
            flags.append(SafetyFlag(code="calendar_expired", message=f"past the maker's calendar expiry {intake.calendar_expiry} (UL 1974: not repurposed)", blocking=True))
    blocking = [f for f in flags if f.blocking]
    if blocking:
        lower_to(3, "blocking safety flag(s): " + ", ".join(f.code for f in blocking))
    return GradeResult(
        battery_id=intake.battery_id,
        grade=GRADES[worst],
        reasons=reasons,
        safety_flags=flags,
        thresholds={k: float(v) for k, v in t.as_dict().items()},
    )
