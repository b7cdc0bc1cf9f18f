"""The policy decision point (``batteryloop.access``) against docs/security.md, without a server.

Source: docs/security.md (section "One policy decision point", and the Annex XIII tiers paragraph),
which is the contract; the rules table is read from the markdown here and evaluated by this file's own
small interpreter, never from :data:`batteryloop.access.POLICY`:

* a caller is allowed when one rule of the action holds: the caller has the rule's **relation** to the
  resource and, where the rule names roles (``custodian (recycler)``), one of those roles too; the node
  admin is allowed everything; an action the table does not list is refused;
* relations (the table "relation | holds when the caller is …"): operator, owner, custodian, manufacturer,
  actor, self — the caller *is* the party the resource names (a resource that names nobody gives no such
  relation); delegate — the caller was delegated that action, or ``*``, which covers only delegable
  actions (status events, state-of-health and cycler writes, ledger events — never updating the passport,
  delegating further or reading the supply chain); authority and notified_body — by role, for every
  resource; anonymous callers have none of these;
* a refusal says who asked, what, on what (operator or manufacturer — public — but never the custodian
  or delegates), what the policy allows and the caller's relations; anonymous → 401 inviting a sign-in,
  a known caller → 403;
* read tiers (Annex XIII): anonymous → public; recyclers, repairers, second-life operators and the
  battery's owner → + legitimate interest; notified bodies → + authority; authorities → + both; the
  economic operator (and the admin) → every tier; for a model alone its manufacturer → every tier, anyone
  else what their roles give, never the operator tier.
"""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batteryloop.access import (
    ANONYMOUS,
    Allow,
    Caller,
    Deny,
    Relation,
    Resource,
    authorize,
    battery_tiers,
    decide,
    delegable,
    general_tiers,
    model_tiers,
    oversees,
    policy_table,
    relations,
)
from batteryloop.errors import Forbidden, Unauthorized
from batteryloop.participants import Role
from batteryloop.passport.tiers import Tier

DOC = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()

# ------------------------------------------------------------------------------------ the table, from the docs
DocRule = tuple[str, frozenset[str]]  # relation, roles (empty: any role)


