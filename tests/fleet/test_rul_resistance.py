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


def test_fade_forecast_runs_the_reference_model_from_the_packs_state() -> None:
    """An NMC pack, 4 years old, at 90 % after 1 FEC a day at 25 °C: calendar loss 0.022·√4 = 4.4 %, so the cycle
    term holds 5.6 % at 1,461 FEC, k = 0.056 / 1461^z; the forecast is where k·(1461 + d)^z + 0.022·√(4 + d/365)
    reaches 20 % — checked here against the fade model's own soh_pct; without draws the interval is the point."""
    from batteryloop.fleet.analysis import fade_forecast
    from batteryloop.sim.fade import default_model

    fm, _ = default_model()
    age = 4 * 365.0
    out = fade_forecast(90.0, 0.2, age, 1.0, "NMC811", 25.0, draws=0)
    d = out["rul_fec"]
    assert out["rul_days"] == pytest.approx(d, abs=0.1) and out["rul_fec_lower"] == out["rul_fec_upper"] == d
    k = (0.10 - 0.022 * 2.0) / age ** fm.z
    soh = lambda days: float(fm.soh_pct(np.array(age + days), np.array((age + days) / 365.0),  # noqa: E731
                                        np.array(k), np.array(0.022)))
    assert soh(d - 1.0) > 80.0 > soh(d + 1.0)
    # twice the use per day at the same state: the same days left (steady use made the loss so far, too), twice the
    # cycles
    busy = fade_forecast(90.0, 0.2, age, 2.0, "NMC811", 25.0, draws=0)
    assert busy["rul_days"] == pytest.approx(out["rul_days"], abs=0.1)
    assert busy["rul_fec"] == pytest.approx(2 * out["rul_fec"], rel=1e-6)
    # with draws, the interval holds the point
    wide = fade_forecast(90.0, 0.2, age, 1.0, "NMC811", 25.0)
    assert wide["rul_fec_lower"] < d < wide["rul_fec_upper"]
    assert fade_forecast(79.0, 0.2, age, 1.0, "LFP", 25.0)["rul_fec"] == 0.0
    assert fade_forecast(90.0, 0.2, age, 0.0, "LFP", 25.0)["rul_fec"] is None  # no use in the window: no forecast


def test_fade_forecast_against_the_generators_truth_on_packs_drawn_like_its_own() -> None:
    """Packs drawn as the generator draws them (age, use, cycle-fade level with its log-normal spread, calendar level
    at a climate of 12–28 °C), their true remaining days from the generator's own truth function; the forecaster is
    given only what telemetry measures, with errors of the size measured on generated fleets (state of health ± 0.15 %,
    past cycles ± 8 % in log, the temperature 1 K warm). The forecasts are calibrated: median forecast / truth within
    10 % of 1, and the 90 % intervals hold at least 80 % of the truths."""
    from batteryloop.fleet.analysis import fade_forecast
    from batteryloop.fleet.simulate import true_remaining_days
    from batteryloop.sim.fade import default_model

    fm, _ = default_model()
    rng = np.random.default_rng(11)
    n = 60
    lfp = rng.random(n) < 0.4
    age_y = rng.uniform(0.3, 6.0, n)
    per_day = rng.uniform(0.1, 1.5, n)
    fec = per_day * age_y * 365.0
    k = np.array([fm.cycle_k(c, 70.0) for c in np.where(lfp, 4000.0, 1500.0)]) * rng.lognormal(0.0, fm.sigma_log_k, n)
    climate = rng.uniform(12.0, 28.0, n)
    cal = np.where(lfp, fm.calendar_b["LFP"], fm.calendar_b["NMC"]) * fm.arrhenius(climate)
    soh = fm.soh_pct(fec, age_y, k, cal)
    truth = true_remaining_days(fm, fec, age_y, per_day, k, cal)
    ratios, inside = [], 0
    for i in np.flatnonzero((soh > 81.0) & np.isfinite(truth)):
        measured_soh = soh[i] + rng.normal(0.0, 0.15)
        measured_rate = per_day[i] * np.exp(rng.normal(0.0, 0.08))  # the window's rate, taken for the past's
        f = fade_forecast(measured_soh, 0.15, age_y[i] * 365.0, measured_rate, "LFP" if lfp[i] else "NMC811",
                          climate[i] + 1.0)
        true_fec = truth[i] * measured_rate  # the truth at the measured rate: what the forecast is of
        ratios.append(f["rul_fec"] / true_fec)
        inside += f["rul_fec_lower"] <= true_fec <= (f["rul_fec_upper"] or np.inf)
    assert len(ratios) >= 40
    assert abs(float(np.median(ratios)) - 1.0) <= 0.1
    assert inside >= 0.8 * len(ratios)


def test_the_crossing_is_where_the_bisection_ends_to_the_bit() -> None:
    """fade_forecasts finds the end of life by Newton's method and a check of two grid points instead of 26
    halvings: on states drawn across the range (new and old packs, light and heavy use, calendar-dominated ones,
    ones already past the threshold or never reaching it), the same point as the plain bisection, bit for bit."""
    from batteryloop.fleet.analysis import RUL_BISECTION_STEPS, _crossing, _crossing_by_newton

    rng = np.random.default_rng(7)
    n = 20_000
    years = rng.choice([0.003, 0.1, 1.0, 5.0, 15.0], n) * rng.uniform(0.5, 1.5, n)
    fec0 = rng.choice([0.01, 1.0, 50.0, 500.0, 4000.0], n) * rng.uniform(0.5, 1.5, n)
    rate = rng.choice([1e-4, 0.05, 1.0, 5.0], n) * rng.uniform(0.5, 1.5, n)
    z = rng.uniform(0.45, 0.75, n)
    loss = rng.uniform(0.0, 0.25, n)
    cal = rng.choice([0.0, 0.005, 0.03], n) * rng.uniform(0.5, 1.5, n)
    cal_loss = np.minimum(cal * np.sqrt(years), loss)
    cal = cal_loss / np.sqrt(years)
    k = (loss - cal_loss) / np.power(fec0, z)
    horizon = 40 * 365.0
    got = _crossing(k, fec0, rate, cal, years, z, 0.2, horizon)
    # and Newton's method settles them: the bisection that gives the same ends is the fallback, not the work
    _, unsettled, _ = _crossing_by_newton(k, fec0, rate, cal, years, z, 0.2, horizon)
    assert unsettled.size <= n // 1000, unsettled.size
    lo, hi = np.zeros(n), np.full(n, horizon)
    for _ in range(RUL_BISECTION_STEPS):
        mid = (lo + hi) / 2
        over = k * np.power(fec0 + rate * mid, z) + cal * np.sqrt(years + mid / 365.0) >= 0.2
        hi, lo = np.where(over, mid, hi), np.where(over, lo, mid)
    assert np.array_equal(got, hi)
    assert 0.05 < float(np.mean(hi < horizon)) < 0.95  # both kinds present: crossings within the horizon, and not
