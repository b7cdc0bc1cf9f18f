"""The population (similarity) RUL forecaster: knees forecast from before them, every start fraction
back-tested on real whole lives with each cell left out, and the reference population traced to ../shared."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from batteryloop.health.errors import InsufficientDataError
from batteryloop.health.rul import capacity_history, forecast_eol
from batteryloop.health.similarity import Trajectory, backtest, coverage, forecast, normalise, trajectory
from batteryloop.reference import calce_cs2


def knee_life(scale: float, knee: float, n: int = 1200) -> tuple[np.ndarray, np.ndarray]:
    """SoH(k) = 1 − 1e-4·(k/scale) − 4e-6·max(0, k/scale − knee)²: a slow linear fade, then a quadratic
    knee. Its 80 % crossing, by hand: with u = k/scale, 0.2 = 1e-4·u + 4e-6·(u − knee)²."""
    k = np.arange(1.0, n + 1.0)
    u = k / scale
    return k, 1.0 - 1e-4 * u - 4e-6 * np.clip(u - knee, 0, None) ** 2


def crossing_by_hand(scale: float, knee: float) -> float:
    # 4e-6·(u − knee)² + 1e-4·u − 0.2 = 0, u > knee: with v = u − knee: 4e-6 v² + 1e-4 v + (1e-4·knee − 0.2) = 0
    a, b, c = 4e-6, 1e-4, 1e-4 * knee - 0.2
    v = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    return (knee + v) * scale


def test_knee_is_forecast_from_before_it() -> None:
    """Three reference lives with knees at 300, 350 and 400 (time scale 1); the cell is the middle one
    aged 1.25 times slower: knee at cycle 437.5, 80 % crossed at 1.25 × (350 + v) by hand. From cycle 300
    (before its knee, where the history is a straight line), the forecast must land within 5 % of it —
    the curve fits on the same line miss by far more (they cannot know a knee is coming)."""
    refs = [trajectory(f"ref{kn}", *knee_life(1.0, kn)) for kn in (300, 350, 400)]
    k, soh = knee_life(1.25, 350, n=1500)
    truth = crossing_by_hand(1.25, 350)
    # by hand: c = 1e-4·350 − 0.2 = −0.165; v = (−1e-4 + √(1e-8 + 16e-6·0.165)) / 8e-6 = 190.99; (350 + v)·1.25 = 676.2
    assert abs(truth - 676.2) < 0.1
    hist = k <= 300
    got = forecast(k[hist], soh[hist], refs)
    assert got is not None
    assert abs(got.eol_cycle - truth) / truth < 0.05, (got.eol_cycle, truth)
    assert got.lower <= truth <= got.upper
    curve = forecast_eol(k[hist], soh[hist])
    assert curve.predicted_eol_cycle is None or abs(curve.predicted_eol_cycle - truth) / truth > 0.2


def test_hand_crossing_of_the_knee_life() -> None:
    """The helper's closed form agrees with the curve itself (first cycle below 0.8)."""
    k, soh = knee_life(1.0, 350)
    first = k[np.flatnonzero(soh < 0.8)[0]]
    assert abs(first - crossing_by_hand(1.0, 350)) <= 1.0


def test_history_too_short_is_refused_by_name() -> None:
    refs = [trajectory("r", *knee_life(1.0, 300))]
    k, soh = knee_life(1.0, 300)
    with pytest.raises(InsufficientDataError, match="at least 10 cycles"):
        forecast(k[:5], soh[:5], refs)


def test_history_longer_than_every_reference_gives_no_similarity_forecast() -> None:
    """A reference cannot say what comes after its own end: no match rather than an extrapolation."""
    short = Trajectory("short", np.arange(1.0, 101.0), np.linspace(1.0, 0.9, 100))
    k, soh = knee_life(1.0, 900, n=800)
    assert forecast(k[:400], soh[:400], [short]) is None


def test_a_history_a_straight_line_explains_gets_no_similarity_forecast() -> None:
    """The CALCE lives bend (a break-in drop, then a slow fade, then the knee); a straight fade is not one of
    them: no reference matches it better than a line does, so the similarity forecaster declines and
    forecast_eol falls back to the curve fits (crossing of 1 − 0.001·k with 0.8 × 0.997: k = 203)."""
    from batteryloop.health.rul import default_population

    k = np.arange(1.0, 101.0)
    q = 1 - 0.001 * k
    assert forecast(k, q, default_population()) is None
    r = forecast_eol(k, q, population=default_population(), draws=3)
    assert r.predicted_eol_cycle == 203.0 and r.method.startswith("no reference life matches the history")


