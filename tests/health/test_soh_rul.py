"""State of health and remaining useful life on the real CALCE CS2_36 history."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from batteryloop.health.errors import InsufficientDataError
from batteryloop.health.rul import backtest, capacity_history, forecast_rul, true_eol_cycle
from batteryloop.health.soh import StateOfHealth, estimate_soh
from batteryloop.health.timeseries import CyclerData, conform


def test_soh_fades_over_life(calce_cell) -> None:  # type: ignore[no-untyped-def]
    early = estimate_soh(calce_cell, rated_capacity_ah=1.1, upto_cycle=30)
    late = estimate_soh(calce_cell, rated_capacity_ah=1.1)
    assert isinstance(late, StateOfHealth)
    assert early.soh_capacity_pct > 95 and late.soh_capacity_pct < 60
    # remaining capacity by hand on a small cycle table (rated 1.0 Ah; Ah charged, Ah discharged):
    #   1: 1.00 1.00 | 2: 1.00 0.99 | 3: 0.95 0.94 | 4: 0.40 0.30 (partial, < 0.5 × rated)
    #   5: 0.91 0.90 | 6: 0.00 0.92 (discharge only: no coulombic efficiency)
    # full cycles = 1, 2, 3, 5; the last three discharge 0.99, 0.94, 0.90 Ah: median 0.94 Ah, SoH 94 %
    # (not 0.90 without the cut-off, 0.92 with cycle 6, 0.9433 as a mean, 0.99 from the first three)
    table = [(1.00, 1.00), (1.00, 0.99), (0.95, 0.94), (0.40, 0.30), (0.91, 0.90), (0.00, 0.92)]
    qc, qd = np.cumsum([c for c, _ in table]), np.cumsum([d for _, d in table])
    rows = []
    for n, (c_cum, d_cum) in enumerate(zip(qc, qd, strict=True), start=1):
        d_before = qd[n - 2] if n > 1 else 0.0
        rows.append({"cycle": n, "time_s": 7200.0 * n - 3600, "current_a": 1.0, "voltage_v": 4.2,
                     "charge_capacity_ah": c_cum, "discharge_capacity_ah": d_before})  # end of charge
        rows.append({"cycle": n, "time_s": 7200.0 * n, "current_a": -1.0, "voltage_v": 3.0,
                     "charge_capacity_ah": c_cum, "discharge_capacity_ah": d_cum})  # end of discharge
    hand = pl.DataFrame(rows).with_columns(charge_energy_wh=pl.col("charge_capacity_ah") * 3.7,
                                           discharge_energy_wh=pl.col("discharge_capacity_ah") * 3.6)
    small = estimate_soh(CyclerData(conform(hand), "hand"), rated_capacity_ah=1.0)
    assert small.remaining_capacity_ah == pytest.approx(0.94) and small.soh_capacity_pct == pytest.approx(94.0)
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
    # the default: similarity to the CALCE lives, the interval floored by the sister-cell spread, no simulated prior
    assert "at least the sister-cell spread of life" in a.method and "simulated" not in a.method
    done = forecast_rul(calce_cell)
    assert done.reached and done.remaining_cycles == 0


def test_rul_needs_history(calce_cell) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InsufficientDataError):
        forecast_rul(calce_cell, upto_cycle=5)
