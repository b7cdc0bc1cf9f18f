"""Circular use cases on stored passports: a model's carbon footprint, a retired pack's grade and route,
a model's compliance report, the retired packs a participant may route, and BaaS pricing against NIO.

The passport's carbon-footprint fields come from :func:`carbon_footprint` here
(:meth:`CircularService.apply_model_footprint`); a pack's route decision reads its state of health
from its passport — which is legitimate-interest data, so only callers holding that tier on the
battery may ask for it. The compliance report reads recycled content from the traceability ledger
(:class:`~batteryloop.trace.TraceService`, allocation rule a setting or an argument) and never invents
it: when no traced lots exist for the model and year, the report says so and checks nothing there.
"""

from __future__ import annotations

from typing import Any

from ..access import Allow, Caller, Resource, decide
from ..errors import Forbidden, InvalidData, NotFound
from ..health.grading import IntakeRecord, grade
from ..passport.service import PassportService
from ..passport.tiers import Tier
from ..reference import References
from .errors import CircularInputError
from .footprint import carbon_footprint
from .routes import decide_route


def _declared_mass_kg(battery: dict[str, Any], model: dict[str, Any]) -> float | None:
    """The pack mass a passport declares: the battery's own ``mass_kg`` (a measured mass that differs from its
    model's), else its model's; None when neither declares one."""
    for m in (battery.get("mass_kg"), model.get("mass_kg")):
        if m is not None and float(m) > 0:
            return float(m)
    return None


def input_error(exc: CircularInputError) -> InvalidData:
    """A circular input error as the platform's 422 (the field, the value and the rule)."""
    return InvalidData(str(exc), [{"field": exc.field, "rule": exc.rule, "message": str(exc), "value": exc.value}])