def _doc_table() -> dict[str, list[DocRule]]:
    start = DOC.index("| action | allowed to")
    rows: dict[str, list[DocRule]] = {}
    for line in DOC[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        action, allowed = (c.strip() for c in line.strip("|").split("|"))
        action = action.strip("`")
        rules: list[DocRule] = []
        if allowed != "admin only":
            for part in re.findall(r"[a-z_]+(?: \([a-z_ ]+\))?", allowed):
                m = re.fullmatch(r"([a-z_]+)(?: \(([a-z_ ]+)\))?", part)
                assert m, part
                roles = frozenset(m.group(2).split(" or ")) if m.group(2) else frozenset()
                rules.append((m.group(1), roles))
        rows[action] = rules
    return rows


TABLE = _doc_table()
ACTIONS = sorted(TABLE)
RESOURCE_RELATIONS = ["operator", "owner", "custodian", "manufacturer", "actor", "self"]
ROLE_RELATIONS = {"authority": Role.AUTHORITY, "notified_body": Role.NOTIFIED_BODY}
ME = "BPNL00000000ME01"
OTHER = "BPNL00000000OTH1"


def doc_allows(action: str, rels: set[str], roles: set[str], admin: bool = False) -> bool:
    if action not in TABLE:
        return False  # unknown: refused, even to the admin
    if admin:
        return True
    return any(rel in rels and (not need or need & roles) for rel, need in TABLE[action])


def test_the_docs_table_was_read() -> None:
    assert len(TABLE) >= 35
    assert TABLE["participant.create"] == []
    assert TABLE["passport.status.remanufacture"][1] == ("custodian", frozenset({"manufacturer", "repairer"}))
    assert TABLE["trace.ledger.read_all"] == [("authority", frozenset())]


def test_policy_table_prints_the_docs_rows_in_order() -> None:
    start = DOC.index("| action | allowed to")
    doc_rows = [line for line in DOC[start:].splitlines()[2:2 + len(TABLE)]]
    printed = [f"| `{r['action']}` | {r['allowed']} |" for r in policy_table()]
    assert printed == doc_rows
    assert all(set(r) == {"action", "allowed"} for r in policy_table())


def _resource(rel: str | None, who: str = ME, **kw: object) -> Resource:
    fields = {"operator": "operator", "owner": "owner", "custodian": "custodian", "manufacturer": "manufacturer",
              "actor": "actor", "self": "participant"}
    args: dict[str, object] = {f: OTHER for f in fields.values()}
    if rel in fields:
        args[fields[rel]] = who
    args.update(kw)
    return Resource("passport", "BL.ACME.SN-1", **args)  # type: ignore[arg-type]


ROLE_SETS = [frozenset(), frozenset({Role.RECYCLER}), frozenset({Role.SECOND_LIFE_OPERATOR}),
             frozenset({Role.REPAIRER}), frozenset({Role.MANUFACTURER}), frozenset({Role.SUPPLIER}),
             frozenset({Role.REPAIRER, Role.RECYCLER})]


# ------------------------------------------------------------------------------------ decisions
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("rel", [*RESOURCE_RELATIONS, None])
def test_one_relation_one_role_set(action: str, rel: str | None) -> None:
    """Every action × a caller standing in one resource relation (or none) × role sets."""
    for roles in ROLE_SETS:
        caller = Caller(ME, roles)
        d = decide(caller, action, _resource(rel))
        # every participant stands in the "participant" relation
        want = doc_allows(action, ({rel} if rel else set()) | {"participant"}, {r.value for r in roles})
        assert bool(d) is want, (action, rel, sorted(roles), d)
        assert isinstance(d, Allow if want else Deny)
        if want:
            assert d.rule.split(" ")[0] in (rel, "participant"), d  # the rule that allowed it names the relation
        else:
            assert action in d.reason and ME in d.reason


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("rel", sorted(ROLE_RELATIONS))
def test_authorities_and_notified_bodies_by_role_for_every_resource(action: str, rel: str) -> None:
    caller = Caller(ME, frozenset({ROLE_RELATIONS[rel]}))
    for resource in (_resource(None), Resource("ledger"), Resource("model", "M1", manufacturer=OTHER)):
        assert bool(decide(caller, action, resource)) is doc_allows(action, {rel, "participant"}, {rel}), (action, rel)


@pytest.mark.parametrize("action", ACTIONS)
def test_delegate(action: str) -> None:
    """Delegated exactly this action → delegate; ``*`` → delegate only for delegable actions; another
    action named → not a delegate."""
    delegable_kind = action.startswith(("passport.status.", "health.", "trace.append."))
    for roles in ROLE_SETS:
        caller = Caller(ME, roles)
        names = {r.value for r in roles}
        for scope, is_delegate in ((frozenset({action}), True), (frozenset({"*"}), delegable_kind),
                                   (frozenset({"model.update", "x"}), action == "model.update"),
                                   (frozenset(), False)):
            res = _resource(None, delegates={ME: scope, OTHER: frozenset({"*", action})})
            want = doc_allows(action, ({"delegate"} if is_delegate else set()) | {"participant"}, names)
            assert bool(decide(caller, action, res)) is want, (action, scope, sorted(names))
            rels = relations(caller, res, action)
            assert (Relation.DELEGATE in rels) is is_delegate, (action, scope)
        # a delegation of someone else is not mine; without an action there is no delegation to speak of
        res = _resource(None, delegates={OTHER: frozenset({"*", action})})
        assert Relation.DELEGATE not in relations(caller, res, action)
        assert Relation.DELEGATE not in relations(caller, _resource(None, delegates={ME: frozenset({"*"})}))
        assert Relation.DELEGATE not in relations(caller, _resource(None, delegates={ME: frozenset({action})}))


@pytest.mark.parametrize("action", ["passport.update", "passport.delegate", "passport.supply_chain.read",
                                    "passport.issue", "model.update", "trace.ledger.read_all", "trace.consume",
                                    "participant.tokens.manage", "passport.delegations.read"])
def test_star_never_covers_the_undelegable(action: str) -> None:
    assert not delegable(action)
    res = _resource(None, delegates={ME: frozenset({"*"})})
    assert Relation.DELEGATE not in relations(Caller(ME, frozenset(Role)), res, action)


@pytest.mark.parametrize("action", ["passport.status.recycle", "health.soh.write", "health.cycler.write",
                                    "trace.append.repair", "trace.append.soh_update"])
def test_star_covers_status_health_and_ledger_events(action: str) -> None:
    assert delegable(action)
    res = _resource(None, delegates={ME: frozenset({"*"})})
    assert Relation.DELEGATE in relations(Caller(ME), res, action)
    assert not delegable("x" + action) and not delegable(action.split(".")[0])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(action=st.sampled_from(ACTIONS), rels=st.sets(st.sampled_from(RESOURCE_RELATIONS)),
       roles=st.sets(st.sampled_from(list(Role))))
def test_any_mix_of_relations_and_roles(action: str, rels: set[str], roles: set[Role]) -> None:
    fields = {"operator": "operator", "owner": "owner", "custodian": "custodian", "manufacturer": "manufacturer",
              "actor": "actor", "self": "participant"}
    res = Resource("passport", "P", **{fields[r]: (ME if r in rels else OTHER) for r in fields})  # type: ignore[arg-type]
    caller = Caller(ME, frozenset(roles))
    names = {r.value for r in roles}
    have = set(rels) | {rel for rel, role in ROLE_RELATIONS.items() if role in roles}
    assert bool(decide(caller, action, res)) is doc_allows(action, have | {"participant"}, names)
    got = relations(caller, res, action)
    assert {r.value for r in got} == have | {"anyone", "participant"}


def test_a_resource_naming_nobody_gives_no_relation() -> None:
    """``None`` fields never match (nor does an anonymous caller match them)."""
    res = Resource("passport", "P")
    assert relations(Caller(ME, frozenset({Role.RECYCLER})), res, "passport.status.reuse") == {
        Relation.ANYONE, Relation.PARTICIPANT}
    assert relations(ANONYMOUS, res, "passport.status.reuse") == {Relation.ANYONE}
    anon_everything = Resource("passport", "P", delegates={"": frozenset({"*"})})
    assert relations(Caller(None, frozenset({Role.AUTHORITY})), anon_everything, "health.soh.write") == {Relation.ANYONE}


@pytest.mark.parametrize("action", ACTIONS)
def test_admin_may_do_everything_anonymous_nothing(action: str) -> None:
    admin = Caller(is_admin=True)
    d = decide(admin, action, _resource(None))
    assert isinstance(d, Allow) and d.rule == "admin"
    assert Relation.ADMIN in relations(admin, _resource(None)) and not admin.anonymous
    assert not decide(ANONYMOUS, action, _resource(None))
    assert not decide(Caller(None, frozenset(Role)), action, _resource(None))
    with pytest.raises(Unauthorized) as exc:
        authorize(ANONYMOUS, action, _resource(None))
    assert exc.value.status == 401 and "sign in" in str(exc.value) and action in str(exc.value)
    authorize(admin, action, _resource(None))  # no exception


@pytest.mark.parametrize("action", ["passport.destroy", "", "passport.status", "passport.status.*", "*"])
def test_an_unknown_action_is_refused_even_to_the_admin(action: str) -> None:
    for caller in (Caller(is_admin=True), Caller(ME, frozenset(Role)), ANONYMOUS):
        d = decide(caller, action, _resource("operator", delegates={ME: frozenset({"*", action})}))
        assert isinstance(d, Deny) and not d
        assert repr(action) in d.reason and "no policy" in d.reason


def test_refusal_reason_names_who_what_where_allowed_and_relations() -> None:
    res = Resource("passport", "BL.ACME.SN-1", operator=OTHER, owner=ME, custodian="BPNL00000000HOLD",
                   delegates={"BPNL00000000DELE": frozenset({"*"})})
    caller = Caller(ME, frozenset({Role.RECYCLER, Role.NOTIFIED_BODY}))
    with pytest.raises(Forbidden) as exc:
        authorize(caller, "passport.status.recycle", res)
    msg = str(exc.value)
    assert exc.value.status == 403
    assert "sign in" not in msg
    assert ME in msg and "passport.status.recycle" in msg and "BL.ACME.SN-1" in msg
    assert f"economic operator {OTHER}" in msg
    assert "BPNL00000000HOLD" not in msg and "BPNL00000000DELE" not in msg  # never the holder or delegates
    assert "operator, custodian (recycler), delegate (recycler)" in msg
    assert re.search(r"your relation: notified_body, owner$", msg), msg  # sorted, without anyone/participant


def test_refusal_reason_for_a_stranger_and_an_anonymous_caller() -> None:
    d = decide(Caller(ME), "participant.create", Resource("participant", "X"))
    assert isinstance(d, Deny)
    assert "the policy allows the node admin only;" in d.reason and d.reason.endswith("your relation: no relation")
    assert "participant X" in d.reason
    d = decide(ANONYMOUS, "model.update", Resource("model", "M-1", manufacturer=OTHER))
    assert isinstance(d, Deny)
    assert d.reason.startswith("an anonymous caller may not do model.update on model M-1 (manufacturer "
                               f"{OTHER}): the policy allows manufacturer")
    d = decide(Caller(ME, frozenset({Role.RECYCLER})), "passport.status.recycle", Resource("passport", "P", custodian=OTHER))
    assert isinstance(d, Deny) and "operator, custodian (recycler), delegate (recycler)" in d.reason
    assert d.reason.endswith("your relation: no relation")


def test_rule_text_joins_roles_sorted_with_or() -> None:
    d = decide(Caller(ME, frozenset({Role.REPAIRER})), "passport.status.remanufacture", _resource("custodian"))
    assert isinstance(d, Allow) and d.rule == "custodian (manufacturer or repairer)"
    d = decide(Caller(ME, frozenset({Role.REPAIRER})), "passport.status.reuse", _resource("owner"))
    assert isinstance(d, Allow) and d.rule == "owner"


def test_describe_names_public_parties_only() -> None:
    assert Resource("ledger").describe() == "ledger"
    assert Resource("passport", "P", operator="A", manufacturer="M").describe() == "passport P (economic operator A)"
    assert Resource("model", "M", manufacturer="M1").describe() == "model M (manufacturer M1)"
    assert Resource("pack", "K", custodian="C", owner="O", actor="X").describe() == "pack K"


def test_caller_anonymous() -> None:
    assert ANONYMOUS.anonymous and Caller().anonymous
    assert not Caller(ME).anonymous and not Caller(is_admin=True).anonymous
    assert Caller().roles == frozenset() and not Caller().is_admin


def test_oversight_is_authorities_and_the_admin() -> None:
    assert oversees(Caller(ME, frozenset({Role.AUTHORITY})))
    assert oversees(Caller(is_admin=True))
    for roles in ROLE_SETS + [frozenset({Role.NOTIFIED_BODY})]:
        assert not oversees(Caller(ME, roles))
    assert not oversees(ANONYMOUS)


def test_allow_and_deny_are_truthy_as_their_answer() -> None:
    assert Allow("x") and not Deny("y")


# ------------------------------------------------------------------------------------ read tiers (Annex XIII)
P, LI, AU, OP = Tier.PUBLIC, Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY, Tier.OPERATOR
BY_ROLE: dict[Role, set[Tier]] = {
    Role.RECYCLER: {P, LI}, Role.REPAIRER: {P, LI}, Role.SECOND_LIFE_OPERATOR: {P, LI},
    Role.AUTHORITY: {P, LI, AU}, Role.NOTIFIED_BODY: {P, AU},
    Role.MANUFACTURER: {P}, Role.SUPPLIER: {P}, Role.BAAS_OPERATOR: {P},
}
ALL_ROLE_SETS = [frozenset(c) for n in range(3) for c in combinations(Role, n)]


@pytest.mark.parametrize("roles", ALL_ROLE_SETS, ids=lambda rs: "+".join(sorted(rs)) or "none")
def test_battery_tiers(roles: frozenset[Role]) -> None:
    by_roles = {P}.union(*(BY_ROLE[r] for r in roles))
    c = Caller(ME, roles)
    assert battery_tiers(c, economic_operator_id=OTHER, owner_id=None) == by_roles
    assert battery_tiers(c, economic_operator_id=OTHER, owner_id="BPNL00000000OWN2") == by_roles
    assert battery_tiers(c, economic_operator_id=OTHER, owner_id=ME) == by_roles | {LI}
    assert battery_tiers(c, economic_operator_id=ME, owner_id=None) == set(Tier)
    assert battery_tiers(c, economic_operator_id=ME, owner_id=ME) == set(Tier)
    assert general_tiers(c) == by_roles
    assert model_tiers(c, manufacturer_id=OTHER) == by_roles - {OP}
    assert model_tiers(c, manufacturer_id=ME) == set(Tier)
    # anonymous and admin, whatever roles they claim
    assert battery_tiers(Caller(None, roles), economic_operator_id=OTHER, owner_id=None) == {P}
    assert model_tiers(Caller(None, roles), manufacturer_id=OTHER) == {P}
    assert battery_tiers(Caller(None, roles, is_admin=True), economic_operator_id=OTHER, owner_id=None) == set(Tier)
    assert model_tiers(Caller(None, roles, is_admin=True), manufacturer_id=OTHER) == set(Tier)
    for tiers in (battery_tiers(c, economic_operator_id=OTHER, owner_id=ME), general_tiers(c),
                  model_tiers(c, manufacturer_id=OTHER)):
        assert isinstance(tiers, frozenset)


def test_an_anonymous_caller_is_not_the_owner_of_an_unowned_battery() -> None:
    assert battery_tiers(ANONYMOUS, economic_operator_id=OTHER, owner_id=None) == {P}
    assert model_tiers(ANONYMOUS, manufacturer_id="") == {P}


def test_model_tiers_never_hold_the_operator_tier_without_being_the_manufacturer() -> None:
    for roles in ALL_ROLE_SETS:
        assert OP not in model_tiers(Caller(ME, roles), manufacturer_id=OTHER)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pid=st.text(max_size=6), roles=st.sets(st.sampled_from(list(Role))))
