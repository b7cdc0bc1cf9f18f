"""Every (left operand, operator) pair of the Catena-X ODRL profile, with an allowed and a refused case.

The profile is read from the fixture itself, ``../shared/fixtures/cx-odrl-profile/schema/`` (catenax-eV/cx-odrl-profile
@ 3c7c885, CC-BY-4.0, see ``../shared/SOURCES.md``):

* ``constraint/*-constraint-schema.json`` — one schema per left operand; its ``leftOperand`` const and its
  ``operator`` const/enum give the pairs the profile allows;
* ``atomic-constraint-schemas.json`` — where each operand may appear (access permission, usage permission,
  prohibition, obligation);
* ``context/odrl.jsonld`` — the ODRL operators and logical operators the profile's policies are written with.

A pair added to the profile shows up in :func:`test_every_profile_pair_has_cases` as an uncovered case. The
expected outcomes below are written by hand from each operator's meaning (``isAnyOf``: the caller's value is
in the list; ``isNoneOf``: it is not — a block list; ``eq``: equal / an end date not passed …). Every
ODRL operator the profile does *not* allow for an operand, every operand outside the profile and every
logical constraint other than ``and`` must be denied, with a reason naming it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from batteryloop.exchange.odrl import EvaluationContext, evaluate, policy_problems
from batteryloop.exchange.trust import ParticipantClaims

from tests.conftest import SHARED

PROFILE = SHARED / "fixtures" / "cx-odrl-profile" / "schema"


def _profile_pairs() -> dict[str, tuple[str, ...]]:
    """left operand → the operators its constraint schema allows, read from the fixture."""
    pairs: dict[str, tuple[str, ...]] = {}
    for path in sorted((PROFILE / "constraint").glob("*-constraint-schema.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        main = doc["definitions"][doc["allOf"][0]["$ref"].rsplit("/", 1)[1]]["properties"]
        op = main["operator"]
        pairs[main["leftOperand"]["const"]] = tuple([op["const"]] if "const" in op else op["enum"])
    return pairs


def _scopes() -> dict[str, set[str]]:
    """left operand → where atomic-constraint-schemas.json lets it appear (AtomicAccessPermissionConstraint …)."""
    ids = {}
    for path in (PROFILE / "constraint").glob("*-constraint-schema.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        main = doc["definitions"][doc["allOf"][0]["$ref"].rsplit("/", 1)[1]]["properties"]
        ids[doc["$id"]] = main["leftOperand"]["const"]
    defs = json.loads((PROFILE / "atomic-constraint-schemas.json").read_text(encoding="utf-8"))["definitions"]
    out: dict[str, set[str]] = {}
    for scope in ("AtomicAccessPermissionConstraint", "AtomicUsagePermissionConstraint",
                  "AtomicProhibitionConstraint", "AtomicObligationConstraint"):
        for ref in re.findall(r'"\$ref": "([^"#]+)"', json.dumps(defs[scope])):
            if ref in ids:
                out.setdefault(ids[ref], set()).add(scope)
    return out


PAIRS = _profile_pairs()
SCOPES = _scopes()
ODRL_CONTEXT = json.loads((PROFILE / "context" / "odrl.jsonld").read_text(encoding="utf-8"))["@context"]
# the ODRL 2.2 constraint operators and logical operators (each checked to be in the profile's odrl.jsonld)
ODRL_OPERATORS = ("eq", "neq", "gt", "gteq", "lt", "lteq", "isA", "hasPart", "isPartOf", "isAllOf", "isAnyOf",
                  "isNoneOf")
LOGICAL = ("and", "or", "xone", "andSequence")

# ------------------------------------------------------------------------------------------ callers
PARTNER = "BPNL012345678910"
BLOCKED = "BPNL00000000BAD1"
STRANGER = "BPNL00000000XXXX"
FA = "DataExchangeGovernance:1.0"
CALLERS = {
    # a Catena-X member with the framework agreement, in the provider's group "battery-recyclers"
    "partner": ParticipantClaims("did:web:partner", bpn=PARTNER, memberships=frozenset({"catena-x"}),
                                 framework_agreements=frozenset({FA}), groups=frozenset({"battery-recyclers"})),
    # a member the provider has put on its block lists (by BPN and by group "sanctioned")
    "blocked": ParticipantClaims("did:web:blocked", bpn=BLOCKED, memberships=frozenset({"catena-x"}),
                                 framework_agreements=frozenset({FA}), groups=frozenset({"sanctioned"})),
    # a verified BPN and nothing else: no membership, no framework agreement, no group
    "stranger": ParticipantClaims("did:web:stranger", bpn=STRANGER),
    # a member of another data space only, with an older framework agreement version
    "elsewhere": ParticipantClaims("did:web:elsewhere", bpn=STRANGER, memberships=frozenset({"other-space"}),
                                   framework_agreements=frozenset({"DataExchangeGovernance:0.9"})),
    # a presentation without a BPN credential (a holder presents what it wants counted)
    "no-bpn": ParticipantClaims("did:web:blocked", memberships=frozenset({"catena-x"}),
                                framework_agreements=frozenset({FA})),
}


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


NOW = _ts("2026-01-01T00:00:00+00:00")
DAY = 86_400.0


# ------------------------------------------------------------------------------------------ the table
def ok(label: str, right: Any, who: str = "partner", **ctx: Any) -> tuple[str, Any, str, dict[str, Any], bool]:
    return (label, right, who, ctx, True)


def no(label: str, right: Any, who: str = "partner", **ctx: Any) -> tuple[str, Any, str, dict[str, Any], bool]:
    return (label, right, who, ctx, False)


def terms(right: Any) -> list[tuple[str, Any, str, dict[str, Any], bool]]:
    """A contract term holds when the consumer accepted the offer unchanged, and only then."""
    return [ok("accepted", right, terms_accepted=True), no("not-accepted", right, terms_accepted=False)]


END = "2026-06-30T00:00:00Z"
CASES: dict[tuple[str, str], list[tuple[str, Any, str, dict[str, Any], bool]]] = {
    # ---- checked against the caller's verified credentials
    ("BusinessPartnerNumber", "isAnyOf"): [
        ok("listed", [STRANGER, PARTNER]), no("not-listed", [STRANGER], "partner"),
        no("no-bpn-presented", [PARTNER, BLOCKED], "no-bpn")],
    ("BusinessPartnerNumber", "isNoneOf"): [  # a block list
        ok("not-blocked", [BLOCKED]), no("blocked", [STRANGER, BLOCKED], "blocked"),
        no("blocked-hides-bpn", [BLOCKED], "no-bpn")],
    ("BusinessPartnerGroup", "isAnyOf"): [
        ok("in-group", ["oem", "battery-recyclers"]), no("not-in-group", ["battery-recyclers"], "blocked"),
        no("no-bpn-presented", ["battery-recyclers"], "no-bpn")],
    ("BusinessPartnerGroup", "isNoneOf"): [  # a block list by group
        ok("not-in-blocked-group", ["sanctioned"]), no("in-blocked-group", ["sanctioned"], "blocked"),
        no("blocked-hides-bpn", ["sanctioned"], "no-bpn")],
    ("Membership", "eq"): [
        ok("member", "active"), no("no-membership", "active", "stranger"),
        no("member-of-another-space", "active", "elsewhere")],
    ("FrameworkAgreement", "eq"): [
        ok("signed", FA), no("not-signed", FA, "stranger"), no("other-version-signed", FA, "elsewhere")],
    # ---- checked against the clock (durations count from the agreement)
    ("DataUsageEndDate", "eq"): [
        ok("before-end", END, now=NOW), no("after-end", END, now=_ts("2026-07-01T00:00:00+00:00")),
        no("after-end-in-offset", "2026-06-30T12:00:00+02:00", now=_ts("2026-06-30T11:00:00+00:00"))],
    ("DataProvisioningEndDate", "eq"): [
        ok("before-end", END, now=NOW), no("after-end", END, now=_ts("2026-07-01T00:00:00+00:00"))],
    ("DataUsageEndDurationDays", "eq"): [
        ok("within", 30, now=NOW, agreed_at=NOW - 29 * DAY), no("past", 30, now=NOW, agreed_at=NOW - 31 * DAY)],
    ("DataProvisioningEndDurationDays", "eq"): [
        ok("within", 2, now=NOW, agreed_at=NOW - 1 * DAY), no("past", 2, now=NOW, agreed_at=NOW - 3 * DAY)],
    # ---- contract terms (right operands as in the profile's samples/)
    ("UsagePurpose", "isAnyOf"): terms(["cx.circular.dpp:1", "cx.puris.base:1"]),
    ("UsageRestriction", "isAllOf"): terms(["cx.thirdParty.forbidden:1", "cx.manipulation.forbidden:1"]),
    ("ContractReference", "isAllOf"): terms(["ContractID250620197"]),
    ("AffiliatesRegion", "isAnyOf"): terms(["cx.region.europe:1", "cx.region.northAmerica:1"]),
    ("AffiliatesBpnl", "isAnyOf"): terms([PARTNER]),
    ("ManagedLegalEntityRegion", "isAnyOf"): terms(["cx.region.southAmerica:1", "cx.region.oceania:1"]),
    ("ManagedLegalEntityBpnl", "isAnyOf"): terms([PARTNER, "BPNL543210987612"]),
    ("DataUsageEndDefinition", "eq"): terms("cx.dataUsageEnd.unlimited:1"),
    ("DataFrequency", "eq"): terms("cx.dataFrequency.once:1"),
    ("VersionChanges", "eq"): terms("cx.versionChanges.minor:1"),
    ("ContractTermination", "eq"): terms("cx.data.keeping:1"),  # the sample's "cx.data.keeping" breaks the schema
    ("ConfidentialInformationMeasures", "eq"): terms("cx.confidentiality.measures:1"),
    ("ConfidentialInformationSharing", "isAnyOf"): terms(["cx.sharing.affiliates:1"]),
    ("ExclusiveUsage", "eq"): terms("cx.exclusiveUsage.dataConsumer:1"),
    ("Warranty", "eq"): terms("cx.warranty.none:1"),
    ("WarrantyDefinition", "eq"): terms("cx.warranty.contractEndDate:1"),
    ("WarrantyDurationMonths", "eq"): terms(12),
    ("Liability", "eq"): terms("cx.grossNegligence:1"),
    ("Precedence", "eq"): terms("cx.precedence.contractReference:1"),
    ("JurisdictionLocation", "eq"): terms("Munich"),
    ("JurisdictionLocationReference", "eq"): terms("cx.location.dataConsumer:1"),
}

BASE = {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}


def atom(left: str, op: str, right: Any) -> dict[str, Any]:
    return {"leftOperand": left, "operator": op, "rightOperand": right}


def policy_for(c: dict[str, Any], left: str | None = None) -> tuple[dict[str, Any], str]:
    """A small policy holding constraint ``c`` where the profile lets its operand appear, and the action asked.

    Permission operands go in the permission (``access`` for access-only operands); prohibition-only and
    obligation-only operands go in a prohibition/obligation next to a ``Membership eq active`` permission.
    """
    where = SCOPES.get(left or c["leftOperand"], {"AtomicUsagePermissionConstraint"})
    if "AtomicUsagePermissionConstraint" in where:
        return {"@id": "p", "@type": "Offer", "permission": [{"action": "use", "constraint": [c]}]}, "use"
    if "AtomicAccessPermissionConstraint" in where:
        return {"@id": "p", "@type": "Set", "permission": [{"action": "access", "constraint": [c]}]}, "access"
    kind = "prohibition" if "AtomicProhibitionConstraint" in where else "obligation"
    return {"@id": "p", "@type": "Offer", "permission": [{"action": "use", "constraint": [BASE]}],
            kind: [{"action": "use", "constraint": [c]}]}, "use"


def ctx_for(who: str, ctx: dict[str, Any]) -> EvaluationContext:
    return EvaluationContext(CALLERS[who], **{"now": NOW, **ctx})


PAIR_PARAMS = [pytest.param(left, op, label, right, who, ctx, expected, id=f"{left}-{op}-{label}")
               for (left, op), cases in CASES.items() for label, right, who, ctx, expected in cases]


# ------------------------------------------------------------------------------------------ the tests
def test_the_profile_is_read_from_the_fixture() -> None:
    assert len(PAIRS) == len(list((PROFILE / "constraint").glob("*-constraint-schema.json"))) >= 29
    assert PAIRS["BusinessPartnerNumber"] == ("isAnyOf", "isNoneOf")
    assert PAIRS["BusinessPartnerGroup"] == ("isAnyOf", "isNoneOf")
    assert SCOPES["BusinessPartnerNumber"] == {"AtomicAccessPermissionConstraint"}
    assert SCOPES["UsageRestriction"] == {"AtomicProhibitionConstraint"}
    assert SCOPES["DataProvisioningEndDate"] == {"AtomicObligationConstraint"}
    assert set(SCOPES) == set(PAIRS), "every profile operand may appear somewhere in a policy"
    for name in (*ODRL_OPERATORS, *LOGICAL):
        assert ODRL_CONTEXT[name] == f"odrl:{name}", name


def test_every_profile_pair_has_cases() -> None:
    """A pair the profile allows without a row here (a new operand or operator) is an uncovered case."""
    profile = {(left, op) for left, ops in PAIRS.items() for op in ops}
    assert sorted(profile - set(CASES)) == [], "profile pairs without allowed/refused cases"
    assert sorted(set(CASES) - profile) == [], "rows for pairs the profile does not have"
    for pair, cases in CASES.items():
        outcomes = {expected for *_, expected in cases}
        assert outcomes == {True, False}, f"{pair} needs an allowed and a refused case"


@pytest.mark.parametrize("left, op, label, right, who, ctx, expected", PAIR_PARAMS)
def test_profile_pair(left: str, op: str, label: str, right: Any, who: str, ctx: dict[str, Any],
                      expected: bool) -> None:
    c = atom(left, op, right)
    pol, action = policy_for(c)
    assert policy_problems(pol) == [], "the case's constraint is a valid Catena-X constraint"
    d = evaluate(pol, action, ctx_for(who, ctx))
    assert d.allowed is expected, (label, d.reasons)
    assert d.reasons and any(left in r for r in d.reasons), d.reasons
    # the same constraint with its operand written as a JSON-LD IRI, as a compacted/expanded policy has it
    for iri in (f"cx-policy:{left}", {"@id": f"https://w3id.org/catenax/2025/9/policy/{left}"}):
        pol2, _ = policy_for({**c, "leftOperand": iri}, left)
        again = evaluate(pol2, action, ctx_for(who, ctx))
        assert again.allowed is expected, (iri, again.reasons)


UNSUPPORTED = [pytest.param(left, op, id=f"{left}-{op}")
               for left, ops in PAIRS.items() for op in ODRL_OPERATORS if op not in ops]


@pytest.mark.parametrize("left, op", UNSUPPORTED)
def test_operator_outside_the_profile_is_denied(left: str, op: str) -> None:
    """E.g. ``BusinessPartnerNumber eq``, ``Membership neq``, ``DataUsageEndDate lteq``: cannot be evaluated → denied,
    even for a caller the profile's own operator would let in."""
    allowed_case = next(case for case in CASES[(left, PAIRS[left][0])] if case[4])
    _, right, who, ctx, _ = allowed_case
    c = atom(left, op, right)
    pol, action = policy_for(c)
    d = evaluate(pol, action, ctx_for(who, {"terms_accepted": True, **ctx}))
    assert not d.allowed, d.reasons
    assert any(left in r and op in r and "breaks the Catena-X profile" in r for r in d.reasons), d.reasons
    assert any(left in p for p in policy_problems(pol))


