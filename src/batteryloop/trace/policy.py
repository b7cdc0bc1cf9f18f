"""Who may append which event to whose chain, and when: the ledger's custody rules.

A valid signature proves who wrote an event, not that they had the right to. :func:`check_event` asks
:mod:`batteryloop.access` (the ``trace.append.<kind>`` and ``trace.consume`` rules) for the event's
*actor* — whoever submits it — against each subject's facts as the ledger knows them *before* the
event: its custodian (the holder in the custody state), the economic operator of the passport of that
id, and the delegations in force. It also refuses implausible times: after the moment of recording
(plus a clock-skew allowance) or before the subject existed (a lot's production, a passport's
manufacture date). Events may arrive out of order — a vehicle offline for a week reports late — so the
order of a chain's events is not a rule. And it refuses recycled material out of nothing
(:func:`check_recycled_origin`): a lot of recycled origin comes from a recycler that certifies it, recovered
from waste the event consumes.

The ledger applies it on every append; :meth:`Ledger.verify_policy` replays it over stored events, so
that an event which slipped in before these rules (or by a direct write to the store) is reported.

What it does not decide: material lots (ore, refined material, cathode, black mass) and modules are sold
down the chain without a custody event (the ledger has no sale event for a lot), so consuming one as an
input is checked by mass balance (never more than its remaining mass), not by holder. A pack is consumed
(dismantled) only by its holder, and every subject event on a pack or module — custody, state of health,
export — only by the holder (or its delegate, where the rule allows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..access import Caller, Deny, Resource, decide
from ..participants import Role
from ..store.db import iso_text, parse_iso

_CUSTODY_LOT_KINDS = frozenset({"pack"})
RECYCLED_ORIGINS = ("pre_consumer", "post_consumer")
#: the waste a lot of each recycled origin is recovered from: used batteries (post-consumer) or manufacturing
#: scrap and rejected cells (pre-consumer); black mass may be either (by what it was made from)
WASTE_KINDS: dict[str, frozenset[str]] = {
    "post_consumer": frozenset({"pack", "module", "black_mass"}),
    "pre_consumer": frozenset({"scrap", "cell_batch", "black_mass"}),
}
ANY_WASTE_KINDS: frozenset[str] = frozenset().union(*WASTE_KINDS.values())
MANUFACTURING = frozenset({"cell_production", "module_assembly", "pack_assembly"})
WASTE_TREATMENT = frozenset({"dismantling", "recycling"})
#: the kinds a manufacturer's cell, module or pack production makes that are waste as a whole once they are
#: used up (packs, modules) or rejected (scrap, cell batches), and the recycled origin they yield
MADE_WASTE: dict[str, str] = {"pack": "post_consumer", "module": "post_consumer", "scrap": "pre_consumer",
                              "cell_batch": "pre_consumer"}
_TOL_REL, _TOL_KG = 1e-9, 1e-9


@dataclass(frozen=True)
class Refusal:
    status: int  # 403: not allowed; 422: implausible data
    field: str
    rule: str
    message: str
    value: Any = None

    def error(self) -> dict[str, Any]:
        return {"field": self.field, "rule": self.rule, "message": f"{self.field}: {self.message}", "value": self.value}


@lru_cache(maxsize=256)
def _roles(names: frozenset[str]) -> frozenset[Role]:
    out = set()
    for n in names:
        try:
            out.add(Role(n))
        except ValueError:
            pass
    return frozenset(out)


@lru_cache(maxsize=64)  # one recording time per transaction: parsed once, not per event
def plus_seconds(iso: str, seconds: float) -> str:
    return iso_text(parse_iso(iso) + dt.timedelta(seconds=seconds))


Delegation = tuple[str, frozenset[str], str]  # (grantee, actions, grantor)
# decisions that allowed, by what :func:`access.decide` reads of caller and resource (:func:`check_event`):
# the same few actors, roles and relations come back for every pack, so most events skip the policy walk
_ALLOWED: set[tuple[Any, ...]] = set()
_NEW_HOLDER_FIELDS = ("to_holder", "holder")


_UID: Any = None  # passport.identifiers.UniqueIdentifier, imported on first use (not at this module's import)


def namespace_owner(subject: str) -> str | None:
    """The company whose namespace an id of the form ``IAC.COMPANY.SERIAL`` (ISO/IEC 15459) is in, else ``None``."""
    global _UID
    if subject.count(".") != 2:
        return None
    if _UID is None:
        from ..passport.identifiers import UniqueIdentifier

        _UID = UniqueIdentifier
    try:
        return _UID.parse(subject).company_id  # type: ignore[no-any-return]
    except ValueError:
        return None


def check_event(ev: Any, *, actor_roles: frozenset[str], recorded_at: str, max_future_s: float,
                custody: Callable[[str], Mapping[str, Any] | None],
                lot: Callable[[str], tuple[str, str | None] | None],
                born: Callable[[str], str | None],
                operator: Callable[[str], str | None],
                delegates: Callable[[str], list[Delegation]],
                known: Callable[[str], bool],
                namespace: Callable[[str], str | None] = namespace_owner,
                waste_shares: Callable[[list[str]], Mapping[str, tuple[float, Share]]] | None = None
                ) -> Refusal | None:
    """The first reason to refuse ``ev`` (a :class:`~batteryloop.trace.events.FlatEvent`), or ``None``.

    The callables give the ledger's state before the event: a subject's custody row; a lot's kind and
    producer; when a subject came to exist (ISO text: a lot's production, a passport's manufacture
    date); the economic operator of a passport of that id; the delegations on a subject; whether a
    subject has a chain already; the registered participant whose ISO/IEC 15459 namespace an id is in;
    and, for :func:`check_recycled_origin` (which runs when it is given), the input lots' masses and the element
    mass each holds from waste (``waste_shares``: :meth:`WasteShares.get`).
    Who may comes first, then the times, so that a refusal tells a stranger nothing about a subject (not
    even when it was made).
    """
    actor = Caller(ev.actor, _roles(actor_roles))
    me = ev.actor.upper()

    def facts(subj: str) -> tuple[str | None, str | None]:
        """(holder, operator): the custody record's holder; else the passport's operator; else a lot's producer."""
        cur, op = custody(subj), operator(subj)
        if cur is not None:
            return cur.get("holder"), op
        if op is not None:
            return op, op
        lt = lot(subj)
        return (lt[1] if lt is not None else None), op

    known_facts: dict[str, tuple[str | None, str | None]] = {}

    def refuse(action: str, subj: str, fld: str) -> Refusal | None:
        holder, op = known_facts.get(subj) or facts(subj)
        if holder is None:  # a subject nobody knows yet: its first event makes the actor its holder — but
            owner = namespace(subj)  # an id in a registered company's namespace is opened by that company only
            if owner is not None and owner != me:
                return Refusal(403, fld, "namespace", f"{subj} is an id of {owner}'s namespace (ISO/IEC 15459): "
                               f"only {owner} may open it on the ledger", subj)
            if action != "trace.append.annotation":
                return None
        dels = {g: acts for g, acts, grantor in delegates(subj) if grantor in (holder, op, "admin")}
        kind = lot(subj)
        rkind = "pack" if kind is None or kind[0] == "pack" else "lot"
        # what the decision depends on besides the subject's id (which only a refusal's wording names): the
        # actor, its roles, the action, the kind, and whether it is the operator, the holder or a delegate
        memo = (ev.actor, actor_roles, action, rkind, op == ev.actor, holder == ev.actor, dels.get(ev.actor))
        if memo in _ALLOWED:
            return None
        d = decide(actor, action, Resource(rkind, subj, operator=op, custodian=holder, delegates=dels))
        if isinstance(d, Deny):
            return Refusal(403, fld, "custody", d.reason, subj)  # the holder is not named: custody is not public
        if len(_ALLOWED) >= 4096:
            _ALLOWED.clear()
        _ALLOWED.add(memo)
        return None

    checks: list[tuple[str, str, str]] = []  # (action, subject, field)
    for n, i in enumerate(ev.inputs):
        lt = lot(i.lot)
        if lt is not None and lt[0] in _CUSTODY_LOT_KINDS:
            checks.append(("trace.consume", i.lot, f"inputs[{n}].lot"))
    if not ev.inputs and not ev.outputs:
        for n, s in enumerate(ev.subjects):
            checks.append((f"trace.append.{ev.kind}", s, f"subjects[{n}]"))
            holder, _ = known_facts[s] = facts(s)
            # naming a new holder moves custody: only the holder itself may, never its delegate
            if any(ev.data.get(k) not in (None, holder) for k in _NEW_HOLDER_FIELDS):
                checks.append(("trace.append.change_of_owner", s, f"subjects[{n}]"))
    else:
        checks.extend(("trace.consume", s, f"subjects[{n}]") for n, s in enumerate(ev.subjects))
    for action, subj, fld in checks:
        r = refuse(action, subj, fld)
        if r is not None:
            return r
    for n, o in enumerate(ev.outputs):  # an output is a new lot: never an id the ledger or the registry knows
        op = operator(o.lot)
        if known(o.lot) or (op is not None and op.upper() != me):
            return Refusal(403 if op is not None and op.upper() != me else 422, f"outputs[{n}].lot", "new_lot",
                           f"{o.lot} is not a new lot id: an event produces only lots that do not exist yet "
                           "(a pack lot under a passport id only by that passport's economic operator)", o.lot)
        owner = namespace(o.lot)
        if owner is not None and owner != me:
            return Refusal(403, f"outputs[{n}].lot", "namespace", f"{o.lot} is an id of {owner}'s namespace "
                           f"(ISO/IEC 15459): only {owner} may produce it", o.lot)
    if waste_shares is not None:
        r = check_recycled_origin(ev, actor_roles, waste_shares)
        if r is not None:
            return r
    latest = plus_seconds(recorded_at, max_future_s)
    if ev.occurred_at > latest:
        return Refusal(422, "occurred_at", "in_the_future",
                       f"{ev.occurred_at} is after the time of recording ({recorded_at}, allowing "
                       f"{max_future_s:g} s of clock skew): events are recorded after they happen", ev.occurred_at)
    for subj in [*ev.subjects, *(i.lot for i in ev.inputs)]:
        b = born(subj)
        if b is not None and ev.occurred_at < b:
            return Refusal(422, "occurred_at", "before_subject",
                           f"{ev.occurred_at} is before {subj} existed (made {b[:10]})", ev.occurred_at)
    return None


