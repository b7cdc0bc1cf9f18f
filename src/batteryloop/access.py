"""The one policy decision point: may *this* caller do *this* to *this* resource?

Every adapter (API routes, web pages, CLI, exchange node, archive import) and every service asks
:func:`decide` (or :func:`authorize`, which raises) before it acts, and :func:`battery_tiers` before it
shows passport data. Nothing else in the code base compares a caller with an owner.

A decision is made from **relations**, not from roles alone: the caller's relation to the resource
(the economic operator of the passport, its owner, its current custodian in the ledger, a service
provider the operator or custodian delegated the action to, the model's manufacturer, the actor of an
event, the participant itself; for a material lot the ledger passes its producer as its custodian) and, for some rules, a role the caller must also hold (only a
recycler that holds a pack may recycle it). Authorities and notified bodies are relations too: they
hold for every resource. The rules are data — :data:`POLICY` maps each action to the rules that allow
it — and ``docs/security.md`` prints the same table (``batteryloop policy`` prints it from this module).

The read tiers follow Annex XIII of Regulation (EU) 2023/1542:

* anonymous → public;
* recyclers, repairers and second-life operators, and the battery's owner → legitimate interest;
* notified bodies → the authority tier (test reports); market surveillance authorities → legitimate
  interest and the authority tier;
* the economic operator that placed the battery on the market → everything;
* for a battery *model* on its own, its manufacturer → everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .participants import Role
from .passport.tiers import ALL_TIERS, PUBLIC_ONLY, Tier

LEGITIMATE_INTEREST_ROLES: frozenset[Role] = frozenset(
    {Role.RECYCLER, Role.REPAIRER, Role.SECOND_LIFE_OPERATOR}
)


@dataclass(frozen=True)
class Caller:
    """Who is asking: a participant (with roles) authenticated by token, or anonymous."""

    participant_id: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    is_admin: bool = False

    @property
    def anonymous(self) -> bool:
        return self.participant_id is None and not self.is_admin


ANONYMOUS = Caller()


# ------------------------------------------------------------------------------------------ relations
class Relation(StrEnum):
    """How a caller stands to a resource."""

    ADMIN = "admin"  # the node administrator
    OPERATOR = "operator"  # the economic operator that placed the battery on the market (passport)
    OWNER = "owner"  # the battery's owner named in the passport
    CUSTODIAN = "custodian"  # the current holder of the pack or lot in the ledger
    DELEGATE = "delegate"  # a service provider the operator or custodian delegated this action to
    MANUFACTURER = "manufacturer"  # the manufacturer of a battery model
    ACTOR = "actor"  # the actor of a ledger event
    SELF = "self"  # the participant resource is the caller itself
    AUTHORITY = "authority"  # a market surveillance authority (role), for every resource
    NOTIFIED_BODY = "notified_body"  # a notified body (role), for every resource
    PARTICIPANT = "participant"  # any registered participant
    ANYONE = "anyone"  # anonymous callers included


@dataclass(frozen=True)
class Resource:
    """What the action is done to, with the facts the relations are computed from.

    ``delegates`` maps a participant to the actions it was delegated on this resource (``"*"`` for all).
    ``custodian`` is ``None`` when the ledger has no custody record of the resource.
    """

    kind: str
    id: str = ""
    operator: str | None = None
    owner: str | None = None
    custodian: str | None = None
    delegates: Mapping[str, frozenset[str]] = field(default_factory=dict)
    manufacturer: str | None = None
    actor: str | None = None
    participant: str | None = None

    def describe(self) -> str:
        """The resource as a refusal names it: with its operator or manufacturer (public data), never its
        custodian or delegates (who holds a pack is not told to strangers)."""
        text = f"{self.kind} {self.id}".strip()
        if self.operator:
            text += f" (economic operator {self.operator})"
        elif self.manufacturer:
            text += f" (manufacturer {self.manufacturer})"
        return text


def relations(caller: Caller, resource: Resource, action: str | None = None) -> frozenset[Relation]:
    """Every relation ``caller`` has to ``resource`` (for ``action``, which a delegation may be scoped to)."""
    out = {Relation.ANYONE}
    if caller.is_admin:
        out.add(Relation.ADMIN)
    pid = caller.participant_id
    if pid is None:
        return frozenset(out)
    out.add(Relation.PARTICIPANT)
    if Role.AUTHORITY in caller.roles:
        out.add(Relation.AUTHORITY)
    if Role.NOTIFIED_BODY in caller.roles:
        out.add(Relation.NOTIFIED_BODY)
    for rel, who in ((Relation.OPERATOR, resource.operator), (Relation.OWNER, resource.owner),
                     (Relation.CUSTODIAN, resource.custodian), (Relation.MANUFACTURER, resource.manufacturer),
                     (Relation.ACTOR, resource.actor),
                     (Relation.SELF, resource.participant)):
        if who is not None and who == pid:
            out.add(rel)
    scope = resource.delegates.get(pid)
    if scope is not None and action is not None and (action in scope or ("*" in scope and delegable(action))):
        out.add(Relation.DELEGATE)
    return frozenset(out)


DELEGABLE_PREFIXES = ("passport.status.", "health.", "trace.append.")


def delegable(action: str) -> bool:
    """Whether a delegation may name ``action`` (never updating the passport, delegating further, or reading
    the supply chain)."""
    return action.startswith(DELEGABLE_PREFIXES)


# ------------------------------------------------------------------------------------------ the rules
@dataclass(frozen=True)
class Rule:
    """Allow a caller with ``relation`` to the resource — and, when ``roles`` is given, one of those roles."""

    relation: Relation
    roles: frozenset[Role] | None = None

    def holds(self, caller: Caller, rels: frozenset[Relation]) -> bool:
        return self.relation in rels and (self.roles is None or bool(self.roles & caller.roles))

    def __str__(self) -> str:
        return self.relation.value + (f" ({' or '.join(sorted(r.value for r in self.roles))})" if self.roles else "")


def _r(relation: Relation, *roles: Role) -> Rule:
    return Rule(relation, frozenset(roles) if roles else None)


R = Relation
_HOLDER = (_r(R.CUSTODIAN), _r(R.DELEGATE))
_OVERSIGHT = (_r(R.AUTHORITY),)

POLICY: dict[str, tuple[Rule, ...]] = {
    # ---- battery models (resource: the model; manufacturer)
    "model.create": (_r(R.MANUFACTURER),),
    "model.update": (_r(R.MANUFACTURER),),
    "model.recycled_content.read": (_r(R.MANUFACTURER), *_OVERSIGHT),
    # ---- passports (resource: the passport; operator, owner, custodian from the ledger, delegates)
    "passport.issue": (_r(R.OPERATOR),),
    "passport.update": (_r(R.OPERATOR),),
    "passport.status.reuse": (_r(R.OPERATOR), _r(R.OWNER), *_HOLDER),
    "passport.status.repair": (_r(R.OPERATOR), _r(R.OWNER), *_HOLDER),
    "passport.status.repurpose": (_r(R.OPERATOR), _r(R.CUSTODIAN, Role.SECOND_LIFE_OPERATOR),
                                  _r(R.DELEGATE, Role.SECOND_LIFE_OPERATOR)),
    "passport.status.remanufacture": (_r(R.OPERATOR), _r(R.CUSTODIAN, Role.REPAIRER, Role.MANUFACTURER),
                                      _r(R.DELEGATE, Role.REPAIRER, Role.MANUFACTURER)),
    "passport.status.waste": (_r(R.OPERATOR), _r(R.OWNER), *_HOLDER),
    "passport.status.recycle": (_r(R.OPERATOR), _r(R.CUSTODIAN, Role.RECYCLER), _r(R.DELEGATE, Role.RECYCLER)),
    "passport.history.detail": (_r(R.OPERATOR), *_OVERSIGHT),  # authors and reasons of versions
    "passport.supply_chain.read": (_r(R.OPERATOR), *_OVERSIGHT),  # lineage, custody, sourcing, BOM as built
    "passport.delegate": (_r(R.OPERATOR), _r(R.CUSTODIAN)),
    "passport.delegations.read": (_r(R.OPERATOR), _r(R.CUSTODIAN), *_OVERSIGHT),
    "health.cycler.write": (_r(R.OPERATOR), *_HOLDER),
    "health.soh.write": (_r(R.OPERATOR), *_HOLDER),
    # ---- the ledger (resource: the subject of an event — a pack, module or lot — or the event)
    "trace.event.read": (_r(R.ACTOR), *_OVERSIGHT),
    "trace.ledger.read_all": _OVERSIGHT,  # whole-ledger verification, recall, outflows, cross-model content
    "trace.append.passport_issued": (_r(R.OPERATOR), _r(R.CUSTODIAN)),
    "trace.append.installation": _HOLDER,
    "trace.append.change_of_owner": (_r(R.CUSTODIAN),),
    "trace.append.soh_update": _HOLDER,
    "trace.append.repair": _HOLDER,
    "trace.append.swap": _HOLDER,
    "trace.append.removal": _HOLDER,
    "trace.append.retirement_test": _HOLDER,
    "trace.append.reuse": (_r(R.CUSTODIAN),),
    "trace.append.repurposing": (_r(R.CUSTODIAN),),
    "trace.append.remanufacturing": (_r(R.CUSTODIAN),),
    "trace.append.collection": (_r(R.CUSTODIAN),),
    "trace.append.transport": (_r(R.CUSTODIAN),),
    "trace.append.export": (_r(R.CUSTODIAN),),
    "trace.append.annotation": (_r(R.AUTHORITY), _r(R.NOTIFIED_BODY), _r(R.CUSTODIAN), _r(R.OPERATOR)),
    # a transformation consumes lots: a pack or module only by its custodian (material lots carry no custody)
    "trace.consume": (_r(R.CUSTODIAN),),
    # ---- the pilot's dashboard (resource: the pilot run's report)
    "pilot.findings.read": _OVERSIGHT,  # outflow findings and route decisions pack by pack (holders, SoH, grade)
    # ---- alerts (batteryloop.alerts; resource: a rule — its owner as the participant — or an alert — the pack's
    # economic operator): a participant manages its own rules; an alert is read by the pack's operator
    "alert.rule.manage": (_r(R.SELF),),
    "alert.read": (_r(R.OPERATOR), *_OVERSIGHT),
    # ---- fleet telemetry analyses (batteryloop.fleet.results; resource: a stored analysis, its operator — the
    # participant that stored it; storing one: resource the participant it is stored for)
    "fleet.analysis.store": (_r(R.SELF),),
    "fleet.analysis.read": (_r(R.OPERATOR), *_OVERSIGHT),
    # ---- participants and tokens (resource: the participant)
    "participant.create": (),
    "participant.tokens.manage": (_r(R.SELF),),
    # ---- the Digital Twin Registry (resource: a pack's passport, or a shell descriptor with its owner as
    # operator; see "Digital Twin Registry" below)
    "twin.register": (_r(R.OPERATOR),),  # a descriptor of one of this node's packs: its economic operator
    # an asset that is no pack here: its manufacturer (the manufacturerId asset id), or its registering tenant
    "twin.register.foreign": (_r(R.OPERATOR),),
    "twin.update": (_r(R.OPERATOR),),  # replace, delete, its submodel descriptors and asset links
    "twin.read.full": (_r(R.OPERATOR),),  # every specificAssetId and submodel (Tractus-X's owning tenant)
    "twin.rules.manage": (_r(R.OPERATOR),),  # resource: an access rule, its tenant as operator
}
"""Action → the rules that allow it. The node admin is allowed everything (it is the node's operator)."""


# ------------------------------------------------------------------------------------------ decisions
@dataclass(frozen=True)
class Allow:
    rule: str

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class Deny:
    reason: str

    def __bool__(self) -> bool:
        return False


Decision = Allow | Deny


def decide(caller: Caller, action: str, resource: Resource) -> Decision:
    """Allow or Deny(reason), from :data:`POLICY`; an unknown action is denied (never allowed by accident)."""
    rules = POLICY.get(action)
    if rules is None:
        return Deny(f"no policy for action {action!r}: refused")
    if caller.is_admin:
        return Allow("admin")
    rels = relations(caller, resource, action)
    for rule in rules:
        if rule.holds(caller, rels):
            return Allow(str(rule))
    who = caller.participant_id or "an anonymous caller"
    allowed = ", ".join(str(r) for r in rules) or "the node admin only"
    mine = ", ".join(sorted(r.value for r in rels - {R.ANYONE, R.PARTICIPANT})) or "no relation"
    return Deny(f"{who} may not do {action} on {resource.describe()}: the policy allows {allowed}; "
                f"your relation: {mine}")


def authorize(caller: Caller, action: str, resource: Resource) -> None:
    """Raise 401 (anonymous) or 403 (known caller) with the decision's reason unless allowed."""
    d = decide(caller, action, resource)
    if isinstance(d, Deny):
        from .errors import deny

        raise deny(caller.anonymous, d.reason)


def oversees(caller: Caller) -> bool:
    """Whether ``caller`` may read across the whole ledger and registry (``trace.ledger.read_all``): the
    authorities and the node admin — recalls, outflows, every pack's decisions, the whole audit log."""
    return bool(decide(caller, "trace.ledger.read_all", Resource("ledger")))


PILOT_FINDINGS = "pilot.findings.read"
"""The action of reading the pilot's findings pack by pack (outflow holders and countries, each pack's route decision
and state of health, the per-pack figures of the residual-value table)."""


def pilot_findings_visible(caller: Caller) -> bool:
    """Whether ``caller`` may read the pilot's findings pack by pack (:data:`PILOT_FINDINGS`: the authorities and the
    node admin). The one place the dashboard's pages and the pilot's API ask, so that they cannot disagree."""
    return bool(decide(caller, PILOT_FINDINGS, Resource("pilot")))


def policy_table() -> list[dict[str, str]]:
    """The policy as rows (action, who may), for docs and ``batteryloop policy``."""
    return [{"action": a, "allowed": ", ".join(str(r) for r in rules) or "admin only"} for a, rules in POLICY.items()]


# ------------------------------------------------------------------------------------------ read tiers
def battery_tiers(caller: Caller, *, economic_operator_id: str | None, owner_id: str | None) -> frozenset[Tier]:
    """The tiers ``caller`` holds on one battery's passport, from who they are and their relation to it
    (``economic_operator_id`` ``None``: no battery in particular, what the caller's roles alone give)."""
    if caller.is_admin:
        return ALL_TIERS
    if caller.participant_id is None:
        return PUBLIC_ONLY
    if caller.participant_id == economic_operator_id:
        return ALL_TIERS
    tiers = {Tier.PUBLIC}
    if owner_id is not None and caller.participant_id == owner_id:
        tiers.add(Tier.LEGITIMATE_INTEREST)
    if caller.roles & LEGITIMATE_INTEREST_ROLES:
        tiers.add(Tier.LEGITIMATE_INTEREST)
    if Role.AUTHORITY in caller.roles:
        tiers.update({Tier.LEGITIMATE_INTEREST, Tier.AUTHORITY})
    if Role.NOTIFIED_BODY in caller.roles:
        tiers.add(Tier.AUTHORITY)
    return frozenset(tiers)


def model_tiers(caller: Caller, *, manufacturer_id: str) -> frozenset[Tier]:
    """The tiers ``caller`` holds on a battery model's data (no battery relation involved)."""
    if caller.is_admin or (caller.participant_id is not None and caller.participant_id == manufacturer_id):
        return ALL_TIERS
    return battery_tiers(caller, economic_operator_id=None, owner_id=None) - {Tier.OPERATOR}


def general_tiers(caller: Caller) -> frozenset[Tier]:
    """The tiers ``caller`` holds on a battery it has no relation to (what its roles alone give)."""
    return battery_tiers(caller, economic_operator_id=None, owner_id=None)


# ------------------------------------------------------------------------- Digital Twin Registry (Tractus-X)
#: the externalSubjectId (and access-rule BPN) that stands for every caller
PUBLIC_READABLE = "PUBLIC_READABLE"
#: specificAssetId names that PUBLIC_READABLE may open (the Tractus-X registry's Helm default
#: ``externalSubjectIdWildcardAllowedTypes``); any other name stays hidden from the public
PUBLIC_READABLE_NAMES: frozenset[str] = frozenset({"manufacturerPartId", "digitalTwinType"})


def registry_subject(caller: Caller, edc_bpn: str | None) -> Caller:
    """Who a registry request is answered for. The ``Edc-Bpn`` header names the consumer a connector's data
    plane forwards the request for (Tractus-X trusts it from its EDC): here the node admin alone forwards
    for another participant; a participant may name only itself, and an anonymous caller no one."""
    if edc_bpn is None or edc_bpn == caller.participant_id:
        return caller
    if caller.is_admin:
        return Caller(participant_id=edc_bpn)
    from .errors import deny

    who = caller.participant_id or "an anonymous caller"
    raise deny(caller.anonymous, f"Edc-Bpn {edc_bpn!r} names another participant than {who}: only the node's "
                                 "connector (the admin token) forwards a request for another BPN")


@dataclass(frozen=True)
class TwinView:
    """What one caller sees of one shell descriptor (``None`` from :func:`twin_view`: nothing at all).

    ``names``: specificAssetId names visible whatever their value; ``pairs``: (name, value) visible;
    ``keys``: for a specificAssetId visible through its externalSubjectId, the keys shown (the caller's own
    or PUBLIC_READABLE — never the other BPNs named); ``semantic_ids``: submodel descriptors visible by
    semantic id (``None``: all); ``public_only``: the caller is not named anywhere, only public ids open it
    (then the descriptor is cut to its id, visible ids and submodel descriptors, as Tractus-X does)."""

    full: bool = False
    names: frozenset[str] = frozenset()
    pairs: frozenset[tuple[str, str]] = frozenset()
    semantic_ids: frozenset[str] | None = None
    public_only: bool = False
    by_subject_id: bool = False

    def shows(self, sa: Mapping[str, object]) -> bool:
        return self.full or sa.get("name") in self.names or (sa.get("name"), sa.get("value")) in self.pairs


def _subject_keys(sa: Mapping[str, object]) -> list[str]:
    ext = sa.get("externalSubjectId")
    keys = ext.get("keys") if isinstance(ext, Mapping) else None
    return [str(k.get("value")) for k in keys or () if isinstance(k, Mapping)]


def subject_id_view(descriptor: Mapping[str, object], bpn: str | None) -> TwinView | None:
    """Tractus-X's default visibility (no access rules): a specificAssetId is visible to the BPNs its
    ``externalSubjectId`` names, and to everyone when it names PUBLIC_READABLE and its name is one of
    :data:`PUBLIC_READABLE_NAMES`; one without externalSubjectId is the owner's alone. A shell none of whose
    ids the caller may see is not there for it."""
    pairs = set()
    named = False
    for sa in descriptor.get("specificAssetIds") or ():  # type: ignore[attr-defined]
        keys = _subject_keys(sa)
        if bpn is not None and bpn in keys:
            named = True
        elif not (PUBLIC_READABLE in keys and sa.get("name") in PUBLIC_READABLE_NAMES):
            continue
        pairs.add((sa.get("name"), sa.get("value")))
    if not pairs:
        return None
    return TwinView(pairs=frozenset(pairs), public_only=not named, by_subject_id=True)  # type: ignore[arg-type]


def _rule_values(policy: Mapping[str, object], attribute: str) -> list[Mapping[str, object]]:
    out: list[Mapping[str, object]] = []
    for r in policy.get("accessRules") or ():  # type: ignore[attr-defined]
        if isinstance(r, Mapping) and r.get("attribute") == attribute:
            out += [v for v in r.get("values") or () if isinstance(v, Mapping)]
    return out


def rule_target(policy: Mapping[str, object]) -> str | None:
    """The BPN an access rule's policy is for (its ``bpn`` rule), or ``None``."""
    for r in policy.get("accessRules") or ():  # type: ignore[attr-defined]
        if isinstance(r, Mapping) and r.get("attribute") == "bpn":
            return str(r.get("value")) if r.get("value") is not None else None
    return None


def rule_view(descriptor: Mapping[str, object], bpn: str | None,
              policies: list[tuple[str, Mapping[str, object]]]) -> TwinView | None:
    """Tractus-X's granular access control: ``policies`` are the shell owner's rules in force, as
    (target BPN, policy). A rule applies to the caller when its BPN is the caller's or PUBLIC_READABLE and
    the shell carries every one of its ``mandatorySpecificAssetIds``; the caller then sees the names in
    ``visibleSpecificAssetIdNames`` (a mandatory id's name only with the mandatory value; a public rule only
    the names of :data:`PUBLIC_READABLE_NAMES`) and the submodel descriptors whose semantic id is in
    ``visibleSemanticIds``. No rule applies: the shell is not there for the caller."""
    have = {(sa.get("name"), sa.get("value")) for sa in descriptor.get("specificAssetIds") or ()}  # type: ignore[attr-defined]
    names: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    semantic: set[str] = set()
    named = False
    applied = False
    for target, policy in policies:
        if target not in (bpn, PUBLIC_READABLE) or target is None:
            continue
        mandatory = {(str(v.get("attribute")), str(v.get("value"))) for v in _rule_values(policy, "mandatorySpecificAssetIds")}
        if not mandatory or not mandatory <= have:
            continue
        applied = True
        named = named or target == bpn
        visible = {str(v.get("value")) for v in _rule_values(policy, "visibleSpecificAssetIdNames")}
        if target == PUBLIC_READABLE:
            visible &= PUBLIC_READABLE_NAMES
        mandatory_names = {n for n, _ in mandatory}
        names |= visible - mandatory_names
        pairs |= {(n, v) for n, v in mandatory if n in visible}
        semantic |= {str(v.get("value")) for v in _rule_values(policy, "visibleSemanticIds")}
    if not applied:
        return None
    return TwinView(names=frozenset(names), pairs=frozenset(pairs), semantic_ids=frozenset(semantic),
                    public_only=not named)