@pytest.mark.parametrize("left, op, right", [
    pytest.param("spatial", "eq", "http://example.org/EU", id="odrl-spatial"),
    pytest.param("purpose", "isAnyOf", ["cx.circular.dpp:1"], id="odrl-purpose"),
    pytest.param("dateTime", "lteq", "2030-01-01T00:00:00Z", id="odrl-dateTime"),
    pytest.param("businessPartnerNumber", "isAnyOf", [PARTNER], id="wrong-case-BPN"),
    pytest.param("BusinessPartnerNumbers", "isNoneOf", [BLOCKED], id="misspelt-BPN"),
])
def test_operand_outside_the_profile_is_denied(left: str, op: str, right: Any) -> None:
    pol = {"@id": "p", "permission": [{"action": "use", "constraint": [atom(left, op, right)]}]}
    d = evaluate(pol, "use", ctx_for("partner", {"terms_accepted": True}))
    assert not d.allowed
    assert any(left in r and "not in the Catena-X profile" in r for r in d.reasons), d.reasons
    assert policy_problems(pol)


BAD_RIGHT = [
    pytest.param("BusinessPartnerNumber", "isNoneOf", BLOCKED, id="BPN-isNoneOf-not-a-list"),
    pytest.param("BusinessPartnerNumber", "isNoneOf", [], id="BPN-isNoneOf-empty-list"),
    pytest.param("BusinessPartnerNumber", "isAnyOf", ["partner-one"], id="BPN-isAnyOf-not-a-BPNL"),
    pytest.param("BusinessPartnerGroup", "isNoneOf", "sanctioned", id="group-isNoneOf-not-a-list"),
    pytest.param("BusinessPartnerGroup", "isAnyOf", ["battery-recyclers", "battery-recyclers"], id="group-duplicate"),
    pytest.param("Membership", "eq", "inactive", id="Membership-not-active"),
    pytest.param("FrameworkAgreement", "eq", "Traceability:1.0", id="FrameworkAgreement-unknown"),
    pytest.param("DataUsageEndDate", "eq", "2026-06-30", id="DataUsageEndDate-no-time"),
    pytest.param("DataUsageEndDurationDays", "eq", "30", id="DataUsageEndDurationDays-string"),
    pytest.param("UsagePurpose", "isAnyOf", [], id="UsagePurpose-empty-list"),  # any string is a purpose
    pytest.param("ContractTermination", "eq", "cx.data.keeping", id="ContractTermination-sample-defect"),
    pytest.param("Warranty", "eq", "cx.warranty.none:2", id="Warranty-unknown"),
]


