"""Early cycle-life prediction on the Severson et al. (2019) data (train/ → test1/), and the RUL
backtest on the CALCE CS2_36 cell. Prints every figure docs/health.md quotes.

    .venv/bin/python bench/health_lifetime.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from batteryloop.health.lifetime import evaluate, load_curve_set, train
from batteryloop.health.lifetime.model import CANDIDATES, VARIANCE
from batteryloop.health.readers import read_cell
from batteryloop.reference.severson_2019 import PUBLISHED
from batteryloop.health.rul import backtest, capacity_history

SHARED = Path(os.environ.get("BATTERYLOOP_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def main() -> None:
    sev = SHARED / "data" / "severson2019"
    t0 = time.perf_counter()
    tr = load_curve_set(sev / "train", require_lives=True)
    te = load_curve_set(sev / "test1", require_lives=True)
    t1 = time.perf_counter()
    model = train(tr)
    t2 = time.perf_counter()
    res = evaluate(model, te)
    t3 = time.perf_counter()
    print(f"cells: train {len(tr.names)}, test1 {len(te.names)}")
    print(f"time: load {t1 - t0:.2f} s, features+CV selection+fit {t2 - t1:.2f} s, predict test1 {t3 - t2:.3f} s")
    print("cross-validation on train (5-fold x3, RMSE cycles):")
    for name, score in sorted(model.cv_rmse_cycles.items(), key=lambda kv: kv[1]):
        print(f"  {name:32s} {score:7.1f}{'  <- selected' if name == model.candidate else ''}")
    base = train(tr, (VARIANCE,), repeats=1)
    bres = evaluate(base, te)
    print(f"{'model':34s} {'train RMSE':>10s} {'train %':>8s} {'test1 RMSE':>10s} {'test1 %':>8s}")
    print(f"{'severson_variance (ours)':34s} {base.train_rmse_cycles:10.1f} {base.train_mean_pct_error:8.1f} {bres['rmse_cycles']:10.1f} {bres['mean_pct_error']:8.1f}")
    print(f"{model.candidate + ' (selected)':34s} {model.train_rmse_cycles:10.1f} {model.train_mean_pct_error:8.1f} {res['rmse_cycles']:10.1f} {res['mean_pct_error']:8.1f}")
    print("all candidates refitted on train (for information; selection used CV only):")
    for c in CANDIDATES:
        m = train(tr, (c,), repeats=1)
        r = evaluate(m, te)
        print(f"  {c.name:32s} train {m.train_rmse_cycles:6.1f}  test1 {r['rmse_cycles']:6.1f} ({r['mean_pct_error']:.1f} %)")
    print("published (REFERENCE.md §6): " + "; ".join(f"{p.source} {p.model} {p.train_rmse_cycles:.0f}/{p.test1_rmse_cycles:.0f}" for p in PUBLISHED))

    files = sorted((SHARED / "data" / "calce" / "CS2_36").glob("*.xlsx"))
    cell = read_cell(files, sort_by_time=True)
    k, q = capacity_history(cell)
    t = time.perf_counter()
    rows = backtest(k, q)
    print(f"CALCE CS2_36 RUL backtest (threshold 80 % of initial; {time.perf_counter() - t:.2f} s):")
    for r in rows:
        print(
            f"  history to {r['fraction']:.0%} (cycle {r['upto_cycle']}): predicted EOL {r['predicted_eol_cycle']:.0f} "
            f"[{r['lower']:.0f}, {r['upper']:.0f}] true {r['true_eol_cycle']:.0f} error {r['error_cycles']:+.0f} "
            f"({r['abs_pct_error']:.0f} %) covered={r['covered']}"
        )
    cov = sum(bool(r["covered"]) for r in rows)
    print(f"  interval coverage {cov}/{len(rows)}")


if __name__ == "__main__":
    main()
