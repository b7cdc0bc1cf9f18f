"""The lifecycle event schema, rule by rule and kind by kind: every event kind with a valid example, and
each rule of the chain of custody (who may consume or produce lots, where material enters the loop, how
an event links into each hash chain it joins) broken once, with an error naming the field and the rule.

A bad event gets an :class:`InvalidData` whose ``errors`` say ``field``, ``rule`` and a ``message`` that
starts with the field; the detail names the event id (REFERENCE.md / STYLE: bad input gets a clear error
that names what is wrong).
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from batteryloop.errors import InvalidData
from batteryloop.sim import pilot
from batteryloop.sim.supply_chain import demo_signers
from batteryloop.trace.canonical import GENESIS, canonical_json, sha256_hex
from batteryloop.trace.events import (
    PAYLOADS,
    TRANSFORMATIONS,
    EventKind,
    FlatEvent,
    LifecycleEvent,
    LotOutput,
    Origin,
    chain_subjects,
    normalize,
    normalize_full,
    seal,
)

EM = pilot.AUTOMAKER
SIGNERS = demo_signers()
RECYCLER = pilot.RECYCLER_EU
H = "ab" * 32

PRIMARY = {"type": "primary", "country": "AU", "site": "Greenbushes"}
RECOVERED = {"type": "post_consumer", "country": "DE", "site": "hydro line", "certified_by": RECYCLER}


def out(lot: str, kind: str = "material", mass: float = 10.0, **kw: Any) -> dict[str, Any]:
    return {"lot": lot, "kind": kind, "mass_kg": mass, **kw}


# a valid data payload for every kind, and the lots each kind needs
DATA: dict[str, dict[str, Any]] = {
    "extraction": {}, "refining": {"max_loss_pct": 5}, "precursor_production": {}, "cathode_production": {},
    "cell_production": {"note": "line 2"}, "module_assembly": {}, "pack_assembly": {},
    "passport_issued": {"passport_id": "BP-1"}, "installation": {"vehicle_id": "VIN1"},
    "change_of_owner": {"to_holder": pilot.BAAS}, "soh_update": {"soh_capacity_pct": 91.5},
    "repair": {"description": "cell swap"}, "swap": {"station": "st", "vehicle_id": "VIN1"},
    "removal": {"reason": "accident"}, "retirement_test": {"soh_capacity_pct": 70, "decision": "repurpose"},
    "reuse": {}, "repurposing": {"application": "storage"}, "remanufacturing": {},
    "collection": {"origin": {"country": "DE", "site": "a"}, "destination": {"country": "PL", "site": "b"}},
    "transport": {"origin": {"country": "DE", "site": "a"}, "destination": {"country": "PL", "site": "b"}},
    "export": {"destination_country": "KR"}, "dismantling": {}, "recycling": {"process": "hydrometallurgical"},
    "material_recovery": {}, "annotation": {"note": "inspected", "finding": "inspection"},
}


def valid(kind: str, eid: str = "ev-1") -> dict[str, Any]:
    d: dict[str, Any] = {"id": eid, "kind": kind, "actor": EM, "occurred_at": "2026-05-01T12:00:00Z",
                         "place": {"country": "DE", "site": "plant"}, "data": copy.deepcopy(DATA[kind])}
    if kind == "extraction":
        d["outputs"] = [out("ORE-1", "ore", origin=PRIMARY)]
    elif kind == "material_recovery":
        d["inputs"] = [{"lot": "BM-1", "mass_kg": 10}]
        d["outputs"] = [out("LI-1", origin=RECOVERED)]
    elif kind == "pack_assembly":
        d["inputs"] = [{"lot": "MOD-1", "mass_kg": 10}]
        d["outputs"] = [out("PACK-1", "pack")]
    elif kind in TRANSFORMATIONS:
        d["inputs"] = [{"lot": "IN-1", "mass_kg": 10}]
        d["outputs"] = [out("OUT-1")]
    else:
        d["subjects"] = ["PACK-1"]
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    return d


ALL_KINDS = [k.value for k in EventKind]


def errors_of(data: Any) -> tuple[str, list[dict[str, Any]]]:
    with pytest.raises(InvalidData) as e:
        normalize(data)
    return e.value.detail, e.value.errors


def one_error(data: Any, field: str, rule: str, *words: str) -> None:
    detail, errs = errors_of(data)
    assert [(x["field"], x["rule"]) for x in errs][:1] == [(field, rule)], errs
    assert errs[0]["message"].startswith(f"{field}: ")
    for w in words:
        assert w in errs[0]["message"], (w, errs[0]["message"])
    eid = data.get("id") if isinstance(data, dict) else None
    assert detail.startswith(f"invalid event {eid}: " if isinstance(eid, str) and eid else "invalid event: ")
    assert errs[0]["message"] in detail
    if len(errs) == 1:  # only several errors are counted
        assert detail.endswith(errs[0]["message"]) and "more)" not in detail


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_kind_has_a_valid_example(kind: str) -> None:
    assert kind in {k.value for k in PAYLOADS}
    ev, body, h = normalize(valid(kind))
    assert ev.kind.value == kind
    assert h == sha256_hex(body) and body == canonical_json(orjson.loads(body))
    assert b"null" not in body  # the canonical form leaves unset (null) fields out (canonical.py)
    assert orjson.loads(body)["prev"] == {s: GENESIS for s in chain_subjects(valid(kind))}
    # the signature, if any, is not part of the content
    assert normalize({**valid(kind), "signature": "x"})[1] == body


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_kind_refuses_unknown_data_fields(kind: str) -> None:
    d = valid(kind)
    d["data"]["bogus"] = 1
    one_error(d, "data.bogus", "extra_forbidden")


@pytest.mark.parametrize("kind", [k for k in ALL_KINDS if k not in {x.value for x in TRANSFORMATIONS} | {"extraction"}])
def test_lifecycle_kinds_take_no_lots_and_need_subjects(kind: str) -> None:
    d = valid(kind)
    d["inputs"] = [{"lot": "L1", "mass_kg": 1}]
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    one_error(d, "inputs", "no_lots", kind, "inputs and outputs must be empty")
    d = valid(kind)
    d["outputs"] = [out("L1")]
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    one_error(d, "outputs", "no_lots", kind)
    d = valid(kind)
    d["subjects"], d["prev"] = [], {}
    one_error(d, "subjects", "subjects_required", kind, "subjects it concerns")


@pytest.mark.parametrize("kind", sorted(k.value for k in TRANSFORMATIONS if k is not EventKind.MATERIAL_RECOVERY))
def test_transformations_need_inputs_and_outputs(kind: str) -> None:
    d = valid(kind)
    d["inputs"] = []
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    one_error(d, "inputs", "transformation_lots", kind, "inputs and outputs must both be given")
    d = valid(kind)
    d["outputs"] = []
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    one_error(d, "outputs", "transformation_lots", kind)
    # only an extraction produces primary material
    d = valid(kind)
    d["outputs"][0]["origin"] = PRIMARY
    one_error(d, "outputs", "primary_only_by_extraction", "only an extraction")
    # a recycled origin is allowed (the lot enters the loop certified)
    d = valid(kind)
    d["outputs"][0]["origin"] = RECOVERED
    normalize(d)


def test_extraction_rules() -> None:
    d = valid("extraction")
    d["inputs"] = [{"lot": "X", "mass_kg": 1}]
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    one_error(d, "inputs", "extraction_no_inputs", "inputs must be empty")
    for outputs in ([], [out("ORE-1", "ore")], [out("ORE-1", "ore", origin=RECOVERED)],
                    [out("ORE-1", "ore", origin=PRIMARY), out("ORE-2", "ore")]):
        d = valid("extraction")
        d["outputs"] = outputs
        d["prev"] = {s: GENESIS for s in chain_subjects(d)}
        one_error(d, "outputs", "extraction_primary_origin", "primary")


def test_material_recovery_rules() -> None:
    for outputs in ([], [out("LI-1")], [out("LI-1", origin=PRIMARY)],
                    [out("LI-1", origin=RECOVERED), out("LI-2")]):
        d = valid("material_recovery")
        d["outputs"] = outputs
        d["prev"] = {s: GENESIS for s in chain_subjects(d)}
        one_error(d, "outputs", "recovery_recycled_origin", "recycled origin", "certifying recycler")
    pre = valid("material_recovery")
    pre["outputs"][0]["origin"] = {**RECOVERED, "type": "pre_consumer"}
    normalize(pre)
    # a recovery without inputs is still a recovery: its origin says where the material came from
    d = valid("material_recovery")
    d["inputs"] = []
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    normalize(d)


def test_pack_assembly_makes_packs() -> None:
    d = valid("pack_assembly")
    d["outputs"] = [out("PACK-1", "pack"), out("MOD-9", "module")]
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    one_error(d, "outputs", "pack_outputs", "'pack'")
    d = valid("module_assembly")
    d["outputs"] = [out("PACK-1", "pack"), out("MOD-9", "module")]
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    normalize(d)


def test_lots_listed_once() -> None:
    d = valid("refining")
    d["inputs"] = [{"lot": "A", "mass_kg": 1}, {"lot": "A", "mass_kg": 2}]
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    one_error(d, "inputs", "unique_lots", "input lot is listed twice")
    d = valid("refining")
    d["outputs"] = [out("B"), out("B")]
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    one_error(d, "outputs", "unique_lots", "output lot is listed twice")
    d = valid("refining")
    d["inputs"] = [{"lot": "Z", "mass_kg": 1}, {"lot": "B", "mass_kg": 1}]
    d["outputs"] = [out("B"), out("Z")]
    d["prev"] = {s: GENESIS for s in chain_subjects(d)}
    one_error(d, "outputs", "unique_lots", "lot B is both input and output")


def test_chain_links_must_match_the_subjects() -> None:
    """prev names every subject, input and output exactly once, each with a SHA-256 hex hash."""
    base = valid("refining")
    base["subjects"] = ["S1"]
    base["prev"] = {s: GENESIS for s in chain_subjects(base)}
    normalize(base)
    d = copy.deepcopy(base)
    del d["prev"]["IN-1"]
    one_error(d, "prev", "chain_links", "no link for IN-1")
    d = copy.deepcopy(base)
    d["prev"] = {"S1": GENESIS}
    one_error(d, "prev", "chain_links", "no link for IN-1, OUT-1")
    d = copy.deepcopy(base)
    d["prev"]["STRANGER"] = GENESIS
    one_error(d, "prev", "chain_links", "links for unconcerned STRANGER")
    assert "no link" not in errors_of(d)[0]
    d = copy.deepcopy(base)
    del d["prev"]["S1"]
    d["prev"]["STRANGER"] = GENESIS
    one_error(d, "prev", "chain_links", "no link for S1; links for unconcerned STRANGER")
    for bad in ("AB" * 32, "ab" * 31, "ab" * 32 + "0", "g" * 64, ""):
        d = copy.deepcopy(base)
        d["prev"]["S1"] = bad
        detail, errs = errors_of(d)
        assert (errs[0]["field"], errs[0]["rule"], errs[0]["value"]) == ("prev.S1", "sha256_hex", bad)
        assert "prev[S1] is not a SHA-256 hex hash" in errs[0]["message"]
    d = copy.deepcopy(base)
    d["prev"]["S1"] = H
    normalize(d)


def test_chain_link_errors_name_at_most_five_subjects() -> None:
    d = valid("soh_update")
    d["subjects"] = [f"P{i}" for i in range(7)]
    d["prev"] = {f"X{i}": GENESIS for i in range(7)}
    detail, errs = errors_of(d)
    msg = errs[0]["message"]
    assert (errs[0]["field"], errs[0]["rule"], errs[0]["value"]) == ("prev", "chain_links", None)
    assert "prev must give the previous event hash (or 64 zeros) for each subject, input and output" in msg
    assert "no link for P0, P1, P2, P3, P4; links for unconcerned X0, X1, X2, X3, X4" in msg
    assert "P5" not in msg and "X5" not in msg


def test_chain_subjects_of_model_and_dict_agree() -> None:
    d = valid("refining")
    d["subjects"] = ["Z", "IN-1"]
    d["prev"] = {s: GENESIS for s in ("IN-1", "OUT-1", "Z")}
    ev, _, _ = normalize(d)
    assert chain_subjects(ev) == chain_subjects(d) == ["IN-1", "OUT-1", "Z"]
    assert chain_subjects({}) == [] and chain_subjects({"subjects": None, "inputs": None, "outputs": None}) == []


# ------------------------------------------------------------------------------ field rules


def test_time_needs_a_zone_and_is_stored_in_utc() -> None:
    d = valid("soh_update")
    d["occurred_at"] = "2026-05-01T12:00:00"
    one_error(d, "occurred_at", "value_error", "time zone")
    assert errors_of(d)[1][0]["message"].startswith("occurred_at: time must carry a time zone (e.g. 2026-11-26T03:48:11Z)")
    d["occurred_at"] = "2026-05-01T14:30:00+02:00"
    ev, body, _ = normalize(d)
    assert orjson.loads(body)["occurred_at"] == "2026-05-01T12:30:00.000000Z"
    d["data"]["measured_at"] = "2026-05-01T09:00:00-03:00"
    assert orjson.loads(normalize(d)[1])["data"]["measured_at"] == "2026-05-01T12:00:00.000000Z"


@pytest.mark.parametrize(("given", "text"), [
    ("2026-05-01T12:00:00.000001Z", "2026-05-01T12:00:00.000001Z"),
    ("1999-12-31T23:59:59.999999-00:30", "2000-01-01T00:29:59.999999Z"),
    ("1000-01-01T00:00:00Z", "1000-01-01T00:00:00.000000Z"),
    ("9999-12-31T23:59:59.5Z", "9999-12-31T23:59:59.500000Z"),
    ("0999-12-31T23:59:59Z", "999-12-31T23:59:59.000000Z"),  # strftime's year below 1000: not padded (glibc)
])
def test_time_text_is_the_strftime_form(given: str, text: str) -> None:
    """A time's canonical text is ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` of its UTC value (written faster for the
    four-digit years): the bytes every signed event's hash covers."""
    import datetime as dt

    d = valid("soh_update")
    d["occurred_at"] = given
    assert orjson.loads(normalize(d)[1])["occurred_at"] == text
    utc = dt.datetime.fromisoformat(given).astimezone(dt.UTC)
    assert text == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("bad", ["", "-x", "a b", "x" * 101, "é"])