Share = dict[str, dict[str, float]]
"""recycled origin (pre_consumer/post_consumer) → element → kg of it a lot holds from waste of that origin"""


@dataclass(frozen=True)
class LotFacts:
    """What the waste share of a lot is computed from: the lot as its event made it, and its inputs."""

    kind: str
    mass_kg: float
    elements_kg: Mapping[str, float]
    origin_type: str | None  # primary / pre_consumer / post_consumer; None for a produced lot
    producer: str
    event_kind: str
    edges: tuple[tuple[str, float], ...]  # (input lot, kg of that input in this lot: trace_lot_edges)


def own_share(f: LotFacts, manufacturer: bool) -> Share | None:
    """The waste a lot is by what it is and who made it, or ``None`` when it holds what its inputs brought of
    waste (:class:`WasteShares`). The one place that says what waste is:

    * a lot with an origin (primary: extracted; pre-/post-consumer: recovered already) is no waste;
    * a pack or module a manufacturer's cell, module or pack production made is post-consumer waste as a whole
      (a used battery once it comes back), a scrap lot or cell batch it made pre-consumer waste as a whole
      (manufacturing scrap, rejected cells) — made by anyone else (a recycler, a refiner) it holds only what
      its inputs brought;
    * black mass holds what the packs, modules, cells or scrap it was made from brought, and only when
      dismantling or recycling made it; a scrap, cell batch, module, pack or black-mass lot made by any other
      event (a refining, a cathode production) is no waste: primary salt relabelled as scrap stays primary;
    * any other lot — a leach liquor, a purified solution, a material a supplier mixed from a used module and
      primary salt — holds what its inputs brought (its share of each input, by its lot edges, times that
      input's waste content), through as many steps as it takes."""
    if f.origin_type is not None:
        return {}
    if f.event_kind in MANUFACTURING and f.kind in MADE_WASTE and manufacturer:
        return {MADE_WASTE[f.kind]: {el: kg for el, kg in f.elements_kg.items() if kg > 0}}
    if f.kind in ANY_WASTE_KINDS:
        if f.kind == "black_mass" and f.event_kind not in WASTE_TREATMENT:
            return {}
        if f.event_kind not in WASTE_TREATMENT | MANUFACTURING:
            return {}
    return None


