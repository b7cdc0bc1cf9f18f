"""Pack capacity fade for the pilot simulator: cycle fade (power law in full equivalent cycles) plus
calendar fade (square root of time, Arrhenius in temperature), calibrated on real data.

    loss = k · e · (1 + f · fast_share) · FEC^z  +  b_chem · A(T) · sqrt(years)
    SoH  = 100 · (1 − loss)  (+ the gain of a remanufacture)

``z`` is fitted to the CALCE CS2_36 cell's whole life and ``e`` is a pack's log-normal fade factor with
the spread of cycle life in Severson et al. 2019 (:func:`calibrate` redoes both fits from
``../shared/data``; the reference set :mod:`batteryloop.reference.first_life_fade` holds the values).
``k`` is set per battery model from its passport: the cycle loss reaches the declared capacity
threshold at the declared cycle life.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..circular.second_life import GAS_CONSTANT_J_PER_MOL_K, chemistry_family
from ..reference import References, Tracker

__all__ = ["FadeModel", "calibrate", "chemistry_family", "default_model"]  # chemistry_family: the second-life model's


@dataclass(frozen=True)
class FadeModel:
    z: float
    sigma_log_k: float
    calendar_b: dict[str, float]
    activation_energy_j_per_mol: float
    fast_charge_factor: float
    resistance_pct_per_pct_loss: float

    @classmethod
    def from_references(cls, tracker: Tracker) -> FadeModel:
        z = float(tracker.get("first_life_fade", "cycle_fade_exponent"))
        sigma = float(tracker.get("first_life_fade", "sigma_log_cycle_life"))
        return cls(
            z=z,
            # cycle life N ∝ k^(-1/z): a spread sigma in log N is a spread z·sigma in log k
            sigma_log_k=z * sigma,
            calendar_b={k: float(v) for k, v in tracker.table(
                "first_life_fade", "calendar_fade_per_sqrt_year_fraction_at_25c").items()},
            activation_energy_j_per_mol=float(tracker.get("first_life_fade", "calendar_activation_energy_j_per_mol")),
            fast_charge_factor=float(tracker.get("first_life_fade", "fast_charge_fade_factor_per_share")),
            resistance_pct_per_pct_loss=float(tracker.get("first_life_fade", "resistance_increase_pct_per_pct_capacity_loss")),
        )

    def cycle_k(self, declared_cycles: float, threshold_pct: float) -> float:
        """k such that the cycle loss alone reaches ``100 - threshold_pct`` % at ``declared_cycles``."""
        if declared_cycles <= 0 or not 0 < threshold_pct < 100:
            raise ValueError("declared cycle life must be > 0 and the capacity threshold within (0, 100) %")
        return (1 - threshold_pct / 100) / declared_cycles ** self.z

    def arrhenius(self, temperature_c: float | np.ndarray) -> Any:
        t = np.asarray(temperature_c, dtype=float) + 273.15
        return np.exp(-self.activation_energy_j_per_mol / GAS_CONSTANT_J_PER_MOL_K * (1 / t - 1 / 298.15))

    def soh_pct(self, fec: np.ndarray, years: np.ndarray, k_eff: np.ndarray, cal_eff: np.ndarray) -> np.ndarray:
        """State of health (%) from cumulative cycles and age; ``k_eff`` = k·e·(1+f·fast), ``cal_eff`` = b·A(T)."""
        loss = k_eff * np.power(np.maximum(fec, 0.0), self.z) + cal_eff * np.sqrt(np.maximum(years, 0.0))
        return 100.0 * (1.0 - loss)


def calibrate(data_dir: str | Path) -> dict[str, Any]:
    """Fit the cycle-fade exponent to CALCE CS2_36 and the cycle-life spread to Severson 2019.

    Returns ``{"cycle_fade_exponent", "fit_rmse_fraction", "cycles_fitted", "sigma_log_cycle_life",
    "cells"}``. Reads ``calce/CS2_36/*.xlsx`` with the health package's cycler readers.
    """
    from scipy.optimize import curve_fit

    from ..health.readers import read_cell
    from ..health.summary import cycle_summary, full_cycles

    d = Path(data_dir)
    files = sorted((d / "calce" / "CS2_36").glob("*.xlsx"))
    if not files:
        raise FileNotFoundError(f"no CALCE CS2_36 files under {d / 'calce' / 'CS2_36'}")
    cell = read_cell(files, sort_by_time=True)
    q = full_cycles(cycle_summary(cell, 1.1), reference_ah=1.1)["discharge_capacity_ah"].to_numpy()
    q0 = float(np.median(q[:5]))
    loss = 1 - q / q0
    end = int(np.argmax(loss > 0.30)) or len(loss)  # fit down to 70 % capacity
    n = np.arange(1, len(q) + 1, dtype=float)[5:end]
    y = loss[5:end]
    (k, z), _ = curve_fit(lambda x, k, z: k * x ** z, n, y, p0=(1e-3, 1.0), maxfev=20_000)
    rmse = float(np.sqrt(np.mean((k * n ** z - y) ** 2)))
    lives = []
    for name in ("train", "test1"):
        f = d / "severson2019" / "cycle_lives" / f"{name}_cycle_lives.csv"
        lives += [float(x) for x in f.read_text().split()]
    if len(lives) < 10:
        raise ValueError(f"too few Severson cycle lives under {d / 'severson2019' / 'cycle_lives'}")
    logs = np.log(np.array(lives))
    return {"cycle_fade_exponent": float(z), "fit_rmse_fraction": rmse, "cycles_fitted": int(len(n)),
            "sigma_log_cycle_life": float(np.std(logs, ddof=1)), "cells": len(lives),
            "median_cycle_life": float(math.exp(float(np.median(logs))))}


def default_model(references: References | None = None) -> tuple[FadeModel, Tracker]:
    t = (references or References.default()).tracker()
    return FadeModel.from_references(t), t
