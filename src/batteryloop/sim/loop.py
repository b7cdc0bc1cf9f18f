"""The closed-loop pilot, year by year, through the platform's own services.

:func:`run_pilot` plays ``years`` years of a consortium (mines and refiners; cathode and cell makers in
Korea, Japan and China; an automaker; a BaaS/swap operator; second-life integrators running city storage
hubs with solar; dismantlers and recyclers in Korea and the EU; an authority) for ``packs`` packs of three
models, deterministic for a ``seed``. Every fact goes through a service: passports are issued, updated
and change status through :class:`~batteryloop.passport.service.PassportService`; each material movement
and custody change is a lifecycle event signed by its actor and appended through the ledger
(:class:`~batteryloop.trace.service.TraceService`); retired packs are graded and routed by
:class:`~batteryloop.circular.service.CircularService`; the Japanese cell maker's certified carbon
footprint reaches the automaker over the Dataspace Protocol and the EU recycler (holding a dismantler
credential) pulls retired packs' passports from the automaker's connector (:mod:`batteryloop.sim.dataspace`). Nothing writes a table directly.

Each year:

1. production (Jan–Mar): the material chain builds the year's packs from mines and from the material
   recovered in earlier years; passports are issued (Apr), packs installed in vehicles of three usages
   (private cars, taxis — most on battery-as-a-service with swapping — and delivery vans); with the Lanzhou
   fleets' packs made too, the year's production accounts are complete and its Art. 8 balance final
   (:meth:`PilotRun.year_balance`, from the ledger's kept sums);
2. use: each pack's full equivalent cycles and age advance; the fade model
   (:mod:`batteryloop.sim.fade`, calibrated on CALCE and Severson data) gives its state of health; the
   year's BMS figures go into the passports (the year's new packs' with their recycled content, split
   pre-/post-consumer) and a signed ``soh_update`` event per pack into the ledger;
3. retirement (Dec): packs below their usage's retirement threshold, in scrapped vehicles or with faults
   leave the vehicle; a few leave the loop illegally (silent, or moved out of the region without an
   export record: the outflow report finds them); the rest are collected by a dismantler, graded and
   routed (re-use, remanufacture, repurpose into a second-life hub, recycle); second-life packs at their
   end are recycled;
4. recycling: dismantling to black mass, hydrometallurgical recycling, certified recovered salts — which
   the cathode plants use the next year, so recycled content (Art. 8, by mass balance) grows.

The report (:func:`run_pilot`'s return value, stored in ``pilot_runs``) holds what the dashboard shows,
and the figures it states are counted from the services at the end (ledger events, passports).
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..access import Caller
from ..circular import route_options
from ..circular.routes import DEFAULT_GRADE_ROUTES
from ..participants import Role
from ..reference import References
from ..store.db import iso_text, parse_iso
from ..trace.client import BatchSealer, ChainWriter
from .supply_chain import TRACE_PARTICIPANTS, demo_signers
from . import pilot
from .pilot import STATE_LOST, STATE_NAMES, STATE_RECYCLED, STATE_SECOND_LIFE, STATE_VEHICLE
from .fade import FadeModel, chemistry_family
from .supply import Clock, MaterialChain, pack_materials

USAGES = ("private_car", "taxi", "delivery_van")
CELL_MAKER = {"EM-NMC811-82": pilot.CELL_KR, "EM-NCA-75": pilot.CELL_JP, "EM-LFP-60": pilot.CELL_CN}
# which models each usage's vehicles carry (weights)
USAGE_MODELS = {"private_car": {"EM-NMC811-82": 0.5, "EM-NCA-75": 0.5},
                "taxi": {"EM-NMC811-82": 0.4, "EM-LFP-60": 0.6},
                "delivery_van": {"EM-LFP-60": 1.0}}
PLANTS = [("DE", "EuroMotors Pack Plant Zwickau", "EU", 0.4), ("HU", "EuroMotors Pack Plant Debrecen", "EU", 0.3),
          ("KR", "EuroMotors Ulsan Assembly", "KR", 0.3)]
PLANT_COUNTRY = {site: country for country, site, _, _ in PLANTS}
MARKETS = {"EU": ["DE", "FR", "NL", "PL", "BE"], "KR": ["KR"]}
REGION_ACTORS = {  # region → (dismantler, recycler, second-life integrator, its hub site)
    "EU": (pilot.DISMANTLER_EU, pilot.RECYCLER_EU, pilot.SECOND_LIFE_EU, ("NL", "Rotterdam city storage hub (solar)")),
    "KR": (pilot.DISMANTLER_KR, pilot.RECYCLER_KR, pilot.SECOND_LIFE_KR, ("KR", "Jeju solar storage hub")),
}
HUB_SITE = {"EU": "Rotterdam", "KR": "Jeju"}  # the integrators' hubs (reference hub_sites: clock, tariff, sun, demand)
RECYCLER_SITE = {pilot.RECYCLER_EU: ("DE", "Magdeburg hydromet"), pilot.RECYCLER_KR: ("KR", "Gunsan hydromet")}
COLLECTION_DAYS = 2  # removal → collection at the dismantler; the intake test the day after
# the repairer remanufactures in each region (a pack leaving its watched region would need an export record)
REMAN_SITE = {"EU": ("NL", "PackFix remanufacturing"), "KR": ("KR", "PackFix Ulsan remanufacturing")}


def _later(t: dt.datetime, days: float) -> Clock:
    """A clock for one pack's step ``days`` after ``t`` (its own events 10–100 ms apart from there)."""
    return Clock(t + dt.timedelta(days=days), random.Random(int(t.timestamp() * 1000) + int(days * 24)))


KR_COLLECTION_SITE = {pilot.KR_LOCAL_DAEGU: "Daegu used-battery collection centre",
                      pilot.KR_LOCAL_JEJU: "Jeju used-battery collection centre"}
DISMANTLER_SITE = {pilot.DISMANTLER_EU: ("BE", "Antwerp dismantling"), pilot.DISMANTLER_KR: ("KR", "Daegu dismantling")}
# the pilot's recyclers run hydrometallurgical plants: the other recycling processes are not on offer
# (the route options and their operators: circular/route_options.py; the pilot acts on each route's kind below)
_PROCESS = {r: route_options.get(r).process for r in DEFAULT_GRADE_ROUTES["A"]}  # type: ignore[union-attr]
HYDRO_ONLY = {g: [r for r in routes if _PROCESS[r] in (None, "hydro")] for g, routes in DEFAULT_GRADE_ROUTES.items()}
RECYCLE_ONLY = {g: [r for r in DEFAULT_GRADE_ROUTES["recycle"] if _PROCESS[r] == "hydro"] for g in DEFAULT_GRADE_ROUTES}
ROUTE_OPERATOR = route_options.operators()


PARALLEL_FROM_PACKS = 1000
"""Pilots of this many packs or more seal their events in worker processes (one per CPU)."""
BIG_CACHE_FROM_PACKS = 20_000
"""From this many packs the pilot's SQLite connections keep a bigger page cache for its run (its store grows past
64 MiB of index pages: 0.87 GB at 20,000 packs, 4.3 GB at 100,000, docs/benchmarks.md "Session 15"):
``BATTERYLOOP_PILOT_SQLITE_CACHE_MIB`` MiB (default 512, the size measured there; never less than the store has)."""
PILOT_SQLITE_CACHE_MIB = int(os.environ.get("BATTERYLOOP_PILOT_SQLITE_CACHE_MIB", "512"))
VERIFY_BEHIND_FROM_PACKS = 1000
"""From this many packs the ledger is verified behind the ledger, after each batch the pilot commits, in a worker
process (trace.verify_behind); smaller pilots verify it at the end (forking costs more than it saves there)."""


class _Unsealed:
    """What the material chain signs through: the event as it is, sealed with the pilot's others at the next
    flush (:meth:`PilotRun.emit`)."""

    def __init__(self, signers: Any) -> None:
        self.signers = signers

    def sign(self, data: dict[str, Any]) -> dict[str, Any]:
        return data


@dataclass
class PilotConfig:
    packs: int = 2000
    years: int = 10
    seed: int = 42
    start_year: int | None = None  # default: the pilot ends with last year (records may not lie in the future)
    dataspace: bool = True  # run the connector nodes (DSP) for the bridge and the dismantlers' passport pulls
    dsp_pulls_per_year: int = 2
    lanzhou: bool = True  # the CATL–Lanzhou regional fleets and integrated station (sim/lanzhou.py)

    def __post_init__(self) -> None:
        if not 1 <= self.packs <= 1_000_000:
            raise ValueError(f"packs must be between 1 and 1,000,000 (got {self.packs})")
        if not 1 <= self.years <= 30:
            raise ValueError(f"years must be between 1 and 30 (got {self.years})")
        last = dt.date.today().year - 1
        if self.start_year is None:
            self.start_year = last - self.years + 1
        if self.start_year + self.years - 1 > last:
            raise ValueError(f"the pilot must end by {last}: passports and ledger events may not be dated in the "
                             f"future (start year {self.start_year} + {self.years} years ends in "
                             f"{self.start_year + self.years - 1})")


