"""Which repurposed packs go into which hub: grades and states of health → balanced strings → hubs.

Rules, in order:

1. **Exclusions.** A pack graded ``recycle`` (or ``D``/``rejected``), or with a blocking safety flag, is
   excluded; so is, by default, a pack with *any* safety flag (``exclude_flagged=False`` admits packs
   whose only flags are non-blocking — those already lowered the grade in
   :func:`batteryloop.health.grade`). A grade a hub does not accept keeps the pack out of that hub.
2. **Balanced strings.** Packs in series carry the same current, so the weakest pack limits the string.
   Within one chemistry family, packs sorted by usable energy (nominal × state of health) are cut into
   runs of ``packs_per_string``; a run whose usable energies spread more than ``max_spread_fraction``
   of its largest is not built: its strongest pack is set aside and the window moves on by one. On
   sorted packs this greedy cut minimises the spread of each string.
3. **Hubs.** Strings, largest first, go to the accepting hub whose target energy is furthest from
   being met (a string only goes to hubs that accept all its packs' grades), until every target is met
   or the strings run out.

The result says, for every pack, where it went or why it did not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .errors import HubInputError
from .storage import Pack, StorageString, chemistry_family

RECYCLE_GRADES = frozenset({"recycle", "D", "rejected"})


class HubSlot(BaseModel):
    """What a hub asks for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hub: str = Field(min_length=1)
    target_energy_kwh: float = Field(gt=0)
    packs_per_string: int = Field(4, ge=1, le=64)
    accept_grades: tuple[str, ...] = ("A", "B", "C")
    chemistry_families: tuple[str, ...] | None = None  # None: any


class BuiltString(BaseModel):
    model_config = ConfigDict(frozen=True)

    string: StorageString
    usable_energy_kwh: float  # n × weakest pack
    spread_fraction: float  # (max − min) / max of the packs' usable energy
    hub: str | None = None


class Assembly(BaseModel):
    model_config = ConfigDict(frozen=True)

    hubs: dict[str, list[BuiltString]]
    hub_energy_kwh: dict[str, float]
    excluded: dict[str, str]  # pack_id → why
    set_aside: dict[str, str]  # pack_id → why (usable, but no balanced string or no hub needed it)
    rules: dict[str, Any]

    def strings_for(self, hub: str) -> list[StorageString]:
        return [b.string for b in self.hubs.get(hub, [])]


def _flags(pack: Pack, extra: Sequence[Any] | None) -> list[tuple[str, bool]]:
    """(code, blocking) of a pack's flags: from ``pack.safety_flags`` (blocking unknown → blocking) and
    from :class:`batteryloop.health.grading.SafetyFlag` objects."""
    out = [(c, True) for c in pack.safety_flags]
    for f in extra or ():
        code = getattr(f, "code", None) or (f.get("code") if isinstance(f, Mapping) else str(f))
        blocking = getattr(f, "blocking", None)
        if blocking is None and isinstance(f, Mapping):
            blocking = f.get("blocking", True)
        out.append((str(code), bool(True if blocking is None else blocking)))
    return out


