"""The pilot's CATL–Lanzhou part: the regional fleets an integrated station at Lanzhou serves — city buses, heavy
trucks on battery swapping, delivery two-wheelers, and a Yellow River cruise boat whose packs are charged aboard at
its pier (each charge diagnosed like a swap) — and the station itself (PV + storage + charging/swap + battery
diagnostics), played year by year beside the closed loop (:mod:`batteryloop.sim.loop`).

* **Packs and passports.** Each segment's pack design (reference set ``lanzhou_fleets``) is a battery model of the
  Chinese cell maker (Jade Power Battery Co.); its packs — the vehicles' and the station's spares — are built
  through the pilot's material chain (:meth:`batteryloop.sim.supply.MaterialChain.make_packs`: the Chinese cell
  plant's LFP cells, assembled at Jade Power's Lanzhou pack plant), so the ledger's mass balance gives them their
  Art. 8 recycled content like the automaker's packs; they get passports in one batch per year, owned by the
  station's operator (battery as a service: it buys the packs and swaps them), each with signed
  ``passport_issued``, ``change_of_owner`` and ``installation`` events.
* **Swaps and diagnoses** (:func:`batteryloop.hubs.fleets.swap_year`, vectorised per segment): every swap is
  diagnosed at the station; each pack's year-end state of health is the mean of its last diagnoses. It goes into the
  passports through the health service's state-of-health write path
  (:meth:`batteryloop.health.service.HealthService.publish_soh_many`: the custodian's right, the fit checks, counters
  that only grow; one transaction for all packs) with one signed ``soh_update`` event per pack — the operator's key
  signs, the ledger verifies.
* **Retirement into the station's storage.** A pack whose diagnosed state of health falls below the threshold
  leaves its fleet (signed ``removal``), is repurposed by the operator (a new passport linked to the old,
  ``repurposing`` event) and joins the station's stationary storage; a new pack replaces it next year. Storage packs
  age by the second-life fade model at the station's duty and report their state of health yearly the same way.
* **The station's energy** (:mod:`batteryloop.hubs`): its PV, its storage of retired packs and the grid, with the
  fleets' swap charging as its (flexible) load, simulated on eight days a year (two in each season, optimised
  dispatch) and scaled to the year: the park figures the zero-carbon ledger reads (``/zero-carbon``).

Cost per pack: its production events (a share of the chain's batches), one recycled-content version at the end of
its year (PilotRun.apply_recycled_content), and one passport version and one ledger event a year, in batches (a few
hundred packs in all).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..access import Caller
from ..hubs.fleets import Segment, segments, soh_drift_per_swap_pct, swap_year
from ..participants import Role
from ..passport.identifiers import UniqueIdentifier
from . import pilot
from .fade import chemistry_family
from .supply import Clock, PackMaterials, pack_materials

OPERATOR = "BPNL000000000LZ7"
PARTICIPANT = {"id": OPERATOR, "name": "Huanghe Swap & Energy Station Co. (Lanzhou)", "country": "CN",
               "roles": ["baas_operator", "second_life_operator"]}
MAKER = pilot.CELL_CN
MAKER_SITE = ("CN", "Jade Power Lanzhou New Area pack plant")
REGION = "CN"
SITE = "Lanzhou"
STATION = "Lanzhou integrated station (PV + storage + swap + diagnostics)"
PIER = "Lanzhou Yellow River pier (the operator's charger and diagnostics)"
MODEL_IDS = {"bus": "JP-BUS-LFP-324", "truck": "JP-TRUCK-LFP-171", "two_wheeler": "JP-2W-LFP-1440WH",
             "boat": "JP-MARINE-LFP-500"}
MODEL_NAMES = {"bus": "Jade Power city-bus pack 324 kWh LFP", "truck": "Jade Power heavy-truck swap block 171 kWh LFP",
               "two_wheeler": "Jade Power two-wheeler swap pack 1.44 kWh LFP",
               "boat": "Jade Power marine pack 500 kWh LFP (river-cruise boat, 15 aboard)"}
SERIAL_CODE = {"bus": "BUS", "truck": "TRK", "two_wheeler": "2W", "boat": "BOAT"}
# the two-wheelers are swap e-mopeds (category L of Regulation (EU) No 168/2013; Annex II: 20 cycles a year); the boat
# has no vehicle category (Annex II's functional unit is for vehicles)
VEHICLE_CATEGORY = {"bus": "M3", "truck": "N3", "two_wheeler": "L", "boat": None}
# Regulation (EU) 2023/1542, Art. 3: EV batteries are those of road vehicles (L, M, N); a boat's traction battery
# is an industrial battery, an e-bike's an LMT battery
CATEGORY = {"bus": "ev", "truck": "ev", "two_wheeler": "lmt", "boat": "industrial"}
HUB_WEEKS, HUB_DAYS_PER_WEEK = 4, 2  # a one-day window loses the swap backlog it leaves at midnight


def _signer() -> Any:
    from ..trace.keys import Signer

    return Signer.from_seed(OPERATOR, hashlib.sha256(b"batteryloop-demo-key:" + OPERATOR.encode()).digest())


def battery_model(seg: Segment, first_year: int | None = None) -> dict[str, Any]:
    """The segment's pack design as a battery model of the Chinese cell maker; ``first_year``: the year its first
    packs are made (its test reports are dated the year before)."""
    m = pilot._model(MODEL_IDS[seg.name], MODEL_NAMES[seg.name], seg.chemistry, seg.pack_energy_kwh,
                     seg.nominal_voltage_v, MAKER, seg.pack_kg_per_kwh, int(seg.expected_lifetime_cycles), 0.072,
                     [{"material": "LiFePO4", "cas_number": "15365-14-7", "mass_fraction_pct": 95.0}], {},
                     [{"name": "lithium hexafluorophosphate", "cas_number": "21324-40-3", "location": "electrolyte",
                       "hazard_class": "Acute Tox. 3"}], first_year)
    m.pop("recycled_content", None)
    # the catalogue's footprint figure is a placeholder: a road vehicle's is computed by the Annex II method at
    # set-up (LanzhouFleets.setup; the study link stays), the boat's battery is an industrial one, for which the
    # reference data hold no functional unit, so it declares none rather than a made-up figure
    if VEHICLE_CATEGORY[seg.name] is None:
        m.pop("carbon_footprint", None)
    m.update({"manufacturer_id": MAKER, "manufacturer_name": "Jade Power Battery Co.",
              "manufacturer_address": "Lanzhou New Area, Gansu, CN",
              "category": CATEGORY[seg.name],
              "vehicle_category": VEHICLE_CATEGORY[seg.name],
              "capacity_threshold_exhaustion_pct": seg.capacity_threshold_pct,
              "collection_information": "Packs are owned by the swap operator and returned at its stations.",
              "warranty_years": 8 if seg.name != "two_wheeler" else 3, "warranty_km": None})
    m["spare_parts"] = [{**p, "supplier_name": "Jade Power Battery Co."} for p in m["spare_parts"]]
    # the safety report of the battery's category (an e-moped's LMT battery, the boat's industrial one)
    m["test_reports"] = [r if r["url"].endswith("-un383.pdf") else {**r, **pilot.SAFETY_TEST_REPORT[m["category"]]}
                         for r in m["test_reports"]]
    return {k: v for k, v in m.items() if v is not None}


@dataclass
class Pool:
    """A segment's packs, one array element per pack (in order of issue)."""

    seg: Segment
    ledger_id: list[str] = field(default_factory=list)
    passport: list[str] = field(default_factory=list)
    place: list[str] = field(default_factory=list)  # vehicle id or "spare"
    made: list[int] = field(default_factory=list)
    state: list[str] = field(default_factory=list)  # "fleet", "storage"
    fec: np.ndarray = field(default_factory=lambda: np.zeros(0))
    age: np.ndarray = field(default_factory=lambda: np.zeros(0))
    k_eff: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cal_eff: np.ndarray = field(default_factory=lambda: np.zeros(0))
    soh: np.ndarray = field(default_factory=lambda: np.zeros(0))  # true state of health (%)
    est: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the latest diagnosed estimate (%)

    def in_state(self, s: str) -> np.ndarray:
        return np.array([x == s for x in self.state], dtype=bool)


