"""Simulate a family of whole capacity lives with PyBaMM, the physics prior of the RUL forecaster's interval.

    python3 -m venv /tmp/pybammenv && /tmp/pybammenv/bin/pip install pybamm==26.10.1.1
    PYBAMM_DISABLE_TELEMETRY=true nice -n 10 /tmp/pybammenv/bin/python bench/health_rul_simulate.py

PyBaMM is not a dependency of batteryloop (it is big and only this offline step needs it): it runs in its
own virtual environment, and the runtime reads the stored result,
``src/batteryloop/reference/pybamm_okane2022_soh.csv`` (columns ``sim, cycle, soh``) with the drawn
parameters in ``pybamm_okane2022_parameters.csv`` (see :mod:`batteryloop.reference.pybamm_okane2022`).
Nothing is downloaded: the ``OKane2022`` parameter set ships with PyBaMM.

**Model: degradation modes through PyBaMM's electrode state-of-health (eSOH) model.** The usable
capacity of a cell between 2.5 V and 4.2 V follows from three quantities — negative and positive
electrode capacities ``Q_n``, ``Q_p`` and the cyclable lithium ``Q_Li`` — and the electrodes' open-circuit
potentials; PyBaMM's ``ElectrodeSOHSolver`` solves for the stoichiometry windows and the capacity (on the
``OKane2022`` parameters: LG M50, NMC811 / graphite-SiOx, O'Kane et al. 2022). Each life ages these three
by the mechanisms of O'Kane et al.'s coupled model, as degradation-mode rates (Dubarry and Anseán 2022):

* loss of lithium inventory to SEI growth limited by solvent diffusion, ∝ √N, Arrhenius in temperature
  with the parameter set's SEI growth activation energy (38 kJ/mol);
* loss of active material, negative electrode ∝ N × charge C-rate (stress-driven), positive ∝ N;
* lithium plating once the negative electrode is full at the top of charge (x₁₀₀ ≥ 0.99: the
  electrode-limited regime LAM_NE drives the cell into): extra lithium loss per cycle ∝ C-rate, faster
  when colder (an assumed 20 kJ/mol).

The capacity stays nearly flat while the lithium inventory limits it and the negative electrode has
headroom, and bends down once LAM_NE has used that headroom — one of the knee pathways of Attia et al.,
"Knees in lithium-ion battery aging trajectories", J. Electrochem. Soc. 169 (2022) 060517. Each life
draws its rates, ambient temperature and charge C-rate with ``numpy.random.default_rng(SEED)`` from
:data:`RANGES` (fixed before any back-test was run with the result), is solved every :data:`STEP` cycles
until 70 % of its initial capacity or :data:`MAX_CYCLES`, and is interpolated linearly to every
:data:`STORE_EVERY`-th cycle. State of health is capacity over the initial; the cycle axis is not a
prediction of any real cell's life (the forecaster matches time scales): the shapes and their spread are.

The full electrochemical route — the single particle model with O'Kane's degradation submodels, cycled —
was tried first (SPM, ``OKane2022``, SEI + SEI on cracks + partially reversible or irreversible plating +
stress-driven LAM, rates × 1–1000): in up to 300 cycles it gave straight or decelerating fade, or stopped
with "Maximum voltage" events; the knee of O'Kane et al. needs the DFN with pore clogging, which is too
slow for this machine. The eSOH route keeps PyBaMM's thermodynamics and states the ageing rates openly.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SEED = 17
LIVES = 24
STEP = 20
STORE_EVERY = 5
MAX_CYCLES = 3000
#: name -> (low, high, log-uniform?)
RANGES = {
    "sei_lli_per_sqrt_cycle": (0.0015, 0.006, True),  # LLI fraction × √N at 25 °C: 3.4–13 % after 500 cycles
    "negative_lam_per_cycle_per_c": (5e-5, 4e-4, True),
    "positive_lam_per_cycle": (1e-5, 1e-4, True),
    "plating_lli_per_cycle_per_c": (1e-4, 2e-3, True),
    "ambient_temperature_c": (15.0, 45.0, False),
    "charge_c_rate": (0.5, 2.0, False),
}
SEI_ACTIVATION_J_PER_MOL = 38000.0  # OKane2022 "SEI growth activation energy [J.mol-1]"
PLATING_ACTIVATION_J_PER_MOL = 20000.0  # assumed: plating faster when colder
PLATING_ONSET_X100 = 0.99
R_J_PER_MOL_K = 8.314462618
OUT = ROOT / "src" / "batteryloop" / "reference"
SOH_FILE = OUT / "pybamm_okane2022_soh.csv"
PARAMETERS_FILE = OUT / "pybamm_okane2022_parameters.csv"


def draw(n: int, seed: int = SEED) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        d = {}
        for name, (lo, hi, log) in RANGES.items():
            u = rng.uniform()
            d[name] = float(np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))) if log else float(lo + u * (hi - lo))
        out.append(d)
    return out


def _solver():  # type: ignore[no-untyped-def]
    import pybamm

    p = pybamm.ParameterValues("OKane2022")
    param = pybamm.LithiumIonParameters()
    q0 = {"Q_n": p.evaluate(param.n.Q_init), "Q_p": p.evaluate(param.p.Q_init), "Q_Li": p.evaluate(param.Q_Li_particles_init)}
    return pybamm.lithium_ion.ElectrodeSOHSolver(p, param), q0


def simulate(d: dict[str, float], solver, q0: dict[str, float], max_cycles: int = MAX_CYCLES) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(cycles, capacity Ah) of one life, every STEP cycles until 70 % of the initial capacity."""
    t_k = 273.15 + d["ambient_temperature_c"]
    sei_rate = d["sei_lli_per_sqrt_cycle"] * np.exp(-SEI_ACTIVATION_J_PER_MOL / R_J_PER_MOL_K * (1 / t_k - 1 / 298.15))
    plating_rate = d["plating_lli_per_cycle_per_c"] * d["charge_c_rate"] * np.exp(
        PLATING_ACTIVATION_J_PER_MOL / R_J_PER_MOL_K * (1 / t_k - 1 / 298.15))
    plated = 0.0
    ks, qs = [], []
    for n in range(0, max_cycles + 1, STEP):
        lam_n = d["negative_lam_per_cycle_per_c"] * d["charge_c_rate"] * n
        lam_p = d["positive_lam_per_cycle"] * n
        lli = sei_rate * np.sqrt(n) + plated
        s = solver.solve({"Q_n": q0["Q_n"] * (1 - lam_n), "Q_p": q0["Q_p"] * (1 - lam_p), "Q_Li": q0["Q_Li"] * (1 - lli),
                          "V_min": 2.5, "V_max": 4.2})
        ks.append(n)
        qs.append(float(s["Capacity [A.h]"]))
        if qs[-1] < 0.7 * qs[0]:
            break
        if float(s["x_100"]) >= PLATING_ONSET_X100:
            plated += plating_rate * STEP
    return np.array(ks, float), np.array(qs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lives", type=int, default=LIVES)
    parser.add_argument("--max-cycles", type=int, default=MAX_CYCLES)
    args = parser.parse_args()
    import pybamm

    solver, q0 = _solver()
    rows, params = [], []
    for i, d in enumerate(draw(args.lives)):
        name = f"sim{i:02d}"
        t0 = time.perf_counter()
        k, q = simulate(d, solver, q0, args.max_cycles)
        kk = np.arange(0, k[-1] + 1, STORE_EVERY, dtype=float)
        s = np.interp(kk, k, q) / q[0]
        below = np.flatnonzero(s < 0.8)
        eol = int(kk[below[0]]) if below.size else ""
        rows += [(name, int(a) + 1, f"{b:.4f}") for a, b in zip(kk, s)]  # cycle 1 is the fresh cell
        params.append({"sim": name, **{key: f"{v:.4g}" for key, v in d.items()}, "cycles": int(k[-1]), "eol80_cycle": eol})
        print(f"{name}: {int(k[-1])} cycles, 80 % at {eol or 'not reached'}, {time.perf_counter() - t0:.0f} s; "
              + ", ".join(f"{key} {v:.3g}" for key, v in d.items()), flush=True)
    with SOH_FILE.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sim", "cycle", "soh"])
        w.writerows(rows)
    with PARAMETERS_FILE.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(params[0]))
        w.writeheader()
        w.writerows(params)
    print(f"wrote {SOH_FILE} and {PARAMETERS_FILE} (PyBaMM {pybamm.__version__}, seed {SEED})")


if __name__ == "__main__":
    main()