class WasteShares:
    """Per lot, its mass and the element mass it holds from waste (:func:`own_share`, else carried from its
    inputs along its lot edges, capped at its own content). ``facts`` reads lots (those it does not know are
    left out: no waste), ``manufacturer`` says whether a participant has the manufacturer role; what is
    computed is kept (lots do not change once made)."""

    def __init__(self, facts: Callable[[list[str]], Mapping[str, LotFacts]], manufacturer: Callable[[str], bool],
                 memo: dict[str, tuple[float, Share]] | None = None) -> None:
        self.facts, self.manufacturer = facts, manufacturer
        self.memo: dict[str, tuple[float, Share]] = {} if memo is None else memo

    def get(self, ids: list[str]) -> dict[str, tuple[float, Share]]:
        memo = self.memo
        known: dict[str, LotFacts] = {}
        frontier = sorted({x for x in ids if x not in memo})
        while frontier:  # read the lots breadth-first, up to those that are waste (or no waste) by themselves
            got = self.facts(frontier)
            nxt: set[str] = set()
            for x in frontier:
                f = got.get(x)
                if f is None:
                    memo[x] = (0.0, {})
                    continue
                own = own_share(f, self.manufacturer(f.producer))
                if own is not None:
                    memo[x] = (f.mass_kg, own)
                    continue
                known[x] = f
                nxt.update(i for i, _ in f.edges if i not in memo and i not in known)
            frontier = sorted(nxt)
        for x in sorted(known):  # the carried ones, inputs first (the lot graph has no cycles)
            stack = [x]
            while stack:
                y = stack[-1]
                if y in memo:
                    stack.pop()
                    continue
                f = known[y]
                todo = [i for i, _ in f.edges if i not in memo]
                if todo:
                    stack.extend(todo)
                    continue
                stack.pop()
                memo[y] = (f.mass_kg, _carried(f, memo))
        return {x: memo[x] for x in ids}


