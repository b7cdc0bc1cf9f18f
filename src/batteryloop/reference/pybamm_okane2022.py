"""Simulated whole lives (PyBaMM, O'Kane et al. 2022 degradation): the physics prior of the RUL interval.

Source: simulated here with PyBaMM 26.10.1.1 (V. Sulzer, S. G. Marquis, R. Timms, M. Robinson and
S. J. Chapman, "Python Battery Mathematical Modelling (PyBaMM)", J. Open Res. Softw. 9 (2021) 14;
https://pybamm.org) on its shipped ``OKane2022`` parameter set (S. E. J. O'Kane et al., "Lithium-ion
battery degradation: how to model it", Phys. Chem. Chem. Phys. 24 (2022) 7909–7922; LG M50,
NMC811/graphite-SiOx), by ``bench/health_rul_simulate.py`` (2026-12-05), which says how: PyBaMM's
electrode state-of-health model (``ElectrodeSOHSolver``) gives the capacity between 2.5 V and 4.2 V from
the electrode capacities and the cyclable lithium, and those age by degradation-mode rates after O'Kane
et al.'s mechanisms — SEI lithium loss ∝ √N (Arrhenius, the parameter set's 38 kJ/mol), stress-driven
loss of negative active material ∝ N × C-rate, positive ∝ N, and lithium plating once the negative
electrode is full at the top of charge (an assumed 20 kJ/mol). (The single particle model with O'Kane's
degradation submodels was tried first and gave no knee in 300 cycles: see the bench's docstring.) Each
life draws its rates, ambient temperature and charge C-rate from fixed ranges (seed and ranges in the
bench); the draws per life are in ``pybamm_okane2022_parameters.csv``. The cycle axis is not a
prediction of any real cell's life (the lives cross 80 % between cycles 260 and 2,425; three never do):
only the **shape** of the trajectories (when and how sharply they knee) and its spread mean something,
and the forecaster matches time scales anyway.

``pybamm_okane2022_soh.csv`` (columns ``sim``, ``cycle``, ``soh``): state of health — capacity over the
initial, solved every 20 cycles until 70 % or 3,000 cycles, interpolated linearly to every 5th cycle —
4 decimals; cycle 1 is the fresh cell. Given as ``prior=`` (:func:`batteryloop.health.rul.default_prior`),
:func:`batteryloop.health.rul.forecast_rul` uses these lives to **widen the interval**
(:func:`batteryloop.health.similarity.prior_interval`: the weighted quantiles of the crossings of the lives
matched to the history), never for the point forecast; since 2026-12-05 it does not by default (they
bought coverage with width: docs/health.md).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

import numpy as np

from ._core import Citation

CITATION = Citation(
    title="Simulated capacity lives: PyBaMM electrode SOH model, OKane2022 parameters, degradation modes after O'Kane et al. (2022)",
    publisher="PyBaMM 26.10.1.1 (Sulzer et al., J. Open Res. Softw. 2021); O'Kane et al., Phys. Chem. Chem. Phys. 24 (2022) 7909",
    date="2026-12-05 (simulated)",
    url="https://pybamm.org",
    note="state of health per cycle, pybamm_okane2022_soh.csv; drawn parameters in pybamm_okane2022_parameters.csv",
)

FILE = "pybamm_okane2022_soh.csv"
PARAMETERS_FILE = "pybamm_okane2022_parameters.csv"
PYBAMM_VERSION = "26.10.1.1"
SEED = 17


@lru_cache(maxsize=1)
def lives() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """simulated life -> (cycles, state of health as a fraction of initial capacity)."""
    rows: dict[str, list[tuple[float, float]]] = {}
    with resources.files(__package__).joinpath(FILE).open() as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["sim"], []).append((float(r["cycle"]), float(r["soh"])))
    return {c: (np.array([k for k, _ in v]), np.array([s for _, s in v])) for c, v in rows.items()}


@lru_cache(maxsize=1)
def parameters() -> dict[str, dict[str, str]]:
    """simulated life -> the parameters it was drawn with (multipliers of the OKane2022 values, °C, C-rate)."""
    with resources.files(__package__).joinpath(PARAMETERS_FILE).open() as f:
        return {r["sim"]: r for r in csv.DictReader(f)}
