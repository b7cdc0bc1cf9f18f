"""Remaining useful life from a capacity history, with a prediction interval.

Two empirical fade models are fitted to the smoothed history (rolling median, which removes
check-up cycles and rest recoveries): the double exponential Q(k) = a·e^{b·k} + c·e^{d·k} that He,
Williard, Osterman and Pecht fitted to the same CALCE CS2 cells (J. Power Sources 196 (2011)
10314–10321), and a straight line through the most recent third of the history (the current fade rate). Each gives the first cycle where it falls below ``threshold`` ×
initial capacity; the forecast is their mean. Each is bootstrapped (``draws`` refits on its fit plus
resampled residuals, fixed seed), and the interval is the union of their ``alpha``/2 … 1 − ``alpha``/2
quantile ranges, so that it carries the disagreement between models, not only the noise. Early in
life the two models disagree most; the backtest in docs/health.md shows how far off that is.

Curves fitted to the flat part of a history cannot know a knee is coming. Given a ``population`` of whole
lives of the same cell family (:mod:`batteryloop.health.similarity`), :func:`forecast_eol` maps them onto
the history instead and only falls back to the curve fits when none matches; :func:`forecast_rul`, the
entry point for cycler data, uses the CALCE CS2 lives of :mod:`batteryloop.reference.calce_cs2` unless
given another population (``population=()``: the curve fits only); the similarity interval is calibrated
within the population and floored by the sister-cell variability of life
(:func:`batteryloop.health.similarity.sister_half_width`). The simulated lives of
:mod:`batteryloop.reference.pybamm_okane2022` can widen it (``prior=default_prior()``); they no longer do by
default (they bought coverage with width).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict
from scipy.optimize import OptimizeWarning, curve_fit

from batteryloop.health.errors import InsufficientDataError
from batteryloop.health.smoothing import smooth
from batteryloop.health.summary import cycle_summary
from batteryloop.health import similarity
from batteryloop.health.similarity import Trajectory
from batteryloop.health.timeseries import CyclerData

SEED = 0
RECENT_MIN_CYCLES = 30
HORIZON_FACTOR = 20  # search the end of life up to this many times the history length
MODELS = ("double exponential", "linear")  # the curve fits, in the order they are tried


class RulForecast(BaseModel):
    model_config = ConfigDict(frozen=True)

    upto_cycle: int
    initial_capacity_ah: float
    threshold_fraction: float
    threshold_capacity_ah: float
    predicted_eol_cycle: float | None
    lower: float | None
    upper: float | None
    remaining_cycles: float | None
    interval_level: float
    reached: bool  # True when the history already crossed the threshold
    method: str


def capacity_history(data: CyclerData | pl.DataFrame, min_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(cycle, discharge capacity Ah) of the cycles that charged and discharged; cycles whose
    discharge is below ``min_fraction`` of the largest are interruptions, not capacity."""
    s = cycle_summary(data) if isinstance(data, CyclerData) else data
    s = s.filter(pl.col("coulombic_efficiency").is_not_null())
    if s.height == 0:
        raise InsufficientDataError("no cycle with both a charge and a discharge")
    q = s.get_column("discharge_capacity_ah").to_numpy()
    keep = q >= min_fraction * q.max()
    return s.get_column("cycle").to_numpy()[keep].astype(float), q[keep]


