"""The mass balance kept as the ledger grows: recycled content of a model-year without a pass over the ledger.

:func:`batteryloop.trace.massbalance.mass_balance` builds the whole material graph and allocates every
production account's credits: its cost grows with the ledger (32 s at 200,000 packs; hours at ten million).
Under its default settings — accounts per producer, site and **year**, **proportional** allocation — what a
lot receives is its element content times a rate of its account: each final lot of an account gets the
account's pool over its demand, post-consumer first, capped at the lot's content:

    rate_post[el] = min(1, credit_post[el] / demand[el])
    rate_pre[el]  = min(1 − rate_post[el], credit_pre[el] / demand[el])

and an account's credit is the element mass flowing into it from each other account times that account's
rate (from recovered or scrap sources: times one). So the rates follow from sums per account, kept in
``trace_mb_*`` (migration 0013) and brought up to date from the events appended since the last refresh
(``trace_mb_mark.gseq``; the ledger numbers events gap-free in commit order):

* ``trace_mb_flows`` — element mass into an account from each source account (``acct:…``) or recycled
  origin (``origin:post_consumer``/``origin:pre_consumer``): ``kg of the input taken / input lot mass ×
  input lot elements``, as :meth:`MaterialGraph.brought`;
* ``trace_mb_demand`` — element content of an account's final lots;
* ``trace_mb_outputs`` — packs per account, site, model and year: count, element content of all of them and
  of the final ones (what a model-year's figure sums);
* ``trace_mb_intermediate`` — the kg of each lot its own account consumed: that part is an intermediate (its
  element content leaves the account's demand: its credit passed into the pool), the rest stays a final output
  at the account's rate, downstream too (migration 0015; a pack all of which its account consumed is no final
  pack of its group).

Lots with an origin are sources (their input edges are not part of the graph), a lot without recorded inputs
holds no credit unless its origin is recycled — as :class:`MaterialGraph` builds it. A query reads the
accounts (thousands at national scale, not millions of lots) and computes the rates in dependency order.
``tests/trace/test_mb_summary.py`` checks the figures equal the full recomputation on the same ledger,
refreshed in steps. Other settings (quarter or month accounts, first-come allocation, physical segregation)
are computed in full, as before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from ..store import ledger as ledger_repo
from ..store import mb_summary as repo
from ..store.db import Store
from ..store.errors import IntegrityViolation, translated
from .events import FlatEvent
from .lots import edge_masses
from .massbalance import CATEGORIES, shipped_fraction

BATCH = 20_000
"""Events folded in per write transaction of a refresh."""

OPTIMISTIC_TRIES = 3
"""Batches folded outside the write transaction before a refresh that keeps losing the race folds under the lock."""

_EMPTY = (b'"inputs":[]', b'"outputs":[]')


def account_of(producer: str, site: str, produced_at: str) -> str:
    """A production account (producer, site, year) as one key."""
    return f"{producer}|{site}|{produced_at[:4]}"


@dataclass
class _LotInfo:
    kind: str
    mass_kg: float
    elements: dict[str, float]
    origin: str | None
    producer: str
    site: str
    produced_at: str
    model_id: str | None
    produced: bool  # has recorded inputs and no origin: belongs to a production account
    account: str = ""  # its production account (read for every edge: kept, not rebuilt); made when not given

    def __post_init__(self) -> None:
        if not self.account:
            self.account = account_of(self.producer, self.site, self.produced_at)

    def brought(self, kg: float) -> dict[str, float]:
        if self.mass_kg <= 0:
            return {}
        f = kg / self.mass_kg
        return {el: v * f for el, v in self.elements.items()}


@dataclass
class _Fold:
    """What one batch adds: events read, the last one's store sequence, and the deltas to write."""

    read: int
    last: int
    flows: dict[tuple[str, str], dict[str, float]]
    demand: dict[str, dict[str, float]]
    outputs: dict[tuple[str, str, str, str], list[Any]]
    inside: dict[str, float]
    inside_before: dict[str, float]


def _add(d: dict[str, float], els: dict[str, float], sign: float = 1.0) -> None:
    for k, v in els.items():
        d[k] = d.get(k, 0.0) + sign * v


