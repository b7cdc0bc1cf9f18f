"""Remaining useful life by similarity to whole lives of the same cell family, which knows knees.

A curve fitted to the flat part of a capacity history extrapolates to thousands of cycles: the flat part
says nothing about when the fade will accelerate. Cells of one family that were cycled to their end say
it. This forecaster (a similarity-based, or "trajectory library", method: Zhang et al., Reliab. Eng.
Syst. Saf. 2014; Liu et al., Appl. Energy 2019) maps each reference life onto the history of the cell:

1. both are normalised to their initial capacity (median of the first five smoothed cycles), so a
   trajectory is state of health against cycle;
2. for each reference r, a time scale ``a`` (the cell ages ``a`` times slower or faster) and a capacity
   offset ``b`` are found that best match ``S_r(k / a) + b`` to the history, by least squares
   over the whole history; ``a`` is searched on a grid, ``b`` is the mean residual, limited to
   ±``MAX_OFFSET`` (weighting recent cycles more was tried on the three CALCE lives and did worse);
3. the reference then says where the cell crosses the threshold: ``a`` × (the reference's crossing of
   ``threshold − b``). References that cannot be matched (the history is longer than their life) or
   never cross are left out;
4. the population must explain the history at least as well as a straight line does (two parameters
   each, ties within ``TIE_RMSE``): if every reference matches worse than a line through the history, the cell is not of this family
   (or its history has no shape yet) and there is no similarity forecast — the caller falls back;
   otherwise the forecast is the weighted median of the references' crossings, weights ∝ 1 / matching error;
5. the interval (level 1 − ``alpha``) is point ×/÷ e^h in cycles of life. h is the larger of two
   calibrations. (a) Leave-one-out inside the population: each reference is forecast from the others at
   20 … 90 % of its life, and the split-conformal quantile of the |log errors| at a similar stage of life
   (the stage estimated as history / forecast) — with few references that is the largest error seen.
   (b) Sister-cell variability (:func:`sister_half_width`): cells of one type cycled the same way do not
   live equally long, and a history before the knee need not show which sister dies first (CALCE CS2_36
   follows its two sisters to cycle 400 and dies 15 % earlier). The pooled within-protocol standard
   deviation of ln(cycle life) of the Severson et al. 2019 cells (:data:`SISTER_LOG_SD`, measured on
   another family: cells of one batch and one charging policy) gives the classical prediction interval of
   a new sister's life from m sisters' lives, t · σ · √(1 + 1/m). With three real lives the population's
   own calibration cannot reach 90 % (two calibration errors say nothing about a 90 % quantile); (b) is a
   measured floor from real cells instead of a guess;
6. a ``prior`` — lives of another family, e.g. the simulated lives of
   :mod:`batteryloop.reference.pybamm_okane2022` — can widen the interval, never moves the point: each prior
   life is matched like a reference, weighted by how well it explains the history, and the weighted
   (α/2, 1 − α/2) quantiles of their crossings join the interval (:func:`prior_interval`). It is no longer
   the default of :func:`batteryloop.health.rul.forecast_rul`: on CALCE it covered 9/9 with intervals about
   the whole life wide, and on its own family it over-covered (63/63 at 250 % of life).

The population of :mod:`batteryloop.reference.calce_cs2` (three CALCE CS2 lives) is the default for
:func:`batteryloop.health.forecast_rul`; a caller may pass their own (:class:`Trajectory` list), e.g.
the lives of their own cell family. The back-test (``bench/health_rul.py``) holds each cell out of its
own population.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from batteryloop.health.errors import InsufficientDataError
from batteryloop.health.smoothing import smooth

SCALE_GRID = np.exp(np.linspace(np.log(0.33), np.log(3.0), 441))
MAX_OFFSET = 0.03  # at most 3 % of initial capacity between a reference and the cell
CALIBRATION_FRACTIONS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
STAGE_WINDOW = 0.2  # calibration errors from stages of life within ±0.2 of the cell's
MIN_HISTORY = 10
#: Sister-cell variability of life: the pooled within-group standard deviation of ln(cycle life) of the
#: Severson et al. 2019 cells (``../shared/data/severson2019/cells_train_test1.csv``; groups: same batch date
#: and charging policy, 20 groups of 2–3 cells, 42 cells, 22 degrees of freedom), :func:`sister_log_sd` on
#: that table (``tests/health/test_rul_calibrated.py`` recomputes it). Another chemistry and protocol than
#: CALCE's; the only real data with several nominally identical cells cycled identically to their end.
SISTER_LOG_SD = 0.13293
SISTER_DF = 22
#: prior lives are weighted by exp(−½ (rmse / σ)²), σ = this × the best prior match's rmse (fixed a priori: a
#: life matching twice as badly as the best keeps e^-½ of its weight) ...
PRIOR_SIGMA_FACTOR = 2.0
#: ... but at least 0.1 % of capacity (a perfect match must not take all the weight)
PRIOR_SIGMA_FLOOR = 1e-3
TIE_RMSE = 5e-4  # matching errors closer than this (0.05 % of capacity) are a tie, not a better explanation


@dataclass(frozen=True)
class Trajectory:
    """One whole life: state of health (fraction of initial capacity) against cycle, smoothed."""

    name: str
    cycles: np.ndarray
    soh: np.ndarray

    def crossing(self, level: float) -> float | None:
        below = np.flatnonzero(self.soh < level)
        return float(self.cycles[below[0]]) if below.size else None


def normalise(cycles: np.ndarray, capacity_ah: np.ndarray, initial_ah: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(cycles, smoothed capacity / initial, initial Ah); initial: the median of the first five smoothed cycles."""
    k = np.asarray(cycles, float)
    qs = smooth(np.asarray(capacity_ah, float))
    init = initial_ah if initial_ah is not None else float(np.median(qs[:5]))
    return k, qs / init, init