def test_ids(bad: str) -> None:
    d = valid("soh_update", eid=bad)
    d["prev"] = {"PACK-1": GENESIS}
    detail, errs = errors_of(d)
    assert errs[0]["field"] == "id" and f"{bad!r} is not an id" in errs[0]["message"]
    assert errs[0]["message"].endswith("letters, digits and ._:/#- , starting with a letter or digit")
    d = valid("soh_update")
    d["subjects"], d["prev"] = [bad], {bad: GENESIS}
    detail, errs = errors_of(d)
    assert any(e["field"].startswith("subjects") and "is not an id" in e["message"] for e in errs)
    for good in ("a", "x" * 100, "A.b_c:d/e#f-1"):
        d = valid("soh_update", eid=good)
        assert normalize(d)[0].id == good


def test_recycled_origin_needs_its_certifier() -> None:
    for t in ("pre_consumer", "post_consumer"):
        with pytest.raises(ValueError, match=f"a {t} lot needs certified_by"):
            Origin.model_validate({"type": t, "country": "DE", "site": "s"})
        assert Origin.model_validate({"type": t, "country": "DE", "site": "s", "certified_by": RECYCLER}).certified_by == RECYCLER
    assert Origin.model_validate(PRIMARY).certified_by is None
    d = valid("material_recovery")
    d["outputs"][0]["origin"] = {k: v for k, v in RECOVERED.items() if k != "certified_by"}
    detail, errs = errors_of(d)
    assert errs[0]["field"] == "outputs[0].origin" and "certified_by" in errs[0]["message"]


