"""Chain of custody, kind by kind: who holds a subject, where it is and in which status after each event.

The rules (custody.py, from the regulation's chain of custody: REFERENCE.md §1, Art. 77 — re-use and
repurposing keep or relink the passport, recycling ends it) written out as a table and checked for every
event kind in each of the three roles a subject can have in an event (the event's subject, a consumed
input lot, a produced output lot), from a known state and from no state at all.
"""

from __future__ import annotations

from typing import Any

import pytest

from batteryloop.trace.custody import (
    DEFAULT_REGIONS,
    EU_COUNTRIES,
    custody_changes,
    custody_history,
    custody_update,
    region_of,
)
from batteryloop.trace.events import EventKind, FlatEvent

ACTOR = "BPNL00000000ACT1"
H0, H1 = "BPNL0000000000H0", "BPNL0000000000H1"

# a subject held by H0 in Germany, in use; an unrelated key in the stored state is not carried over
CUR = {"holder": H0, "country": "DE", "status": "in_use", "exported_to": None, "seq": 7}


def state(holder: Any = H0, country: str = "FR", status: str = "in_use", exported_to: Any = None) -> dict[str, Any]:
    return {"holder": holder, "country": country, "status": status, "exported_to": exported_to}


# kind, data, expected state after the event when the subject (held by H0 in DE, in use) is the event's
# subject and the event takes place in FR. By hand: the subject moves to the event's country unless the
# data names a destination; holder and status change only where the kind says so.
SUBJECT_TABLE: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    ("annotation", {"note": "inspected"}, None),  # a note: custody unchanged, no new state
    ("installation", {"vehicle_id": "V1", "holder": H1}, state(holder=H1)),
    ("installation", {"vehicle_id": "V1"}, state(holder=H0)),  # no holder named: the holder stays
    ("change_of_owner", {"to_holder": H1}, state(holder=H1)),
    ("collection", {"destination": {"country": "PL", "site": "s"}, "to_holder": H1}, state(holder=H1, country="PL")),
    ("collection", {"destination": {"country": "PL", "site": "s"}}, state(country="PL")),
    ("transport", {"destination": {"country": "BE", "site": "s"}, "to_holder": H1}, state(holder=H1, country="BE")),
    ("transport", {"destination": {"country": "BE", "site": "s"}, "to_holder": None}, state(country="BE")),
    ("export", {"destination_country": "KR", "to_holder": H1},
     state(holder=H1, country="KR", status="exported", exported_to="KR")),
    ("export", {"destination_country": "JP"}, state(country="JP", status="exported", exported_to="JP")),
    ("removal", {"reason": "worn"}, state(status="removed")),
    ("retirement_test", {"soh_capacity_pct": 60, "decision": "recycle"}, state(status="end_of_life")),
    ("retirement_test", {"soh_capacity_pct": 80, "decision": "reuse"}, state(status="retired")),
    ("retirement_test", {"soh_capacity_pct": 80}, state(status="retired")),
    ("reuse", {"holder": H1}, state(holder=H1, status="second_life")),
    ("repurposing", {}, state(status="second_life")),
    ("remanufacturing", {"holder": H1}, state(holder=H1, status="second_life")),
    ("soh_update", {"soh_capacity_pct": 90}, state()),
    ("repair", {"description": "x"}, state()),
    ("swap", {"station": "s", "vehicle_id": "V"}, state()),
    ("passport_issued", {"passport_id": "P"}, state()),
]


@pytest.mark.parametrize(("kind", "data", "want"), SUBJECT_TABLE, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(SUBJECT_TABLE)])
def test_subject_role_from_a_known_state(kind: str, data: dict[str, Any], want: dict[str, Any] | None) -> None:
    before = dict(CUR)
    got = custody_update(CUR, kind=kind, actor=ACTOR, country="FR", data=data, role="subject")
    assert got == want
    assert CUR == before  # the current state is not changed in place


def test_every_event_kind_has_a_subject_row() -> None:
    assert {k.value for k in EventKind} - {k for k, _, _ in SUBJECT_TABLE} <= {
        # transformations concern lots (inputs/outputs), checked in the lot tables below
        "extraction", "refining", "precursor_production", "cathode_production", "cell_production",
        "module_assembly", "pack_assembly", "dismantling", "recycling", "material_recovery"}


