"""Early cycle-life prediction on the Severson et al. (2019) data: trained on train/ only,
scored on test1/, RMSE recomputed here from the written predictions."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from batteryloop.health.errors import HealthError
from batteryloop.health.lifetime import LifetimeModel, evaluate, load_curve_set, train, write_predictions
from batteryloop.health.lifetime.model import CANDIDATES, VARIANCE, fingerprint
from batteryloop.reference.severson_2019 import GOAL_TEST1_RMSE_CYCLES

#: measured 2026-11-26: test1 RMSE 80.8 cycles (selected model trajectory_gp); the margin keeps
#: the test meaningful (the Severson variance model scores 137.9 and must fail it)
TEST1_RMSE_THRESHOLD_CYCLES = 88.0


#: The random-fold selection runs (the production ``train``) on the candidates without an elastic net: the
#: elastic nets, alone and inside trajectory_average, took two thirds of this file's time. The selection is
#: unchanged — the full default set selects trajectory_gp too (2026-11-26, docs/health.md: test1 80.8), and it
#: is in the subset, so the minimum and the test1 figure are the same; the elastic-net candidates are fitted
#: once each in test_elastic_net_candidates_fit_and_predict.
RANDOM_FOLD_SUBSET = tuple(c for c in CANDIDATES if "elastic_net" not in c.name and c.name != "trajectory_average")


@pytest.fixture(scope="module")
def train_set(severson_train):  # type: ignore[no-untyped-def]
    return severson_train


@pytest.fixture(scope="module")
def test1_set(severson_test1):  # type: ignore[no-untyped-def]
    return severson_test1


@pytest.fixture(scope="module")
def model(train_set) -> LifetimeModel:  # type: ignore[no-untyped-def]
    return train(train_set, RANDOM_FOLD_SUBSET)


def test_data_layout(train_set, test1_set, severson_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert len(train_set.names) == 41 and len(test1_set.names) == 43
    assert train_set.curves.shape == (41, 1000, 99)
    lives = np.loadtxt(severson_dir / "cycle_lives" / "train_cycle_lives.csv")
    i = train_set.names.index("cell7")
    assert train_set.cycle_lives[i] == lives[6]


def test_trained_only_on_train(model: LifetimeModel, train_set, test1_set) -> None:  # type: ignore[no-untyped-def]
    assert model.trained_on == train_set.names
    assert model.training_fingerprint == fingerprint(train_set)
    assert model.training_fingerprint != fingerprint(test1_set)
    assert model.training_source.endswith("train")
    assert set(model.cv_rmse_cycles) >= {"severson_variance", "trajectory_gp"}
    # the selection is the cross-validation minimum, computed on train only
    assert model.cv_rmse_cycles[model.candidate] == min(model.cv_rmse_cycles.values())


def test_variance_baseline_reproduces_severson(train_set, test1_set) -> None:  # type: ignore[no-untyped-def]
    base = train(train_set, (VARIANCE,), repeats=1)
    assert base.train_rmse_cycles == pytest.approx(103, abs=3)  # published 103
    assert evaluate(base, test1_set)["rmse_cycles"] == pytest.approx(138, abs=3)  # published 138
    assert evaluate(base, test1_set)["rmse_cycles"] > TEST1_RMSE_THRESHOLD_CYCLES


def test_test1_rmse_recomputed_from_predictions(model: LifetimeModel, test1_set, severson_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "pred.csv"
    write_predictions(model, test1_set, out)
    rows = list(csv.DictReader(out.open()))
    assert [r["cell"] for r in rows] == test1_set.names
    lives = np.loadtxt(severson_dir / "cycle_lives" / "test1_cycle_lives.csv")
    pred = np.array([float(r["predicted_cycle_life"]) for r in rows])
    true = np.array([lives[int(r["cell"][4:]) - 1] for r in rows])
    rmse = float(np.sqrt(np.mean((pred - true) ** 2)))
    assert rmse < TEST1_RMSE_THRESHOLD_CYCLES <= GOAL_TEST1_RMSE_CYCLES
    assert np.mean(np.abs(pred - true) / true) < 0.12


def test_deterministic_and_saved(model: LifetimeModel, train_set, test1_set, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "model.pkl"
    model.save(path)
    back = LifetimeModel.load(path)
    assert np.array_equal(back.predict(test1_set), model.predict(test1_set))
    again = train(train_set, tuple(c for c in CANDIDATES if c.name == model.candidate), repeats=1)
    assert np.allclose(again.predict(test1_set), model.predict(test1_set))


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(HealthError, match="no cellN"):
        load_curve_set(tmp_path)
    (tmp_path / "cell1.csv").write_text("1,2,3\n")
    with pytest.raises(HealthError, match="1000"):
        load_curve_set(tmp_path)
    bad = tmp_path / "model.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(HealthError, match="not a batteryloop lifetime model"):
        LifetimeModel.load(bad)


def test_elastic_net_candidates_fit_and_predict(train_set, test1_set) -> None:  # type: ignore[no-untyped-def]
    """The default candidates left out of the fixture's selection (severson_discharge_elastic_net,
    trajectory_elastic_net, trajectory_average), each fitted once on train and scored on
    test1: they build, fit and predict sane lives (measured 2026-12-05: test1 RMSE 116.5, 83.1, 77.4; the variance baseline, 137.9, would fail the bound)."""
    from batteryloop.health.lifetime.features import feature_matrix, to_matrix

    feats_tr, feats_te = feature_matrix(train_set.curves), feature_matrix(test1_set.curves)
    left_out = [c for c in CANDIDATES if c not in RANDOM_FOLD_SUBSET]
    assert {c.name for c in left_out} == {"severson_discharge_elastic_net", "trajectory_elastic_net", "trajectory_average"}
    for c in left_out:
        reg = c.make().fit(to_matrix(feats_tr, c.features), np.log10(train_set.cycle_lives))
        pred = 10 ** np.ravel(reg.predict(to_matrix(feats_te, c.features)))
        rmse = float(np.sqrt(np.mean((pred - test1_set.cycle_lives) ** 2)))
        assert rmse < 125, (c.name, rmse)


def test_candidates_named() -> None:
    """``lifetime train --candidates``: names from every candidate list, in the order given, duplicates once;
    an unknown name is refused with the known ones."""
    from batteryloop.health.lifetime.model import GROUPED_CANDIDATES, candidates_named

    got = candidates_named(["trajectory_gp", "severson_variance", "trajectory_gp", GROUPED_CANDIDATES[-1].name])
    assert [c.name for c in got] == ["trajectory_gp", "severson_variance", GROUPED_CANDIDATES[-1].name]
    with pytest.raises(HealthError, match="unknown candidate.*'nope'.*known:.*severson_variance"):
        candidates_named(["severson_variance", "nope"])
    with pytest.raises(HealthError, match="unknown candidate"):
        candidates_named([])