class MassBalanceSummary:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ refresh
    def refresh(self, *, whole_batches_only: bool = False) -> int:
        """Fold the events appended since the last refresh into the accumulators; how many were read.

        Each batch is read and folded in a read transaction and written in a short write transaction that first
        checks no other refresh moved the mark meanwhile (another process — the pilot's worker behind the
        ledger, another API worker — may refresh at the same time; the sums it wrote are then the ones to add
        to, so the batch is folded again from the new mark). A writer of the ledger waits for a refresh only
        while it writes its sums, not while it reads and folds thousands of events. After
        ``OPTIMISTIC_TRIES`` lost races the batch is folded inside the write transaction, the mark locked (a
        ``whole_batches_only`` refresh gives up instead).

        ``whole_batches_only``: fold only batches of ``BATCH`` events, leave a shorter tail for a later refresh.
        A refresh made at any moment (the worker behind the ledger) then cuts the ledger into the same batches as
        one made at the caller's points: the sums are added in the same order, to the last bit, whoever folded
        which batch when."""
        total = 0
        while True:
            n = self._refresh_once(whole_batches_only)
            total += n
            if n < BATCH:
                return total

    def _refresh_once(self, whole_batches_only: bool = False) -> int:
        for _ in range(OPTIMISTIC_TRIES):
            with self.store.read() as conn:
                mark = repo.read_mark(conn)
                if whole_batches_only and ledger_repo.max_gseq(conn) - (mark or 0) < BATCH:
                    return 0
                fold = self._fold(conn, mark)
            if fold is None:
                return 0
            try:
                with translated():
                    if self.store.run_write(lambda conn, mark=mark, fold=fold: self._write_if_unmoved(conn, mark, fold)):
                        return fold.read
            except IntegrityViolation:  # two first refreshes both made the mark's row: the other one's stands
                continue
        if whole_batches_only:  # a refresh in the background gives up: under the lock it would hold the writers up
            return 0  # for a whole fold, and might fold a tail there; the caller's next refresh folds the rest
        return self.store.run_write(self._refresh_batch)

    def _write_if_unmoved(self, conn: Any, mark: int | None, fold: _Fold) -> bool:
        locked = repo.lock_mark(conn)
        if locked != mark:
            return False  # another refresh wrote since this fold read the mark: fold again from the new one
        self._write(conn, fold, existed=locked is not None)
        return True

    @staticmethod
    def _lots(conn: Any, ids: list[str]) -> dict[str, _LotInfo]:
        return {r[0]: _LotInfo(r[1], r[2], orjson.loads(r[3]), r[4], r[5], r[6], r[7], r[8], r[4] is None and r[9])
                for r in repo.lot_rows(conn, ids)}

    def _refresh_batch(self, conn: Any) -> int:
        """One batch read, folded and written in this write transaction (the mark locked throughout)."""
        locked = repo.lock_mark(conn)
        fold = self._fold(conn, locked)
        if fold is None:
            return 0
        self._write(conn, fold, existed=locked is not None)
        return fold.read

    @staticmethod
    def _write(conn: Any, fold: _Fold, *, existed: bool) -> None:
        if fold.inside:
            repo.add_internal_kg(conn, fold.inside, fold.inside_before)
        repo.merge(conn, fold.flows, fold.demand, fold.outputs)
        repo.set_mark(conn, fold.last, existed=existed)

    def _fold(self, conn: Any, mark: int | None) -> _Fold | None:
        """The deltas of the (at most ``BATCH``) events after ``mark``, read through ``conn``; None: none."""
        rows = repo.events_after(conn, mark or 0, BATCH)
        if not rows:
            return None
        events: list[tuple[int, FlatEvent]] = []
        for g, body in rows:
            b = body.encode() if isinstance(body, str) else body
            if _EMPTY[0] in b and _EMPTY[1] in b:
                continue  # no material moved (state of health, custody, passport …): most of the ledger
            events.append((g, FlatEvent(orjson.loads(b))))
        lots: dict[str, _LotInfo] = {}
        for _, ev in events:
            account = account_of(ev.actor, ev.place.site, ev.occurred_at)  # every output's: one per event
            for o in ev.outputs:  # as lots.lot_row writes the lot's row
                origin = o.origin["type"] if o.origin else None
                lots[o.lot] = _LotInfo(o.kind, o.mass_kg, dict(o.elements_kg), origin, ev.actor, ev.place.site,
                                       ev.occurred_at, o.model_id, origin is None and bool(ev.inputs), account)
        missing = sorted({i.lot for _, ev in events for i in ev.inputs} - set(lots))
        lots.update(self._lots(conn, missing))
        # only a lot made before this batch can have been consumed inside its account already
        inside_before = repo.internal_kg(conn, missing)

        flows: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
        demand: dict[str, dict[str, float]] = defaultdict(dict)
        outputs: dict[tuple[str, str, str, str], list[Any]] = {}
        inside: dict[str, float] = {}  # kg consumed inside their own account in this batch, per lot
        taken: dict[tuple[tuple[str, str], str], float] = {}  # ((account, source), input lot) → kg taken

        def out_row(key: tuple[str, str, str, str]) -> list[Any]:
            return outputs.setdefault(key, [0, {}, {}])

        def pack_key(lot: _LotInfo) -> tuple[str, str, str, str]:
            acct = lot.account if lot.produced else f"origin:{lot.origin or 'none'}"
            return (acct, lot.site, lot.model_id or "", lot.produced_at[:4])

        for g, ev in events:
            dem: dict[str, float] | None = None  # the outputs' account's demand (one account per event)
            for o in ev.outputs:
                lot = lots[o.lot]
                if lot.produced:
                    if dem is None:
                        dem = demand[lot.account]
                    for k, v in lot.elements.items():
                        dem[k] = dem.get(k, 0.0) + v
                if lot.kind == "pack":
                    r = out_row(pack_key(lot))
                    r[0] += 1
                    _add(r[1], lot.elements)
                    _add(r[2], lot.elements)
            for o_id, i_id, kg in edge_masses(ev):
                out = lots[o_id]
                if not out.produced:
                    continue  # a lot with an origin: its inputs are not part of the graph
                src = lots[i_id]
                if not src.produced:
                    if src.origin in CATEGORIES:
                        k = ((out.account, f"origin:{src.origin}"), i_id)
                        taken[k] = taken.get(k, 0.0) + kg
                    continue
                if src.account == out.account:  # consumed inside its own account: an intermediate for that part
                    _add(demand[src.account], src.brought(kg), -1.0)
                    was = inside_before.get(i_id, 0.0) + inside.get(i_id, 0.0)
                    inside[i_id] = inside.get(i_id, 0.0) + kg
                    if src.kind == "pack" and shipped_fraction(src.mass_kg, was) > 0 \
                            and not shipped_fraction(src.mass_kg, was + kg):
                        _add(out_row(pack_key(src))[2], src.elements, -1.0)  # all of it: no final pack left
                    continue
                key = (out.account, f"acct:{src.account}")  # its shipped part: final, at its account's rate
                taken[(key, i_id)] = taken.get((key, i_id), 0.0) + kg
        # what each input lot brought into each account, once per pair (a batch of cells is split over hundreds of
        # modules of one account: the kg add up first)
        for (key, i_id), kg in taken.items():
            _add(flows[key], lots[i_id].brought(kg))
        return _Fold(len(rows), rows[-1][0], flows, demand, outputs, inside, inside_before)

    # ------------------------------------------------------------------ rates
    @staticmethod
    def _rates(conn: Any) -> dict[str, dict[str, dict[str, float]]]:
        """Every account's rates {category: {element: recycled kg per kg of element}}, in dependency order."""
        flows, demand = repo.accounts(conn)
        rates: dict[str, dict[str, dict[str, float]]] = {}
        visiting: set[str] = set()

        def rate(k: str) -> dict[str, dict[str, float]]:
            if k in rates:
                return rates[k]
            if k in visiting:
                raise ValueError(f"mass balance: production accounts depend on each other in a cycle at "
                                 f"{tuple(k.split('|'))}; use a shorter period or physical segregation")
            visiting.add(k)
            credit: dict[str, dict[str, float]] = {c: {} for c in CATEGORIES}
            for src, els in sorted(flows.get(k, {}).items()):
                if src.startswith("origin:"):
                    _add(credit[src[7:]], els)
                    continue
                r = rate(src[5:])
                for c in CATEGORIES:
                    for el, v in els.items():
                        f = r[c].get(el, 0.0)
                        if f:
                            credit[c][el] = credit[c].get(el, 0.0) + v * f
            visiting.discard(k)
            d = demand.get(k, {})
            out: dict[str, dict[str, float]] = {c: {} for c in CATEGORIES}
            for el in set(credit["post_consumer"]) | set(credit["pre_consumer"]):
                dem = d.get(el, 0.0)
                if dem <= 1e-9:
                    continue
                post = min(1.0, credit["post_consumer"].get(el, 0.0) / dem)
                pre = min(1.0 - post, credit["pre_consumer"].get(el, 0.0) / dem)
                if post > 0:
                    out["post_consumer"][el] = post
                if pre > 0:
                    out["pre_consumer"][el] = pre
            rates[k] = out
            return out

        for k in sorted(set(flows) | set(demand)):
            rate(k)
        return rates

    @staticmethod
    def _rate_of(rates: dict[str, dict[str, dict[str, float]]], account: str,
                 elements: Iterable[str]) -> dict[str, dict[str, float]]:
        if account.startswith("origin:"):  # a lot entering the loop: all recycled of its kind, or none
            cat = account[7:]
            return {c: ({el: 1.0 for el in elements} if c == cat else {}) for c in CATEGORIES}
        return rates.get(account, {c: {} for c in CATEGORIES})

    # ------------------------------------------------------------------ queries
    def model_year(self, model_id: str, year: int | None, plant: str | None,
                   elements: Iterable[str]) -> dict[str, Any] | None:
        """Recycled content of a model's packs (of a year, of a plant), with each plant's, as
        :func:`~batteryloop.trace.massbalance.aggregate` gives it; None when there are no such packs."""
        self.refresh()
        els = list(elements)
        with self.store.read() as conn:
            rows = repo.outputs(conn, model_id, year, plant)
            if not rows or not sum(r[2] for r in rows):
                return None
            rates = self._rates(conn)
        total = {el: [0.0, 0.0, 0.0] for el in els}
        by_plant: dict[str, dict[str, list[float]]] = {}
        n = 0
        for account, plant_site, packs, all_, final in rows:
            n += packs
            rate = self._rate_of(rates, account, els)
            site = by_plant.setdefault(plant_site, {el: [0.0, 0.0, 0.0] for el in els})
            for el in els:
                have = all_.get(el, 0.0)
                fin = final.get(el, 0.0)
                pre = fin * rate["pre_consumer"].get(el, 0.0)
                post = fin * rate["post_consumer"].get(el, 0.0)
                for acc in (total[el], site[el]):
                    acc[0] += have
                    acc[1] += pre
                    acc[2] += post
        return {"packs": n, "elements": _shares(total),
                "by_plant": {s: _shares(t) for s, t in sorted(by_plant.items())}}

    def groups(self, year: int | None, model_id: str | None, plant: str | None, elements: Iterable[str], *,
               with_packs: bool = True) -> list[dict[str, Any]]:
        """Every (model, plant, year) group of packs — of ``year``, ``model_id``, ``plant`` when given — with its
        recycled content as :func:`~batteryloop.trace.massbalance.aggregate` gives it (``elements``), its pack
        count and (``with_packs``) its pack ids, sorted by year, model, plant: what Art. 8 declares, from the kept
        sums and an index read of the packs, no pass over the ledger."""
        self.refresh()
        els = list(elements)
        with self.store.read() as conn:
            rows = repo.output_rows(conn, model_id, year, plant)
            if not rows:
                return []
            rates = self._rates(conn)
            ids = repo.pack_ids(conn, year, {r[2] for r in rows}) if with_packs else {}
        acc: dict[tuple[int, str, str], tuple[list[int], dict[str, list[float]]]] = {}
        for account, site, model, y, packs, all_, final in rows:
            n, total = acc.setdefault((int(y), model, site), ([0], {el: [0.0, 0.0, 0.0] for el in els}))
            n[0] += packs
            rate = self._rate_of(rates, account, els)
            for el in els:
                fin = final.get(el, 0.0)
                t = total[el]
                t[0] += all_.get(el, 0.0)
                t[1] += fin * rate["pre_consumer"].get(el, 0.0)
                t[2] += fin * rate["post_consumer"].get(el, 0.0)
        out = []
        for (y, model, site), (n, total) in sorted(acc.items()):
            if not n[0]:
                continue
            g: dict[str, Any] = {"model_id": model, "plant": site, "year": y, "count": n[0], "elements": _shares(total)}
            if with_packs:
                g["packs"] = sorted(ids.get((model, site, f"{y:04d}"), ()))
            out.append(g)
        return out

    def pack(self, pack_id: str, elements: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(the pack's lot row as a dict, {element: {pre_consumer, post_consumer, total, element_kg}}), None if
        there is no such lot."""
        self.refresh()
        with self.store.read() as conn:
            lot = self._lots(conn, [pack_id]).get(pack_id)
            if lot is None:
                return None
            inter = not shipped_fraction(lot.mass_kg, repo.internal_kg(conn, [pack_id]).get(pack_id, 0.0))
            rates = self._rates(conn) if lot.produced and not inter else {}
        els = list(elements)
        if lot.produced:
            rate = {c: {} for c in CATEGORIES} if inter else self._rate_of(rates, lot.account, els)
        else:
            rate = self._rate_of({}, f"origin:{lot.origin or 'none'}", els)
        out: dict[str, Any] = {}
        for el in els:
            have = lot.elements.get(el, 0.0)
            if have <= 0:
                out[el] = {"pre_consumer": None, "post_consumer": None, "total": None, "element_kg": 0.0}
                continue
            pre, post = rate["pre_consumer"].get(el, 0.0), rate["post_consumer"].get(el, 0.0)
            out[el] = {"pre_consumer": pre, "post_consumer": post, "total": pre + post, "element_kg": have}
        return {"model_id": lot.model_id, "kind": lot.kind}, out


def _shares(t: dict[str, list[float]]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for el, (have, pre, post) in t.items():
        out[el] = ({"pre_consumer": pre / have, "post_consumer": post / have, "total": (pre + post) / have,
                    "element_kg": have, "recycled_kg": pre + post} if have > 0 else
                   {"pre_consumer": None, "post_consumer": None, "total": None, "element_kg": 0.0, "recycled_kg": 0.0})
    return out