def _double_exp(k: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    return a * np.exp(b * k) + c * np.exp(d * k)


def _start(k: np.ndarray, q: np.ndarray) -> tuple[float, float, float, float]:
    """curve_fit's starting point (a, b, c, d) for a·e^{b(k−k₀)} + c·e^{d(k−k₀)}: 95 % of the first capacity in
    a slowly fading term (d = −1e-5 per cycle) and 5 % in a term that changes by a factor e over the history
    (b = 1 / its length in cycles, a length under one cycle counting as one)."""
    return (q[0] * 0.05, 1.0 / max(k[-1] - k[0], 1.0), q[0] * 0.95, -1e-5)


def _fit(k: np.ndarray, q: np.ndarray, p0: np.ndarray | None = None) -> np.ndarray | None:
    """The double exponential's (a, b, c, d), from ``p0`` (default: :func:`_start`); None when the fit fails."""
    k0 = k[0]
    p0 = _start(k, q) if p0 is None else tuple(p0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            p, _ = curve_fit(_double_exp, k - k0, q, p0=p0, maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    return p if np.all(np.isfinite(p)) else None


def _linear(k: np.ndarray, a: float, b: float) -> np.ndarray:
    return a + b * k


def _fit_linear(k: np.ndarray, q: np.ndarray, p0: np.ndarray | None = None) -> np.ndarray | None:
    """Line through the recent third of the history (the current fade rate), as a, b of q = a + b (k − k₀)."""
    del p0  # closed form: no starting point
    tail = max(RECENT_MIN_CYCLES, k.size // 3)
    b, a = np.polyfit(k[-tail:] - k[0], q[-tail:], 1)
    return np.array([a, b])


def _crossing_of(model):  # type: ignore[no-untyped-def]
    def cross(p: np.ndarray | None, k0: float, start: float, stop: float, level: float) -> float | None:
        if p is None:
            return None
        grid = np.arange(start, stop + 1.0)
        below = np.flatnonzero(model(grid - k0, *p) < level)
        return float(grid[below[0]]) if below.size else None

    return cross


def true_eol_cycle(cycles: np.ndarray, q: np.ndarray, threshold: float = 0.8, initial_ah: float | None = None) -> float | None:
    """The first cycle whose smoothed capacity is below ``threshold`` × initial (None if never)."""
    qs = smooth(q)
    init = initial_ah if initial_ah is not None else float(np.median(qs[:5]))
    below = np.flatnonzero(qs < threshold * init)
    return float(cycles[below[0]]) if below.size else None


def forecast_eol(
    cycles: np.ndarray,
    capacity_ah: np.ndarray,
    *,
    threshold: float = 0.8,
    upto_cycle: int | None = None,
    initial_capacity_ah: float | None = None,
    alpha: float = 0.1,
    draws: int = 200,
    population: Sequence[Trajectory] = (),
    prior: Sequence[Trajectory] = (),
    models: Sequence[str] = MODELS,
    warm_start: bool = False,
) -> RulForecast:
    """Forecast the cycle where capacity falls below ``threshold`` × initial, using only cycles
    ≤ ``upto_cycle``: by similarity to ``population`` when one of its lives matches the history (interval
    calibrated within the population), else by the curve fits with a (1 − ``alpha``) bootstrap interval.

    ``models`` picks the curve fits (a subset of :data:`MODELS`; e.g. ``("linear",)`` for a history too short for
    the double exponential's curvature to be identifiable). With ``warm_start`` the bootstrap refits start from the
    point fit's parameters instead of the generic :func:`_start` (the usual residual bootstrap: the resampled
    curves are perturbations of the fitted one; several times fewer function evaluations). The defaults are the
    behaviour the CALCE back-test (docs/health.md) was measured with."""
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ValueError(f"models must be a non-empty subset of {MODELS}, got {tuple(models)}")
    k = np.asarray(cycles, dtype=float)
    q = np.asarray(capacity_ah, dtype=float)
    if upto_cycle is not None:
        m = k <= upto_cycle
        k, q = k[m], q[m]
    if k.size < 10:
        raise InsufficientDataError(f"need at least 10 cycles with capacity before cycle {upto_cycle}, have {k.size}")
    qs = smooth(q)
    init = initial_capacity_ah if initial_capacity_ah is not None else float(np.median(qs[:5]))
    level = threshold * init
    last = float(k[-1])
    reached_at = true_eol_cycle(k, q, threshold, init)
    common = dict(
        upto_cycle=int(last), initial_capacity_ah=init, threshold_fraction=threshold,
        threshold_capacity_ah=level, interval_level=1 - alpha,
    )
    if reached_at is not None:
        return RulForecast(**common, predicted_eol_cycle=reached_at, lower=reached_at, upper=reached_at,
                           remaining_cycles=0.0, reached=True, method="observed in the history")  # type: ignore[arg-type]
    fallback = ""
    if population:
        sim = similarity.forecast(k, q, population, threshold=threshold, initial_ah=init, alpha=alpha, prior=prior)
        if sim is not None:
            used = ", ".join(f"{m.reference} (×{m.scale:.2f})" for m in sim.matches)
            calibrated = "leave-one-out within the population, at least the sister-cell spread of life" + (
                f", widened by the crossings of {len(prior)} simulated lives matched to the history (prior)" if prior else "")
            return RulForecast(**common, predicted_eol_cycle=sim.eol_cycle, lower=sim.lower, upper=sim.upper,  # type: ignore[arg-type]
                               remaining_cycles=sim.eol_cycle - last, reached=False,
                               method=f"similarity to {len(sim.matches)} reference lives ({used}): weighted median of "
                                      f"their crossings; interval calibrated {calibrated}")
        fallback = "no reference life matches the history; "
    stop = last + HORIZON_FACTOR * (last - k[0] + 1)
    rng = np.random.default_rng(SEED)
    points: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    used: list[str] = []
    for name, fit, cross in (("double exponential", _fit, _crossing_of(_double_exp)), ("linear", _fit_linear, _crossing_of(_linear))):
        if name not in models:
            continue
        p = fit(k, qs)
        eol = cross(p, k[0], last, stop, level)
        if p is None or eol is None:
            continue
        fitted = (_double_exp if name == "double exponential" else _linear)(k - k[0], *p)
        resid = qs - fitted
        sims = []
        for _ in range(draws):
            pb = fit(k, fitted + rng.choice(resid, size=resid.size, replace=True), p if warm_start else None)
            e = cross(pb, k[0], last, stop, level)
            sims.append(stop if e is None else e)  # never crossing counts as 'beyond the horizon'
        lo, hi = (float(x) for x in np.quantile(np.array(sims), [alpha / 2, 1 - alpha / 2]))
        points.append(eol)
        lows.append(min(lo, eol))
        highs.append(max(hi, eol))
        used.append(name)
    if not points:
        return RulForecast(**common, predicted_eol_cycle=None, lower=None, upper=None, remaining_cycles=None,  # type: ignore[arg-type]
                           reached=False, method=fallback + "no fit crosses the threshold within the horizon")
    eol = float(np.mean(points))
    return RulForecast(
        **common,  # type: ignore[arg-type]
        predicted_eol_cycle=eol,
        lower=min(lows),
        upper=max(highs),
        remaining_cycles=eol - last,
        reached=False,
        method=fallback + "mean of " + " and ".join(used) + " fits; interval = union of their residual-bootstrap intervals"
        + (" (refits warm-started from the point fit)" if warm_start else ""),
    )


def default_population() -> list[Trajectory]:
    """The CALCE CS2 whole lives of :mod:`batteryloop.reference.calce_cs2`, as trajectories."""
    from batteryloop.reference import calce_cs2

    return [Trajectory(name, k, s) for name, (k, s) in calce_cs2.lives().items()]


def default_prior() -> list[Trajectory]:
    """The simulated lives of :mod:`batteryloop.reference.pybamm_okane2022` (PyBaMM, O'Kane et al. 2022
    parameters, a spread of degradation rates), as trajectories: they calibrate the interval, not the point."""
    from batteryloop.reference import pybamm_okane2022

    return [Trajectory(name, k, s) for name, (k, s) in pybamm_okane2022.lives().items()]


def forecast_rul(data: CyclerData, *, threshold: float = 0.8, upto_cycle: int | None = None,
                 population: Sequence[Trajectory] | None = None, prior: Sequence[Trajectory] | None = None,
                 **kw: float) -> RulForecast:
    """:func:`forecast_eol` on a canonical series (cycle numbers as in the series), by similarity to
    ``population`` (default: :func:`default_population`; ``()`` for the curve fits only), its interval
    widened by ``prior`` if given (e.g. :func:`default_prior`, the simulated lives; default ``None``: none)."""
    k, q = capacity_history(data)
    pop = default_population() if population is None else population
    pri = () if prior is None else prior
    return forecast_eol(k, q, threshold=threshold, upto_cycle=upto_cycle, population=pop, prior=pri, **kw)  # type: ignore[arg-type]


def backtest(cycles: np.ndarray, capacity_ah: np.ndarray, fractions: tuple[float, ...] = (0.25, 0.5, 0.75), threshold: float = 0.8) -> list[dict[str, float | bool | None]]:
    """Forecast from the history up to each fraction of the true life; errors and interval coverage."""
    k = np.asarray(cycles, float)
    q = np.asarray(capacity_ah, float)
    init = float(np.median(smooth(q)[:5]))
    eol = true_eol_cycle(k, q, threshold, init)
    if eol is None:
        raise InsufficientDataError("the history never reaches the threshold: nothing to backtest against")
    out = []
    for f in fractions:
        up = int(round(f * eol))
        r = forecast_eol(k, q, threshold=threshold, upto_cycle=up, initial_capacity_ah=init)
        pred = r.predicted_eol_cycle
        out.append({
            "fraction": f, "upto_cycle": up, "true_eol_cycle": eol, "predicted_eol_cycle": pred,
            "lower": r.lower, "upper": r.upper,
            "error_cycles": None if pred is None else pred - eol,
            "abs_pct_error": None if pred is None else abs(pred - eol) / eol * 100,
            "covered": r.lower is not None and r.upper is not None and r.lower <= eol <= r.upper,
        })
    return out
