"""The hubs' error types: :class:`HubInputError` is a :class:`~batteryloop.circular.errors.CircularInputError`
(field, value, rule), so that adapters map it the same way (422 problem+json); :class:`DispatchError` is a
500 "Solver failed". Both are :class:`~batteryloop.errors.BatteryloopError` s."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from ..circular.errors import CircularInputError
from ..errors import BatteryloopError


class HubInputError(CircularInputError):
    """Bad hub, pack, profile or signal input. ``field`` names the input, ``rule`` what it must be."""


class DispatchError(BatteryloopError, RuntimeError):
    """The solver did not return an optimal schedule (the message says why)."""

    status = 500
    title = "Solver failed"


def from_validation(exc: ValidationError, prefix: str = "") -> HubInputError:
    """The first error of a pydantic validation as a :class:`HubInputError` naming the field."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "input")
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    return HubInputError(field, err.get("input"), msg)


def finite_array(field: str, values: Any, length: int | None = None, *, min_value: float | None = 0.0) -> Any:
    """A float array, finite, of ``length`` if given, every value ≥ ``min_value`` if given."""
    import numpy as np

    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise HubInputError(field, values, "must be a list of numbers") from None
    if a.ndim != 1:
        raise HubInputError(field, values, "must be a flat list of numbers")
    if length is not None and a.size != length:
        raise HubInputError(field, f"<{a.size} values>", f"must hold exactly {length} values")
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        raise HubInputError(f"{field}[{bad[0]}]", float(a[bad[0]]), "must be a finite number")
    if min_value is not None:
        low = np.flatnonzero(a < min_value)
        if low.size:
            raise HubInputError(f"{field}[{low[0]}]", float(a[low[0]]), f"must be {min_value:g} or more")
    return a


def positive(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise HubInputError(field, value, "must be a finite number greater than 0")
    return float(value)
