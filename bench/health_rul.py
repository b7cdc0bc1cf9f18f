"""The RUL back-test, per cell family and start fraction, every forecast on a cell left out of what
calibrated it. Prints the tables docs/health.md quotes.

    .venv/bin/python bench/health_rul.py                    # the back-test
    .venv/bin/python bench/health_rul.py --write-reference  # (re)derive reference/calce_cs2_soh.csv

1. CALCE CS2 (CS2_36/37/38 in ../shared): each life forecast from 25, 50 and 75 % of its life by the
   population (similarity) forecaster with the cell left out of its population — its interval calibrated
   within the population and floored by the sister-cell spread of life (the default), and with the
   simulated lives of reference/pybamm_okane2022 as a prior (the default before) — beside the curve fits
   the forecaster replaced. CS2_35 is kept by others as a referee and is not used.
2. The simulated family (PyBaMM eSOH lives, bench/health_rul_simulate.py): each life forecast the same way
   from the other simulated lives (--skip-simulated leaves this out: minutes on a loaded machine).
3. Severson et al. 2019 (LFP, ../shared/data/severson2019): the files hold cycles 2-100 only, so no
   whole lives and no 25/50/75 % back-test. What can be measured: the end of life forecast from cycle 100
   (which is 5-68 % of these cells' lives) by the early-life model trained on the other batch (leave one
   batch out, the model's own grouped selection and conformal interval), binned by that start fraction. Trained
   on one batch, the interval is calibrated on left-out families only (no batch folds): it does not cover the
   batch shift these forecasts face, which is what the coverage here shows.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from pathlib import Path

import numpy as np

from batteryloop.health.readers import read_cell
from batteryloop.health.rul import backtest as curve_backtest
from batteryloop.health.rul import capacity_history
from batteryloop.health.rul import default_prior
from batteryloop.health.similarity import SISTER_DF, SISTER_LOG_SD, backtest, coverage, normalise, sister_half_width
from batteryloop.reference import calce_cs2, pybamm_okane2022

SHARED = Path(os.environ.get("BATTERYLOOP_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FRACTIONS = (0.25, 0.5, 0.75)


def load() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    lives = {}
    for cell in calce_cs2.CELLS:
        files = sorted((SHARED / "data" / "calce" / cell).glob("*.xlsx"))
        lives[cell] = capacity_history(read_cell(files, sort_by_time=True))
    return lives


def write_reference(lives: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    path = Path(calce_cs2.__file__).with_name(calce_cs2.FILE)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["cell", "cycle", "soh"])
        for cell, (k, q) in lives.items():
            kk, s, _ = normalise(k, q)
            for a, b in zip(kk, s):
                w.writerow([cell, int(a), f"{b:.4f}"])
    return path


def summary(rows: list[dict], label: str, fractions: tuple[object, ...] = FRACTIONS) -> None:
    print(f"{label}:")
    print(f"  {'from':>7} {'median |error| %':>17} {'coverage':>9} {'median width, % of life':>24}")
    for f in fractions:
        sel = [r for r in rows if r["fraction"] == f]
        if not sel:
            continue
        errs = [r["abs_pct_error"] for r in sel if r["abs_pct_error"] is not None]
        med = statistics.median(errs) if errs else float("nan")
        hit, n = coverage(sel)
        name = f"{f:.0%}" if isinstance(f, float) else str(f)
        print(f"  {name:>7} {med:17.1f} {hit:>5}/{n:<3} {width(sel):>24.0f}")
    errs = [r["abs_pct_error"] for r in rows if r["abs_pct_error"] is not None]
    hit, n = coverage(rows)
    print(f"  {'all':>7} {statistics.median(errs):17.1f} {hit:>5}/{n:<3} {width(rows):>24.0f}   coverage {hit / n:.0%}")


def width(rows: list[dict]) -> float:
    """Median interval width as a share of the true life, %."""
    w = [(r["upper"] - r["lower"]) / r["true_eol_cycle"] * 100 for r in rows if r["lower"] is not None]
    return statistics.median(w) if w else float("nan")


def table(rows: list[dict]) -> None:
    print(f"{'cell':7} {'from':>5} {'upto':>5} {'true EOL':>8} {'forecast':>8} {'90% interval':>14} {'error':>7} {'covered':>7}")
    for r in rows:
        pred = "—" if r["predicted_eol_cycle"] is None else f"{r['predicted_eol_cycle']:.0f}"
        iv = "—" if r["lower"] is None else f"{r['lower']:.0f}–{r['upper']:.0f}"
        err = "—" if r["error_cycles"] is None else f"{r['error_cycles'] / r['true_eol_cycle'] * 100:+.1f}%"
        print(f"{r['cell']:7} {r['fraction']:5.0%} {r['upto_cycle']:5d} {r['true_eol_cycle']:8.0f} {pred:>8} {iv:>14} {err:>7} {str(r['covered']):>7}")


SEVERSON_BINS = ((0.0, 0.25, "<25%"), (0.25, 0.5, "25-50%"), (0.5, 1.0, ">=50%"))


def severson_rows() -> list[dict]:
    """End of life from cycle 100 for every Severson cell, by the lifetime model trained on the other batch."""
    from batteryloop.health.lifetime import load_curve_set, train
    from batteryloop.health.lifetime.data import CurveSet
    from batteryloop.health.lifetime.groups import combine, groups_for, leave_one_group_out

    sev = SHARED / "data" / "severson2019"
    cells = combine(load_curve_set(sev / "train", require_lives=True), load_curve_set(sev / "test1", require_lives=True))
    groups = groups_for(cells)
    rows = []
    for tr, te in leave_one_group_out(groups.batch):
        inner = CurveSet([cells.names[i] for i in tr], cells.curves[tr], cells.cycle_lives[tr], cells.source)
        held = CurveSet([cells.names[i] for i in te], cells.curves[te], cells.cycle_lives[te], cells.source)
        m = train(inner, groups=groups.subset(tr))
        pred, lo, hi = m.predict_interval(held)
        for name, p, a, b, eol in zip(held.names, pred, lo, hi, held.cycle_lives):
            stage = 100 / eol
            rows.append({"cell": name, "fraction": next(lab for x, y, lab in SEVERSON_BINS if x <= stage < y),
                         "upto_cycle": 100, "true_eol_cycle": float(eol), "predicted_eol_cycle": float(p),
                         "lower": float(a), "upper": float(b), "error_cycles": float(p - eol),
                         "abs_pct_error": float(abs(p - eol) / eol * 100), "covered": bool(a <= eol <= b),
                         "batch": str(groups.batch[te[0]]), "model": m.candidate,
                         "interval": f"{m.interval_calibration}, x/÷ {10 ** m.interval_log10:.3f}"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-reference", action="store_true", help="derive the reference population file")
    parser.add_argument("--skip-simulated", action="store_true", help="leave out the simulated family's back-test")
    args = parser.parse_args()
    t0 = time.perf_counter()
    lives = load()
    print(f"read {len(lives)} CALCE CS2 lives in {time.perf_counter() - t0:.1f} s")
    if args.write_reference:
        print(f"wrote {write_reference(lives)}")
        return
    prior = default_prior()
    t1 = time.perf_counter()
    rows = backtest(lives, FRACTIONS)
    t2 = time.perf_counter()
    print(f"\n1. CALCE CS2, leave one cell out; interval: population leave-one-out, at least the sister-cell "
          f"spread (ln-life SD {SISTER_LOG_SD}, {SISTER_DF} df: ×/÷ {np.exp(sister_half_width(2, 0.1)):.3f} from two references)")
    table(rows)
    summary(rows, f"population forecaster, sister-spread floor (the default; {(t2 - t1) / len(rows):.2f} s per forecast)")
    with_prior = backtest(lives, FRACTIONS, prior=prior)
    print(f"with {len(prior)} simulated lives as the interval's prior "
          f"(PyBaMM {pybamm_okane2022.PYBAMM_VERSION}, seed {pybamm_okane2022.SEED}):")
    table(with_prior)
    summary(with_prior, "population forecaster + sister floor + simulated prior (prior: the default before)")
    old = []
    for cell, (k, q) in lives.items():
        for r in curve_backtest(k, q, FRACTIONS):
            old.append(r | {"cell": cell})
    summary(old, "curve fits (double exponential + recent line), the forecaster before that")

    if not args.skip_simulated:
        t3 = time.perf_counter()
        sims = pybamm_okane2022.lives()
        sim_rows = backtest(sims, FRACTIONS)
        print(f"\n2. simulated family ({len(sims)} lives), each forecast from the others "
              f"({time.perf_counter() - t3:.0f} s)")
        summary(sim_rows, "population forecaster on the simulated lives")

    t4 = time.perf_counter()
    sev = severson_rows()
    print(f"\n3. Severson 2019, end of life from cycle 100 by the early-life model trained on the other batch "
          f"({time.perf_counter() - t4:.0f} s); 'from' = 100 / true life")
    for b in sorted({r["batch"] for r in sev}):
        first = sev[[r["batch"] for r in sev].index(b)]
        summary([r for r in sev if r["batch"] == b], f"batch {b} (model trained on the other: {first['model']}; "
                f"interval calibration {first['interval']} — one training batch, so no batch folds)",
                tuple(lab for *_, lab in SEVERSON_BINS))
    summary(sev, "both batches", tuple(lab for *_, lab in SEVERSON_BINS))

if __name__ == "__main__":
    main()