def test_elements_within_the_lot_mass() -> None:
    """10 kg lot: elements may add up to 10 kg (within 1e-9 relative rounding), not more."""
    assert LotOutput.model_validate(out("L", elements_kg={"Li": 4.0, "Ni": 6.0})).elements_kg
    assert LotOutput.model_validate(out("L", elements_kg={"Li": 10.0 * (1 + 1e-10)}))
    for over in (10.0 * (1 + 1e-8), 10.5, 20.0, 25.0):
        with pytest.raises(ValueError, match=r"elements_kg add up to .* more than the lot's mass_kg 10"):
            LotOutput.model_validate(out("L", elements_kg={"Li": over}))
    d = valid("refining")
    d["outputs"][0]["elements_kg"] = {"Co": 6.0, "Ni": 6.0}
    detail, errs = errors_of(d)
    assert errs[0]["field"] == "outputs[0]" and "add up to 12 kg" in errs[0]["message"]


def test_data_is_checked_by_the_kind_schema_and_normalized() -> None:
    d = valid("soh_update")
    d["data"] = {"soh_capacity_pct": 130}
    one_error(d, "data.soh_capacity_pct", "less_than_equal")
    d["data"] = {}
    one_error(d, "data.soh_capacity_pct", "missing")
    d = valid("recycling")
    d["data"] = {"process": "alchemy"}
    one_error(d, "data.process", "string_pattern_mismatch")
    # explicit nulls are dropped from data: the canonical form leaves them out
    d = valid("soh_update")
    d["data"] = {"soh_capacity_pct": 90, "state_of_certified_energy_pct": None}
    ev, body, _ = normalize(d)
    assert ev.data == {"soh_capacity_pct": 90.0}
    assert orjson.loads(body)["data"] == {"soh_capacity_pct": 90.0}