def assemble(packs: Sequence[Pack], slots: Sequence[HubSlot | Mapping[str, Any]], *,
             grades: Mapping[str, Any] | None = None, max_spread_fraction: float = 0.05,
             exclude_flagged: bool = True) -> Assembly:
    """Build balanced strings from ``packs`` and distribute them over hubs ``slots``.

    ``grades`` maps pack id → a :class:`batteryloop.health.GradeResult` (its grade and safety flags are
    used) or a grade string; otherwise ``pack.grade`` and ``pack.safety_flags`` are used.
    """
    if not 0 <= max_spread_fraction < 1:
        raise HubInputError("max_spread_fraction", max_spread_fraction, "must lie in [0, 1) (write 0.05, not 5)")
    hubs = [s if isinstance(s, HubSlot) else HubSlot.model_validate(s) for s in slots]
    if not hubs:
        raise HubInputError("slots", [], "give at least one hub slot")
    names = [h.hub for h in hubs]
    if len(set(names)) != len(names):
        raise HubInputError("slots.hub", names, "hub names must be unique")
    sizes = {h.packs_per_string for h in hubs}
    excluded: dict[str, str] = {}
    usable: list[tuple[Pack, str]] = []
    seen: set[str] = set()
    for p in packs:
        if p.pack_id in seen:
            raise HubInputError("packs.pack_id", p.pack_id, "appears more than once")
        seen.add(p.pack_id)
        g = (grades or {}).get(p.pack_id)
        grade = getattr(g, "grade", g) if g is not None else p.grade
        flags = _flags(p, getattr(g, "safety_flags", None))
        blocking = [c for c, b in flags if b]
        if blocking:
            excluded[p.pack_id] = f"blocking safety flag(s): {', '.join(blocking)}"
        elif grade is not None and grade in RECYCLE_GRADES:
            excluded[p.pack_id] = f"grade {grade}: recycle"
        elif exclude_flagged and flags:
            excluded[p.pack_id] = f"safety flag(s): {', '.join(c for c, _ in flags)} (exclude_flagged)"
        else:
            usable.append((p, grade or "C"))
    set_aside: dict[str, str] = {}
    built: list[tuple[BuiltString, set[str], str]] = []  # string, grades, family
    for n in sorted(sizes, reverse=True):
        for fam in sorted({chemistry_family(p.chemistry) for p, _ in usable}):
            pool = sorted(((p, g) for p, g in usable if chemistry_family(p.chemistry) == fam and p.pack_id not in set_aside
                           and not any(p.pack_id in {q.pack_id for q in b.string.packs} for b, _, _ in built)),
                          key=lambda x: -x[0].usable_energy_kwh)
            i = 0
            while i + n <= len(pool):
                window = pool[i:i + n]
                e = [p.usable_energy_kwh for p, _ in window]
                spread = (max(e) - min(e)) / max(e)
                if spread <= max_spread_fraction + 1e-12:
                    sid = f"{fam}-{n}x-" + "+".join(p.pack_id for p, _ in window)[:60]
                    built.append((BuiltString(string=StorageString(string_id=sid, packs=tuple(p for p, _ in window)),
                                              usable_energy_kwh=n * min(e), spread_fraction=spread),
                                  {g for _, g in window}, fam))
                    i += n
                else:
                    i += 1
    in_string = {q.pack_id for b, _, _ in built for q in b.string.packs}
    for p, _ in usable:
        if p.pack_id not in in_string:
            set_aside[p.pack_id] = f"no balanced string (spread ≤ {max_spread_fraction:.0%}) of this chemistry and size"
    need = {h.hub: h.target_energy_kwh for h in hubs}
    placed: dict[str, list[BuiltString]] = {h.hub: [] for h in hubs}
    for b, gs, fam in sorted(built, key=lambda x: -x[0].usable_energy_kwh):
        ok = [h for h in hubs if len(b.string.packs) == h.packs_per_string and gs <= set(h.accept_grades)
              and (h.chemistry_families is None or fam in h.chemistry_families) and need[h.hub] > 1e-9]
        if not ok:
            for q in b.string.packs:
                set_aside[q.pack_id] = "in a balanced string no hub needed or accepted"
            continue
        h = max(ok, key=lambda x: need[x.hub])
        placed[h.hub].append(b.model_copy(update={"hub": h.hub}))
        need[h.hub] -= b.usable_energy_kwh
    return Assembly(
        hubs=placed,
        hub_energy_kwh={k: sum(b.usable_energy_kwh for b in v) for k, v in placed.items()},
        excluded=excluded, set_aside=set_aside,
        rules={"max_spread_fraction": max_spread_fraction, "exclude_flagged": exclude_flagged,
               "recycle_grades": sorted(RECYCLE_GRADES)},
    )


def hub_configs(assembly: Assembly, template: Mapping[str, Any] | None = None,
                per_hub: Mapping[str, Mapping[str, Any]] | None = None) -> list[Any]:
    """One :class:`~.hub.HubConfig` per hub that got strings: ``template`` (PV, grid, demand…) updated by
    ``per_hub[name]``, with the assembled strings as its storage."""
    from .hub import parse_hub

    out = []
    for name, built in assembly.hubs.items():
        if not built:
            continue
        cfg = {**(template or {}), **((per_hub or {}).get(name, {})), "name": name,
               "strings": [b.string.model_dump() for b in built], "packs": []}
        out.append(parse_hub(cfg))
    return out
