"""Lifetime models: early cycle-life prediction (Severson et al. 2019 data layout) and remaining
useful life from a capacity history."""

from batteryloop.health.lifetime.data import CurveSet, load_curve_set
from batteryloop.health.lifetime.model import (
    CANDIDATES,
    LifetimeModel,
    evaluate,
    mean_pct_error,
    rmse,
    train,
    write_predictions,
)

__all__ = [
    "CANDIDATES",
    "CurveSet",
    "LifetimeModel",
    "evaluate",
    "load_curve_set",
    "mean_pct_error",
    "rmse",
    "train",
    "write_predictions",
]
