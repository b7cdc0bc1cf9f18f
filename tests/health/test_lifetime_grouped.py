"""Lifetime model selection that holds out whole groups (test batch, charging-protocol family): the
splitter, the groups read from the data set's own cell table, the conformal interval, and the figures
against independent hand computations."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.health.errors import HealthError
from batteryloop.health.lifetime import evaluate, train
from batteryloop.health.lifetime.features import feature_matrix
from batteryloop.health.lifetime.data import CurveSet
from batteryloop.health.lifetime.groups import CellGroups, combine, groups_for, leave_one_group_out, protocol_family
from batteryloop.health.lifetime.model import (
    GROUPED_CANDIDATES,
    INTERVAL_BATCH_AND_FAMILY,
    INTERVAL_FAMILY,
    LifetimeModel,
    candidates_named,
    conformal_halfwidth,
    early_groups,
    grouped_interval_coverage,
    grouped_scores,
)


@pytest.mark.parametrize(("policy", "family"), [
    ("1C(4%)-6C", "<4C"), ("3.6C(80%)-3.6C", "<4C"), ("4C(80%)-4C", "4-5C"), ("4.9C(69%)-4.25C", "4-5C"),
    ("5C(67%)-4C", "5-5.5C"), ("5.4C(60%)-3.6C", "5-5.5C"), ("5.5C(25%)-4C", ">=5.5C"), ("8C(15%)-3.6C", ">=5.5C"),
])
def test_protocol_family_is_the_first_step_c_rate_band(policy: str, family: str) -> None:
    """Bands by the first step's C-rate, read off the policy's name: [0, 4), [4, 5), [5, 5.5), [5.5, ∞)."""
    assert protocol_family(policy) == family


def test_a_policy_without_a_c_rate_is_refused_by_name() -> None:
    with pytest.raises(HealthError, match="'fast'"):
        protocol_family("fast")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from("abcdefg"), min_size=2, max_size=60))
def test_leave_one_group_out_never_puts_a_group_on_both_sides(labels: list[str]) -> None:
    groups = np.array(labels)
    folds = leave_one_group_out(groups)
    assert len(folds) == len(set(labels))
    tested = np.concatenate([te for _, te in folds])
    assert sorted(tested.tolist()) == list(range(len(labels)))  # every cell tested exactly once
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te])
        assert len(set(groups[te])) == 1
        assert sorted(np.concatenate([tr, te]).tolist()) == list(range(len(labels)))


@pytest.fixture(scope="module")
def cells(severson_train, severson_test1):  # type: ignore[no-untyped-def]
    return combine(severson_train, severson_test1)


@pytest.fixture(scope="module")
def grouped_model(cells) -> LifetimeModel:  # type: ignore[no-untyped-def]
    """The grouped selection over every candidate on all 84 cells, trained once for this file."""
    return train(cells, groups=groups_for(cells))


def test_groups_come_from_the_cell_table(cells, severson_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """The table's Train rows are train/cell1.. in order, its Prim. Test rows test1/cell1..: 41 + 43 cells,
    of the batches 2017-05-12 and 2017-06-30 (20 + 21 train, 21 + 22 test1 by the table)."""
    g = groups_for(cells)
    assert len(g.batch) == 84
    rows = list(csv.DictReader((severson_dir / "cells_train_test1.csv").open()))
    test1_rows = [r for r in rows if r["Dataset"] == "Prim. Test"]
    i = cells.names.index("test1/cell5")
    assert (g.batch[i], g.protocol[i]) == (test1_rows[4]["Batch date"], test1_rows[4]["Charging policy"])
    assert dict(zip(*np.unique(g.batch, return_counts=True))) == {"5/12/17": 41, "6/30/17": 43}


def test_a_table_out_of_the_files_order_is_refused(cells, severson_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader((severson_dir / "cells_train_test1.csv").open()))
    i, j = [k for k, r in enumerate(rows) if r["Dataset"] == "Train"][:2]
    rows[i], rows[j] = rows[j], rows[i]  # the first two Train rows swapped: train/cell1 would get cell2's protocol
    bad = tmp_path / "cells.csv"
    with bad.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(HealthError, match="train/cell1 says cycle life .* not in the files' order"):
        groups_for(cells, bad)


def test_early_groups_are_thirds_by_log_variance() -> None:
    """Six cells with log var ΔQ 3, 1, 2, 6, 5, 4: ranks 2, 0, 1, 5, 4, 3; band 1 + rank·3 // 6: the two
    lowest early1, the middle two early2, the two highest early3 — no label needed."""
    feats = {"log_var_dq": np.array([3.0, 1.0, 2.0, 6.0, 5.0, 4.0])}
    assert early_groups(feats).tolist() == ["early2", "early1", "early1", "early3", "early3", "early2"]


def test_attia_variance_features_by_hand() -> None:
    """Q_k(V) = 1 + 1e-4·k·g(V) with g the voltage index over 1000: ΔQ₁₀₀₋ⱼ = 1e-4·(100 − j)·g, so
    log₁₀ var = log₁₀(1e-8·(100 − j)²·var g), var g = (1000² − 1)/12 / 1000² (a discrete uniform)."""
    g = np.arange(1000) / 1000.0
    k = np.arange(2, 101)
    curves = (1.0 + 1e-4 * k[None, None, :] * g[None, :, None]) * np.ones((2, 1, 1))
    f = feature_matrix(curves)
    var_g = (1000**2 - 1) / 12 / 1000**2
    for j in (20, 30, 40):
        assert f[f"log_var_dq_100_{j}"] == pytest.approx(np.log10(1e-8 * (100 - j) ** 2 * var_g), abs=1e-9)
    assert f["log_var_dq"] == pytest.approx(np.log10(1e-8 * 90**2 * var_g), abs=1e-9)
    assert f["dq_curve"].shape == (2, 100)


def test_conformal_halfwidth_by_hand() -> None:
    """n = 10 residuals 0.1..1.0: α = 0.1 → rank ⌈11·0.9⌉ = 10 → 1.0; α = 0.2 → rank ⌈8.8⌉ = 9 → 0.9;
    signs do not matter."""
    r = np.array([-0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0])
    assert conformal_halfwidth(r, 0.1) == 1.0
    assert conformal_halfwidth(r, 0.2) == 0.9
    with pytest.raises(HealthError, match="no residuals"):
        conformal_halfwidth(np.array([]))


def test_interval_coverage_is_calibrated_without_the_group() -> None:
    """Two groups; group a's errors are all 0.1, group b's all 1.0. Calibrated on b only, a is covered
    (0.1 ≤ 1.0); calibrated on a only, b is not (1.0 > 0.1): coverage 1/2."""
    pred = np.zeros(20)
    true = np.array([0.1] * 10 + [1.0] * 10)
    assert grouped_interval_coverage(pred, true, np.array(["a"] * 10 + ["b"] * 10)) == 0.5


def test_grouped_figures_against_a_hand_fit(cells, grouped_model: LifetimeModel) -> None:  # type: ignore[no-untyped-def]
    """The variance baseline's leave-one-batch-out RMSEs recomputed with numpy's own least squares
    (log₁₀ life = a + b·log₁₀ var ΔQ₁₀₀₋₁₀ on one batch, RMSE in cycles on the other), and the
    selection: the lowest mean of the batch, family and early-third schemes' mean RMSEs (every grouping with two
    groups or more among the cells), below both published baselines' on the same folds."""
    g = groups_for(cells)
    model = grouped_model
    x = feature_matrix(cells.curves)["log_var_dq"]
    y = np.log10(cells.cycle_lives)
    by_hand = []
    for b in ("5/12/17", "6/30/17"):
        held = g.batch == b
        slope, icpt = np.polyfit(x[~held], y[~held], 1)
        by_hand.append(float(np.sqrt(np.mean((10 ** (icpt + slope * x[held]) - cells.cycle_lives[held]) ** 2))))
    assert model.grouped_rmse_cycles["severson_variance"]["batch"] == pytest.approx(by_hand, rel=1e-9)
    assert all(set(v) == {"batch", "family", "early"} for v in model.grouped_rmse_cycles.values())
    score = {n: (np.mean(v["family"]) + np.mean(v["early"]) + np.mean(v["batch"])) / 3
             for n, v in model.grouped_rmse_cycles.items()}
    assert model.candidate == min(score, key=score.__getitem__)
    assert model.cv_rmse_cycles[model.candidate] == pytest.approx(score[model.candidate])
    without_batch = {n: (np.mean(v["family"]) + np.mean(v["early"])) / 2 for n, v in model.grouped_rmse_cycles.items()}
    assert min(without_batch, key=without_batch.__getitem__) != model.candidate  # the batch folds changed the choice
    assert score[model.candidate] < score["severson_variance"] and score[model.candidate] < score["severson_discharge_ridge_a1"]
    assert model.trained_on == cells.names  # the final model is fitted on every labelled cell
    assert model.interval_level == 0.9 and model.interval_coverage_grouped >= 0.85
    # two batches: the interval is the larger of the leave-one-batch-out and left-out-family conformal factors
    assert model.interval_calibration == INTERVAL_BATCH_AND_FAMILY and set(model.interval_factors) == {"batch", "family"}
    assert 10 ** model.interval_log10 == pytest.approx(max(model.interval_factors.values()), rel=1e-12)
    assert set(model.interval_coverage_batches_in_sample) == {"5/12/17", "6/30/17"}
    assert "cannot be measured" in model.interval_note
    pred, lo, hi = model.predict_interval(cells)
    assert np.all(lo < pred) and np.all(pred < hi)
    assert np.allclose(hi / pred, 10 ** model.interval_log10) and np.allclose(pred / lo, 10 ** model.interval_log10)
    assert evaluate(model, cells)["cells"] == 84


