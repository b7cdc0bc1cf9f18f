"""Circular use cases on stored passports: a model's carbon footprint, a retired pack's grade and route.

The passport's carbon-footprint fields come from :func:`carbon_footprint` here
(:meth:`CircularService.apply_model_footprint`); a pack's route decision reads its state of health
from its passport — which is legitimate-interest data, so only callers holding that tier on the
battery may ask for it.
"""

from __future__ import annotations

from typing import Any

from ..access import Caller
from ..errors import Forbidden, InvalidData, NotFound
from ..health.grading import IntakeRecord, grade
from ..passport.service import PassportService
from ..passport.tiers import Tier
from ..reference import References
from .errors import CircularInputError
from .footprint import carbon_footprint
from .routes import decide_route


def input_error(exc: CircularInputError) -> InvalidData:
    """A circular input error as the platform's 422 (the field, the value and the rule)."""
    return InvalidData(str(exc), [{"field": exc.field, "rule": exc.rule, "message": str(exc), "value": exc.value}])


class CircularService:
    def __init__(self, passports: PassportService, participants: Any) -> None:
        self.passports = passports
        self.participants = participants

    def _model(self, model_id: str) -> dict[str, Any]:
        with self.passports.store.read() as conn:
            data, _ = self.passports._model_data(conn, model_id)
        return data

    def model_footprint(self, model_id: str, *, manufacturing_country: str | None = None,
                        annual_distance_km: float | None = None, usable_energy_fraction: float = 1.0,
                        class_limits_kgco2e_per_kwh: dict[str, float] | None = None,
                        references: References | None = None) -> dict[str, Any]:
        """Compute a model's carbon footprint (Art. 7) from its passport data and the reference sets."""
        m = self._model(model_id)
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
                warranty_km=m.get("warranty_km") if annual_distance_km else None,
                annual_distance_km=annual_distance_km, class_limits_kgco2e_per_kwh=class_limits_kgco2e_per_kwh,
                references=references)
        except CircularInputError as exc:
            raise input_error(exc) from None
        return {"model_id": model_id, "passport_fields": r.to_passport_fields(), "result": r.model_dump(mode="json")}

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
        if Tier.LEGITIMATE_INTEREST not in self.passports.tiers_for(rec, caller):
            raise Forbidden("a route decision reads the pack's state of health, which needs legitimate interest "
                            "(recycler, repairer, second-life operator, owner, authority or the economic operator)")
        soh = (rec.data.get("state_of_health") or {})
        usage = (rec.data.get("usage") or {})
        if soh.get("soh_capacity_pct") is None:
            raise NotFound(f"passport {passport_id} has no state of health yet: record one before deciding a route")
        m = self._model(rec.model_id)
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
                             prices_usd_per_kg=prices_usd_per_kg, references=references)
        except CircularInputError as exc:
            raise input_error(exc) from None
        return {"passport_id": passport_id, "grade": g.model_dump(mode="json"), "decision": d.model_dump(mode="json")}
