"""The traceability use cases behind one façade, for the API routes, the CLI and the demo.

:class:`TraceService` holds a :class:`~batteryloop.trace.ledger.Ledger` (append, ingest, verify) and
:class:`~batteryloop.trace.queries.TraceQueries` (lineage, recall, custody, sourcing, outflows,
recycled content), configured by :class:`TraceSettings` — the recycled-content allocation rule, the
mass-balance period and allocation, the watched regions, the outflow silence rule and transit time, and the
responsible-sourcing flags are all settings, since the Commission's method is not adopted yet.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..access import Caller
from ..reference import References
from ..store.db import Store
from .custody import DEFAULT_REGIONS
from .keys import Signer
from .outflows import (
    MIN_TRANSIT_HOURS,
    REMOVED_DAYS,
    SILENCE_DEFAULT_DAYS,
    SILENCE_FLOOR_DAYS,
    SILENCE_K,
    OutflowParams,
    SilenceRule,
)
from .ledger import IngestReport, Ledger, SubmitResult
from .queries import DEFAULT_RISK_FLAGS, RiskFlag, TraceQueries
from .verify import VerifyReport


@dataclass
class TraceSettings:
    recycled_content_rule: str = "mass_balance"  # or "physical_segregation"
    mass_balance_period: str = "year"  # year / quarter / month
    mass_balance_allocation: str = "proportional"  # or "first_come"
    regions: Mapping[str, Iterable[str]] = field(default_factory=lambda: dict(DEFAULT_REGIONS))
    silent_days: float = SILENCE_DEFAULT_DAYS  # a pack with too few events for a rhythm (outflows.SilenceRule)
    silence_k: float = SILENCE_K
    silence_floor_days: float = SILENCE_FLOOR_DAYS
    removed_days: float = REMOVED_DAYS
    min_transit_hours: float = MIN_TRANSIT_HOURS
    risk_flags: Sequence[RiskFlag] = DEFAULT_RISK_FLAGS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TraceSettings:
        """``BATTERYLOOP_TRACE_RULE``, ``…_PERIOD``, ``…_ALLOCATION``, ``…_SILENT_DAYS``, ``…_SILENCE_K``,
        ``…_SILENCE_FLOOR_DAYS``, ``…_REMOVED_DAYS``, ``…_MIN_TRANSIT_HOURS``, ``…_REGIONS`` (``EU=DE,FR,…;KR=KR``)."""
        e = os.environ if env is None else env
        s = cls()
        s.recycled_content_rule = e.get("BATTERYLOOP_TRACE_RULE", s.recycled_content_rule)
        s.mass_balance_period = e.get("BATTERYLOOP_TRACE_PERIOD", s.mass_balance_period)
        s.mass_balance_allocation = e.get("BATTERYLOOP_TRACE_ALLOCATION", s.mass_balance_allocation)
        for name, attr in (("SILENT_DAYS", "silent_days"), ("SILENCE_K", "silence_k"),
                           ("SILENCE_FLOOR_DAYS", "silence_floor_days"), ("REMOVED_DAYS", "removed_days"),
                           ("MIN_TRANSIT_HOURS", "min_transit_hours")):
            if e.get(f"BATTERYLOOP_TRACE_{name}"):
                setattr(s, attr, float(e[f"BATTERYLOOP_TRACE_{name}"]))
        if e.get("BATTERYLOOP_TRACE_REGIONS"):
            regions = {}
            for part in e["BATTERYLOOP_TRACE_REGIONS"].split(";"):
                name, _, countries = part.partition("=")
                regions[name.strip()] = [c.strip().upper() for c in countries.split(",") if c.strip()]
            s.regions = regions
        return s


class TraceService:
    def __init__(self, store: Store, settings: TraceSettings | None = None, refs: References | None = None) -> None:
        self.store = store
        self.settings = settings or TraceSettings()
        self.ledger = Ledger(store)
        self.queries = TraceQueries(store, risk_flags=self.settings.risk_flags, regions=self.settings.regions,
                                    refs=refs)

    # ledger
    def submit(self, event: Mapping[str, Any], caller: Caller | None = None) -> SubmitResult:
        return self.ledger.submit(event, caller)

    def record(self, event: Mapping[str, Any], signer: Signer) -> SubmitResult:
        return self.ledger.record(event, signer)

    def ingest(self, events: Iterable[Mapping[str, Any] | str | bytes], caller: Caller | None = None,
               **kw: Any) -> IngestReport:
        return self.ledger.ingest(events, caller, **kw)

    def ingest_file(self, path: str | Path, caller: Caller | None = None, **kw: Any) -> IngestReport:
        return self.ledger.ingest_file(path, caller, **kw)

    def verify(self, *, subject: str | None = None, event_id: str | None = None,
               checkpoint: Mapping[str, Any] | None = None, workers: int = 1) -> VerifyReport:
        if event_id is not None:
            return self.ledger.verify_event(event_id)
        if subject is not None:
            rep = self.ledger.verify_chain(subject)
        else:
            rep = self.ledger.verify_store(checkpoint=checkpoint, workers=workers)
        # signatures prove who wrote each event; the custody rules, replayed, whether they had the right to
        rep.problems.extend(self.ledger.verify_policy(subject=subject).problems)
        return rep

    def verify_derived(self) -> VerifyReport:
        """Rebuild lots, edges, pack sources and custody from the signed events and compare with the tables."""
        return self.ledger.verify_derived()

    def chain(self, subject: str) -> list[dict[str, Any]]:
        return self.ledger.chain(subject)

    def event(self, event_id: str) -> dict[str, Any]:
        return self.ledger.get_event(event_id)

    # queries
    def lineage(self, pack_id: str) -> dict[str, Any]:
        return self.queries.lineage(pack_id)

    def recall(self, key: str, by: str = "lot") -> dict[str, Any]:
        return self.queries.recall(key, by)

    def custody(self, subject: str) -> dict[str, Any]:
        return self.queries.custody(subject)

    def sourcing_risks(self, pack_id: str) -> dict[str, Any]:
        return self.queries.sourcing_risks(pack_id)

    def silence_rule(self) -> SilenceRule:
        st = self.settings
        return SilenceRule(k=st.silence_k, floor_days=st.silence_floor_days, default_days=st.silent_days,
                           removed_days=st.removed_days)

    def outflow_params(self, **raw: Any) -> OutflowParams:
        """The outflow report's parameters from what a caller gave (strings or numbers; ``None`` for the node's
        settings), each checked: :class:`InvalidData` names a bad one."""
        if raw.get("min_transit_hours") is None:
            raw["min_transit_hours"] = self.settings.min_transit_hours
        return OutflowParams.parse(**raw, base=self.silence_rule())

    def outflows(self, params: OutflowParams | None = None, *, workers: int = 1, **raw: Any) -> dict[str, Any]:
        """The outflow report (:meth:`TraceQueries.outflows`): ``params``, or the raw values of
        :meth:`outflow_params` (``as_of``, ``k``, ``model``, ``kind``, ``limit``…); ``workers`` processes."""
        return self.queries.outflows(params if params is not None else self.outflow_params(**raw), workers=workers)

    def recycled_content(self, *, model_id: str | None = None, year: int | None = None, plant: str | None = None,
                         pack_id: str | None = None, rule: str | None = None) -> dict[str, Any]:
        s = self.settings
        return self.queries.recycled_content(model_id=model_id, year=year, plant=plant, pack_id=pack_id,
                                             rule=rule or s.recycled_content_rule, period=s.mass_balance_period,
                                             allocation=s.mass_balance_allocation)

    def recycled_content_table(self, rule: str | None = None) -> dict[str, Any]:
        """Recycled content of every model by production year (one pass over the ledger)."""
        s = self.settings
        return self.queries.recycled_content_table(rule=rule or s.recycled_content_rule, period=s.mass_balance_period,
                                                   allocation=s.mass_balance_allocation)

    def passport_recycled_content(self, pack_id: str | None = None, *, model_id: str | None = None,
                                  year: int | None = None, plant: str | None = None, split: bool = False
                                  ) -> dict[str, Any]:
        """The passport's recycled-content fields for one pack or a model's packs of a year and plant."""
        st = self.settings
        return self.queries.passport_recycled_content(
            pack_id, rule=st.recycled_content_rule, model_id=model_id, year=year, plant=plant, split=split,
            period=st.mass_balance_period, allocation=st.mass_balance_allocation)