def test_general_tiers_come_from_roles_alone_whatever_the_id(pid: str, roles: set[Role]) -> None:
    """No battery, no relation: what any participant id (even an empty or odd one) holds is what its roles
    give — found by this file: ``""`` stood for "no operator", so a caller with an empty id got every tier."""
    by_roles = {P}.union(*(BY_ROLE[r] for r in roles))
    assert general_tiers(Caller(pid, frozenset(roles))) == by_roles
    assert model_tiers(Caller(pid, frozenset(roles)), manufacturer_id="BPNL00000000MFR1") == by_roles - {OP}


def test_the_rule_builder() -> None:
    """``_r`` builds every row of the policy: no roles named means any role (``None``), roles named are a set."""
    from batteryloop.access import Rule, _r

    assert _r(Relation.OPERATOR) == Rule(Relation.OPERATOR, None)
    rule = _r(Relation.CUSTODIAN, Role.RECYCLER, Role.REPAIRER)
    assert rule == Rule(Relation.CUSTODIAN, frozenset({Role.RECYCLER, Role.REPAIRER}))
    assert rule.holds(Caller(ME, frozenset({Role.REPAIRER})), frozenset({Relation.CUSTODIAN}))
    assert not rule.holds(Caller(ME, frozenset({Role.SUPPLIER})), frozenset({Relation.CUSTODIAN}))
    assert _r(Relation.OWNER).holds(Caller(ME), frozenset({Relation.OWNER}))