def test_several_errors_are_counted_in_the_detail() -> None:
    d = valid("soh_update")
    d["data"] = {"soh_capacity_pct": 130, "full_equivalent_cycles": -1}
    detail, errs = errors_of(d)
    assert len(errs) == 2 and detail.endswith("(and 1 more)")
    d = valid("soh_update")
    d["place"] = {"country": "Germany"}
    d["actor"] = 5
    detail, errs = errors_of(d)
    fields = {e["field"] for e in errs}
    assert {"place.country", "place.site", "actor"} <= fields
    assert detail.startswith("invalid event ev-1: ") and f"(and {len(errs) - 1} more)" in detail


def test_event_id_in_detail_only_when_it_is_text() -> None:
    d = valid("soh_update")
    d["id"] = 42
    detail, errs = errors_of(d)
    assert detail.startswith("invalid event: ") and errs[0]["field"] == "id"
    with pytest.raises(InvalidData) as e:
        normalize(d)
    assert e.value.extra.get("event_id") is None
    d = valid("soh_update", eid="ev-7")
    d["data"] = {}
    with pytest.raises(InvalidData) as e:
        normalize(d)
    assert e.value.extra["event_id"] == "ev-7"


@pytest.mark.parametrize("bad", [[], "text", 5, None])
def test_an_event_is_an_object(bad: Any) -> None:
    with pytest.raises(InvalidData, match="^an event is a JSON object") as e:
        normalize(bad)
    assert e.value.errors == [{"field": "(event)", "rule": "type", "message": "an event is a JSON object", "value": None}]