class CircularService:
    def __init__(self, passports: PassportService, participants: Any, trace: Any = None) -> None:
        self.passports = passports
        self.participants = participants
        self.trace = trace  # the node's TraceService (services.build_services); None: one is made when needed

    def resolve_model(self, ident: str) -> tuple[str, str | None]:
        """``ident`` is a battery model id, or a passport id (→ its model): (model_id, passport_id or None)."""
        try:
            self.passports.model_data(ident)
            return ident, None
        except NotFound:
            pass
        try:
            rec = self.passports.get_record(ident)
        except NotFound:
            raise NotFound(f"{ident!r} is neither a battery model nor a passport") from None
        return rec.model_id, ident

    @staticmethod
    def model_composition(m: dict[str, Any], references: References | None = None) -> Any:
        """A battery model's composition: its cells from its chemistry and rated energy (BatPaC), in a pack of
        the mass its passport declares (``mass_kg``: the whole battery Annex XII feeds in and Annex II ships);
        the hardware is the rest of that mass, by the pack design's shares. BatPaC's pack mass when the model
        declares none; a declared mass below its cells' or above 40 kg/kWh is refused naming ``mass_kg``."""
        return CircularService._model_composition(m, references)[0]

    @staticmethod
    def _model_composition(m: dict[str, Any], references: References | None = None) -> tuple[Any, str]:
        """:meth:`model_composition` and which pack mass it took, in words (for the report's notes)."""
        from .chemistry import declared_pack_composition

        energy = m.get("rated_energy_kwh") or m["rated_capacity_ah"] * m["nominal_voltage_v"] / 1000
        try:
            declared = m.get("mass_kg")
            # the one basis the route decision uses too (chemistry.declared_pack_composition)
            comp, basis = declared_pack_composition(m["chemistry"], energy, declared, references, field="mass_kg")
            if basis == "declared":
                comp = comp.model_copy(update={"notes": [*comp.notes, (
                    f"pack mass {float(declared):g} kg as the model's passport declares (mass_kg); cells "
                    f"{comp.cell_mass_kg:.6g} kg from BatPaC at {energy:g} kWh, hardware the rest")]})
                of_mass = "of the mass its passport declares"
            else:
                of_mass = f"of BatPaC's pack mass {comp.pack_mass_kg:.6g} kg (its passport declares none)"
        except CircularInputError as exc:
            raise input_error(exc) from None
        return comp, of_mass

    def footprint_for(self, ident: str, **kwargs: Any) -> dict[str, Any]:
        """:meth:`model_footprint` of a model, or of a passport's model (the footprint is declared per model)."""
        model_id, passport_id = self.resolve_model(ident)
        out = self.model_footprint(model_id, **kwargs)
        return {"passport_id": passport_id, **out} if passport_id else out

    def model_footprint(self, model_id: str, *, manufacturing_country: str | None = None,
                        annual_distance_km: float | None = None, usable_energy_fraction: float = 1.0,
                        class_limits_kgco2e_per_kwh: dict[str, float] | None = None,
                        references: References | None = None) -> dict[str, Any]:
        """Compute a model's carbon footprint (Art. 7) from its passport data and the reference sets."""
        r = self._footprint_result(model_id, manufacturing_country=manufacturing_country,
                                   annual_distance_km=annual_distance_km, usable_energy_fraction=usable_energy_fraction,
                                   class_limits_kgco2e_per_kwh=class_limits_kgco2e_per_kwh, references=references)
        return {"model_id": model_id, "passport_fields": r.to_passport_fields(), "result": r.model_dump(mode="json")}

    def _footprint_result(self, model_id: str, *, manufacturing_country: str | None = None,
                          annual_distance_km: float | None = None, usable_energy_fraction: float = 1.0,
                          class_limits_kgco2e_per_kwh: dict[str, float] | None = None,
                          references: References | None = None, composition: Any = None) -> Any:
        """``composition``: the model's (:meth:`model_composition`) when the caller has it already."""
        m = self.passports.model_data(model_id)
        country = manufacturing_country or self.participants.get(m["manufacturer_id"])["country"]
        energy = m.get("rated_energy_kwh") or m["rated_capacity_ah"] * m["nominal_voltage_v"] / 1000
        if not 0 < usable_energy_fraction <= 1:
            raise InvalidData("usable_energy_fraction must be in (0, 1]", [{
                "field": "usable_energy_fraction", "rule": "range", "value": usable_energy_fraction,
                "message": "usable_energy_fraction: must be in (0, 1]"}])
        if "warranty_years" not in m:
            raise InvalidData(f"model {model_id} has no warranty_years: the service life needs it (Annex II)", [{
                "field": "warranty_years", "rule": "required", "value": None,
                "message": "warranty_years: required to compute the carbon footprint"}])
        try:
            r = carbon_footprint(
                m["chemistry"], energy * usable_energy_fraction, m.get("vehicle_category") or "M1",
                m["warranty_years"], manufacturing_country=country, capacity_kwh=energy,
                composition=composition if composition is not None else self.model_composition(m, references),
                warranty_km=m.get("warranty_km") if annual_distance_km else None,
                annual_distance_km=annual_distance_km, class_limits_kgco2e_per_kwh=class_limits_kgco2e_per_kwh,
                references=references)
        except CircularInputError as exc:
            raise input_error(exc) from None
        return r

    def apply_model_footprint(self, model_id: str, caller: Caller, **kwargs: Any) -> dict[str, Any]:
        """Compute the footprint and write it into the model's passport data (a new model version)."""
        fp = self.model_footprint(model_id, **kwargs)
        fields = {k: v for k, v in fp["passport_fields"].items() if v is not None}
        self.passports.update_model(model_id, {"carbon_footprint": {**fields, "performance_class": fields.get("performance_class")}},
                                    caller, reason="carbon footprint computed (circular.footprint)")
        return fp

    def pack_route(self, passport_id: str, caller: Caller, *, economics: dict[str, float] | None = None,
                   prices_usd_per_kg: dict[str, float] | None = None,
                   references: References | None = None) -> dict[str, Any]:
        """Grade a retired pack from its passport (UL 1974-style intake) and rank its routes by NPV."""
        rec = self.passports.get_record(passport_id)
        self._may_read_health(rec, caller)
        return self._route(rec, economics=economics, prices_usd_per_kg=prices_usd_per_kg, references=references)

    def _may_read_health(self, rec: Any, caller: Caller, action: str = "route") -> None:
        """A route decision reads (and shows) the pack's state of health, resistance and self-discharge:
        legitimate-interest data, so it needs that tier and is written to the audit log like any such read."""
        tiers = self.passports.tiers_for(rec, caller)
        if Tier.LEGITIMATE_INTEREST not in tiers:
            raise Forbidden(f"a route decision reads the state of health of {rec.id}, which needs legitimate interest "
                            "(recycler, repairer, second-life operator, owner, authority or the economic operator)")
        self.passports._audit(caller, action, rec, tiers, "circular")

    def _route(self, rec: Any, *, economics: dict[str, float] | None = None,
               prices_usd_per_kg: dict[str, float] | None = None, references: References | None = None,
               sensitivity: bool = True) -> dict[str, Any]:
        passport_id = rec.id
        soh = (rec.data.get("state_of_health") or {})
        usage = (rec.data.get("usage") or {})
        if soh.get("soh_capacity_pct") is None:
            raise NotFound(f"passport {passport_id} has no state of health yet: record one before deciding a route")
        m = self.passports.model_data(rec.model_id)
        intake = IntakeRecord(battery_id=passport_id, soh_capacity_pct=soh.get("soh_capacity_pct"),
                              resistance_increase_pct=soh.get("ohmic_resistance_increase_pct"),
                              self_discharge_pct_per_month=soh.get("self_discharge_pct_per_month"),
                              max_temperature_c_seen=usage.get("max_operating_temperature_c"),
                              deep_discharge_events=usage.get("deep_discharge_events"))
        g = grade(intake)
        energy = m.get("rated_energy_kwh") or m["rated_capacity_ah"] * m["nominal_voltage_v"] / 1000
        try:
            d = decide_route(m["chemistry"], energy, soh["soh_capacity_pct"] / 100, grade=g.grade,
                             safety_flags=[f.code for f in g.safety_flags if f.blocking], economics=economics,
                             resistance_increase_pct=max(0.0, float(soh.get("ohmic_resistance_increase_pct") or 0.0)),
                             prices_usd_per_kg=prices_usd_per_kg, references=references, sensitivity=sensitivity,
                             pack_mass_kg=_declared_mass_kg(rec.data, m))
        except CircularInputError as exc:
            raise input_error(exc) from None
        return {"passport_id": passport_id, "grade": g.model_dump(mode="json"), "decision": d.model_dump(mode="json")}

    def pack_routes(self, passport_ids: list[str], caller: Caller, *, economics: dict[str, float] | None = None,
                    grade_routes: dict[str, list[str]] | None = None,
                    references: References | None = None) -> list[dict[str, Any]]:
        """:meth:`pack_route` for many retired packs at once (vectorised NPVs, no explanations).

        Each pack is read from its passport (legitimate-interest tier needed on every one, or nothing is
        decided), graded UL 1974-style and ranked. Returns per pack: grade, blocking safety flags, state of
        health, chemistry, capacity, the recommended route and the NPV of every feasible route (USD), and the pack
        mass its recycling values are of (``pack_mass_kg``) with its basis (``pack_mass_basis``: ``declared`` — the
        passport's mass_kg, the battery's or else its model's, as the compliance report — or BatPaC's).
        """
        import numpy as np

        from .routes import decide_routes_batch

        if not passport_ids:
            return []
        recs = self.passports.get_records(passport_ids)
        missing = [p for p in passport_ids if p not in recs]
        if missing:
            raise NotFound(f"no passport {missing[0]!r}")
        rows = []
        models: dict[str, dict[str, Any]] = {}  # each model's data read once for the batch
        for pid in passport_ids:
            rec = recs[pid]
            self._may_read_health(rec, caller)
            soh = rec.data.get("state_of_health") or {}
            usage = rec.data.get("usage") or {}
            if soh.get("soh_capacity_pct") is None:
                raise NotFound(f"passport {pid} has no state of health yet: record one before deciding a route")
            m = models.get(rec.model_id)
            if m is None:
                m = models[rec.model_id] = self.passports.model_data(rec.model_id)
            g = grade(IntakeRecord(battery_id=pid, soh_capacity_pct=soh.get("soh_capacity_pct"),
                                   resistance_increase_pct=soh.get("ohmic_resistance_increase_pct"),
                                   self_discharge_pct_per_month=soh.get("self_discharge_pct_per_month"),
                                   max_temperature_c_seen=usage.get("max_operating_temperature_c"),
                                   deep_discharge_events=usage.get("deep_discharge_events")))
            energy = m.get("rated_energy_kwh") or m["rated_capacity_ah"] * m["nominal_voltage_v"] / 1000
            declared = _declared_mass_kg(rec.data, m)
            rows.append((pid, m["chemistry"], float(energy), float(soh["soh_capacity_pct"]) / 100, g.grade,
                         [f.code for f in g.safety_flags if f.blocking],
                         max(0.0, float(soh.get("ohmic_resistance_increase_pct") or 0.0)),
                         np.nan if declared is None else declared))
        try:
            d = decide_routes_batch([r[1] for r in rows], np.array([r[2] for r in rows]),
                                    np.clip(np.array([r[3] for r in rows]), 0.0, 1.0), grade=[r[4] for r in rows],
                                    safety_flagged=np.array([bool(r[5]) for r in rows]), economics=economics,
                                    resistance_increase_pct=np.array([r[6] for r in rows]),
                                    pack_mass_kg=np.array([r[7] for r in rows]),
                                    grade_routes=grade_routes, references=references)
        except CircularInputError as exc:
            raise input_error(exc) from None
        out = []
        for i, (pid, chem, energy, soh, g_, flags, _, _) in enumerate(rows):
            npv = {route: round(float(v), 2) for route, v in zip(d.routes, d.npv_usd[i], strict=True) if np.isfinite(v)}
            out.append({"passport_id": pid, "chemistry": chem, "capacity_kwh": energy, "soh_fraction": soh,
                        "grade": g_, "safety_flags": flags, "route": d.routes[int(d.best_index[i])], "npv_usd": npv,
                        "pack_mass_kg": round(float(d.pack_mass_kg[i]), 3), "pack_mass_basis": str(d.pack_mass_basis[i])})
        return out

    # ------------------------------------------------------------------ retired packs a caller may route
    def retired_routes(self, caller: Caller, *, soh_below_pct: float = 80.0, limit: int = 40,
                       references: References | None = None) -> dict[str, Any]:
        """Route decisions of the retired packs ``caller`` may read the state of health of.

        Retired: status ``waste``, or an original/re-used pack whose state of health is below
        ``soh_below_pct`` (the end of a first life in a vehicle). Packs where the caller lacks the
        legitimate-interest tier are not read at all (nor counted).
        """
        from ..access import battery_tiers
        from ..store.passports import current_passports

        out: list[dict[str, Any]] = []
        seen = 0
        with self.passports.store.read() as conn:
            rows = list(current_passports(conn, ordered=True))
        for r in rows:
            if Tier.LEGITIMATE_INTEREST not in battery_tiers(caller, economic_operator_id=r.economic_operator_id,
                                                              owner_id=r.owner_id):
                continue
            data = r.data
            soh = (data.get("state_of_health") or {}).get("soh_capacity_pct")
            if soh is None:
                continue
            if r.status != "waste" and not (r.status in ("original", "reused") and soh < soh_below_pct):
                continue
            seen += 1
            if len(out) >= limit:
                continue
            rec = self.passports.get_record(r.id)
            self._may_read_health(rec, caller)
            route = self._route(rec, references=references)
            route["status"] = r.status
            route["model_id"] = rec.model_id
            out.append(route)
        return {"retired_packs": seen, "shown": len(out), "soh_below_pct": soh_below_pct, "packs": out}

    # ------------------------------------------------------------------ compliance report
    def compliance(self, model_id: str, year: int, *, plant: str | None = None, rule: str | None = None,
                   processes: list[str] | None = None, manufacturing_country: str | None = None,
                   class_limits_kgco2e_per_kwh: dict[str, float] | None = None,
                   references: References | None = None, caller: Caller | None = None) -> dict[str, Any]:
        """A model's compliance report for a year (and plant): recycled content (Art. 8) from the
        traceability ledger, recycling efficiency and material recovery (Annex XII) of the model's
        chemistry by process, carbon footprint and class (Art. 7). Every figure with its references.

        The report is public, its volumes are not: a ``caller`` the policy does not allow
        ``model.recycled_content.read`` (the model's manufacturer and the authorities may) gets the shares and
        verdicts with every mass per 100 kg of the element and no pack count — the model's production volume and
        its plants' recycled input are the manufacturer's confidential data. Without a caller (the node's own
        CLI and reports) the masses are shown."""
        from datetime import date

        from ..trace.service import TraceService, TraceSettings
        from .compliance import ALLOCATION_RULES, MetalInput, compliance_report
        from .recycling import ANNEX_XII_METALS, PROCESSES, recycle

        if not isinstance(year, int) or not 2000 <= year <= 2100:
            raise InvalidData(f"year {year!r}: give a calendar year (2000–2100)", [{
                "field": "year", "rule": "range", "value": year, "message": "year: 2000–2100"}])
        settings = self.trace.settings if self.trace is not None else TraceSettings.from_env()
        rule = rule or settings.recycled_content_rule
        if rule not in ALLOCATION_RULES:
            raise InvalidData(f"unknown allocation rule {rule!r}: use one of {', '.join(ALLOCATION_RULES)}", [{
                "field": "rule", "rule": "enum", "value": rule, "message": f"rule: one of {', '.join(ALLOCATION_RULES)}"}])
        procs = processes or list(PROCESSES)
        for p in procs:
            if p not in PROCESSES:
                raise InvalidData(f"unknown process {p!r}: use one of {', '.join(PROCESSES)}", [{
                    "field": "process", "rule": "enum", "value": p, "message": f"process: one of {', '.join(PROCESSES)}"}])
        m = self.passports.model_data(model_id)
        notes: list[str] = []
        disclose = caller is None or isinstance(decide(caller, "model.recycled_content.read", Resource(
            "model", model_id, manufacturer=m.get("manufacturer_id"))), Allow)

        # Art. 8 recycled content, from the ledger
        trace = (self.trace if self.trace is not None and references is None
                 else TraceService(self.passports.store, settings, refs=references))  # a report's own references
        rc_source: dict[str, Any]
        metals: list[MetalInput] = []
        try:
            traced = trace.recycled_content(model_id=model_id, year=year, plant=plant, rule=rule)
        except NotFound as exc:
            rc_source = {"status": "no_traced_lots", "message": (
                f"no traced lots: {exc.detail}; recycled content is not reported (nothing is assumed) — "
                "record the model's supply chain in the traceability ledger first"),
                "allocation_rule": rule}
            notes.append(rc_source["message"])
        else:
            for el, v in traced["elements"].items():
                have = v.get("element_kg") or 0.0
                if have <= 0:
                    continue
                rec_kg = min(float(v.get("recycled_kg") or 0.0), have)
                if not disclose:  # the share, on 100 kg of the element: no volume behind it
                    have, rec_kg = 100.0, 100.0 * rec_kg / have
                metals.append(MetalInput(metal=el, active_material_kg=have, recycled_physical_kg=rec_kg)
                              if rule == "physical_segregation" else
                              MetalInput(metal=el, active_material_kg=have, allocated_recycled_kg=rec_kg))
            rc_source = {"status": "traced", "packs": traced["packs"], "settings": traced["settings"],
                         "allocation_rule": rule, "elements": traced["elements"],
                         "targets_by_date": traced["targets"], "by_plant": traced.get("by_plant"),
                         "message": f"{traced['packs']} traced packs of {model_id} made in {year}"
                                    + (f" at {plant}" if plant else "") + f" ({rule.replace('_', ' ')})"}
            if not disclose:
                rc_source = {"status": "traced", "allocation_rule": rule, "settings": traced["settings"],
                             "targets_by_date": traced["targets"], "volumes_withheld": True,
                             "shares_fraction": {x.metal: (x.allocated_recycled_kg if x.allocated_recycled_kg is not None
                                                           else x.recycled_physical_kg) / 100.0 for x in metals},
                             "message": f"traced packs of {model_id} made in {year}" + (f" at {plant}" if plant else "")
                                        + f" ({rule.replace('_', ' ')}); masses per 100 kg of each element and no pack "
                                        "count: the model's volumes are for its manufacturer and the authorities "
                                        "(model.recycled_content.read)"}
                notes.append(rc_source["message"])
            if not metals:
                rc_source["status"] = "no_metals"
                rc_source["message"] = "the traced packs hold no Co, Li, Ni or Pb in their lots"
                notes.append(rc_source["message"])

        # Annex XII: the model's chemistry by process, on the pack basis
        try:
            comp, of_mass = self._model_composition(m, references)
            recycling = [recycle(comp, p, references=references, missing_price="zero") for p in procs]
        except CircularInputError as exc:
            raise input_error(exc) from None
        notes.append("recycling efficiency (Annex XII B, Delegated Regulation (EU) 2025/606): one whole pack of the "
                     f"model by each process, {of_mass} — its cells at EverBatt's recovery "
                     "fractions and its hardware (casing, busbars, cables, electronics, cooling; the pack mass "
                     "less the cells) by material at the process's recovery, from the pack design's default shares "
                     "(batteryloop_assumptions.pack_hardware_fraction, overridable); the model passes Annex XII "
                     "when at least one process meets every target in force")
        declared = m.get("carbon_footprint") or None
        # Art. 7's footprint is per kWh over the service life a warranty gives (Annex II): a model with no warranty
        # that declares no footprint — a repurposer's model of second-life packs (sim.pilot.second_life_model) —
        # gets none, and the report says why (before, the whole report was refused)
        fp = None
        if m.get("warranty_years") is not None or manufacturing_country is not None or class_limits_kgco2e_per_kwh is not None:
            fp = self._footprint_result(model_id, manufacturing_country=manufacturing_country,
                                        class_limits_kgco2e_per_kwh=class_limits_kgco2e_per_kwh, references=references,
                                        composition=comp)
        try:
            rep = compliance_report(model_id, plant or "all plants", year, metals=metals, allocation_rule=rule,
                                    recycling=recycling, footprint=fp, references=references)
        except CircularInputError as exc:
            raise input_error(exc) from None
        # Art. 7: the footprint the model declares in its passport is the one the report checks (it may rest on
        # the manufacturer's study or a supplier's certified figures, and on the cell plant's grid); the
        # recomputation from the reference sets is shown beside it, with the country whose grid it used. Only an
        # explicit manufacturing country or class limits make the report use the recomputation.
        use_declared = (declared is not None and declared.get("total_kgco2e_per_kwh") is not None
                        and manufacturing_country is None and class_limits_kgco2e_per_kwh is None)
        recomputed = None if fp is None else {
            "kgco2e_per_kwh": fp.total_kgco2e_per_kwh, "performance_class": fp.performance_class,
            "stages_kgco2e_per_kwh": fp.stages_kgco2e_per_kwh, "passport_fields": fp.to_passport_fields(),
            "manufacturing_country": fp.manufacturing_country}
        if fp is None and not use_declared:
            footprint_block = {"kgco2e_per_kwh": None, "performance_class": None, "stages_kgco2e_per_kwh": None,
                               "source": "none", "recomputed": None}
            notes.append(f"carbon footprint (Art. 7): none — {model_id} declares no footprint and no warranty_years, "
                         "the service life Annex II's functional unit needs")
        elif use_declared:
            stage_keys = {s: f"{s}_kgco2e_per_kwh" for s in ("raw_material", "main_production", "distribution",
                                                               "end_of_life")}
            stages = {s: declared[k] for s, k in stage_keys.items() if declared.get(k) is not None}
            rep = rep.model_copy(update={
                "carbon_footprint_kgco2e_per_kwh": float(declared["total_kgco2e_per_kwh"]),
                "carbon_footprint_class": declared.get("performance_class"),
                "carbon_footprint_stages_kgco2e_per_kwh": stages or None})
            footprint_block = {"kgco2e_per_kwh": float(declared["total_kgco2e_per_kwh"]),
                               "performance_class": declared.get("performance_class"),
                               "stages_kgco2e_per_kwh": stages, "source": "declared",
                               "passport_fields": dict(declared), "recomputed": recomputed}
            if fp is not None:
                notes.append(f"carbon footprint (Art. 7): the figure {model_id} declares in its passport, "
                             f"{float(declared['total_kgco2e_per_kwh']):.4g} kg CO2e/kWh; recomputed from the reference "
                             f"sets with {fp.manufacturing_country}'s grid for cell manufacturing: "
                             f"{fp.total_kgco2e_per_kwh:.4g} (give manufacturing_country to report a recomputation)")
        else:
            footprint_block = {**recomputed, "source": "recomputed"}
        if rep.carbon_footprint_class is None:
            notes.append("no performance class: the class limits are not adopted yet (give class limits to classify)")
        checks = []
        for c in (rep.recycled_content.checks if rep.recycled_content else []):
            checks.append({"section": "recycled_content", "process": None, **c.model_dump(mode="json")})
        i = 0
        for r in recycling:  # check_recycling_targets: efficiency then the recovered Annex XII metals, per process
            n = 1 + sum(1 for k in ANNEX_XII_METALS if k in r.material_recovery_fraction)
            for c in rep.recycling_checks[i:i + n]:
                checks.append({"section": "recycling", "process": r.process, **c.model_dump(mode="json")})
            i += n
        body = rep.model_dump(mode="json")
        body.update({
            "chemistry": m["chemistry"], "as_of": date(year, 12, 31).isoformat(), "allocation_rule": rule,
            "passed": rep.passed, "checks": checks,
            "recycled_content_source": rc_source,
            "recycling_by_process": {r.process: {
                "recycling_efficiency_fraction": r.recycling_efficiency_fraction,
                "material_recovery_fraction": r.material_recovery_fraction,
                "basis": r.basis, "input_mass_kg": r.input_mass_kg,
                "passed": rep.recycling_passed_by_process.get(r.process),
                "explanation": r.efficiency_explanation(),
                "not_recycled": [{"part": f.part, "material": f.material, "lost_kg": f.lost_kg, "fate": f.fate}
                                 for f in r.lost_fractions()],
                "fractions": [f.model_dump(mode="json") for f in r.efficiency_fractions],
            } for r in recycling},
            "recycling_passed_by_process": rep.recycling_passed_by_process,
            "carbon_footprint": footprint_block,
            "notes": notes,
        })
        body["_csv"] = self._compliance_csv(rep, rc_source, body)
        return body

    @staticmethod
    def _compliance_csv(rep: Any, rc_source: dict[str, Any], body: dict[str, Any]) -> str:
        """The domain CSV (one row per check), a row saying when recycled content is not traced, then one
        ``reference`` row per reference value used (same columns: one table)."""
        import csv
        import io

        buf = io.StringIO()
        buf.write(rep.to_csv())
        w = csv.writer(buf, lineterminator="\n")
        if rc_source["status"] != "traced":
            w.writerow([rep.model_id, rep.plant, rep.year, "Art. 8 recycled content", "recycled_content", "", "", "",
                        "", rc_source["allocation_rule"], rc_source["message"]])
        for ref in body["references"]:
            w.writerow([rep.model_id, rep.plant, rep.year, "reference", f"{ref['set']}:{ref['key']}",
                        ref["value"] if not isinstance(ref["value"], (dict, list)) else str(ref["value"]), "", "", "",
                        "", f"{ref.get('source', '')}{' (overridden)' if ref.get('overridden') else ''}"])
        return buf.getvalue()

    # ------------------------------------------------------------------ economics and BaaS
    @staticmethod
    def recycling_economics(references: References | None = None, capacity_kwh: float = 60.0) -> dict[str, Any]:
        """Recycling value of one pack of each chemistry by process, at the reference prices ($ per kWh
        and per kg of pack); a process with no price for its product is marked infeasible, not zero."""
        from .chemistry import CHEMISTRIES
        from .recycling import PROCESSES, recycle_pack

        rows = []
        for chem in CHEMISTRIES:
            for p in PROCESSES:
                try:
                    r = recycle_pack(chem, capacity_kwh, p, references=references)
                except CircularInputError as exc:
                    rows.append({"chemistry": chem, "process": p, "feasible": False, "reason": str(exc)})
                    continue
                rows.append({"chemistry": chem, "process": p, "feasible": True,
                             "revenue_usd_per_kwh": r.revenue_usd / capacity_kwh,
                             "material_net_value_usd_per_kwh": r.material_net_value_usd / capacity_kwh,
                             "recycler_net_value_usd_per_kg": r.recycler_net_value_usd / r.input_mass_kg,
                             "net_ghg_kgco2e_per_kwh": r.net_ghg_kgco2e / capacity_kwh,
                             "recycling_efficiency_fraction": r.recycling_efficiency_fraction})
        return {"capacity_kwh": capacity_kwh, "rows": rows}

    @staticmethod
    def baas_price(*, pack_cost: float | None = None, term_months: int = 96, residual_value: float | None = None,
                   annual_discount_rate_fraction: float = 0.08, margin_fraction: float = 0.0,
                   operating_cost_per_month: float = 0.0, chemistry: str | None = None,
                   capacity_kwh: float | None = None, soh_at_term_end_fraction: float | None = None,
                   pack_mass_kg: float | None = None, residual_share_fraction: float | None = None,
                   references: References | None = None) -> dict[str, Any]:
        """A monthly subscription price, compared with NIO's published BaaS fees (``nio_baas``).

        Either ``pack_cost`` (and ``residual_value``, default 0) in any currency, or a pack
        (``chemistry``, ``capacity_kwh``, ``soh_at_term_end_fraction``) priced in $ with its residual value
        from the route decision: ``residual_share_fraction`` (default the reference seller's share,
        ``batteryloop_assumptions.pilot.seller_share_of_route_value_fraction``) of the best route's value, its
        recycling valued on the pack of ``pack_mass_kg`` (the mass its passport declares; BatPaC's pack when
        absent) — the pilot's books' figures. Both apply to a pack only: given with ``pack_cost`` they are refused.
        The comparison is currency-free: each fee as a share of its pack's cost
        per month, the price our formula gives at NIO's pack value (RMB 70,000, the car price cut) with the
        same residual share, and the discount rate NIO's fee implies on the same terms.
        """
        from .baas import implied_annual_rate, subscription_for_pack, subscription_price
        from .chemistry import declared_pack_composition

        try:
            if pack_cost is None:
                if chemistry is None or capacity_kwh is None or soh_at_term_end_fraction is None:
                    raise CircularInputError("pack_cost", None, "give pack_cost, or chemistry, capacity_kwh and "
                                             "soh_at_term_end_fraction to price a pack")
                if pack_mass_kg is not None:  # checked here so that a refusal names the field as given
                    declared_pack_composition(chemistry, capacity_kwh, pack_mass_kg, references, field="pack_mass_kg")
                pq = subscription_for_pack(chemistry, capacity_kwh, term_months, soh_at_term_end_fraction,
                                           annual_discount_rate_fraction, margin_fraction, operating_cost_per_month,
                                           references=references, residual_share_fraction=residual_share_fraction,
                                           pack_mass_kg=pack_mass_kg)
                quote, extra = pq.quote, {"pack": {**pq.model_dump(mode="json", exclude={"quote"}),
                                                   "pack_mass_kg": pack_mass_kg,
                                                   "pack_mass_basis": "batpac" if pack_mass_kg is None else "declared"},
                                          "currency": "USD"}
            else:
                for name, given in (("pack_mass_kg", pack_mass_kg), ("residual_share_fraction", residual_share_fraction)):
                    if given is not None:
                        raise CircularInputError(name, given, "applies to a pack priced from its chemistry, "
                                                 "capacity_kwh and soh_at_term_end_fraction, not to pack_cost (give "
                                                 "residual_value instead)")
                quote = subscription_price(pack_cost, term_months, residual_value or 0.0,
                                           annual_discount_rate_fraction, margin_fraction, operating_cost_per_month)
                extra = {"currency": "as given"}
            t = (references or References.default()).tracker()
            nio_cost = float(t.get("nio_baas", "car_price_reduction_rmb"))
            published = t.get("nio_baas", "subscription_rmb_per_month")
            share = quote.residual_value / quote.pack_cost
            ours_at_nio = subscription_price(nio_cost, term_months, share * nio_cost, annual_discount_rate_fraction,
                                             margin_fraction).monthly_price
            comparison = []
            for yr, fees in sorted(published.items()):
                for pack, _ in sorted(fees.items()):
                    fee = float(t.get("nio_baas", "subscription_rmb_per_month", yr, pack))
                    rate = implied_annual_rate(fee, nio_cost, term_months, share * nio_cost, margin_fraction)
                    comparison.append({
                        "nio": f"{yr} {pack}", "fee_rmb_per_month": fee,
                        "fee_share_of_pack_cost_per_month": fee / nio_cost,
                        "ours_rmb_per_month_at_nio_pack_cost": ours_at_nio,
                        "ours_vs_nio_fraction": ours_at_nio / fee - 1,
                        "nio_implied_annual_rate_fraction": rate,
                        "explanation": (f"NIO charges {fee:g} RMB/month against a {nio_cost:,.0f} RMB pack "
                                        f"({fee / nio_cost:.2%}/month); our formula on the same pack value, "
                                        f"{term_months} months, residual {share:.0%}: {ours_at_nio:,.0f} RMB/month"
                                        + (f"; NIO's fee implies {rate:.1%}/yr" if rate is not None else
                                           "; NIO's fee implies no rate in 0–100 %/yr on these terms")),
                    })
        except CircularInputError as exc:
            raise input_error(exc) from None
        return {"quote": quote.model_dump(mode="json"),
                "fee_share_of_pack_cost_per_month": quote.monthly_price / quote.pack_cost,
                **extra, "nio_comparison": comparison,
                "notes": ["NIO's 100 kWh fees are compared against the same 70,000 RMB car price cut, which NIO "
                          "publishes for the 70/75 kWh pack only"],
                "references": [v.model_dump(mode="json") for v in t.used()]}
