"""Questions asked of the ledger: lineage, recall, custody, responsible sourcing, outflows, recycled content.

* :meth:`TraceQueries.lineage` — every lot upstream of a pack with its origin, and the share of each
  element by country of origin and by country of each processing stage (due diligence, dependency).
* :meth:`TraceQueries.recall` — every pack downstream of a lot, a site or a supplier, with its holder.
* :meth:`TraceQueries.custody` — where a pack is now and the chain of holders.
* :meth:`TraceQueries.sourcing_risks` — flagged origins (a configurable list with reason and source)
  in a pack, with the share per element; :meth:`TraceQueries.flagged_packs` for every pack affected.
* :meth:`TraceQueries.outflows` — as of a date, packs that changed country without a shipment record, moved
  faster than any shipment could, left a region without an export record or before end of life, and packs
  silent for longer than their own reporting rhythm allows (:mod:`.outflows`): a report an authority can
  act on, filtered and paged.
* :meth:`TraceQueries.recycled_content` — Art. 8 recycled content per pack or per model, plant and
  year under the chosen allocation rule, compared with the 2031 and 2036 minimums.

Lineage and recall are recursive SQL queries over ``trace_lot_edges`` (SQLite and PostgreSQL both
run ``WITH RECURSIVE``), read through :mod:`batteryloop.store.trace_queries`; the shares are computed in Python over the small upstream graph.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson

from ..errors import InvalidData, NotFound
from ..reference import References, eu_cahra_list
from ..store import trace_queries as repo
from ..store.db import Store
from ..store.fastread import AutocommitConnections
from .custody import DEFAULT_REGIONS, custody_history
from .outflows import FINDING_KINDS, OutflowParams, parse_time, sort_key, time_text
from .outflows import select as select_findings
from .events import RECYCLED_CONTENT_ELEMENTS
from .massbalance import RULES, Edge, Lot, MaterialGraph, aggregate, recycled_content, shares


def count_holders(holders: Iterable[str | None]) -> dict[str, int]:
    """Packs per holder, by name (a pack without a holder counts as "unknown"): a recall's ``holders``."""
    counts = Counter(holders)  # counted in C
    for h in [h for h in counts if not h]:
        counts["unknown"] += counts.pop(h)
    return dict(sorted(counts.items()))


@dataclass(frozen=True)
class RiskFlag:
    """An origin flagged as conflict-affected or high-risk: by country, or by site."""

    reason: str
    source: str
    country: str | None = None
    site: str | None = None

    def matches(self, lot: Mapping[str, Any]) -> bool:
        if self.site is not None:
            return lot.get("origin_site") == self.site
        return self.country is not None and lot.get("origin_country") == self.country


DEFAULT_RISK_FLAGS: tuple[RiskFlag, ...] = tuple(
    RiskFlag(country=country, reason=reason,
             source=f"EU indicative list of conflict-affected and high-risk areas (CAHRA), "
                    f"{eu_cahra_list.CITATION.publisher}, {eu_cahra_list.CITATION.url} — demo default, unverified; "
                    "supply your own list")
    for country, reason in eu_cahra_list.FLAGGED_COUNTRIES.items())
"""A configurable list: pass your own to :class:`TraceQueries`."""


def _row_lot(r: Any) -> Lot:
    return Lot(id=r.id, mass_kg=r.mass_kg, elements_kg=orjson.loads(r.elements), origin_type=r.origin_type,
               producer=r.producer, site=r.site, produced_at=r.produced_at, kind=r.kind, model_id=r.model_id,
               origin_country=r.origin_country, origin_site=r.origin_site, site_country=r.site_country)


def attribute(graph: MaterialGraph, root: str) -> dict[str, dict[str, float]]:
    """For each lot upstream of ``root``, the fraction of each of root's elements that came through it.

    Each element is followed backwards through every edge in proportion to the element mass the
    edge carried. Sources (lots with an origin) end the walk.
    """
    order = graph.topological()
    frac: dict[str, dict[str, float]] = {root: {el: 1.0 for el in graph.lots[root].elements_kg}}
    for lid in reversed(order):
        f = frac.get(lid)
        if not f:
            continue
        edges = graph.inputs.get(lid) or ()
        if not edges:
            continue
        carried = [(e, graph.brought(e)) for e in edges]
        for el, share in f.items():
            tot = sum(b.get(el, 0.0) for _, b in carried)
            if tot <= 0:
                continue
            for e, b in carried:
                v = b.get(el, 0.0)
                if v > 0:
                    d = frac.setdefault(e.input, {})
                    d[el] = d.get(el, 0.0) + share * v / tot
    return frac


