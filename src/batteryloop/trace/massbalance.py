"""Recycled content (Art. 8 of Regulation (EU) 2023/1542) under two allocation rules.

The material graph: every lot (ore, refined material, cathode, cell batch, module, pack) is a
:class:`Lot`; an :class:`Edge` says how many kg of an input lot went into an output lot. Lots with
an origin are where material enters: primary (mined), pre-consumer recycled (manufacturing scrap) or
post-consumer recycled (recovered from used batteries).

**Physical segregation** (``"physical_segregation"``): recycled material is counted only where it
physically goes. Each element in an output is attributed to the inputs in proportion to the element
mass each input brought; the recycled share of the output is the mass-weighted share of its inputs.

**Mass balance** (``"mass_balance"``): at each production account — one producer's site over one
period (a year, quarter or month) — the recycled element mass of all inputs consumed is a pool of
credits, which the producer allocates to that account's outputs, not necessarily where the atoms went:

* ``"proportional"``: every output of the account-period gets the pool's average share;
* ``"first_come"``: outputs in production order take credits up to their full element content until
  the pool is empty.

A lot the same account consumes is an intermediate for the part it consumes (its credit is in the pool);
the rest of it stays a final output at the account's rate. Credits a period does not allocate expire. Under both rules an output never holds more recycled
element than its element content, and an account never allocates more than its inputs brought —
what the property tests check.

Which rule applies is a setting (the Commission's calculation method is not adopted yet:
REFERENCE.md §1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

RULES = ("physical_segregation", "mass_balance")
Rule = Literal["physical_segregation", "mass_balance"]
Allocation = Literal["proportional", "first_come"]
Period = Literal["year", "quarter", "month"]
PERIODS = ("year", "quarter", "month")
CATEGORIES = ("post_consumer", "pre_consumer")  # allocation order: post-consumer credits first


@dataclass
class Lot:
    id: str
    mass_kg: float
    elements_kg: dict[str, float]
    origin_type: str | None = None  # primary / pre_consumer / post_consumer for lots entering the loop
    producer: str = ""
    site: str = ""
    produced_at: str = ""  # ISO UTC time
    kind: str = "material"
    model_id: str | None = None
    origin_country: str | None = None
    origin_site: str | None = None
    site_country: str = ""


@dataclass(frozen=True)
class Edge:
    output: str
    input: str
    mass_kg: float


@dataclass
class Recycled:
    """Recycled element mass in one lot, by category (kg)."""

    pre_consumer: dict[str, float] = field(default_factory=dict)
    post_consumer: dict[str, float] = field(default_factory=dict)

    def total(self, element: str) -> float:
        return self.pre_consumer.get(element, 0.0) + self.post_consumer.get(element, 0.0)


@dataclass
class MaterialGraph:
    lots: dict[str, Lot]
    inputs: dict[str, list[Edge]]  # output id -> edges to its inputs

    @classmethod
    def build(cls, lots: Iterable[Lot], edges: Iterable[Edge]) -> MaterialGraph:
        """The graph for recycled content. A lot with an origin (mined, or recovered and certified as
        recycled) is a source: the material behind a recovered lot was counted in its first life, so
        its input edges are left out (which also breaks the loop recycler → new cells → recycler)."""
        by_id = {lot.id: lot for lot in lots}
        ins: dict[str, list[Edge]] = defaultdict(list)
        for e in edges:
            out = by_id.get(e.output)
            if out is not None and out.origin_type is None:
                ins[e.output].append(e)
        return cls(by_id, dict(ins))

    def brought(self, edge: Edge) -> dict[str, float]:
        """Element masses an edge carries: the input mass taken times the input lot's element fractions."""
        src = self.lots[edge.input]
        if src.mass_kg <= 0:
            return {}
        f = edge.mass_kg / src.mass_kg
        return {el: kg * f for el, kg in src.elements_kg.items()}

    def topological(self) -> list[str]:
        """Lot ids, inputs before outputs (lots produced earlier first among equals)."""
        order: list[str] = []
        state: dict[str, int] = {}
        for root in sorted(self.lots, key=lambda i: (self.lots[i].produced_at, i)):
            if state.get(root):
                continue
            stack = [(root, iter(self.inputs.get(root, ())))]
            state[root] = 1
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    stack.pop()
                    state[node] = 2
                    order.append(node)
                    continue
                child = nxt.input
                if child not in self.lots:
                    continue
                s = state.get(child, 0)
                if s == 1:
                    raise ValueError(f"the material graph has a cycle through lot {child}")
                if s == 0:
                    state[child] = 1
                    stack.append((child, iter(self.inputs.get(child, ()))))
        return order


def _leaf(lot: Lot) -> Recycled:
    r = Recycled()
    if lot.origin_type in CATEGORIES:
        getattr(r, lot.origin_type).update(lot.elements_kg)
    return r


