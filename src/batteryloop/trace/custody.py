"""Custody: who holds a subject and where it is, as each event changes it; regions for outflow checks.

One pure function, :func:`custody_update`, says how an event changes a subject's custody state. The
ledger applies it on every append (the ``trace_custody`` table) and :func:`custody_history` replays it
over a chain, so the current state and the history never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

Role = Literal["subject", "input", "output"]

END_OF_LIFE_KINDS = frozenset({"dismantling", "recycling", "material_recovery"})
SECOND_LIFE_KINDS = frozenset({"reuse", "repurposing", "remanufacturing"})
PRODUCT_KINDS = frozenset({"pack", "module"})

EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
    "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})
DEFAULT_REGIONS: dict[str, frozenset[str]] = {
    "EU": EU_COUNTRIES,
    "KR": frozenset({"KR"}),
    "JP": frozenset({"JP"}),
}
"""Regions watched for outflows (a setting: pass your own mapping of region name to country codes)."""

RETIRED_STATUSES = frozenset({"retired", "end_of_life", "removed"})


def custody_update(cur: Mapping[str, Any] | None, *, kind: str, actor: str, country: str,
                   data: Mapping[str, Any], role: Role, output_kind: str | None = None) -> dict[str, Any] | None:
    """The subject's custody state after the event (``holder``, ``country``, ``status``, ``exported_to``),
    or ``None`` when the event does not concern its custody."""
    base: dict[str, Any] = ({"holder": None, "country": country, "status": "new", "exported_to": None}
                            if cur is None else {k: cur.get(k) for k in ("holder", "country", "status", "exported_to")})
    if role == "output":
        if output_kind not in PRODUCT_KINDS:
            return None
        return {**base, "holder": actor, "country": country, "status": "new"}
    if role == "input":
        if kind in END_OF_LIFE_KINDS and cur is not None:
            return {**base, "holder": actor, "country": country, "status": "end_of_life"}
        return None
    if kind == "annotation":  # a note on the subject: custody unchanged
        return None
    new = {**base, "country": country}
    if kind == "installation":
        new.update(status="in_use", holder=data.get("holder") or base["holder"] or actor)
    elif kind == "change_of_owner":
        new["holder"] = data["to_holder"]
    elif kind in ("collection", "transport"):
        new["country"] = data["destination"]["country"]
        if data.get("to_holder"):
            new["holder"] = data["to_holder"]
    elif kind == "export":
        new.update(country=data["destination_country"], exported_to=data["destination_country"], status="exported")
        if data.get("to_holder"):
            new["holder"] = data["to_holder"]
    elif kind == "removal":
        new["status"] = "removed"
    elif kind == "retirement_test":
        new["status"] = "end_of_life" if data.get("decision") == "recycle" else "retired"
    elif kind in SECOND_LIFE_KINDS:
        new["status"] = "second_life"
        if data.get("holder"):
            new["holder"] = data["holder"]
    if cur is None and new["holder"] is None:
        new["holder"] = actor
    return new


def custody_replay(subject: str, events: Iterable[Mapping[str, Any]]) -> Iterator[tuple[Mapping[str, Any], dict[str, Any]]]:
    """Replay a subject's events (bodies, in chain order): each event that changes its custody, with the state
    after it (events that do not concern its custody are skipped)."""
    state: dict[str, Any] | None = None
    for ev in events:
        role: Role = "subject"
        okind = None
        for o in ev.get("outputs") or ():
            if o["lot"] == subject:
                role, okind = "output", o["kind"]
        if role == "subject" and any(i["lot"] == subject for i in ev.get("inputs") or ()):
            role = "input"
        if role == "subject" and subject not in (ev.get("subjects") or ()):
            continue
        new = custody_update(state, kind=ev["kind"], actor=ev["actor"], country=ev["place"]["country"],
                             data=ev.get("data") or {}, role=role, output_kind=okind)
        if new is None:
            continue
        state = new
        yield ev, state


def custody_history(subject: str, events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Replay a subject's events (bodies, in chain order): its custody state after each event."""
    return [{"event_id": ev["id"], "kind": ev["kind"], "at": ev["occurred_at"], **state}
            for ev, state in custody_replay(subject, events)]


def region_of(country: str, regions: Mapping[str, Iterable[str]]) -> str | None:
    for name, members in regions.items():
        if country in members:
            return name
    return None


def custody_changes(event: Any, current: Any) -> dict[str, dict[str, Any]]:
    """The custody state of every subject an event changes (``event`` a FlatEvent; ``current(subject)`` the
    state before it, or ``None``). Outputs first, then inputs, then subjects, each seeing the previous."""
    changed: dict[str, dict[str, Any]] = {}

    def cur(subj: str) -> Mapping[str, Any] | None:
        return changed[subj] if subj in changed else current(subj)

    kind, country, data, actor = event.kind, event.place.country, event.data, event.actor
    for o in event.outputs:
        new = custody_update(cur(o.lot), kind=kind, actor=actor, country=country, data=data, role="output",
                             output_kind=o.kind)
        if new is not None:
            changed[o.lot] = new
    for i in event.inputs:
        new = custody_update(cur(i.lot), kind=kind, actor=actor, country=country, data=data, role="input")
        if new is not None:
            changed[i.lot] = new
    for subj in event.subjects:
        new = custody_update(cur(subj), kind=kind, actor=actor, country=country, data=data, role="subject")
        if new is not None:
            changed[subj] = new
    return changed
