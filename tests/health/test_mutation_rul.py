"""Remaining useful life (end of life = first cycle whose capacity is below threshold × initial, REFERENCE.md
§6 and the module docstring) on histories whose answer is known by hand:

- a straight fade q(k) = 1 − 0.001 k: its median smoothing is itself (a monotone series), the initial
  capacity is the median of the first five = q(3) = 0.997, the 80 % level 0.7976, and the line through
  the recent third crosses it at k > 202.4, i.e. cycle 203. A double exponential cannot be fitted to
  a straight line (curve_fit gives up), so the forecast is the line's alone, with no residual noise:
  interval [203, 203];
- a binary-exact fade q(k) = 1 − k/1024 reaches 0.75 exactly at k = 256, so 'below 75 %' first holds
  at 257;
- the double exponential of He et al. (2011), q(k) = 1.01 e^(−0.001 k) − 0.01 e^(0.01 k), is fitted
  exactly; its crossing is found here by stepping the formula itself.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.ndimage import median_filter

from batteryloop.health.errors import InsufficientDataError
from batteryloop.health.rul import (
    _crossing_of,
    _double_exp,
    _fit,
    _fit_linear,
    _linear,
    _start,
    backtest,
    capacity_history,
    forecast_eol,
    forecast_rul,
    smooth,
    true_eol_cycle,
)
from batteryloop.health.summary import cycle_summary
from tests.health.handbuilt import cycles

K = np.arange(1, 101, dtype=float)
LINE = 1 - 0.001 * K
LINEAR_ONLY = "mean of linear fits; interval = union of their residual-bootstrap intervals"


def test_straight_fade_forecast_by_hand() -> None:
    r = forecast_eol(K, LINE, draws=5)
    assert r.initial_capacity_ah == pytest.approx(0.997, abs=1e-12)
    assert r.threshold_fraction == 0.8 and r.threshold_capacity_ah == pytest.approx(0.7976, abs=1e-12)
    assert r.predicted_eol_cycle == 203.0 and r.lower == 203.0 and r.upper == 203.0
    assert r.remaining_cycles == 103.0 and r.upto_cycle == 100 and r.reached is False
    assert r.interval_level == pytest.approx(0.9) and r.method == LINEAR_ONLY


def test_threshold_initial_and_alpha_are_used() -> None:
    """threshold 0.5: level 0.4985 → k > 501.5 → 502. Given initial 0.9003: level 0.72024 → k > 279.76 → 280
    (the horizon, 100 + 20 × 100 = 2100 cycles, holds both). alpha 0.2 → an 80 % interval."""
    assert forecast_eol(K, LINE, threshold=0.5, draws=3).predicted_eol_cycle == 502.0
    given = forecast_eol(K, LINE, initial_capacity_ah=0.9003, draws=3)
    assert given.initial_capacity_ah == 0.9003 and given.predicted_eol_cycle == 280.0
    assert forecast_eol(K, LINE, alpha=0.2, draws=3).interval_level == pytest.approx(0.8)


def test_horizon_is_twenty_histories() -> None:
    """10 cycles (k = 1..10) fading 0.001 per cycle with threshold 0.8: the crossing at 203 lies inside
    the horizon 10 + 20 × 10 = 210; with threshold 0.78 it would be at k > 223.6 → 224, beyond: none."""
    k = np.arange(1, 11, dtype=float)
    q = 1 - 0.001 * k
    assert forecast_eol(k, q, draws=3).predicted_eol_cycle == 203.0
    beyond = forecast_eol(k, q, threshold=0.78, draws=3)
    assert beyond.predicted_eol_cycle is None and beyond.lower is None and beyond.upper is None
    assert beyond.remaining_cycles is None and beyond.reached is False
    assert beyond.method == "no fit crosses the threshold within the horizon"
    # the horizon's last cycle counts: threshold 0.7929 → level 0.7905213 → k > 209.48 → 210 = 10 + 200;
    # threshold 0.7919 → k > 210.48 → 211, one past it: none
    assert forecast_eol(k, q, threshold=0.7929, draws=3).predicted_eol_cycle == 210.0
    assert forecast_eol(k, q, threshold=0.7919, draws=3).predicted_eol_cycle is None


def test_upto_cycle_and_the_ten_cycle_minimum() -> None:
    """upto_cycle=50 keeps k ≤ 50 (inclusive: 50 cycles, last 50); the fade is the same line, so still 203,
    with 153 remaining. Ten cycles are enough; nine are not, and the error says how many and before what."""
    r = forecast_eol(K, LINE, upto_cycle=50, draws=3)
    assert r.upto_cycle == 50 and r.predicted_eol_cycle == 203.0 and r.remaining_cycles == 153.0
    assert forecast_eol(K, LINE, upto_cycle=10, draws=3).upto_cycle == 10
    with pytest.raises(InsufficientDataError, match=r"^need at least 10 cycles with capacity before cycle 9, have 9$"):
        forecast_eol(K, LINE, upto_cycle=9)
    with pytest.raises(InsufficientDataError, match=r"^need at least 10 cycles with capacity before cycle None, have 9$"):
        forecast_eol(K[:9], LINE[:9])


def test_threshold_already_crossed_is_observed() -> None:
    """q = 1 − k/1024 over 300 cycles, threshold 0.75 of 1.0: q(256) = 0.75 is not below, q(257) is:
    reached at 257, nothing left, the interval is the point."""
    k = np.arange(1, 301, dtype=float)
    r = forecast_eol(k, 1 - k / 1024, threshold=0.75, initial_capacity_ah=1.0)
    assert r.reached is True and r.method == "observed in the history"
    assert (r.predicted_eol_cycle, r.lower, r.upper, r.remaining_cycles) == (257.0, 257.0, 257.0, 0.0)
    assert r.upto_cycle == 300 and r.threshold_capacity_ah == 0.75 and r.interval_level == pytest.approx(0.9)


def test_true_eol_cycle_by_hand() -> None:
    """Strictly below: 257 for 0.75 of 1.0; default threshold 0.8 of the median of the first five
    (q(3) = 1 − 3/1024): level 0.8 − 2.4/1024 → k > 207.2 + 2.4 = 207.2… → first k with q below is 208.
    Never below: None."""
    k = np.arange(1, 301, dtype=float)
    q = 1 - k / 1024
    assert true_eol_cycle(k, q, 0.75, 1.0) == 257.0
    assert true_eol_cycle(k, q) == 208.0
    assert true_eol_cycle(k[:200], q[:200]) is None


def test_double_exponential_history() -> None:
    """q(k) = 1.01 e^(−0.001 k) − 0.01 e^(0.01 k), k = 0..99, decreasing: initial = q(2); level = 0.8 q(2).
    The double exponential's crossing is the first integer k ≥ 99 where the formula is below the level;
    the line's, where the least-squares line through the last 33 points is. The forecast is their mean
    and the interval contains both."""
    k = np.arange(0, 100, dtype=float)

    def f(x):  # type: ignore[no-untyped-def]
        return 1.01 * np.exp(-0.001 * x) - 0.01 * np.exp(0.01 * x)

    q = f(k)
    level = 0.8 * f(2.0)
    grid = np.arange(99, 99 + 20 * 100 + 1, dtype=float)
    e_dexp = grid[np.argmax(f(grid) < level)]
    slope, intercept = np.polyfit(k[-33:], q[-33:], 1)
    e_line = grid[np.argmax(intercept + slope * grid < level)]
    r = forecast_eol(k, q, draws=10)
    assert r.method == "mean of double exponential and linear fits; interval = union of their residual-bootstrap intervals"
    assert r.predicted_eol_cycle == pytest.approx((e_dexp + e_line) / 2, abs=0.5)
    assert r.lower <= min(e_dexp, e_line) and r.upper >= max(e_dexp, e_line)
    assert r.remaining_cycles == pytest.approx(r.predicted_eol_cycle - 99)
    again = forecast_eol(k, q, draws=10)
    assert (again.lower, again.upper) == (r.lower, r.upper)  # seeded bootstrap: reproducible


def test_noisy_history_interval_brackets_the_forecast() -> None:
    """A straight fade with a ±0.004 alternating wobble: the forecast stays near 203; the bootstrap
    interval is wider than a point, contains the forecast, and a 50 % interval is no wider than a 98 %
    one."""
    wobble = np.where(np.arange(100) % 2 == 0, 0.004, -0.004)
    q = LINE + wobble
    wide = forecast_eol(K, q, alpha=0.02, draws=20)
    narrow = forecast_eol(K, q, alpha=0.5, draws=20)
    assert wide.lower < wide.predicted_eol_cycle < wide.upper
    assert narrow.lower < narrow.predicted_eol_cycle < narrow.upper
    assert 190 <= wide.predicted_eol_cycle <= 215
    assert narrow.upper - narrow.lower <= wide.upper - wide.lower
    # the double exponential does fit this wobbly line: curve_fit needs about 5800 evaluations (20000 allowed)
    assert wide.method == "mean of double exponential and linear fits; interval = union of their residual-bootstrap intervals"


def test_smooth_by_hand() -> None:
    """Window = the largest odd number ≤ n − 1 (at most 9), 'nearest' at the edges:
    n = 4 → window 3: [1, 5, 2, 8] → medians of [1,1,5], [1,5,2], [5,2,8], [2,8,8] = [1, 2, 5, 8];
    n = 1 → window 1: itself; n = 6 → window 5: a single spike of 9 among ones vanishes;
    n = 20 → window 9: four adjacent spikes (8..11) are a minority in every window and vanish, five would
    not (window 7 would keep four)."""
    assert smooth(np.array([1.0, 5.0, 2.0, 8.0])).tolist() == [1.0, 2.0, 5.0, 8.0]
    assert smooth(np.array([3.0])).tolist() == [3.0]
    assert smooth(np.array([1.0, 1.0, 9.0, 9.0, 1.0, 1.0])).tolist() == [1.0] * 6
    four = np.ones(20)
    four[8:12] = 5.0
    assert smooth(four).tolist() == [1.0] * 20
    five = np.ones(20)
    five[8:13] = 5.0
    assert smooth(five).tolist() == five.tolist()
    assert smooth(np.array([2.0, 1.0])).tolist() == [2.0, 1.0]  # n = 2 → window 1
    # window 3 keeps a two-sample plateau of 4 samples (5 would flatten it: [1, 1, 1, 1])
    assert smooth(np.array([1.0, 9.0, 9.0, 1.0])).tolist() == [1.0, 9.0, 9.0, 1.0]
    # n = 6 → window 5 keeps a three-sample plateau (7 would flatten it; 3 keeps it too, see the 4-sample case)
    assert smooth(np.array([0.0, 0.0, 5.0, 5.0, 5.0, 0.0])).tolist() == [0.0, 0.0, 5.0, 5.0, 5.0, 0.0]


def test_capacity_history_keeps_real_cycles() -> None:
    """Cycles (Ah in, Ah out): (1, 1), (1, 0.5), (1, 0) (no discharge: no efficiency, left out),
    (1, 0.125) (efficiency, 12.5 % of the largest ≥ 10 %: kept), (2, 0.25) (12.5 %: kept).
    With min_fraction 0.5: 1.0 and 0.5 (inclusive). Cycle numbers come back as floats."""
    data = cycles([(1.0, 1.0), (1.0, 0.5), (1.0, 0.0), (1.0, 0.125), (2.0, 0.25)])
    k, q = capacity_history(data)
    assert k.tolist() == [1.0, 2.0, 4.0, 5.0] and q.tolist() == [1.0, 0.5, 0.125, 0.25]
    assert k.dtype == np.float64
    k2, q2 = capacity_history(cycle_summary(data), min_fraction=0.5)
    assert k2.tolist() == [1.0, 2.0] and q2.tolist() == [1.0, 0.5]
    k3, _ = capacity_history(cycle_summary(data), min_fraction=0.2)
    assert k3.tolist() == [1.0, 2.0, 5.0]
    with pytest.raises(InsufficientDataError, match=r"^no cycle with both a charge and a discharge$"):
        capacity_history(cycles([(1.0, 0.0), (1.0, 0.0)]))


def test_forecast_rul_on_a_series() -> None:
    """A canonical series of 100 cycles discharging 1 − 0.001 k Ah (charge equal): the same 203."""
    data = cycles([(1 - 0.001 * k, 1 - 0.001 * k) for k in range(1, 101)])
    r = forecast_rul(data, draws=3, population=())  # the curve fits only (the default adds the CALCE population)
    assert r.predicted_eol_cycle == 203.0 and r.method == LINEAR_ONLY
    assert forecast_rul(data, threshold=0.5, draws=3, population=()).predicted_eol_cycle == 502.0
    assert forecast_rul(data, upto_cycle=40, draws=3, population=()).upto_cycle == 40
    # with the default population: no CALCE life explains a straight line better than a line → the same fits
    d = forecast_rul(data, draws=3)
    assert d.predicted_eol_cycle == 203.0 and d.method.startswith("no reference life matches the history; ")


def test_backtest_on_a_straight_fade() -> None:
    """400 cycles of q = 1 − 0.001 k: true end of life 203 (level 0.7976). Forecasts from round(0.25 × 203)
    = 51, round(101.5) = 102 and round(152.25) = 152 cycles all say 203: error 0, covered."""
    k = np.arange(1, 401, dtype=float)
    rows = backtest(k, 1 - 0.001 * k)
    assert [r["fraction"] for r in rows] == [0.25, 0.5, 0.75]
    assert [r["upto_cycle"] for r in rows] == [51, 102, 152]
    for r in rows:
        assert r["true_eol_cycle"] == 203.0 and r["predicted_eol_cycle"] == 203.0
        assert (r["lower"], r["upper"]) == (203.0, 203.0)
        assert r["error_cycles"] == 0.0 and r["abs_pct_error"] == 0.0 and r["covered"] is True
    # threshold 0.9: level 0.8973 → k > 102.7 → 103; from round(0.5 × 103) = round(51.5) = 52 cycles
    one = backtest(k, 1 - 0.001 * k, fractions=(0.5,), threshold=0.9)
    assert one == [{"fraction": 0.5, "upto_cycle": 52, "true_eol_cycle": 103.0, "predicted_eol_cycle": 103.0,
                    "lower": 103.0, "upper": 103.0, "error_cycles": 0.0, "abs_pct_error": 0.0, "covered": True}]
    with pytest.raises(InsufficientDataError, match=r"^the history never reaches the threshold: nothing to backtest against$"):
        backtest(K, LINE)


def test_backtest_reports_misses() -> None:
    """A fade that accelerates after cycle 150 (slope 0.001, then 0.004): true end of life by hand —
    q(k) = 1 − 0.15 − 0.004 (k − 150) for k > 150, level 0.8 × 0.997 = 0.7976: 0.85 − 0.004 (k − 150) <
    0.7976 → k − 150 > 13.1 → 164. From 25 % (round(41) = 41 cycles) the line still says 203: error +39
    cycles = 23.78 %, not covered (interval [203, 203])."""
    k = np.arange(1, 301, dtype=float)
    q = np.where(k <= 150, 1 - 0.001 * k, 0.85 - 0.004 * (k - 150))
    (row,) = backtest(k, q, fractions=(0.25,))
    assert row["true_eol_cycle"] == 164.0 and row["upto_cycle"] == 41
    assert row["predicted_eol_cycle"] == 203.0 and row["error_cycles"] == 39.0
    assert row["abs_pct_error"] == pytest.approx(39 / 164 * 100, abs=1e-9)
    assert row["covered"] is False


def test_capacity_history_cut_is_relative_to_the_largest() -> None:
    """A 2 Ah cell: discharges 2, 1, 0.15 (after a 0.15 Ah charge: a full cycle by its efficiency) and 0.5 Ah; the
    default cut is 10 % of the largest, 0.2 Ah: 0.15 Ah is an interruption, 0.5 Ah a capacity."""
    k, q = capacity_history(cycles([(2.0, 2.0), (2.0, 1.0), (0.15, 0.15), (2.0, 0.5)]))
    assert k.tolist() == [1.0, 2.0, 4.0] and q.tolist() == [2.0, 1.0, 0.5]


def test_double_exponential_by_hand() -> None:
    """a·e^(b k) + c·e^(d k) at k = 0 and 100 with (1, −0.01, 2, 0.01): 1 + 2 = 3 and e⁻¹ + 2e."""
    got = _double_exp(np.array([0.0, 100.0]), 1.0, -0.01, 2.0, 0.01)
    assert got.tolist() == pytest.approx([3.0, np.exp(-1) + 2 * np.e], rel=1e-12)


def test_fit_starting_point_by_hand() -> None:
    """Cycles 10, 20, …, 110 (100 cycles long), capacities 2.0 then 1.9: a = 0.05 × 2.0 = 0.1, b = 1/100,
    c = 0.95 × 2.0 = 1.9, d = −1e-5. A history shorter than one cycle (fractional cycles 0, 0.25, 0.5)
    counts as one: b = 1."""
    k = np.arange(10.0, 111.0, 10.0)
    q = np.array([2.0, 1.9] + [1.8] * 9)
    assert _start(k, q) == pytest.approx((0.1, 0.01, 1.9, -1e-5), rel=1e-12)
    assert _start(np.array([0.0, 0.25, 0.5]), np.array([1.0, 1.0, 1.0]))[1] == 1.0


def test_double_exponential_fit_late_in_life() -> None:
    """q(k) = 1.01 e^(−0.001 k) − 0.01 e^(0.01 k) seen from cycle 100 to 199: in the fit's frame (k − 100) the
    terms are 1.01 e^(−0.1) e^(−0.001 (k − 100)) and −0.01 e e^(0.01 (k − 100)): a = 0.913886, b = −0.001,
    c = −0.0271828, d = 0.01 (in either order)."""
    k = np.arange(100.0, 200.0)
    q = 1.01 * np.exp(-0.001 * k) - 0.01 * np.exp(0.01 * k)
    p = _fit(k, q)
    assert p is not None
    terms = sorted([(p[0], p[1]), (p[2], p[3])], key=lambda t: t[1])
    assert terms[0] == pytest.approx((1.01 * np.exp(-0.1), -0.001), rel=1e-6)
    assert terms[1] == pytest.approx((-0.01 * np.e, 0.01), rel=1e-6)


def test_fit_warnings_are_silenced_not_raised() -> None:
    """Four points for four parameters (no covariance: curve_fit's OptimizeWarning) and a history growing as
    e^(0.05 k) (exp overflows while fitting: RuntimeWarning): the fits still come back, and no warning leaks
    out even where warnings are errors. The four points are fitted exactly."""
    k = np.array([0.0, 10.0, 20.0, 30.0])
    q = 1.01 * np.exp(-0.001 * k) - 0.01 * np.exp(0.01 * k)
    kk = np.arange(1.0, 101.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        four = _fit(k, q)
        grow = _fit(kk, np.exp(0.05 * kk))
    assert four is not None and _double_exp(k, *four) == pytest.approx(q, abs=1e-9)
    assert grow is not None and _double_exp(kk - 1, *grow) == pytest.approx(np.exp(0.05 * kk), rel=1e-6)


def test_line_through_the_last_third() -> None:
    """120 cycles: flat at 1.0 for 90, then falling 0.01 per cycle for 30. The last third is 40 cycles (10 flat,
    30 falling): its least-squares line, not the line through the last 30 (slope exactly −0.01)."""
    k = np.arange(1.0, 121.0)
    q = np.where(k <= 90, 1.0, 1.0 - 0.01 * (k - 90))
    a, b = _fit_linear(k, q)
    slope, intercept = np.polyfit(k[-40:] - 1.0, q[-40:], 1)
    assert (a, b) == pytest.approx((intercept, slope), rel=1e-9)
    assert b > -0.01 + 1e-3  # shallower than the last 30 alone


def test_crossing_is_strictly_below_and_searched_from_the_start() -> None:
    """The line 1 − k/1024 equals 0.75 at k = 256 (binary-exact): the first cycle strictly below is 257.
    A rising line 0.5 + 0.001 k is below 0.8 for every k < 300, but the search starts at 100: 100, not 0."""
    cross = _crossing_of(_linear)
    assert cross(np.array([1.0, -1 / 1024]), 0.0, 0.0, 300.0, 0.75) == 257.0
    assert cross(np.array([0.5, 0.001]), 0.0, 100.0, 200.0, 0.8) == 100.0
    assert cross(None, 0.0, 0.0, 300.0, 0.75) is None


SAT = 0.9 + 0.1 * np.exp(-K / 20) + np.where(np.arange(100) % 2 == 0, 0.002, -0.002)


def _bootstrap_by_hand(k: np.ndarray, q: np.ndarray, draws: int, alpha: float, after: int = 0) -> tuple[float, float, float]:
    """The module docstring's residual bootstrap of the straight line, written out: median smoothing (window
    9, edges repeated), least-squares line through the last third, crossing = first whole cycle from the last
    one on (up to 20 history lengths later) strictly below 0.8 × the median of the first five smoothed
    values; `draws` refits on the fitted line plus residuals resampled with replacement (numpy generator,
    seed 0, after `after` resamplings of the double exponential's residuals when that fit crossed first), a
    refit that never crosses counting as the horizon; interval = alpha/2 and 1 − alpha/2 quantiles, widened
    to hold the point."""
    qs = median_filter(q, size=9, mode="nearest")
    level = 0.8 * float(np.median(qs[:5]))
    tail = max(30, k.size // 3)
    grid = np.arange(k[-1], k[-1] + 20 * (k[-1] - k[0] + 1) + 1)

    def crossing(y: np.ndarray) -> float | None:
        b, a = np.polyfit(k[-tail:] - k[0], y[-tail:], 1)
        below = np.flatnonzero(a + b * (grid - k[0]) < level)
        return float(grid[below[0]]) if below.size else None

    b, a = np.polyfit(k[-tail:] - k[0], qs[-tail:], 1)
    fitted = a + b * (k - k[0])
    resid = qs - fitted
    rng = np.random.default_rng(0)
    for _ in range(after):
        rng.choice(resid, size=resid.size, replace=True)
    sims = []
    for _ in range(draws):
        e = crossing(fitted + rng.choice(resid, size=resid.size, replace=True))
        sims.append(grid[-1] if e is None else e)
    lo, hi = np.quantile(np.array(sims), [alpha / 2, 1 - alpha / 2])
    point = crossing(qs)
    return point, min(lo, point), max(hi, point)


def test_bootstrap_interval_by_hand() -> None:
    """A capacity that levels off (0.9 + 0.1 e^(−k/20), ±0.002 wobble): the double exponential never falls to
    80 %, so the forecast is the line's, and its interval is the residual bootstrap written out above — with
    the default 200 draws."""
    r = forecast_eol(K, SAT)
    assert r.method == LINEAR_ONLY
    point, lo, hi = _bootstrap_by_hand(K, SAT, 200, 0.1)
    assert (r.predicted_eol_cycle, r.lower, r.upper) == pytest.approx((point, lo, hi), abs=1e-9)
    assert lo < point < hi


def test_database_numbers_are_read_as_floats() -> None:
    """Cycle numbers and capacities as a database returns them (Decimal): the same forecast as the floats."""
    from decimal import Decimal

    dk = [Decimal(str(x)) for x in K.tolist()]
    dq = [Decimal(str(x)) for x in LINE.tolist()]
    r = forecast_eol(dk, dq, draws=3)  # type: ignore[arg-type]
    assert r.predicted_eol_cycle == 203.0 and r.lower == 203.0 and r.upper == 203.0


def test_backtest_reports_a_forecast_that_finds_no_end() -> None:
    """Flat at 1.0 for 100 cycles, then falling 0.01 per cycle: true end of life (below 0.8) at 121. From 25 %
    (round(30.25) = 30 cycles, all flat) no fit crosses within the horizon: the row says so (None), not
    covered. Given as Decimals (database values), read as floats."""
    from decimal import Decimal

    k = np.arange(1.0, 201.0)
    q = np.where(k <= 100, 1.0, 1.0 - 0.01 * (k - 100))
    (row,) = backtest([Decimal(str(x)) for x in k.tolist()], [Decimal(str(x)) for x in q.tolist()], fractions=(0.25,))  # type: ignore[arg-type]
    assert row == {"fraction": 0.25, "upto_cycle": 30, "true_eol_cycle": 121.0, "predicted_eol_cycle": None,
                   "lower": None, "upper": None, "error_cycles": None, "abs_pct_error": None, "covered": False}


def test_forecast_rul_passes_its_options_on() -> None:
    """alpha and initial capacity reach the forecast: an 80 % interval, and the 0.9003 Ah initial of
    test_threshold_initial_and_alpha_are_used (crossing 280)."""
    data = cycles([(1 - 0.001 * k, 1 - 0.001 * k) for k in range(1, 101)])
    r = forecast_rul(data, population=(), alpha=0.2, initial_capacity_ah=0.9003, draws=3)
    assert r.interval_level == pytest.approx(0.8) and r.initial_capacity_ah == 0.9003 and r.predicted_eol_cycle == 280.0


def test_late_double_exponential_interval_by_hand() -> None:
    """The double exponential of test_double_exponential_fit_late_in_life seen from cycle 100 to 199 (smoothing
    leaves a monotone curve as it is: initial = q(102), level 0.8 q(102)). Its fit is exact, so its 20 bootstrap
    refits (on the fit plus resampled residuals of ~0) all cross where the formula does; the line's interval is
    the bootstrap written out above, drawn after those 20 resamplings. Forecast = the mean of the two
    crossings, interval = the union."""
    k = np.arange(100.0, 200.0)

    def f(x):  # type: ignore[no-untyped-def]
        return 1.01 * np.exp(-0.001 * x) - 0.01 * np.exp(0.01 * x)

    q = f(k)
    grid = np.arange(199.0, 199.0 + 20 * 100 + 1)
    e_dexp = float(grid[np.argmax(f(grid) < 0.8 * f(102.0))])
    e_line, lo, hi = _bootstrap_by_hand(k, q, 20, 0.1, after=20)
    r = forecast_eol(k, q, draws=20)
    assert r.method == "mean of double exponential and linear fits; interval = union of their residual-bootstrap intervals"
    assert r.predicted_eol_cycle == pytest.approx((e_dexp + e_line) / 2, abs=1e-9)
    assert (r.lower, r.upper) == pytest.approx((min(lo, e_dexp), max(hi, e_dexp)), abs=1e-9)


def test_true_end_of_life_starts_from_the_median_of_the_first_five_capacities() -> None:
    """A monotone fade is its own median-filtered curve. Initial capacity = median of the first five
    (1.00, 0.99, 0.98, 0.97, 0.96) = 0.98 Ah, so the 80 % line is 0.784 Ah and cycle 9 (0.782 Ah) is the first
    below it. Six values would give a median of 0.975 Ah and a line at 0.780 Ah: cycle 10 instead."""
    q = np.array([1.00, 0.99, 0.98, 0.97, 0.96, 0.95, 0.90, 0.85, 0.782, 0.70])
    assert true_eol_cycle(np.arange(1, 11, dtype=float), q) == 9.0
    # a given initial capacity replaces the median: 0.8 × 0.97 = 0.776 Ah → cycle 10 (0.70) is the first below
    assert true_eol_cycle(np.arange(1, 11, dtype=float), q, initial_ah=0.97) == 10.0
