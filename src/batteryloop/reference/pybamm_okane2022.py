"""Simulated whole lives (PyBaMM, O'Kane et al. 2022 degradation): the physics prior of the RUL interval.

Source: simulated here with PyBaMM 26.10.1.1 (V. Sulzer, S. G. Marquis, R. Timms, M. Robinson and
S. J. Chapman, "Python Battery Mathematical Modelling (PyBaMM)", J. Open Res. Softw. 9 (2021) 14;
https://pybamm.org) using its shipped ``OKane2022`` parameter set and coupled degradation submodels of
S. E. J. O'Kane et al., "Lithium-ion battery degradation: how to model it", Phys. Chem. Chem. Phys. 24
(2022) 7909–7922 (LG M50 NMC811/graphite-SiOx): SEI growth limited by solvent diffusion, SEI on
cracks, partially reversible lithium plating, particle cracking and stress-driven loss of active
material, in the single particle model. Each life draws its degradation rates, ambient temperature and
charge C-rate from fixed ranges (seed and ranges in ``bench/health_rul_simulate.py``, which wrote these
files on 2026-12-05; the draws per life are in ``pybamm_okane2022_parameters.csv``). The rates are sped
up so that a life takes a few hundred cycles: the cycle axis is not a prediction of any real cell's
life, only the **shape** of the trajectories (when and how sharply they knee) and its spread mean
something, and the forecaster matches time scales anyway.

``pybamm_okane2022_soh.csv`` (columns ``sim``, ``cycle``, ``soh``): state of health — discharge
capacity, 9-cycle rolling median, over the median of the first five smoothed cycles — per cycle,
4 decimals. :func:`batteryloop.health.rul.forecast_rul` uses these lives to **calibrate the interval**
(their leave-one-out forecast errors join those of the real population), never for the point forecast.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

import numpy as np

from ._core import Citation

CITATION = Citation(
    title="Simulated capacity lives: PyBaMM SPM with O'Kane et al. (2022) coupled degradation, OKane2022 parameters",
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