# ------------------------------------------------------------------------------ canonical form, sealing


def test_normalize_a_model_and_full_form() -> None:
    d = valid("refining")
    ev, body, h = normalize(d)
    ev2, body2, h2, dump = normalize_full(ev)
    assert ev2 is ev and (body2, h2) == (body, h)
    assert dump == orjson.loads(body) and "signature" not in dump
    assert body == canonical_json(dump) and h == sha256_hex(body)


def test_seal_signs_for_the_actor_only() -> None:
    d = valid("refining")
    sealed = seal({**d, "signature": "ignored"}, SIGNERS[EM])
    _, body, h = normalize(d)
    assert (sealed.body, sealed.hash) == (body, h)
    assert sealed.signature == SIGNERS[EM].sign_hash(h)
    wire = sealed.to_wire()
    assert wire == {**orjson.loads(body), "signature": sealed.signature}
    assert normalize(wire)[2] == h
    flat = sealed.event
    assert (flat.id, flat.kind, flat.actor, flat.occurred_at) == ("ev-1", "refining", EM, "2026-05-01T12:00:00.000000Z")
    assert (flat.place.country, flat.place.site) == ("DE", "plant")
    assert [(i.lot, i.mass_kg) for i in flat.inputs] == [("IN-1", 10)]
    o = flat.outputs[0]
    assert (o.lot, o.kind, o.mass_kg, o.elements_kg, o.origin, o.material, o.model_id) == ("OUT-1", "material", 10.0, {}, None, None, None)
    assert flat.subjects == [] and flat.data == {"max_loss_pct": 5.0} and flat.prev == {"IN-1": GENESIS, "OUT-1": GENESIS}
    with pytest.raises(InvalidData, match=f"signer {RECYCLER} is not the actor {EM}") as e:
        seal(d, SIGNERS[RECYCLER])
    assert e.value.errors[0]["field"] == "actor" and e.value.errors[0]["rule"] == "signer_is_actor"
    assert e.value.errors[0]["value"] == EM and EM in e.value.errors[0]["message"]