def _cap(rec: Recycled, lot: Lot) -> None:
    """Never more recycled element than the lot holds (pre-consumer credit trimmed first)."""
    for el, have in lot.elements_kg.items():
        tot = rec.total(el)
        if tot > have:
            over = tot - have
            cut = min(over, rec.pre_consumer.get(el, 0.0))
            if cut:
                rec.pre_consumer[el] -= cut
                over -= cut
            if over > 0 and el in rec.post_consumer:
                rec.post_consumer[el] -= over


def physical_segregation(graph: MaterialGraph) -> dict[str, Recycled]:
    """Recycled element mass in every lot, following the material where it physically goes."""
    out: dict[str, Recycled] = {}
    for lid in graph.topological():
        lot = graph.lots[lid]
        edges = graph.inputs.get(lid)
        if not edges:
            out[lid] = _leaf(lot)
            continue
        brought: dict[str, float] = defaultdict(float)
        rec_in = Recycled()
        for e in edges:
            b = graph.brought(e)
            src = graph.lots[e.input]
            srec = out[e.input]
            for el, kg in b.items():
                brought[el] += kg
                have = src.elements_kg.get(el, 0.0)
                if have > 0:
                    for cat in CATEGORIES:
                        v = getattr(srec, cat).get(el, 0.0)
                        if v:
                            d = getattr(rec_in, cat)
                            d[el] = d.get(el, 0.0) + kg * v / have
        r = Recycled()
        for el, kg_out in lot.elements_kg.items():
            kg_in = brought.get(el, 0.0)
            if kg_in <= 0:
                continue
            share = kg_out / kg_in  # ≤ 1: outputs never hold more than the inputs brought (checked on append)
            for cat in CATEGORIES:
                v = getattr(rec_in, cat).get(el, 0.0)
                if v:
                    getattr(r, cat)[el] = v * min(share, 1.0)
        _cap(r, lot)
        out[lid] = r
    return out


def period_key(iso_time: str, period: Period) -> str:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    y, m = iso_time[:4], int(iso_time[5:7] or 1)
    if period == "year":
        return y
    if period == "quarter":
        return f"{y}-Q{(m - 1) // 3 + 1}"
    return f"{y}-{m:02d}"


@dataclass
class AccountLedger:
    """One production account (producer, site, period): credits received and allocated, per element."""

    key: tuple[str, str, str]
    credits_kg: dict[str, dict[str, float]] = field(default_factory=lambda: {c: {} for c in CATEGORIES})
    allocated_kg: dict[str, dict[str, float]] = field(default_factory=lambda: {c: {} for c in CATEGORIES})


def shipped_fraction(mass_kg: float, inside_kg: float) -> float:
    """The part of a lot not consumed inside its own production account (0 when all of it was, within 1e-9)."""
    if inside_kg <= 0:
        return 1.0
    if mass_kg <= 0:
        return 0.0
    f = 1.0 - inside_kg / mass_kg
    return f if f > 1e-9 else 0.0


