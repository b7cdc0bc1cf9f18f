"""Early-life features of discharge Q(V) curves (cycles 2..100), after Severson et al. (2019).

Severson's features (Nature Energy 4, 383 (2019), "discharge model"): for ΔQ₁₀₀₋₁₀(V) = Q₁₀₀(V) −
Q₁₀(V), the log₁₀ of |variance|, |minimum|, |skewness| and |kurtosis|; the discharge capacity at
cycle 2; and the largest capacity over cycles 2..100 minus that of cycle 2.

Added here (batteryloop): the *trajectory* of the ΔQ curve. For k = 20, 30, …, 100 we compute
ΔQₖ₋₁₀(V) and fit log₁₀ var(ΔQₖ₋₁₀) and log₁₀ |min ΔQₖ₋₁₀| against log₁₀(k − 10); the slopes say
whether the curve is still spreading fast at cycle 100 (a cell about to knee) or settling. They use
only the same 99 curves.

Attia et al. (J. Electrochem. Soc. 168, 090547 (2021), "Statistical learning for accurate and
interpretable battery lifetime prediction") showed how the variance model depends on the pair of
cycles: ``log_var_dq_100_j`` is log₁₀ var(Q₁₀₀ − Qⱼ) for a later reference cycle j.

Robustness: a cycle whose end-of-discharge capacity jumps more than 2 % away from the median of
its neighbours (a logging glitch: the data hold a few cycles with 30 Ah on a 1.1 Ah cell) is
replaced by its nearest clean neighbour before any feature is computed.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter
from scipy.stats import kurtosis, skew

from batteryloop.health.lifetime.data import FIRST_CYCLE

SEVERSON_DISCHARGE: tuple[str, ...] = (
    "log_var_dq",
    "log_min_dq",
    "log_skew_dq",
    "log_kurt_dq",
    "q_cycle2_ah",
    "q_max_minus_cycle2_ah",
)
TRAJECTORY: tuple[str, ...] = ("log_var_dq_slope", "log_min_dq_slope")
#: Attia et al. (2021) scanned the cycle pair of the variance model, ΔQᵢ₋ⱼ: the log variance of ΔQ₁₀₀₋ⱼ for a later
#: reference cycle j (cycle 10 sits close to the start-up transient of the capacity)
REFERENCE_CYCLES = (20, 30, 40)
ATTIA_VARIANCE: tuple[str, ...] = tuple(f"log_var_dq_100_{j}" for j in REFERENCE_CYCLES)
ALL_FEATURES: tuple[str, ...] = SEVERSON_DISCHARGE + TRAJECTORY + ATTIA_VARIANCE + ("log_mean_dq",)
GLITCH_FRACTION = 0.02
_TRAJ_CYCLES = np.arange(20, 101, 10)


def clean_curves(curves: np.ndarray) -> np.ndarray:
    """``curves`` (cells, voltages, cycles) with glitched cycles replaced by the nearest clean one."""
    out = curves.copy()
    end = curves[:, -1, :]
    med = median_filter(end, size=(1, 5), mode="nearest")
    bad = np.abs(end - med) > GLITCH_FRACTION * np.abs(med)
    for c, j in zip(*np.nonzero(bad), strict=True):
        good = np.flatnonzero(~bad[c])
        if good.size:
            out[c, :, j] = curves[c, :, good[np.argmin(np.abs(good - j))]]
    return out


def _col(cycle: int) -> int:
    return cycle - FIRST_CYCLE


def _log_abs(x: np.ndarray) -> np.ndarray:
    return np.log10(np.maximum(np.abs(x), 1e-12))


def feature_matrix(curves: np.ndarray) -> dict[str, np.ndarray]:
    """Every feature of :data:`ALL_FEATURES` for each cell of ``curves`` (cells, 1000, 99)."""
    c = clean_curves(np.asarray(curves, dtype=np.float64))
    dq = c[:, :, _col(100)] - c[:, :, _col(10)]
    q = c[:, -1, :]
    f: dict[str, np.ndarray] = {
        "log_var_dq": _log_abs(np.var(dq, axis=1)),
        "log_min_dq": _log_abs(np.min(dq, axis=1)),
        "log_mean_dq": _log_abs(np.mean(dq, axis=1)),
        "log_skew_dq": _log_abs(skew(dq, axis=1)),
        "log_kurt_dq": _log_abs(kurtosis(dq, axis=1, fisher=False)),
        "q_cycle2_ah": q[:, 0],
        "q_max_minus_cycle2_ah": q.max(axis=1) - q[:, 0],
    }
    for j in REFERENCE_CYCLES:
        f[f"log_var_dq_100_{j}"] = _log_abs(np.var(c[:, :, _col(100)] - c[:, :, _col(j)], axis=1))
    f["dq_curve"] = dq[:, ::10]  # ΔQ₁₀₀₋₁₀ at 100 of the 1000 voltages (the Attia et al. 2021 curve models)
    lk = np.log10(_TRAJ_CYCLES - 10.0)
    lv = np.stack([_log_abs(np.var(c[:, :, _col(k)] - c[:, :, _col(10)], axis=1)) for k in _TRAJ_CYCLES], axis=1)
    lm = np.stack([_log_abs(np.min(c[:, :, _col(k)] - c[:, :, _col(10)], axis=1)) for k in _TRAJ_CYCLES], axis=1)
    design = np.vstack([lk, np.ones_like(lk)]).T
    f["log_var_dq_slope"] = np.linalg.lstsq(design, lv.T, rcond=None)[0][0]
    f["log_min_dq_slope"] = np.linalg.lstsq(design, lm.T, rcond=None)[0][0]
    return f


def to_matrix(features: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    return np.column_stack([features[n] for n in names])