@pytest.mark.parametrize(("kind", "data", "want"), [r for r in SUBJECT_TABLE if r[2] is not None],
                         ids=[k for k, _, w in SUBJECT_TABLE if w is not None])
def test_subject_role_from_no_state(kind: str, data: dict[str, Any], want: dict[str, Any]) -> None:
    """A subject seen for the first time starts new, in the event's country, held by whoever the event
    names — or by the actor when the event names nobody."""
    got = custody_update(None, kind=kind, actor=ACTOR, country="FR", data=data, role="subject")
    named = data.get("holder") or data.get("to_holder")
    expect = {**want, "holder": named or ACTOR}
    if want["status"] == "in_use" and kind != "installation":
        expect["status"] = "new"
    if kind == "installation":
        expect["status"] = "in_use"
    assert got == expect


def test_a_known_state_without_holder_keeps_none() -> None:
    """Only a subject seen for the first time gets the actor as holder."""
    cur = {**CUR, "holder": None}
    got = custody_update(cur, kind="soh_update", actor=ACTOR, country="DE", data={}, role="subject")
    assert got == state(holder=None, country="DE")
    got = custody_update(cur, kind="installation", actor=ACTOR, country="DE", data={}, role="subject")
    assert got == state(holder=ACTOR, country="DE")  # installation falls back to the actor


@pytest.mark.parametrize("kind", [k.value for k in EventKind])
@pytest.mark.parametrize("cur", [None, {**CUR, "status": "exported", "exported_to": "KR"}], ids=["new", "known"])
def test_output_role(kind: str, cur: dict[str, Any] | None) -> None:
    """A produced pack or module starts new, held by the producer, where it was produced (an earlier export
    mark stays); any other lot kind has no custody state."""
    for okind in ("pack", "module"):
        got = custody_update(cur, kind=kind, actor=ACTOR, country="FR", data={}, role="output", output_kind=okind)
        assert got == state(holder=ACTOR, status="new", exported_to=None if cur is None else "KR")
    for okind in ("cell_batch", "material", "ore", "scrap", "black_mass", None):
        assert custody_update(cur, kind=kind, actor=ACTOR, country="FR", data={}, role="output", output_kind=okind) is None


@pytest.mark.parametrize("kind", [k.value for k in EventKind])
def test_input_role(kind: str) -> None:
    """A consumed subject reaches end of life at the dismantler/recycler only in an end-of-life event, and
    only when it has custody already; consumption in production leaves no custody record."""
    got = custody_update(CUR, kind=kind, actor=ACTOR, country="FR", data={}, role="input")
    if kind in ("dismantling", "recycling", "material_recovery"):
        assert got == state(holder=ACTOR, status="end_of_life")
    else:
        assert got is None
    assert custody_update(None, kind=kind, actor=ACTOR, country="FR", data={}, role="input") is None


def ev(i: int, kind: str, *, subjects=(), inputs=(), outputs=(), data=None, country="DE", actor=ACTOR) -> dict[str, Any]:
    return {"id": f"e{i}", "kind": kind, "actor": actor, "occurred_at": f"2026-01-0{i}T00:00:00.000000Z",
            "place": {"country": country, "site": "s"}, "subjects": list(subjects),
            "inputs": [{"lot": lot, "mass_kg": 1.0} for lot in inputs],
            "outputs": [{"lot": lot, "kind": k, "mass_kg": 1.0} for lot, k in outputs],
            "data": data or {}, "prev": {}}


LIFE = [
    ev(1, "pack_assembly", inputs=["CELLS"], outputs=[("P", "pack"), ("OTHER", "pack")], actor="BPNLMAKER0000001"),
    ev(2, "soh_update", subjects=["OTHER"], data={"soh_capacity_pct": 99}),  # not about P
    ev(3, "installation", subjects=["P"], data={"vehicle_id": "V", "holder": H1}),
    ev(4, "annotation", subjects=["P"], data={"note": "n"}),  # no custody change: no history row
    ev(5, "export", subjects=["P"], data={"destination_country": "KR"}),
    ev(6, "recycling", inputs=["P"], outputs=[("BM", "black_mass")], actor="BPNLRECYCLER0001", country="KR"),
]


