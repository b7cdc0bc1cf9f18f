"""ODRL policies under the Catena-X profile: validation and evaluation that denies what it cannot evaluate.

A policy (``Set``/``Offer``/``Agreement``) has permissions, prohibitions and obligations; each rule has an
action (``access`` for catalog visibility, ``use`` for contracts) and constraints chained by ``and``
(the only logical constraint the Catena-X profile allows). Every atomic constraint falls in one of
three groups:

* **checked against the counterparty's verified credentials** — ``BusinessPartnerNumber``,
  ``BusinessPartnerGroup``, ``Membership``, ``FrameworkAgreement``;
* **checked against the clock** — ``DataUsageEndDate``, ``DataUsageEndDurationDays``,
  ``DataProvisioningEndDate``, ``DataProvisioningEndDurationDays`` (durations from the agreement time);
* **contract terms** — ``UsagePurpose``, ``UsageRestriction``, ``ContractReference``, ``Warranty`` …:
  they hold when the consumer has accepted the offer unchanged (``ctx.terms_accepted``) and the term
  is a valid Catena-X term (its value passes the profile's constraint schema).

Anything else — an operand outside the profile, an operator the profile does not allow for that
operand, ``or``/``xone``/``andSequence``, a malformed right operand — **cannot be evaluated and is
denied** (the reference connector counts such constraints as satisfied). Every denial says why.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import PolicyDenied
from .schemas import CX_CONSTRAINT_SCHEMAS, cx_constraint_errors
from .trust import ParticipantClaims

CREDENTIAL_OPERANDS = frozenset({"BusinessPartnerNumber", "BusinessPartnerGroup", "Membership", "FrameworkAgreement"})
CLOCK_OPERANDS = frozenset({"DataUsageEndDate", "DataUsageEndDurationDays", "DataProvisioningEndDate",
                            "DataProvisioningEndDurationDays"})
TERM_OPERANDS = frozenset(CX_CONSTRAINT_SCHEMAS) - CREDENTIAL_OPERANDS - CLOCK_OPERANDS
PREFIXES = ("cx-policy:", "https://w3id.org/catenax/policy/", "https://w3id.org/catenax/2025/9/policy/")
DAY_S = 86_400


@dataclass(frozen=True)
class EvaluationContext:
    claims: ParticipantClaims
    now: float = field(default_factory=time.time)
    agreed_at: float | None = None  # when the contract was agreed (duration constraints count from here)
    terms_accepted: bool = False  # the consumer accepted the offer's terms unchanged
    membership_space: str = "catena-x"  # the space whose membership "Membership eq active" means


@dataclass
class Decision:
    allowed: bool
    reasons: list[str]

    def raise_if_denied(self, what: str) -> None:
        if not self.allowed:
            raise PolicyDenied(f"{what} denied: " + "; ".join(self.reasons), self.reasons)


def _name(left: Any) -> str:
    if isinstance(left, dict):
        left = left.get("@id", "")
    text = str(left)
    for p in PREFIXES:
        if text.startswith(p):
            return text[len(p):]
    return text


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _date(text: Any) -> float:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


class _CannotEvaluate(Exception):
    pass


def _atomic(c: Mapping[str, Any], ctx: EvaluationContext) -> tuple[bool, str]:
    """(holds, explanation) for one atomic constraint; raises _CannotEvaluate when it cannot be decided."""
    left = _name(c.get("leftOperand"))
    op = c.get("operator")
    right = c.get("rightOperand")
    if isinstance(op, dict):
        op = op.get("@id")
    op = str(op).removeprefix("odrl:")
    norm: dict[str, Any] = {"leftOperand": left}
    if "operator" in c:
        norm["operator"] = op
    if "rightOperand" in c:
        norm["rightOperand"] = right
    errs = cx_constraint_errors(norm)
    if errs is None:
        raise _CannotEvaluate(f"constraint {left!r} {op} {right!r} is not in the Catena-X profile and cannot be "
                              f"evaluated")
    if errs:
        raise _CannotEvaluate(f"constraint {left!r} {op} {right!r} breaks the Catena-X profile: {'; '.join(errs)}")
    cl = ctx.claims
    who = cl.bpn or cl.did
    if left in ("BusinessPartnerNumber", "BusinessPartnerGroup") and not cl.bpn:
        # As the reference connector ("Identity of the participant agent cannot be null"): without a verified
        # BPN (groups are looked up by BPN) neither list can be checked, and a blocked partner must not pass
        # an isNoneOf block list by leaving its BPN credential out of the presentation.
        return False, f"{left} {op} {right}: {who} presented no verified BPN"
    if left == "BusinessPartnerNumber":
        hit = cl.bpn in right
        ok = hit if op == "isAnyOf" else not hit
        return ok, f"BusinessPartnerNumber {op} {right}: caller's verified BPN is {cl.bpn!r}"
    if left == "BusinessPartnerGroup":
        hit = bool(cl.groups & set(right))
        ok = hit if op == "isAnyOf" else not hit
        return ok, f"BusinessPartnerGroup {op} {right}: {who} is in groups {sorted(cl.groups)}"
    if left == "Membership":
        ok = ctx.membership_space in cl.memberships
        return ok, (f"Membership eq active: {who} presents an accepted {ctx.membership_space} membership credential"
                    if ok else f"Membership eq active: {who} presented no accepted {ctx.membership_space} membership "
                               f"credential (accepted memberships: {sorted(cl.memberships) or 'none'})")
    if left == "FrameworkAgreement":
        ok = right in cl.framework_agreements
        return ok, (f"FrameworkAgreement eq {right}: {who} holds {sorted(cl.framework_agreements) or 'no'} "
                    f"framework agreement credentials")
    if left in ("DataUsageEndDate", "DataProvisioningEndDate"):
        end = _date(right)
        return ctx.now <= end, f"{left} {right}: now is {'before' if ctx.now <= end else 'after'} the end date"
    if left in ("DataUsageEndDurationDays", "DataProvisioningEndDurationDays"):
        if ctx.agreed_at is None:
            return True, f"{left} {right}: counts from the agreement, which is being concluded now"
        end = ctx.agreed_at + int(right) * DAY_S
        return ctx.now <= end, f"{left} {right} days from the agreement: {'within' if ctx.now <= end else 'past'} it"
    # contract terms
    if ctx.terms_accepted:
        return True, f"{left} {op} {right}: term accepted by the consumer in the agreement"
    return False, f"{left} {op} {right}: a contract term the consumer has not accepted"


def _constraint(c: Any, ctx: EvaluationContext, out: list[str]) -> bool:
    if not isinstance(c, Mapping):
        raise _CannotEvaluate(f"constraint {c!r} is not an object")
    logical = [k for k in ("and", "or", "xone", "andSequence") if k in c]
    if logical:
        if logical != ["and"]:
            other = next(k for k in logical if k != "and")  # {"and": …, "or": …} is refused for its "or"
            raise _CannotEvaluate(f"logical constraint {other!r} is not allowed by the Catena-X profile "
                                  f"(only 'and'); cannot evaluate")
        items = _as_list(c["and"])
        results = [_constraint(x, ctx, out) for x in items]
        return all(results)
    ok, why = _atomic(c, ctx)
    out.append(("✓ " if ok else "✗ ") + why)
    return ok


def _rule_holds(rule: Mapping[str, Any], ctx: EvaluationContext, out: list[str]) -> bool:
    results = [_constraint(c, ctx, out) for c in _as_list(rule.get("constraint"))]
    return all(results)


def _action(rule: Mapping[str, Any]) -> str:
    a = rule.get("action")
    if isinstance(a, dict):
        a = a.get("@id") or a.get("action")
    return str(a).removeprefix("odrl:")


def evaluate(policy: Mapping[str, Any], action: str, ctx: EvaluationContext) -> Decision:
    """May the counterparty in ``ctx`` perform ``action`` (``access`` or ``use``) under ``policy``?

    Allowed only if some permission for the action holds entirely, no prohibition for it applies, and
    every obligation can be met. Unknown or unevaluable constraints make their rule fail (deny).
    """
    reasons: list[str] = []
    perms = [r for r in _as_list(policy.get("permission")) if isinstance(r, Mapping)]
    for_action = [r for r in perms if _action(r) == action]
    if not for_action:
        others = sorted({_action(r) for r in perms})
        return Decision(False, [f"the policy grants no {action!r} permission (it has {others or 'none'})"])
    granted = False
    for i, rule in enumerate(for_action):
        trace: list[str] = []
        try:
            if _rule_holds(rule, ctx, trace):
                granted = True
                reasons = list(trace)
                break
            reasons.extend(f"permission {i + 1}: {t}" for t in trace if t.startswith("✗"))
        except _CannotEvaluate as exc:
            reasons.append(f"permission {i + 1}: ✗ {exc}")
    if not granted:
        return Decision(False, [r.replace("✗ ", "") for r in reasons if "✗" in r] or reasons)
    for rule in _as_list(policy.get("prohibition")):
        if not isinstance(rule, Mapping) or _action(rule) != action:
            continue
        trace = []
        try:
            # A Catena-X prohibition lists restrictions the consumer accepts; it is respected, not a bar to
            # the agreement, when the consumer accepted the terms. An unknown one cannot be respected.
            _rule_holds(rule, ctx, trace)
            if not ctx.terms_accepted:
                return Decision(False, ["prohibition terms not accepted by the consumer: " + "; ".join(trace)])
            reasons.append("prohibition accepted: " + "; ".join(t[2:] for t in trace))
        except _CannotEvaluate as exc:
            return Decision(False, [f"prohibition: {exc}"])
    for rule in _as_list(policy.get("obligation")):
        if not isinstance(rule, Mapping):
            continue
        trace = []
        try:
            if not _rule_holds(rule, ctx, trace):
                return Decision(False, ["obligation cannot be met: " + "; ".join(t[2:] for t in trace)])
            reasons.append("obligation: " + "; ".join(t[2:] for t in trace))
        except _CannotEvaluate as exc:
            return Decision(False, [f"obligation: {exc}"])
    return Decision(True, [r.replace("✓ ", "") for r in reasons])


def policy_problems(policy: Mapping[str, Any]) -> list[str]:
    """Reasons a policy cannot be offered as a Catena-X policy: constraints outside the profile or breaking it."""
    problems: list[str] = []

    def walk(c: Any, where: str) -> None:
        if not isinstance(c, Mapping):
            problems.append(f"{where}: not an object")
            return
        logical = [k for k in ("and", "or", "xone", "andSequence") if k in c]
        if logical:
            if logical != ["and"]:
                other = next(k for k in logical if k != "and")
                problems.append(f"{where}: logical constraint {other!r} (Catena-X allows only 'and')")
            for key in logical:
                for j, x in enumerate(_as_list(c.get(key))):
                    walk(x, f"{where}.{key}[{j}]")
            return
        op = c.get("operator")
        if isinstance(op, Mapping):  # the operator IRI as evaluate() reads it: {"@id": "odrl:eq"}, "odrl:eq", "eq"
            op = op.get("@id")
        norm = {"leftOperand": _name(c.get("leftOperand")),
                "operator": op.removeprefix("odrl:") if isinstance(op, str) else op,
                "rightOperand": c.get("rightOperand")}
        errs = cx_constraint_errors(norm)
        if errs is None:
            problems.append(f"{where}: leftOperand {norm['leftOperand']!r} is not in the Catena-X profile")
        else:
            problems.extend(f"{where}: {e}" for e in errs)

    for kind in ("permission", "prohibition", "obligation"):
        for i, rule in enumerate(_as_list(policy.get(kind))):
            for k, c in enumerate(_as_list(rule.get("constraint") if isinstance(rule, Mapping) else None)):
                walk(c, f"{kind}[{i}].constraint[{k}]")
    return problems


def _atom_key(c: Mapping[str, Any]) -> str:
    import json

    op = c.get("operator")
    if isinstance(op, Mapping):
        op = op.get("@id")
    return json.dumps({"l": _name(c.get("leftOperand")), "o": str(op).removeprefix("odrl:"),
                       "r": c.get("rightOperand")}, sort_keys=True, default=str)


def _atoms(rule: Mapping[str, Any]) -> frozenset[str] | None:
    """The atomic constraints of a rule with its ``and`` chains flattened (they are one conjunction);
    ``None`` when the rule has something else (``or`` …), which cannot be compared."""
    out: set[str] = set()

    def walk(c: Any) -> bool:
        if not isinstance(c, Mapping):
            return False
        logical = [k for k in ("and", "or", "xone", "andSequence") if k in c]
        if logical:
            return logical == ["and"] and all(walk(x) for x in _as_list(c["and"]))
        out.add(_atom_key(c))
        return True

    if not all(walk(c) for c in _as_list(rule.get("constraint"))):
        return None
    return frozenset(out)


def _extras(rule: Mapping[str, Any]) -> dict[str, Any]:
    """What a rule holds besides its action and constraints (duties, parties, @id …)."""
    return {k: v for k, v in rule.items() if k not in ("action", "constraint", "@type")}


def _extras_keys(same: list[tuple[Any, dict[str, Any]]]) -> list[str]:
    return sorted({k for _, x in same for k in x})


def _show(atom: str) -> str:
    import json

    d = json.loads(atom)
    return f"{d['l']} {d['o']} {d['r']!r}"


def narrowing_problems(counter: Mapping[str, Any], offered: Mapping[str, Any]) -> list[str]:
    """Why ``counter`` (a counter-offer) is not at least as strict as ``offered``; ``[]`` when it is.

    A counter-offer may narrow the offer, never widen it: each of its permissions must be a permission of
    the offer for the same action with every one of the offer's constraints kept (it may add constraints,
    e.g. a shorter ``DataUsageEndDurationDays`` or one more ``UsagePurpose`` term); every prohibition and
    obligation of the offer must be kept unchanged (new ones may be added). What the added constraints
    mean is then decided by :func:`evaluate`, which denies what it cannot evaluate.
    """
    problems: list[str] = []
    offered_perms = [(_action(r), _atoms(r), _extras(r)) for r in _as_list(offered.get("permission"))
                     if isinstance(r, Mapping)]
    perms = [r for r in _as_list(counter.get("permission")) if isinstance(r, Mapping)]
    if not perms:
        problems.append("the counter-offer has no permission")
    for i, rule in enumerate(perms):
        action, atoms = _action(rule), _atoms(rule)
        if atoms is None:
            problems.append(f"permission {i + 1}: only 'and' constraints can be compared with the offer")
            continue
        same = [(a, x) for act, a, x in offered_perms if act == action and a is not None]
        if not same:
            problems.append(f"permission {i + 1}: action {action!r} is not offered")
        elif not any(a <= atoms for a, _ in same):
            missing = min((a - atoms for a, _ in same), key=len)
            problems.append(f"permission {i + 1} ({action!r}) drops or changes the offered constraint(s) "
                            + ", ".join(sorted(_show(m) for m in missing)))
        elif not any(a <= atoms and x == _extras(rule) for a, x in same):
            # duties, assigner/assignee, refinements …: not compared, so they must be the offer's own
            problems.append(f"permission {i + 1} ({action!r}) changes {sorted(_extras(rule) or _extras_keys(same))} "
                            f"of the offered permission; only constraints may be added")
    for kind in ("prohibition", "obligation"):
        kept = {(_action(r), _atoms(r)) for r in _as_list(counter.get(kind)) if isinstance(r, Mapping)}
        for i, rule in enumerate(r for r in _as_list(offered.get(kind)) if isinstance(r, Mapping)):
            if (_action(rule), _atoms(rule)) not in kept:
                problems.append(f"{kind} {i + 1} ({_action(rule)!r}) of the offer is missing or changed")
    return problems