def test_reference_population_is_the_shared_calce_data(calce_cell) -> None:  # type: ignore[no-untyped-def]
    """reference/calce_cs2_soh.csv is CS2_36's capacity history as the reader gives it from ../shared,
    smoothed and normalised (bench/health_rul.py --write-reference derived it)."""
    k, q = capacity_history(calce_cell)
    kk, s, _ = normalise(k, q)
    ref_k, ref_s = calce_cs2.lives()["CS2_36"]
    assert np.array_equal(ref_k, kk)
    assert np.max(np.abs(ref_s - s)) <= 5e-5 + 1e-12
    assert set(calce_cs2.lives()) == set(calce_cs2.CELLS) and "CS2_35" not in calce_cs2.lives()


def test_backtest_from_every_start_fraction() -> None:
    """Each CALCE life forecast from 25, 50 and 75 % of its true life with itself left out of the
    population (the fractions :func:`backtest` claims). Goals of the issue: median error ≤ 20 % from
    50 % of life and ≤ 10 % from 75 %; every single forecast within 25 %; the truth is never before
    the history ends. Measured 2026-12-05 (bench/health_rul.py): medians 5.4 / 6.1 / 5.5 %, worst
    +24.1 % (CS2_36 from 25 %). The 90 % interval (population calibration, at least the sister-cell spread):
    9/9 covered at a median width of 60 % of the true life (before: 6/9 without the simulated prior, 9/9 at
    96 % with it); at least 8/9 (the goal, 85 %) and at most 65 % of life wide."""
    lives = calce_cs2.lives()
    rows = backtest(lives, (0.25, 0.5, 0.75))
    assert len(rows) == 9 and all(r["predicted_eol_cycle"] is not None for r in rows)
    med = {f: statistics.median(r["abs_pct_error"] for r in rows if r["fraction"] == f) for f in (0.25, 0.5, 0.75)}
    assert med[0.5] <= 20 and med[0.75] <= 10 and med[0.25] <= 25, med
    assert all(r["abs_pct_error"] <= 25 for r in rows), [(r["cell"], r["fraction"], r["abs_pct_error"]) for r in rows]
    for r in rows:
        assert r["upto_cycle"] <= round(r["fraction"] * r["true_eol_cycle"])
        assert r["lower"] <= r["predicted_eol_cycle"] <= r["upper"] and r["lower"] >= r["upto_cycle"]
    assert coverage(rows)[0] >= 8
    assert statistics.median((r["upper"] - r["lower"]) / r["true_eol_cycle"] for r in rows) <= 0.65


def test_forecast_eol_uses_a_matching_population() -> None:
    """forecast_eol with the three knee lives of test_knee_is_forecast_from_before_it and the cell aged 1.25
    times slower, seen up to cycle 300, at an 85 % threshold: by hand 0.15 = 1e-4·u + 4e-6·(u − 350)² → with
    v = u − 350: 4e-6 v² + 1e-4 v − 0.115 = 0, v = (−1e-4 + √(1e-8 + 1.84e-6)) / 8e-6 = 157.52, crossing
    1.25 × 507.52 = 634.4. With the initial capacity given as 0.99 (so 85 % is 0.8415 of the first
    capacity): 0.1585 = … → v = 163.66, crossing 1.25 × 513.66 = 642.1. Each forecast within 1 % of its hand
    value, the time scale of every match 1.25, the interval narrower at 50 % than at 90 %."""
    refs = [trajectory(f"ref{kn}", *knee_life(1.0, kn, n=650)) for kn in (300, 350, 400)]
    k, soh = knee_life(1.25, 350, n=300)
    r = forecast_eol(k, soh, threshold=0.85, population=refs)
    assert abs(r.predicted_eol_cycle - 634.4) / 634.4 < 0.01
    assert r.remaining_cycles == pytest.approx(r.predicted_eol_cycle - 300, abs=1e-9) and r.reached is False
    assert r.lower < r.predicted_eol_cycle < r.upper and r.lower <= 634.4 <= r.upper
    assert (r.threshold_fraction, r.upto_cycle, r.interval_level) == (0.85, 300, pytest.approx(0.9))
    assert r.method == ("similarity to 3 reference lives (ref300 (×1.25), ref350 (×1.25), ref400 (×1.25)): weighted median "
                        "of their crossings; interval calibrated leave-one-out within the population, at least the "
                        "sister-cell spread of life")
    half = forecast_eol(k, soh, threshold=0.85, population=refs, alpha=0.5)
    assert half.interval_level == pytest.approx(0.5) and half.predicted_eol_cycle == r.predicted_eol_cycle
    assert r.lower < half.lower < half.upper < r.upper
    given = forecast_eol(k, soh, threshold=0.85, population=refs, initial_capacity_ah=0.99)
    assert given.initial_capacity_ah == 0.99 and abs(given.predicted_eol_cycle - 642.1) / 642.1 < 0.01


def test_default_population_is_the_three_calce_cells() -> None:
    """CS2_36, CS2_37 and CS2_38 (CS2_35 left out: bench/health_rul.py), by name."""
    from batteryloop.health.rul import default_population

    assert [t.name for t in default_population()] == ["CS2_36", "CS2_37", "CS2_38"]