def mass_balance(graph: MaterialGraph, *, period: Period = "year", allocation: Allocation = "proportional",
                 accounts: dict[tuple[str, str, str], AccountLedger] | None = None) -> dict[str, Recycled]:
    """Recycled element mass in every lot with credits pooled per (producer, site, period)."""
    if allocation not in ("proportional", "first_come"):
        raise ValueError(f"allocation must be 'proportional' or 'first_come', not {allocation!r}")
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    order = graph.topological()
    acct_of: dict[str, tuple[str, str, str]] = {}
    members: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for lid in order:
        if graph.inputs.get(lid):
            lot = graph.lots[lid]
            k = (lot.producer, lot.site, period_key(lot.produced_at, period))
            acct_of[lid] = k
            members[k].append(lid)
    # accounts in dependency order: an account comes after the accounts of all lots its lots consume
    acct_order: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    deps: dict[tuple[str, str, str], set[tuple[str, str, str]]] = defaultdict(set)
    for k, lids in members.items():
        for lid in lids:
            for e in graph.inputs[lid]:
                ka = acct_of.get(e.input)
                if ka is not None and ka != k:
                    deps[k].add(ka)
    visiting: set[tuple[str, str, str]] = set()

    def visit(k: tuple[str, str, str]) -> None:
        if k in seen:
            return
        if k in visiting:
            raise ValueError(f"mass balance: production accounts depend on each other in a cycle at {k}; "
                             "use a shorter period or physical segregation")
        visiting.add(k)
        for d in sorted(deps.get(k, ())):
            visit(d)
        visiting.discard(k)
        seen.add(k)
        acct_order.append(k)

    for k in sorted(members, key=lambda k: min(graph.lots[i].produced_at for i in members[k])):
        visit(k)

    out: dict[str, Recycled] = {}
    for lid in order:
        if not graph.inputs.get(lid):
            out[lid] = _leaf(graph.lots[lid])
    books = accounts if accounts is not None else {}
    for k in acct_order:
        lids = sorted(members[k], key=lambda i: (graph.lots[i].produced_at, i))
        book = books.setdefault(k, AccountLedger(k))
        internal = set(lids)
        # lots of the account consumed by the same account are intermediates for that part: its credits pass
        # through (they are in the pool already); the rest of such a lot — shipped, or still in stock — stays a
        # final output at the account's rate (review finding F3: re-processing 2 % of a lot in its own account
        # took the credit of the 98 % shipped)
        pool: dict[str, dict[str, float]] = {c: defaultdict(float) for c in CATEGORIES}
        inside_kg: dict[str, float] = defaultdict(float)
        for lid in lids:
            for e in graph.inputs[lid]:
                if e.input in internal:
                    inside_kg[e.input] += e.mass_kg
                    continue
                src = graph.lots[e.input]
                srec = out[e.input]
                for el, kg in graph.brought(e).items():
                    have = src.elements_kg.get(el, 0.0)
                    if have <= 0:
                        continue
                    for cat in CATEGORIES:
                        v = getattr(srec, cat).get(el, 0.0)
                        if v:
                            pool[cat][el] += kg * v / have
        for cat in CATEGORIES:
            for el, v in pool[cat].items():
                book.credits_kg[cat][el] = book.credits_kg[cat].get(el, 0.0) + v
        part = {lid: shipped_fraction(graph.lots[lid].mass_kg, inside_kg.get(lid, 0.0)) for lid in lids}
        final = [lid for lid in lids if part[lid] > 0]
        demand: dict[str, float] = defaultdict(float)
        for lid in final:
            for el, kg in graph.lots[lid].elements_kg.items():
                demand[el] += kg * part[lid]
        alloc = {lid: Recycled() for lid in lids}  # credit given to each lot's final part
        for cat in CATEGORIES:
            for el, credit in pool[cat].items():
                left = credit
                f = 0.0 if demand[el] <= 0 else credit / demand[el]
                for lid in final:
                    if allocation != "proportional" and left <= 0:
                        break
                    have = graph.lots[lid].elements_kg.get(el, 0.0) * part[lid]
                    room = have - alloc[lid].total(el)
                    # proportional: post-consumer first fills the element content, pre-consumer takes what is
                    # left; first come: in production order, up to the content, until the pool is empty
                    give = min(have * f, room) if allocation == "proportional" else min(room, left)
                    if give > 0:
                        getattr(alloc[lid], cat)[el] = getattr(alloc[lid], cat).get(el, 0.0) + give
                        book.allocated_kg[cat][el] = book.allocated_kg[cat].get(el, 0.0) + give
                        left -= give
        # a lot's recycled content per kg is its final part's: what its shipped kilograms carry downstream
        for lid in lids:
            r, a, p = Recycled(), alloc[lid], part[lid]
            if p > 0:
                for cat in CATEGORIES:
                    getattr(r, cat).update({el: v / p for el, v in getattr(a, cat).items()})
                _cap(r, graph.lots[lid])
            out[lid] = r
    return out


def recycled_content(graph: MaterialGraph, rule: Rule = "mass_balance", *, period: Period = "year",
                     allocation: Allocation = "proportional") -> dict[str, Recycled]:
    if rule == "physical_segregation":
        return physical_segregation(graph)
    if rule == "mass_balance":
        return mass_balance(graph, period=period, allocation=allocation)
    raise ValueError(f"unknown allocation rule {rule!r}: use one of {', '.join(RULES)}")


def shares(lot: Lot, rec: Recycled, elements: Iterable[str]) -> dict[str, dict[str, float | None]]:
    """Recycled share (0..1) of each element in a lot: pre-consumer, post-consumer and total."""
    out: dict[str, dict[str, float | None]] = {}
    for el in elements:
        have = lot.elements_kg.get(el, 0.0)
        if have <= 0:
            out[el] = {"pre_consumer": None, "post_consumer": None, "total": None, "element_kg": 0.0}
            continue
        pre, post = rec.pre_consumer.get(el, 0.0), rec.post_consumer.get(el, 0.0)
        out[el] = {"pre_consumer": pre / have, "post_consumer": post / have, "total": (pre + post) / have,
                   "element_kg": have}
    return out


def aggregate(lots: Iterable[Lot], recs: Mapping[str, Recycled], elements: Iterable[str]) -> dict[str, dict[str, float | None]]:
    """Recycled share of each element over a set of lots (e.g. one model's packs of a plant and year)."""
    els = list(elements)
    tot = {el: [0.0, 0.0, 0.0] for el in els}  # element, pre, post
    for lot in lots:
        r = recs[lot.id]
        for el in els:
            tot[el][0] += lot.elements_kg.get(el, 0.0)
            tot[el][1] += r.pre_consumer.get(el, 0.0)
            tot[el][2] += r.post_consumer.get(el, 0.0)
    out: dict[str, dict[str, float | None]] = {}
    for el, (have, pre, post) in tot.items():
        out[el] = ({"pre_consumer": pre / have, "post_consumer": post / have, "total": (pre + post) / have,
                    "element_kg": have, "recycled_kg": pre + post} if have > 0 else
                   {"pre_consumer": None, "post_consumer": None, "total": None, "element_kg": 0.0, "recycled_kg": 0.0})
    return out