@dataclass
class Fleet:
    """Every pack's state, one array element per pack (index = order of production)."""

    n: int
    ledger_id: list[str] = field(default_factory=list)  # the pack's lot id in the ledger (its first passport id)
    passport: list[str] = field(default_factory=list)  # current passport (a new one after repurposing/remanufacturing)
    model: list[str] = field(default_factory=list)
    usage: list[str] = field(default_factory=list)
    region: list[str] = field(default_factory=list)
    country: list[str] = field(default_factory=list)
    vehicle: list[str] = field(default_factory=list)
    holder: list[str] = field(default_factory=list)
    operator: list[str] = field(default_factory=list)  # economic operator of the current passport
    plant: list[str] = field(default_factory=list)  # the pack plant that built it (Art. 8 declares per plant)

    def __post_init__(self) -> None:
        n = self.n
        for name in ("ledger_id", "passport", "model", "usage", "region", "country", "vehicle", "holder", "operator",
                     "plant"):
            setattr(self, name, [""] * n)
        self.baas = np.zeros(n, dtype=bool)
        self.made = np.zeros(n, dtype=np.int32)
        self.state = np.zeros(n, dtype=np.int8)
        self.k_eff = np.zeros(n)
        self.cal_eff = np.zeros(n)
        self.fec = np.zeros(n)
        self.age = np.zeros(n)
        self.offset = np.zeros(n)
        self.soh = np.full(n, 100.0)


def _caller(pid: str, roles: list[str]) -> Caller:
    return Caller(pid, frozenset(Role(r) for r in roles))


def production_plan(packs: int, years: int) -> list[int]:
    """Packs built per year: a growing pilot (weights 1, 1.25, 1.5, …), every pack built."""
    w = np.array([1 + 0.25 * y for y in range(years)])
    raw = packs * w / w.sum()
    out = np.floor(raw).astype(int)
    rest = packs - int(out.sum())
    if rest:
        out[-rest:] += 1  # hand out the remainder to the last years (the pilot keeps growing)
    return [int(x) for x in out]