def trajectory(name: str, cycles: np.ndarray, capacity_ah: np.ndarray) -> Trajectory:
    k, s, _ = normalise(cycles, capacity_ah)
    return Trajectory(name, k, s)


@dataclass(frozen=True)
class Match:
    reference: str
    scale: float
    offset: float
    rmse: float
    eol_cycle: float


def match(k: np.ndarray, s: np.ndarray, ref: Trajectory, threshold: float) -> Match | None:
    """The best time scale and offset mapping ``ref`` onto the history (k, s), and its crossing."""
    scales = SCALE_GRID[k[-1] / SCALE_GRID <= ref.cycles[-1]]  # the history must fit inside the reference's life
    if not scales.size:
        return None
    kr = k[None, :] / scales[:, None]  # where the history's cycles fall on the reference's clock, per scale
    sr = np.interp(kr, ref.cycles, ref.soh)
    offsets = np.clip(np.mean(s[None, :] - sr, axis=1), -MAX_OFFSET, MAX_OFFSET)
    errs = np.mean((s[None, :] - sr - offsets[:, None]) ** 2, axis=1)
    i = int(np.argmin(errs))  # the first of equal minima, i.e. the smallest such scale
    a, b, err = float(scales[i]), float(offsets[i]), float(errs[i])
    # the reference's first crossing of threshold - b after the matched history
    after = ref.cycles > k[-1] / a
    below = np.flatnonzero(after & (ref.soh + b < threshold))
    if not below.size:
        return None
    return Match(ref.name, a, b, float(np.sqrt(err)), float(ref.cycles[below[0]] * a))


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    c = np.cumsum(w) / np.sum(w)
    return float(v[np.searchsorted(c, 0.5)])


def point_forecast(k: np.ndarray, s: np.ndarray, population: Sequence[Trajectory], threshold: float) -> tuple[float, list[Match]] | None:
    matches = [m for ref in population if (m := match(k, s, ref, threshold)) is not None]
    if not matches:
        return None
    eols = np.array([m.eol_cycle for m in matches])
    weights = np.array([1.0 / max(m.rmse, 1e-4) for m in matches])
    return _weighted_median(eols, weights), matches


_CALIBRATION: dict[tuple[object, ...], list[tuple[float, float]]] = {}


def calibration_errors(population: Sequence[Trajectory], threshold: float) -> list[tuple[float, float]]:
    """(stage of life, relative error) of each reference forecast from the others at 20 … 90 % of its life
    (computed once per population and threshold)."""
    key = (tuple((t.name, t.cycles.size, float(t.cycles.sum()), float(t.soh.sum())) for t in population), threshold)
    if key not in _CALIBRATION:
        _CALIBRATION[key] = _calibration_errors(population, threshold)
    return _CALIBRATION[key]


