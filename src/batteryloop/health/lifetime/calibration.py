"""Cycle life by *inverse calibration*: the early features as noisy readouts of the cell's life, read back on the
cells being predicted.

Why. A regression of log life on a feature (least squares) is the best predictor for cells drawn like the
training cells, but it shrinks toward the training cells' mean life: the slope is attenuated by the scatter
of the feature around the line (regression dilution). A new batch whose lives are shifted is exactly where that
bites — trained on the 2017-06-30 batch (median life 481 cycles) the variance model under-predicts the
2017-05-12 batch (median 842) by 24 % on average, trained the other way it over-predicts by 21 %. This is the
old controversy of statistical calibration (Krutchkoff 1967 vs Williams 1969; reviewed by Osborne, Int. Stat.
Rev. 59, 309 (1991)): the *inverse* estimator (regress y on x) wins near the training mean, the *classical*
estimator (regress x on y, invert) is the consistent one when the new items' y lie elsewhere. In the language of
distribution shift (Saerens et al., Neural Comput. 14, 21 (2002); Lipton et al., ICML 2018) a batch that ages
faster or slower is a *label shift*: the distribution of life changes, the way the early curves reflect a given
life does not — so the model to learn is p(features | life), and the distribution of life of the cells to
predict is estimated from their own features, without their labels.

The model (p features, one latent):  x = a + b·y + e,  e ~ N(0, S),  y = log₁₀ cycle life, fitted by least
squares of each feature on y over the training cells. Prediction for a set of cells (the cells given to
``predict`` together — e.g. one folder, one batch — *transductive*: their features, never their labels):

1. each cell's classical estimate ŷᵢ = wᵀ(xᵢ − a), w = S⁻¹b / (bᵀS⁻¹b) (generalised least squares; its error
   variance is v = 1 / (bᵀS⁻¹b));
2. the set's own life distribution, from the ŷᵢ, robustly: centre m = median ŷ, spread s = 1.4826 · median |ŷ − m|
   (the MAD, scaled to a standard deviation for normal ŷ), τ² = max(s² − v, 0) — so that one dead or mislabelled
   cell in the folder cannot drag the others (with the mean and variance one flat cell, read at 10⁶ cycles, moved
   every other cell's prediction);
3. the posterior mean under that prior: m + k (ŷᵢ − m), k = τ² / (τ² + v).

With the training cells' prior (``transductive=False``, or fewer than :data:`MIN_CELLS` cells) this is least
squares exactly (a Gaussian p(x | y) with the training mean and variance of y gives the regression of y on x);
for a shifted set the centre follows the features with the unattenuated slope.

**A prediction depends on the set predicted with it.** The same cell gets another life in another folder: an
outside review (2026-12-05) trained on the 2017-06-30 batch and predicted the 2017-05-12 batch as one set (RMSE
106 cycles) and cell by cell (250: each cell alone falls back to the training prior); in random groups of 4 and of
5 cells the figures jump between the two (the :data:`MIN_CELLS` cliff). Predict one batch together, and treat
these models as an opt-in estimator (they are not among the default selection's candidates: ``model.py``).
"""

from __future__ import annotations

import numpy as np

from batteryloop.health.errors import HealthError

MIN_CELLS = 5
"""Fewest cells predicted together whose own spread of ŷ sets the prior (fixed before any scoring)."""
MAD_TO_SD = 1.4826
"""1 / Φ⁻¹(3/4): the median absolute deviation of a normal sample times this estimates its standard deviation."""


def _check_finite(name: str, a: np.ndarray) -> None:
    bad = np.flatnonzero(~np.all(np.isfinite(a.reshape(a.shape[0], -1)), axis=1))
    if bad.size:
        raise HealthError(f"inverse calibration: {name} not finite in row(s) {', '.join(map(str, bad[:10].tolist()))}")


class InverseCalibration:
    """Regressor (``fit`` / ``predict`` of log₁₀ life) of the module docstring; ``transductive=False`` always
    uses the training cells' prior (then it predicts like least squares)."""

    def __init__(self, transductive: bool = True, min_cells: int = MIN_CELLS) -> None:
        self.transductive = transductive
        self.min_cells = min_cells

    def fit(self, X: np.ndarray, y: np.ndarray) -> InverseCalibration:
        X = np.asarray(X, float)
        y = np.asarray(y, float).ravel()
        _check_finite("features", X)
        _check_finite("lives", y[:, None])
        n, p = X.shape
        if n < p + 3:
            raise HealthError(f"inverse calibration needs at least {p + 3} training cells for {p} features, got {n}")
        D = np.column_stack([np.ones(n), y])
        coef = np.linalg.lstsq(D, X, rcond=None)[0]
        self.a_, self.b_ = coef[0], coef[1]
        resid = X - D @ coef
        S = resid.T @ resid / (n - 1)  # /(n − 1) like var(y): with the training prior, exactly least squares
        info = float(self.b_ @ np.linalg.pinv(S) @ self.b_)
        moved = np.abs(self.b_) * y.std()  # how far each feature moves across the training lives
        if not np.isfinite(info) or info <= 0 or moved.max() <= 1e-9 * max(1.0, float(np.abs(X).max())):
            raise HealthError("inverse calibration: the features do not vary with life in the training cells")
        self.w_ = np.linalg.pinv(S) @ self.b_ / info
        self.noise_var_ = 1.0 / info
        self.y_mean_ = float(y.mean())
        self.y_var_ = float(y.var(ddof=1))
        return self

    def classical(self, X: np.ndarray) -> np.ndarray:
        """Each cell's classical estimate ŷ (log₁₀ life), no prior."""
        return (np.asarray(X, float) - self.a_) @ self.w_

    def prior(self, X: np.ndarray) -> tuple[float, float]:
        """Mean and variance of log₁₀ life of the cells ``X`` (from their features), or the training cells'."""
        yh = self.classical(X)
        if self.transductive and yh.size >= self.min_cells:
            m = float(np.median(yh))
            s = MAD_TO_SD * float(np.median(np.abs(yh - m)))
            return m, max(s * s - self.noise_var_, 0.0)
        return self.y_mean_, self.y_var_

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, float)
        _check_finite("features", X)
        yh = self.classical(X)
        m, tau2 = self.prior(X)
        return m + tau2 / (tau2 + self.noise_var_) * (yh - m)
