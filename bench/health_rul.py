"""The RUL back-test: every CALCE CS2 life in ../shared, forecast from 25, 50 and 75 % of its life by
the population (similarity) forecaster with that cell left out of its population, beside the curve fits
it replaced. Prints the table docs/health.md quotes.

    .venv/bin/python bench/health_rul.py                    # the back-test
    .venv/bin/python bench/health_rul.py --write-reference  # (re)derive reference/calce_cs2_soh.csv

Only the CALCE CS2 family has whole lives here: the Severson files hold cycles 2-100 only, so they
cannot be back-tested for remaining life. The CS2_35 cell is kept by others as a referee and is not used.
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
from batteryloop.health.similarity import backtest, normalise
from batteryloop.reference import calce_cs2

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


def summary(rows: list[dict], label: str) -> None:
    print(f"{label}:")
    print(f"  {'from':>5} {'median |error| %':>17} {'coverage':>9}")
    for f in FRACTIONS:
        sel = [r for r in rows if r["fraction"] == f]
        errs = [r["abs_pct_error"] for r in sel if r["abs_pct_error"] is not None]
        med = statistics.median(errs) if errs else float("nan")
        cov = sum(1 for r in sel if r["covered"])
        print(f"  {f:5.0%} {med:17.1f} {cov:>5}/{len(sel)}")
    errs = [r["abs_pct_error"] for r in rows if r["abs_pct_error"] is not None]
    print(f"  {'all':>5} {statistics.median(errs):17.1f} {sum(1 for r in rows if r['covered']):>5}/{len(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-reference", action="store_true", help="derive the reference population file")
    args = parser.parse_args()
    t0 = time.perf_counter()
    lives = load()
    print(f"read {len(lives)} CALCE CS2 lives in {time.perf_counter() - t0:.1f} s")
    if args.write_reference:
        print(f"wrote {write_reference(lives)}")
        return
    t1 = time.perf_counter()
    rows = backtest(lives, FRACTIONS)
    t2 = time.perf_counter()
    print(f"{'cell':7} {'from':>5} {'upto':>5} {'true EOL':>8} {'forecast':>8} {'90% interval':>14} {'error':>7} {'covered':>7}")
    for r in rows:
        pred = "—" if r["predicted_eol_cycle"] is None else f"{r['predicted_eol_cycle']:.0f}"
        iv = "—" if r["lower"] is None else f"{r['lower']:.0f}–{r['upper']:.0f}"
        err = "—" if r["error_cycles"] is None else f"{r['error_cycles'] / r['true_eol_cycle'] * 100:+.1f}%"
        print(f"{r['cell']:7} {r['fraction']:5.0%} {r['upto_cycle']:5d} {r['true_eol_cycle']:8.0f} {pred:>8} {iv:>14} {err:>7} {str(r['covered']):>7}")
    summary(rows, f"population (similarity) forecaster, leave one cell out ({(t2 - t1) / len(rows):.2f} s per forecast)")
    old = []
    for cell, (k, q) in lives.items():
        for r in curve_backtest(k, q, FRACTIONS):
            old.append(r | {"cell": cell})
    summary(old, "curve fits (double exponential + recent line), the previous forecaster")


if __name__ == "__main__":
    main()
