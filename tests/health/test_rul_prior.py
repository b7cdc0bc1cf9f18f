"""The RUL interval's physics prior (simulated lives) and the coverage arithmetic the back-test reports:
the stored simulated lives load and have knees, the prior widens the interval without moving the point,
and coverage / the conformal quantile agree with hand counts."""

from __future__ import annotations

import numpy as np
import pytest

from batteryloop.health.rul import default_prior, forecast_eol
from batteryloop.health.similarity import Trajectory, conformal_quantile, coverage, forecast, prior_interval, trajectory
from batteryloop.reference import pybamm_okane2022

from .test_rul_population import crossing_by_hand, knee_life


def test_coverage_counts_by_hand() -> None:
    """Five back-test rows, true end of life 100 each: [90, 110] covers; [100, 120] covers (ends count);
    [101, 150] misses by one cycle; [50, 99.9] misses; a row without a forecast counts as a miss: 2 of 5."""
    rows = [{"true_eol_cycle": 100.0, "lower": lo, "upper": hi} for lo, hi in
            ((90.0, 110.0), (100.0, 120.0), (101.0, 150.0), (50.0, 99.9), (None, None))]
    assert coverage(rows) == (2, 5)


def test_conformal_quantile_by_hand() -> None:
    """Errors 0.1, 0.4, 0.2, 0.3 (n = 4): at α = 0.5 the rank is ⌈5 × 0.5⌉ = 3 → 0.3; at α = 0.1 it is
    ⌈5 × 0.9⌉ = 5 > n → the largest, 0.4; signs do not matter."""
    assert conformal_quantile([0.1, -0.4, 0.2, 0.3], 0.5) == 0.3
    assert conformal_quantile([0.1, -0.4, 0.2, 0.3], 0.1) == 0.4
    with pytest.raises(ValueError, match="no calibration errors"):
        conformal_quantile([], 0.1)


def _knee_index(k: np.ndarray, s: np.ndarray) -> float:
    """Fade rate over the last fifth of life before the 80 % crossing over the rate between 20 and 50 %
    of it (> 1: the fade accelerates)."""
    eol = k[np.flatnonzero(s < 0.8)[0]]

    def rate(a: float, b: float) -> float:
        return float((np.interp(a * eol, k, s) - np.interp(b * eol, k, s)) / ((b - a) * eol))

    return rate(0.8, 1.0) / rate(0.2, 0.5)


def test_simulated_lives_load_and_have_knees() -> None:
    """The stored PyBaMM lives: one parameter row each, start at state of health 1, never rise; at least six
    of those that reach 80 % get there through a knee (the fade in their last fifth at least twice as fast
    as between 20 and 50 % of life) and at least six with a slowing fade."""
    lives = pybamm_okane2022.lives()
    params = pybamm_okane2022.parameters()
    assert len(lives) >= 16 and set(lives) == set(params)
    crossing = []
    for name, (k, s) in lives.items():
        assert k[0] == 1 and s[0] == pytest.approx(1.0, abs=1e-4), name
        assert np.all(np.diff(k) > 0) and np.all(np.diff(s) <= 1e-4), name
        if (s < 0.8).any():
            # the parameter table's crossing (before rounding to 4 decimals; the file counts cycles from 1)
            assert abs(float(params[name]["eol80_cycle"]) - (k[np.flatnonzero(s < 0.8)[0]] - 1)) <= 5, name
            crossing.append(_knee_index(k, s))
    assert len(crossing) >= 12
    knees = sum(1 for x in crossing if x >= 2.0)
    # the family spans knees (LAM_NE uses up the negative electrode's headroom) and SEI-dominated lives
    # whose fade slows (√N): both shapes are plausible, and their disagreement is the spread
    assert knees >= 6 and sum(1 for x in crossing if x < 1.0) >= 6, sorted(crossing)


def test_the_prior_widens_the_interval_and_leaves_the_point() -> None:
    """The synthetic knee family of test_rul_population (knees at 300, 350, 400; the cell the middle one
    aged 1.25 × slower, true end of life 676.2 by hand), forecast from cycle 300, before its knee: with the
    simulated prior the point is the same (it comes from the population only), the interval contains the
    one without it and the truth, and ``method`` says the prior widened it."""
    refs = [trajectory(f"ref{kn}", *knee_life(1.0, kn)) for kn in (300, 350, 400)]
    k, soh = knee_life(1.25, 350, n=1500)
    truth = crossing_by_hand(1.25, 350)
    hist = k <= 300
    prior = default_prior()
    plain = forecast(k[hist], soh[hist], refs)
    wide = forecast(k[hist], soh[hist], refs, prior=prior)
    assert plain is not None and wide is not None
    assert wide.eol_cycle == plain.eol_cycle
    assert wide.lower <= plain.lower and wide.upper >= plain.upper
    assert wide.lower <= truth <= wide.upper
    r = forecast_eol(k[hist], soh[hist], population=refs, prior=prior)
    assert f"widened by the crossings of {len(prior)} simulated lives" in r.method


def test_a_prior_life_never_calibrates_its_own_forecast() -> None:
    """backtest leaves a life out of the prior when it bears the same name: with a prior of the cell itself
    only, the cell's forecast is calibrated as if there were no prior at all."""
    from batteryloop.health.similarity import backtest

    lives = {f"ref{kn}": knee_life(1.0, kn) for kn in (300, 350, 400)}
    own = [Trajectory("ref350", *knee_life(1.0, 350))]
    with_own = [r for r in backtest(lives, (0.5,), prior=own) if r["cell"] == "ref350"]
    without = [r for r in backtest(lives, (0.5,)) if r["cell"] == "ref350"]
    assert with_own == without


def test_prior_interval_by_hand() -> None:
    """Prior lives with knees at 300, 350 and 400 share the line 1 − 1e-4·k before them: a history up to
    cycle 250 matches all three exactly (equal weights), so the 5–95 % weighted quantiles of three values
    are the smallest and the largest crossing — 300 + v and 400 + v by hand (crossing_by_hand). A fourth
    life fading ten times faster from the start explains the history badly, gets no weight (exp(−½ (rmse/σ)²)
    with σ at its 0.1 % floor) and does not widen it, though it would cross at ≈ 200."""
    prior = [trajectory(f"p{kn}", *knee_life(1.0, kn)) for kn in (300, 350, 400)]
    k = np.arange(1.0, 1201.0)
    prior.append(Trajectory("steep", k, 1.0 - 1e-3 * k))
    hk, hs = knee_life(1.0, 350)
    lo, hi = prior_interval(hk[:250], hs[:250], prior, 0.8, 0.1)
    assert lo == pytest.approx(crossing_by_hand(1.0, 300), rel=0.01)
    assert hi == pytest.approx(crossing_by_hand(1.0, 400), rel=0.01)
