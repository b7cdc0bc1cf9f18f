"""The one error type of the circular package: it names the field, the value, the rule and the fix.

It is the platform's :class:`~batteryloop.errors.InvalidData` (422, with one ``errors`` entry naming the field,
the rule and the value), so every adapter maps it as it maps any of our errors; it stays a ``ValueError``
for the code that catches bad input as one."""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidData


class CircularInputError(InvalidData, ValueError):
    """Bad input to a circular calculation.

    ``field`` is the argument (or dotted path) at fault, ``value`` what was given, ``rule`` what it must be.
    """

    def __init__(self, field: str, value: Any, rule: str):
        self.field = field
        self.value = value
        self.rule = rule
        message = f"{field}={value!r}: {rule}"
        super().__init__(message, [{"field": field, "rule": rule, "message": message, "value": value}])


def require_positive(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise CircularInputError(field, value, "must be a finite number greater than 0")
    return float(value)


def require_non_negative(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise CircularInputError(field, value, "must be a finite number, 0 or more")
    return float(value)


def require_fraction(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
        raise CircularInputError(field, value, "must be a fraction between 0 and 1 (write 0.85, not 85)")
    return float(value)


def require_finite(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CircularInputError(field, value, "must be a finite number")
    return float(value)
