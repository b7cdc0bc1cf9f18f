"""Access tiers: parsing a reader's tier list and declaring a field's tier, from Annex XIII.

Derived by hand from Annex XIII of Regulation (EU) 2023/1542 (REFERENCE.md section 1) and docs/security.md:

* point 1 data is public: everyone holds the public tier, so every parsed tier set contains it, even
  when the list names only others or nothing at all (no list means an anonymous reader: public only);
* the tiers are ``public``, ``legitimate_interest`` (points 2 and 4), ``authority`` (point 3, test
  reports) and the project's ``operator``; they are a set (a notified body holds authority without
  legitimate interest), so a list gives exactly the named tiers plus public, never the ones "below";
* ``all`` stands for every tier; blanks around names and empty items (``"a,,b"``, a trailing comma) are
  forgiven; any other word is an error that names the word and lists what may be used;
* each model field carries its tier in its JSON schema as ``x-access-tier`` (the schema is what other
  nodes read); declaring the tier must not change the field otherwise (default, constraints, other
  schema extras).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from batteryloop.passport.tiers import ALL_TIERS, PUBLIC_ONLY, Tier, parse_tiers, tiered

NAMES = ["public", "legitimate_interest", "authority", "operator"]
SUBSETS = [list(c) for n in range(len(NAMES) + 1) for c in combinations(NAMES, n)]


def test_the_four_tiers() -> None:
    assert sorted(t.value for t in Tier) == sorted(NAMES)
    assert ALL_TIERS == frozenset(Tier) and PUBLIC_ONLY == frozenset({Tier.PUBLIC})


@pytest.mark.parametrize("names", SUBSETS, ids=lambda n: "+".join(n) or "empty")
def test_a_list_gives_exactly_its_tiers_plus_public(names: list[str]) -> None:
    want = frozenset(Tier(n) for n in names) | {Tier.PUBLIC}
    for given in (",".join(names), names, " , ".join(names) + ",", ",," + ",".join(f" {n} " for n in names)):
        got = parse_tiers(given)
        assert got == want, given
        assert isinstance(got, frozenset)


def test_no_list_is_an_anonymous_reader() -> None:
    assert parse_tiers(None) == {Tier.PUBLIC}
    assert parse_tiers("") == {Tier.PUBLIC}
    assert parse_tiers([]) == {Tier.PUBLIC}
    assert parse_tiers(" , ") == {Tier.PUBLIC}


@pytest.mark.parametrize("given", ["all", " all ", "authority,all", ["all"], ["public", "all"], "all,"])
def test_all_is_every_tier(given: Any) -> None:
    assert parse_tiers(given) == frozenset(Tier)


@pytest.mark.parametrize("word", ["Public", "admin", "legitimate-interest", "ALL", "tier1", "publicx"])
def test_an_unknown_word_is_named_with_the_choices(word: str) -> None:
    for given in (f"public,{word}", [word]):
        with pytest.raises(ValueError) as exc:
            parse_tiers(given)
        msg = str(exc.value)
        assert repr(word) in msg, msg
        for name in NAMES + ["all"]:
            assert name in msg, (name, msg)
        assert "legitimate_interest, authority" in msg or "authority, legitimate_interest" in msg, msg


def test_a_comma_inside_a_list_item_is_not_split() -> None:
    """A list is already split: an item ``"public,authority"`` is one (unknown) word."""
    with pytest.raises(ValueError, match="'public,authority'"):
        parse_tiers(["public,authority"])


class _Declared(BaseModel):
    required_public: str = tiered(Tier.PUBLIC)
    with_default: int = tiered(Tier.LEGITIMATE_INTEREST, 7)
    constrained: str = tiered(Tier.AUTHORITY, "ok", max_length=3, description="short")
    extra_kept: str | None = tiered(Tier.OPERATOR, None, json_schema_extra={"x-unit": "kWh"})
    factory: list[int] = tiered(Tier.PUBLIC, default_factory=list)


def test_the_tier_is_in_the_schema_of_every_field() -> None:
    props = _Declared.model_json_schema()["properties"]
    assert {k: v["x-access-tier"] for k, v in props.items()} == {
        "required_public": "public", "with_default": "legitimate_interest", "constrained": "authority",
        "extra_kept": "operator", "factory": "public"}
    assert all(type(v["x-access-tier"]) is str for v in props.values())  # plain JSON, not an enum object


def test_declaring_a_tier_keeps_the_field_otherwise_unchanged() -> None:
    schema = _Declared.model_json_schema()
    props = schema["properties"]
    assert schema["required"] == ["required_public"]  # no default given: required
    m = _Declared(required_public="x")
    assert (m.with_default, m.constrained, m.extra_kept, m.factory) == (7, "ok", None, [])
    assert props["constrained"]["description"] == "short" and props["constrained"]["maxLength"] == 3
    assert props["extra_kept"]["x-unit"] == "kWh"
    with pytest.raises(ValidationError, match="constrained"):
        _Declared(required_public="x", constrained="toolong")
    with pytest.raises(ValidationError, match="required_public"):
        _Declared()


def test_the_callers_extra_is_not_changed() -> None:
    extra = {"x-unit": "kWh"}
    tiered(Tier.AUTHORITY, None, json_schema_extra=extra)
    assert extra == {"x-unit": "kWh"}
    info = tiered(Tier.AUTHORITY, None, json_schema_extra=extra)
    assert info.json_schema_extra == {"x-unit": "kWh", "x-access-tier": "authority"}
    assert tiered(Tier.PUBLIC, None, json_schema_extra=None).json_schema_extra == {"x-access-tier": "public"}
