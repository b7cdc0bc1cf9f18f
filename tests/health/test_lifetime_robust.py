"""The lifetime selection and models on bad or adversarial input: no held-out set chosen by its lives, no left-out
label reaching the nested figure, non-finite values refused by the cell's name (fit and predict, both model kinds,
file and CLI), implausible cells flagged."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from batteryloop.health.errors import HealthError
from batteryloop.health.lifetime import load_curve_set, train
from batteryloop.health.lifetime.data import CurveSet
from batteryloop.health.lifetime.features import feature_matrix
from batteryloop.health.lifetime.groups import combine, groups_for
from batteryloop.health.lifetime.model import SELECTION_SCHEMES, Candidate, candidates_named, grouped_scores, nested_grouped


class _Spy:
    """A regressor that predicts the training mean and records every set of rows it is asked to predict."""

    seen: list[frozenset[float]] = []

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Spy:
        self.mean = float(np.mean(y))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        _Spy.seen.append(frozenset(X[:, 0].tolist()))
        return np.full(X.shape[0], self.mean)


def test_the_selection_holds_out_sets_chosen_without_the_lives(severson_train) -> None:  # type: ignore[no-untyped-def]
    """The held-out sets of every selection scheme are the same whatever the cells' lives are (permuted, or
    reversed in rank): they come from the cell table and the features only. Round 4's life thirds failed this."""
    feats = feature_matrix(severson_train.curves)
    groups = groups_for(severson_train)
    spy = Candidate("spy", ("log_var_dq",), _Spy)
    sets = []
    lives = severson_train.cycle_lives
    for lv in (lives, np.random.default_rng(0).permutation(lives), lives.max() + lives.min() - lives):
        _Spy.seen = []
        scores = grouped_scores(spy, feats, lv, groups, schemes=SELECTION_SCHEMES)
        assert set(scores) == set(SELECTION_SCHEMES)
        sets.append(sorted(_Spy.seen, key=sorted))
    assert len(sets[0]) >= 5 and sets[0] == sets[1] == sets[2]


def test_the_nested_figure_never_sees_the_left_out_lives(severson_train, severson_test1) -> None:  # type: ignore[no-untyped-def]
    """Leave one batch out, with a least-squares, a ridge and a transductive candidate to choose from: permuting and
    scaling (×1.5) the left-out batch's lives changes none of its predictions (errors + lives), nor the model chosen."""
    cells = combine(severson_train, severson_test1)
    groups = groups_for(cells)
    cands = candidates_named(["severson_variance", "variance20_growth_ridge_a1", "calibration_variance_ref20"])
    base = nested_grouped(cells, groups, schemes=("batch",), candidates=cands)["batch"]
    rng = np.random.default_rng(1)
    for k, b in enumerate(np.unique(groups.batch)):
        held = groups.batch == b
        lives = cells.cycle_lives.copy()
        lives[held] = rng.permutation(lives[held]) * 1.5
        out = nested_grouped(CurveSet(cells.names, cells.curves, lives, cells.source), groups, schemes=("batch",),
                             candidates=cands)["batch"][k]
        assert out["group"] == base[k]["group"] == b and out["candidate"] == base[k]["candidate"]
        before = np.asarray(base[k]["errors_cycles"]) + cells.cycle_lives[held]
        after = np.asarray(out["errors_cycles"]) + lives[held]
        assert after == pytest.approx(before, rel=1e-12)
        assert out["rmse_cycles"] != pytest.approx(base[k]["rmse_cycles"])  # the lives did change


@pytest.mark.parametrize("name", ["variance20_growth_ridge_a1", "calibration_variance_ref20"])
def test_non_finite_values_are_refused_by_the_cells_name(name: str, severson_train, severson_test1) -> None:  # type: ignore[no-untyped-def]
    """A NaN in one cell's curves, or a NaN life, is refused naming the cell — in training and in prediction, for
    the ridge and the transductive model alike (before: a raw scikit-learn ValueError, a LinAlgError, or every
    prediction of the folder NaN with no error)."""
    cand = candidates_named([name])
    groups = groups_for(severson_train)
    model = train(severson_train, cand, groups=groups)
    curves = severson_test1.curves.copy()
    curves[3, 500, 98] = np.nan  # cell4, cycle 100
    with pytest.raises(HealthError, match=r"^cell4: feature log_var_dq_100_20 is nan"):
        model.predict(CurveSet(severson_test1.names, curves, None, "x"))
    with pytest.raises(HealthError, match=r"^cell4: feature"):
        model.predict_curves(curves, severson_test1.names)
    with pytest.raises(HealthError, match=r"^cell index 3: feature"):
        model.predict_curves(curves)
    bad = severson_train.curves.copy()
    bad[6, 10, 98] = np.inf
    with pytest.raises(HealthError, match=r"^cell7: feature log_var_dq is nan"):
        train(CurveSet(severson_train.names, bad, severson_train.cycle_lives, "x"), cand, groups=groups)
    lives = severson_train.cycle_lives.copy()
    lives[1] = np.nan
    with pytest.raises(HealthError, match=r"^cell2: cycle life nan"):
        train(CurveSet(severson_train.names, severson_train.curves, lives, "x"), cand, groups=groups)


def test_implausible_cells_are_flagged(severson_train, severson_test1) -> None:  # type: ignore[no-untyped-def]
    """A flat (dead) cell — ΔQ zero, so log var ΔQ at the floor, −12 — is flagged with the feature and the absurd
    life; the real test1 cells predicted by a model of train are not."""
    model = train(severson_train, candidates_named(["variance20_growth_ridge_a1"]), groups=groups_for(severson_train))
    dead = np.ones((1, 1000, 99))
    cells = CurveSet([*severson_test1.names, "dead"], np.concatenate([severson_test1.curves, dead]), None, "x")
    flags = model.warnings(cells)
    assert flags[:-1] == [None] * len(severson_test1.names)
    assert "log_var_dq_100_20 = -12 outside the training cells'" in flags[-1]
    assert "beyond the training lives" in flags[-1] and "implausible" in flags[-1]


def test_a_file_with_a_nan_is_refused_by_name(severson_train, severson_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Reading: the file, the row (voltage point) and the column (cycle) of the first non-finite value; the CLI
    exits non-zero with that message and writes no predictions."""
    folder = tmp_path / "cells"
    folder.mkdir()
    for k in (1, 2):
        shutil.copy(severson_dir / "test1" / f"cell{k}.csv.gz", folder)
    with gzip.open(severson_dir / "test1" / "cell3.csv.gz", "rt") as f:
        m = np.loadtxt(f, delimiter=",")
    m[9, 41] = np.nan
    np.savetxt(folder / "cell3.csv", m, delimiter=",")
    with pytest.raises(HealthError, match=r"cell3.csv: 1 non-finite value\(s\), the first nan at row 10 \(voltage point\), "
                                          r"column 42 \(cycle 43\)"):
        load_curve_set(folder)
    model = tmp_path / "m.pkl"
    train(severson_train, candidates_named(["severson_variance"]), groups=groups_for(severson_train)).save(model)
    out = subprocess.run([sys.executable, "-m", "batteryloop.cli", "health", "lifetime", "predict", "--model", str(model),
                          "--cells", str(folder), "-o", str(tmp_path / "p.csv")], capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "cell3.csv" in out.stdout + out.stderr and "cycle 43" in out.stdout + out.stderr
    assert not (tmp_path / "p.csv").exists()
    assert "Traceback" not in out.stderr  # the message, not a raw exception