def _synthetic_cells(seed: int = 3) -> tuple[CurveSet, CellGroups, np.ndarray]:
    """24 cells, Q_k(V) = 1 + c·k·g(V) (g the voltage index / 1000), so that log₁₀ var ΔQ₁₀₀₋₁₀ =
    2·log₁₀ c + log₁₀(90² · var g) exactly; log₁₀ life = 3.1 − 0.5·(that feature + 6) + noise, and the second batch's
    lives 50 % longer (a batch shift). Two batches of 12, four families of 3 per batch. Returns the cells, their groups
    and the feature computed from c (not by the library)."""
    rng = np.random.default_rng(seed)
    n = 24
    c = 10 ** rng.uniform(-4.5, -3.5, n)
    g = np.arange(1000) / 1000.0
    k = np.arange(2, 101)
    curves = 1.0 + c[:, None, None] * k[None, None, :] * g[None, :, None]
    x = np.log10(c**2 * 90**2 * ((1000**2 - 1) / 12 / 1000**2))
    batch = np.array(["A"] * 12 + ["B"] * 12)
    family = np.array(["f1", "f2", "f3", "f4"] * 6)
    log_life = 3.1 - 0.5 * (x + 6) + rng.normal(0, 0.02, n) + np.where(batch == "B", np.log10(1.5), 0.0)
    cells = CurveSet([f"cell{i + 1}" for i in range(n)], curves, 10**log_life, "synthetic")
    return cells, CellGroups(batch, family.copy(), family), x


