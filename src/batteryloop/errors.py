"""Errors the services raise; adapters turn them into RFC 9457 problems, CLI messages or reports.

Every error names what is wrong: the field, the value and the rule where there is one.
"""

from __future__ import annotations

import re

from typing import Any

from pydantic import ValidationError


class BatteryloopError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(BatteryloopError):
    status = 404
    title = "Not found"


class Unauthorized(BatteryloopError):
    status = 401
    title = "Unauthorized"


class Forbidden(BatteryloopError):
    status = 403
    title = "Forbidden"


class Conflict(BatteryloopError):
    status = 409
    title = "Conflict"


class InvalidData(BatteryloopError):
    """Input that breaks a rule; ``errors`` lists ``{field, rule, message, value}`` for each problem."""

    status = 422
    title = "Invalid data"

    def __init__(self, detail: str, errors: list[dict[str, Any]], **extra: Any) -> None:
        super().__init__(detail, errors=errors, **extra)
        self.errors = errors


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return _short(out) if out else "(record)"  # a location can hold the caller's own (long) dict keys


def _short(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return str(value)  # JSON encoders refuse integers past 64 bits
    if isinstance(value, str | int | float | bool) or value is None:
        return value if not isinstance(value, str) or len(value) <= 200 else value[:200] + "…"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def from_validation_error(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    """Turn a pydantic error into ``[{field, rule, message, value}]`` naming each field."""
    out = []
    for e in exc.errors(include_url=False):
        field = _loc(tuple(e["loc"]))
        if prefix:
            field = f"{prefix}.{field}" if field != "(record)" else prefix
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if field in ("(record)", prefix):
            field, msg = record_error_field(field, msg, prefix)
        out.append({"field": field, "rule": e["type"], "message": f"{field}: {msg}", "value": _short(e.get("input"))})
    return out


#: "field: message" or "field.sub[0]: message" at the head of a record-level validator's message
_NAMED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*): ")


def record_error_field(field: str, msg: str, prefix: str = "") -> tuple[str, str]:
    """A record-level check that names its field at the head of its message ("target: …",
    "params.threshold_pct: …") is about that field: ``(field, message without the name)``; else unchanged."""
    named = _NAMED.match(msg)
    if not named:
        return field, msg
    where = named.group(1)
    return (f"{prefix}.{where}" if prefix else where), msg[named.end():]


def invalid(exc: ValidationError, what: str, prefix: str = "") -> InvalidData:
    errors = from_validation_error(exc, prefix)
    first = errors[0]["message"] if errors else "invalid"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidData(f"invalid {what}: {first}{more}", errors)


def deny(anonymous: bool, detail: str) -> BatteryloopError:
    """403 for a known caller without the right; 401 for an anonymous one (signing in may help)."""
    if anonymous:
        return Unauthorized(f"{detail} (sign in with a participant's token)")
    return Forbidden(detail)
