"""Per-cycle summaries (IEC 62660-1 definitions, EU 2023/1542 Annex VII Part B counters) on hand-built
series, every column computed by hand in the docstrings.

Definitions (REFERENCE.md §1 Annex VII B and the module docstring): a cycle's charge / discharge is the
rise of the running total across it (the first row counts from 0; a running total that dips by jitter
adds nothing); coulombic efficiency = discharge Ah / charge Ah, energy efficiency = discharge Wh /
charge Wh, each only when the smaller direction is above 1e-6 and at least 10 % of the larger;
capacity throughput = cumulative (charge + discharge) Ah; full equivalent cycles = throughput / (2 ×
rated).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from batteryloop.health.errors import InsufficientDataError
from batteryloop.health.summary import SUMMARY_COLUMNS, cycle_summary, estimate_rated_capacity_ah, full_cycles
from tests.health.handbuilt import T0, cycles, series


def _two_cycles():  # type: ignore[no-untyped-def]
    """Cycle 1 (4 rows) and cycle 2 (2 rows); running totals are binary-exact.

    ====  ======  =====  ====  =====  =====  =====  =====  ====  =====
    cyc   t (s)   I (A)  V     Qc     Qd     Ec     Ed     T °C  R Ω
    ====  ======  =====  ====  =====  =====  =====  =====  ====  =====
    1     0       2.0    3.50  0.25   0      0.875  0      24    0.050
    1     1800    1.0    4.25  1.0    0      4.0    0      28    —
    1     3600    -3.0   3.00  1.0    0.75   4.0    2.75   29    0.0625
    1     3700    -0.5   2.875 0.875  0.875  4.0    3.25   31    0.0575
    2     4000    1.5    3.875 2.875  0.875  12.0   3.25   20    —
    2     5000    -1.0   3.75  2.875  1.0    12.0   3.75   22    —
    ====  ======  =====  ====  =====  =====  =====  =====  ====  =====

    Cycle 1: Qc rises 0.25 (first row, from 0) + 0.75 + 0 + 0 (the dip 1.0 → 0.875 is jitter: 0, not
    −0.125) = 1.0 Ah; Qd 0.875 Ah; Ec 0.875 + 3.125 = 4.0 Wh; Ed 3.25 Wh. CE 0.875, EE 3.25 / 4 = 0.8125.
    V 2.875…4.25; max charge current 2.0 A, max discharge current 3.0 A; T mean (24+28+29+31)/4 = 28,
    min 24, max 31; R median of 0.050, 0.0625, 0.0575 = 0.0575. Duration 3700 s.
    Cycle 2: Qc 2.875 − 0.875 = 2.0 Ah (from the clipped value: the running total is 2.875 after the dip),
    Qd 0.125 Ah (< 10 % of 2.0 → no efficiencies), Ec 8.0 Wh, Ed 0.5 Wh; no resistance; duration 1000 s;
    only charge current 1.5 A and discharge 1.0 A.
    Throughput: 1.875 Ah after cycle 1, 1.875 + 2.125 = 4.0 Ah after cycle 2; energy 7.25 Wh, 15.75 Wh.
    """
    rows = [
        (1, 0.0, 2.0, 3.50, 0.25, 0.0, 0.875, 0.0, 24.0, 0.050),
        (1, 1800.0, 1.0, 4.25, 1.0, 0.0, 4.0, 0.0, 28.0, None),
        (1, 3600.0, -3.0, 3.00, 1.0, 0.75, 4.0, 2.75, 29.0, 0.0625),
        (1, 3700.0, -0.5, 2.875, 0.875, 0.875, 4.0, 3.25, 31.0, 0.0575),
        (2, 4000.0, 1.5, 3.875, 2.875, 0.875, 12.0, 3.25, 20.0, None),
        (2, 5000.0, -1.0, 3.75, 2.875, 1.0, 12.0, 3.75, 22.0, None),
    ]
    keys = ("cycle", "time_s", "current_a", "voltage_v", "charge_capacity_ah", "discharge_capacity_ah",
            "charge_energy_wh", "discharge_energy_wh", "temperature_c", "internal_resistance_ohm")
    return series([dict(zip(keys, r, strict=True)) for r in rows])


def test_every_column_of_a_hand_built_series() -> None:
    """All columns of :func:`_two_cycles` (hand values in its docstring); rated 0.5 Ah → full
    equivalent cycles = throughput / 1.0 = 1.875 and 4.0."""
    s = cycle_summary(_two_cycles(), rated_capacity_ah=0.5)
    assert s.columns == list(SUMMARY_COLUMNS)
    got = s.to_dicts()
    expected = [
        {"cycle": 1, "rows": 4, "start_time_s": 0.0, "end_time_s": 3700.0, "duration_s": 3700.0,
         "start_timestamp": T0, "charge_capacity_ah": 1.0, "discharge_capacity_ah": 0.875,
         "charge_energy_wh": 4.0, "discharge_energy_wh": 3.25, "coulombic_efficiency": 0.875,
         "energy_efficiency": 0.8125, "min_voltage_v": 2.875, "max_voltage_v": 4.25, "max_charge_current_a": 2.0,
         "max_discharge_current_a": 3.0, "mean_temperature_c": 28.0, "min_temperature_c": 24.0,
         "max_temperature_c": 31.0, "internal_resistance_ohm": 0.0575, "capacity_throughput_ah": 1.875,
         "energy_throughput_wh": 7.25, "full_equivalent_cycles": 1.875},
        {"cycle": 2, "rows": 2, "start_time_s": 4000.0, "end_time_s": 5000.0, "duration_s": 1000.0,
         "start_timestamp": T0 + timedelta(seconds=4000), "charge_capacity_ah": 2.0, "discharge_capacity_ah": 0.125,
         "charge_energy_wh": 8.0, "discharge_energy_wh": 0.5, "coulombic_efficiency": None,
         "energy_efficiency": None, "min_voltage_v": 3.75, "max_voltage_v": 3.875, "max_charge_current_a": 1.5,
         "max_discharge_current_a": 1.0, "mean_temperature_c": 21.0, "min_temperature_c": 20.0,
         "max_temperature_c": 22.0, "internal_resistance_ohm": None, "capacity_throughput_ah": 4.0,
         "energy_throughput_wh": 15.75, "full_equivalent_cycles": 4.0},
    ]
    for g, e in zip(got, expected, strict=True):
        for k, v in e.items():
            assert g[k] == (pytest.approx(v, abs=1e-12) if isinstance(v, float) else v), (g["cycle"], k, g[k], v)


def test_charge_only_and_discharge_only_cycles_have_no_negative_currents() -> None:
    """A cycle that only charges (0.5 A, 1.5 A) has max discharge current 0, not −0.5; one that only
    discharges (−2 A, −0.5 A) has max charge current 0, not −0.5. Both have null efficiencies (one
    direction is 0 Ah)."""
    data = series([
        {"cycle": 1, "time_s": 0.0, "current_a": 0.5, "charge_capacity_ah": 0.5},
        {"cycle": 1, "time_s": 10.0, "current_a": 1.5, "charge_capacity_ah": 1.0},
        {"cycle": 2, "time_s": 20.0, "current_a": -2.0, "charge_capacity_ah": 1.0, "discharge_capacity_ah": 0.5},
        {"cycle": 2, "time_s": 30.0, "current_a": -0.5, "charge_capacity_ah": 1.0, "discharge_capacity_ah": 1.0},
    ])
    s = cycle_summary(data, rated_capacity_ah=1.0).to_dicts()
    assert [r["max_charge_current_a"] for r in s] == [1.5, 0.0]
    assert [r["max_discharge_current_a"] for r in s] == [0.0, 2.0]
    assert [r["coulombic_efficiency"] for r in s] == [None, None]
    # throughput 1.0 then 2.0 Ah over 2 × 1 Ah rated: 0.5 and 1.0 full equivalent cycles
    assert [r["full_equivalent_cycles"] for r in s] == [0.5, 1.0]


@pytest.mark.parametrize(
    ("charge_ah", "discharge_ah", "has_efficiency"),
    [
        (10.0, 1.0, True),        # 1.0 = 10 % of 10.0: the limit is inclusive
        (10.0, 0.875, False),     # 8.75 % < 10 %
        (1.0, 10.0, True),        # the same rule with the directions swapped (CE = 10.0)
        (0.875, 10.0, False),
        (1e-6, 1e-6, False),      # equal, but not above the 1e-6 Ah floor: no charge at all
        (2e-6, 2e-6, True),       # above the floor
    ],
)
def test_efficiency_needs_both_directions(charge_ah: float, discharge_ah: float, has_efficiency: bool) -> None:
    """One cycle, charge then discharge, both at 1 V (so Wh = Ah and the energy rule sees the same
    numbers): coulombic efficiency = energy efficiency = discharge / charge when the smaller direction
    is > 1e-6 and ≥ 10 % of the larger; null otherwise (never 0 or an invented value)."""
    s = cycle_summary(cycles([(charge_ah, discharge_ah)], volts=(1.0, 1.0)), rated_capacity_ah=1.0).row(0, named=True)
    if has_efficiency:
        assert s["coulombic_efficiency"] == pytest.approx(discharge_ah / charge_ah, rel=1e-12)
        assert s["energy_efficiency"] == pytest.approx(discharge_ah / charge_ah, rel=1e-12)
    else:
        assert s["coulombic_efficiency"] is None and s["energy_efficiency"] is None


def test_energy_efficiency_has_its_own_both_ways_rule() -> None:
    """Ah both ways (1.0 in, 0.5 out: CE 0.5) but almost no discharge energy (0.0625 Wh out of 4 Wh in,
    1.6 % < 10 %): coulombic efficiency 0.5, energy efficiency null."""
    data = series([
        {"cycle": 1, "time_s": 0.0, "charge_capacity_ah": 1.0, "charge_energy_wh": 4.0},
        {"cycle": 1, "time_s": 10.0, "charge_capacity_ah": 1.0, "charge_energy_wh": 4.0,
         "discharge_capacity_ah": 0.5, "discharge_energy_wh": 0.0625},
    ])
    r = cycle_summary(data, rated_capacity_ah=1.0).row(0, named=True)
    assert r["coulombic_efficiency"] == 0.5 and r["energy_efficiency"] is None


def test_full_equivalent_cycles_with_estimated_or_missing_rating() -> None:
    """Without a rating the largest early discharge stands in: cycles (1.0 in, 0.75 out), (1.0, 1.0):
    rated 1.0 Ah, throughputs 1.75 and 3.75 Ah → 0.875 and 1.875 full cycles. A series that never
    discharges has no estimate and the column stays null (not 0, not infinite)."""
    s = cycle_summary(cycles([(1.0, 0.75), (1.0, 1.0)]))
    assert s.get_column("full_equivalent_cycles").to_list() == [0.875, 1.875]
    charge_only = cycle_summary(cycles([(1.0, 0.0), (1.0, 0.0)]))
    assert charge_only.get_column("full_equivalent_cycles").to_list() == [None, None]
    assert charge_only.schema["full_equivalent_cycles"] == pl.Float64  # a null number, not a column of no type
    # a DataFrame is accepted as well as CyclerData
    assert cycle_summary(cycles([(1.0, 0.75)]).frame, rated_capacity_ah=0.5).get_column("full_equivalent_cycles").to_list() == [1.75]


def test_empty_series_is_an_error_naming_it() -> None:
    empty = cycles([(1.0, 1.0)]).frame.head(0)
    with pytest.raises(InsufficientDataError, match=r"^the series has no rows$"):
        cycle_summary(empty)


def test_rated_capacity_estimate_reads_the_first_ten_discharging_cycles() -> None:
    """Discharges 0 (a charge only: skipped, it did not discharge), then 0.5 for nine cycles, 0.75 at
    the tenth discharging cycle and 1.0 at the eleventh: the estimate is 0.75 — the largest of the first
    ten cycles that discharged (1.0 is the eleventh). With first_cycles=11 it is 1.0."""
    s = cycle_summary(cycles([(1.0, 0.0)] + [(1.0, 0.5)] * 9 + [(1.0, 0.75), (1.0, 1.0)]), rated_capacity_ah=1.0)
    assert estimate_rated_capacity_ah(s) == 0.75
    assert estimate_rated_capacity_ah(s, first_cycles=11) == 1.0
    assert estimate_rated_capacity_ah(s, first_cycles=1) == 0.5


def test_rated_capacity_estimate_skips_a_discharge_at_the_floor() -> None:
    """A first cycle discharging exactly 1e-6 Ah does not count as discharging (the floor is exclusive):
    then ten cycles of 0.5 … 0.5, 0.75 → the estimate is 0.75; counting the 1e-6 cycle would push the
    0.75 cycle out of the first ten and give 0.5. With no discharge at all: None."""
    s = cycle_summary(cycles([(1.0, 1e-6)] + [(1.0, 0.5)] * 9 + [(1.0, 0.75)]), rated_capacity_ah=1.0)
    assert estimate_rated_capacity_ah(s) == 0.75
    none = cycle_summary(cycles([(1.0, 0.0)]), rated_capacity_ah=1.0)
    assert estimate_rated_capacity_ah(none) is None


def test_full_cycles_keeps_real_cycles() -> None:
    """Discharges 1.0, 0.5, 0.375, 0.875 Ah: with the default half of the largest (0.5, inclusive) the
    cycles 1, 2, 4 remain; with reference 2.0 Ah and 0.5 → ≥ 1.0: only cycle 1; with min_fraction 0.375
    of the largest → ≥ 0.375: all four. A series that never discharged keeps no cycle."""
    s = cycle_summary(cycles([(1.0, 1.0), (1.0, 0.5), (1.0, 0.375), (1.0, 0.875)]), rated_capacity_ah=1.0)
    assert full_cycles(s).get_column("cycle").to_list() == [1, 2, 4]
    assert full_cycles(s, reference_ah=2.0).get_column("cycle").to_list() == [1]
    assert full_cycles(s, min_fraction=0.375).get_column("cycle").to_list() == [1, 2, 3, 4]
    none = cycle_summary(cycles([(1.0, 0.0)]), rated_capacity_ah=1.0)
    assert full_cycles(none).height == 0
    assert full_cycles(s, reference_ah=0.0).height == 0  # no reference: nothing is a full cycle
    assert isinstance(full_cycles(s), pl.DataFrame)
