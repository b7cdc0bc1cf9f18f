"""ODRL evaluation under the Catena-X profile: the official samples, and denial of what cannot be evaluated."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest

from batteryloop.exchange.errors import PolicyDenied
from batteryloop.exchange.odrl import EvaluationContext, evaluate, policy_problems
from batteryloop.exchange.trust import ParticipantClaims


def load(fixtures_dir: Path, rel: str) -> dict:
    return json.loads((fixtures_dir / rel).read_text())


MEMBER = ParticipantClaims("did:web:a", bpn="BPNL012345678910", memberships=frozenset({"catena-x"}),
                           framework_agreements=frozenset({"DataExchangeGovernance:1.0"}))
STRANGER = ParticipantClaims("did:web:b", bpn="BPNL00000000XXXX")


def test_official_access_sample(fixtures_dir: Path) -> None:
    pol = load(fixtures_dir, "cx-odrl-profile/schema/samples/access-policy.json")
    assert policy_problems(pol) == []
    ok = evaluate(pol, "access", EvaluationContext(MEMBER))
    assert ok.allowed, ok.reasons
    no = evaluate(pol, "access", EvaluationContext(STRANGER))
    assert not no.allowed
    assert any("BPNL00000000XXXX" in r for r in no.reasons) and any("membership" in r for r in no.reasons)
    assert not evaluate(pol, "use", EvaluationContext(MEMBER)).allowed  # no 'use' permission in an access policy


def test_official_usage_sample_needs_term_acceptance(fixtures_dir: Path) -> None:
    pol = load(fixtures_dir, "cx-odrl-profile/schema/samples/usage-policy-individual-constraints-sample.json")
    assert policy_problems(pol) == []
    in_2023 = 1672531200.0  # 2023-01-01, before the sample's DataProvisioningEndDate 2023-10-04
    assert evaluate(pol, "use", EvaluationContext(MEMBER, now=in_2023, terms_accepted=True)).allowed
    late = evaluate(pol, "use", EvaluationContext(MEMBER, terms_accepted=True))
    assert not late.allowed and "DataProvisioningEndDate" in late.reasons[0]
    d = evaluate(pol, "use", EvaluationContext(MEMBER, now=in_2023, terms_accepted=False))
    assert not d.allowed and any("not accepted" in r for r in d.reasons)
    # without the framework agreement credential the permission fails, naming the operand
    d = evaluate(pol, "use", EvaluationContext(STRANGER, now=in_2023, terms_accepted=True))
    assert not d.allowed and any("FrameworkAgreement" in r for r in d.reasons)


def test_official_sample_defect_is_caught(fixtures_dir: Path) -> None:
    # usage-policy-sample.json writes "cx.dataUsageEnd.unlimited" where the profile schema wants "...:1"
    pol = load(fixtures_dir, "cx-odrl-profile/schema/samples/usage-policy-sample.json")
    problems = policy_problems(pol)
    assert any("DataUsageEndDefinition" in p for p in problems)
    d = evaluate(pol, "use", EvaluationContext(MEMBER, terms_accepted=True))
    assert not d.allowed and any("breaks the Catena-X profile" in r for r in d.reasons)


def test_tractusx_edc_framework_policy(fixtures_dir: Path) -> None:
    pol = load(fixtures_dir, "tractusx-edc-policies/policydefinition-access-membership-and-framework.json")["policy"]
    assert evaluate(pol, "use", EvaluationContext(MEMBER)).allowed
    assert not evaluate(pol, "use", EvaluationContext(STRANGER)).allowed


@pytest.mark.parametrize("constraint, fragment", [
    ({"leftOperand": "spatial", "operator": "eq", "rightOperand": "http://example.org/EU"}, "not in the Catena-X profile"),
    ({"leftOperand": "Membership", "operator": "neq", "rightOperand": "active"}, "breaks the Catena-X profile"),
    ({"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": ["not-a-bpn"]}, "breaks"),
    ({"or": [{"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}]}, "only 'and'"),
    ({"leftOperand": "Membership", "operator": "eq"}, "missing rightOperand"),
])
def test_unknown_or_invalid_constraint_denied(constraint: dict, fragment: str) -> None:
    pol = {"@id": "p", "permission": [{"action": "use", "constraint": [
        {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}, constraint]}]}
    d = evaluate(pol, "use", EvaluationContext(MEMBER, terms_accepted=True))
    assert not d.allowed, "an unevaluable constraint must never count as satisfied"
    assert any(fragment in r for r in d.reasons), d.reasons
    with pytest.raises(PolicyDenied, match="denied"):
        d.raise_if_denied("contract request")


def test_dsp_example_policies_are_denied(fixtures_dir: Path) -> None:
    """The DSP examples use generic ODRL operands (dateTime, spatial, partner): not evaluable here → denied."""
    msg = load(fixtures_dir, "dsp/negotiation/example/contract-agreement-message-full.json")
    d = evaluate(msg["agreement"], "use", EvaluationContext(MEMBER, terms_accepted=True))
    assert not d.allowed and len(d.reasons) >= 5


def test_dates_and_durations() -> None:
    now = time.time()
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600))
    fut = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))
    base = {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"}

    def pol(c: dict) -> dict:
        return {"@id": "p", "permission": [{"action": "use", "constraint": [{"and": [base, c]}]}]}

    ctx = EvaluationContext(MEMBER, now=now)
    assert evaluate(pol({"leftOperand": "DataUsageEndDate", "operator": "eq", "rightOperand": fut}), "use", ctx).allowed
    d = evaluate(pol({"leftOperand": "DataUsageEndDate", "operator": "eq", "rightOperand": past}), "use", ctx)
    assert not d.allowed and "after the end date" in d.reasons[0]
    dur = pol({"leftOperand": "DataUsageEndDurationDays", "operator": "eq", "rightOperand": 30})
    assert evaluate(dur, "use", EvaluationContext(MEMBER, now=now, agreed_at=now - 29 * 86400)).allowed
    assert not evaluate(dur, "use", EvaluationContext(MEMBER, now=now, agreed_at=now - 31 * 86400)).allowed


def test_comprehensive_sample_defect_is_caught(fixtures_dir: Path) -> None:
    # the comprehensive sample gives WarrantyDurationMonths as the string "6"; the profile wants an integer
    pol = load(fixtures_dir, "cx-odrl-profile/schema/samples/usage-policy-comprehensive-sample.json")
    assert any("WarrantyDurationMonths" in p and "integer" in p for p in policy_problems(pol))
    d = evaluate(pol, "use", EvaluationContext(MEMBER, now=1672531200.0, terms_accepted=True))
    assert not d.allowed and "WarrantyDurationMonths" in d.reasons[0]


def test_obligation_and_prohibition(fixtures_dir: Path) -> None:
    pol = copy.deepcopy(load(fixtures_dir, "cx-odrl-profile/schema/samples/usage-policy-individual-constraints-sample.json"))
    pol["prohibition"] = [{"action": "use", "constraint": [{"leftOperand": "Teleportation", "operator": "eq",
                                                            "rightOperand": "x"}]}]
    pol.pop("obligation", None)
    d = evaluate(pol, "use", EvaluationContext(MEMBER, terms_accepted=True))
    assert not d.allowed and "prohibition" in d.reasons[0]