def test_custody_history_replays_a_life() -> None:
    """Made by the pack maker in DE, installed for H1, exported to KR, recycled in KR."""
    hist = custody_history("P", LIFE)
    assert [h["event_id"] for h in hist] == ["e1", "e3", "e5", "e6"]
    assert [h["kind"] for h in hist] == ["pack_assembly", "installation", "export", "recycling"]
    assert [h["at"] for h in hist] == [e["occurred_at"] for e in (LIFE[0], LIFE[2], LIFE[4], LIFE[5])]
    assert [(h["holder"], h["country"], h["status"], h["exported_to"]) for h in hist] == [
        ("BPNLMAKER0000001", "DE", "new", None),
        (H1, "DE", "in_use", None),
        (H1, "KR", "exported", "KR"),
        ("BPNLRECYCLER0001", "KR", "end_of_life", "KR"),
    ]
    # the cells consumed by the assembly had no custody: their input role gives no state
    assert custody_history("CELLS", LIFE) == []
    assert custody_history("BM", LIFE) == []  # black mass is not a product
    assert [h["event_id"] for h in custody_history("OTHER", LIFE)] == ["e1", "e2"]
    assert custody_history("NOTHING", LIFE) == []


def test_custody_history_with_missing_optional_lists() -> None:
    """Stored bodies leave out empty lists and empty data (nulls and defaults are not canonical)."""
    bare = {k: v for k, v in ev(1, "removal", subjects=["P"]).items() if k not in ("inputs", "outputs", "data")}
    hist = custody_history("P", [bare])
    assert [(h["holder"], h["status"]) for h in hist] == [(ACTOR, "removed")]
    only_subjects = {k: v for k, v in ev(2, "removal", subjects=["Q"]).items() if k != "subjects"}
    assert custody_history("P", [only_subjects]) == []


def flat(body: dict[str, Any]) -> FlatEvent:
    return FlatEvent(body)


def test_custody_changes_orders_outputs_inputs_subjects() -> None:
    """Every subject an event changes, each seeing the state left by the roles before it: a lot that is an
    input and also a subject of a dismantling first reaches end of life (input), then takes the country."""
    known = {"P": {**CUR}, "Q": {**CUR, "holder": H1}}
    e = flat(ev(1, "dismantling", subjects=["P", "NEW"], inputs=["P", "Q", "UNKNOWN"],
                outputs=[("M", "module"), ("S", "scrap")], country="FR"))
    got = custody_changes(e, known.get)
    assert got == {
        "M": state(holder=ACTOR, status="new"),
        "P": state(holder=ACTOR, status="end_of_life"),
        "Q": state(holder=ACTOR, status="end_of_life"),
        "NEW": state(holder=ACTOR, status="new"),
    }
    assert list(got) == ["M", "P", "Q", "NEW"]


def test_custody_changes_subject_sees_output_state() -> None:
    """An output that is also a subject of the same event continues from the output's fresh state."""
    e = flat(ev(1, "module_assembly", subjects=["M"], inputs=["C"], outputs=[("M", "module")], country="FR"))
    seen: list[str] = []

    def current(s: str) -> dict[str, Any] | None:
        seen.append(s)
        return None

    got = custody_changes(e, current)
    assert got == {"M": state(holder=ACTOR, status="new")}
    assert seen == ["M", "C"]  # M is read once (then taken from the changes); C has no state
    e2 = flat(ev(2, "removal", subjects=["P"], data={"reason": "r"}, country="FR"))
    assert custody_changes(e2, lambda s: {**CUR}) == {"P": state(status="removed")}
    e3 = flat(ev(3, "annotation", subjects=["P"], data={"note": "n"}))
    assert custody_changes(e3, lambda s: {**CUR}) == {}


EU27 = ("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE").split()


def test_regions() -> None:
    assert len(EU27) == 27 and set(EU27) == set(EU_COUNTRIES)
    for c in EU27:
        assert region_of(c, DEFAULT_REGIONS) == "EU"
    assert region_of("KR", DEFAULT_REGIONS) == "KR"
    assert region_of("JP", DEFAULT_REGIONS) == "JP"
    for c in ("US", "CN", "NO", "GB", "CH"):
        assert region_of(c, DEFAULT_REGIONS) is None
    mine = {"NORDIC": ["NO", "SE"], "EU": EU27}
    assert region_of("SE", mine) == "NORDIC"  # the first region naming the country
    assert region_of("DE", mine) == "EU"
    assert region_of("DE", {}) is None
