"""State of health (EU 2023/1542 Annex VII Part A, with the Part B counters) on hand-built series:
every figure below is computed by hand from REFERENCE.md §1 and the definitions of the module docstring:

- remaining capacity = median discharge of the last ``window`` (3) full cycles (discharge ≥ 50 % of
  rated, inclusive, and with a coulombic efficiency); SoH = 100 × remaining / rated;
- resistance: measured values per cycle, initial = median of the first 3 cycles that have one, now =
  median of the last 3; increase = 100 (R / R₀ − 1); power capability = 100 R₀ / R;
- round-trip efficiency: energy efficiency of full cycles whose coulombic efficiency is within
  [0.95, 1.02] (inclusive), median of the first / last 3;
- throughput = charge + discharge (Ah, Wh) of the whole series; full equivalent cycles = Ah / (2 rated);
- DC resistance at a current step: |ΔV/ΔI| where |ΔI| > 20 % of the largest |I| and 0 < Δt ≤ 2 s;
- self-discharge: mV/day decay over the second half of the longest rest (|I| < 1 µA) of ≥ 1 h.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from batteryloop.health.errors import InsufficientDataError
from batteryloop.health.soh import estimate_soh, self_discharge_mv_per_day, step_resistance_ohm
from tests.health.handbuilt import T0, cycles, series

# (Ah charged, Ah discharged) per cycle; energies at 4.0 V charge / 3.5 V discharge, so EE = 0.875 × CE
TABLE = [(1.0, 1.0), (1.0, 0.96), (1.0, 0.95), (0.5, 0.25), (0.9, 0.9), (0.85, 0.8), (0.7, 0.7)]
R = [0.010, 0.012, 0.011, None, 0.020, 0.022, 0.024]


def test_state_of_health_by_hand() -> None:
    """Rated 1.0 Ah. Full cycles (discharge ≥ 0.5 Ah, with CE): 1, 2, 3, 5, 6, 7 (cycle 4 discharges only
    0.25 Ah); the last three discharge 0.9, 0.8, 0.7 → remaining 0.8 Ah, SoH 80 %.
    Resistance (cycle 4 has none): R₀ = median(0.010, 0.012, 0.011) = 0.011 Ω, R = median(0.020, 0.022,
    0.024) = 0.022 Ω → increase 100 %, power capability 50 %.
    Closed cycles (CE in [0.95, 1.02]): 1 (1.0), 2 (0.96), 3 (0.95, on the limit), 5 (1.0), 7 (1.0);
    cycle 6 (0.8 / 0.85 = 0.941) is left out with a note. EE = 0.875 × CE: first three 0.875, 0.84,
    0.83125 → 84 %; last three 0.83125, 0.875, 0.875 → 87.5 %; fade 84 − 87.5 = −3.5 points.
    Throughput: charge 1+1+1+0.5+0.9+0.85+0.7 = 5.95 Ah, discharge 1+0.96+0.95+0.25+0.9+0.8+0.7 = 5.56 Ah
    → 11.51 Ah, 5.755 full cycles; energy 5.95 × 4 + 5.56 × 3.5 = 23.8 + 19.46 = 43.26 Wh = 0.04326 kWh.
    Last point: cycle 7 at T0 + 7 × 7200 s."""
    soh = estimate_soh(cycles(TABLE, resistance=R), rated_capacity_ah=1.0)
    assert soh.rated_capacity_ah == 1.0 and soh.rated_capacity_estimated is False
    assert soh.remaining_capacity_ah == pytest.approx(0.8, abs=1e-12)
    assert soh.soh_capacity_pct == pytest.approx(80.0, abs=1e-9)
    assert soh.initial_internal_resistance_ohm == pytest.approx(0.011, abs=1e-15)
    assert soh.internal_resistance_ohm == pytest.approx(0.022, abs=1e-15)
    assert soh.resistance_increase_pct == pytest.approx(100.0, abs=1e-9)
    assert soh.remaining_power_capability_pct == pytest.approx(50.0, abs=1e-9)
    assert soh.initial_round_trip_efficiency_pct == pytest.approx(84.0, abs=1e-9)
    assert soh.round_trip_efficiency_pct == pytest.approx(87.5, abs=1e-9)
    assert soh.round_trip_efficiency_fade_pct == pytest.approx(-3.5, abs=1e-9)
    assert soh.capacity_throughput_ah == pytest.approx(11.51, abs=1e-9)
    assert soh.full_equivalent_cycles == pytest.approx(5.755, abs=1e-9)
    assert soh.energy_throughput_kwh == pytest.approx(0.04326, abs=1e-12)
    assert soh.cycles_counted == 7 and soh.cycle == 7
    assert soh.measured_at == T0 + timedelta(seconds=7 * 7200)
    assert soh.self_discharge_mv_per_day is None  # no rest in the series
    assert soh.notes == ("1 cycle(s) not back to their starting charge: left out of round-trip efficiency",)


def test_window_and_upto_cycle() -> None:
    """window=2: remaining = median(0.8, 0.7) = 0.75; R₀ = median(0.010, 0.012) = 0.011, R = median(0.022,
    0.024) = 0.023; RTE first two 0.875, 0.84 → 85.75 %, last two 0.875, 0.875 → 87.5 %.
    upto_cycle=3 uses cycles 1–3 only (inclusive): remaining median(1.0, 0.96, 0.95) = 0.96, throughput
    3 + 2.91 = 5.91 Ah, last cycle 3."""
    w2 = estimate_soh(cycles(TABLE, resistance=R), rated_capacity_ah=1.0, window=2)
    assert w2.remaining_capacity_ah == pytest.approx(0.75, abs=1e-12)
    assert w2.initial_internal_resistance_ohm == pytest.approx(0.011, abs=1e-15)
    assert w2.internal_resistance_ohm == pytest.approx(0.023, abs=1e-15)
    assert w2.initial_round_trip_efficiency_pct == pytest.approx(85.75, abs=1e-9)
    assert w2.round_trip_efficiency_pct == pytest.approx(87.5, abs=1e-9)
    up = estimate_soh(cycles(TABLE, resistance=R), rated_capacity_ah=1.0, upto_cycle=3)
    assert up.remaining_capacity_ah == pytest.approx(0.96, abs=1e-12)
    assert up.capacity_throughput_ah == pytest.approx(5.91, abs=1e-9)
    assert up.cycle == 3 and up.cycles_counted == 3


def test_no_data_before_upto_cycle_is_a_clear_error() -> None:
    with pytest.raises(InsufficientDataError, match=r"^no data points \(check upto_cycle\)$"):
        estimate_soh(cycles(TABLE), rated_capacity_ah=1.0, upto_cycle=0)


def test_half_rated_discharge_is_a_full_cycle() -> None:
    """Rated 2.0 Ah: discharges 1.0 (exactly half: counts), 0.875 (does not), CE 1.0 each.
    Remaining = median of the one full cycle = 1.0 Ah, SoH 50 %."""
    soh = estimate_soh(cycles([(1.0, 1.0), (0.875, 0.875)]), rated_capacity_ah=2.0)
    assert soh.remaining_capacity_ah == 1.0 and soh.soh_capacity_pct == 50.0


def test_rated_capacity_estimated_when_not_given() -> None:
    """No rating: the largest early discharge (1.0 Ah of cycle 1) stands in, flagged and noted;
    remaining 0.8 Ah → 80 %; full cycles 11.51 / 2 = 5.755."""
    soh = estimate_soh(cycles(TABLE, resistance=R))
    assert soh.rated_capacity_ah == 1.0 and soh.rated_capacity_estimated is True
    assert soh.soh_capacity_pct == pytest.approx(80.0, abs=1e-9)
    assert soh.full_equivalent_cycles == pytest.approx(5.755, abs=1e-9)
    assert "rated capacity estimated as the largest early discharge capacity" in soh.notes


def test_charge_only_series_invents_nothing() -> None:
    """Two charges without discharge: no rated capacity can be estimated, no full cycle, no
    efficiency, no resistance; throughput still counts (2 Ah, 8 Wh); full cycles need a rating."""
    soh = estimate_soh(cycles([(1.0, 0.0), (1.0, 0.0)]))
    assert soh.rated_capacity_ah is None and soh.rated_capacity_estimated is True
    assert soh.remaining_capacity_ah is None and soh.soh_capacity_pct is None
    assert soh.full_equivalent_cycles is None
    assert soh.round_trip_efficiency_pct is None and soh.initial_round_trip_efficiency_pct is None
    assert soh.round_trip_efficiency_fade_pct is None
    assert soh.internal_resistance_ohm is None and soh.resistance_increase_pct is None
    assert soh.remaining_power_capability_pct is None
    assert soh.capacity_throughput_ah == 2.0 and soh.energy_throughput_kwh == pytest.approx(0.008)
    assert "no full discharge in the data: remaining capacity unknown" in soh.notes
    rated = estimate_soh(cycles([(1.0, 0.0), (1.0, 0.0)]), rated_capacity_ah=1.0)
    assert rated.remaining_capacity_ah is None and rated.soh_capacity_pct is None
    assert rated.full_equivalent_cycles == 1.0  # 2 Ah / (2 × 1 Ah)


def test_passport_initial_values_replace_the_series_start() -> None:
    """Given R₀ = 0.0055 Ω and initial RTE 90 %: increase = 100 (0.022 / 0.0055 − 1) = 300 %, power
    capability 25 %, fade 90 − 87.5 = 2.5 points. A given initial RTE with no closed cycle now: fade
    unknown (None), never an error. A given R₀ of 0: no ratio (None), not a division by zero."""
    soh = estimate_soh(cycles(TABLE, resistance=R), rated_capacity_ah=1.0, initial_resistance_ohm=0.0055,
                       initial_round_trip_efficiency_pct=90.0)
    assert soh.initial_internal_resistance_ohm == 0.0055
    assert soh.resistance_increase_pct == pytest.approx(300.0, abs=1e-9)
    assert soh.remaining_power_capability_pct == pytest.approx(25.0, abs=1e-9)
    assert soh.initial_round_trip_efficiency_pct == 90.0
    assert soh.round_trip_efficiency_fade_pct == pytest.approx(2.5, abs=1e-9)
    open_cycles = estimate_soh(cycles([(1.0, 0.75), (1.0, 0.75)]), rated_capacity_ah=1.0,
                               initial_round_trip_efficiency_pct=90.0)  # CE 0.75: never closed
    assert open_cycles.round_trip_efficiency_pct is None and open_cycles.round_trip_efficiency_fade_pct is None
    assert open_cycles.initial_round_trip_efficiency_pct == 90.0
    assert "2 cycle(s) not back to their starting charge: left out of round-trip efficiency" in open_cycles.notes
    zero = estimate_soh(cycles(TABLE, resistance=R), rated_capacity_ah=1.0, initial_resistance_ohm=0.0)
    assert zero.resistance_increase_pct is None and zero.remaining_power_capability_pct is None


def test_closed_cycle_limits_are_inclusive() -> None:
    """CE exactly 0.95 and 1.02 (1.0 in / 0.95 out; 0.5 in / 0.51 out) count for round-trip efficiency;
    0.9375 does not. EE = 0.875 × CE: 0.83125 and 0.8925 → median of the first three closed = both:
    (0.83125 + 0.8925) / 2 = 0.861875 → 86.1875 %."""
    soh = estimate_soh(cycles([(1.0, 0.95), (0.5, 0.51), (1.0, 0.9375)]), rated_capacity_ah=1.0)
    assert soh.initial_round_trip_efficiency_pct == pytest.approx(86.1875, abs=1e-9)
    assert soh.round_trip_efficiency_pct == pytest.approx(86.1875, abs=1e-9)
    assert "1 cycle(s) not back to their starting charge: left out of round-trip efficiency" in soh.notes


def _steps() -> pl.DataFrame:
    """Largest |I| = 5 A, so a step counts when |ΔI| > 0.2 × 5 = 1.0 A (exactly 1.0 does not).

    ==  ====  =====  =====  =====  ===============================================
    k   t s   I A    V      cycle  step from the row before
    ==  ====  =====  =====  =====  ===============================================
    0   0     0      3.700  1
    1   1     0      3.700  1      ΔI 0
    2   2     5      3.800  1      ΔI 5, Δt 1: R = 0.100 / 5 = 0.020 Ω (cycle 1)
    3   4     0      3.725  2      ΔI −5, Δt 2 (limit, inclusive): R = 0.075 / 5 = 0.015 Ω (cycle 2)
    4   6.5   −5     3.600  2      Δt 2.5 > 2 s: diffusion enters, not counted
    5   6.5   0      3.700  2      Δt 0: not counted
    6   7.5   0      3.700  3      ΔI 0
    7   8.5   1.25   3.725  3      ΔI 1.25 > 1.0: R = 0.025 / 1.25 = 0.020 Ω (cycle 3)
    8   9.5   2.25   3.750  3      ΔI 1.0, not above 1.0: not counted
    ==  ====  =====  =====  =====  ===============================================
    """
    return pl.DataFrame({
        "time_s": [0.0, 1.0, 2.0, 4.0, 6.5, 6.5, 7.5, 8.5, 9.5],
        "current_a": [0.0, 0.0, 5.0, 0.0, -5.0, 0.0, 0.0, 1.25, 2.25],
        "voltage_v": [3.700, 3.700, 3.800, 3.725, 3.600, 3.700, 3.700, 3.725, 3.750],
        "cycle": [1, 1, 1, 2, 2, 2, 3, 3, 3],
    })


def test_step_resistance_by_hand() -> None:
    r = step_resistance_ohm(_steps())
    assert r.get_column("cycle").to_list() == [1, 2, 3]
    assert r.get_column("resistance_ohm").to_list() == pytest.approx([0.020, 0.015, 0.020], abs=1e-12)


def test_step_resistance_scales_with_the_series_and_needs_a_step() -> None:
    """Currents ÷ 10 (largest 0.5 A, steps 0.5 and 0.125 A above 0.1): the same steps count and R is ×10.
    No current at all, or a single row: no step, an empty (cycle, resistance_ohm) table. Two rows with
    a 1 A step 1 s apart: R = 0.05 / 1 = 0.05 Ω."""
    small = _steps().with_columns(pl.col("current_a") / 10)
    assert step_resistance_ohm(small).get_column("resistance_ohm").to_list() == pytest.approx([0.2, 0.15, 0.2], abs=1e-12)
    flat = _steps().with_columns(pl.lit(0.0).alias("current_a"))
    assert step_resistance_ohm(flat).height == 0
    one = step_resistance_ohm(_steps().head(1))
    assert one.height == 0 and one.columns == ["cycle", "resistance_ohm"]
    assert one.schema == {"cycle": pl.Int64, "resistance_ohm": pl.Float64}
    two = pl.DataFrame({"time_s": [0.0, 1.0], "current_a": [0.0, 1.0], "voltage_v": [3.70, 3.75], "cycle": [4, 4]})
    r2 = step_resistance_ohm(two)
    assert r2.get_column("cycle").to_list() == [4]
    assert r2.get_column("resistance_ohm").to_list() == pytest.approx([0.05], abs=1e-12)


def test_soh_falls_back_to_step_resistance() -> None:
    """A series without measured resistance: R per cycle from the steps of :func:`_steps` (cycle 1: 0.020,
    2: 0.015, 3: 0.020 Ω); R₀ = median of the first three = 0.020 Ω, R now the same; increase 0 %,
    power capability 100 %, and a note saying where R came from."""
    f = _steps()
    data = series([{"cycle": c, "time_s": t, "current_a": i, "voltage_v": v}
                   for t, i, v, c in zip(f["time_s"], f["current_a"], f["voltage_v"], f["cycle"], strict=True)])
    soh = estimate_soh(data, rated_capacity_ah=1.0)
    assert soh.initial_internal_resistance_ohm == pytest.approx(0.020, abs=1e-12)
    assert soh.internal_resistance_ohm == pytest.approx(0.020, abs=1e-12)
    assert soh.resistance_increase_pct == pytest.approx(0.0, abs=1e-9)
    assert soh.remaining_power_capability_pct == pytest.approx(100.0, abs=1e-9)
    assert "resistance from current steps (ΔV/ΔI), not measured by the cycler" in soh.notes
    measured = estimate_soh(cycles(TABLE, resistance=R), rated_capacity_ah=1.0)
    assert not any("current steps" in n for n in measured.notes)
    no_steps = estimate_soh(cycles(TABLE), rated_capacity_ah=1.0)  # steps an hour apart: none counts
    assert no_steps.internal_resistance_ohm is None
    assert not any("current steps" in n for n in no_steps.notes)


def _rest(t: list[float], v: list[float], current: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame({"time_s": [-1.0, *t], "current_a": [-1.0] + [current] * len(t), "voltage_v": [3.7, *v],
                         "cycle": [1] * (len(t) + 1)})


def test_self_discharge_on_a_one_hour_rest() -> None:
    """A rest of 5 samples 900 s apart lasts exactly 1 h (≥ 1 h, inclusive). Its second half (samples
    2, 3, 4: 3 samples, the fewest a fit accepts) falls 1 mV per 900 s: 1 mV × 86400 / 900 = 96 mV/day.
    The same series at 0.5 A is no rest (|I| ≥ 1 µA): None."""
    t = [0.0, 900.0, 1800.0, 2700.0, 3600.0]
    v = [4.100, 4.100, 4.100, 4.099, 4.098]
    assert self_discharge_mv_per_day(_rest(t, v)) == pytest.approx(96.0, abs=1e-6)
    assert self_discharge_mv_per_day(_rest(t, v), min_rest_h=1.0 + 1e-9) is None
    assert self_discharge_mv_per_day(_rest(t, v, current=0.5)) is None
    assert self_discharge_mv_per_day(_rest(t, v, current=1e-7)) == pytest.approx(96.0, abs=1e-6)


def test_self_discharge_of_equal_rests_takes_the_first_and_needs_time() -> None:
    """Two rests of the same length (1 h, 5 samples each) split by a discharge sample: the first falls
    1 mV per 900 s in its second half (96 mV/day), the second 2 mV per 900 s (192 mV/day). The longest
    is wanted and a tie keeps the first: 96. A rest whose second half has no time span (every sample at
    the same time) gives None."""
    t1 = [0.0, 900.0, 1800.0, 2700.0, 3600.0]
    v1 = [4.100, 4.100, 4.100, 4.099, 4.098]
    t2 = [x + 4000.0 for x in t1]
    v2 = [4.000, 4.000, 4.000, 3.998, 3.996]
    frame = pl.DataFrame({
        "time_s": [*t1, 3800.0, *t2], "current_a": [0.0] * 5 + [-1.0] + [0.0] * 5,
        "voltage_v": [*v1, 3.9, *v2], "cycle": [1] * 11,
    })
    assert self_discharge_mv_per_day(frame) == pytest.approx(96.0, abs=1e-6)
    stuck = _rest([0.0, 3600.0, 3600.0, 3600.0, 3600.0], [4.1, 4.1, 4.1, 4.099, 4.098])
    assert self_discharge_mv_per_day(stuck) is None


def test_a_single_data_point_is_enough_for_the_counters() -> None:
    """One row (0.5 Ah and 2 Wh charged so far, cycle 1): no capacity, no efficiency, but the Part B
    counters exist: 0.5 Ah, 0.002 kWh, 0.5 / (2 × 1) = 0.25 full cycles, 1 cycle counted."""
    soh = estimate_soh(series([{"cycle": 1, "time_s": 0.0, "current_a": 1.0, "charge_capacity_ah": 0.5,
                                "charge_energy_wh": 2.0}]), rated_capacity_ah=1.0)
    assert soh.cycles_counted == 1 and soh.cycle == 1 and soh.measured_at == T0
    assert soh.capacity_throughput_ah == 0.5 and soh.energy_throughput_kwh == 0.002
    assert soh.full_equivalent_cycles == 0.25 and soh.remaining_capacity_ah is None


def test_a_dead_flat_rest_is_zero_without_a_relaxation_note() -> None:
    """A one-hour rest at exactly 0 V (a dead cell): the decay is exactly 0 mV/day — not negative, so
    the state of health adds no 'still rising' note."""
    t = [0.0, 900.0, 1800.0, 2700.0, 3600.0]
    frame = pl.DataFrame({"time_s": [-1.0, *t], "current_a": [-1.0] + [0.0] * 5, "voltage_v": [0.0] * 6, "cycle": [1] * 6})
    assert self_discharge_mv_per_day(frame) == 0.0
    data = series([{"cycle": 1, "time_s": x, "current_a": i, "voltage_v": 0.0}
                   for x, i in zip(frame["time_s"], frame["current_a"], strict=True)])
    soh = estimate_soh(data, rated_capacity_ah=1.0)
    assert soh.self_discharge_mv_per_day == 0.0
    assert not any("relaxation" in n for n in soh.notes)


def test_closed_cycles_add_no_note_and_min_rest_is_passed_on() -> None:
    """Every full cycle back to its starting charge (CE 1.0): no 'not back' note. A 30-minute rest falling
    1 mV per 450 s in its second half counts only with min_rest_h ≤ 0.5: 1 mV × 86400 / 450 = 192 mV/day."""
    soh = estimate_soh(cycles([(1.0, 1.0), (1.0, 1.0)]), rated_capacity_ah=1.0)
    assert not any("not back to their starting charge" in n for n in soh.notes)
    t = [0.0, 450.0, 900.0, 1350.0, 1800.0]
    v = [4.100, 4.100, 4.100, 4.099, 4.098]
    data = series([{"cycle": 1, "time_s": -1.0, "current_a": -1.0, "voltage_v": 3.7}]
                  + [{"cycle": 1, "time_s": x, "current_a": 0.0, "voltage_v": y} for x, y in zip(t, v, strict=True)])
    assert estimate_soh(data, rated_capacity_ah=1.0).self_discharge_mv_per_day is None
    assert estimate_soh(data, rated_capacity_ah=1.0, min_rest_h=0.5).self_discharge_mv_per_day == pytest.approx(192.0, abs=1e-6)


def test_step_resistance_keeps_cycle_order() -> None:
    """Four cycles, one 1 A step each (1 s), ΔV 10, 20, 30, 40 mV → R 0.01 … 0.04 Ω; window 1: initial = the
    first cycle's 0.01 Ω, now = the last cycle's 0.04 Ω → +300 %."""
    rows = []
    for c in range(1, 5):
        t0 = 10.0 * c
        rows.append({"cycle": c, "time_s": t0, "current_a": 0.0, "voltage_v": 3.7})
        rows.append({"cycle": c, "time_s": t0 + 1, "current_a": 1.0, "voltage_v": 3.7 + 0.01 * c})
    soh = estimate_soh(series(rows), rated_capacity_ah=1.0, window=1)
    assert soh.initial_internal_resistance_ohm == pytest.approx(0.01, abs=1e-12)
    assert soh.internal_resistance_ohm == pytest.approx(0.04, abs=1e-12)
    assert soh.resistance_increase_pct == pytest.approx(300.0, abs=1e-6)
