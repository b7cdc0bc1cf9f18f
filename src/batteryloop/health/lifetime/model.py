"""Early prediction of cycle life from the first 100 cycles, with model selection by
cross-validation on the training cells only.

The baseline is Severson et al.'s variance model (log₁₀ cycle life linear in log₁₀ var ΔQ₁₀₀₋₁₀).
The candidates are regularised regressions and a Gaussian process on the Severson discharge
features plus the ΔQ trajectory slopes (:mod:`.features`), and their average. Every candidate
predicts log₁₀(cycle life). :func:`train` scores each by repeated K-fold cross-validation on the
training cells (RMSE in cycles), keeps the best, refits it on all training cells, and records in
the model which cells it saw, so that a test can check that nothing else leaked in.

Model files are Python pickles: load only files you made or trust.
"""

from __future__ import annotations

import hashlib
import pickle
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, DotProduct, WhiteKernel
from sklearn.linear_model import ElasticNetCV, LinearRegression, RidgeCV
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from batteryloop.health.errors import HealthError
from batteryloop.health.lifetime.data import CurveSet, load_curve_set
from batteryloop.health.lifetime.features import SEVERSON_DISCHARGE, TRAJECTORY, feature_matrix, to_matrix

MODEL_FORMAT = "batteryloop.health.lifetime/1"
SEED = 0


class _Regressor(Protocol):
    def fit(self, X: np.ndarray, y: np.ndarray) -> Any: ...
    def predict(self, X: np.ndarray) -> np.ndarray: ...


class Average:
    """The mean of several regressors' predictions (of log₁₀ life)."""

    def __init__(self, makers: list[Callable[[], _Regressor]]) -> None:
        self.makers = makers
        self.models: list[_Regressor] = []

    def fit(self, X: np.ndarray, y: np.ndarray) -> Average:
        self.models = [m().fit(X, y) for m in self.makers]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.mean([np.ravel(m.predict(X)) for m in self.models], axis=0)


def _ridge() -> _Regressor:
    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 31)))


def _elastic_net() -> _Regressor:
    return make_pipeline(
        StandardScaler(),
        ElasticNetCV(l1_ratio=[0.1, 0.5, 0.9, 1.0], cv=KFold(4, shuffle=True, random_state=SEED), max_iter=100_000),
    )


def _gaussian_process() -> _Regressor:
    kernel = DotProduct() + ConstantKernel() * RBF() + WhiteKernel()
    return make_pipeline(StandardScaler(), GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=SEED))


@dataclass(frozen=True)
class Candidate:
    name: str
    features: tuple[str, ...]
    make: Callable[[], _Regressor]


EARLY = SEVERSON_DISCHARGE + TRAJECTORY
VARIANCE = Candidate("severson_variance", ("log_var_dq",), LinearRegression)
CANDIDATES: tuple[Candidate, ...] = (
    VARIANCE,
    Candidate("severson_discharge_ridge", SEVERSON_DISCHARGE, _ridge),
    Candidate("severson_discharge_elastic_net", SEVERSON_DISCHARGE, _elastic_net),
    Candidate("trajectory_ridge", EARLY, _ridge),
    Candidate("trajectory_elastic_net", EARLY, _elastic_net),
    Candidate("trajectory_gp", EARLY, _gaussian_process),
    Candidate("trajectory_average", EARLY, lambda: Average([_ridge, _elastic_net, _gaussian_process])),
)


def rmse(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(true)) ** 2)))


def mean_pct_error(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(true)) / np.asarray(true)) * 100)


def cross_val_rmse(candidate: Candidate, feats: dict[str, np.ndarray], lives: np.ndarray, folds: int = 5, repeats: int = 3) -> float:
    """Mean over ``repeats`` shuffles of the K-fold RMSE (cycles) of ``candidate`` on these cells."""
    X = to_matrix(feats, candidate.features)
    y = np.log10(lives)
    scores = []
    for r in range(repeats):
        pred = np.empty_like(y)
        for tr, te in KFold(folds, shuffle=True, random_state=SEED + r).split(X):
            pred[te] = np.ravel(candidate.make().fit(X[tr], y[tr]).predict(X[te]))
        scores.append(rmse(10**pred, lives))
    return float(np.mean(scores))


