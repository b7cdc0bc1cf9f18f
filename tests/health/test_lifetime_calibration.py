"""Inverse calibration (health.lifetime.calibration): least squares with the training cells' prior, the set's own
robust prior (median, MAD) by hand, unattenuated on a set of cells whose lives are shifted, one bad cell unable to
move the others; the opt-in CLI path (a folder predicted together, small sets refused)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from batteryloop.health.errors import HealthError
from batteryloop.health.lifetime import LifetimeModel, train
from batteryloop.health.lifetime.calibration import MAD_TO_SD, MIN_CELLS, InverseCalibration
from batteryloop.health.lifetime.features import feature_matrix
from batteryloop.health.lifetime.groups import combine, groups_for
from batteryloop.health.lifetime.model import GROUPED_CANDIDATES, candidates_named


def _shifted(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One feature x = −2.5 − 2·(y − 2.7) + noise (SD 0.2); training lives y ~ N(2.7, 0.1), the new set's
    ~ N(2.95, 0.15): the same p(x | y), another p(y) — a label shift."""
    rng = np.random.default_rng(seed)
    y_tr, y_te = rng.normal(2.7, 0.1, n), rng.normal(2.95, 0.15, n)
    x = lambda y: (-2.5 - 2.0 * (y - 2.7) + rng.normal(0, 0.2, y.size))[:, None]  # noqa: E731
    return x(y_tr), y_tr, x(y_te), y_te


def test_with_the_training_prior_it_is_least_squares(severson_train) -> None:  # type: ignore[no-untyped-def]
    """With the training cells' prior (mean and variance of y, ddof 1) the Gaussian p(x | y) gives back the
    regression of y on x: numpy's polyfit, to rounding — on the training cells and on cells far from them."""
    x = feature_matrix(severson_train.curves)["log_var_dq"]
    y = np.log10(severson_train.cycle_lives)
    slope, icpt = np.polyfit(x, y, 1)
    fixed = InverseCalibration(transductive=False).fit(x[:, None], y)
    assert fixed.predict(x[:, None]) == pytest.approx(icpt + slope * x, abs=1e-10)
    assert fixed.predict(x[:3, None] + 0.4) == pytest.approx(icpt + slope * (x[:3] + 0.4), abs=1e-10)


def _by_hand(x_tr: np.ndarray, y_tr: np.ndarray, x_new: np.ndarray) -> tuple[np.ndarray, float, float]:
    """One feature, independently of the module: the readout x = a + b·y fitted by polyfit; the classical
    estimate ŷ = (x − a) / b; its noise variance v = (residual variance, ddof 1) / b²; the set's prior from the ŷ:
    median m, spread s = 1.4826 · median |ŷ − m|, τ² = max(s² − v, 0); the prediction m + τ²/(τ² + v)·(ŷ − m)."""
    b, a = np.polyfit(y_tr, x_tr, 1)
    v = float(np.sum((x_tr - a - b * y_tr) ** 2) / (y_tr.size - 1) / b**2)
    yh = (x_new - a) / b
    m = float(np.median(yh))
    s = 1.4826 * float(np.median(np.abs(yh - m)))
    tau2 = max(s * s - v, 0.0)
    return m + tau2 / (tau2 + v) * (yh - m), tau2, v


def test_the_set_prior_by_hand() -> None:
    """A set of 60 cells from the shifted distribution: the prediction is the hand formula (median, MAD, τ² = s² − v,
    k = τ²/(τ² + v)), with 0.3 < k < 0.9 and the set's τ² unlike the training variance of y (so a shrinkage from
    the training cells, or without subtracting v, or none at all, is told apart); at exactly MIN_CELLS cells the
    set's prior is used too, at MIN_CELLS − 1 the training cells' (least squares)."""
    X, y, Xn, _ = _shifted(5)
    m = InverseCalibration().fit(X, y)
    want, tau2, v = _by_hand(X[:, 0], y, Xn[:60, 0])
    k = tau2 / (tau2 + v)
    assert 0.3 < k < 0.9 and abs(tau2 - np.var(y, ddof=1)) > 0.3 * tau2
    assert m.noise_var_ == pytest.approx(v, rel=1e-9)
    got = m.predict(Xn[:60])
    assert got == pytest.approx(want, abs=1e-10)
    for wrong_k in (np.var(y, ddof=1) / (np.var(y, ddof=1) + v), 1.0):  # training shrinkage; no shrinkage
        yh = m.classical(Xn[:60])
        assert np.max(np.abs(np.median(yh) + wrong_k * (yh - np.median(yh)) - got)) > 0.01
    edge = Xn[60:60 + MIN_CELLS]
    spread = InverseCalibration().fit(X, y)
    assert spread.predict(edge) == pytest.approx(_by_hand(X[:, 0], y, edge[:, 0])[0], abs=1e-10)
    assert spread.predict(edge[:-1]) == pytest.approx(np.polyval(np.polyfit(X[:, 0], y, 1), edge[:-1, 0]), abs=1e-10)