@pytest.mark.parametrize("left, op, right", BAD_RIGHT)
def test_right_operand_outside_the_profile_is_denied(left: str, op: str, right: Any) -> None:
    """A right operand of the wrong type or outside the profile's values: denied for every caller, even one
    that would pass the constraint's meaning and has accepted the terms."""
    c = atom(left, op, right)
    pol, action = policy_for(c)
    for who in ("partner", "stranger"):
        d = evaluate(pol, action, ctx_for(who, {"terms_accepted": True}))
        assert not d.allowed and any("breaks the Catena-X profile" in r for r in d.reasons), d.reasons
    assert policy_problems(pol)


# ------------------------------------------------------------------------------------------ logical constraints
MEMBER = atom("Membership", "eq", "active")
NOT_BLOCKED = atom("BusinessPartnerNumber", "isNoneOf", [BLOCKED])
IN_GROUP = atom("BusinessPartnerGroup", "isAnyOf", ["battery-recyclers"])


@pytest.mark.parametrize("constraints, who, expected", [
    pytest.param([{"and": [MEMBER, NOT_BLOCKED]}], "partner", True, id="and-both-hold"),
    pytest.param([{"and": [MEMBER, NOT_BLOCKED]}], "blocked", False, id="and-block-list-fails"),
    pytest.param([{"and": [MEMBER, NOT_BLOCKED]}], "stranger", False, id="and-membership-fails"),
    pytest.param([{"and": [MEMBER, {"and": [IN_GROUP, NOT_BLOCKED]}]}], "partner", True, id="nested-and-holds"),
    pytest.param([{"and": [MEMBER, {"and": [IN_GROUP, NOT_BLOCKED]}]}], "blocked", False, id="nested-and-fails"),
    pytest.param([MEMBER, NOT_BLOCKED], "partner", True, id="constraint-list-holds"),  # a list is a conjunction
    pytest.param([MEMBER, NOT_BLOCKED], "blocked", False, id="constraint-list-fails"),
])
def test_and(constraints: list[Any], who: str, expected: bool) -> None:
    pol = {"@id": "p", "permission": [{"action": "access", "constraint": constraints}]}
    assert policy_problems(pol) == []
    d = evaluate(pol, "access", ctx_for(who, {}))
    assert d.allowed is expected, d.reasons