def _carried(f: LotFacts, memo: Mapping[str, tuple[float, Share]]) -> Share:
    out: Share = {}
    for i, kg in f.edges:
        mass, share = memo[i]
        if mass <= 0 or not share:
            continue
        frac = kg / mass
        for t, els in share.items():
            d = out.setdefault(t, {})
            for el, x in els.items():
                d[el] = d.get(el, 0.0) + x * frac
    for el in {el for els in out.values() for el in els}:  # never more of an element than the lot holds
        have = max(0.0, float(f.elements_kg.get(el, 0.0)))
        tot = sum(els.get(el, 0.0) for els in out.values())
        if tot > have:
            scale = have / tot if tot > 0 else 0.0
            for els in out.values():
                if el in els:
                    els[el] *= scale
    return {t: {el: x for el, x in els.items() if x > 0} for t, els in out.items() if any(x > 0 for x in els.values())}


def recycled_outputs(ev: Any) -> list[tuple[int, Any]]:
    """``(position, output)`` of an event's outputs of recycled origin (``pre_consumer``/``post_consumer``)."""
    return [(n, o) for n, o in enumerate(ev.outputs) if o.origin and o.origin.get("type") in RECYCLED_ORIGINS]


def recovery_inputs(events: Any) -> set[str]:
    """The input lots of the events among ``events`` that make lots of recycled origin: what
    :func:`check_recycled_origin` asks the waste shares of (read together, a batch at a time)."""
    return {i.lot for ev in events if recycled_outputs(ev) for i in ev.inputs}