def test_one_bad_cell_cannot_move_the_others() -> None:
    """A folder of 20 cells plus one dead cell read at an absurd life (its feature 30 units away, ŷ ≈ 15 decades off):
    with the median/MAD prior the other 20 predictions move by less than 0.03 in log₁₀ life (7 %; one more cell
    moves the median by about half a gap between neighbours); the mean/variance
    prior (computed here by hand) would move them by more than 0.1 (26 %: the outlier inflates the set's variance, so k → 1
    and every cell loses its shrinkage)."""
    X, y, Xn, _ = _shifted(6)
    m = InverseCalibration().fit(X, y)
    base = m.predict(Xn[:20])
    dead = np.vstack([Xn[:20], [[Xn[0, 0] - 30.0]]])
    assert np.max(np.abs(m.predict(dead)[:20] - base)) < 0.03
    yh = m.classical(dead)
    tau2 = max(float(yh.var(ddof=1)) - m.noise_var_, 0.0)
    naive = yh.mean() + tau2 / (tau2 + m.noise_var_) * (yh - yh.mean())
    assert np.max(np.abs(naive[:20] - base)) > 0.1
    assert MAD_TO_SD == pytest.approx(1 / 0.6744897501960817, rel=1e-4)  # 1 / Φ⁻¹(3/4)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_shifted_set_is_not_pulled_to_the_training_mean(seed: int) -> None:
    """Least squares on a noisy feature predicts the new set's mean log life short by (1 − reliability)·0.25
    (reliability = 4·0.01 / (4·0.01 + 0.04) = 0.5: 0.125); inverse calibration, which reads the set's
    life distribution from its own features, is within 0.03 (standard error of the mean ≈ 0.01)."""
    X, y, Xn, yn = _shifted(seed)
    ols_bias = np.mean(np.polyval(np.polyfit(X[:, 0], y, 1), Xn[:, 0]) - yn)
    cal_bias = np.mean(InverseCalibration().fit(X, y).predict(Xn) - yn)
    assert ols_bias == pytest.approx(-0.125, abs=0.03)
    assert abs(cal_bias) < 0.03


def test_two_readouts_weigh_by_their_noise() -> None:
    """Two features, one 10× noisier: the classical estimate weighs them by b/σ² (GLS), so the noisy one gets
    about 1 % of the weight; with both exactly linear in y the classical estimate is y itself."""
    rng = np.random.default_rng(0)
    y = rng.normal(2.7, 0.1, 500)
    X = np.column_stack([1.0 + y + rng.normal(0, 0.02, 500), 1.0 + y + rng.normal(0, 0.2, 500)])
    w = InverseCalibration().fit(X, y).w_
    assert w[1] / w[0] == pytest.approx(0.01, rel=0.3)
    exact = np.column_stack([3.0 - 2.0 * y, 1.0 + 0.5 * y]) + rng.normal(0, 1e-9, (500, 2))
    assert InverseCalibration().fit(exact, y).classical(exact) == pytest.approx(y, abs=1e-6)


def test_too_few_cells_to_predict_together_use_the_training_prior() -> None:
    """Below MIN_CELLS cells the set's spread says nothing: the prediction is least squares' (training prior)."""
    X, y, Xn, _ = _shifted(4)
    m = InverseCalibration().fit(X, y)
    few = Xn[: MIN_CELLS - 1]
    assert m.predict(few) == pytest.approx(np.polyval(np.polyfit(X[:, 0], y, 1), few[:, 0]), abs=1e-10)
    assert not np.allclose(m.predict(Xn[:MIN_CELLS]), np.polyval(np.polyfit(X[:, 0], y, 1), Xn[:MIN_CELLS, 0]))


def test_refusals_name_the_problem() -> None:
    y = np.linspace(2.5, 3.0, 10)
    with pytest.raises(HealthError, match="do not vary with life"):
        InverseCalibration().fit(np.full((10, 1), -3.0), y)
    with pytest.raises(HealthError, match="at least 5 training cells for 2 features, got 4"):
        InverseCalibration().fit(np.ones((4, 2)), y[:4])
    X = -2.5 - 2.0 * (y[:, None] - 2.7) + np.linspace(-0.01, 0.01, 10)[:, None]
    with pytest.raises(HealthError, match=r"lives not finite in row\(s\) 3"):
        InverseCalibration().fit(X, np.where(np.arange(10) == 3, np.nan, y))
    with pytest.raises(HealthError, match=r"features not finite in row\(s\) 0"):
        InverseCalibration().fit(np.where(np.arange(10)[:, None] == 0, np.inf, X), y)
    with pytest.raises(HealthError, match=r"features not finite in row\(s\) 7"):
        InverseCalibration().fit(X, y).predict(np.where(np.arange(10)[:, None] == 7, np.nan, X))


def test_calibration_models_are_opt_in() -> None:
    """The transductive models are not among the default selection's candidates (their advantage was seen only on
    the outer batch folds); they are trained by name."""
    assert not any(c.name.startswith("calibration_") for c in GROUPED_CANDIDATES)
    assert candidates_named(["calibration_variance_ref20"])[0].make().__class__ is InverseCalibration