@pytest.mark.parametrize("logical", [op for op in LOGICAL if op != "and"])
@pytest.mark.parametrize("who", ["partner", "blocked"])
def test_logical_constraint_other_than_and_is_denied(logical: str, who: str) -> None:
    """The profile's policy schema has only ``and`` logical constraints: ``or``/``xone``/``andSequence`` are
    denied, even when every member holds (partner) and — above all — when the block list alone fails (blocked)."""
    pol = {"@id": "p", "permission": [{"action": "access", "constraint": [{logical: [MEMBER, NOT_BLOCKED]}]}]}
    d = evaluate(pol, "access", ctx_for(who, {}))
    assert not d.allowed
    assert any(repr(logical) in r and "only 'and'" in r for r in d.reasons), d.reasons
    assert any(repr(logical) in p for p in policy_problems(pol))


# ------------------------------------------------------------------------------------------ prohibitions
PROHIBITION_PAIRS = [pytest.param(left, op, id=f"{left}-{op}") for left, ops in PAIRS.items()
                     for op in ops if "AtomicProhibitionConstraint" in SCOPES[left]]


@pytest.mark.parametrize("left, op", PROHIBITION_PAIRS)
def test_prohibition(left: str, op: str) -> None:
    """A Catena-X prohibition (AffiliatesRegion, AffiliatesBpnl, UsageRestriction) is a restriction the
    consumer accepts: allowed when it accepted the terms, refused when not; one for another action does not
    apply; an unknown one is refused."""
    right = next(case for case in CASES[(left, op)] if case[4])[1]
    pol = {"@id": "p", "permission": [{"action": "use", "constraint": [MEMBER]}],
           "prohibition": [{"action": "use", "constraint": [atom(left, op, right)]}]}
    assert policy_problems(pol) == []
    assert evaluate(pol, "use", ctx_for("partner", {"terms_accepted": True})).allowed
    d = evaluate(pol, "use", ctx_for("partner", {"terms_accepted": False}))
    assert not d.allowed and any("prohibition" in r and left in r for r in d.reasons), d.reasons
    other = {**pol, "permission": [{"action": "access", "constraint": [MEMBER]}],
             "prohibition": [{"action": "use", "constraint": [atom(left, op, right)]}]}
    assert evaluate(other, "access", ctx_for("partner", {"terms_accepted": False})).allowed
    bad = {**pol, "prohibition": [{"action": "use", "constraint": [atom(left, "isNoneOf", right)]}]}
    d = evaluate(bad, "use", ctx_for("partner", {"terms_accepted": True}))
    assert not d.allowed and any("prohibition" in r and "isNoneOf" in r for r in d.reasons), d.reasons


def test_permission_alternatives_and_missing_action() -> None:
    """Two permissions for one action are alternatives; a policy without a permission for the action refuses."""
    pol = {"@id": "p", "permission": [
        {"action": "access", "constraint": [atom("BusinessPartnerNumber", "isAnyOf", [STRANGER])]},
        {"action": "access", "constraint": [{"and": [MEMBER, NOT_BLOCKED]}]}]}
    assert evaluate(pol, "access", ctx_for("stranger", {})).allowed  # first alternative
    assert evaluate(pol, "access", ctx_for("partner", {})).allowed  # second alternative
    d = evaluate(pol, "access", ctx_for("blocked", {}))
    assert not d.allowed and any(BLOCKED in r for r in d.reasons), d.reasons
    d = evaluate(pol, "use", ctx_for("partner", {}))
    assert not d.allowed and "no 'use' permission" in d.reasons[0]


def test_fixture_path_matches_conftest() -> None:
    assert PROFILE == Path(SHARED) / "fixtures" / "cx-odrl-profile" / "schema"
    assert PROFILE.is_dir()