def test_flat_event_from_body() -> None:
    d = valid("material_recovery")
    d["subjects"] = ["BM-1"]
    d["outputs"][0] |= {"elements_kg": {"Li": 1.5}, "material": "Li2CO3", "model_id": "M-1"}
    _, body, _ = normalize(d)
    f = FlatEvent.from_body(body)
    o = f.outputs[0]
    assert (o.elements_kg, o.material, o.model_id) == ({"Li": 1.5}, "Li2CO3", "M-1")
    assert o.origin == {"type": "post_consumer", "country": "DE", "site": "hydro line", "certified_by": RECYCLER}
    assert f.subjects == ["BM-1"] and [i.lot for i in f.inputs] == ["BM-1"]
    bare = FlatEvent.from_body(normalize(valid("soh_update"))[1])
    assert bare.inputs == [] and bare.outputs == [] and bare.subjects == ["PACK-1"]
    nodata = FlatEvent({"id": "x", "kind": "reuse", "actor": EM, "occurred_at": "t", "place": {"country": "DE", "site": "s"},
                        "prev": {}})
    assert (nodata.data, nodata.subjects, nodata.inputs, nodata.outputs) == ({}, [], [], [])


def test_model_is_frozen_and_strict() -> None:
    ev, _, _ = normalize(valid("soh_update"))
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        ev.id = "other"  # type: ignore[misc]
    d = valid("soh_update")
    d["colour"] = "red"
    one_error(d, "colour", "extra_forbidden")
    assert LifecycleEvent.model_validate(valid("soh_update")).subjects == ["PACK-1"]


def test_model_validation_error_carries_the_rule_message() -> None:
    """Validating the model directly (not through normalize) still says which rule broke."""
    from pydantic import ValidationError

    d = valid("soh_update")
    d["subjects"], d["prev"] = [], {}
    with pytest.raises(ValidationError, match="subjects: a soh_update event names the subjects it concerns"):
        LifecycleEvent.model_validate(d)
    d = valid("soh_update")
    d["data"] = {"soh_capacity_pct": 500}
    with pytest.raises(ValidationError, match="data.soh_capacity_pct: Input should be less than or equal to 120"):
        LifecycleEvent.model_validate(d)


def test_times_are_utc_whatever_the_machine_time_zone(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A node in Seoul and a node in Berlin hash the same event: times are turned into UTC, not local time."""
    import time

    d = valid("soh_update")
    d["occurred_at"] = "2026-05-01T14:30:00+02:00"
    try:
        for tz in ("Asia/Seoul", "America/New_York", "UTC"):
            monkeypatch.setenv("TZ", tz)
            time.tzset()
            assert orjson.loads(normalize(d)[1])["occurred_at"] == "2026-05-01T12:30:00.000000Z", tz
    finally:
        monkeypatch.undo()
        time.tzset()