def _calibration_errors(population: Sequence[Trajectory], threshold: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for i, ref in enumerate(population):
        eol = ref.crossing(threshold)
        others = [r for j, r in enumerate(population) if j != i]
        if eol is None or not others:
            continue
        for f in CALIBRATION_FRACTIONS:
            m = ref.cycles <= f * eol
            if m.sum() < MIN_HISTORY:
                continue
            got = point_forecast(ref.cycles[m], ref.soh[m], others, threshold)
            if got is not None:
                out.append((f, (got[0] - eol) / eol))
    return out


def conformal_quantile(abs_errors: Sequence[float], alpha: float) -> float:
    """Split-conformal quantile with the finite-sample correction: the ⌈(n + 1)(1 − α)⌉-th smallest of the
    n calibration errors (the largest when that rank exceeds n)."""
    e = np.sort(np.abs(np.asarray(abs_errors, float)))
    if e.size == 0:
        raise ValueError("no calibration errors")
    rank = min(e.size, int(np.ceil((e.size + 1) * (1 - alpha))))
    return float(e[rank - 1])


def coverage(rows: Sequence[dict[str, object]]) -> tuple[int, int]:
    """(covered, forecasts) over back-test rows: a row counts when it has an interval and the true end of
    life lies inside it, ends included; a row without a forecast counts as not covered."""
    hits = sum(1 for r in rows if r.get("lower") is not None and r.get("upper") is not None
               and r["lower"] <= r["true_eol_cycle"] <= r["upper"])  # type: ignore[operator]
    return hits, len(rows)


def sister_log_sd(lives_by_group: dict[object, Sequence[float]]) -> tuple[float, int]:
    """(pooled within-group standard deviation of ln(life), degrees of freedom) over the groups of at least
    two cells: √(Σ_g Σ_i (ln L_gi − mean_g)² / Σ_g (n_g − 1))."""
    ss, df = 0.0, 0
    for lives in lives_by_group.values():
        x = np.log(np.asarray(lives, float))
        if x.size >= 2:
            ss += float(np.sum((x - x.mean()) ** 2))
            df += x.size - 1
    if df == 0:
        raise ValueError("no group with two or more cells")
    return float(np.sqrt(ss / df)), df


def sister_half_width(references: int, alpha: float, sd: float = SISTER_LOG_SD, df: int = SISTER_DF) -> float:
    """Half-width in ln(cycles) of the (1 − ``alpha``) prediction interval of a cell's life from the lives of
    ``references`` sisters: t_{1−α/2, df} · sd · √(1 + 1/m) (normal lives, pooled variance)."""
    from scipy.stats import t as student_t

    m = max(int(references), 1)
    return float(student_t.ppf(1 - alpha / 2, df) * sd * np.sqrt(1 + 1 / m))


def interval(point: float, last: float, matches: list[Match], errors: list[tuple[float, float]], alpha: float) -> tuple[float, float]:
    """point ×/÷ e^h, h the larger of the population's own conformal quantile of |ln(forecast / truth)| at a
    similar stage of life and the sister-cell half-width for ``len(matches)`` references; never below the
    history's last cycle."""
    stage = min(1.0, last / point) if point > 0 else 1.0
    near = [f_e for f_e in errors if abs(f_e[0] - stage) <= STAGE_WINDOW] or list(errors)
    h = sister_half_width(len(matches), alpha)
    if near:
        h = max(h, conformal_quantile([np.log1p(e) for _, e in near], alpha))
    return max(point * np.exp(-h), last), max(point * np.exp(h), last)


@dataclass(frozen=True)
class SimilarityForecast:
    eol_cycle: float
    lower: float
    upper: float
    matches: list[Match]


def forecast(cycles: np.ndarray, capacity_ah: np.ndarray, population: Sequence[Trajectory], *, threshold: float = 0.8,
             initial_ah: float | None = None, alpha: float = 0.1, prior: Sequence[Trajectory] = ()) -> SimilarityForecast | None:
    """The similarity forecast of the end of life (cycle) from a history that has not crossed yet, or None
    when no reference matches it. ``prior``: lives of another (e.g. simulated) family that widen the
    interval only (:func:`prior_interval`, the union is taken); the point comes from ``population`` alone."""
    k, s, _ = normalise(cycles, capacity_ah, initial_ah)
    if k.size < MIN_HISTORY:
        raise InsufficientDataError(f"need at least {MIN_HISTORY} cycles with capacity, have {k.size}")
    got = point_forecast(k, s, population, threshold)
    if got is None:
        return None
    point, matches = got
    line = np.polyval(np.polyfit(k, s, 1), k)
    if min(m.rmse for m in matches) > float(np.sqrt(np.mean((s - line) ** 2))) + TIE_RMSE:
        return None  # a straight line explains the history better than any reference life
    lo, hi = interval(point, float(k[-1]), matches, calibration_errors(population, threshold), alpha)
    if prior:
        got_prior = prior_interval(k, s, prior, threshold, alpha)
        if got_prior is not None:
            lo, hi = min(lo, max(got_prior[0], float(k[-1]))), max(hi, got_prior[1])
    return SimilarityForecast(point, lo, hi, matches)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    c = np.cumsum(w) / np.sum(w)
    return float(v[min(int(np.searchsorted(c, q)), v.size - 1)])


def prior_interval(k: np.ndarray, s: np.ndarray, prior: Sequence[Trajectory], threshold: float,
                   alpha: float) -> tuple[float, float] | None:
    """The (α/2, 1 − α/2) weighted quantiles of the prior lives' crossings, each life time-scaled and offset
    onto the history like a reference (:func:`match`) and weighted by how well it explains the history,
    exp(−½ (rmse / σ)²) with σ = ``PRIOR_SIGMA_FACTOR`` × the best match's rmse (at least
    ``PRIOR_SIGMA_FLOOR``): the simulated lives that agree with what the cell has done so far say where it
    may go. Lives that never cross the threshold, or cannot be matched, are left out. None without any."""
    got = [m for t in prior if (m := match(k, s, t, threshold)) is not None]
    if not got:
        return None
    rm = np.array([m.rmse for m in got])
    sigma = max(PRIOR_SIGMA_FACTOR * float(rm.min()), PRIOR_SIGMA_FLOOR)
    w = np.exp(-0.5 * (rm / sigma) ** 2)
    eols = np.array([m.eol_cycle for m in got])
    return _weighted_quantile(eols, w, alpha / 2), _weighted_quantile(eols, w, 1 - alpha / 2)


def backtest(lives: dict[str, tuple[np.ndarray, np.ndarray]], fractions: tuple[float, ...] = (0.25, 0.5, 0.75), *,
             threshold: float = 0.8, alpha: float = 0.1, prior: Sequence[Trajectory] = ()) -> list[dict[str, object]]:
    """Leave one cell out: forecast each life from the others, from the history up to each fraction of its
    true life; the error and whether the interval covered the truth. A ``prior`` life of the same name as
    the cell is left out of the prior too (so a simulated family can be back-tested on itself)."""
    population = {name: trajectory(name, k, q) for name, (k, q) in lives.items()}
    out: list[dict[str, object]] = []
    for name, (k, q) in lives.items():
        eol = population[name].crossing(threshold)
        if eol is None:
            continue
        others = [t for n, t in population.items() if n != name]
        k = np.asarray(k, float)
        q = np.asarray(q, float)
        init = normalise(k, q)[2]
        for f in fractions:
            m = k <= round(f * eol)
            r = forecast(k[m], q[m], others, threshold=threshold, initial_ah=init, alpha=alpha,
                         prior=[t for t in prior if t.name != name])
            row: dict[str, object] = {"cell": name, "fraction": f, "upto_cycle": int(k[m][-1]), "true_eol_cycle": eol,
                                      "predicted_eol_cycle": None, "lower": None, "upper": None, "error_cycles": None,
                                      "abs_pct_error": None, "covered": False,
                                      "references": len(others)}
            if r is not None:
                row |= {"predicted_eol_cycle": r.eol_cycle, "lower": r.lower, "upper": r.upper,
                        "error_cycles": r.eol_cycle - eol, "abs_pct_error": abs(r.eol_cycle - eol) / eol * 100,
                        "covered": r.lower <= eol <= r.upper}
            out.append(row)
    return out