@dataclass
class LifetimeModel:
    """A trained early-prediction model: which candidate, its fitted regressor, and provenance."""

    candidate: str
    features: tuple[str, ...]
    regressor: Any
    trained_on: list[str]
    training_source: str
    training_fingerprint: str
    cv_rmse_cycles: dict[str, float] = field(default_factory=dict)
    train_rmse_cycles: float = float("nan")
    train_mean_pct_error: float = float("nan")
    trained_at_unix_s: float = 0.0
    format: str = MODEL_FORMAT

    def predict_curves(self, curves: np.ndarray) -> np.ndarray:
        """Predicted cycle life (cycles) for Q(V) curves shaped (cells, 1000, 99)."""
        X = to_matrix(feature_matrix(curves), self.features)
        return 10 ** np.ravel(self.regressor.predict(X))

    def predict(self, cells: CurveSet) -> np.ndarray:
        return self.predict_curves(cells.curves)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))

    @staticmethod
    def load(path: str | Path) -> LifetimeModel:
        try:
            obj = pickle.loads(Path(path).read_bytes())
        except Exception as exc:
            raise HealthError(f"{path}: not a batteryloop lifetime model ({exc.__class__.__name__})") from exc
        if not isinstance(obj, LifetimeModel) or obj.format != MODEL_FORMAT:
            raise HealthError(f"{path}: not a batteryloop lifetime model of format {MODEL_FORMAT}")
        return obj


def fingerprint(cells: CurveSet) -> str:
    """SHA-256 over the cells' names, curves and lives: identifies exactly what a model saw."""
    h = hashlib.sha256()
    h.update("\n".join(cells.names).encode())
    h.update(np.ascontiguousarray(cells.curves).tobytes())
    if cells.cycle_lives is not None:
        h.update(np.ascontiguousarray(cells.cycle_lives).tobytes())
    return h.hexdigest()


def train(
    cells: CurveSet | str | Path,
    candidates: tuple[Candidate, ...] = CANDIDATES,
    *,
    folds: int = 5,
    repeats: int = 3,
    select: str | None = None,
) -> LifetimeModel:
    """Train on ``cells`` (a :class:`CurveSet` or a directory with cycle lives).

    Every candidate is scored by cross-validation on these cells only; the lowest CV RMSE wins
    (or ``select`` names the candidate to use), and is refitted on all of them.
    """
    data = cells if isinstance(cells, CurveSet) else load_curve_set(cells, require_lives=True)
    if data.cycle_lives is None:
        raise HealthError("training needs cycle lives")
    if len(data.names) < folds * 2:
        raise HealthError(f"training needs at least {folds * 2} cells, got {len(data.names)}")
    feats = feature_matrix(data.curves)
    lives = data.cycle_lives
    with warnings.catch_warnings():
        # the GP's optimiser reports hyper-parameters at their bounds; harmless, and noisy
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _train(data, feats, lives, candidates, folds, repeats, select)


def _train(
    data: CurveSet,
    feats: dict[str, np.ndarray],
    lives: np.ndarray,
    candidates: tuple[Candidate, ...],
    folds: int,
    repeats: int,
    select: str | None,
) -> LifetimeModel:
    scores = {c.name: cross_val_rmse(c, feats, lives, folds, repeats) for c in candidates}
    name = select or min(scores, key=scores.__getitem__)
    chosen = next((c for c in candidates if c.name == name), None)
    if chosen is None:
        raise HealthError(f"unknown candidate {name!r}; known: {[c.name for c in candidates]}")
    reg = chosen.make().fit(to_matrix(feats, chosen.features), np.log10(lives))
    model = LifetimeModel(
        candidate=chosen.name,
        features=chosen.features,
        regressor=reg,
        trained_on=list(data.names),
        training_source=data.source,
        training_fingerprint=fingerprint(data),
        cv_rmse_cycles=scores,
        trained_at_unix_s=time.time(),
    )
    pred = model.predict(data)
    model.train_rmse_cycles = rmse(pred, lives)
    model.train_mean_pct_error = mean_pct_error(pred, lives)
    return model


def evaluate(model: LifetimeModel, cells: CurveSet) -> dict[str, float]:
    """RMSE (cycles) and mean absolute % error of ``model`` on cells with known lives."""
    if cells.cycle_lives is None:
        raise HealthError("evaluation needs cycle lives")
    pred = model.predict(cells)
    return {
        "rmse_cycles": rmse(pred, cells.cycle_lives),
        "mean_pct_error": mean_pct_error(pred, cells.cycle_lives),
        "cells": float(len(cells.names)),
    }


def write_predictions(model: LifetimeModel, cells: CurveSet, path: str | Path) -> None:
    """CSV with columns ``cell,predicted_cycle_life`` (one row per cell file)."""
    pred = model.predict(cells)
    lines = ["cell,predicted_cycle_life"] + [f"{n},{p:.1f}" for n, p in zip(cells.names, pred, strict=True)]
    Path(path).write_text("\n".join(lines) + "\n")
