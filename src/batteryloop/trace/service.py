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
from typing import TYPE_CHECKING, Any

from ..access import Caller, Deny, Resource, decide, oversees
from ..errors import NotFound, deny
from ..reference import References
from ..store import rc_years as rc_years_repo
from ..store.db import Store, utcnow_iso
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
from .queries import ACCOUNT_SCOPE, DEFAULT_RISK_FLAGS, KEPT_SETTINGS, RiskFlag, TraceQueries
from .verify import VerifyReport

_APPLY_REFUSAL = ("you may update none of the passports asked for: a pack's Art. 8 recycled content is written "
                  "into its passport by the passport's economic operator (passport.update)")

if TYPE_CHECKING:
    from ..passport.service import PassportService


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

    @property
    def keeps_mass_balance(self) -> bool:
        """Whether recycled content under these settings is read from the kept per-account sums (:mod:`.mb_summary`)."""
        return (self.recycled_content_rule, self.mass_balance_period, self.mass_balance_allocation) == KEPT_SETTINGS

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
    def __init__(self, store: Store, settings: TraceSettings | None = None, refs: References | None = None,
                 passports: PassportService | None = None) -> None:
        self.store = store
        self.passports = passports  # recycled content is written into the packs' passports through it
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
        # signatures prove who wrote each event; the custody rules, replayed, whether they had the right to
        if subject is not None:
            rep = self.ledger.verify_chain(subject)
            rep.problems.extend(self.ledger.verify_policy(subject=subject).problems)
            return rep
        policy: list[VerifyReport] = []  # replayed here while worker processes check the events' signatures
        rep = self.ledger.verify_store(checkpoint=checkpoint, workers=workers,
                                       meanwhile=lambda: policy.append(self.ledger.verify_policy()))
        rep.problems.extend(policy[0].problems)
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

    def recall(self, key: str, by: str = "lot", through_recycling: bool = True, *, limit: int | None = None,
               offset: int = 0) -> dict[str, Any]:
        return self.queries.recall(key, by, through_recycling=through_recycling, limit=limit, offset=offset)

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

    def recycled_content_groups(self, year: int | None = None, *, model_id: str | None = None,
                                plant: str | None = None) -> list[dict[str, Any]]:
        """The Art. 8 figure of every (model, plant, year) group of packs, with their ids, under the node's
        settings (one ledger pass); ``apply_recycled_content`` writes them into passports."""
        st = self.settings
        return self.queries.recycled_content_groups(
            year=year, model_id=model_id, plant=plant, rule=st.recycled_content_rule,
            period=st.mass_balance_period, allocation=st.mass_balance_allocation)

    def apply_recycled_content(self, year: int | None, caller: Caller, *, model_id: str | None = None,
                               plant: str | None = None, groups: list[dict[str, Any]] | None = None,
                               executor: Any = None) -> dict[str, Any]:
        """Write Art. 8 recycled content into the passports of the packs made in ``year`` (every year in the
        ledger when None, still one pass): each pack gets the figure of its model, plant and year from the
        ledger's balance under the node's rule, period and allocation (``battery.recycled_content``).
        ``groups`` (from :meth:`recycled_content_groups`) saves the ledger pass when several operators apply
        the same balance; ``executor`` builds the new versions in worker processes (``update_passports``).

        Only the pack's own passport gets the figure: one that was superseded (repurposed, remanufactured) keeps
        the original battery's declaration read-only, and the passport that superseded it declares none (Art. 8
        declares recycled content for a battery made new; Art. 8(4) lifts the obligation for re-used, repurposed
        and remanufactured batteries). One new passport version for each passport whose figure changed, one transaction per
        production year, with a reason naming the year and the rule. Left as they are, and counted: passports
        that already hold the figure (``unchanged``), read-only ones (``read_only``: archived after recycling
        or superseded), packs whose passport is not on this node (``no_passport``) and passports ``caller``
        may not update (``not_permitted``, decided by :mod:`batteryloop.access`). The answer names the applied
        years a late transformation made stale (``stale_years``: :meth:`stale_recycled_content_years`); applying a
        year whole (no ``model_id``/``plant``) makes it current again once every passport its groups cover holds
        the figure (the caller's written now, other operators' written by them before: the last operator to apply
        clears it), unless an event was admitted after this apply began reading the ledger. A caller other than the
        authorities and the admin who may update none of the passports asked for — whether or not the year has
        packs of the model — gets one generic 403 that names no passport and no other party (a 404 for "no
        packs of that model that year" only to the authorities and the admin: a model's production years are
        its maker's volume)."""
        if self.passports is None:
            raise RuntimeError("this trace service has no passport service to write recycled content into "
                               "(build it with services.build_services)")
        st = self.settings
        overseer = oversees(caller)
        if caller.anonymous:
            raise deny(True, _APPLY_REFUSAL)
        whole = groups is None and not model_id and not plant  # every group of the year(s): the year is re-declared
        with self.store.read() as conn:  # the ledger as the groups read it: a later event's stale mark stays
            upto = rc_years_repo.last_gseq(conn)
        if groups is None:
            groups = self.recycled_content_groups(year, model_id=model_id, plant=plant)
        if not groups and (model_id or plant):
            if not overseer:  # whether a model was made in a year is its maker's volume: no 404 to others
                raise deny(caller.anonymous, _APPLY_REFUSAL)
            raise NotFound("no packs" + (f" of model {model_id!r}" if model_id else "")
                           + (f" made in {year}" if year is not None else "")
                           + (f" at {plant}" if plant else "") + " in the ledger")
        recs = self.passports.get_records([p for g in groups for p in g["packs"]])
        target = recs.get  # the pack's own passport: a passport that superseded it declares no Art. 8 figure

        patches: dict[str, tuple[int, dict[str, Any]]] = {}
        behind: set[int] = set()  # years with passports the caller may not update that lack the figure
        out_groups = []
        for g in groups:
            counts = {"packs": len(g["packs"]), "updated": 0, "unchanged": 0, "read_only": 0, "no_passport": 0,
                      "not_permitted": 0}
            for pid in g["packs"]:
                rec = target(pid)
                if rec is None:
                    counts["no_passport"] += 1  # a pack this node's ledger knows, whose passport lives elsewhere
                    continue
                d = decide(caller, "passport.update", Resource("passport", rec.id, operator=rec.economic_operator_id))
                if isinstance(d, Deny):
                    counts["not_permitted"] += 1
                    if not rec.archived and not rec.successor_id and rec.data.get("recycled_content") != g["fields"]:
                        behind.add(g["year"])  # another operator's passport not holding the figure yet
                elif rec.archived or rec.successor_id:
                    counts["read_only"] += 1
                elif rec.data.get("recycled_content") == g["fields"]:
                    counts["unchanged"] += 1
                else:
                    patches[rec.id] = (g["year"], {"recycled_content": g["fields"]})
                    counts["updated"] += 1
            out_groups.append({"model_id": g["model_id"], "plant": g["plant"], "year": g["year"],
                               "recycled_content": g["fields"], **counts})
        if not overseer and not any(g["packs"] - g["not_permitted"] - g["no_passport"] for g in out_groups):
            # the same generic refusal whether there were packs or not, naming no other party's passport
            raise deny(caller.anonymous, _APPLY_REFUSAL)
        versions = 0
        for y in sorted({y for y, _ in patches.values()}):  # one transaction per year: its reason names the year
            part = {pid: patch for pid, (py, patch) in patches.items() if py == y}
            versions += len(self.passports.update_passports(part, caller, reason=self.recycled_content_reason(y),
                                                            executor=executor))
        # the years applied; a year applied whole (every group, every passport written or left as it holds the
        # figure) is current again — the others a late event made stale stay so, and are named
        applied = {g["year"] for g in out_groups} | ({year} if year is not None and out_groups else set())
        # a year applied whole is current again once every passport its groups cover holds the figure (this
        # caller's written now, the others' written by their operators before): the last operator clears it
        fresh = {y for y in applied if whole and y not in behind}
        now = utcnow_iso()
        stale = self.store.run_write(lambda conn: (rc_years_repo.set_applied(conn, applied, now, fresh, upto),
                                                   rc_years_repo.years(conn))[1])
        return {"year": year, "settings": {"rule": st.recycled_content_rule, "period": st.mass_balance_period,
                                           "allocation": st.mass_balance_allocation, "account_scope": ACCOUNT_SCOPE},
                "groups": out_groups, "versions": versions, "reason": self.recycled_content_reason("<year>"),
                "stale_years": [{"year": y, "since": v[0], "event_id": v[1]} for y, v in sorted(stale.items())
                                if v[0] is not None]}

    def record_applied(self, years: Iterable[int]) -> None:
        """Record ``years`` as written into passports by another path than :meth:`apply_recycled_content` (the
        pilot's December reports), so that a late transformation marks them stale too."""
        now = utcnow_iso()
        self.store.run_write(lambda conn: rc_years_repo.set_applied(conn, list(years), now, ()))

    def stale_recycled_content_years(self) -> list[dict[str, Any]]:
        """The applied years whose figures a late transformation changed since (``year``, ``since``: when it was
        recorded, ``event_id``: the last such event): apply each again (``apply_recycled_content``)."""
        with self.store.read() as conn:
            return [{"year": y, "since": v[0], "event_id": v[1]} for y, v in sorted(rc_years_repo.years(conn).items())
                    if v[0] is not None]

    @staticmethod
    def apply_answer_for(rep: dict[str, Any], caller: Caller) -> dict[str, Any]:
        """:meth:`apply_recycled_content`'s answer as ``caller`` may read it over the API. A group's packs are its
        model's volume (``model.recycled_content.read``): the authorities and the admin see every group whole;
        anyone else the groups holding passports it may update, counting those passports only — a group of
        another company's packs is counted in ``groups_not_yours``, not shown (the node's own callers, the pilot,
        read the whole answer)."""
        if oversees(caller):
            return {**rep, "groups_not_yours": 0}
        shown = []
        for g in rep["groups"]:
            mine = g["packs"] - g["not_permitted"] - g["no_passport"]
            if mine > 0:
                shown.append({k: g[k] for k in ("model_id", "plant", "year", "recycled_content", "updated",
                                                "unchanged", "read_only")} | {"packs": mine})
        stale = [{"year": x["year"], "since": x["since"]} for x in rep.get("stale_years", ())]  # not others' events
        return {**rep, "groups": shown, "groups_not_yours": len(rep["groups"]) - len(shown), "stale_years": stale}

    def recycled_content_reason(self, year: int | str) -> str:
        """The reason of a passport version that writes a year's Art. 8 figure from the ledger (its settings)."""
        st = self.settings
        return (f"Art. 8 recycled content {year} from the ledger ({st.recycled_content_rule}, "
                f"{st.mass_balance_period}, {st.mass_balance_allocation})")
