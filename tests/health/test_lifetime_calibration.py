"""Inverse calibration (health.lifetime.calibration): least squares on the training cells' own distribution,
unattenuated on a set of cells whose lives are shifted; the life thirds of the selection."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from batteryloop.health.errors import HealthError
from batteryloop.health.lifetime import LifetimeModel, load_curve_set, train
from batteryloop.health.lifetime.calibration import MIN_CELLS, InverseCalibration
from batteryloop.health.lifetime.features import feature_matrix
from batteryloop.health.lifetime.groups import combine, groups_for
from batteryloop.health.lifetime.model import candidates_named, life_groups


def _shifted(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One feature x = −2.5 − 2·(y − 2.7) + noise (SD 0.2); training lives y ~ N(2.7, 0.1), the new set's
    ~ N(2.95, 0.15): the same p(x | y), another p(y) — a label shift."""
    rng = np.random.default_rng(seed)
    y_tr, y_te = rng.normal(2.7, 0.1, n), rng.normal(2.95, 0.15, n)
    x = lambda y: (-2.5 - 2.0 * (y - 2.7) + rng.normal(0, 0.2, y.size))[:, None]  # noqa: E731
    return x(y_tr), y_tr, x(y_te), y_te


def test_on_the_training_distribution_it_is_least_squares(severson_train) -> None:  # type: ignore[no-untyped-def]
    """Predicting the cells it was fitted on (their own spread as prior) or any cells with the training prior,
    the Gaussian p(x | y) gives back the regression of y on x: numpy's polyfit, to rounding."""
    x = feature_matrix(severson_train.curves)["log_var_dq"]
    y = np.log10(severson_train.cycle_lives)
    slope, icpt = np.polyfit(x, y, 1)
    m = InverseCalibration().fit(x[:, None], y)
    assert m.predict(x[:, None]) == pytest.approx(icpt + slope * x, abs=1e-10)
    fixed = InverseCalibration(transductive=False).fit(x[:, None], y)
    assert fixed.predict(x[:3, None] + 0.4) == pytest.approx(icpt + slope * (x[:3] + 0.4), abs=1e-10)


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


def test_life_groups_are_thirds_by_cycle_life() -> None:
    """Lives 500, 300, 900, 700, 400, 800: ranks 2, 0, 5, 3, 1, 4 → bands 1 + rank·3 // 6."""
    assert life_groups(np.array([500, 300, 900, 700, 400, 800])).tolist() == ["life2", "life1", "life3", "life2", "life1", "life3"]


def test_across_the_two_batches_it_is_less_pulled_than_least_squares(severson_train, severson_test1) -> None:  # type: ignore[no-untyped-def]
    """The real case: log var ΔQ₁₀₀₋₂₀ fitted on one test batch, the other predicted (together, by its features
    only). Least squares misses the other batch's mean log₁₀ life toward the training batch's (measured
    2026-12-05: −0.097 on 2017-05-12, +0.085 on 2017-06-30); inverse calibration misses it by less in both
    directions (−0.021, +0.066)."""
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


def test_cli_predicts_a_folder_together_and_says_so(severson_train, severson_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A calibration model (trained in-process, as `lifetime train --candidates calibration_variance_ref20` does)
    predicts test1's 43 cells together through the CLI, says so, and writes what ``predict`` gives."""
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
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    written = np.array([float(r["predicted_cycle_life"]) for r in rows])
    test1 = load_curve_set(severson_dir / "test1", require_lives=True)
    assert written == pytest.approx(model.predict(test1), abs=0.051)  # the CSV rounds to 0.1 cycle
    assert info["evaluation"]["rmse_cycles"] == pytest.approx(
        float(np.sqrt(np.mean((model.predict(test1) - test1.cycle_lives) ** 2))))
