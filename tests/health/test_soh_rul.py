"""State of health and remaining useful life on the real CALCE CS2_36 history."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from batteryloop.health.errors import InsufficientDataError
from batteryloop.health.rul import backtest, capacity_history, forecast_rul, true_eol_cycle
from batteryloop.health.soh import StateOfHealth, estimate_soh
from batteryloop.health.summary import cycle_summary


def test_soh_fades_over_life(calce_cell) -> None:  # type: ignore[no-untyped-def]
    early = estimate_soh(calce_cell, rated_capacity_ah=1.1, upto_cycle=30)
    late = estimate_soh(calce_cell, rated_capacity_ah=1.1)
    assert isinstance(late, StateOfHealth)
    assert early.soh_capacity_pct > 95 and late.soh_capacity_pct < 60
    # remaining capacity is the median discharge of the last full cycles: recompute from the summary
    s = cycle_summary(calce_cell.frame.filter(pl.col("cycle") <= 30), 1.1)
    full = s.filter((pl.col("discharge_capacity_ah") >= 0.55) & pl.col("coulombic_efficiency").is_not_null())
    assert early.remaining_capacity_ah == pytest.approx(float(np.median(full["discharge_capacity_ah"].tail(3).to_numpy())))
    assert late.resistance_increase_pct > 20  # Arbin-measured resistance rose over life
    assert late.remaining_power_capability_pct == pytest.approx(100 * late.initial_internal_resistance_ohm / late.internal_resistance_ohm)
    assert late.round_trip_efficiency_pct < early.round_trip_efficiency_pct
    f = calce_cell.frame
    assert late.capacity_throughput_ah == pytest.approx(f["charge_capacity_ah"][-1] + f["discharge_capacity_ah"][-1])
    assert late.full_equivalent_cycles == pytest.approx(late.capacity_throughput_ah / 2.2)
    assert late.measured_at == f["timestamp"][-1]
    assert not late.rated_capacity_estimated


def test_soh_of_rest_only_file_invents_nothing(arbin_file) -> None:  # type: ignore[no-untyped-def]
    from batteryloop.health.readers import read_cycler_file

    soh = estimate_soh(read_cycler_file(arbin_file))
    assert soh.remaining_capacity_ah is None and soh.soh_capacity_pct is None
    assert soh.round_trip_efficiency_pct is None and soh.capacity_throughput_ah == 0.0
    assert any("no full discharge" in n for n in soh.notes)


def test_soh_uses_step_resistance_when_not_measured(maccor_data) -> None:  # type: ignore[no-untyped-def]
    soh = estimate_soh(maccor_data)
    assert soh.internal_resistance_ohm is not None and 0.005 < soh.internal_resistance_ohm < 0.5
    assert any("current steps" in n for n in soh.notes)
    # cycle 0 starts charged (CE 1.24): not a closed cycle, so no round-trip efficiency above 100 %
    assert soh.round_trip_efficiency_pct is None or soh.round_trip_efficiency_pct <= 100


def test_rul_backtest_on_calce(calce_cell) -> None:  # type: ignore[no-untyped-def]
    k, q = capacity_history(calce_cell)
    eol = true_eol_cycle(k, q)
    assert eol is not None and 400 < eol < 600
    rows = backtest(k, q)
    assert [r["fraction"] for r in rows] == [0.25, 0.5, 0.75]
    for r in rows:
        assert r["upto_cycle"] == round(r["fraction"] * eol)
        assert r["predicted_eol_cycle"] is not None and r["predicted_eol_cycle"] > r["upto_cycle"]
        assert r["lower"] <= r["predicted_eol_cycle"] <= r["upper"]
    # measured 2026-11-26: errors -57 / +962 / +220 cycles; the 25 % forecast is within 20 %
    assert rows[0]["abs_pct_error"] < 20


def test_rul_only_uses_history_up_to_cycle(calce_cell) -> None:  # type: ignore[no-untyped-def]
    a = forecast_rul(calce_cell, upto_cycle=150)
    trimmed = type(calce_cell)(calce_cell.frame.filter(pl.col("cycle") <= 150), calce_cell.source_format)
    b = forecast_rul(trimmed)
    assert a.predicted_eol_cycle == b.predicted_eol_cycle and a.upto_cycle <= 150
    done = forecast_rul(calce_cell)
    assert done.reached and done.remaining_cycles == 0


def test_rul_needs_history(calce_cell) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InsufficientDataError):
        forecast_rul(calce_cell, upto_cycle=5)