def _conformal_by_hand(residuals: np.ndarray) -> float:
    """The ⌈(n + 1) · 0.9⌉-th smallest |residual|."""
    r = sorted(abs(float(v)) for v in residuals)
    return r[int(np.ceil((len(r) + 1) * 0.9)) - 1]


def _left_out_by_hand(x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each cell's log₁₀ life by numpy's least squares fitted on the cells of the other groups."""
    out = np.empty_like(y)
    for lab in np.unique(labels):
        held = labels == lab
        slope, icpt = np.polyfit(x[~held], y[~held], 1)
        out[held] = icpt + slope * x[held]
    return out


def test_interval_calibrated_on_left_out_batches_by_hand() -> None:
    """Two batches: the half-width is the larger of the conformal quantiles of the leave-one-batch-out and the
    leave-one-family-out |log₁₀ errors|, each recomputed here with np.polyfit and a sort; the synthetic batch shift
    makes the batch one the larger, so a family-only calibration fails this. The batch folds' coverage (in-sample)
    and the whole rule's coverage on left-out families (its batch part refitted without the family) by hand too."""
    cells, groups, x = _synthetic_cells()
    y = np.log10(cells.cycle_lives)
    model = train(cells, candidates_named(["severson_variance"]), groups=groups)
    res_batch = _left_out_by_hand(x, y, groups.batch) - y
    res_family = _left_out_by_hand(x, y, groups.family) - y
    h_batch, h_family = _conformal_by_hand(res_batch), _conformal_by_hand(res_family)
    assert h_batch > 1.3 * h_family  # the shift is what the batch folds see (0.19 against 0.13)
    assert model.interval_calibration == INTERVAL_BATCH_AND_FAMILY
    assert model.interval_log10 == pytest.approx(h_batch, rel=1e-9)
    assert model.interval_factors == pytest.approx({"batch": 10**h_batch, "family": 10**h_family}, rel=1e-9)
    assert model.interval_coverage_batches_in_sample == pytest.approx(
        {b: float(np.mean(np.abs(res_batch[groups.batch == b]) <= h_batch)) for b in ("A", "B")})
    hits = 0
    for f in np.unique(groups.family):
        held = groups.family == f
        rest = ~held
        h_f = max(_conformal_by_hand(res_family[rest]),
                  _conformal_by_hand(_left_out_by_hand(x[rest], y[rest], groups.batch[rest]) - y[rest]))
        hits += int(np.sum(np.abs(res_family[held]) <= h_f))
    assert model.interval_coverage_grouped == pytest.approx(hits / y.size)
    pred, lo, hi = model.predict_interval(cells)
    assert np.allclose(hi / pred, 10**h_batch) and np.allclose(pred / lo, 10**h_batch)


def test_interval_with_one_batch_falls_back_to_families_and_says_so(severson_dir: Path, tmp_path: Path) -> None:
    """One batch (the synthetic set's first 12 cells): no batch folds, so the half-width is the left-out-family
    quantile alone (by hand), and the model — and `lifetime predict --intervals` — says that its interval does not
    cover a batch shift."""
    cells, groups, x = _synthetic_cells()
    a = np.flatnonzero(groups.batch == "A")
    one = CurveSet([cells.names[i] for i in a], cells.curves[a], cells.cycle_lives[a], cells.source)
    y = np.log10(one.cycle_lives)
    model = train(one, candidates_named(["severson_variance"]), groups=groups.subset(a))
    h_family = _conformal_by_hand(_left_out_by_hand(x[a], y, groups.family[a]) - y)
    assert model.interval_calibration == INTERVAL_FAMILY
    assert model.interval_log10 == pytest.approx(h_family, rel=1e-9)
    assert model.interval_factors == pytest.approx({"family": 10**h_family}, rel=1e-9)
    assert model.interval_coverage_batches_in_sample is None
    assert "does not cover a batch shift" in model.interval_note
    from typer.testing import CliRunner

    from batteryloop.cli import app

    model.save(tmp_path / "m.pkl")
    folder = tmp_path / "cells"
    folder.mkdir()
    for n in (1, 2):
        (folder / f"cell{n}.csv.gz").symlink_to(severson_dir / "test1" / f"cell{n}.csv.gz")
    res = CliRunner().invoke(app, ["health", "lifetime", "predict", "--model", str(tmp_path / "m.pkl"), "--cells",
                                   str(folder), "-o", str(tmp_path / "p.csv"), "--intervals"])
    assert res.exit_code == 0, res.output
    iv = json.loads(res.stdout)["interval"]
    assert iv["interval_calibration"] == "family" and iv["factor"] == pytest.approx(10**h_family, abs=1e-4)
    assert "does not cover a batch shift" in iv["note"]


def test_averages_scored_from_shared_member_fits_and_saved(cells, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The selection fits a member shared by several averages once per fold (one memo for all candidates):
    every grouped figure of the averages is the same, to the bit, as each scored on its own; and a model
    of the nested average (shrunk_to_variance_average) saves and loads (its members are picklable)."""
    g = groups_for(cells)
    feats = feature_matrix(cells.curves)
    avgs = [c for c in GROUPED_CANDIDATES if "average" in c.name]
    assert len(avgs) == 6
    memo: dict = {}
    shared = [grouped_scores(c, feats, cells.cycle_lives, g, memo=memo) for c in avgs]
    assert shared == [grouped_scores(c, feats, cells.cycle_lives, g) for c in avgs]
    model = train(cells, candidates_named(["shrunk_to_variance_average_a1"]), groups=g)
    assert model.candidate == "shrunk_to_variance_average_a1"
    model.save(tmp_path / "m.bin")
    assert np.array_equal(LifetimeModel.load(tmp_path / "m.bin").predict(cells), model.predict(cells))


def test_cli_trains_on_two_folders_and_writes_intervals(severson_dir: Path, tmp_path: Path) -> None:
    exe = [sys.executable, "-m", "batteryloop.cli"]
    # two candidates keep it quick: the whole selection is test_grouped_figures_against_a_hand_fit's
    out = subprocess.run([*exe, "health", "lifetime", "train", "--data", str(severson_dir / "train"),
                          "--data", str(severson_dir / "test1"), "-o", str(tmp_path / "m.pkl"),
                          "--candidates", "severson_variance, variance_capacity"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["candidate"] in {"severson_variance", "variance_capacity"}
    assert info["validation"].startswith("leave one group out") and info["interval"]["level"] == 0.9
    iv = info["interval"]
    assert iv["interval_calibration"] == "max(batch, family)" and set(iv["factors"]) == {"batch", "family"}
    assert iv["factor"] == pytest.approx(max(iv["factors"].values()), abs=1e-4) and "cannot be measured" in iv["note"]
    pred = subprocess.run([*exe, "health", "lifetime", "predict", "--model", str(tmp_path / "m.pkl"), "--cells",
                           str(severson_dir / "test1"), "-o", str(tmp_path / "p.csv"), "--intervals"],
                          capture_output=True, text=True, timeout=300)
    assert pred.returncode == 0, pred.stderr
    assert json.loads(pred.stdout)["interval"] == {"level": 0.9, "factor": iv["factor"],
                                                   "interval_calibration": "max(batch, family)", "note": iv["note"]}
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert len(rows) == 43 and all(float(r["lower"]) < float(r["predicted_cycle_life"]) < float(r["upper"]) for r in rows)
    bad = subprocess.run([*exe, "health", "lifetime", "train", "--data", str(severson_dir / "train"), "--cells-table",
                          str(tmp_path / "missing.csv"), "-o", str(tmp_path / "x.pkl")], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "missing.csv" in (bad.stderr + bad.stdout)
    unknown = subprocess.run([*exe, "health", "lifetime", "train", "--data", str(severson_dir / "train"), "--candidates",
                              "severson_variance,nope", "-o", str(tmp_path / "y.pkl")], capture_output=True, text=True,
                             timeout=300)
    assert unknown.returncode != 0 and "'nope'" in (unknown.stderr + unknown.stdout)
    assert not (tmp_path / "y.pkl").exists()


def test_interval_with_one_family_is_refused_by_name() -> None:
    """Cells of one protocol family (two batches) give no left-out family to calibrate the interval on: training
    says so by name, not with scikit-learn's 'Found array with 0 sample(s)' from a fit on no cells."""
    cells, groups, _ = _synthetic_cells()
    one = np.array(["f1"] * len(cells.names))
    with pytest.raises(HealthError, match="one protocol family"):
        train(cells, candidates_named(["severson_variance"]), groups=CellGroups(groups.batch, one, one))


def test_a_model_saved_before_the_calibration_was_recorded_loads_as_family(tmp_path: Path) -> None:
    """Models pickled before interval_calibration existed were calibrated on left-out families: load() says so
    (both `lifetime train` and `predict` then read the same fields), and a model that records its calibration keeps it."""
    from batteryloop.health.lifetime.model import NOTE_SAVED_BEFORE_CALIBRATION, LifetimeModel

    cells, groups, _ = _synthetic_cells()
    model = train(cells, candidates_named(["severson_variance"]), groups=groups)
    model.save(tmp_path / "new.pkl")
    assert LifetimeModel.load(tmp_path / "new.pkl").interval_calibration == model.interval_calibration != INTERVAL_FAMILY
    model.interval_calibration = model.interval_note = None  # as a model saved before round 6
    model.save(tmp_path / "old.pkl")
    old = LifetimeModel.load(tmp_path / "old.pkl")
    assert old.interval_calibration == INTERVAL_FAMILY and old.interval_note == NOTE_SAVED_BEFORE_CALIBRATION
