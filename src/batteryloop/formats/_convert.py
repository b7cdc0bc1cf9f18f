"""Shared machinery of the importers: read a foreign payload field by field into our two parts,
remember where every value came from, and turn every problem into ``{field, rule, message, value}``.

Strict mode collects every problem and raises one :class:`~batteryloop.errors.InvalidData`; lenient
mode drops each invalid value (and says why in the report) and builds what remains valid.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import InvalidData
from ..passport.model import BatteryData, BatteryModelData
from ..passport.redact import BATTERY_TIERS, MODEL_TIERS
from ..passport.tiers import Tier
from .base import NOT_DECLARED, WITHHELD, ImportResult, MappingReport, PassportParts

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MISSING = object()


def path_get(obj: Any, path: str, default: Any = None) -> Any:
    """``obj`` at a dotted path (``a.b[0].c``); ``default`` when any step is absent."""
    cur = obj
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(cur, list) or i >= len(cur):
                return default
            cur = cur[i]
        else:
            if not isinstance(cur, Mapping) or part not in cur:
                return default
            cur = cur[part]
    return cur


def tier_of(target: str) -> Tier | None:
    """The access tier of one of our fields, ``model.x`` or ``battery.x`` (top-level name decides)."""
    part, _, rest = target.partition(".")
    name = rest.split(".")[0].split("[")[0]
    return (MODEL_TIERS if part == "model" else BATTERY_TIERS).get(name)


class Placeholders:
    """Record values a target schema requires and the passport does not hold."""

    def __init__(self, parts: PassportParts, report: MappingReport) -> None:
        self.parts = parts
        self.report = report
        self.paths: list[str] = []

    def reason(self, ours: str | None) -> str:
        if ours is not None:
            t = tier_of(ours)
            if t is not None and t not in self.parts.tiers:
                return WITHHELD
            return f"{NOT_DECLARED} ({ours} is empty)"
        return f"{NOT_DECLARED} (no batteryloop field)"

    def __call__(self, path: str, value: Any, ours: str | None = None) -> Any:
        self.paths.append(path)
        self.report.placeholder(path, self.reason(ours))
        return value

    def text(self, path: str, ours: str | None = None) -> str:
        r = self.reason(ours)
        return self(path, WITHHELD if r == WITHHELD else NOT_DECLARED, ours)


class Collector:
    """Collect our fields from a source payload; each value remembers its source path."""

    def __init__(self, fmt: str, lenient: bool, skip: Iterable[str] = ()) -> None:
        self.report = MappingReport(fmt)
        self.lenient = lenient
        self.skip = set(skip)
        self.data: dict[str, dict[str, Any]] = {"model": {}, "battery": {}}
        self.origin: dict[str, str] = {}
        self.errors: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ problems
    def error(self, source: str, rule: str, message: str, value: Any, target: str | None = None) -> None:
        arrow = f" (→ {target})" if target else ""
        e = {"field": source, "rule": rule, "message": f"{source}{arrow}: {message}", "value": value}
        if target:
            e["target"] = target
        self.errors.append(e)

    # ------------------------------------------------------------------ values
    def put(self, target: str, value: Any, source: str) -> None:
        """Set ``model.a.b`` / ``battery.a`` (nested dicts created) unless ``value`` is None."""
        if value is None or source in self.skip:
            return
        part, _, rest = target.partition(".")
        keys = rest.split(".")
        cur = self.data[part]
        for k in keys[:-1]:
            cur = cur.setdefault(k, {})
        cur[keys[-1]] = value
        self.origin[target] = source

    def append(self, target: str, value: Any, source: str) -> None:
        if value is None or source in self.skip:
            return
        part, _, rest = target.partition(".")
        keys = rest.split(".")
        cur = self.data[part]
        for k in keys[:-1]:
            cur = cur.setdefault(k, {})
        lst = cur.setdefault(keys[-1], [])
        self.origin[f"{target}[{len(lst)}]"] = source
        lst.append(value)
        self.origin.setdefault(target, source.rsplit("[", 1)[0] if source.endswith("]") else source)

    def has(self, target: str) -> bool:
        part, _, rest = target.partition(".")
        return path_get(self.data[part], rest, _MISSING) is not _MISSING

    # ------------------------------------------------------------------ typed readers
    def number(self, value: Any, source: str, target: str | None = None) -> float | None:
        if value is None or source in self.skip:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(source, "number", f"{value!r} is not a number", value, target)
            return None
        if not math.isfinite(value):
            self.error(source, "number", f"{value!r} is not a finite number", value, target)
            return None
        return float(value)

    def integer(self, value: Any, source: str, target: str | None = None) -> int | None:
        f = self.number(value, source, target)
        if f is None:
            return None
        if f != int(f):
            self.error(source, "integer", f"{value!r} is not a whole number", value, target)
            return None
        return int(f)

    def text(self, value: Any, source: str, target: str | None = None) -> str | None:
        if value is None or source in self.skip:
            return None
        if not isinstance(value, str):
            self.error(source, "string", f"{value!r} is not text", _short(value), target)
            return None
        value = value.strip()
        if value in ("", NOT_DECLARED, WITHHELD):
            return None
        return value

    def date(self, value: Any, source: str, target: str | None = None) -> str | None:
        """A real calendar date ``YYYY-MM-DD`` (the schemas' patterns accept month 75 and day 08 of it)."""
        text = self.text(value, source, target)
        if text is None:
            return None
        m = _DATE_RE.match(text[:10]) if len(text) in (10,) else None
        if not m:
            self.error(source, "date", f"{text!r} is not a date of the form YYYY-MM-DD", text, target)
            return None
        y, mo, d = map(int, m.groups())
        try:
            date(y, mo, d)
        except ValueError as exc:
            self.error(source, "date", f"{text!r} is not a calendar date ({exc})", text, target)
            return None
        if y > datetime.now(UTC).year + 50:
            self.error(source, "date", f"{text!r} is implausible: year {y} is more than 50 years ahead", text, target)
            return None
        return text

    def datetime(self, value: Any, source: str, target: str | None = None) -> str | None:
        text = self.text(value, source, target)
        if text is None:
            return None
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            self.error(source, "datetime", f"{text!r} is not an ISO 8601 date-time", text, target)
            return None
        if dt.tzinfo is None:  # IDTA examples omit the offset: read them as UTC, say so
            self.report.unmap(source, text, "date-time without a time zone, read as UTC")
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC).isoformat()

    def order(self, lo_target: str, hi_target: str, *, strict: bool = True) -> None:
        """Flag a range whose lower bound is not below its upper bound (both dropped in lenient mode)."""
        lo_part, _, lo_key = lo_target.partition(".")
        hi_part, _, hi_key = hi_target.partition(".")
        lo = path_get(self.data[lo_part], lo_key)
        hi = path_get(self.data[hi_part], hi_key)
        if lo is None or hi is None:
            return
        bad = lo >= hi if strict else lo > hi
        if bad:
            src_lo, src_hi = self.origin.get(lo_target, lo_target), self.origin.get(hi_target, hi_target)
            self.error(src_lo, "range_order",
                       f"lower bound {lo} is not below the upper bound {hi} ({src_hi}): the range is reversed",
                       lo, lo_target)
            self._remove(lo_target)
            self._remove(hi_target)
            if self.lenient:
                self.report.dropped.append({**self.errors[-1], "field": src_hi, "value": hi})

    def _remove(self, target: str) -> None:
        part, _, rest = target.partition(".")
        keys = rest.split(".")
        cur = self.data[part]
        for k in keys[:-1]:
            cur = cur.get(k, {})
        cur.pop(keys[-1], None)

    # ------------------------------------------------------------------ build
    def source_of(self, target: str) -> str:
        t = target
        while t:
            if t in self.origin:
                return self.origin[t]
            if "." not in t and "[" not in t:
                break
            t = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", t)
        return "(no source field)"

    def finish(self, defaults: Mapping[str, Any] | None = None, *, required: Iterable[str] = ()) -> ImportResult:
        """Validate into our models. Strict: raise every problem at once. Lenient: drop and report.

        ``required``: fields (``battery.status``) our model would fill with a default that the payload must
        state itself or the caller give as a default; without one the part is not built and the field is
        listed in ``report.missing`` (a battery whose status a reader's tier withheld is not 'original')."""
        for key, value in (defaults or {}).items():
            part, _, name = key.partition(".") if key.startswith(("model.", "battery.")) else ("", "", key)
            parts = [part] if part else [p for p in ("model", "battery") if name in
                                         (BatteryModelData.model_fields if p == "model" else BatteryData.model_fields)]
            for p in parts:
                if name not in self.data[p]:
                    self.data[p][name] = value
                    self.origin[f"{p}.{name}"] = f"(default {key})"
        if "model_id" in self.data["model"] and "model_id" not in self.data["battery"]:
            self.data["battery"]["model_id"] = self.data["model"]["model_id"]
            self.origin.setdefault("battery.model_id", self.origin.get("model.model_id", "(model)"))
        self.defaults = dict(defaults or {})
        unstated = set()
        for path in required:
            part, _, name = path.partition(".")
            if name not in self.data[part]:
                unstated.add(part)
                if path not in self.report.missing:
                    self.report.missing.append(path)
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for e in self.errors:
            unique.setdefault((e["field"], e["rule"]), e)
        self.errors = list(unique.values())
        if self.lenient:
            seen = {id(e) for e in self.report.dropped}
            self.report.dropped.extend(e for e in self.errors if id(e) not in seen)
        # a part with an unstated required field is still validated, so that every problem of it is reported
        # (lenient: dropped; strict: refused), and then not built
        model = self._validate("model", BatteryModelData)
        battery = self._validate("battery", BatteryData)
        if self.errors and not self.lenient:
            raise _invalid(self.report.format, self.errors + [
                {"field": f, "rule": "required", "value": None, "message": f"{f}: required by batteryloop and not in "
                 f"the {self.report.format} payload; give it as a default"} for f in self.report.missing])
        model = None if "model" in unstated else model
        battery = None if "battery" in unstated else battery
        return ImportResult(model, battery, self.report, dict(self.data["model"]), dict(self.data["battery"]),  # type: ignore[arg-type]
                            dict(self.origin))

    def _validate(self, part: str, cls: type[BaseModel]) -> Any:
        data = self.data[part]
        for _ in range(200):
            try:
                return cls.model_validate(data)
            except ValidationError as exc:
                problems = exc.errors(include_url=False)
                fixed = False
                incomplete = False
                for e in problems:
                    loc = [str(x) if not isinstance(x, int) else x for x in e["loc"]]
                    target = part + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc)
                    msg = e["msg"].removeprefix("Value error, ")
                    src = self.source_of(target) if loc else "(record)"
                    if e["type"] == "missing" and len(loc) > 1:  # an incomplete nested value: invalid
                        loc = loc[:-1]
                        msg = f"{msg}: {e['loc'][-1]} is missing"
                        target = part + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc)
                        src = self.source_of(target)
                    elif e["type"] == "missing":
                        if target not in self.report.missing:
                            self.report.missing.append(target)
                        incomplete = True
                        continue
                    rule = e["type"]
                    err = {"field": src, "rule": rule, "value": _short(e.get("input")),
                           "message": f"{src} (→ {target}): {msg}", "target": target}
                    if not self.lenient:
                        self.errors.append(err)
                        continue
                    if not loc:
                        self.report.dropped.append({**err, "message": err["message"] + f"; {part} not built"})
                        return None
                    self.report.dropped.append(err)
                    self._drop(data, loc)
                    if len(loc) == 1 and loc[0] in self.defaults:
                        data[loc[0]] = self.defaults[loc[0]]
                        self.origin[f"{part}.{loc[0]}"] = f"(default {loc[0]})"
                    fixed = True
                    break
                if not self.lenient or not fixed:
                    return None
                if incomplete and not fixed:
                    return None
        return None

    @staticmethod
    def _drop(data: dict[str, Any], loc: list[Any]) -> None:
        """Remove the invalid value itself — the innermost object member or list element at ``loc`` — so that the
        valid members around it stay. An object left incomplete by it (a required member gone) is named by the next
        validation pass and dropped in its turn, with its own path; an object-level rule (``loc`` ends at the
        object) drops the object."""
        cur: Any = data
        trail: list[tuple[Any, Any]] = []
        for k in loc:
            trail.append((cur, k))
            try:
                cur = cur[k]
            except (KeyError, IndexError, TypeError):
                break
        for container, key in reversed(trail):  # the innermost step that is a real member or element
            if isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container):
                container.pop(key)
                return
            if isinstance(container, dict) and key in container:
                container.pop(key)
                return
        data.pop(loc[0], None)


def _invalid(fmt: str, errors: list[dict[str, Any]]) -> InvalidData:
    first = errors[0]["message"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidData(f"invalid {fmt} payload: {first}{more}", errors)


def _short(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value if not isinstance(value, str) or len(value) <= 200 else value[:200] + "…"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def r9(x: float) -> float:
    """Round away the float noise of a unit conversion (1e-9 relative is far below any sensor)."""
    return float(f"{x:.12g}")