def check_recycled_origin(ev: Any, actor_roles: frozenset[str],
                          waste_shares: Callable[[list[str]], Mapping[str, tuple[float, Share]]]) -> Refusal | None:
    """Art. 8 recycled content starts here: the first reason to refuse an event that produces lots of recycled
    origin (``pre_consumer``/``post_consumer``), or ``None``. Such a lot is certified by the recycler that
    recovers it — the event's actor, a participant with the recycler role — and is recovered from waste the
    event consumes (:func:`own_share` says what waste is): used batteries for post-consumer, manufacturing
    scrap and rejected cells for pre-consumer, black mass by what it was made from, or a material made from
    such waste (a leach liquor), counting only what the waste brought into it. Per recycled origin and
    element, the recycled lots hold no more than the waste consumed brought (reagents and primary material
    consumed beside it bring none)."""
    rec = recycled_outputs(ev)
    if not rec:
        return None
    me = ev.actor.upper()
    for n, o in rec:
        cert = str(o.origin.get("certified_by") or "")
        if cert.upper() != me:
            return Refusal(422, f"outputs[{n}].origin.certified_by", "certified_by_actor",
                           f"{cert} is not the event's actor {ev.actor}: a lot of recycled origin is certified by the "
                           f"recycler that recovers it — set certified_by to {ev.actor} if it is that recycler, or "
                           f"have {cert} record (and sign) the recovery itself", cert)
    if "recycler" not in actor_roles:
        n = rec[0][0]
        return Refusal(422, f"outputs[{n}].origin.certified_by", "certifier_is_recycler",
                       f"{ev.actor} must be a participant registered with the recycler role: only a recycler "
                       "recovers and certifies lots of recycled origin", ev.actor)
    shares = waste_shares([i.lot for i in ev.inputs]) if ev.inputs else {}
    brought: Share = {}
    for i in ev.inputs:
        mass, share = shares.get(i.lot, (0.0, {}))
        if mass <= 0:
            continue
        f = i.mass_kg / mass
        for t, els in share.items():
            d = brought.setdefault(t, {})
            for el, kg in els.items():
                d[el] = d.get(el, 0.0) + kg * f
    made: Share = {}
    for _, o in rec:
        d = made.setdefault(o.origin["type"], {})
        for el, kg in o.elements_kg.items():
            d[el] = d.get(el, 0.0) + kg
    for t in RECYCLED_ORIGINS:
        if t in made and not any(v > 0 for v in brought.get(t, {}).values()):
            kinds = " or ".join(sorted(WASTE_KINDS[t]))
            return Refusal(422, "inputs", "recycled_from_waste",
                           f"the event produces {t} lots but consumes no {kinds} lot (nor a material made from "
                           "one) that is waste: packs, modules, cell batches and scrap a manufacturer's cell, module "
                           "or pack production made, black mass that dismantling or recycling made of them; "
                           "recycled material is recovered from waste the event consumes, never from nothing", ev.id)
    for t in RECYCLED_ORIGINS:
        for el, kg in sorted(made.get(t, {}).items()):
            have = brought.get(t, {}).get(el, 0.0)
            if kg > have * (1 + _TOL_REL) + _TOL_KG:
                return Refusal(422, f"outputs.elements_kg.{el}", "recycled_from_waste",
                               f"the lots of {t} origin hold {kg:g} kg of {el} but the waste consumed brought "
                               f"{have:g} kg: recycled {el} is recovered from waste only (reagents and primary "
                               "material bring none, nor does what a material made from waste got from primary "
                               "inputs)", kg)
    return None
