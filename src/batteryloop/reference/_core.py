"""The machinery behind the reference data: sets, citations, overrides and a record of what was used.

A :class:`ReferenceSet` is one source's numbers (a nested mapping whose table names carry the units)
with its :class:`Citation`. :class:`References` holds the sets a calculation reads; its
:meth:`References.override` returns a copy with some values replaced (from a dict, a TOML file or a
YAML file), and every calculation reads values through a :class:`Tracker`, so that its result lists
each value it used, the set it came from, the source and date, and whether it was overridden.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..errors import BatteryloopError


class ReferenceDataError(BatteryloopError, KeyError):
    """A reference value is missing, unknown or invalid. The message names the key and the fix (400)."""

    title = "Invalid reference data"

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Citation:
    """Where a set of numbers comes from."""

    title: str
    publisher: str
    date: str  # ISO date or year of the source's version
    url: str | None = None
    verified: bool = True  # False: came from secondary sources; keep as an overridable default
    note: str = ""

    def short(self) -> str:
        flag = "" if self.verified else " (unverified)"
        return f"{self.publisher}, {self.title} ({self.date}){flag}"


class ReferenceValue(BaseModel):
    """One value a calculation used: which set, which key, the value, and its source."""

    model_config = ConfigDict(frozen=True)

    set: str
    key: str
    value: float | int | str | bool | None
    source: str
    verified: bool
    overridden: bool = False


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@dataclass(frozen=True)
class ReferenceSet:
    """One source's numbers.

    ``values`` is a nested mapping; leaves are numbers or strings. ``extensible`` lists the tables
    (dotted paths) to which an override may add new keys (e.g. a grid factor for a new country);
    elsewhere an override may only replace an existing key, so that a typo fails loudly.
    ``notes`` explains values per dotted key (e.g. why a recovery is 0). ``moved`` lists keys this set once had
    that now live elsewhere: dotted old key → where it lives now (``set.key``, with a word on a changed unit);
    an override of one is refused naming its new place, rather than reported as merely unknown.
    """

    name: str
    citation: Citation
    values: Mapping[str, Any]
    extensible: frozenset[str] = frozenset()
    notes: Mapping[str, str] = field(default_factory=dict)
    overridden: frozenset[str] = frozenset()
    moved: Mapping[str, str] = field(default_factory=dict)

    def get(self, *path: str) -> Any:
        node: Any = self.values
        walked: list[str] = []
        for part in path:
            if not isinstance(node, Mapping) or part not in node:
                where = ".".join([self.name, *walked]) or self.name
                known = sorted(node) if isinstance(node, Mapping) else []
                raise ReferenceDataError(
                    f"reference value {'.'.join([self.name, *path])!r} does not exist: {where} has no "
                    f"key {part!r} (known: {', '.join(map(str, known)) or 'none'}); add it with an override "
                    f"or pick a known key"
                )
            node = node[part]
            walked.append(part)
        return node

    def has(self, *path: str) -> bool:
        try:
            self.get(*path)
        except ReferenceDataError:
            return False
        return True

    def leaves(self) -> Iterator[tuple[str, Any]]:
        def walk(prefix: str, node: Any) -> Iterator[tuple[str, Any]]:
            if isinstance(node, Mapping):
                for k, v in node.items():
                    yield from walk(f"{prefix}.{k}" if prefix else str(k), v)
            else:
                yield prefix, node

        yield from walk("", self.values)

    def with_overrides(self, overrides: Mapping[str, Any]) -> ReferenceSet:
        values = copy.deepcopy(dict(self.values))
        changed: set[str] = set(self.overridden)

        def apply(target: dict[str, Any], patch: Mapping[str, Any], prefix: str) -> None:
            for key, new in patch.items():
                key = str(key)
                dotted = f"{prefix}.{key}" if prefix else key
                if key not in target:
                    if dotted in self.moved:
                        raise ReferenceDataError(
                            f"override {self.name}.{dotted}: this key has moved to {self.moved[dotted]}; "
                            f"override that instead"
                        )
                    if prefix not in self.extensible:
                        known = ", ".join(sorted(map(str, target)))
                        raise ReferenceDataError(
                            f"override {self.name}.{dotted}: unknown key {key!r} in {self.name}.{prefix or '<root>'} "
                            f"(known: {known}); only these tables accept new keys: "
                            f"{', '.join(sorted(self.extensible)) or 'none'}"
                        )
                    _check_leaf(self.name, dotted, new, sibling=next(iter(target.values()), None))
                    target[key] = copy.deepcopy(new)
                    changed.update(_leaf_paths(dotted, new))
                    continue
                old = target[key]
                if isinstance(old, dict):
                    if not isinstance(new, Mapping):
                        raise ReferenceDataError(
                            f"override {self.name}.{dotted}: expected a table (mapping), got {new!r}"
                        )
                    apply(old, new, dotted)
                else:
                    _check_leaf(self.name, dotted, new, sibling=old)
                    target[key] = new
                    changed.add(dotted)

        apply(values, overrides, "")
        return ReferenceSet(
            name=self.name,
            citation=self.citation,
            values=values,
            extensible=self.extensible,
            notes=self.notes,
            overridden=frozenset(changed),
            moved=self.moved,
        )


def _leaf_paths(prefix: str, node: Any) -> list[str]:
    if isinstance(node, Mapping):
        out: list[str] = []
        for k, v in node.items():
            out.extend(_leaf_paths(f"{prefix}.{k}", v))
        return out
    return [prefix]


def _check_leaf(set_name: str, dotted: str, new: Any, sibling: Any) -> None:
    if isinstance(new, Mapping):
        for k, v in new.items():
            inner = sibling.get(k) if isinstance(sibling, Mapping) else None
            _check_leaf(set_name, f"{dotted}.{k}", v, inner if inner is not None else None)
        return
    if _is_number(sibling) or (sibling is None and _is_number(new)):
        if not _is_number(new) or not math.isfinite(float(new)):
            raise ReferenceDataError(f"override {set_name}.{dotted} = {new!r}: must be a finite number")
        if any(part.endswith("_fraction") for part in dotted.split(".")) and not 0 <= new <= 1:
            raise ReferenceDataError(
                f"override {set_name}.{dotted} = {new!r}: a *_fraction must lie in [0, 1] (write 0.9, not 90)"
            )


_default_sets: Callable[[], list[ReferenceSet]] | None = None


def register_default_sets(sets: Callable[[], list[ReferenceSet]]) -> None:
    """Name the function that lists the default sets (the package does, when it is imported: the set
    modules import this one, so this module does not import them)."""
    global _default_sets
    _default_sets = sets


class References:
    """The reference sets a calculation may read, by name. Immutable: ``override`` returns a copy."""

    def __init__(self, sets: Mapping[str, ReferenceSet]):
        self._sets = dict(sets)

    @classmethod
    def default(cls) -> References:
        if _default_sets is None:
            raise ReferenceDataError("no default reference sets: import batteryloop.reference")
        return cls({s.name: s for s in _default_sets()})

    def __contains__(self, name: str) -> bool:
        return name in self._sets

    def names(self) -> list[str]:
        return sorted(self._sets)

    def set(self, name: str) -> ReferenceSet:
        try:
            return self._sets[name]
        except KeyError:
            raise ReferenceDataError(
                f"unknown reference set {name!r} (known: {', '.join(sorted(self._sets))})"
            ) from None

    def override(self, overrides: Mapping[str, Mapping[str, Any]] | None) -> References:
        """A copy with values replaced: ``{"everbatt_2023": {"price_usd_per_kg": {"Li2CO3": 14.0}}}``."""
        if not overrides:
            return self
        sets = dict(self._sets)
        for name, patch in overrides.items():
            if not isinstance(patch, Mapping):
                raise ReferenceDataError(f"override for set {name!r} must be a table (mapping), got {patch!r}")
            sets[name] = self.set(name).with_overrides(patch)
        return References(sets)

    def override_file(self, path: str | Path) -> References:
        """A copy with the overrides of a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file applied."""
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        if p.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif p.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ReferenceDataError(f"override file {str(p)!r}: use a .toml, .yaml or .yml file")
        if not isinstance(data, Mapping):
            raise ReferenceDataError(f"override file {str(p)!r}: top level must be a table of set names")
        return self.override(data)

    def tracker(self) -> Tracker:
        return Tracker(self)

    def describe(self) -> list[dict[str, Any]]:
        """The sets, their sources and overridden keys: for documentation and reports."""
        return [
            {
                "set": s.name,
                "source": s.citation.short(),
                "url": s.citation.url,
                "verified": s.citation.verified,
                "overridden": sorted(s.overridden),
            }
            for s in (self._sets[n] for n in sorted(self._sets))
        ]


class Tracker:
    """Reads reference values and remembers each one, for the result's ``references`` list."""

    def __init__(self, refs: References):
        self.refs = refs
        self._used: dict[tuple[str, str], ReferenceValue] = {}

    def get(self, set_name: str, *path: str) -> Any:
        s = self.refs.set(set_name)
        value = s.get(*path)
        if not isinstance(value, Mapping):
            self._record(s, ".".join(path), value)
        return value

    def table(self, set_name: str, *path: str) -> dict[str, Any]:
        """A whole table (one level); records each leaf read."""
        s = self.refs.set(set_name)
        node = s.get(*path)
        if not isinstance(node, Mapping):
            raise ReferenceDataError(f"{set_name}.{'.'.join(path)} is a value, not a table")
        out: dict[str, Any] = {}
        for k, v in node.items():
            out[k] = v
            if not isinstance(v, Mapping):
                self._record(s, ".".join([*path, str(k)]), v)
        return out

    def _record(self, s: ReferenceSet, key: str, value: Any) -> None:
        self._used[(s.name, key)] = ReferenceValue(
            set=s.name,
            key=key,
            value=value,
            source=s.citation.short(),
            verified=s.citation.verified,
            overridden=key in s.overridden,
        )

    def record_input(self, key: str, value: Any) -> None:
        """Record a caller-supplied value that replaced a reference value (e.g. a price given as input)."""
        self._used[("input", key)] = ReferenceValue(
            set="input", key=key, value=value, source="caller input", verified=True, overridden=True
        )

    def merge(self, values: list[ReferenceValue]) -> None:
        """Add values another calculation recorded (e.g. a sub-result's ``references``)."""
        for v in values:
            self._used[(v.set, v.key)] = v

    def used(self) -> list[ReferenceValue]:
        return [self._used[k] for k in sorted(self._used)]
