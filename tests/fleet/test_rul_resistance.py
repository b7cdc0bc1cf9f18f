"""The fleet's remaining-life rule (the linear fit alone on a short history, warm-started refits) and the
generator's per-chemistry cell resistance."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from batteryloop.fleet.analysis import RUL_DOUBLE_EXP_MIN_FEC, _rul, rul_models
from batteryloop.fleet.simulate import _design
from batteryloop.health.rul import MODELS, forecast_eol
from batteryloop.reference import References


def test_short_history_uses_the_linear_fit_alone() -> None:
    assert rul_models(np.array([3.0, 10.0, 40.0])) == ("linear",)
    assert rul_models(np.array([3.0, 3.0 + RUL_DOUBLE_EXP_MIN_FEC])) == MODELS
    assert rul_models(np.array([5.0, 5.0 + RUL_DOUBLE_EXP_MIN_FEC - 0.01])) == ("linear",)


def test_linear_forecast_on_a_straight_fade_by_hand() -> None:
    """Capacity 100 − 0.05·k Ah (k = 0…40 FEC, no noise) against 80 % of 100 Ah: below 80 from k = 401 (k = 400 is
    exactly 80, not below); a noiseless history leaves zero residuals, so every refit gives the same line."""
    fec = np.arange(0.0, 41.0)
    cap = 100.0 - 0.05 * fec
    out = _rul(fec, cap, 100.0, 2.0)
    assert out["rul_fec"] == pytest.approx(401.0 - 40.0)
    assert out["rul_fec_lower"] == pytest.approx(361.0) and out["rul_fec_upper"] == pytest.approx(361.0)
    assert out["rul_days"] == pytest.approx(361.0 / 2.0)
    f = forecast_eol(fec, cap, threshold=0.8, initial_capacity_ah=100.0, draws=5, models=("linear",))
    assert f.method.startswith("mean of linear fits")


def test_models_are_checked() -> None:
    k = np.arange(20.0)
    with pytest.raises(ValueError, match="subset"):
        forecast_eol(k, 1 - 1e-3 * k, models=("cubic",))
    with pytest.raises(ValueError, match="subset"):
        forecast_eol(k, 1 - 1e-3 * k, models=())


def test_warm_start_keeps_the_point_and_gives_a_similar_interval() -> None:
    """A double exponential with noise (400 cycles): the point forecast does not depend on the refits' start; the
    bootstrap interval from warm-started refits is close to the cold-started one (same resamples)."""
    rng = np.random.default_rng(3)
    k = np.arange(400.0)
    q = 1.0 - 1e-4 * k - 0.02 * (np.exp(k / 200.0) - 1.0) + rng.normal(0, 2e-3, k.size)  # 0.833 at k = 399
    kw = dict(threshold=0.8, initial_capacity_ah=1.0, draws=20, models=("double exponential",))
    cold = forecast_eol(k, q, **kw)
    warm = forecast_eol(k, q, warm_start=True, **kw)
    assert cold.predicted_eol_cycle is not None and warm.predicted_eol_cycle == cold.predicted_eol_cycle
    assert "warm-started" in warm.method and "warm-started" not in cold.method
    width = cold.upper - cold.lower
    assert abs(warm.lower - cold.lower) <= 0.1 * width and abs(warm.upper - cold.upper) <= 0.1 * width


def test_cell_resistance_per_chemistry_by_hand() -> None:
    """r0 = cells in series × cell resistance (Ω·Ah, per chemistry family: NMC 0.06, LFP 0.10) / pack Ah × 1.5
    (interconnects); e.g. a bus, 192 LFP cells of 488.28 Ah (300 kWh at 614.4 V): 192 × 0.10 / 488.28 × 1.5 = 59.0 mΩ."""
    fleet, _ = _design(References.default(), 60, np.random.default_rng(2), "P", 2, 0.0, dt.date(2026, 6, 1))
    p = fleet.params
    assert p["lfp"].any() and (~p["lfp"]).any()
    expect = p["ns"] * np.where(p["lfp"], 0.10, 0.06) / p["ah"] * 1.5
    assert p["r0"] == pytest.approx(expect, rel=1e-12)
    bus = np.flatnonzero(fleet.segment == "bus")
    assert bus.size and p["r0"][bus[0]] == pytest.approx(192 * 0.10 / (300_000 / 614.4) * 1.5, rel=1e-9)
    assert p["r0"][bus[0]] * 1000 == pytest.approx(58.98, abs=0.01)


def test_cell_resistance_override_and_missing_chemistry() -> None:
    refs = References.default().override({"fleet_segments": {"cell_resistance_ohm_ah_by_chemistry": {"LFP": 0.2}}})
    fleet, _ = _design(refs, 40, np.random.default_rng(2), "P", 2, 0.0, dt.date(2026, 6, 1))
    p = fleet.params
    assert p["r0"] == pytest.approx(p["ns"] * np.where(p["lfp"], 0.2, 0.06) / p["ah"] * 1.5, rel=1e-12)
    refs = References.default().override({"fleet_segments": {"chemistry": {"bus": "LMFP"}}})
    with pytest.raises(ValueError, match="no value for LMFP"):
        _design(refs, 60, np.random.default_rng(2), "P", 2, 0.0, dt.date(2026, 6, 1))
