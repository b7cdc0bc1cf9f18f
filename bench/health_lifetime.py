"""Early cycle-life prediction on the Severson et al. (2019) data, validated by holding out whole groups
(a test batch, a charging-protocol family). Prints every figure docs/health.md quotes.

    nice -n 10 .venv/bin/python bench/health_lifetime.py

1. grouped validation of every candidate on train + test1 (84 cells), the published baselines (variance,
   discharge; Attia et al. 2021's curve models) and the opt-in calibration_* models on the same folds: per-group
   RMSE by batch, protocol family and early-behaviour third (all three selected on), the selection score;
2. the nested figure — the whole selection (the same procedure as `lifetime train`'s) redone without each
   left-out group — the estimate of how the shipped procedure does on a batch or protocol family it never saw,
   with a bootstrap over the left-out group's cells and the coverage of the interval calibrated without it;
3. the conformal interval of the final model (trained on all 84 cells): which calibration (the larger of the
   leave-one-batch-out and left-out-family factors where the cells hold two batches), its factors, its width,
   its coverage on left-out families (out of sample for a family shift) and on the two batch folds (in-sample:
   they set the batch factor; with two batches the unseen-batch coverage cannot be measured out of sample);
4. the procedure run on train/ only and scored on test1/ (test1 is a development set: it has been looked
   at while the candidates were chosen), beside the random-K-fold selection it replaced.

The RUL back-test is bench/health_rul.py. The secondary test set (test2) is not in our data.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from batteryloop.health.lifetime import evaluate, load_curve_set, train
from batteryloop.health.lifetime.groups import combine, groups_for
from batteryloop.health.lifetime.features import feature_matrix
from batteryloop.health.lifetime.model import (
    ATTIA_BASELINES,
    CALIBRATION_CANDIDATES,
    GROUPED_CANDIDATES,
    grouped_score,
    grouped_scores,
    nested_grouped,
    rmse,
)
from batteryloop.reference.severson_2019 import PUBLISHED

SHARED = Path(os.environ.get("BATTERYLOOP_SHARED", Path(__file__).resolve().parents[2] / "shared"))
BASELINES = ("severson_variance", "severson_discharge_ridge_a1")


def main() -> None:
    sev = SHARED / "data" / "severson2019"
    t0 = time.perf_counter()
    tr = load_curve_set(sev / "train", require_lives=True)
    te = load_curve_set(sev / "test1", require_lives=True)
    cells = combine(tr, te)
    groups = groups_for(cells)
    t1 = time.perf_counter()
    print(f"cells: {len(cells.names)} (train {len(tr.names)} + test1 {len(te.names)}); batches "
          + ", ".join(f"{b} ({n})" for b, n in zip(*np.unique(groups.batch, return_counts=True)))
          + "; protocol families " + ", ".join(f"{b} ({n})" for b, n in zip(*np.unique(groups.family, return_counts=True))))
    model = train(cells, groups=groups)
    t2 = time.perf_counter()
    print(f"time: load {t1 - t0:.1f} s, grouped selection + fit {t2 - t1:.1f} s")
    print("\n1. grouped validation on all 84 cells (RMSE in cycles of each left-out group; score = mean of the batch, family and "
          "early-third means)")
    print(f"  {'candidate':34s} {'score':>6s}  {'family: ' + ', '.join(np.unique(groups.family)):>36s}"
          f"  {'early thirds: 1, 2, 3':>22s}  {'batch: 5/12/17, 6/30/17 (mean)':>31s}")

    def row(name: str, score: float, g: dict, tag: str) -> None:
        batch = " ".join(f"{v:6.0f}" for v in g["batch"]) + f" ({np.mean(g['batch']):.0f})"
        print(f"  {name:34s} {score:6.1f}  {' '.join(f'{v:6.0f}' for v in g['family']):>36s}  "
              f"{' '.join(f'{v:6.0f}' for v in g['early']):>22s}  {batch:>31s}{tag}")

    for name, score in sorted(model.cv_rmse_cycles.items(), key=lambda kv: kv[1]):
        tag = "  <- selected" if name == model.candidate else ("  (published baseline)" if name in BASELINES else "")
        row(name, score, model.grouped_rmse_cycles[name], tag)
    feats = feature_matrix(cells.curves)
    for cands, tag in ((ATTIA_BASELINES, "  (Attia 2021 baseline, not selectable)"),
                       (CALIBRATION_CANDIDATES, "  (opt-in by name, transductive; not in the default selection)")):
        for c in cands:
            g = grouped_scores(c, feats, cells.cycle_lives, groups)
            row(c.name, grouped_score(g), g, tag)
    print("\n2. nested: the selection redone without each left-out group (the shipped procedure's generalisation figure)")
    t3 = time.perf_counter()
    nested = nested_grouped(cells, groups)
    rng = np.random.default_rng(0)
    for sch, rows in nested.items():
        vals = [r["rmse_cycles"] for r in rows]
        print(f"  leave one {sch} out: mean {np.mean(vals):.1f}, spread {min(vals):.0f}-{max(vals):.0f} cycles")
        for r in rows:
            err = np.asarray(r["errors_cycles"])
            boot = [rmse(rng.choice(err, err.size), 0.0) for _ in range(2000)]  # cells resampled (seed 0)
            print(f"    {r['group']:>8s} ({r['cells']:2d} cells): {r['rmse_cycles']:6.1f} (bootstrap 90 %: "
                  f"{np.percentile(boot, 5):.0f}-{np.percentile(boot, 95):.0f})  chosen without it: {r['candidate']}; "
                  f"90 % interval (x/÷ {r['interval_factor']:.3f}, calibration {r['interval_calibration']}) covers "
                  f"{r['interval_covered']}/{r['cells']}")
        cov = sum(r["interval_covered"] for r in rows) / sum(r["cells"] for r in rows)
        print(f"    interval coverage over the left-out groups ({sch}): {cov:.1%}")
    print(f"  ({time.perf_counter() - t3:.1f} s)")
    print(f"\n3. final model: {model.candidate}, trained on all {len(model.trained_on)} cells ({model.validation})")
    g = model.grouped_rmse_cycles[model.candidate]
    print(f"  its own leave-one-batch-out (the candidate fixed, refitted on one batch, scored on the other; a development "
          f"figure — the candidate list was shaped by these folds): {g['batch'][0]:.1f}, {g['batch'][1]:.1f} "
          f"(mean {np.mean(g['batch']):.1f})")
    f = 10 ** model.interval_log10
    pred_all = model.predict(cells)
    print(f"  90 % conformal interval: predicted life ×/÷ {f:.3f}, interval_calibration {model.interval_calibration} "
          f"(factors: " + ", ".join(f"{k} {v:.3f}" for k, v in model.interval_factors.items()) + ")")
    print(f"    width: upper/lower {f * f:.3f} for every cell; in cycles, median over the 84 cells "
          f"{np.median(pred_all * (f - 1 / f)):.0f} (range {np.min(pred_all * (f - 1 / f)):.0f}-"
          f"{np.max(pred_all * (f - 1 / f)):.0f}); as a share of the true life, median "
          f"{np.median(pred_all * (f - 1 / f) / cells.cycle_lives):.0%}")
    print(f"    coverage on left-out protocol families (each family's factor computed without its residuals; out of sample "
          f"for a family shift): {model.interval_coverage_grouped:.1%}")
    if model.interval_coverage_batches_in_sample is not None:
        print("    coverage on the batch folds (IN-SAMPLE: these residuals set the batch factor): " + ", ".join(
            f"{b} {v:.1%}" for b, v in model.interval_coverage_batches_in_sample.items()))
    print(f"    note: {model.interval_note}")
    print(f"  in-sample RMSE on the 84 cells it was fitted on: {model.train_rmse_cycles:.1f} cycles (not a test figure)")
    print("\n4. the procedure on train/ only, scored on test1/ (a development set)")
    m_tr = train(tr, groups=groups_for(tr))
    r_tr = evaluate(m_tr, te)
    print(f"  grouped selection -> {m_tr.candidate}: test1 RMSE {r_tr['rmse_cycles']:.1f} cycles ({r_tr['mean_pct_error']:.1f} %)")
    m_rand = train(tr)
    r_rand = evaluate(m_rand, te)
    print(f"  random 5-fold x3 selection (before) -> {m_rand.candidate}: test1 RMSE {r_rand['rmse_cycles']:.1f} cycles")
    for name in BASELINES:
        c = next(c for c in GROUPED_CANDIDATES if c.name == name)
        m = train(tr, (c,), groups=groups_for(tr))
        print(f"  {name}: test1 RMSE {evaluate(m, te)['rmse_cycles']:.1f} cycles")
    print("\npublished (REFERENCE.md §6, train/test1/test2): " + "; ".join(
        f"{p.source} {p.model} {p.train_rmse_cycles:.0f}/{p.test1_rmse_cycles:.0f}/{p.test2_rmse_cycles:.0f}" for p in PUBLISHED))


if __name__ == "__main__":
    main()