def test_across_the_two_batches_it_is_less_pulled_than_least_squares(severson_train, severson_test1) -> None:  # type: ignore[no-untyped-def]
    """The real case: log var ΔQ₁₀₀₋₂₀ fitted on one test batch, the other predicted (together, by its features
    only). Least squares misses the other batch's mean log₁₀ life toward the training batch's (measured
    2026-12-05: −0.097 on 2017-05-12, +0.085 on 2017-06-30); inverse calibration misses it by less in both
    directions (−0.026, +0.072 with the median/MAD prior; −0.021, +0.066 with the mean/variance prior of round 4)."""
    cells = combine(severson_train, severson_test1)
    x = feature_matrix(cells.curves)["log_var_dq_100_20"]
    y = np.log10(cells.cycle_lives)
    batch = groups_for(cells).batch
    for b in ("5/12/17", "6/30/17"):
        held = batch == b
        ols = np.mean(np.polyval(np.polyfit(x[~held], y[~held], 1), x[held]) - y[held])
        cal = np.mean(InverseCalibration().fit(x[~held, None], y[~held]).predict(x[held, None]) - y[held])
        assert abs(cal) < abs(ols)
        assert np.sign(ols) == (1 if b == "6/30/17" else -1)  # toward the training batch's lives


def test_cli_predicts_a_folder_together_and_says_so(severson_train, severson_test1, severson_dir: Path,  # type: ignore[no-untyped-def]
                                                   tmp_path: Path) -> None:
    """A calibration model (trained in-process, as `lifetime train --candidates calibration_variance_ref20` does)
    predicts test1's 43 cells together through the CLI, says so, and writes what ``predict`` gives; a folder of fewer
    than MIN_CELLS cells is refused unless --allow-small-set; a dead cell is listed under "warnings"."""
    exe = [sys.executable, "-m", "batteryloop.cli"]
    model = train(severson_train, candidates_named(["calibration_variance_ref20"]), groups=groups_for(severson_train))
    model.save(tmp_path / "m.pkl")
    assert LifetimeModel.load(tmp_path / "m.pkl").transductive and not train(
        severson_train, candidates_named(["attia_variance_ref20"]), groups=groups_for(severson_train)).transductive
    pred = subprocess.run([*exe, "health", "lifetime", "predict", "--model", str(tmp_path / "m.pkl"), "--cells",
                           str(severson_dir / "test1"), "-o", str(tmp_path / "p.csv"), "--intervals"],
                          capture_output=True, text=True, timeout=300)
    assert pred.returncode == 0, pred.stderr
    info = json.loads(pred.stdout)
    assert "together" in info["note"] and info["cells"] == 43
    # train/ holds cells of both batches (20 + 21): the interval is calibrated on the batch folds too, and says so
    assert info["interval"]["interval_calibration"] == "max(batch, family)"
    assert info["interval"]["factor"] == pytest.approx(10 ** model.interval_log10, abs=1e-4)
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    written = np.array([float(r["predicted_cycle_life"]) for r in rows])
    test1 = severson_test1  # the session's reading of test1 (the same call)
    assert written == pytest.approx(model.predict(test1), abs=0.051)  # the CSV rounds to 0.1 cycle
    assert info["evaluation"]["rmse_cycles"] == pytest.approx(
        float(np.sqrt(np.mean((model.predict(test1) - test1.cycle_lives) ** 2))))
    assert info["warnings"] == []  # test1's real cells are all within reach of the training cells

    # a folder of 4 cells (3 of test1 and a dead, flat one) is refused for a transductive model (the set would fall
    # back to the training prior)
    few = tmp_path / "few"
    few.mkdir()
    for k in range(1, MIN_CELLS - 1):
        shutil.copy(next((severson_dir / "test1").glob(f"cell{k}.csv*")), few)
    np.savetxt(few / f"cell{MIN_CELLS - 1}.csv", np.ones((1000, 99)), delimiter=",")
    small = subprocess.run([*exe, "health", "lifetime", "predict", "--model", str(tmp_path / "m.pkl"), "--cells", str(few),
                            "-o", str(tmp_path / "few.csv")], capture_output=True, text=True, timeout=300)
    assert small.returncode != 0 and "needs at least 5" in small.stdout + small.stderr
    assert not (tmp_path / "few.csv").exists()
    # with --allow-small-set they are predicted (least squares), and the dead cell is flagged by name
    ok = subprocess.run([*exe, "health", "lifetime", "predict", "--model", str(tmp_path / "m.pkl"), "--cells", str(few),
                         "-o", str(tmp_path / "few.csv"), "--allow-small-set"], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    flagged = json.loads(ok.stdout)["warnings"]
    assert [w["cell"] for w in flagged] == [f"cell{MIN_CELLS - 1}"] and "log_var_dq_100_20" in flagged[0]["warning"]
