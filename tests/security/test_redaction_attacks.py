"""Attacks on the redaction step itself (``passport.redact``), without a server.

What a reader must never get, derived from Annex XIII of Regulation (EU) 2023/1542 (REFERENCE.md
section 1) and docs/security.md ("a passport is read only as far as the reader's access tiers allow"):

* a key the model does not declare carries no tier, so nobody is entitled to it: smuggled keys
  (``__proto__``, a tier's name, a declared name in another case or with blanks) are dropped for every
  reader, the operator included;
* redaction only removes: the result is a sub-mapping of the input, values untouched (no key renamed,
  no value replaced), and cutting twice changes nothing;
* tiers are a set, not a ladder (tiers.py): the view for a set of tiers is exactly the union of the views
  for each tier alone, so holding the authority tier never yields legitimate-interest data;
* Annex XIII point 2 fields (detailed composition, spare parts, dismantling information, safety
  measures) need legitimate interest, point 3 (test reports) the authority tier, point 4 (status, state
  of health, usage) legitimate interest; the owner is the operator's own data.
* a model whose field declares no tier cannot be redacted at all: that is a programming error, named
  with the model and the field, never a silent "public".
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from batteryloop.passport.model import BatteryData, BatteryModelData
from batteryloop.passport.redact import (
    BATTERY_TIERS,
    MODEL_TIERS,
    field_tiers,
    redact,
    redact_battery,
    redact_model,
)
from batteryloop.passport.tiers import Tier, tiered

TIER_SETS = [frozenset(c) for n in range(len(Tier) + 1) for c in combinations(Tier, n)]

# Annex XIII, by hand: field -> the one tier that unlocks it
MODEL_RESTRICTED = {
    "detailed_composition": Tier.LEGITIMATE_INTEREST,
    "spare_parts": Tier.LEGITIMATE_INTEREST,
    "dismantling_information": Tier.LEGITIMATE_INTEREST,
    "safety_measures": Tier.LEGITIMATE_INTEREST,
    "test_reports": Tier.AUTHORITY,
}
BATTERY_RESTRICTED = {
    "status": Tier.LEGITIMATE_INTEREST,
    "state_of_health": Tier.LEGITIMATE_INTEREST,
    "usage": Tier.LEGITIMATE_INTEREST,
    "putting_into_service_date": Tier.LEGITIMATE_INTEREST,
    "owner_id": Tier.OPERATOR,
}
MODEL_PUBLIC_SAMPLE = ["model_id", "manufacturer_id", "chemistry", "mass_kg", "carbon_footprint", "recycled_content"]
BATTERY_PUBLIC_SAMPLE = ["passport_id", "serial_number", "manufacture_date", "manufacture_country", "successor_id"]

SMUGGLED = ["__proto__", "constructor", "public", "operator", "authority", "legitimate_interest",
            "x-access-tier", "", " status", "Status", "OWNER_ID", "owner_id ", "state-of-health"]


def _full(fields: Any) -> dict[str, Any]:
    return {k: f"value of {k}" for k in fields}


@pytest.mark.parametrize("tiers", TIER_SETS, ids=lambda t: "+".join(sorted(t)) or "none")
def test_smuggled_keys_are_dropped_for_every_reader(tiers: frozenset[Tier]) -> None:
    data = _full(BatteryData.model_fields) | {k: "smuggled" for k in SMUGGLED}
    out = redact_battery(data, tiers)
    assert not set(SMUGGLED) & set(out)
    out = redact_model(_full(BatteryModelData.model_fields) | {k: "smuggled" for k in SMUGGLED}, tiers)
    assert not set(SMUGGLED) & set(out)


@pytest.mark.parametrize("tiers", TIER_SETS, ids=lambda t: "+".join(sorted(t)) or "none")
def test_annex_xiii_restricted_fields_need_their_tier(tiers: frozenset[Tier]) -> None:
    model = redact_model(_full(BatteryModelData.model_fields), tiers)
    battery = redact_battery(_full(BatteryData.model_fields), tiers)
    for name, tier in MODEL_RESTRICTED.items():
        assert (name in model) == (tier in tiers), (name, tiers)
    for name, tier in BATTERY_RESTRICTED.items():
        assert (name in battery) == (tier in tiers), (name, tiers)
    for name in MODEL_PUBLIC_SAMPLE:
        assert (name in model) == (Tier.PUBLIC in tiers), (name, tiers)
    for name in BATTERY_PUBLIC_SAMPLE:
        assert (name in battery) == (Tier.PUBLIC in tiers), (name, tiers)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiers=st.sampled_from(TIER_SETS), keys=st.lists(st.sampled_from(sorted(BATTERY_TIERS) + SMUGGLED), unique=True),
       values=st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans()), min_size=30, max_size=30))
def test_redaction_only_removes_and_is_idempotent(tiers: frozenset[Tier], keys: list[str], values: list[Any]) -> None:
    data = dict(zip(keys, values))
    out = redact_battery(data, tiers)
    assert all(k in data and data[k] is v for k, v in out.items())  # a sub-mapping, values untouched
    assert redact_battery(out, tiers) == out
    assert redact(data, BATTERY_TIERS, tiers) == out
    # a key is dropped only when it is undeclared or its tier is not held (None values included)
    assert set(data) - set(out) == {k for k in data if k not in BATTERY_TIERS or BATTERY_TIERS[k] not in tiers}


@pytest.mark.parametrize("tiers", TIER_SETS, ids=lambda t: "+".join(sorted(t)) or "none")
def test_tiers_are_a_set_not_a_ladder(tiers: frozenset[Tier]) -> None:
    for fields, cut in ((BatteryData.model_fields, redact_battery), (BatteryModelData.model_fields, redact_model)):
        data = _full(fields)
        union: dict[str, Any] = {}
        for t in tiers:
            union |= cut(data, frozenset({t}))
        assert cut(data, tiers) == union


def test_no_tiers_no_data_and_every_tier_everything_declared() -> None:
    assert redact_battery(_full(BatteryData.model_fields), frozenset()) == {}
    full = _full(BatteryData.model_fields)
    assert redact_battery(full | {"__proto__": 1}, frozenset(Tier)) == full
    full = _full(BatteryModelData.model_fields)
    assert redact_model(full | {"__proto__": 1}, frozenset(Tier)) == full


def test_declared_tiers_are_tier_members() -> None:
    """The maps hold Tier values (not raw strings), one for each declared field."""
    for tier_map, model in ((BATTERY_TIERS, BatteryData), (MODEL_TIERS, BatteryModelData)):
        assert set(tier_map) == set(model.model_fields)
        assert all(type(t) is Tier for t in tier_map.values())
        assert field_tiers(model) == tier_map


def test_a_field_without_a_tier_is_a_named_programming_error() -> None:
    class Leaky(BaseModel):
        fine: str = tiered(Tier.PUBLIC, "x")
        secret_notes: str = Field("y")

    with pytest.raises(TypeError, match=r"Leaky\.secret_notes"):
        field_tiers(Leaky)

    class Callable(BaseModel):  # json_schema_extra may be a callable in pydantic: it declares no tier
        fine: str = tiered(Tier.PUBLIC, "x")
        hooked: str = Field("y", json_schema_extra=lambda schema: None)

    with pytest.raises(TypeError, match=r"Callable\.hooked"):
        field_tiers(Callable)


def test_field_tiers_of_a_small_model_from_its_declarations() -> None:
    class Small(BaseModel):
        a: int = tiered(Tier.PUBLIC, 1)
        b: int = tiered(Tier.LEGITIMATE_INTEREST, 2)
        c: int = tiered(Tier.AUTHORITY, 3)
        d: int = tiered(Tier.OPERATOR, 4)

    assert field_tiers(Small) == {"a": Tier.PUBLIC, "b": Tier.LEGITIMATE_INTEREST, "c": Tier.AUTHORITY,
                                  "d": Tier.OPERATOR}
    data = Small().model_dump()
    assert redact(data, field_tiers(Small), frozenset({Tier.AUTHORITY})) == {"c": 3}


def test_an_unknown_tier_name_on_a_field_is_refused() -> None:
    class Typo(BaseModel):
        a: int = Field(1, json_schema_extra={"x-access-tier": "publik"})

    with pytest.raises(ValueError, match="publik"):
        field_tiers(Typo)
