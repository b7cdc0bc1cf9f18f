"""``exchange.odrl`` beyond the profile's pair table: how a decision is reached and what every denial says.

Sources:

* ODRL 2.2 Information Model (W3C Recommendation): a Policy has ``permission``/``prohibition``/``obligation``
  rules; a rule's ``action`` may be an IRI (``odrl:use``, compacted ``use``, or ``{"@id": …}``); its
  ``constraint`` list is a conjunction; a logical constraint (``and``, ``or``, ``xone``, ``andSequence``) has
  one operator; several permissions for one action are alternatives (any one may grant it).
* Catena-X ODRL profile (/work/shared/fixtures/cx-odrl-profile/schema, catenax-eV/cx-odrl-profile @ 3c7c885):
  ``context/context.jsonld`` binds ``cx-policy:`` to ``https://w3id.org/catenax/2025/9/policy/`` (the
  previous release used ``https://w3id.org/catenax/policy/``); ``policy-schema.json`` allows only ``and``;
  ``constraint/*`` give each operand's operators and values; ``DataUsageEndDate``/``…DurationDays``: usage
  allowed *until* the end (the end instant itself included), durations counted in days from the agreement.
* the module docstring: what cannot be evaluated is denied, every denial says why (naming the operand, the
  caller's verified value and, for alternatives, which permission failed); a prohibition binds the consumer
  once it accepted the terms; an obligation must hold.
* counter-offers (DSP 2025-1 contract negotiation, ``ContractRequestMessage`` with an ``offer`` after a
  ``ContractOfferMessage``): a counter-offer may narrow, never widen, the offer (``narrowing_problems``'
  docstring), and each problem names the permission / rule and the constraint.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from batteryloop.exchange.errors import PolicyDenied
from batteryloop.exchange.odrl import Decision, EvaluationContext, evaluate, narrowing_problems, policy_problems
from batteryloop.exchange.trust import ParticipantClaims

PARTNER = "BPNL012345678910"
BLOCKED = "BPNL00000000BAD1"
FA = "DataExchangeGovernance:1.0"
MEMBER = ParticipantClaims("did:web:partner", bpn=PARTNER, memberships=frozenset({"catena-x", "ouranos"}),
                           framework_agreements=frozenset({FA}), groups=frozenset({"recyclers", "oem"}))
BARE = ParticipantClaims("did:web:bare", bpn=BLOCKED)
NO_BPN = ParticipantClaims("did:web:nobpn", memberships=frozenset({"catena-x"}))
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DAY = 86_400


def atom(left: Any, op: Any, right: Any) -> dict[str, Any]:
    return {"leftOperand": left, "operator": op, "rightOperand": right}


def perm(*constraints: Any, action: Any = "use") -> dict[str, Any]:
    return {"action": action, "constraint": list(constraints)}


def pol(*permissions: dict[str, Any], **rules: Any) -> dict[str, Any]:
    return {"@id": "p", "permission": list(permissions), **rules}


def ctx(claims: ParticipantClaims = MEMBER, **kw: Any) -> EvaluationContext:
    return EvaluationContext(claims, **{"now": NOW, **kw})


MEMBERSHIP = atom("Membership", "eq", "active")


# ------------------------------------------------------------------------------------------ decisions
def test_a_denied_decision_raises_with_every_reason() -> None:
    Decision(True, ["fine"]).raise_if_denied("contract request")
    with pytest.raises(PolicyDenied) as e:
        Decision(False, ["no membership", "no BPN"]).raise_if_denied("contract request")
    assert str(e.value) == "contract request denied: no membership; no BPN"
    assert e.value.reasons == ["no membership", "no BPN"] and e.value.code == "policy_denied" and e.value.status == 403


# ------------------------------------------------------------------------------------------ spellings
@pytest.mark.parametrize("left", ["Membership", "cx-policy:Membership", "https://w3id.org/catenax/policy/Membership",
                                  "https://w3id.org/catenax/2025/9/policy/Membership",
                                  {"@id": "cx-policy:Membership"}, {"@id": "Membership"}])
@pytest.mark.parametrize("op", ["eq", "odrl:eq", {"@id": "odrl:eq"}, {"@id": "eq"}])
def test_iri_spellings_of_operands_and_operators(left: Any, op: Any) -> None:
    """A compacted or expanded JSON-LD IRI names the same operand/operator; the reason names it plainly."""
    p = pol(perm(atom(left, op, "active")))
    assert policy_problems(p) == []
    ok = evaluate(p, "use", ctx())
    assert ok.allowed and ok.reasons[0].startswith(f"Membership eq active: {PARTNER} presents"), ok.reasons
    no = evaluate(p, "use", ctx(BARE))
    assert not no.allowed and no.reasons[0].startswith("permission 1: Membership eq active: BPNL00000000BAD1 presented no"), no.reasons


@pytest.mark.parametrize("left", ["Membership:cx-policy", "xcx-policy:Membership", "https://w3id.org/catenax/Membership",
                                  {"id": "Membership"}, None])
def test_other_spellings_are_not_profile_operands(left: Any) -> None:
    p = pol(perm(atom(left, "eq", "active")))
    d = evaluate(p, "use", ctx())
    assert not d.allowed and "is not in the Catena-X profile and cannot be evaluated" in d.reasons[0], d.reasons
    assert any("is not in the Catena-X profile" in x for x in policy_problems(p))


@pytest.mark.parametrize("action", ["use", "odrl:use", {"@id": "odrl:use"}, {"@id": "use"}, {"action": "use"}])
def test_action_spellings(action: Any) -> None:
    assert evaluate(pol(perm(MEMBERSHIP, action=action)), "use", ctx()).allowed
    d = evaluate(pol(perm(MEMBERSHIP, action=action)), "access", ctx())
    assert not d.allowed and d.reasons == ["the policy grants no 'access' permission (it has ['use'])"]


def test_no_permission_for_the_action_names_what_the_policy_has() -> None:
    none = Decision(False, ["the policy grants no 'use' permission (it has none)"])
    assert evaluate({"permission": []}, "use", ctx()) == none and evaluate({}, "use", ctx()) == none
    two = {"permission": [perm(action="transfer"), perm(action="access"), "junk", perm(action="access")]}
    d = evaluate(two, "use", ctx())
    assert not d.allowed and d.reasons == ["the policy grants no 'use' permission (it has ['access', 'transfer'])"]
    # a single permission object (not in a list) is a permission too
    assert evaluate({"permission": perm(MEMBERSHIP)}, "use", ctx()).allowed


# ------------------------------------------------------------------------------------------ what the reasons say
def _one(c: dict[str, Any], claims: ParticipantClaims = MEMBER, **kw: Any) -> tuple[bool, str]:
    d = evaluate(pol(perm(c, action="access")), "access", ctx(claims, **kw))
    assert len(d.reasons) == 1, d.reasons
    if d.allowed:
        return True, d.reasons[0]
    assert d.reasons[0].startswith("permission 1: "), d.reasons  # the (only) permission that failed is named
    return False, d.reasons[0].removeprefix("permission 1: ")


def test_credential_constraints_name_the_verified_values() -> None:
    assert _one(atom("BusinessPartnerNumber", "isAnyOf", [PARTNER])) == (
        True, f"BusinessPartnerNumber isAnyOf ['{PARTNER}']: caller's verified BPN is '{PARTNER}'")
    assert _one(atom("BusinessPartnerNumber", "isNoneOf", [PARTNER])) == (
        False, f"BusinessPartnerNumber isNoneOf ['{PARTNER}']: caller's verified BPN is '{PARTNER}'")
    assert _one(atom("BusinessPartnerGroup", "isAnyOf", ["recyclers"])) == (
        True, f"BusinessPartnerGroup isAnyOf ['recyclers']: {PARTNER} is in groups ['oem', 'recyclers']")
    assert _one(atom("BusinessPartnerGroup", "isNoneOf", ["recyclers"]), BARE) == (
        True, f"BusinessPartnerGroup isNoneOf ['recyclers']: {BLOCKED} is in groups []")
    for left, right in (("BusinessPartnerNumber", [PARTNER]), ("BusinessPartnerGroup", ["recyclers"])):
        for op in ("isAnyOf", "isNoneOf"):
            assert _one(atom(left, op, right), NO_BPN) == (
                False, f"{left} {op} {right}: did:web:nobpn presented no verified BPN")


def test_membership_is_in_the_evaluating_space() -> None:
    assert _one(MEMBERSHIP) == (True, f"Membership eq active: {PARTNER} presents an accepted catena-x membership "
                                      "credential")
    assert _one(MEMBERSHIP, membership_space="ouranos")[0]
    assert _one(MEMBERSHIP, NO_BPN, membership_space="ouranos") == (
        False, "Membership eq active: did:web:nobpn presented no accepted ouranos membership credential "
               "(accepted memberships: ['catena-x'])")
    assert _one(MEMBERSHIP, BARE) == (
        False, f"Membership eq active: {BLOCKED} presented no accepted catena-x membership credential "
               "(accepted memberships: none)")


def test_framework_agreement_names_what_is_held() -> None:
    fa = atom("FrameworkAgreement", "eq", FA)
    two = ParticipantClaims("did:web:two", framework_agreements=frozenset({FA, "DataExchangeGovernance:0.9"}))
    assert _one(fa, two) == (True, f"FrameworkAgreement eq {FA}: did:web:two holds "
                                   "['DataExchangeGovernance:0.9', 'DataExchangeGovernance:1.0'] framework agreement "
                                   "credentials")
    assert _one(fa, BARE) == (False, f"FrameworkAgreement eq {FA}: {BLOCKED} holds no framework agreement credentials")


END = "2026-06-30T00:00:00Z"
END_TS = 1_782_777_600.0


@pytest.mark.parametrize("left", ["DataUsageEndDate", "DataProvisioningEndDate"])
def test_end_dates_include_the_end_instant(left: str) -> None:
    c = pol(perm(MEMBERSHIP, action="use"), obligation=[{"action": "use", "constraint": [atom(left, "eq", END)]}]) \
        if left == "DataProvisioningEndDate" else pol(perm(atom(left, "eq", END)))
    for now, allowed, word in ((END_TS - 1, True, "before"), (END_TS, True, "before"), (END_TS + 1, False, "after")):
        d = evaluate(c, "use", ctx(now=now))
        assert d.allowed is allowed, d.reasons
        assert any(f"{left} {END}: now is {word} the end date" in r for r in d.reasons), d.reasons


@pytest.mark.parametrize("left", ["DataUsageEndDurationDays", "DataProvisioningEndDurationDays"])
def test_durations_count_whole_days_from_the_agreement(left: str) -> None:
    c = pol(perm(MEMBERSHIP, action="use"), obligation=[{"action": "use", "constraint": [atom(left, "eq", 3)]}]) \
        if left == "DataProvisioningEndDurationDays" else pol(perm(atom(left, "eq", 3)))
    agreed = NOW - 3 * DAY
    for now, allowed, word in ((NOW - 1, True, "within"), (NOW, True, "within"), (NOW + 1, False, "past")):
        d = evaluate(c, "use", ctx(now=now, agreed_at=agreed))
        assert d.allowed is allowed, d.reasons
        assert any(f"{left} 3 days from the agreement: {word} it" in r for r in d.reasons), d.reasons
    # while the agreement is being concluded, the duration has not started
    d = evaluate(c, "use", ctx(now=NOW + 1000 * DAY))
    assert d.allowed and any(f"{left} 3: counts from the agreement, which is being concluded now" in r
                             for r in d.reasons), d.reasons


def test_contract_terms_hold_once_accepted() -> None:
    c = atom("UsagePurpose", "isAnyOf", ["cx.circular.dpp:1"])
    assert _one(c, terms_accepted=True) == (
        True, "UsagePurpose isAnyOf ['cx.circular.dpp:1']: term accepted by the consumer in the agreement")
    assert _one(c) == (False, "UsagePurpose isAnyOf ['cx.circular.dpp:1']: a contract term the consumer has not accepted")


# ------------------------------------------------------------------------------------------ what cannot be evaluated
def test_unevaluable_constraints_say_why() -> None:
    d = evaluate(pol(perm(5)), "use", ctx())
    assert d.reasons == ["permission 1: constraint 5 is not an object"]
    d = evaluate(pol(perm(atom("Membership", "neq", "active"))), "use", ctx())
    assert d.reasons[0].startswith("permission 1: constraint 'Membership' neq 'active' breaks the Catena-X profile: ")
    d = evaluate(pol(perm(atom("spatial", "eq", "EU"))), "use", ctx())
    assert d.reasons == ["permission 1: constraint 'spatial' eq 'EU' is not in the Catena-X profile and cannot be "
                         "evaluated"]
    d = evaluate(pol(perm({"leftOperand": "Membership", "operator": "eq"})), "use", ctx())
    assert not d.allowed and "Membership: missing rightOperand" in d.reasons[0], d.reasons
    d = evaluate(pol(perm({"leftOperand": "Membership", "rightOperand": "active"})), "use", ctx())
    assert not d.allowed and "Membership: missing operator" in d.reasons[0], d.reasons


@pytest.mark.parametrize("logical", ["or", "xone", "andSequence"])
def test_only_and_is_evaluated_and_the_other_operator_is_named(logical: str) -> None:
    for c in ({logical: [MEMBERSHIP]}, {"and": [MEMBERSHIP], logical: [MEMBERSHIP]}):
        d = evaluate(pol(perm(c)), "use", ctx())
        assert d.reasons == [f"permission 1: logical constraint {logical!r} is not allowed by the Catena-X profile "
                             "(only 'and'); cannot evaluate"], d.reasons
        assert any(f"logical constraint {logical!r}" in p for p in policy_problems(pol(perm(c))))


def test_and_is_a_conjunction_and_every_failure_is_named() -> None:
    both = {"and": [atom("BusinessPartnerNumber", "isAnyOf", [PARTNER]), MEMBERSHIP]}
    d = evaluate(pol(perm(both)), "use", ctx(BARE))
    assert not d.allowed and len(d.reasons) == 2
    assert d.reasons[0].startswith("permission 1: BusinessPartnerNumber") and d.reasons[1].startswith(
        "permission 1: Membership"), d.reasons
    ok = evaluate(pol(perm(both)), "use", ctx())
    assert ok.allowed and [r.split(" ")[0] for r in ok.reasons] == ["BusinessPartnerNumber", "Membership"]
    assert evaluate(pol(perm({"and": MEMBERSHIP})), "use", ctx()).allowed  # one constraint, not in a list
    assert not evaluate(pol(perm({"and": MEMBERSHIP})), "use", ctx(BARE)).allowed
    assert not evaluate(pol(perm(MEMBERSHIP, atom("BusinessPartnerNumber", "isAnyOf", [BLOCKED]))), "use", ctx()).allowed


def test_permissions_are_alternatives_and_a_denial_names_each() -> None:
    p = pol(perm(atom("BusinessPartnerNumber", "isAnyOf", ["BPNL00000000XXXX"])), perm(atom("spatial", "eq", "EU")),
            perm(MEMBERSHIP))
    d = evaluate(p, "use", ctx(BARE))
    assert not d.allowed and len(d.reasons) == 3, d.reasons
    assert d.reasons[0] == f"permission 1: BusinessPartnerNumber isAnyOf ['BPNL00000000XXXX']: caller's verified BPN is '{BLOCKED}'"
    assert d.reasons[1] == f"permission 2: constraint 'spatial' eq 'EU' is not in the Catena-X profile and cannot be evaluated"
    assert d.reasons[2].startswith("permission 3: Membership eq active: "), d.reasons
    # the first alternative that holds grants, and only its own reasons are given, without marks
    ok = evaluate(p, "use", ctx())
    assert ok.allowed and ok.reasons == [f"Membership eq active: {PARTNER} presents an accepted catena-x membership "
                                         "credential"], ok.reasons
    first = evaluate(pol(perm(MEMBERSHIP), perm(atom("BusinessPartnerNumber", "isAnyOf", [PARTNER]))), "use", ctx())
    assert first.allowed and len(first.reasons) == 1 and first.reasons[0].startswith("Membership")
    assert all("✓" not in r and "✗" not in r for r in ok.reasons + d.reasons)
    # a rule with no constraint grants the action unconditionally
    assert evaluate(pol({"action": "use"}), "use", ctx(BARE)) == Decision(True, [])


# ------------------------------------------------------------------------------------------ prohibitions, obligations
PROHIBIT = {"action": "use", "constraint": [atom("AffiliatesRegion", "isAnyOf", ["cx.region.europe:1"])]}


def test_prohibitions_bind_the_consumer_once_it_accepted_the_terms() -> None:
    p = pol(perm(MEMBERSHIP), prohibition=[PROHIBIT])
    ok = evaluate(p, "use", ctx(terms_accepted=True))
    assert ok.allowed and ok.reasons[-1] == ("prohibition accepted: AffiliatesRegion isAnyOf ['cx.region.europe:1']: "
                                             "term accepted by the consumer in the agreement"), ok.reasons
    d = evaluate(p, "use", ctx())
    assert d == Decision(False, ["prohibition terms not accepted by the consumer: ✗ AffiliatesRegion isAnyOf "
                                 "['cx.region.europe:1']: a contract term the consumer has not accepted"])
    # a prohibition of another action, or not an object, does not apply
    for other in ({**PROHIBIT, "action": "distribute"}, "junk"):
        assert evaluate(pol(perm(MEMBERSHIP), prohibition=[other]), "use", ctx()).allowed
    # … but one that cannot be evaluated is refused, even after the terms were accepted
    bad = {"action": "use", "constraint": [{"or": [MEMBERSHIP]}]}
    d = evaluate(pol(perm(MEMBERSHIP), prohibition=[PROHIBIT, bad]), "use", ctx(terms_accepted=True))
    assert d == Decision(False, ["prohibition: logical constraint 'or' is not allowed by the Catena-X profile "
                                 "(only 'and'); cannot evaluate"])
    # a permission that does not hold is the reason, not the prohibition behind it
    d = evaluate(p, "use", ctx(BARE))
    assert not d.allowed and d.reasons[0].startswith("permission 1: Membership"), d.reasons


def test_obligations_must_hold() -> None:
    end = atom("DataProvisioningEndDate", "eq", END)
    p = pol(perm(MEMBERSHIP), obligation=[{"action": "use", "constraint": [end]}])
    ok = evaluate(p, "use", ctx(now=END_TS))
    assert ok.allowed and ok.reasons[-1] == f"obligation: DataProvisioningEndDate {END}: now is before the end date"
    d = evaluate(p, "use", ctx(now=END_TS + 1))
    assert d == Decision(False, [f"obligation cannot be met: DataProvisioningEndDate {END}: now is after the end date"])
    d = evaluate(pol(perm(MEMBERSHIP), obligation=["junk", {"action": "use", "constraint": [atom("spatial", "eq", "EU")]}]),
                 "use", ctx())
    assert d == Decision(False, ["obligation: constraint 'spatial' eq 'EU' is not in the Catena-X profile and cannot be "
                                 "evaluated"])
    both = pol(perm(MEMBERSHIP), prohibition=[PROHIBIT], obligation=[{"action": "use", "constraint": [end]}])
    ok = evaluate(both, "use", ctx(now=END_TS, terms_accepted=True))
    assert [r.split(":")[0] for r in ok.reasons] == ["Membership eq active", "prohibition accepted", "obligation"]


# ------------------------------------------------------------------------------------------ policy_problems
def test_policy_problems_name_where_the_problem_is() -> None:
    p = {"permission": [perm(MEMBERSHIP, {"and": [MEMBERSHIP, atom("spatial", "eq", "EU")]}), "junk"],
         "prohibition": [{"action": "use", "constraint": [7, {"or": [atom("Membership", "neq", "active")]}]}],
         "obligation": [{"action": "use", "constraint": {"xone": [MEMBERSHIP]}}]}
    probs = policy_problems(p)
    assert probs[0] == "permission[0].constraint[1].and[1]: leftOperand 'spatial' is not in the Catena-X profile"
    assert probs[1] == "prohibition[0].constraint[0]: not an object"
    assert probs[2] == "prohibition[0].constraint[1]: logical constraint 'or' (Catena-X allows only 'and')"
    assert probs[3].startswith("prohibition[0].constraint[1].or[0]: Membership operator: ") and "'eq'" in probs[3], probs
    assert probs[4:] == ["obligation[0].constraint[0]: logical constraint 'xone' (Catena-X allows only 'and')"]
    mixed = {"permission": [perm({"and": [MEMBERSHIP], "or": [atom("spatial", "eq", "EU")]})]}
    assert policy_problems(mixed)[0] == "permission[0].constraint[0]: logical constraint 'or' (Catena-X allows only 'and')"
    assert policy_problems({"permission": [perm({"and": [atom("Membership", "eq", "active")]})]}) == []


# ------------------------------------------------------------------------------------------ counter-offers
PURPOSE = atom("UsagePurpose", "isAnyOf", ["cx.circular.dpp:1"])
OFFER = {"permission": [perm({"and": [MEMBERSHIP, PURPOSE]})],
         "prohibition": [PROHIBIT], "obligation": [{"action": "use", "constraint": [atom("DataProvisioningEndDurationDays", "eq", 30)]}]}


def test_a_counter_offer_may_only_narrow() -> None:
    assert narrowing_problems(OFFER, OFFER) == []
    # the same constraints written differently (flat list, IRIs, operator objects, one more term) narrow
    same = {**OFFER, "permission": [{"action": {"@id": "odrl:use"}, "@type": "Permission", "constraint": [
        atom("cx-policy:Membership", {"@id": "odrl:eq"}, "active"), PURPOSE,
        atom("UsageRestriction", "isAllOf", ["cx.thirdParty.forbidden:1"])]}]}
    assert narrowing_problems(same, OFFER) == []
    # a second offered permission is an alternative the counter-offer may narrow instead
    two = {**OFFER, "permission": [perm(atom("BusinessPartnerNumber", "isAnyOf", [PARTNER])), *OFFER["permission"]]}
    assert narrowing_problems({**OFFER, "permission": [perm(MEMBERSHIP, PURPOSE), "junk"]}, two) == []


def test_counter_offer_problems_name_the_permission_and_constraint() -> None:
    assert narrowing_problems({"permission": ["junk"]}, OFFER)[0] == "the counter-offer has no permission"
    dropped = {**OFFER, "permission": [perm(MEMBERSHIP), perm(PURPOSE, action="access"), perm({"or": [PURPOSE]})]}
    assert narrowing_problems(dropped, OFFER) == [
        "permission 1 ('use') drops or changes the offered constraint(s) UsagePurpose isAnyOf ['cx.circular.dpp:1']",
        "permission 2: action 'access' is not offered",
        "permission 3: only 'and' constraints can be compared with the offer"]
    # with several offered alternatives, the one closest to the counter-offer is named
    alt = {"permission": [perm(MEMBERSHIP, PURPOSE, atom("FrameworkAgreement", "eq", FA)),
                          perm(MEMBERSHIP, atom("BusinessPartnerNumber", "isAnyOf", [PARTNER]))]}
    assert narrowing_problems({"permission": [perm(MEMBERSHIP)]}, alt) == [
        f"permission 1 ('use') drops or changes the offered constraint(s) BusinessPartnerNumber isAnyOf ['{PARTNER}']"]
    changed = {"permission": [perm(MEMBERSHIP, PURPOSE, atom("FrameworkAgreement", "eq", FA),
                                   atom("BusinessPartnerNumber", "isAnyOf", [BLOCKED]))]}
    assert narrowing_problems(changed, alt) == []
    # an offered permission with an 'or' cannot be matched
    assert narrowing_problems({"permission": [perm(MEMBERSHIP)]}, {"permission": [perm({"or": [MEMBERSHIP]})]}) == [
        "permission 1: action 'use' is not offered"]


def test_counter_offer_keeps_duties_parties_prohibitions_and_obligations() -> None:
    duty = {**OFFER, "permission": [{**perm(MEMBERSHIP, PURPOSE), "duty": [{"action": "delete"}]}]}
    assert narrowing_problems(duty, duty) == []
    assert narrowing_problems(OFFER, duty) == [
        "permission 1 ('use') changes ['duty'] of the offered permission; only constraints may be added"]
    assert narrowing_problems({**duty, "permission": [{**perm(MEMBERSHIP, PURPOSE), "assignee": "x"}]}, OFFER) == [
        "permission 1 ('use') changes ['assignee'] of the offered permission; only constraints may be added"]
    missing = {"permission": OFFER["permission"], "prohibition": [{"action": "use", "constraint": [PURPOSE]}]}
    assert narrowing_problems(missing, OFFER) == [
        "prohibition 1 ('use') of the offer is missing or changed",
        "obligation 1 ('use') of the offer is missing or changed"]
    more = {**OFFER, "prohibition": [PROHIBIT, {"action": "use", "constraint": [PURPOSE]}], "obligation": [
        "junk", *OFFER["obligation"], {"action": "use", "constraint": [PURPOSE]}]}
    assert narrowing_problems(more, OFFER) == []
    assert narrowing_problems(OFFER, {**OFFER, "prohibition": ["junk", PROHIBIT]}) == []


def test_constraints_compare_as_json_values() -> None:
    """JSON objects are unordered: a right operand object written with its keys in another order is the same
    constraint. A policy read from a YAML node configuration may hold dates as date objects: it still compares."""
    import datetime as dt

    import yaml

    typed = atom("ContractReference", "isAllOf", [{"@value": "C-1", "@type": "xsd:string"}])
    swapped = atom("ContractReference", "isAllOf", [{"@type": "xsd:string", "@value": "C-1"}])
    assert narrowing_problems({"permission": [perm(MEMBERSHIP, swapped)]}, {"permission": [perm(MEMBERSHIP, typed)]}) == []
    offered = yaml.safe_load("permission:\n- action: use\n  constraint:\n  - leftOperand: DataUsageEndDate\n"
                             "    operator: eq\n    rightOperand: 2026-06-30\n")
    assert isinstance(offered["permission"][0]["constraint"][0]["rightOperand"], dt.date)
    assert narrowing_problems(offered, offered) == []
    shorter = {"permission": [perm(atom("DataUsageEndDate", "eq", dt.date(2026, 5, 1)))]}
    assert narrowing_problems(shorter, offered) == [
        "permission 1 ('use') drops or changes the offered constraint(s) DataUsageEndDate eq '2026-06-30'"]


@pytest.mark.parametrize("bad", [{"or": [MEMBERSHIP]}, {"xone": [MEMBERSHIP]}, {"andSequence": [MEMBERSHIP]},
                                 {"and": [MEMBERSHIP, "junk"]}, "junk"])
def test_counter_offer_with_other_than_and_constraints_cannot_be_compared(bad: Any) -> None:
    counter = {**OFFER, "permission": [perm(bad), perm(atom("spatial", "eq", "EU"), action="distribute")]}
    assert narrowing_problems(counter, OFFER) == [
        "permission 1: only 'and' constraints can be compared with the offer",
        "permission 2: action 'distribute' is not offered"]


def test_every_prohibition_and_obligation_is_checked() -> None:
    """Rules that do not apply (another action, not an object) are skipped, and the ones after them still count."""
    skipped = [{**PROHIBIT, "action": "distribute"}, "junk"]
    d = evaluate(pol(perm(MEMBERSHIP), prohibition=[*skipped, PROHIBIT]), "use", ctx())
    assert not d.allowed and d.reasons[0].startswith("prohibition terms not accepted"), d.reasons
    d = evaluate(pol(perm(MEMBERSHIP), prohibition=[*skipped, PROHIBIT], obligation=[
        "junk", {"action": "use", "constraint": [atom("DataProvisioningEndDate", "eq", END)]}]), "use",
        ctx(now=END_TS + 1, terms_accepted=True))
    assert not d.allowed and d.reasons[0].startswith("obligation cannot be met"), d.reasons


def test_an_operand_object_without_an_id_is_named_empty() -> None:
    d = evaluate(pol(perm(atom({"id": "Membership"}, "eq", "active"))), "use", ctx())
    assert d.reasons == ["permission 1: constraint '' eq 'active' is not in the Catena-X profile and cannot be "
                         "evaluated"]
    assert policy_problems(pol(perm(atom({"id": "Membership"}, "eq", "active")))) == [
        "permission[0].constraint[0]: leftOperand '' is not in the Catena-X profile"]


def test_several_items_in_one_reason_are_listed_separately() -> None:
    """A reason built from several constraints or schema errors lists each of them ("; " / ", " separated)."""
    from batteryloop.exchange.schemas import cx_constraint_errors

    bad = atom("Membership", "neq", "inactive")
    errs = cx_constraint_errors(bad)
    assert errs is not None and len(errs) >= 2
    d = evaluate(pol(perm(bad)), "use", ctx())
    assert d.reasons == [f"permission 1: constraint 'Membership' neq 'inactive' breaks the Catena-X profile: "
                         f"{'; '.join(errs)}"]
    region = atom("AffiliatesRegion", "isAnyOf", ["cx.region.europe:1"])
    bpnl = atom("AffiliatesBpnl", "isAnyOf", [PARTNER])
    two = pol(perm(MEMBERSHIP), prohibition=[{"action": "use", "constraint": [region, bpnl]}])
    assert evaluate(two, "use", ctx()).reasons == [
        "prohibition terms not accepted by the consumer: "
        "✗ AffiliatesRegion isAnyOf ['cx.region.europe:1']: a contract term the consumer has not accepted; "
        f"✗ AffiliatesBpnl isAnyOf ['{PARTNER}']: a contract term the consumer has not accepted"]
    assert evaluate(two, "use", ctx(terms_accepted=True)).reasons[-1] == (
        "prohibition accepted: AffiliatesRegion isAnyOf ['cx.region.europe:1']: term accepted by the consumer in the "
        f"agreement; AffiliatesBpnl isAnyOf ['{PARTNER}']: term accepted by the consumer in the agreement")
    ends = [atom("DataProvisioningEndDate", "eq", END), atom("DataProvisioningEndDurationDays", "eq", 3)]
    both = pol(perm(MEMBERSHIP), obligation=[{"action": "use", "constraint": ends}])
    assert evaluate(both, "use", ctx(now=END_TS + 1, agreed_at=END_TS)).reasons == [
        f"obligation cannot be met: DataProvisioningEndDate {END}: now is after the end date; "
        "DataProvisioningEndDurationDays 3 days from the agreement: within it"]
    assert evaluate(both, "use", ctx(now=END_TS, agreed_at=END_TS)).reasons[-1] == (
        f"obligation: DataProvisioningEndDate {END}: now is before the end date; "
        "DataProvisioningEndDurationDays 3 days from the agreement: within it")
    assert narrowing_problems({**OFFER, "permission": [perm()]}, OFFER) == [
        "permission 1 ('use') drops or changes the offered constraint(s) Membership eq 'active', "
        "UsagePurpose isAnyOf ['cx.circular.dpp:1']"]


@pytest.mark.parametrize("op", [None, 3, ["eq"]])
def test_policy_problems_report_an_operator_that_is_no_iri(op: Any) -> None:
    c = {"leftOperand": "Membership", "rightOperand": "active", **({} if op is None else {"operator": op})}
    probs = policy_problems(pol(perm(c)))
    assert probs and all(p.startswith("permission[0].constraint[0]: Membership operator") for p in probs), probs
    assert not evaluate(pol(perm(c)), "use", ctx()).allowed