class LanzhouFleets:
    """The Lanzhou fleets and station inside a :class:`~batteryloop.sim.loop.PilotRun` (``run``)."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.s = run.s
        self.t = run.t
        self.segs = segments(tracker=self.t)
        self.rng = np.random.default_rng(run.cfg.seed + 18)
        self.sigma = float(self.t.get("lanzhou_fleets", "diagnosis_sigma_soh_pct"))
        self.averaged = int(self.t.get("lanzhou_fleets", "diagnoses_averaged"))
        self.retire_pct = float(self.t.get("lanzhou_fleets", "retirement_soh_pct"))
        self.temperature_c = float(self.t.get("lanzhou_fleets", "mean_temperature_c"))
        self.pools = {name: Pool(seg) for name, seg in self.segs.items()}
        self.caller = Caller(OPERATOR, frozenset(Role(r) for r in PARTICIPANT["roles"]))
        self.maker = run.callers[MAKER]
        self.models: dict[str, dict[str, Any]] = {}
        self.by_year: list[dict[str, Any]] = []
        self.hub_by_year: list[dict[str, Any]] = []
        self.versions = 0
        self.events: Counter[str] = Counter()
        self._site: dict[str, Any] | None = None
        self._swap: dict[str, Any] | None = None
        self._station_key: tuple[Any, ...] | None = None
        self._materials: dict[str, PackMaterials] = {}  # segment → what one of its packs is made of
        self._chain_clock: Clock | None = None  # the year's material-chain events (every segment's, in order)
        self._built: dict[int, dict[str, int]] = {}  # year → new packs per segment, made by build()

    # ------------------------------------------------------------------------------------------- set-up
    def setup(self) -> None:
        """Register the station's operator (with its demo key) and the segments' battery models."""
        signer = _signer()
        self.s.participants.create({**PARTICIPANT, "public_key": signer.public_key_text})
        self.run.signers[OPERATOR] = signer
        self.run.writer.signers[OPERATOR] = signer
        self.run.callers[OPERATOR] = self.caller
        self.run.names[OPERATOR] = PARTICIPANT["name"]
        from ..trace.keystore import KeyStore

        KeyStore(self.s.settings.var_dir / "keys").save(signer)
        self.run.plant_country[MAKER_SITE[1]] = MAKER_SITE[0]  # the report's recycled content by plant names it
        for name, seg in self.segs.items():
            m = battery_model(seg, self.run.cfg.start_year)  # its packs are made from the pilot's first year
            self.s.passports.create_model(m, self.maker)
            if m.get("vehicle_category"):
                # Art. 7 / Annex II: the footprint by the method, for the segment's vehicle category (cycles a year)
                # and warranty, with the grid of the country the cells are made in (the maker's, CN)
                self.s.circular.apply_model_footprint(m["model_id"], self.maker, manufacturing_country=MAKER_SITE[0],
                                                      references=self.run.refs)
            self.models[name] = m

    def _sign(self, ev: dict[str, Any]) -> None:
        self.events[ev["kind"]] += 1
        self.run.sign(ev)

    # ------------------------------------------------------------------------------------- new packs
    def _issue(self, year: int, name: str, count: int, places: list[str]) -> None:
        """``count`` new packs of segment ``name``: passports (one batch), issue, lease to the operator, install."""
        p = self.pools[name]
        seg = p.seg
        m = self.models[name]
        fade = self.run.fade
        k = fade.cycle_k(seg.expected_lifetime_cycles, seg.capacity_threshold_pct)
        cal = fade.calendar_b[chemistry_family(seg.chemistry)] * float(fade.arrhenius(self.temperature_c))
        first = len(p.ledger_id)
        records = []
        made = dt.date(year, 1, 8)
        for j in range(count):
            serial = f"LZ-{SERIAL_CODE[name]}-{self.run.cfg.seed:03d}-{year % 100:02d}-{first + j:05d}"
            pid = UniqueIdentifier(self.s.settings.issuing_agency_code, MAKER, serial).text
            p.ledger_id.append(pid)
            p.passport.append(pid)
            p.place.append(places[j])
            p.made.append(year)
            p.state.append("fleet")
            records.append({
                "serial_number": serial, "model_id": m["model_id"], "economic_operator_id": MAKER,
                "manufacture_date": made.isoformat(), "manufacture_country": MAKER_SITE[0],
                "manufacture_site": MAKER_SITE[1], "mass_kg": m["mass_kg"], "status": "original",
                "owner_id": OPERATOR, "putting_into_service_date": (made + dt.timedelta(days=7)).isoformat(),
                "state_of_health": {"soh_capacity_pct": 100.0, "remaining_capacity_ah": m["rated_capacity_ah"],
                                    "remaining_energy_kwh": m["rated_energy_kwh"],
                                    "remaining_round_trip_efficiency_pct": m["initial_round_trip_efficiency_pct"],
                                    "ohmic_resistance_increase_pct": 0.0,
                                    "measured_at": f"{made.isoformat()}T12:00:00+00:00"},
                "usage": {"full_equivalent_cycles": 0.0, "energy_throughput_kwh": 0.0, "capacity_throughput_ah": 0.0}})
        eps = self.rng.lognormal(0.0, fade.sigma_log_k, size=count)
        p.fec = np.concatenate([p.fec, np.zeros(count)])
        p.age = np.concatenate([p.age, np.zeros(count)])
        p.k_eff = np.concatenate([p.k_eff, k * eps])
        p.cal_eff = np.concatenate([p.cal_eff, np.full(count, cal)])
        p.soh = np.concatenate([p.soh, np.full(count, 100.0)])
        p.est = np.concatenate([p.est, np.full(count, 100.0)])
        # the material chain, mines to packs: Jade Power's cells (the pilot's Chinese cell plant, its LFP cathode
        # drawing on the same primary and recovered salts) assembled at its Lanzhou pack plant — so the ledger's
        # balance gives these packs their Art. 8 recycled content too (PilotRun.apply_recycled_content)
        if name not in self._materials:
            self._materials[name] = pack_materials(seg.chemistry, seg.pack_energy_kwh, self.run.refs)
        if self._chain_clock is None or self._chain_clock.t.year != year:  # one clock a year: its events in order
            self._chain_clock = Clock(dt.datetime(year, 1, 8, 6, tzinfo=dt.UTC),
                                      random.Random(self.run.cfg.seed * 7907 + year))
        for ev in self.run.chain.make_packs({**m, "cell_maker": MAKER}, self._materials[name],
                                            [(pid, *MAKER_SITE) for pid in p.ledger_id[first:]], self._chain_clock,
                                            assembler=MAKER):
            self.run.emit(ev)
        r = self.s.passports.import_passports(records, self.maker)
        if r.errors:
            raise RuntimeError(f"Lanzhou pack passport refused: {r.errors[0]['message']}")
        t0 = dt.datetime(year, 1, 15, 8, tzinfo=dt.UTC)
        for j in range(count):
            i = first + j
            pid = p.ledger_id[i]
            at = t0 + dt.timedelta(seconds=3 * i + 60 * list(self.segs).index(name) * 1000)
            self._sign({"id": f"{pid}-issued", "kind": "passport_issued", "actor": MAKER, "occurred_at": at.isoformat(),
                        "place": {"country": MAKER_SITE[0], "site": "passport service"}, "subjects": [pid],
                        "data": {"passport_id": pid, "model_id": m["model_id"]}})
            self._sign({"id": f"{pid}-lease", "kind": "change_of_owner", "actor": MAKER,
                        "occurred_at": (at + dt.timedelta(seconds=1)).isoformat(),
                        "place": {"country": REGION, "site": "battery-as-a-service contract"}, "subjects": [pid],
                        "data": {"to_holder": OPERATOR}})
            self._sign({"id": f"{pid}-install", "kind": "installation", "actor": OPERATOR,
                        "occurred_at": (at + dt.timedelta(seconds=2)).isoformat(),
                        "place": {"country": REGION, "site": self._where(name)},
                        "subjects": [pid], "data": {"vehicle_id": p.place[i]}})

    def _where(self, name: str) -> str:
        """Where a segment's packs are swapped (the station's lane) or charged (the boat's pier)."""
        return f"{SITE} {name.replace('_', '-')} swap station" if self.segs[name].swapped else PIER

    def _vehicle(self, name: str, v: int) -> str:
        return f"LZ{self.run.cfg.seed:02d}{name[:2].upper()}{v:05d}"

    def _fill(self, year: int) -> dict[str, int]:
        """Fill every pool to its size: the first year all of it, later the retired packs' places."""
        new = {}
        for name, p in self.pools.items():
            seg = p.seg
            in_fleet = int(p.in_state("fleet").sum())
            missing = seg.pool - in_fleet
            if missing <= 0:
                new[name] = 0
                continue
            taken = Counter(x for x, s in zip(p.place, p.state, strict=True) if s == "fleet")
            places = []
            for v in range(seg.vehicles):
                places += [self._vehicle(name, v)] * (seg.packs_per_vehicle - taken.get(self._vehicle(name, v), 0))
            places += ["station spare"] * (seg.spare_packs - taken.get("station spare", 0))
            self._issue(year, name, missing, places[:missing])
            new[name] = missing
        return new

    # ------------------------------------------------------------------------------------------- a year
    def build(self, year: int) -> None:
        """The year's new packs (made, passports issued), right after the automaker's: the year's production is
        then complete, and its balance can be computed (PilotRun.year_balance)."""
        t0 = time.perf_counter()
        self._built[year] = self._fill(year)
        self.run.timings["lanzhou fleets"] += time.perf_counter() - t0

    def year(self, year: int) -> None:
        t0 = time.perf_counter()
        new = self._built.pop(year, None)
        if new is None:
            new = self._fill(year)
        self.run.flush()  # the operator is the packs' custodian in the ledger before it writes their health
        fade = self.run.fade
        row: dict[str, Any] = {"year": year, "segments": {}}
        items: dict[str, Any] = {}
        usage: dict[str, dict[str, float]] = {}
        subject: dict[str, str] = {}
        place: dict[str, str] = {}
        retiring: list[tuple[str, int]] = []
        for name, p in self.pools.items():
            seg = p.seg
            sel = np.flatnonzero(p.in_state("fleet"))
            year_fraction = np.array([1.0 if p.made[i] < year else 50 / 52 for i in sel])
            yf = float(year_fraction.mean()) if len(sel) else 1.0
            sy = swap_year(seg, p.fec[sel], p.age[sel], p.k_eff[sel], p.cal_eff[sel], p.soh[sel], fade, self.rng,
                           sigma_pct=self.sigma, averaged=self.averaged, year_fraction=yf)
            p.fec[sel] += sy.fec_added
            p.age[sel] += yf
            p.soh[sel] = sy.soh_true_pct
            ok = ~np.isnan(sy.soh_estimate_pct)
            p.est[sel[ok]] = sy.soh_estimate_pct[ok]
            when = dt.datetime(year, 12, 20, 10, tzinfo=dt.UTC)
            for j, i in enumerate(sel):
                if not ok[j]:
                    continue
                pid = p.passport[i]
                items[pid] = self._soh(p, i, when + dt.timedelta(seconds=len(items)), int(sy.swaps_per_pack[j]))
                usage[pid] = self._usage(p, i)
                subject[pid] = p.ledger_id[i]
                place[pid] = self._where(name)
                if p.est[i] < self.retire_pct:
                    retiring.append((name, int(i)))
            err = sy.diagnosis_error_pct[ok]
            days = seg.operating_days_per_year * yf
            row["segments"][name] = {
                "packs_in_fleet": int(len(sel)), "new_packs": new.get(name, 0),
                "station_swaps": sy.station_swaps, "swaps_per_day": round(sy.station_swaps / days, 2) if days else 0.0,
                "diagnoses": sy.diagnoses, "energy_kwh": round(sy.energy_kwh, 1),
                "soh_true_mean_pct": round(float(sy.soh_true_pct.mean()), 2) if len(sel) else None,
                "soh_diagnosed_mean_pct": round(float(np.nanmean(sy.soh_estimate_pct)), 2) if ok.any() else None,
                "diagnosis_rms_error_pct": round(float(np.sqrt(np.mean(err ** 2))), 3) if ok.any() else None,
                "mean_fec": round(float(p.fec[sel].mean()), 1) if len(sel) else None}
        # the station's storage: retired packs age at the station's duty (second-life model) and report yearly
        sl_rows = self._storage_year(year, items, usage, subject, place)
        t1 = time.perf_counter()
        res = self.s.health.publish_soh_many(items, self.caller, reason=f"swap-station diagnoses {year}",
                                             usage=usage, place={"country": REGION, "site": STATION})
        self.run.timings["passports"] += time.perf_counter() - t1
        self.versions += res["versions"]
        for ev in res["events"]:
            pid = ev["subjects"][0]
            ev["subjects"] = [subject[pid]]  # the pack's chain (a repurposed pack keeps its first passport's chain)
            ev["place"] = {"country": REGION, "site": place[pid]}
            self._sign(ev)
        retired = self._retire(year, retiring)
        for name, n in retired.items():
            row["segments"][name]["retired_to_storage"] = n
        row["storage"] = sl_rows
        self.by_year.append(row)
        self.run.flush()
        self.hub_by_year.append(self._station_year(year))
        self.run.timings["lanzhou fleets"] += time.perf_counter() - t0

    def _soh(self, p: Pool, i: int, when: dt.datetime, swaps: int) -> Any:
        from ..health.soh import StateOfHealth

        m = self.models[p.seg.name]
        est = float(p.est[i])
        rated = float(m["rated_capacity_ah"])
        resistance = round(max(0.0, 100 - est) * self.run.fade.resistance_pct_per_pct_loss, 1)
        # the round-trip efficiency of the pack's state (circular.second_life: the model's initial one, its losses
        # grown with the resistance), as the pilot's other packs report it
        rte0 = float(m["initial_round_trip_efficiency_pct"])
        rte = round(100 * float(self.run.sl_degradation.round_trip_efficiency(rte0 / 100, resistance)), 2)
        return StateOfHealth(
            measured_at=when, cycle=None, rated_capacity_ah=rated, rated_capacity_estimated=False,
            remaining_capacity_ah=round(rated * est / 100, 2), soh_capacity_pct=round(est, 2),
            initial_internal_resistance_ohm=None, internal_resistance_ohm=None,
            resistance_increase_pct=resistance,
            remaining_power_capability_pct=None, initial_round_trip_efficiency_pct=rte0, round_trip_efficiency_pct=rte,
            round_trip_efficiency_fade_pct=round(rte0 - rte, 2), self_discharge_mv_per_day=None,
            full_equivalent_cycles=round(float(p.fec[i]), 2), energy_throughput_kwh=0.0, capacity_throughput_ah=0.0,
            cycles_counted=swaps, method="swap-station diagnosis: mean of the pack's last diagnoses (batteryloop.hubs.fleets)")

    def _usage(self, p: Pool, i: int) -> dict[str, float]:
        m = self.models[p.seg.name]
        fec = float(p.fec[i])
        return {"full_equivalent_cycles": round(fec, 2), "energy_throughput_kwh": round(fec * m["rated_energy_kwh"], 1),
                "capacity_throughput_ah": round(fec * m["rated_capacity_ah"], 1)}

    # ------------------------------------------------------------------------------------- retirement
    def _retire(self, year: int, retiring: list[tuple[str, int]]) -> dict[str, int]:
        """Diagnosed below the threshold: out of the fleet, repurposed by the operator into the station's storage."""
        out: Counter[str] = Counter()
        if not retiring:
            return dict(out)
        t0 = dt.datetime(year, 12, 27, 9, tzinfo=dt.UTC)
        for n, (name, i) in enumerate(retiring):
            p = self.pools[name]
            lid = p.ledger_id[i]
            at = t0 + dt.timedelta(seconds=5 * n)
            self._sign({"id": f"{lid}-removal-{year}", "kind": "removal", "actor": OPERATOR, "occurred_at": at.isoformat(),
                        "place": {"country": REGION, "site": self._where(name)},
                        "subjects": [lid], "data": {"vehicle_id": p.place[i],
                                                     "reason": f"diagnosed state of health below {self.retire_pct:g} %"}})
        note = "stationary storage at the Lanzhou integrated station"
        olds = [self.pools[name].passport[i] for name, i in retiring]
        new = dict(zip(olds, self.s.passports.change_statuses_in_order(
            # the station's operator repurposes them into its storage: industrial batteries now (Art. 3(1)(13)), of
            # a model of its own (PilotRun.second_life_model)
            [(pid, "repurpose", self.caller, note,
              self.run.second_life_model(self.models[name], PARTICIPANT, year, float(self.pools[name].soh[i])))
             for pid, (name, i) in zip(olds, retiring, strict=True)]), strict=True))
        for n, (name, i) in enumerate(retiring):
            p = self.pools[name]
            lid = p.ledger_id[i]
            p.passport[i] = new[p.passport[i]]
            p.state[i] = "storage"
            p.place[i] = "station storage"
            at = t0 + dt.timedelta(seconds=5 * n + 2)
            self._sign({"id": f"{lid}-repurpose-{year}", "kind": "repurposing", "actor": OPERATOR,
                        "occurred_at": at.isoformat(), "place": {"country": REGION, "site": STATION},
                        "subjects": [lid], "data": {"holder": OPERATOR, "new_passport_id": p.passport[i],
                                                    "application": STATION}})
            out[name] += 1
        return dict(out)

    def _storage_year(self, year: int, items: dict[str, Any], usage: dict[str, dict[str, float]],
                      subject: dict[str, str], place: dict[str, str]) -> dict[str, Any]:
        duty_fec = float(self.hub_by_year[-1]["storage_fec_per_pack"]) if self.hub_by_year else 0.0
        sl = self.run.sl_degradation
        n, kwh = 0, 0.0
        when = dt.datetime(year, 12, 21, 10, tzinfo=dt.UTC)
        for name, p in self.pools.items():
            for i in np.flatnonzero(p.in_state("storage")):
                duty = self.run._sl_duty(REGION, max(duty_fec, 1.0))  # the route model's second-life duty defaults
                s = float(p.soh[i]) / 100
                r = max(0.0, 100.0 - float(p.soh[i])) * self.run.fade.resistance_pct_per_pct_loss
                p.soh[i] = float(np.clip(100 * sl.advance(s, 1.0, sl.fade_ref(p.seg.chemistry), r, duty), 0.0, 100.0))
                p.fec[i] += duty_fec
                p.age[i] += 1.0
                p.est[i] = round(float(p.soh[i] + self.rng.normal(0.0, self.sigma / np.sqrt(self.averaged))), 2)
                if p.est[i] < 45.0:  # below what a passport may credibly state: keep it at the end of second life
                    continue
                pid = p.passport[i]
                items[pid] = self._soh(p, int(i), when + dt.timedelta(seconds=len(items)), 0)
                usage[pid] = self._usage(p, int(i))
                subject[pid] = p.ledger_id[i]
                place[pid] = STATION
                n += 1
                kwh += p.seg.pack_energy_kwh * float(p.soh[i]) / 100
        return {"packs": n, "usable_kwh": round(kwh, 1)}

    # ------------------------------------------------------------------------------------- the station
    def station_config(self, year: int) -> dict[str, Any]:
        """The integrated station as a hub: Lanzhou's site, the fleets' swap charging as its load, the storage of
        retired packs (strings of four packs of one design, by state of health)."""
        from ..hubs.service import DEMO_TEMPLATE, _merge
        from ..hubs.sites import site_template

        swapped = [p.seg for p in self.pools.values() if p.seg.swapped]  # the boat charges at its pier, not here
        swaps = sum(seg.station_swaps_per_day() for seg in swapped)
        energy = sum(seg.station_energy_kwh_per_day() for seg in swapped)
        chargers = sum(seg.station_chargers for seg in swapped)
        power = sum(seg.station_chargers * seg.station_charger_kw for seg in swapped)
        window = float(np.mean([seg.swap_window_fraction for seg in swapped]))
        strings = []
        # packs 2 points above the end of second life (60 %, batteryloop_assumptions.second_life_end_soh_fraction:
        # the hub retires a string there), strongest first
        above = pilot.second_life_end_soh_pct(self.t) + 2.0
        for name, p in self.pools.items():
            idx = sorted((i for i in np.flatnonzero(p.in_state("storage")) if p.soh[i] > above), key=lambda i: -p.soh[i])
            for k in range(0, len(idx) - 3, 4):
                packs = [{"pack_id": p.ledger_id[i], "passport_id": p.passport[i], "chemistry": p.seg.chemistry,
                          "nominal_energy_kwh": p.seg.pack_energy_kwh,
                          "soh_fraction": round(float(p.soh[i]) / 100, 4)} for i in idx[k:k + 4]]
                strings.append({"string_id": f"{name}-{k // 4 + 1}", "packs": packs})
        if not strings:
            # no retired pack yet: the dispatch needs a string, so a 4 Wh placeholder stands in (it moves under
            # 1 Wh a day: the station then runs on PV and grid alone, its swap charging still shifted to the sun)
            strings = [{"string_id": "none-yet", "packs": [{"pack_id": f"placeholder-{k}", "chemistry": "LFP",
                                                             "nominal_energy_kwh": 0.001, "soh_fraction": 1.0}
                                                            for k in range(4)]}]
        t = self.t
        if self._site is None:
            self._site = site_template(SITE, references=self.run.refs)
        return _merge(_merge(DEMO_TEMPLATE, self._site), {
            "name": STATION, "start_date": f"{year}-01-01", "pv_kwp": float(t.get("lanzhou_fleets", "station_pv_kwp")),
            "grid": {"import_limit_kw": float(t.get("lanzhou_fleets", "station_import_limit_kw")),
                     "export_limit_kw": float(t.get("lanzhou_fleets", "station_export_limit_kw"))},
            "ev_charging": {"sessions_per_day": 0.0},
            "swap": self._swap_demand(swaps, energy, window, chargers, power),
            "strings": strings})

    def _swap_demand(self, swaps: float, energy: float, window: float, chargers: int, power: float) -> dict[str, Any]:
        """The station's swap demand for the hub model: its swaps a day, and a pack size at which the hub's swap
        model (``hubs.hub``: energy per served swap from the swap-station simulation) charges the fleets' daily
        energy — the model's energy per swap is proportional to the pack size, so one trial calibrates it."""
        if self._swap is None:
            from ..hubs.hub import SwapDemand, _swap_kwh_per_swap

            d = {"swaps_per_day": round(swaps, 2), "pack_energy_kwh": round(energy / swaps / window, 2),
                 "packs_in_station": sum(p.seg.spare_packs for p in self.pools.values() if p.seg.swapped),
                 "reserve_ready_packs": 0,
                 "chargers": chargers, "simulated_days": 2, "charger_power_kw": round(power / chargers, 2)}
            per_swap, _ = _swap_kwh_per_swap(SwapDemand(**d))
            if per_swap > 0:
                d["pack_energy_kwh"] = round(d["pack_energy_kwh"] * (energy / swaps) / per_swap, 3)
            self._swap = d
        return dict(self._swap)

    def _station_year(self, year: int) -> dict[str, Any]:
        """The station's year: simulated when its storage changed (packs joined or left it), else last year's
        figures carried over (the same PV, tariff and load; the storage a year older)."""
        # its storage's strings (four packs of one design each): a pack that cannot complete a string is not in it
        key = tuple((n, int(self.pools[n].in_state("storage").sum()) // 4) for n in self.pools)
        if self.hub_by_year and key == self._station_key:
            return {**self.hub_by_year[-1], "year": year, "simulated": False}
        self._station_key = key
        out = self._simulate_station(year)
        return {**out, "simulated": True}

    def _simulate_station(self, year: int) -> dict[str, Any]:
        from ..hubs import prepare_hub
        from ..hubs.ledger import park_year
        from ..hubs.year import simulate_year

        cfg = self.station_config(year)
        h = prepare_hub(cfg, self.run.refs)
        park: dict[str, float] = {}
        days = 0
        discharged = 0.0
        first = (self.run.cfg.seed + 11 * (year - self.run.cfg.start_year)) % 91
        for w in range(HUB_WEEKS):
            res = simulate_year(h, days=HUB_DAYS_PER_WEEK, method="optimised", start_day=(first + w * 365 // HUB_WEEKS) % 365,
                                references=self.run.refs)
            for k, v in park_year(res).items():
                park[k] = park.get(k, 0.0) + v
            days += res.days
            discharged += float(res.totals["discharge_kwh"])
        scale = 365 / days
        real = [s for s in cfg["strings"] if s["string_id"] != "none-yet"]
        storage_kwh = sum(p["nominal_energy_kwh"] * p["soh_fraction"] for s in real for p in s["packs"])
        n_packs = sum(len(s["packs"]) for s in real)
        return {"year": year, "storage_strings": len(real), "storage_packs": n_packs,
                "storage_kwh": round(storage_kwh, 1), "pv_kwp": cfg["pv_kwp"], "simulated_days": days,
                "swaps_per_day": cfg["swap"]["swaps_per_day"],
                "fleet_charging_kwh_per_day": round(sum(p.seg.station_energy_kwh_per_day() for p in self.pools.values()
                                                        if p.seg.swapped), 1),
                "storage_fec_per_pack": round(discharged * scale / storage_kwh, 1) if storage_kwh > 0 else 0.0,
                "park": {"country": REGION, **{k: round(v * scale, 1) for k, v in park.items()}}}

    # ------------------------------------------------------------------------------------------- report
    def report(self) -> dict[str, Any]:
        return _plain(self._report())

    def _report(self) -> dict[str, Any]:
        fade = self.run.fade
        segs = {}
        for name, p in self.pools.items():
            seg = p.seg
            k = fade.cycle_k(seg.expected_lifetime_cycles, seg.capacity_threshold_pct)
            segs[name] = {
                "model_id": MODEL_IDS[name], "category": CATEGORY[name], "charging": seg.charging,
                "chemistry": seg.chemistry, "pack_energy_kwh": seg.pack_energy_kwh,
                "nominal_voltage_v": seg.nominal_voltage_v, "vehicles": seg.vehicles,
                "packs_per_vehicle": seg.packs_per_vehicle, "spare_packs": seg.spare_packs, "pool": seg.pool,
                "route_km_per_day": seg.route_km_per_day, "kwh_per_km": seg.kwh_per_km,
                "daily_energy_kwh": round(seg.daily_energy_kwh(), 2),
                "energy_per_swap_kwh_new": round(seg.energy_per_swap_kwh(), 2),
                "swaps_per_vehicle_day_new": round(seg.swaps_per_vehicle_day(), 3),
                "station_swaps_per_day_new": round(seg.station_swaps_per_day(), 2),
                "station_energy_kwh_per_day": round(seg.station_energy_kwh_per_day(), 1),
                "expected_lifetime_cycles": seg.expected_lifetime_cycles,
                "soh_drift_per_swap_pct_at_1000_fec": round(soh_drift_per_swap_pct(k, fade.z, 1000.0, seg.fec_per_swap()), 5),
                "passports": len(p.ledger_id)}
        return {"operator": OPERATOR, "operator_name": PARTICIPANT["name"], "maker": MAKER, "site": SITE,
                "station": STATION, "region": REGION, "segments": segs, "by_year": self.by_year,
                "hub_by_year": self.hub_by_year, "passport_versions": self.versions,
                "events": dict(sorted(self.events.items())),
                "diagnosis": {"sigma_soh_pct": self.sigma, "averaged": self.averaged,
                              "standard_error_pct": round(self.sigma / np.sqrt(self.averaged), 4)}}


def _plain(v: Any) -> Any:
    """NumPy scalars as Python numbers, recursively (the report is stored as JSON)."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