class PilotRun:
    def __init__(self, services: Any, config: PilotConfig, *, references: References | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
        """``progress(what, packs built, packs in total)`` is called as the pilot moves on."""
        self.s = services
        self.cfg = config
        self.refs = references or References.default()
        self.t = self.refs.tracker()
        self.rng = random.Random(config.seed)
        self.np_rng = np.random.default_rng(config.seed)
        self.signers = demo_signers()
        self.writer = ChainWriter(self.signers)
        # events are sealed (validated, hashed, signed) in batches at each flush, the CPU work in worker
        # processes for big pilots; the chain heads are the writer's (trace.client.BatchSealer)
        self.sealer = BatchSealer(self.writer, workers=(os.cpu_count() or 1) if config.packs >= PARALLEL_FROM_PACKS else 1)
        self.chain = MaterialChain(_Unsealed(self.signers), config.seed,
                                   recycled_cap_fraction=float(self.t.get("batteryloop_assumptions", "pilot",
                                                                          "recycled_input_cap_fraction")))
        self.fade = FadeModel.from_references(self.t)
        from ..circular.routes import RouteEconomics

        from ..circular.second_life import SecondLifeDegradation

        self.route_econ = RouteEconomics.from_references(self.refs, self.t)
        self.sl_degradation = SecondLifeDegradation.from_references(self.refs, self.t)
        # region → the second-life duty and value its hub measured (hubs.economics.route_overrides): the route
        # decision values repurposing with them and the packs in second life age by them (circular.second_life)
        self.sl_econ: dict[str, dict[str, float]] = {}
        self.sl_econ_source: dict[str, str] = {}
        self._rec_value: dict[str, float] = {}  # model → what recycling one of its packs earns (_recycle_value_usd)
        self.progress = progress or (lambda task, done, total: None)
        parts = pilot.PARTICIPANTS + pilot.LOOP_PARTICIPANTS
        self.callers = {p["id"]: _caller(p["id"], p["roles"]) for p in parts}
        self.names = {p["id"]: p["name"] for p in parts + TRACE_PARTICIPANTS}
        # the models' test reports are dated before their first packs (the pilot's first year)
        self.models = {m["model_id"]: {**m, "cell_maker": CELL_MAKER[m["model_id"]]}
                       for m in pilot.battery_models(first_year=config.start_year)}
        self.materials = {mid: pack_materials(m["chemistry"], m["rated_energy_kwh"], self.refs)
                          for mid, m in self.models.items()}
        self.fleet = Fleet(config.packs)
        self.events_sent = 0
        self.events_by_kind: Counter[str] = Counter()
        # (passport, event, actor, note, carried on as, the new passport's model or None)
        self.status_changes: list[tuple[str, str, str, str, str, str | None]] = []
        self.second_life_models: set[str] = set()  # the repurposers' models registered so far (second_life_model)
        # what the report shows, year by year
        self.years: list[int] = []
        self.fleet_by_year: list[dict[str, int]] = []
        self.soh_by_year: list[dict[str, Any]] = []
        self.routes_by_year: list[dict[str, int]] = []
        self.decisions: list[dict[str, Any]] = []
        self.cash: dict[tuple[int, str, str], float] = defaultdict(float)  # (year, participant type, route) → USD
        self.baas_by_year: list[dict[str, Any]] = []
        self.second_life_by_year: list[dict[str, Any]] = []
        self.outflow_packs: list[dict[str, Any]] = []
        self.recovered_by_year: list[dict[str, float]] = []
        self.timings: dict[str, float] = defaultdict(float)
        self.recycled_content_versions = 0  # passport versions written by apply_recycled_content
        self.rc_groups: list[dict[str, Any]] = []  # the ledger's Art. 8 groups (model, plant, year), for the report
        self._rc_year: list[dict[str, Any]] = []  # this year's groups (year_balance), until they are all written
        self._rc_fields: dict[str, dict[str, Any]] = {}  # the automaker's passport → this year's figure
        self._rc_written: set[str] = set()  # passports that got this year's figure with their December report
        self._makers: dict[str, str] = {}  # battery model → its manufacturer (_maker)
        self.plant_country = dict(PLANT_COUNTRY)  # the Lanzhou fleets add their maker's plant (sim/lanzhou.py)
        self.footprint_references: list[dict[str, Any]] = []
        self.dataspace: Any = None
        self.dsp_log: list[dict[str, Any]] = []
        # the whole-ledger verification done behind the ledger, after each committed batch, in a worker process
        # (trace.verify_behind); None: the report verifies the whole ledger at the end
        self.behind: Any = None
        self.ledger_check = ""  # how the report's ledger check was made (behind the ledger, or why in full)

    # ------------------------------------------------------------------ helpers
    def emit(self, ev: dict[str, Any]) -> None:
        """An event signed by its actor at the next flush (sealed once: the ledger admits it as it is, checking
        the signature)."""
        self.sealer.add(ev)
        if len(self.sealer) >= 50_000:  # big pilots: bounded memory (the ledger continues each chain)
            self.flush()

    def sign(self, data: dict[str, Any]) -> None:
        self.emit(data)

    def flush(self) -> None:
        if not len(self.sealer):
            return
        t0 = time.perf_counter()
        # the events as the ledger reads them back from their canonical bytes (keys in canonical order, as a
        # parsed wire event has them: the derived rows, e.g. a lot's elements, are written from them)
        pending = self.sealer.seal()
        # the ledger admits them as any batch (custody rules, chains, lots); their signatures, which this sealer
        # has just made with the keys registered for their actors, are checked once, by the whole-ledger check
        # (behind the ledger, or at the report), not twice (Ledger.ingest(sealed_by=…))
        rep = self.s.trace.ingest(pending, workers=None,  # the ledger's own rule: all cores from 4,000 events
                                  executor=self.sealer.executor(), sealed_by=self.sealer)
        if not rep.ok:
            raise RuntimeError(f"the ledger refused a pilot event: {rep.error}")
        for e in pending:
            self.events_by_kind[e.event.kind] += 1
        self.events_sent += len(pending)
        if self.behind is not None:
            self.behind.check()  # these events, checked in the worker (at a lower priority) while the pilot goes on
        self.timings["ledger"] += time.perf_counter() - t0

    def _pid(self, serial: str) -> str:
        from ..passport.identifiers import UniqueIdentifier

        return UniqueIdentifier(self.s.settings.issuing_agency_code, pilot.AUTOMAKER, serial).text

    # ------------------------------------------------------------------ set-up
    def setup(self) -> dict[str, str]:
        """Register the consortium (with its public keys), the models and their footprints; returns API tokens."""
        from ..trace.keystore import KeyStore

        tokens: dict[str, str] = {}
        from ..errors import NotFound

        try:
            self.s.participants.get(pilot.AUTOMAKER)
        except NotFound:
            pass
        else:
            raise ValueError("this store already holds a pilot's participants: run the pilot on an empty database "
                             "(`batteryloop demo --fresh` empties a SQLite file; give PostgreSQL a new database)")
        for p in pilot.PARTICIPANTS + pilot.LOOP_PARTICIPANTS + TRACE_PARTICIPANTS:
            self.s.participants.create({**p, "public_key": self.signers[p["id"]].public_key_text})
            if p in TRACE_PARTICIPANTS:
                continue
            tokens[p["id"]] = self.s.participants.issue_token(p["id"], "pilot")
        keys = KeyStore(self.s.settings.var_dir / "keys")
        for pid, signer in self.signers.items():  # this node hosts the pilot: it holds its participants' demo keys
            keys.save(signer)
        maker = self.callers[pilot.AUTOMAKER]
        for m in pilot.battery_models(first_year=self.cfg.start_year):
            # the catalogue's recycled content is a declaration for demos without a ledger; here each pack gets its
            # model's, plant's and year's figure from the ledger's balance at the end of its year (apply_recycled_content)
            m = {k: v for k, v in m.items() if k != "recycled_content"}
            self.s.passports.create_model(m, maker)
            # the footprint's main production stage is cell manufacturing: its electricity is the cell maker's
            # country's (the packs are only assembled in Europe and Korea)
            fp = self.s.circular.apply_model_footprint(m["model_id"], maker,
                                                       manufacturing_country=self.cell_country(m["model_id"]),
                                                       references=self.refs)
            self.footprint_references += (fp.get("result") or {}).get("references") or []
        return tokens

    def second_life_model(self, model: dict[str, Any], repurposer: dict[str, Any], year: int, soh_pct: float) -> str:
        """The id of the model under which ``repurposer`` places ``model``'s packs repurposed in ``year`` on the
        market again: industrial batteries (Art. 3(1)(13); :func:`pilot.second_life_model`), registered by the
        repurposer when it first repurposes such a pack (its safety test dated earlier that year; its initial
        round-trip efficiency that of the pack at ``soh_pct``)."""
        mid = pilot.second_life_model_id(model["model_id"], repurposer["id"])
        if mid not in self.second_life_models:
            self.s.passports.create_model(pilot.second_life_model(model, repurposer, year, self.t,
                                                                  soh_pct_at_repurposing=soh_pct),
                                          self.callers[repurposer["id"]])
            self.second_life_models.add(mid)
        return mid

    def cell_country(self, model_id: str) -> str:
        """The country of the model's cell maker (where its cells, and most of its footprint, are made)."""
        maker = CELL_MAKER[model_id]
        return next(p["country"] for p in pilot.PARTICIPANTS + pilot.LOOP_PARTICIPANTS if p["id"] == maker)

    # ------------------------------------------------------------------ one year
    def produce(self, year: int, first: int, count: int) -> list[int]:
        f = self.fleet
        mix = self.t.table("batteryloop_assumptions", "pilot", "usage_mix_fraction")
        baas_share = float(self.t.get("batteryloop_assumptions", "pilot", "baas_share_of_taxis_fraction"))
        temps = self.t.table("vehicle_usage", "mean_temperature_c")
        arrhenius = {region: float(self.fade.arrhenius(t)) for region, t in temps.items()}
        cycle_k = {mid: self.fade.cycle_k(m["expected_lifetime_cycles"], m["capacity_threshold_exhaustion_pct"])
                   for mid, m in self.models.items()}
        fast = self.t.table("vehicle_usage", "fast_charge_share")
        idx = list(range(first, first + count))
        by_model: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        plant_country: dict[int, str] = {}
        records = []
        clock = Clock(dt.datetime(year, 1, 5, 6, tzinfo=dt.UTC), self.rng)
        for i in idx:
            usage = self.rng.choices(USAGES, weights=[mix[u] for u in USAGES])[0]
            models = USAGE_MODELS[usage]
            model_id = self.rng.choices(list(models), weights=list(models.values()))[0]
            m = self.models[model_id]
            pc, site, region, _ = self.rng.choices(PLANTS, weights=[p[3] for p in PLANTS])[0]
            chem = m["chemistry"]
            serial = f"{chem}-{self.cfg.seed:03d}-{i:07d}"
            pid = self._pid(serial)
            f.ledger_id[i] = pid
            f.passport[i] = pid
            f.model[i] = model_id
            f.usage[i] = usage
            f.region[i] = region
            f.country[i] = self.rng.choice(MARKETS[region])
            f.vehicle[i] = f"VIN{self.cfg.seed:02d}{i:09d}{'TXV'[USAGES.index(usage)]}"
            f.operator[i] = pilot.AUTOMAKER
            f.baas[i] = usage == "taxi" and self.rng.random() < baas_share
            f.holder[i] = pilot.BAAS if f.baas[i] else pilot.AUTOMAKER
            f.made[i] = year
            eps = float(self.np_rng.lognormal(0.0, self.fade.sigma_log_k))
            f.k_eff[i] = cycle_k[model_id] * eps * (1 + self.fade.fast_charge_factor * fast[usage])
            f.cal_eff[i] = self.fade.calendar_b[chemistry_family(chem)] * arrhenius[region]
            f.state[i] = STATE_VEHICLE
            by_model[model_id].append((pid, pc, site))
            plant_country[i] = pc
            f.plant[i] = site
            made = dt.date(year, 1, 15) + dt.timedelta(days=self.rng.randint(0, 70))
            rec: dict[str, Any] = {
                "serial_number": serial, "model_id": model_id, "economic_operator_id": pilot.AUTOMAKER,
                "manufacture_date": made.isoformat(), "manufacture_country": pc, "manufacture_site": site,
                "mass_kg": round(m["mass_kg"], 1), "status": "original",
                "putting_into_service_date": (made + dt.timedelta(days=self.rng.randint(40, 90))).isoformat(),
                "state_of_health": {"soh_capacity_pct": 100.0, "remaining_capacity_ah": m["rated_capacity_ah"],
                                    "remaining_energy_kwh": m["rated_energy_kwh"],
                                    "state_of_certified_energy_pct": 100.0,
                                    "remaining_power_capability_pct": 100.0,
                                    "remaining_round_trip_efficiency_pct": m["initial_round_trip_efficiency_pct"],
                                    "self_discharge_pct_per_month": round(self.rng.uniform(1.0, 2.5), 2),
                                    "ohmic_resistance_increase_pct": 0.0,
                                    "measured_at": f"{made.isoformat()}T12:00:00+00:00"},
                "usage": {"full_equivalent_cycles": 0.0, "energy_throughput_kwh": 0.0, "capacity_throughput_ah": 0.0,
                          "deep_discharge_events": 0, "time_above_extreme_temperature_h": 0.0,
                          "time_below_extreme_temperature_h": 0.0},
            }
            if f.baas[i]:
                rec["owner_id"] = pilot.BAAS
            records.append(rec)
        # the material chain, mines to packs (signed by each actor)
        for model_id, packs in by_model.items():
            for ev in self.chain.make_packs(self.models[model_id], self.materials[model_id], packs, clock):
                self.emit(ev)
        for ev in self.chain.recover_scrap(clock):
            self.emit(ev)
        # passports, through the passport service (all or nothing per batch)
        t0 = time.perf_counter()
        maker = self.callers[pilot.AUTOMAKER]
        for start in range(0, len(records), 2000):
            r = self.s.passports.import_passports(records[start:start + 2000], maker, executor=self.sealer.executor())
            if r.errors:
                raise RuntimeError(f"pilot passport refused: {r.errors[0]['message']}")
        self.timings["passports"] += time.perf_counter() - t0
        # issue, install, lease (April)
        clock = Clock(dt.datetime(year, 4, 2, 8, tzinfo=dt.UTC), self.rng)
        for i in idx:
            pid = f.ledger_id[i]
            self.sign({"id": f"{pid}-issued", "kind": "passport_issued", "actor": pilot.AUTOMAKER, "occurred_at": clock(),
                       "place": {"country": plant_country[i], "site": "passport service"}, "subjects": [pid],
                       "data": {"passport_id": pid, "model_id": f.model[i]}})
            self.sign({"id": f"{pid}-install", "kind": "installation", "actor": pilot.AUTOMAKER, "occurred_at": clock(),
                       "place": {"country": f.country[i], "site": "vehicle delivery"}, "subjects": [pid],
                       "data": {"vehicle_id": f.vehicle[i]}})
            if f.baas[i]:
                self.sign({"id": f"{pid}-lease", "kind": "change_of_owner", "actor": pilot.AUTOMAKER, "occurred_at": clock(),
                           "place": {"country": f.country[i], "site": "BaaS contract"}, "subjects": [pid],
                           "data": {"to_holder": pilot.BAAS}})
        return idx

    def use(self, year: int) -> dict[str, Any]:
        """A year of use: cycles and age advance, states of health follow; passports and ledger get the BMS figures."""
        f = self.fleet
        km = self.t.table("vehicle_usage", "annual_km")
        spread = self.t.table("vehicle_usage", "annual_km_spread_fraction")
        kwh_km = self.t.table("vehicle_usage", "kwh_per_km")
        sl_cycles = float(self.t.get("batteryloop_assumptions", "pilot", "second_life_cycles_per_year"))
        active = np.flatnonzero((f.state == STATE_VEHICLE) | (f.state == STATE_SECOND_LIFE))
        first = float(self.t.get("batteryloop_assumptions", "pilot", "first_year_in_service_fraction"))
        year_fraction = np.where(f.made[active] == year, first, 1.0)  # built this year: in service from April
        fec_year = np.zeros(len(active))
        second = f.state[active] == STATE_SECOND_LIFE
        for j, i in enumerate(active):
            m = self.models[f.model[i]]
            if f.state[i] == STATE_SECOND_LIFE:  # the duty of the region's hub (circular.second_life)
                fec_year[j] = self.sl_econ.get(f.region[i], {}).get("repurpose_cycles_per_year", sl_cycles) * self.rng.uniform(0.9, 1.1)
            else:
                u = f.usage[i]
                dist = km[u] * max(0.2, self.rng.gauss(1.0, spread[u]))
                fec_year[j] = dist * kwh_km[u] / m["rated_energy_kwh"]
        fec_year *= year_fraction
        f.fec[active] += fec_year
        f.age[active] += year_fraction
        first_life = active[~second]
        f.soh[first_life] = np.clip(self.fade.soh_pct(f.fec[first_life], f.age[first_life], f.k_eff[first_life],
                                                      f.cal_eff[first_life]) + f.offset[first_life], 0.0, 100.0)
        # packs in second life age by the second-life fade model at their hub's duty — the model the route decision
        # projected when it sent them there (one model: circular.second_life)
        for j in np.flatnonzero(second):
            i = active[j]
            duty = self._sl_duty(f.region[i], fec_year[j] / year_fraction[j])
            s = float(f.soh[i]) / 100
            r = max(0.0, 100.0 - float(f.soh[i])) * self.fade.resistance_pct_per_pct_loss
            f_ref = self.sl_degradation.fade_ref(self.models[f.model[i]]["chemistry"])
            f.soh[i] = float(np.clip(100 * self.sl_degradation.advance(s, float(year_fraction[j]), f_ref, r, duty), 0.0, 100.0))
        when = dt.datetime(year, 12, 1, 3, tzinfo=dt.UTC)
        patches: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # operator → passport → patch
        rc_patches: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # the same, with the year's Art. 8 figure
        clock = Clock(when, self.rng)
        # the round-trip efficiency each pack has now: its model's initial one, its losses grown with its
        # resistance (circular.second_life, the model the hubs read from this passport and the route takes);
        # one call for the year's packs (elementwise: the same figure as pack by pack)
        sohs = [round(float(f.soh[i]), 2) for i in active]
        resistances = [round(max(0.0, 100.0 - soh) * self.fade.resistance_pct_per_pct_loss, 1) for soh in sohs]
        rtes = self.sl_degradation.round_trip_efficiency(
            np.array([self.models[f.model[i]]["initial_round_trip_efficiency_pct"] / 100 for i in active], dtype=float),
            np.array(resistances, dtype=float)) if len(active) else np.zeros(0)
        for j, i in enumerate(active):
            m = self.models[f.model[i]]
            soh = sohs[j]
            loss = max(0.0, 100.0 - soh)
            resistance = resistances[j]
            rte = 100 * float(rtes[j])
            patch = {"state_of_health": {
                "soh_capacity_pct": soh, "remaining_capacity_ah": round(m["rated_capacity_ah"] * soh / 100, 1),
                "remaining_energy_kwh": round(m["rated_energy_kwh"] * soh / 100, 2),
                "state_of_certified_energy_pct": soh,
                "remaining_power_capability_pct": round(max(0.0, 100 - loss * 1.5), 1),
                "ohmic_resistance_increase_pct": resistance,
                "remaining_round_trip_efficiency_pct": round(rte, 2),
                "measured_at": when.isoformat()},
                "usage": {"full_equivalent_cycles": round(float(f.fec[i]), 1),
                          "energy_throughput_kwh": round(float(f.fec[i]) * m["rated_energy_kwh"], 1),
                          "capacity_throughput_ah": round(float(f.fec[i]) * m["rated_capacity_ah"], 1)}}
            rc = self._rc_fields.get(f.passport[i]) if f.made[i] == year else None
            if rc is not None:  # built this year: its Art. 8 figure goes into the same December version
                patch["recycled_content"] = rc
                rc_patches[f.operator[i]][f.passport[i]] = patch
            else:
                patches[f.operator[i]][f.passport[i]] = patch
            self.sign({"id": f"{f.ledger_id[i]}-soh-{year}", "kind": "soh_update", "actor": f.holder[i],
                       "occurred_at": clock(), "place": {"country": f.country[i], "site": "BMS telemetry"},
                       "subjects": [f.ledger_id[i]],
                       "data": {"soh_capacity_pct": soh, "full_equivalent_cycles": round(float(f.fec[i]), 1),
                                "measured_at": when.isoformat()}})
        t0 = time.perf_counter()
        for operator, ps in patches.items():
            self.s.passports.update_passports(ps, self.callers[operator], reason=f"BMS yearly report {year}",
                                              executor=self.sealer.executor())
        # the packs built this year: their December version carries the year's recycled content too, its reason
        # naming both (the figure at no extra version: PilotRun.year_balance)
        for operator, ps in rc_patches.items():
            done = self.s.passports.update_passports(
                ps, self.callers[operator], reason=f"{self.s.trace.recycled_content_reason(year)}; BMS yearly report {year}",
                executor=self.sealer.executor())
            self._rc_written.update(done)
            self.recycled_content_versions += len(done)
        self.timings["passports"] += time.perf_counter() - t0
        return {"fec_year": float(fec_year.sum())}

    def baas_year(self, year: int) -> None:
        """The swap operator's year: subscriptions, one rotation swap per leased pack, station KPIs."""
        from ..circular.baas import subscription_for_pack

        f = self.fleet
        leased = np.flatnonzero(f.baas & (f.state == STATE_VEHICLE))
        clock = Clock(dt.datetime(year, 5, 3, 7, tzinfo=dt.UTC), self.rng)
        revenue = 0.0
        pa = self.t.table("batteryloop_assumptions", "pilot")
        term_months = int(pa["baas_term_months"])
        first = float(pa["first_year_in_service_fraction"])
        # subscriptions run their term from delivery (April of the build year: part of the first year billed)
        billed: Counter[str] = Counter()
        for i in leased:
            age = year - int(f.made[i])
            if age < term_months / 12:
                billed[f.model[i]] += first if age == 0 else 1.0
        by_model = billed
        fees: dict[str, float] = {}
        for model_id, n in by_model.items():
            m = self.models[model_id]
            # the residual value is what the books will pay the operator for the pack at the term's end: the
            # seller's share of its route value, on the pack's declared mass (circular.baas.subscription_for_pack)
            q = subscription_for_pack(m["chemistry"], m["rated_energy_kwh"], term_months,
                                      float(pa["baas_soh_at_term_end_fraction"]),
                                      float(pa["baas_annual_discount_rate_fraction"]),
                                      margin_fraction=float(pa["baas_margin_fraction"]), references=self.refs,
                                      residual_share_fraction=float(pa["seller_share_of_route_value_fraction"]),
                                      pack_mass_kg=float(m["mass_kg"]))
            fees[model_id] = q.quote.monthly_price
            revenue += q.quote.monthly_price * 12 * n  # n: pack-years billed
        # a leased pack serves the fleet through the swap stations: each year it moves to another taxi
        swaps = 0
        for region in sorted({f.region[i] for i in leased}):  # packs rotate among the region's taxis
            rotation = [int(i) for i in leased if f.region[i] == region]
            if len(rotation) < 2:
                continue
            self.rng.shuffle(rotation)
            before = {i: (f.vehicle[i], f.country[i]) for i in rotation}
            for a, b in zip(rotation, rotation[1:] + rotation[:1], strict=True):
                pid = f.ledger_id[a]
                vehicle, country = before[b]
                self.sign({"id": f"{pid}-swap-{year}", "kind": "swap", "actor": pilot.BAAS, "occurred_at": clock(),
                           "place": {"country": country, "site": "swap station"}, "subjects": [pid],
                           "data": {"station": f"{region}-swap-{self.rng.randint(1, 3)}", "vehicle_id": vehicle,
                                    "installed_pack": pid}})
                f.vehicle[a], f.country[a] = vehicle, country
                swaps += 1
        new = [i for i in leased if f.made[i] == year]
        capex = sum(self.models[f.model[i]]["rated_energy_kwh"] for i in new) * float(
            self.t.get("second_life_literature", "new_pack_price_usd_per_kwh"))
        self.cash[(year, "BaaS operator", "subscription")] += revenue
        # the BaaS operator buys its packs new; the automaker's vehicle and pack sales are outside the loop's books
        self.cash[(year, "BaaS operator", "pack purchase")] -= capex
        taxis = len(leased)
        kpis = None
        if taxis >= 20:
            from ..circular.swap_station import SwapStationConfig, simulate_swap_station

            # one station serves up to 300 taxis; a bigger fleet has more such stations (same KPIs, scaled). A
            # station keeps one spare pack per six taxis (enough to charge off-peak); the spares are the
            # station's stock, outside the pilot's pack count and passports
            per = min(taxis, int(pa["taxis_per_swap_station"]))
            days = 14
            # KPIs of two simulated weeks, scaled to the year and to the number of stations; the station model's
            # tariffs and fees are NIO's (RMB), converted at the reference rate
            scale = taxis / per * 365 / days
            usd = 1 / float(self.t.get("tou_tariffs_cn", "cny_per_usd"))
            k = simulate_swap_station(SwapStationConfig(packs_in_station=max(4, per // int(pa["taxis_per_spare_station_pack"])),
                                                        vehicles=per, days=days,
                                                        chemistry="NMC811", pack_energy_kwh=75.0,
                                                        seed=self.cfg.seed * 100 + year - self.cfg.start_year,
                                                        swaps_per_day=per * float(pa["swaps_per_taxi_per_day"]),
                                                        chargers=max(2, per // 25)),
                                      self.refs)
            kpis = {"stations": round(taxis / per, 2), "swaps_served_per_year": round(k.swaps_served * scale),
                    "service_level_fraction": k.service_level_fraction,
                    "peak_charging_share_fraction": k.peak_charging_share_fraction,
                    "energy_charged_kwh_per_year": round(k.energy_charged_kwh * scale, 1),
                    "swap_revenue_usd_per_year": round(k.swap_revenue * scale * usd, 2),
                    "gross_margin_usd_per_year": round(k.gross_margin * scale * usd, 2)}
            self.cash[(year, "BaaS operator", "swap stations")] += k.gross_margin * scale * usd
        self.baas_by_year.append({"year": year, "leased_packs": taxis, "subscription_revenue_usd": round(revenue, 2),
                                  "monthly_fee_usd": {k: round(v, 2) for k, v in fees.items()},
                                  "new_packs_bought": len(new), "pack_capex_usd": round(capex, 2),
                                  "rotation_swaps_recorded": swaps, "station": kpis})

    def retire(self, year: int) -> None:
        f = self.fleet
        a = self.t.table("batteryloop_assumptions", "pilot", "retirement_soh_pct")
        p_scrap = float(self.t.get("batteryloop_assumptions", "pilot", "vehicle_scrap_probability_per_year"))
        scrap_age = float(self.t.get("batteryloop_assumptions", "pilot", "vehicle_scrap_age_years"))
        p_fault = float(self.t.get("batteryloop_assumptions", "pilot", "pack_fault_probability_per_year"))
        p_illegal = float(self.t.get("batteryloop_assumptions", "pilot", "illegal_outflow_fraction"))
        sl_end = pilot.second_life_end_soh_pct(self.t)
        p_crash = float(self.t.get("batteryloop_assumptions", "pilot", "crash_damaged_share_of_scrapped_fraction"))
        veh = np.flatnonzero(f.state == STATE_VEHICLE)
        leaving: list[tuple[int, str]] = []
        damaged: list[int] = []
        for i in veh:
            if f.made[i] == year:
                continue
            if f.soh[i] < a[f.usage[i]]:
                leaving.append((int(i), "state of health below the usage's threshold"))
            elif f.age[i] >= scrap_age or self.rng.random() < p_scrap:
                leaving.append((int(i), "vehicle scrapped"))
                if self.rng.random() < p_crash:
                    damaged.append(int(i))
            elif self.rng.random() < p_fault:
                leaving.append((int(i), "pack fault"))
                damaged.append(int(i))
        # what the BMS logged on damaged and faulty packs (an internal short: self-discharge, deep discharges,
        # a temperature excursion) goes into their passports before intake grades them; the ranges lie beyond
        # health.grading's blocking limits, so intake sends such packs to recycling
        faults: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for i in damaged:
            faults[f.operator[i]][f.passport[i]] = {
                "state_of_health": {"self_discharge_pct_per_month": round(self.rng.uniform(10, 15), 2)},
                "usage": {"deep_discharge_events": self.rng.randint(4, 7),
                          "max_operating_temperature_c": round(self.rng.uniform(65, 80), 1)}}
        for operator, ps in faults.items():
            self.s.passports.update_passports(ps, self.callers[operator], reason=f"BMS fault log {year}")
        sl_done = [int(i) for i in np.flatnonzero(f.state == STATE_SECOND_LIFE) if f.soh[i] < sl_end]
        clock = Clock(dt.datetime(year, 12, 3, 7, tzinfo=dt.UTC), self.rng)
        routed: list[int] = []
        # each pack's retirement takes days (collection, intake test, the route's shipments): its steps are timed
        # from its own removal (later(i, days)), so no pack is in two countries a few milliseconds apart
        removed: dict[int, dt.datetime] = {}
        home: dict[int, str] = {}  # the vehicle's country: a re-used or remanufactured pack goes back there
        for i, reason in leaving:
            pid = f.ledger_id[i]
            at = clock()
            removed[i] = parse_iso(at)
            home[i] = f.country[i]
            self.sign({"id": f"{pid}-removal-{year}", "kind": "removal", "actor": f.holder[i], "occurred_at": at,
                       "place": {"country": f.country[i], "site": "workshop"}, "subjects": [pid],
                       "data": {"vehicle_id": f.vehicle[i], "reason": reason}})
            if self.rng.random() < p_illegal:
                self._illegal(i, year, _later(removed[i], 5))
                continue
            self._collect(i, year, _later(removed[i], COLLECTION_DAYS))
            routed.append(i)
        for i in sl_done:  # end of second life: the integrator hands the pack to the region's dismantler
            sl_op, hub = REGION_ACTORS[f.region[i]][2], REGION_ACTORS[f.region[i]][3]
            pid = f.ledger_id[i]
            at = clock()
            removed[i] = parse_iso(at)
            self.sign({"id": f"{pid}-removal-{year}", "kind": "removal", "actor": sl_op, "occurred_at": at,
                       "place": {"country": hub[0], "site": hub[1]}, "subjects": [pid],
                       "data": {"reason": "end of second life"}})
            self._collect(i, year, _later(removed[i], COLLECTION_DAYS))
        # the dismantlers grade and route the packs they collected (the circular service reads each passport);
        # a pack at the end of its second life can only be recycled
        t0 = time.perf_counter()
        decisions: dict[int, dict[str, Any]] = {}
        for region, (dismantler, _, _, _) in REGION_ACTORS.items():
            econ = self._sl_economics(region, year)
            for group, routes in ((routed, HYDRO_ONLY), (sl_done, RECYCLE_ONLY)):
                mine = [i for i in group if f.region[i] == region]
                for start in range(0, len(mine), 1000):
                    part = mine[start:start + 1000]
                    out = self.s.circular.pack_routes([f.passport[i] for i in part], self.callers[dismantler],
                                                      grade_routes=routes, references=self.refs, economics=econ)
                    decisions.update(zip(part, out, strict=True))
        self.timings["decisions"] += time.perf_counter() - t0
        from ..circular.baas import retired_pack_price_usd, retired_pack_value_usd

        counts: Counter[str] = Counter()
        black_mass: dict[str, list[tuple[str, float, dict[str, float]]]] = defaultdict(list)
        seller_share = float(self.t.get("batteryloop_assumptions", "pilot", "seller_share_of_route_value_fraction"))
        take_back = float(self.t.get("batteryloop_assumptions", "pilot", "take_back_cost_usd_per_kg"))
        # the dismantler, who holds each pack now, records its test and hands the packs it does not recycle to
        # the route's operator (a signed change of custody); the ledger takes them before the status changes,
        # which the passport service allows to the pack's holder
        for i in routed + sl_done:
            d = decisions[i]
            route = d["route"]
            kind = route_options.kind_of(route)
            dismantler, _, sl_op, _ = REGION_ACTORS[f.region[i]]
            pid = f.ledger_id[i]
            site = dict(zip(("country", "site"), DISMANTLER_SITE[dismantler], strict=True))
            tested = _later(removed[i], COLLECTION_DAYS + 1)()
            self.sign({"id": f"{pid}-test-{year}", "kind": "retirement_test", "actor": dismantler, "occurred_at": tested,
                       "place": site, "subjects": [pid], "data": {"soh_capacity_pct": round(float(f.soh[i]), 2),
                                                                  "grade": d["grade"], "decision": kind}})
            if kind != "recycle":  # 1 ms after the test (the clock's next tick is 10 ms or more later)
                to = sl_op if kind == "repurpose" else pilot.REPAIRER
                handed = iso_text(parse_iso(tested) + dt.timedelta(milliseconds=1))
                self.sign({"id": f"{pid}-handover-{year}", "kind": "change_of_owner", "actor": dismantler,
                           "occurred_at": handed, "place": site, "subjects": [pid], "data": {"to_holder": to}})
                f.holder[i] = to
        self.flush()
        for i in routed + sl_done:
            d = decisions[i]
            route = d["route"]
            kind = route_options.kind_of(route)
            second = f.state[i] == STATE_SECOND_LIFE
            counts[("second life → " if second else "") + kind] += 1
            dismantler, recycler, sl_op, hub = REGION_ACTORS[f.region[i]]
            pid = f.ledger_id[i]
            rated_kwh = float(self.models[f.model[i]]["rated_energy_kwh"])
            # the route's NPV includes recycling at the end of a re-use or remanufacture; that value is booked
            # when it happens (in the pilot, or never), not now — the figure a BaaS fee's residual value is of
            # (circular.baas.retired_pack_value_usd / retired_pack_price_usd: one figure for the fee and the books)
            value = retired_pack_value_usd(route, float(d["npv_usd"].get(route, 0.0)), self._recycle_value_usd(f.model[i]),
                                           self.route_econ)
            seller = "second-life integrator" if second else "BaaS operator" if f.baas[i] else "vehicle owners"
            paid = retired_pack_price_usd(value, seller_share)  # the route operator buys the pack for a share of its value
            self.cash[(year, seller, "sale of retired packs")] += paid
            if kind == "repurpose":  # the integrator's value comes year by year from its hub (second_life_year)
                self.cash[(year, ROUTE_OPERATOR[kind], "pack purchase")] -= paid
                self.cash[(year, ROUTE_OPERATOR[kind], "repurposing")] -= rated_kwh * self.route_econ.repurpose_cost_usd_per_kwh
                # the storage the pack goes into: racks, converter, EMS per usable kWh (what the route priced)
                self.cash[(year, ROUTE_OPERATOR[kind], "balance of system")] -= (
                    rated_kwh * float(f.soh[i]) / 100 * self.route_econ.repurpose_bos_usd_per_kwh)
            else:
                self.cash[(year, ROUTE_OPERATOR[kind], kind)] += value - paid
            if not second:  # producer responsibility: the automaker pays the take-back of its packs
                self.cash[(year, "automaker", "take-back (collection)")] -= take_back * float(
                    self.models[f.model[i]]["mass_kg"])
            self.decisions.append({"year": year, "pack": pid, "model": f.model[i], "usage": f.usage[i], "region": f.region[i],
                                   "plant": f.plant[i], "plant_country": PLANT_COUNTRY.get(f.plant[i]),
                                   "life": "second" if second else "first",
                                   "soh_pct": round(float(f.soh[i]), 2), "grade": d["grade"], "route": route,
                                   # npv_usd: the pack's value at the sale (the route's NPV, less a re-use's or a
                                   # remanufacture's recycling at the new life's end); route_npv_usd: the route's NPV
                                   "npv_usd": round(value, 2), "route_npv_usd": round(float(d["npv_usd"].get(route, 0.0)), 2),
                                   "paid_usd": round(paid, 2), "seller": seller,
                                   "capacity_kwh": rated_kwh})
            after = _later(removed[i], COLLECTION_DAYS + 2)  # the day after the intake test
            arrived = _later(removed[i], COLLECTION_DAYS + 3)  # a shipment's next day: the pack is there
            if kind == "reuse":
                # back to the vehicle's country for a used car (a workshop of the repairer there)
                self._ship(i, year, after, {"country": home[i], "site": "re-use workshop"}, pilot.REPAIRER)
                self._status(i, "reuse", pilot.REPAIRER, "re-used in another vehicle", year)
                self.sign({"id": f"{pid}-reuse-{year}", "kind": "reuse", "actor": pilot.REPAIRER, "occurred_at": arrived(),
                           "place": {"country": f.country[i], "site": "re-use workshop"}, "subjects": [pid],
                           "data": {"holder": pilot.REPAIRER, "application": "replacement pack for a used car"}})
                self._reinstall(i, year, arrived, pilot.REPAIRER)
            elif kind == "remanufacture":
                place = dict(zip(("country", "site"), REMAN_SITE[f.region[i]], strict=True))
                self._ship(i, year, after, place, pilot.REPAIRER)  # from the dismantler to the repairer's plant
                new = self._status(i, "remanufacture", pilot.REPAIRER, "modules replaced", year)
                self.sign({"id": f"{pid}-reman-{year}", "kind": "remanufacturing", "actor": pilot.REPAIRER,
                           "occurred_at": _later(removed[i], COLLECTION_DAYS + 5)(), "place": place,
                           "subjects": [pid], "data": {"holder": pilot.REPAIRER, "new_passport_id": new}})
                target = 100 * self.route_econ.remanufacture_target_soh_fraction  # what the route model priced
                f.offset[i] += target - f.soh[i]
                f.soh[i] = target
                back = _later(removed[i], COLLECTION_DAYS + 6)
                self._ship(i, year, back, {"country": home[i], "site": "re-use workshop"}, pilot.REPAIRER, leg="return")
                self._reinstall(i, year, _later(removed[i], COLLECTION_DAYS + 7), pilot.REPAIRER)
            elif kind == "repurpose":
                self._ship(i, year, after, {"country": hub[0], "site": hub[1]}, sl_op)  # dismantler → hub
                new = self._status(i, "repurpose", sl_op, "second-life storage hub", year)
                self.sign({"id": f"{pid}-repurpose-{year}", "kind": "repurposing", "actor": sl_op, "occurred_at": arrived(),
                           "place": {"country": hub[0], "site": hub[1]}, "subjects": [pid],
                           "data": {"holder": sl_op, "new_passport_id": new, "application": hub[1]}})
                f.state[i] = STATE_SECOND_LIFE
                f.holder[i] = sl_op
                f.country[i] = hub[0]
            else:
                self._recycle(i, year, after, recycler, black_mass, waste_by=dismantler)
        self._apply_status_changes()
        # the year's black mass, recycled; the salts go back to the cathode plants next year
        rec_before = dict(self.chain.recovered_kg)
        clock = Clock(dt.datetime(year, 12, 22, 6, tzinfo=dt.UTC), self.rng)
        recovery = {el: float(self.t.get("everbatt_2023", "recovery_fraction", "hydro", el)) for el in ("Li", "Ni", "Co")}
        for recycler, lots in sorted(black_mass.items()):
            country, site = RECYCLER_SITE[recycler]
            for ev in self.chain.recycle(recycler, {"country": country, "site": site}, lots, recovery, clock):
                self.emit(ev)
        self.recovered_by_year.append({"year": year, **{el: round(self.chain.recovered_kg[el] - rec_before[el], 3)
                                                        for el in rec_before}})
        self.routes_by_year.append({"year": year, **counts})

    def _sl_duty(self, region: str, fec_per_year: float) -> Any:
        from ..circular.second_life import SecondLifeDuty

        e = {**self.route_econ.model_dump(), **self.sl_econ.get(region, {})}
        return SecondLifeDuty(fec_per_year=fec_per_year, dod_fraction=e["repurpose_dod_fraction"],
                              temperature_c=e["repurpose_temperature_c"],
                              round_trip_efficiency_fraction=e["repurpose_round_trip_efficiency_fraction"])

    def _sl_economics(self, region: str, year: int) -> dict[str, float]:
        """The region's second-life duty and value for the route decision: what its hub measured last, or — before
        the region has a hub — a reference hub at the integrator's site (the site's tariff and sun) with a dozen
        packs of the pilot's models at a typical retirement state of health, simulated as the hubs are."""
        if region not in self.sl_econ:
            self.sl_econ[region] = self._reference_hub(region, year)
            self.sl_econ_source[region] = f"reference hub at {HUB_SITE[region]} ({year})"
        return self.sl_econ[region]

    def _reference_hub(self, region: str, year: int) -> dict[str, float]:
        from ..hubs.economics import seasonal_economics
        from ..hubs.service import DEMO_TEMPLATE, _merge
        from ..hubs.sites import site_template

        t0 = time.perf_counter()
        soh = 0.72
        resistance = (100 - 100 * soh) * self.fade.resistance_pct_per_pct_loss  # as the BMS reports state it (use)
        strings = [{"string_id": f"ref-{mid}", "packs": [
            {"pack_id": f"ref-{mid}-{k}", "chemistry": m["chemistry"], "nominal_energy_kwh": float(m["rated_energy_kwh"]),
             "soh_fraction": soh, "resistance_increase_pct": resistance,
             "round_trip_efficiency_fraction": float(self.sl_degradation.round_trip_efficiency(
                 m["initial_round_trip_efficiency_pct"] / 100, resistance))} for k in range(4)]}
            for mid, m in sorted(self.models.items())]
        cfg = _merge(_merge(DEMO_TEMPLATE, site_template(HUB_SITE[region], references=self.refs)),
                     {"name": f"reference hub {HUB_SITE[region]}", "start_date": f"{year}-01-01", "strings": strings})
        overrides, _ = seasonal_economics(cfg, method="optimised", first_day=(self.cfg.seed + 37 * (year - self.cfg.start_year)) % 91,
                                          grid_country=REGION_ACTORS[region][3][0], references=self.refs)
        self.timings["second life hubs"] += time.perf_counter() - t0
        return overrides

    def _recycle_value_usd(self, model_id: str) -> float:
        """What recycling a pack of the model earns (the best process's value, as the route model counts it: of
        the pack mass its passport declares, the compliance report's basis)."""
        if model_id not in self._rec_value:
            from ..circular.chemistry import parse_chemistry
            from ..circular.routes import recycle_value_usd_per_kwh

            m = self.models[model_id]
            per = recycle_value_usd_per_kwh(parse_chemistry(m["chemistry"]), self.refs, None, self.t,
                                            pack_mass_kg_per_kwh=float(m["mass_kg"]) / float(m["rated_energy_kwh"]))
            self._rec_value[model_id] = max(v for v in per.values() if v is not None) * float(m["rated_energy_kwh"])
        return self._rec_value[model_id]

    def _status(self, i: int, event: str, actor: str, note: str, year: int) -> str:
        """The pack's passport changes status (at :meth:`_apply_status_changes`, with the rest of the year's, in
        the same order); returns the id that carries on: after a repurpose or a remanufacture, the new passport's
        (the old serial with the service's suffix, under the new operator: checked against what it returns)."""
        from ..passport.identifiers import UniqueIdentifier
        from ..passport.lifecycle import SUCCESSOR_SUFFIX, successor_serial_number

        f = self.fleet
        old = f.passport[i]
        new = old
        model = None
        if event in SUCCESSOR_SUFFIX:  # the passport service's own rule (passport.lifecycle)
            uid = UniqueIdentifier.parse(old)
            new = UniqueIdentifier(uid.issuing_agency_code, actor, successor_serial_number(uid.serial, event)).text
        if event == "repurpose":  # an industrial battery now, of the integrator's model
            who = next(p for p in pilot.PARTICIPANTS + pilot.LOOP_PARTICIPANTS if p["id"] == actor)
            model = self.second_life_model(self.models[f.model[i]], who, year, float(f.soh[i]))
        self.status_changes.append((old, event, actor, note, new, model))
        if new != old:
            f.passport[i] = new
            f.operator[i] = actor
        return new

    def _apply_status_changes(self) -> None:
        """The status changes :meth:`_status` queued, in their order, in one transaction (each checked by the
        passport service as a single change would be)."""
        if not self.status_changes:
            return
        t0 = time.perf_counter()
        got = self.s.passports.change_statuses_in_order(
            [(old, event, self.callers[actor], note, model) for old, event, actor, note, _, model in self.status_changes])
        for (old, event, _, _, want, _), new in zip(self.status_changes, got, strict=True):
            if new != want:
                raise RuntimeError(f"passport {old} ({event}): the passport service carried it on as {new}, the "
                                   f"pilot expected {want}")
        self.status_changes = []
        self.timings["status changes"] += time.perf_counter() - t0

    def _reinstall(self, i: int, year: int, clock: Clock, holder: str) -> None:
        f = self.fleet
        f.usage[i] = "private_car"
        f.baas[i] = False
        f.vehicle[i] = f"{f.vehicle[i][:-1]}R"
        f.holder[i] = holder
        self.sign({"id": f"{f.ledger_id[i]}-install-{year}", "kind": "installation", "actor": holder,
                   "occurred_at": clock(), "place": {"country": f.country[i], "site": "re-use workshop"},
                   "subjects": [f.ledger_id[i]], "data": {"vehicle_id": f.vehicle[i]}})

    def _ship(self, i: int, year: int, clock: Clock, to: dict[str, str], holder: str, leg: str = "out") -> None:
        """The holder of a retired pack ships it to ``to`` (a signed transport, days before what happens there)
        when that is another country; the pack stays in its region (watched regions need an export record to
        leave, and no route here leaves one)."""
        f = self.fleet
        if to["country"] == f.country[i]:
            return
        self.sign({"id": f"{f.ledger_id[i]}-transport-{leg}-{year}", "kind": "transport", "actor": f.holder[i],
                   "occurred_at": clock(), "place": {"country": f.country[i], "site": "dispatch"},
                   "subjects": [f.ledger_id[i]],
                   "data": {"origin": {"country": f.country[i], "site": "dispatch"}, "destination": to,
                            "countries_crossed": sorted({f.country[i], to["country"]}),
                            "to_holder": holder if holder != f.holder[i] else None}})
        f.holder[i] = holder
        f.country[i] = to["country"]

    def _collect(self, i: int, year: int, clock: Clock) -> None:
        f = self.fleet
        dismantler = REGION_ACTORS[f.region[i]][0]
        dc, ds = DISMANTLER_SITE[dismantler]
        if f.region[i] == "KR":  # in Korea the local government collects the used pack, then hands it on
            gov = pilot.KR_LOCAL_JEJU if f.holder[i] == pilot.SECOND_LIFE_KR else pilot.KR_LOCAL_DAEGU
            site = KR_COLLECTION_SITE[gov]
            self.sign({"id": f"{f.ledger_id[i]}-collect-gov-{year}", "kind": "collection", "actor": f.holder[i],
                       "occurred_at": clock(), "place": {"country": "KR", "site": site}, "subjects": [f.ledger_id[i]],
                       "data": {"origin": {"country": f.country[i], "site": "workshop"},
                                "destination": {"country": "KR", "site": site},
                                "countries_crossed": sorted({f.country[i], "KR"}) if f.country[i] != "KR" else [],
                                "to_holder": gov}})
            f.holder[i] = gov
            f.country[i] = "KR"
        crossed = sorted({f.country[i], dc}) if f.country[i] != dc else []
        # the holder hands the pack over to the collecting dismantler (custody moves only by its holder's signature)
        self.sign({"id": f"{f.ledger_id[i]}-collect-{year}", "kind": "collection", "actor": f.holder[i],
                   "occurred_at": clock(), "place": {"country": dc, "site": ds}, "subjects": [f.ledger_id[i]],
                   "data": {"origin": {"country": f.country[i], "site": "workshop"},
                            "destination": {"country": dc, "site": ds}, "countries_crossed": crossed,
                            "to_holder": dismantler}})
        f.holder[i] = dismantler
        f.country[i] = dc

    def _recycle(self, i: int, year: int, clock: Clock, recycler: str,
                 black_mass: dict[str, list[tuple[str, float, dict[str, float]]]], *, waste_by: str) -> None:
        f = self.fleet
        # the dismantler holds the pack (a recycler by role): it declares it waste and recycled as it dismantles it
        self._status(i, "waste", waste_by, "end of life", year)
        self._status(i, "recycle", waste_by, "hydrometallurgical", year)
        dismantler = REGION_ACTORS[f.region[i]][0]
        dc, ds = DISMANTLER_SITE[dismantler]
        pid = f.ledger_id[i]
        pack_kg, els = self.chain.pack_contents.pop(pid)
        ev, bm, bm_els, bm_kg = self.chain.dismantle(pid, pack_kg, els, dismantler, {"country": dc, "site": ds}, clock)
        self.emit(ev)
        black_mass[recycler].append((bm, bm_kg, bm_els))
        f.state[i] = STATE_RECYCLED
        f.holder[i] = recycler

    def _illegal(self, i: int, year: int, clock: Clock) -> None:
        """The pack leaves the loop: sold on to an unlicensed buyer (silent from now on) or shipped out of the region
        without an export declaration."""
        f = self.fleet
        pid = f.ledger_id[i]
        if self.rng.random() < 0.5:
            dest = "UA" if f.region[i] == "EU" else "VN"
            self.sign({"id": f"{pid}-transport-{year}", "kind": "transport", "actor": f.holder[i], "occurred_at": clock(),
                       "place": {"country": dest, "site": "unlicensed battery trader"}, "subjects": [pid],
                       "data": {"origin": {"country": f.country[i], "site": "workshop"},
                                "destination": {"country": dest, "site": "unlicensed battery trader"},
                                "countries_crossed": [f.country[i], dest]}})
            how = f"moved to {dest} without an export record"
        else:
            how = "sold to an unlicensed scrapper; no further record"
        f.state[i] = STATE_LOST
        self.outflow_packs.append({"year": year, "pack": pid, "model": f.model[i], "how": how})

    def second_life_year(self, year: int) -> None:
        """Each integrator runs a city storage hub with solar from its repurposed packs (the hubs service: plan from
        the passports, grade, assemble strings, simulate four representative weeks, annual economics). Packs beyond
        the hub's size are taken to earn the same per kWh in the integrator's other hubs."""
        from ..hubs.economics import seasonal_economics
        from ..hubs.ledger import park_year
        from ..hubs.service import plan_from_passports

        f = self.fleet
        max_packs = int(self.t.get("batteryloop_assumptions", "pilot", "max_packs_per_hub"))
        out: dict[str, Any] = {"year": year}
        t0 = time.perf_counter()
        for region, (_, _, sl_op, hub) in REGION_ACTORS.items():
            sel = [int(i) for i in np.flatnonzero(f.state == STATE_SECOND_LIFE) if f.region[i] == region]
            kwh = float(sum(self.models[f.model[i]]["rated_energy_kwh"] * f.soh[i] / 100 for i in sel))
            row: dict[str, Any] = {"operator": sl_op, "operator_name": self.names[sl_op], "hub": hub[1],
                                   "packs": len(sel), "usable_kwh": round(kwh, 1)}
            out[region] = row
            if len(sel) < 4:
                row["note"] = "fewer than 4 repurposed packs: no hub string yet"
                continue
            ids = [f.passport[i] for i in sel[:max_packs]]
            plan = plan_from_passports(self.s.passports, self.callers[sl_op], passport_ids=ids, hub_name=hub[1],
                                       site=HUB_SITE[region], template={"start_date": f"{year}-01-01"})
            if not plan["configs"]:
                row["note"] = "no balanced string could be assembled from these packs"
                continue
            cfg = plan["configs"][0]
            # four weeks, one in each season (one window of four weeks sees one season's sun and prices)
            overrides, weeks = seasonal_economics(cfg, method="optimised", grid_country=hub[0],
                                                  first_day=(self.cfg.seed + 37 * (year - self.cfg.start_year)) % 91)
            res, econ = weeks[0]
            annual_usd = {k: float(np.mean([e.annual_usd[k] for _, e in weeks])) for k in econ.annual_usd}
            co2 = {k: float(np.mean([e.co2_kg_per_year[k] for _, e in weeks])) for k in econ.co2_kg_per_year}
            totals = {k: float(np.sum([r.totals[k] for r, _ in weeks])) for k in ("pv_used_kwh", "discharge_kwh")}
            sim_days = sum(r.days for r, _ in weeks)
            hub_kwh = float(econ.lcos["second_life"].usable_energy_kwh)
            factor = kwh / hub_kwh if hub_kwh > 0 else 0.0
            # what the packs earn: the storage's value in the hub (against the same hub without storage) less
            # its upkeep; the hub's PV, chargers and swap station are not the packs' doing
            net = (annual_usd["storage_value"] - annual_usd["storage_om_cost"]) * factor
            self.cash[(year, "second-life integrator", "hub storage value")] += net
            cycles = float(overrides["repurpose_cycles_per_year"])
            # what this hub measured becomes the region's second-life duty and value: next year's route decisions
            # and the packs' ageing use it (one model, circular.second_life)
            self.sl_econ[region] = dict(overrides)
            self.sl_econ_source[region] = f"{hub[1]}, {year}"
            scale = 365 / sim_days
            park: dict[str, float] = {}
            for r_, _ in weeks:
                for k, v in park_year(r_).items():
                    park[k] = park.get(k, 0.0) + v
            park = {k: round(v * scale, 1) for k, v in park.items()}
            row.update({"hub_packs": len([p for s_ in cfg["strings"] for p in s_["packs"]]) if "strings" in cfg else None,
                        "strings": len(cfg.get("strings", [])), "excluded": len(plan["excluded"]),
                        "hub_usable_kwh": round(hub_kwh, 1), "scale_to_all_packs": round(factor, 3),
                        "hub_pv_used_kwh": round(totals["pv_used_kwh"] * scale, 1),
                        "hub_net_cash_usd": round(annual_usd["net_cash"], 2),
                        "energy_delivered_kwh": round(totals["discharge_kwh"] * scale * factor, 1),
                        "storage_net_value_usd": round(net, 2),
                        # the packs' own CO2 effect: new cells avoided less storage losses (the PV is the hub's)
                        "co2_avoided_kg": round((co2["new_cells_avoided_per_year_of_life"] + co2["storage_losses"]) * factor, 1),
                        "lcos_usd_per_kwh": {k: round(float(np.mean([e.lcos[k].lcos_usd_per_kwh for _, e in weeks])), 4)
                                             for k in econ.lcos},
                        "cycles_per_year": round(cycles, 1), "tariffs": f"{res.currency} time-of-use (reference set)",
                        "simulated_days": sim_days,
                        "second_life_duty_and_value": {k: round(float(v), 4) for k, v in overrides.items()},
                        # the hub's park over the four weeks, scaled to a year, for its zero-carbon ledger
                        # (hubs.ledger; the dashboard's /zero-carbon page)
                        "park": {"country": hub[0], **park}})
        self.timings["second life hubs"] += time.perf_counter() - t0
        self.second_life_by_year.append(out)

    def _maker(self, model_id: str) -> str:
        """A battery model's manufacturer: the economic operator of its packs' passports (read once per model)."""
        if model_id not in self._makers:
            self._makers[model_id] = self.s.passports.model_data(model_id)["manufacturer_id"]
        return self._makers[model_id]

    def year_balance(self, year: int) -> None:
        """The year's packs are all made (the automaker's and the Lanzhou fleets'): no later event changes that
        year's production accounts, so its balance is final. Each pack made in ``year`` gets its model's, plant's
        and year's figure (Art. 8: each metal's share, split pre-/post-consumer) from the ledger's kept sums
        (trace.mb_summary: no pass over the ledger). The automaker's passports take it with their December
        report (:meth:`use`: one version naming both), the others in :meth:`apply_recycled_content`."""
        t0 = time.perf_counter()
        self._rc_year = self.s.trace.recycled_content_groups(year)
        self.rc_groups += self._rc_year  # the report's recycled content per model, plant and year
        self._rc_fields = {pid: g["fields"] for g in self._rc_year if self._maker(g["model_id"]) == pilot.AUTOMAKER
                           for pid in g["packs"]}
        self._rc_written = set()
        self.timings["recycled_content"] += time.perf_counter() - t0

    def apply_recycled_content(self, year: int) -> None:
        """At the year's end, before December's retirements supersede any of them: the year's figure into the
        passports of its packs that did not take it with their December report (:meth:`use`) — the Lanzhou
        fleets' (written by their maker) — through the trace service (one version naming the year). A pack
        repurposed later keeps the figure on its EV passport; the new passport declares none (Art. 8(4))."""
        from ..errors import Forbidden

        t0 = time.perf_counter()
        # each group's passports are its model's manufacturer's (the economic operator that issued them)
        by_maker: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for g in self._rc_year:
            rest = [p for p in g["packs"] if p not in self._rc_written]
            if rest:
                by_maker[self._maker(g["model_id"])].append({**g, "packs": rest})
        left: list[dict[str, Any]] = []
        for maker, part in sorted(by_maker.items()):
            rep = self.s.trace.apply_recycled_content(year, self.callers[maker], groups=part,
                                                      executor=self.sealer.executor())
            self.recycled_content_versions += rep["versions"]
            left += [g for g, r in zip(part, rep["groups"], strict=True) if r["not_permitted"]]
        # groups some of whose passports this maker may not update (operated by another participant): each other
        # participant writes those it operates
        for who in sorted(set(self.callers) - set(by_maker)):
            if not left:
                break
            try:
                rep = self.s.trace.apply_recycled_content(year, self.callers[who], groups=left)
            except Forbidden:  # none of these passports is this participant's to write
                continue
            self.recycled_content_versions += rep["versions"]
            left = [g for g, r in zip(left, rep["groups"], strict=True) if r["not_permitted"]]
        if self._rc_year:  # the year is declared (here and in the December reports): a late event marks it stale
            self.s.trace.record_applied([year])
        self._rc_year, self._rc_fields, self._rc_written = [], {}, set()
        self.timings["recycled_content"] += time.perf_counter() - t0

    def settle_recycled_content(self) -> None:
        """The years whose declaration a later event marked stale, applied again from the final balance.

        The pilot declares a year's recycled content with the year's December reports, then records the year's
        retirements: their recycling and recovery are events with inputs dated in a declared year, and the ledger
        marks such a year stale (a late transformation may change a declared figure; it does not work out
        whether it did). Applying the year again writes a new version only for a passport whose figure changed
        and clears the mark once every passport of the year holds the current figure — so the pilot ends with
        no year stale, and with the true figure should one have changed."""
        from ..errors import Forbidden

        t0 = time.perf_counter()
        for y in [r["year"] for r in self.s.trace.stale_recycled_content_years()]:
            for who in [pilot.AUTOMAKER, *sorted(set(self.callers) - {pilot.AUTOMAKER})]:
                if y not in {r["year"] for r in self.s.trace.stale_recycled_content_years()}:
                    break
                try:
                    rep = self.s.trace.apply_recycled_content(y, self.callers[who], executor=self.sealer.executor())
                except Forbidden:  # none of the year's passports is this participant's to write
                    continue
                self.recycled_content_versions += rep["versions"]
        self.timings["recycled_content"] += time.perf_counter() - t0

    def snapshot(self, year: int) -> None:
        f = self.fleet
        states = Counter(int(s) for s in f.state)
        self.fleet_by_year.append({"year": year, **{STATE_NAMES[k]: states.get(k, 0) for k in STATE_NAMES}})
        row: dict[str, Any] = {"year": year, "models": {}, "usages": {}, "second_life": None}
        veh = f.state == STATE_VEHICLE
        models, usages = np.array(f.model), np.array(f.usage)
        for model_id in self.models:
            sel = veh & (models == model_id)
            if sel.any():
                v = f.soh[sel]
                row["models"][model_id] = {"n": int(sel.sum()), "mean": round(float(v.mean()), 2),
                                           "p10": round(float(np.percentile(v, 10)), 2),
                                           "p90": round(float(np.percentile(v, 90)), 2)}
        for u in USAGES:
            sel = veh & (usages == u)
            if sel.any():
                row["usages"][u] = {"n": int(sel.sum()), "mean": round(float(f.soh[sel].mean()), 2)}
        # by cohort (the year the packs were built): a fleet mean mixes new packs with old ones and falls or rises
        # with the mix; a cohort's mean follows the same packs as they age
        row["cohorts"] = {}
        for built in sorted({int(y) for y in f.made[veh]}):
            sel = veh & (f.made == built)
            v = f.soh[sel]
            row["cohorts"][str(built)] = {"n": int(sel.sum()), "age_years": year - built,
                                          "mean": round(float(v.mean()), 2),
                                          "mean_cycles": round(float(f.fec[sel].mean()), 1)}
        sl = f.state == STATE_SECOND_LIFE
        if sl.any():
            row["second_life"] = {"n": int(sl.sum()), "mean": round(float(f.soh[sl].mean()), 2)}
        self.soh_by_year.append(row)


def run_pilot(services: Any, config: PilotConfig | None = None, *, references: References | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Play the pilot (see the module text) and return its report (also stored in ``pilot_runs``)."""
    cfg = config or PilotConfig()
    store = services.store
    if not (store.is_sqlite and cfg.packs >= BIG_CACHE_FROM_PACKS):
        return _play(services, cfg, references, progress)
    before = store.set_sqlite_cache_mib(max(PILOT_SQLITE_CACHE_MIB, store.sqlite_cache_mib))
    try:
        return _play(services, cfg, references, progress)
    finally:
        store.set_sqlite_cache_mib(before)


def _play(services: Any, cfg: PilotConfig, references: References | None,
          progress: Callable[[str, int, int], None] | None) -> dict[str, Any]:
    from .report import build_report, save_report

    run = PilotRun(services, cfg, references=references, progress=progress)
    t0 = time.perf_counter()
    tokens = run.setup()
    from .lanzhou import LanzhouFleets  # the CATL–Lanzhou fleets and integrated station (sim/lanzhou.py)

    lanzhou = LanzhouFleets(run) if cfg.lanzhou else None
    if lanzhou is not None:
        lanzhou.setup()
    if cfg.packs >= VERIFY_BEHIND_FROM_PACKS:
        from ..trace.verify_behind import VerifierBehind

        # when the year's balance reads the kept mass balance (the default settings), the worker keeps it folded
        # as the ledger grows (whole batches): the year's balance folds only the tail
        run.behind = VerifierBehind(services.store, services.trace.ledger.max_future_seconds,
                                    fold_mass_balance=services.trace.settings.keeps_mass_balance)
    if cfg.dataspace:
        from .dataspace import start_dataspace

        run.dataspace = start_dataspace(services, services.settings.var_dir / "nodes", run)
    # the pilot keeps what it builds (fleet, passports' patches, the report's years): a full collection
    # rescans all of it, more of it each year. Collected once a year and frozen (gc.freeze), the years behind
    # are not scanned again; fewer young collections (a higher first threshold). Restored at the end.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 20_000), *thresholds[1:])
    try:
        plan = production_plan(cfg.packs, cfg.years)
        first = 0
        built = 0
        for j in range(cfg.years):
            gc.collect()
            gc.freeze()
            year = cfg.start_year + j
            run.years.append(year)
            run.progress(f"{year}: building {plan[j]:,} packs", built, cfg.packs)
            run.produce(year, first, plan[j])
            first += plan[j]
            if lanzhou is not None:
                lanzhou.build(year)  # the Lanzhou fleets' new packs: the year's production is then complete
            run.flush()
            run.year_balance(year)  # its balance, final now: written with the packs' December report (use)
            built += plan[j]
            run.progress(f"{year}: driving, BMS reports", built, cfg.packs)
            run.baas_year(year)
            run.use(year)
            run.flush()
            if lanzhou is not None:
                lanzhou.year(year)
            run.progress(f"{year}: second-life hubs", built, cfg.packs)
            run.second_life_year(year)  # the packs in second life during the year, before December's changes
            # the rest of the year's figures (the Lanzhou packs'), before December's retirements
            run.progress(f"{year}: recycled content into the passports", built, cfg.packs)
            run.apply_recycled_content(year)
            run.progress(f"{year}: retiring, routing, recycling", built, cfg.packs)
            run.retire(year)
            run.flush()
            if run.dataspace is not None:
                run.dataspace.pull_retired(year)
            run.snapshot(year)
        run.progress("settling: the years marked stale, applied again", built, cfg.packs)
        run.settle_recycled_content()
        run.progress("verifying ledger, writing report", built, cfg.packs)
        report = build_report(run, time.perf_counter() - t0)
        report["lanzhou"] = lanzhou.report() if lanzhou is not None else None
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        run.sealer.close()
        if run.behind is not None:
            run.behind.close()
        if run.dataspace is not None:
            run.dataspace.stop()
    report["_tokens"] = tokens
    save_report(services.store, cfg, report)
    return report