KEPT_SETTINGS = ("mass_balance", "year", "proportional")
"""(rule, period, allocation) under which the kept per-account sums (:mod:`.mb_summary`) answer."""


class TraceQueries:
    def __init__(self, store: Store, *, risk_flags: Sequence[RiskFlag] = DEFAULT_RISK_FLAGS,
                 regions: Mapping[str, Iterable[str]] | None = None, refs: References | None = None) -> None:
        self.store = store
        self.risk_flags = tuple(risk_flags)
        self.regions = {k: frozenset(v) for k, v in (regions or DEFAULT_REGIONS).items()}
        self.refs = refs or References.default()
        self._outflow_cache: dict[Any, tuple[int, list[dict[str, Any]]]] = {}
        # PostgreSQL: lineage and recall as one statement each, one round trip (store.trace_queries)
        self._walks = None if store.is_sqlite else AutocommitConnections(store, options=repo.WALK_SESSION_OPTIONS)
        # the material graph and every lot's recycled content of the latest ledger state, per rule: the pilot
        # writes the balance into the passports and its report states it, from one computation
        self._recycled_cache: dict[Any, tuple[MaterialGraph, dict[str, Any]]] = {}

    # ------------------------------------------------------------------ lineage
    def _upstream(self, pack_id: str) -> tuple[MaterialGraph, dict[str, Any]]:
        if self._walks is not None:
            rows = repo.lineage_rows(self._walks, pack_id)
            edges = [(r[0], r[16], r[17]) for r in rows if r[16] is not None]
            rows = list({r[0]: r for r in rows}.values())  # a lot row per input edge: each lot once
        else:
            with self.store.read() as conn:
                rows = repo.upstream_lots(conn, pack_id)
                edges = repo.upstream_edges(conn, pack_id)
        if not rows:
            raise NotFound(f"no lot or pack with id {pack_id!r} in the ledger")
        lots = []
        extra = {}
        for (lid, kind, mass, els, material, model_id, otype, ocountry, osite, certified_by, producer,
             site_country, site, produced_at, event_id, stage, *_) in rows:
            lots.append(Lot(id=lid, mass_kg=mass, elements_kg=orjson.loads(els), origin_type=otype, producer=producer,
                            site=site, produced_at=produced_at, kind=kind, model_id=model_id,
                            origin_country=ocountry, origin_site=osite, site_country=site_country))
            extra[lid] = {"material": material, "stage": stage, "certified_by": certified_by, "event_id": event_id}
        graph = MaterialGraph.build(lots, [Edge(o, i, m) for o, i, m in edges])
        return graph, extra

    def lineage(self, pack_id: str) -> dict[str, Any]:
        """Every lot upstream of a pack, its origin, and element shares by origin and processing country."""
        graph, extra = self._upstream(pack_id)
        frac = attribute(graph, pack_id)
        root = graph.lots[pack_id]
        lots = []
        by_origin: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        by_stage: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
        for lid, f in frac.items():
            lot = graph.lots[lid]
            x = extra[lid]
            lots.append({"id": lid, "kind": lot.kind, "material": x["material"], "stage": x["stage"],
                         "producer": lot.producer, "site": lot.site, "site_country": lot.site_country,
                         "produced_at": lot.produced_at, "origin_type": lot.origin_type,
                         "origin_country": lot.origin_country, "origin_site": lot.origin_site,
                         "certified_by": x["certified_by"], "element_share": {k: round(v, 6) for k, v in f.items()}})
            if lot.origin_type is not None:
                for el, v in f.items():
                    by_origin[el][f"{lot.origin_country}:{lot.origin_type}"] += v
            elif lid != pack_id:
                for el, v in f.items():
                    by_stage[x["stage"]][el][lot.site_country] += v
        lots.sort(key=lambda d: (d["produced_at"], d["id"]))
        return {
            "pack": pack_id, "model_id": root.model_id, "elements_kg": root.elements_kg,
            "lots": lots,
            "origin_share": {el: {k: round(v, 6) for k, v in sorted(d.items())} for el, d in sorted(by_origin.items())},
            "processing_share": {st: {el: {k: round(v, 6) for k, v in sorted(c.items())} for el, c in sorted(d.items())}
                                 for st, d in sorted(by_stage.items())},
        }

    # ------------------------------------------------------------------- recall
    def recall(self, key: str, by: str = "lot", exhaustive: bool = False,
               through_recycling: bool = True, *, limit: int | None = None, offset: int = 0,
               method: str = "jumps") -> dict[str, Any]:
        """Every pack containing material from a lot, a site (origin or production site) or a supplier.

        ``exhaustive`` walks every edge, modules included, instead of jumping over the module level.
        ``through_recycling`` (the default) follows the material through recycling: packs → black mass →
        recovered lots → the later cathodes and packs made with them. False stops at recovered lots (and any
        other lot with an origin but where the recall starts), as lineage and the mass balance do: the
        first-life packs only — bounded by the lot's own consumers, not by how many recycling generations the
        ledger holds.

        Through recycling the walk goes over lots and the jumps over consumed packs
        (:mod:`batteryloop.store.trace_reach`, ``method="jumps"``, the default); ``method="walk"`` walks every
        arc as before (the same packs: tested). ``limit``: one page of packs by id, from ``offset``, with
        ``count`` the number of all packs and ``next_offset`` (``None`` on the last page); a page answer has
        no ``holders`` (that would read every pack's custody, which is what a page spares).
        """
        if by not in repo.RECALL_BY:
            raise InvalidData(f"recall by {by!r}: use lot, site or supplier",
                              [{"field": "by", "rule": "enum", "message": "by: one of lot, site, supplier", "value": by}])
        if method not in ("jumps", "walk"):
            raise InvalidData(f"recall method {method!r}: use jumps or walk",
                              [{"field": "method", "rule": "enum", "message": "method: jumps or walk", "value": method}])
        if limit is not None and limit < 1 or offset < 0:
            raise InvalidData(f"recall page: limit {limit} and offset {offset} (limit at least 1, offset at least 0)",
                              [{"field": "limit" if limit is not None and limit < 1 else "offset", "rule": "minimum",
                                "message": "limit: at least 1; offset: at least 0",
                                "value": limit if limit is not None and limit < 1 else offset}])
        if offset > MAX_RECALL_OFFSET:
            raise InvalidData(f"recall page: offset {offset} is past any ledger (at most {MAX_RECALL_OFFSET})",
                              [{"field": "offset", "rule": "maximum", "value": offset,
                                "message": f"offset: at most {MAX_RECALL_OFFSET}"}])
        total: int | None = None
        if through_recycling and not exhaustive and method == "jumps":
            if self._walks is not None:
                got = repo.recall_via_jumps(repo.pg_runner(self._walks), "postgresql", key, by, limit, offset)
            else:
                with self.store.read() as conn:
                    got = repo.recall_via_jumps(repo.sqlite_runner(conn), conn.dialect.name, key, by, limit, offset)
            if got is None:
                raise NotFound(f"no lot with id {key!r} in the ledger")
            rows, total = got
        elif self._walks is not None and not exhaustive:
            got_rows = repo.recall_rows(self._walks, key, by, through_recycling)
            if got_rows is None:
                raise NotFound(f"no lot with id {key!r} in the ledger")
            rows = got_rows
        else:
            with self.store.read() as conn:
                if by == "lot" and not repo.lot_exists(conn, key):
                    raise NotFound(f"no lot with id {key!r} in the ledger")
                rows = repo.recall_packs(conn, key, by, exhaustive, through_recycling=through_recycling)
        if limit is not None and total is None:  # the walks find every pack: the page is cut here
            total = len(rows)
            rows = rows[offset:offset + limit]
        # every form above gives rows of exactly these 8 columns (thousands of them: no per-row work beyond the dict)
        packs = [{"pack": a, "model_id": b, "plant": c, "plant_country": d, "produced_at": e, "holder": f,
                  "country": g, "status": h} for a, b, c, d, e, f, g, h in rows]
        out: dict[str, Any] = {"by": by, "key": key, "through_recycling": through_recycling, "packs": packs,
                               "count": len(packs) if total is None else total}
        if limit is not None:
            nxt = offset + limit
            out.update(offset=offset, limit=limit, next_offset=nxt if nxt < out["count"] else None)
            return out
        out["holders"] = count_holders(map(itemgetter(5), rows))
        return out

    # ------------------------------------------------------------------ custody
    def _chain_bodies(self, subject: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            bodies = repo.chain_bodies(conn, subject)
        return [orjson.loads(b) for b in bodies]

    def custody(self, subject: str) -> dict[str, Any]:
        """Where a pack (or module, lot) is now and the chain of holders."""
        with self.store.read() as conn:
            cur = repo.custody(conn, subject)
        bodies = self._chain_bodies(subject)
        if not bodies:
            raise NotFound(f"no events for subject {subject!r}")
        history = custody_history(subject, bodies)
        holders: list[dict[str, Any]] = []
        for h in history:
            if not holders or holders[-1]["holder"] != h["holder"]:
                holders.append({"holder": h["holder"], "since": h["at"], "event_id": h["event_id"]})
        return {"subject": subject, "current": cur, "holders": holders,
                "history": history}

    # ---------------------------------------------------- responsible sourcing
    def sourcing_risks(self, pack_id: str) -> dict[str, Any]:
        """Flagged origins in a pack, with the share of each element that comes from them."""
        lin = self.lineage(pack_id)
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for lot in lin["lots"]:
            if lot["origin_type"] is None:
                continue
            for flag in self.risk_flags:
                if flag.matches(lot):
                    k = (flag.country or "", flag.site or "")
                    item = found.setdefault(k, {"country": flag.country, "site": flag.site, "reason": flag.reason,
                                                "source": flag.source, "lots": [], "element_share": defaultdict(float)})
                    item["lots"].append(lot["id"])
                    for el, v in lot["element_share"].items():
                        item["element_share"][el] += v
        flags = []
        for item in found.values():
            item["element_share"] = {el: round(v, 6) for el, v in sorted(item["element_share"].items())}
            flags.append(item)
        return {"pack": pack_id, "flagged": bool(flags), "flags": flags}

    def flagged_packs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Every pack containing material from a flagged origin, with the share per element."""
        packs: set[str] = set()
        for flag in self.risk_flags:
            with self.store.read() as conn:
                lots = repo.lots_of_origin(conn, site=flag.site, country=flag.country)
            for lot in lots:
                packs.update(p["pack"] for p in self.recall(lot)["packs"])
        out = []
        for p in sorted(packs)[:limit]:
            out.append(self.sourcing_risks(p))
        return out

    # ------------------------------------------------------------------ outflows
    def outflows(self, params: OutflowParams | None = None, *, regions: Mapping[str, Iterable[str]] | None = None,
                 workers: int = 1) -> dict[str, Any]:
        """The outflow report as of a date (default: the last event in the ledger): every pack's events
        replayed up to it and checked by :func:`.outflows.pack_findings`, then filtered and paged
        (:func:`.outflows.select`). The answer states the as-of date, where it came from, and every
        parameter. The findings of the whole ledger are kept for the same ledger state, as-of date and
        rules, so that paging and filtering do not replay it again. ``workers`` > 1 replays the packs in that
        many processes (the pilot's report on a big ledger)."""
        p = params or OutflowParams()
        regs = {k: frozenset(v) for k, v in (regions or self.regions).items()}
        with self.store.read() as conn:
            mark, last_at = repo.ledger_mark(conn)
        if p.as_of is not None:
            as_of, source = p.as_of, "given"
        elif last_at is not None:
            as_of, source = parse_time(last_at), "last_event"
        else:
            as_of, source = dt.datetime.now(dt.UTC), "clock (the ledger is empty)"
        key = (mark, time_text(as_of), p.silence, p.min_transit_hours, tuple(sorted((k, tuple(sorted(v)))
                                                                                   for k, v in regs.items())))
        hit = self._outflow_cache.get(key)
        if hit is None:
            hit = self._all_findings(as_of, regs, p, workers)
            self._outflow_cache = {key: hit}  # one entry: the latest ledger state
        packs, findings = hit
        return {"as_of": as_of.isoformat(), "as_of_source": source, "parameters": p.stated(as_of, source),
                "regions": {k: sorted(v) for k, v in regs.items()}, "kinds": dict(FINDING_KINDS),
                "packs_checked": packs, **select_findings(findings, p)}

    def _all_findings(self, as_of: dt.datetime, regs: Mapping[str, frozenset[str]], p: OutflowParams,
                      workers: int = 1) -> tuple[int, list[dict[str, Any]]]:
        """Every pack's findings; ``workers`` > 1 replays ranges of packs in that many processes (big ledgers)."""
        if workers > 1 and ":memory:" not in self.store.url:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            from ._parallel import _init_outflows, outflow_range

            with self.store.read() as conn:
                ids = repo.pack_ids(conn)
            step = max(1, -(-len(ids) // (workers * 4)))
            ranges = [(ids[i], ids[min(i + step, len(ids)) - 1], as_of, regs, p) for i in range(0, len(ids), step)]
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
            packs, findings = 0, []
            with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_outflows,
                                     initargs=(self.store.url, self.store.sqlite_cache_mib)) as pool:
                for n, found in pool.map(outflow_range, ranges):
                    packs += n
                    findings += found
        else:
            from ._parallel import replay_packs

            packs, findings = replay_packs(self.store, None, None, as_of, regs, p)
        findings.sort(key=sort_key)
        return packs, findings

    # ---------------------------------------------------------- recycled content
    def _graph(self) -> MaterialGraph:
        with self.store.read() as conn:
            lots = [_row_lot(r) for r in repo.all_lots(conn)]
            edges = [Edge(o, i, m) for o, i, m in repo.all_edges(conn)]
        return MaterialGraph.build(lots, edges)

    def forget_balances(self) -> None:
        """Drop the kept material graph and recycled content (a big ledger's are hundreds of MB)."""
        self._recycled_cache = {}

    def _recycled(self, rule: str, period: str, allocation: str) -> tuple[MaterialGraph, dict[str, Any]]:
        """The ledger's material graph and every lot's recycled content under ``rule`` (InvalidData names a
        rule that is unknown or cannot be computed)."""
        if rule not in RULES:
            raise InvalidData(f"unknown allocation rule {rule!r}", [{"field": "rule", "rule": "enum", "value": rule,
                              "message": f"rule: one of {', '.join(RULES)}"}])
        with self.store.read() as conn:
            mark = repo.ledger_mark(conn)
        key = (mark, rule, period, allocation)
        hit = self._recycled_cache.get(key)
        if hit is not None:
            return hit
        graph = self._graph()
        try:
            recs = recycled_content(graph, rule, period=period, allocation=allocation)  # type: ignore[arg-type]
        except ValueError as exc:
            raise InvalidData(str(exc), [{"field": "rule", "rule": "computable", "value": rule,
                                          "message": str(exc)}]) from None
        # kept for the same ledger state (every append moves the mark); the latest rules' results only
        self._recycled_cache = {k: v for k, v in self._recycled_cache.items() if k[0] == mark}
        self._recycled_cache[key] = (graph, recs)
        return graph, recs

    def recycled_content(self, *, model_id: str | None = None, year: int | None = None, plant: str | None = None,
                         pack_id: str | None = None, rule: str = "mass_balance", period: str = "year",
                         allocation: str = "proportional", elements: Sequence[str] = RECYCLED_CONTENT_ELEMENTS,
                         incremental: bool = True) -> dict[str, Any]:
        """Art. 8 recycled content of one pack, or of a model's packs of a plant and year.

        Under the default settings (mass balance, yearly accounts, proportional allocation) and ``incremental``
        the figures come from the per-account sums kept as the ledger grows (:mod:`.mb_summary`: no pass over
        the ledger); otherwise from the whole material graph (the same figures, to rounding)."""
        if pack_id is None and model_id is None:
            raise InvalidData("give a pack or a battery model", [{"field": "model_id", "rule": "required",
                              "value": None, "message": "model_id: required when no pack is given"}])
        settings = {"rule": rule, "period": period, "allocation": allocation, "account_scope": ACCOUNT_SCOPE}
        if incremental and (rule, period, allocation) == ("mass_balance", "year", "proportional"):
            return self._recycled_content_kept(model_id, year, plant, pack_id, settings, elements)
        graph, recs = self._recycled(rule, period, allocation)
        tracker = self.refs.tracker()
        mins = tracker.get("eu_2023_1542", "recycled_content_min_fraction")
        if pack_id is not None:
            lot = graph.lots.get(pack_id)
            if lot is None:
                raise NotFound(f"no pack with id {pack_id!r} in the ledger")
            res = shares(lot, recs[pack_id], elements)
            return {"pack": pack_id, "model_id": lot.model_id, "settings": settings, "elements": res,
                    "targets": _compare(res, mins, tracker), "references": [v.model_dump() for v in tracker.used()]}
        packs = [lt for lt in graph.lots.values() if lt.kind == "pack" and lt.model_id == model_id
                 and (year is None or lt.produced_at[:4] == str(year)) and (plant is None or lt.site == plant)]
        if not packs:
            raise NotFound(f"no packs of model {model_id!r}" + (f" made in {year}" if year else "") +
                           (f" at {plant}" if plant else "") + " in the ledger")
        res = aggregate(packs, recs, elements)
        by_plant: dict[str, list[Lot]] = defaultdict(list)
        for p in packs:
            by_plant[p.site].append(p)
        return {"model_id": model_id, "year": year, "plant": plant, "packs": len(packs), "settings": settings,
                "elements": res, "targets": _compare(res, mins, tracker),
                "by_plant": {site: aggregate(ps, recs, elements) for site, ps in sorted(by_plant.items())},
                "references": [v.model_dump() for v in tracker.used()]}

    def _recycled_content_kept(self, model_id: str | None, year: int | None, plant: str | None, pack_id: str | None,
                               settings: dict[str, str], elements: Sequence[str]) -> dict[str, Any]:
        from .mb_summary import MassBalanceSummary

        summary = MassBalanceSummary(self.store)
        tracker = self.refs.tracker()
        mins = tracker.get("eu_2023_1542", "recycled_content_min_fraction")
        try:
            if pack_id is not None:
                got = summary.pack(pack_id, elements)
                if got is None:
                    raise NotFound(f"no pack with id {pack_id!r} in the ledger")
                lot, res = got
                return {"pack": pack_id, "model_id": lot["model_id"], "settings": settings, "elements": res,
                        "targets": _compare(res, mins, tracker),
                        "references": [v.model_dump() for v in tracker.used()]}
            assert model_id is not None
            agg = summary.model_year(model_id, year, plant, elements)
        except ValueError as exc:
            raise InvalidData(str(exc), [{"field": "rule", "rule": "computable", "value": settings["rule"],
                                          "message": str(exc)}]) from None
        if agg is None:
            raise NotFound(f"no packs of model {model_id!r}" + (f" made in {year}" if year else "") +
                           (f" at {plant}" if plant else "") + " in the ledger")
        return {"model_id": model_id, "year": year, "plant": plant, "packs": agg["packs"], "settings": settings,
                "elements": agg["elements"], "targets": _compare(agg["elements"], mins, tracker),
                "by_plant": agg["by_plant"], "references": [v.model_dump() for v in tracker.used()]}

    def _kept(self, rule: str, period: str, allocation: str, incremental: bool) -> bool:
        """Whether the kept per-account sums (:mod:`.mb_summary`) answer: the default settings, asked for."""
        return incremental and (rule, period, allocation) == KEPT_SETTINGS

    def recycled_content_table(self, *, rule: str = "mass_balance", period: str = "year",
                               allocation: str = "proportional",
                               elements: Sequence[str] = RECYCLED_CONTENT_ELEMENTS,
                               incremental: bool = True) -> dict[str, Any]:
        """Recycled content of every model's packs by production year: from the kept sums under the default
        settings and ``incremental`` (no pass over the ledger), else from one pass over it."""
        tracker = self.refs.tracker()
        mins = tracker.get("eu_2023_1542", "recycled_content_min_fraction")
        rows = []
        if self._kept(rule, period, allocation, incremental):
            from .mb_summary import MassBalanceSummary

            by_year: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
            try:
                for g in MassBalanceSummary(self.store).groups(None, None, None, elements, with_packs=False):
                    by_year[(g["model_id"], g["year"])].append(g)
            except ValueError as exc:
                raise InvalidData(str(exc), [{"field": "rule", "rule": "computable", "value": rule,
                                              "message": str(exc)}]) from None
            for (model, y), gs in sorted(by_year.items()):
                res = _sum_groups(gs, elements)
                rows.append({"model_id": model, "year": y, "packs": sum(g["count"] for g in gs), "elements": res,
                             "targets": _compare(res, mins, tracker)})
            return {"settings": {"rule": rule, "period": period, "allocation": allocation}, "rows": rows,
                    "minimums": mins, "references": [v.model_dump() for v in tracker.used()]}
        graph, recs = self._recycled(rule, period, allocation)
        groups: dict[tuple[str, str], list[Lot]] = defaultdict(list)
        for lt in graph.lots.values():
            if lt.kind == "pack" and lt.model_id:
                groups[(lt.model_id, lt.produced_at[:4])].append(lt)
        for (model, year), packs in sorted(groups.items()):
            res = aggregate(packs, recs, elements)
            rows.append({"model_id": model, "year": int(year), "packs": len(packs), "elements": res,
                         "targets": _compare(res, mins, tracker)})
        return {"settings": {"rule": rule, "period": period, "allocation": allocation}, "rows": rows,
                "minimums": mins, "references": [v.model_dump() for v in tracker.used()]}

    def recycled_content_groups(self, *, year: int | None = None, model_id: str | None = None,
                                plant: str | None = None, rule: str = "mass_balance", period: str = "year",
                                allocation: str = "proportional",
                                elements: Sequence[str] = RECYCLED_CONTENT_ELEMENTS,
                                incremental: bool = True) -> list[dict[str, Any]]:
        """Art. 8 declares recycled content per battery model, manufacturing plant and year: the passport
        fields of every (model, plant, year) group of the packs made in ``year`` (every year when None;
        optionally one model or plant) — each metal's whole share and its split into pre-consumer
        (manufacturing waste) and post-consumer shares, as the ledger's recycled origins record them — with
        the group's pack ids. Under the default settings and ``incremental`` from the kept sums (no pass over
        the ledger), else from one pass over it. Sorted by year, model, then plant."""
        if self._kept(rule, period, allocation, incremental):
            from .mb_summary import MassBalanceSummary

            try:
                kept = MassBalanceSummary(self.store).groups(year, model_id, plant, elements)
            except ValueError as exc:
                raise InvalidData(str(exc), [{"field": "rule", "rule": "computable", "value": rule,
                                              "message": str(exc)}]) from None
            return [{"model_id": g["model_id"], "plant": g["plant"], "year": g["year"], "packs": g["packs"],
                     "fields": _passport_fields(g["elements"], rule, split=True)} for g in kept]
        graph, recs = self._recycled(rule, period, allocation)
        groups: dict[tuple[int, str, str], list[Lot]] = defaultdict(list)
        for lt in graph.lots.values():
            if (lt.kind == "pack" and lt.model_id and (year is None or lt.produced_at[:4] == str(year))
                    and (model_id is None or lt.model_id == model_id) and (plant is None or lt.site == plant)):
                groups[(int(lt.produced_at[:4]), lt.model_id, lt.site)].append(lt)
        out = []
        for (y, model, site), packs in sorted(groups.items()):
            res = aggregate(packs, recs, elements)
            out.append({"model_id": model, "plant": site, "year": y, "packs": sorted(p.id for p in packs),
                        "fields": _passport_fields(res, rule, split=True)})
        return out

    def passport_recycled_content(self, pack_id: str | None = None, rule: str = "mass_balance", *,
                                  model_id: str | None = None, year: int | None = None, plant: str | None = None,
                                  split: bool = False, **kw: Any) -> dict[str, Any]:
        """The passport's recycled-content fields (``passport.model.RecycledContent``: ``cobalt_pct``,
        ``lithium_pct``, ``nickel_pct``, ``lead_pct``, ``allocation_rule``) for one pack, or for a model's
        packs of a year and plant (Art. 8 declares per model, plant and year). ``split`` adds the
        pre- and post-consumer shares (``cobalt_pre_consumer_pct`` …), the passport's split of each share."""
        r = self.recycled_content(pack_id=pack_id, model_id=model_id, year=year, plant=plant, rule=rule, **kw)
        return _passport_fields(r["elements"], rule, split=split)


RECALL_PAGE_DEFAULT = 1_000
"""The recall API's page when the caller names none: a recall's cost is the packs it reads (two index lookups per
pack for its row and custody), so a 15,000-pack mine lot's whole answer is 15 times a page's work and response
(docs/benchmarks.md, registry "Third/Fourth pass"); ``all=true`` asks for the whole answer deliberately."""
MAX_RECALL_OFFSET = 2**53 - 1
"""The largest recall page offset: JSON's exact integers (``next_offset`` stays exact for any client), far inside
the 64-bit OFFSET of SQLite and PostgreSQL (a larger one was a 500 from the SQLite driver)."""

_METAL_NAMES = {"Co": "cobalt", "Li": "lithium", "Ni": "nickel", "Pb": "lead"}


ACCOUNT_SCOPE = "producer, site, period"
"""What one mass-balance account pools (docs/trace.md "Account scope"): every model made at a site shares it."""


def _passport_fields(elements: Mapping[str, Mapping[str, Any]], rule: str, *, split: bool = False) -> dict[str, Any]:
    """Shares (fractions) per element as the passport's percent fields, rounded to 0.01 %; an element the packs
    do not contain (no total) is left out. The pre- and post-consumer parts are rounded so that they add up to
    the rounded total (:func:`split_rounded`): an export that carries only the parts (the Battery Pass) gives an
    importer the same total."""
    out: dict[str, Any] = {"allocation_rule": rule}
    for el, v in elements.items():
        if v["total"] is None:
            continue
        n = _METAL_NAMES[el]
        if split:
            tot, pre, post = split_rounded(v["pre_consumer"], v["post_consumer"], v["total"])
            out[f"{n}_pct"], out[f"{n}_pre_consumer_pct"], out[f"{n}_post_consumer_pct"] = tot, pre, post
        else:
            out[f"{n}_pct"] = round(v["total"] * 100, 2)
    return out


def split_rounded(pre: float, post: float, total: float | None = None) -> tuple[float, float, float]:
    """(total, pre, post) in percent to 0.01 %, from shares (fractions): the total rounded, and the parts by the
    largest remainder — each part its floor, the hundredths the floors leave short of the rounded total going to
    the part with the larger remainder first (post-consumer on a tie) — so that pre + post == total exactly and
    each part is within 0.01 % of its exact value."""
    exact = (pre * 10_000, post * 10_000)
    whole = round((pre + post if total is None else total) * 10_000)
    floors = [math.floor(x + 1e-9) for x in exact]
    short = whole - sum(floors)
    for i in sorted((1, 0), key=lambda i: -(exact[i] - floors[i]))[:max(0, short)]:
        floors[i] += 1
    while short < 0 and any(floors):  # never with total = pre + post; a given total rounding below both floors
        i = 0 if floors[0] >= floors[1] else 1
        floors[i] -= 1
        short += 1
    return whole / 100, floors[0] / 100, floors[1] / 100


def _sum_groups(groups: Iterable[Mapping[str, Any]], elements: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Groups' shares summed (each weighted by its element mass), as one group's would be."""
    out: dict[str, dict[str, float | None]] = {}
    for el in elements:
        have = pre = post = 0.0
        for g in groups:
            v = g["elements"][el]
            if v["total"] is not None:
                have += v["element_kg"]
                pre += v["pre_consumer"] * v["element_kg"]
                post += v["post_consumer"] * v["element_kg"]
        out[el] = ({"pre_consumer": pre / have, "post_consumer": post / have, "total": (pre + post) / have,
                    "element_kg": have, "recycled_kg": pre + post} if have > 0 else
                   {"pre_consumer": None, "post_consumer": None, "total": None, "element_kg": 0.0, "recycled_kg": 0.0})
    return out


def _compare(res: Mapping[str, Mapping[str, Any]], mins: Mapping[str, Mapping[str, float]], tracker: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for since, table in sorted(mins.items()):
        row = {}
        for el, v in res.items():
            if el not in table or v["total"] is None:
                continue
            need = tracker.get("eu_2023_1542", "recycled_content_min_fraction", since, el)
            row[el] = {"minimum": need, "actual": round(v["total"], 6), "meets": v["total"] + 1e-12 >= need}
        out[since] = row
    return out
