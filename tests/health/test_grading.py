"""Second-life grading: bands, safety flags, overridable thresholds."""

from __future__ import annotations

from datetime import date

import pytest

from batteryloop.health.grading import IntakeRecord, grade, intake_from_soh
from batteryloop.reference.ul_1974 import DEFAULT, thresholds
from batteryloop.health.soh import estimate_soh


def test_bands() -> None:
    assert grade(IntakeRecord(battery_id="a", soh_capacity_pct=85, resistance_increase_pct=10)).grade == "A"
    assert grade(IntakeRecord(battery_id="b", soh_capacity_pct=75, resistance_increase_pct=10)).grade == "B"
    assert grade(IntakeRecord(battery_id="c", soh_capacity_pct=85, resistance_increase_pct=80)).grade == "C"
    r = grade(IntakeRecord(battery_id="d", soh_capacity_pct=55))
    assert r.grade == "recycle" and any("55.0 %" in x for x in r.reasons)


def test_missing_capacity_is_at_best_c() -> None:
    r = grade(IntakeRecord(battery_id="x", resistance_increase_pct=5))
    assert r.grade == "C" and "capacity not tested" in r.reasons[0]


def test_safety_flags() -> None:
    r = grade(
        IntakeRecord(
            battery_id="p1", soh_capacity_pct=90, nominal_voltage_v=400, insulation_resistance_ohm=20_000,
            cell_resistance_ohm=[1.0, 1.02, 0.99, 1.01, 1.0, 1.6], max_temperature_c_seen=70,
        )
    )
    codes = {f.code for f in r.safety_flags}
    assert {"insulation", "resistance_outlier", "temperature_excursion"} <= codes
    assert r.grade == "recycle"  # 50 Ω/V insulation blocks re-use
    ok = grade(IntakeRecord(battery_id="p2", soh_capacity_pct=90, nominal_voltage_v=400, insulation_resistance_ohm=1e6, cell_resistance_ohm=[1.0, 1.02, 0.99, 1.6]))
    assert ok.grade == "C" and [f.code for f in ok.safety_flags] == ["resistance_outlier"]


def test_calendar_expiry_and_visual() -> None:
    r = grade(IntakeRecord(battery_id="e", soh_capacity_pct=90, calendar_expiry=date(2025, 1, 1), inspected_on=date(2026, 1, 1)))
    assert r.grade == "recycle" and r.safety_flags[0].code == "calendar_expired"
    r = grade(IntakeRecord(battery_id="v", soh_capacity_pct=90, visual_defects=["Swelling"]))
    assert r.grade == "recycle"


def test_thresholds_are_overridable_and_recorded() -> None:
    rec = IntakeRecord(battery_id="o", soh_capacity_pct=78)
    assert grade(rec).grade == "B"
    loose = thresholds(grade_a_min_soh_pct=75)
    res = grade(rec, loose)
    assert res.grade == "A" and res.thresholds["grade_a_min_soh_pct"] == 75
    assert DEFAULT.grade_a_min_soh_pct == 80
    with pytest.raises(KeyError, match="unknown"):
        thresholds(nonsense=1)


def test_grade_from_real_soh(calce_cell) -> None:  # type: ignore[no-untyped-def]
    soh = estimate_soh(calce_cell, rated_capacity_ah=1.1, upto_cycle=100)
    assert grade(intake_from_soh("CS2_36", soh)).grade == "A"
    end = estimate_soh(calce_cell, rated_capacity_ah=1.1)
    assert grade(intake_from_soh("CS2_36", end)).grade == "recycle"
