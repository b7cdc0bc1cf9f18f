"""IDTA 02035 "Digital Battery Passport": the SAMM JSON payloads of its seven parts and DPP metadata.

Source: admin-shell-io/smt-semantic-models, ``io.admin-shell.idta.batterypass.*`` and
``io.admin-shell.idta.dpp.dpp_metadata`` (CC-BY-4.0). :mod:`.aas` wraps these payloads as submodels of
an Asset Administration Shell.

A passport is a dict ``{part: payload}`` with the parts of :data:`PARTS`. The product-condition part
(state of health and usage: Annex XIII point 4) is only exported for readers holding the
legitimate-interest tier. Values a part requires that the passport does not hold are placeholders
(listed in the report as ``part:path``; pass them back as ``ignore=`` to the importer, or go through
AAS, where they are simply empty properties).

Unit assumptions (the published JSON schemas carry no units): masses in kg, energies in kWh, powers in
W, resistances in ohm (as Catena-X), temperatures in °C, shares and efficiencies in percent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InvalidData
from ..passport.identifiers import AAS_SUBMODEL_ASPECTS
from ..passport.tiers import Tier
from . import schemas
from ._convert import Collector, Placeholders, path_get, r9
from ._io import load_object
from .base import NOT_DECLARED, ExportResult, ImportResult, MappingReport, PassportParts
from .catenax import CHEMISTRY_NAMES, parse_chemistry

MEDIA_TYPE = "application/vnd.idta.batterypass+json"
#: the key beside the parts in our ``{part: payload}`` container that carries (1) the placeholder paths, which
#: our importer skips, and (2) our fields IDTA 02035 has no place for (:data:`NOT_CARRIED`), so that two
#: batteryloop nodes exchange passports losslessly; other readers ignore it (``include_extension=False``)
EXTENSION_KEY = "batteryloop"
#: our fields IDTA 02035 cannot carry in full, each with why (the export moves them to the extension; the
#: import report lists those it read from there as ``not_carried``): docs/formats.md lists the same
NOT_CARRIED: dict[str, str] = {
    "model.model_id": "IDTA identifies the product, not its model (AAS: specificAssetId manufacturerPartId)",
    "model.model_name": "no model name in IDTA (AAS: specificAssetId nameAtManufacturer)",
    "model.vehicle_category": "no vehicle category in IDTA",
    "model.cells_in_series": "no cell configuration in IDTA",
    "model.cells_in_parallel": "no cell configuration in IDTA",
    "model.warranty_km": "IDTA records the warranty as a duration",
    "model.material_composition": "IDTA lists materials by CAS number only (BatteryMaterials)",
    "model.critical_raw_materials": "IDTA flags listed materials (IsCriticalRawMaterial), it has no list",
    "model.detailed_composition": "IDTA records a material's mass, not its mass fraction; a CAS number is required",
    "model.recycled_content": "IDTA has no allocation rule (mass balance …)",
    "model.dismantling_information": "IDTA has no place for tools and fastener types",
    "model.hazardous_substances": "IDTA requires a CAS number per substance",
    "model.spare_parts": "IDTA groups parts by supplier and needs a supplier name and e-mail",
    "model.test_reports": "IDTA documents need a title",
    "model.carbon_footprint": "IDTA's footprint entries need a total",
    "battery.model_id": "IDTA identifies the product, not its model (AAS: specificAssetId manufacturerPartId)",
    "battery.manufacture_country": "no country of manufacture in IDTA (AAS: specificAssetId manufacturingCountry)",
    "battery.mass_kg": "no measured pack mass in IDTA (the model's mass is BatteryMass)",
    "battery.owner_id": "no owner in IDTA",
    "battery.predecessor_ids": "no predecessor passports in IDTA 02035",
    "battery.successor_id": "no successor passport in IDTA 02035",
    "battery.usage": "no deep-discharge count or operating temperature range in IDTA's product condition",
    "battery.state_of_health": "IDTA's product condition has no measurement time without a value, and one "
                               "RemainingPowerCapability point where batteryloop holds one per state of charge",
    "battery.recycled_content": "the battery's own recycled content travels as the model's",
    # the Annex XIII values issue 16 added, where IDTA 02035 has no place of its own for them
    "model.original_power_capability_at_soc": "IDTA's OriginalPowerCapability is written from "
                                              "original_power_capability_w (one entry, no state of charge)",
    "model.power_energy_ratio_per_h": "IDTA's RatioNominalBatteryPowerAndBatteryEnergy is written from the original "
                                      "power capability and the energy",
    "model.cycle_life_test_url": "IDTA's CycleLifeReferenceTest holds the test's name (cycle_life_test_reference)",
    "model.safety_instructions_url": "IDTA's SafetyInstructions hold the safety measures' texts",
    "model.collection_information_url": "IDTA's InformationOnCollection holds the collection information's text",
    "model.label_symbols": "no label symbols in IDTA 02035's parts",
    "battery.economic_operator_name": "no economic operator in IDTA's parts (the nameplate's is the manufacturer)",
    "battery.economic_operator_address": "no economic operator in IDTA's parts (the nameplate's is the manufacturer)",
    "battery.manufacture_postal_code": "no postal code of the manufacturing site in IDTA",
}
#: part → (schema key, SAMM aspect URN); the parts and URNs are the pack's AAS submodels (passport.identifiers)
PARTS: dict[str, tuple[str, str]] = {part: (f"idta.{part}", urn) for part, urn in AAS_SUBMODEL_ASPECTS.items()}
#: the top-level keys that identify each part when a single payload comes without its name
SIGNATURES: dict[str, set[str]] = {
    "dpp_metadata": {"digitalProductPassportId", "dppSchemaVersion"},
    "digital_nameplate": {"URIOfTheProduct", "SerialNumber"},
    "handover_documentation": {"Documents"},
    "carbon_footprint": {"ProductCarbonFootprints"},
    "technical_data": {"GeneralInformation", "TechnicalPropertyAreas"},
    "product_condition": {"NumberOfFullCycles", "StateOfCharge"},
    "material_composition": {"BatteryChemistry"},
    "circularity": {"RecycledContentInformation", "EndOfLifeInformation"},
}
CATEGORY_OUT = {"ev": "ev", "lmt": "lmt", "industrial": "industrial"}
STATUS_OUT = {"original": "original", "repurposed": "repurposed", "reused": "re-used",
              "remanufactured": "remanufactured", "waste": "waste", "recycled": "waste"}
STATUS_IN = {"original": "original", "repurposed": "repurposed", "re-used": "reused",
             "remanufactured": "remanufactured", "waste": "waste"}
CF_PHASES = (
    ("raw_material_kgco2e_per_kwh", "A1 - raw material supply (and upstream production)"),
    ("main_production_kgco2e_per_kwh", "A3 - production"),
    ("distribution_kgco2e_per_kwh", "A4 - transport to final destination"),
    ("end_of_life_kgco2e_per_kwh", "C1-C4"),
)
CF_METHOD = "Regulation (EU) 2023/1542 Annex II"
HAZARD_CLASSES = (("acute tox", "AcuteToxicity"), ("skin", "SkinCorrosionOrIrritation"),
                  ("eye", "EyeDamageOrIrritation"))
METALS = {"cobalt": "Cobalt", "nickel": "Nickel", "lithium": "Lithium", "lead": "Lead"}
DOC_CLASS = "VDI2770 Blatt 1:2020"
DOCS = (  # our field → document id in HandoverDocumentation (class 02-01 certificates, 03-02 reports)
    ("declaration_of_conformity_url", "EU declaration of conformity", "02-01"),
    ("due_diligence_report_url", "due diligence report", "03-02"),
)
LANG = "en"


def _ml(text: str) -> list[dict[str, str]]:
    return [{LANG: text}]


def _duration(years: float) -> str:
    months = round(years * 12)
    return f"P{months // 12}Y" if months % 12 == 0 else f"P{months}M"


def _years(duration: str) -> float | None:
    m = re.match(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$", duration)
    if not m or not any(m.groups()):
        return None
    y, mo, d = (int(x) if x else 0 for x in m.groups())
    return r9(y + mo / 12 + d / 365.25)


def _address(text: str | None, ph: Placeholders, path: str) -> dict[str, Any]:
    """Split ``"street, zip city, CC"`` into the nameplate's address; otherwise keep it whole in Street."""
    m = re.match(r"^(?P<street>.+?),\s*(?P<zip>[A-Z0-9\- ]{3,10}?)\s+(?P<city>[^,]+),\s*(?P<cc>[A-Z]{2})$", text or "")
    if m:
        return {"Street": _ml(m["street"]), "ZipCode": _ml(m["zip"]), "CityTown": _ml(m["city"]),
                "NationalCode": _ml(m["cc"])}
    out = {"Street": _ml(text) if text else _ml(ph.text(f"{path}.Street", "model.manufacturer_address"))}
    for key in ("ZipCode", "CityTown", "NationalCode"):
        out[key] = _ml(ph.text(f"{path}.{key}", "model.manufacturer_address"))
    return out


# ============================================================================ export
def export(parts: PassportParts, *, validate: bool = True, include_extension: bool = True) -> ExportResult:
    """The SAMM JSON payloads ``{part: payload}``, each valid against its official schema, and the
    batteryloop extension (:data:`EXTENSION_KEY`) beside them."""
    report = MappingReport("idta")
    ph = Placeholders(parts, report)
    m, b = parts.model, parts.battery
    if m["category"] not in CATEGORY_OUT:
        raise InvalidData(
            f"model.category: IDTA 02035 covers EV, LMT and industrial batteries, not {m['category']!r}",
            [{"field": "model.category", "rule": "idta:category", "value": m["category"],
              "message": f"model.category: IDTA 02035 has no category {m['category']!r} (ev, lmt, industrial)"}])
    pid = b.get("passport_id")
    link = parts.web_link or (f"urn:batteryloop:passport:{pid}" if pid else None)
    now = parts.changed.isoformat().replace("+00:00", "Z")  # the passport's last change, not the export time
    status = parts.status  # an archived passport is a recycled battery's, even where the status is withheld
    out: dict[str, Any] = {}
    # ------------------------------------------------------------ DPP metadata
    dpp = {
        "digitalProductPassportId": link or ph.text("dpp_metadata:digitalProductPassportId", "battery.passport_id"),
        "uniqueProductIdentifier": pid or ph.text("dpp_metadata:uniqueProductIdentifier", "battery.passport_id"),
        "granularity": "Item",
        "dppSchemaVersion": "IDTA 02035-1:1.0",
        "dppStatus": "Inactive" if parts.archived else "Active",
        "lastUpdate": now,
        "economicOperatorId": b.get("economic_operator_id") or ph.text("dpp_metadata:economicOperatorId"),
        "contentSpecificationIds": [urn for key, (_, urn) in PARTS.items() if key != "dpp_metadata"],
    }
    out["dpp_metadata"] = dpp
    # ------------------------------------------------------------ nameplate
    N = "digital_nameplate"
    nameplate: dict[str, Any] = {
        "URIOfTheProduct": link or ph(f"{N}:URIOfTheProduct", "urn:batteryloop:not-declared", "battery.passport_id"),
        "ManufacturerName": _ml(m["manufacturer_name"]),
        "AddressInformation": _address(m.get("manufacturer_address"), ph, f"{N}:AddressInformation"),
        "SerialNumber": b.get("serial_number") or ph.text(f"{N}:SerialNumber", "battery.serial_number"),
        "DateOfManufacture": b.get("manufacture_date") or ph(f"{N}:DateOfManufacture", "1970-01-01", "battery.manufacture_date"),
        "UniqueFacilityIdentifier": b.get("manufacture_site") or ph.text(f"{N}:UniqueFacilityIdentifier",
                                                                         "battery.manufacture_site"),
        "LifeCycleStage": STATUS_OUT[status] if status else ph(f"{N}:LifeCycleStage", "original", "battery.status"),
        "ManufacturerIdentifier": m["manufacturer_id"],
        "Markings": [{"MarkingName": lab, "MarkingFile": {
            "value": ph(f"{N}:Markings[{i}].MarkingFile.value", "urn:batteryloop:not-declared"),
            "contentType": ph(f"{N}:Markings[{i}].MarkingFile.contentType", "application/octet-stream")}}
            for i, lab in enumerate(m.get("labels", []))],
        "EUDeclarationOfConformity": [m["declaration_of_conformity_url"]] if m.get("declaration_of_conformity_url") else [],
        "ResultsOfTestReportsProvingCompliance": [t.get("url") or t["title"] for t in m.get("test_reports", [])],
    }
    if b.get("economic_operator_id"):
        nameplate["OperatorIdentifier"] = b["economic_operator_id"]
    if b.get("putting_into_service_date"):
        nameplate["DateOfPuttingIntoService"] = b["putting_into_service_date"]
    if status == "recycled":
        report.unmap("battery.status", "recycled", "IDTA has no 'recycled' life-cycle stage: exported as 'waste'")
    out[N] = nameplate
    # ------------------------------------------------------------ handover documentation
    documents = []
    for key, title, cls in DOCS:
        if m.get(key):
            documents.append(_document(key, title, cls, m[key]))
    for i, t in enumerate(m.get("test_reports", [])):
        d = _document(f"test_report_{i}", t["title"], "03-02", t.get("url"))
        v = d["DocumentVersions"][0]
        if t.get("standard"):
            v["Subtitle"] = _ml(t["standard"])
        if t.get("issuer"):
            v["Description"] = _ml(t["issuer"])
        if t.get("issued_on"):
            v["Version"] = t["issued_on"]
        documents.append(d)
    out["handover_documentation"] = {"Documents": documents}
    # ------------------------------------------------------------ carbon footprint
    cf = m.get("carbon_footprint")
    if cf:
        def pcf(value: float, phases: list[str]) -> dict[str, Any]:
            e: dict[str, Any] = {"PcfCalculationMethods": [CF_METHOD], "PcfCo2eq": value,
                                 "ReferenceImpactUnitForCalculation": "kwH", "QuantityOfMeasureForCalculation": 1.0,
                                 "LifeCyclePhases": phases,
                                 "PerformanceClass": cf.get("performance_class") or NOT_DECLARED,
                                 "WebLinkToPublicCarbonFootprintStudy": [cf["study_url"]] if cf.get("study_url") else []}
            return e
        entries = [pcf(cf["total_kgco2e_per_kwh"], [p for _, p in CF_PHASES])]
        entries += [pcf(cf[k], [p]) for k, p in CF_PHASES if cf.get(k) is not None]
        if not cf.get("performance_class"):
            report.placeholder("carbon_footprint:ProductCarbonFootprints[*].PerformanceClass",
                               ph.reason("model.carbon_footprint"))
        out["carbon_footprint"] = {"ProductCarbonFootprints": entries}
    else:
        report.placeholder("carbon_footprint", ph.reason("model.carbon_footprint"))
        out["carbon_footprint"] = {"ProductCarbonFootprints": []}
    # ------------------------------------------------------------ technical data
    out["technical_data"] = _technical(m, b, ph)
    # ------------------------------------------------------------ product condition (tier 4)
    if parts.has(Tier.LEGITIMATE_INTEREST):
        out["product_condition"] = _condition(b, ph, now)
    else:
        report.placeholder("product_condition", ph.reason("battery.state_of_health"))
    # ------------------------------------------------------------ material composition
    M = "material_composition"
    crm = {c.lower() for c in m.get("critical_raw_materials", [])}
    materials = []
    dc = m.get("detailed_composition") or {}
    for loc in ("cathode", "anode", "electrolyte", "other"):
        for j, ms in enumerate(dc.get(loc, [])):
            if not ms.get("cas_number"):
                report.unmap(f"model.detailed_composition.{loc}[{j}]", ms, "IDTA requires a CAS number per material")
                continue
            e = {"BatteryMaterialLocation": {"ComponentName": loc.capitalize()},
                 "BatteryMaterialIdentifier": ms["cas_number"], "BatteryMaterialName": ms["material"],
                 "IsCriticalRawMaterial": ms["material"].lower() in crm}
            if ms.get("mass_kg") is not None:
                e["BatteryMaterialMass"] = ms["mass_kg"]
            if ms.get("mass_fraction_pct") is not None:
                report.unmap(f"model.detailed_composition.{loc}[{j}].mass_fraction_pct", ms["mass_fraction_pct"],
                             "IDTA records a material's mass, not its mass fraction")
            materials.append(e)
    hazardous = []
    for j, h in enumerate(m.get("hazardous_substances", [])):
        if not h.get("cas_number"):
            report.unmap(f"model.hazardous_substances[{j}]", h, "IDTA requires a CAS number per hazardous substance")
            continue
        e = {"HazardousSubstanceName": h["name"], "HazardousSubstanceIdentifier": h["cas_number"]}
        hc = (h.get("hazard_class") or "").lower()
        cls = next((v for k, v in HAZARD_CLASSES if hc.startswith(k)), None)
        if cls:
            e["HazardousSubstanceClass"] = cls
        if h.get("hazard_class"):
            e["HazardousSubstanceImpact"] = [h["hazard_class"]]
        if h.get("concentration_pct") is not None:
            e["HazardousSubstanceConcentration"] = h["concentration_pct"]
        if h.get("location"):
            e["HazardousSubstanceLocation"] = {"ComponentName": h["location"]}
        hazardous.append(e)
    chem = m["chemistry"]
    out[M] = {"BatteryChemistry": {"ShortName": chem, "ClearName": CHEMISTRY_NAMES.get(chem, chem)},
              "BatteryMaterials": materials, "HazardousSubstances": hazardous}
    # ------------------------------------------------------------ circularity
    out["circularity"] = _circularity(m, ph)
    if validate:
        errors = []
        for part, payload in out.items():
            errors += [{**e, "field": f"{part}:{e['field']}"} for e in schemas.validate(PARTS[part][0], payload)]
        if errors:
            raise InvalidData(f"the IDTA export does not validate: {errors[0]['message']}", errors)
    # ------------------------------------------------------------ what did not fit: read back, keep the rest
    ext = extension(out, m, b, ph.paths, report)
    if include_extension:
        out[EXTENSION_KEY] = ext
    name = (pid or b.get("serial_number") or "passport").replace("/", "_")
    return ExportResult(out, MEDIA_TYPE, report, f"{name}.idta-batterypass.json")


def _blank(v: Any) -> bool:
    return v is None or v == [] or v == {}


_TOP_FIELD = re.compile(r"[^.\[]*(\.[^.\[]*)?")


def extension(out: Mapping[str, Any], m: Mapping[str, Any], b: Mapping[str, Any], placeholders: list[str],
              report: MappingReport) -> dict[str, Any]:
    """The batteryloop extension of an export: its placeholder paths, and each of our fields the IDTA parts
    do not give back whole (found by reading the parts back, so it cannot miss one), reported unmapped."""
    # our values stand in for what the parts lack, so that both parts validate; those are not carried
    given = {f"{part}.{k}": v for part, data in (("model", m), ("battery", b)) for k, v in data.items()}
    back = _read_parts(dict(out), lenient=True, skip=placeholders, required=(), defaults=given)
    got = {"model": back.model.model_dump(mode="json", exclude_none=True) if back.model else back.model_fields,
           "battery": back.battery.model_dump(mode="json", exclude_none=True) if back.battery else back.battery_fields}
    # the top-level fields the parts gave (``battery.usage.x`` → ``battery.usage``), once: not per field
    carried = {_TOP_FIELD.match(k).group(0) for k, o in back.origin.items()  # type: ignore[union-attr]
               if not o.startswith("(default")}
    ext: dict[str, Any] = {"placeholders": sorted(set(placeholders)), "model": {}, "battery": {}}
    for part, data in (("model", m), ("battery", b)):
        for key, value in data.items():
            if _blank(value) or f"{part}.{key}" in carried and got[part].get(key) == value:
                continue
            ext[part][key] = value
            report.unmap(f"{part}.{key}", value, NOT_CARRIED.get(f"{part}.{key}", "not carried whole by IDTA 02035")
                         + ": travels in the batteryloop extension")
    return ext


def _document(doc_id: str, title: str, cls: str, url: str | None) -> dict[str, Any]:
    version: dict[str, Any] = {"Language": [LANG], "Title": _ml(title)}
    version["DigitalFiles"] = [{"value": url or "urn:batteryloop:not-declared", "contentType": "application/pdf"}]
    return {"DocumentIds": [{"DocumentDomainId": "batteryloop", "DocumentIdentifier": doc_id, "DocumentIsPrimary": True}],
            "DocumentClassifications": [{"ClassId": cls, "ClassName": _ml(title), "ClassificationSystem": DOC_CLASS}],
            "DocumentVersions": [version]}


def _technical(m: Mapping[str, Any], b: Mapping[str, Any], ph: Placeholders) -> dict[str, Any]:
    T = "technical_data:TechnicalPropertyAreas"
    soh = b.get("state_of_health") or {}

    def v(path: str, key: str, scale: float = 1.0, *, src: Mapping[str, Any] = m, part: str = "model") -> float:
        val = src.get(key)
        return ph(f"{T}.{path}", 0.0, f"{part}.{key}") if val is None else r9(val * scale)

    general: dict[str, Any] = {
        "ManufacturerName": m["manufacturer_name"], "ManufacturerIdentifier": m["manufacturer_id"],
        "WarrantyInformation": {"WarrantyPeriod": _duration(m["warranty_years"]) if m.get("warranty_years")
                                else ph("technical_data:GeneralInformation.WarrantyInformation.WarrantyPeriod", "P0D",
                                        "model.warranty_years")},
        "BatteryCategory": CATEGORY_OUT[m["category"]], "BatteryMass": m["mass_kg"],
    }
    cev: dict[str, Any] = {"NominalVoltage": m["nominal_voltage_v"], "MinVoltage": m["min_voltage_v"],
                           "MaxVoltage": m["max_voltage_v"], "RatedCapacity": m["rated_capacity_ah"]}
    if m.get("rated_energy_kwh") is not None:
        cev["CertifiedUsableBatteryEnergy"] = m["rated_energy_kwh"]
    if soh.get("soh_capacity_pct") is not None:  # optional in IDTA: left out (not 0) where the tier withholds it
        cev["CapacityFade"] = r9(100.0 - soh["soh_capacity_pct"])
    power, energy = m.get("original_power_capability_w"), m.get("rated_energy_kwh")
    rpc = soh.get("remaining_power_capability_pct")
    return {
        "GeneralInformation": general,
        "TechnicalPropertyAreas": {
            "CapacityEnergyVoltage": cev,
            "RoundTripEnergyEfficiency": {
                "InitialRoundTripEnergyEfficiency": v("RoundTripEnergyEfficiency.InitialRoundTripEnergyEfficiency",
                                                      "initial_round_trip_efficiency_pct"),
                "RoundTripEnergyEfficiencyAt50PercentOfCycleLife": v(
                    "RoundTripEnergyEfficiency.RoundTripEnergyEfficiencyAt50PercentOfCycleLife",
                    "round_trip_efficiency_at_50pct_cycle_life_pct"),
                **({"InitialSelfDischargingRate": m["initial_self_discharge_pct_per_month"]}
                   if m.get("initial_self_discharge_pct_per_month") is not None else {})},
            "Resistance": {
                "InitialInternalResistanceAtBatteryCellLevel": v(
                    "Resistance.InitialInternalResistanceAtBatteryCellLevel", "internal_resistance_cell_mohm", 1e-3),
                "InitialInternalResistanceAtBatteryPackLevel": v(
                    "Resistance.InitialInternalResistanceAtBatteryPackLevel", "internal_resistance_pack_mohm", 1e-3),
                "InternalResistanceIncreaseAtBatteryPackLevel": v(
                    "Resistance.InternalResistanceIncreaseAtBatteryPackLevel", "ohmic_resistance_increase_pct",
                    src=soh, part="battery.state_of_health"),
            },
            "PowerCapability": {
                "MaximumPermittedBatteryPower": v("PowerCapability.MaximumPermittedBatteryPower", "max_permitted_power_w"),
                "PowerFade": (r9(100.0 - rpc) if rpc is not None else
                              ph(f"{T}.PowerCapability.PowerFade", 0.0, "battery.state_of_health")),
                "RatioNominalBatteryPowerAndBatteryEnergy": (
                    r9(power / (energy * 1000)) if power and energy else
                    ph(f"{T}.PowerCapability.RatioNominalBatteryPowerAndBatteryEnergy", 0.0,
                       "model.original_power_capability_w")),
                "OriginalPowerCapability": [{
                    "atSoC": ph(f"{T}.PowerCapability.OriginalPowerCapability[0].atSoC", 0.0),
                    "powerCapabilityAt": v("PowerCapability.OriginalPowerCapability[0].powerCapabilityAt",
                                           "original_power_capability_w")}],
            },
            "Temperature": {
                "TemperatureRangeIdleState_LowerBoundary": v("Temperature.TemperatureRangeIdleState_LowerBoundary",
                                                             "idle_temperature_lower_c"),
                "TemperatureRangeIdleState_UpperBoundary": v("Temperature.TemperatureRangeIdleState_UpperBoundary",
                                                             "idle_temperature_upper_c")},
            "Lifetime": {
                "ExpectedLifetimeInCalendarYears": (
                    m["expected_lifetime_years"] if m.get("expected_lifetime_years") is not None else
                    ph(f"{T}.Lifetime.ExpectedLifetimeInCalendarYears", 0, "model.expected_lifetime_years")),
                "ExpectedNumberOfCycles": (m["expected_lifetime_cycles"] if m.get("expected_lifetime_cycles") else
                                           ph(f"{T}.Lifetime.ExpectedNumberOfCycles", 0, "model.expected_lifetime_cycles")),
                "CapacityThresholdExhaustion": v("Lifetime.CapacityThresholdExhaustion",
                                                 "capacity_threshold_exhaustion_pct"),
                "CycleLifeReferenceTest": [m["cycle_life_test_reference"]] if m.get("cycle_life_test_reference") else [],
                "CrateOfRelevantCycleLifeTest": v("Lifetime.CrateOfRelevantCycleLifeTest", "cycle_life_c_rate"),
            },
        },
    }


def _condition(b: Mapping[str, Any], ph: Placeholders, now: str) -> dict[str, Any]:
    soh = b.get("state_of_health") or {}
    use = b.get("usage") or {}
    t = (soh.get("measured_at") or now).replace("+00:00", "Z")
    P = "product_condition"
    out: dict[str, Any] = {}

    def rec(key: str, value: Any, ours: str, required: bool = False) -> None:
        if value is None and not required:
            return
        out[key] = {f"{key}Value": value if value is not None else ph(f"{P}:{key}.{key}Value", 0.0, ours),
                    "LastUpdate": t}

    rec("EnergyThroughput", use.get("energy_throughput_kwh"), "battery.usage")
    rec("CapacityThroughput", use.get("capacity_throughput_ah"), "battery.usage")
    rec("NumberOfFullCycles", use.get("full_equivalent_cycles"), "battery.usage", True)
    rec("StateOfCertifiedEnergy", soh.get("state_of_certified_energy_pct"), "battery.state_of_health")
    rec("RemainingEnergy", soh.get("remaining_energy_kwh"), "battery.state_of_health")
    rec("RemainingCapacity", soh.get("remaining_capacity_ah"), "battery.state_of_health")
    rec("CurrentSelfDischargingRate", soh.get("self_discharge_pct_per_month"), "battery.state_of_health")
    rec("RemainingRoundTripEnergyEfficiency", soh.get("remaining_round_trip_efficiency_pct"), "battery.state_of_health")
    rec("StateOfCharge", use.get("state_of_charge_pct"), "battery.usage", True)
    events = use.get("negative_events", [])
    if events:
        out["NegativeEvents"] = [{"NegativeEventValue": ev["kind"] + (f": {ev['description']}" if ev.get("description") else ""),
                                  "LastUpdate": ev["occurred_at"].replace("+00:00", "Z")} for ev in events]
    out["InformationOnAccidents"] = []
    temp: dict[str, Any] = {"LastUpdate": t}
    if use.get("time_above_extreme_temperature_h") is not None:
        temp["TimeExtremeHighTemp"] = use["time_above_extreme_temperature_h"]
    if use.get("time_below_extreme_temperature_h") is not None:
        temp["TimeExtremeLowTemp"] = use["time_below_extreme_temperature_h"]
    for key, ours in (("TimeExtremeHighTempCharging", "time_above_extreme_temperature_charging_h"),
                      ("TimeExtremeLowTempCharging", "time_below_extreme_temperature_charging_h")):
        if use.get(ours) is not None:
            temp[key] = use[ours]
    out["TemperatureInformation"] = temp
    for key in ("deep_discharge_events", "min_operating_temperature_c", "max_operating_temperature_c"):
        if use.get(key) is not None:
            ph.report.unmap(f"battery.usage.{key}", use[key], "no place in IDTA product condition")
    return out


def _circularity(m: Mapping[str, Any], ph: Placeholders) -> dict[str, Any]:
    C = "circularity"
    dis = m.get("dismantling_information") or {}
    dismantling = ([dis["manual_url"]] if dis.get("manual_url") else []) + list(dis.get("steps", []))
    for key in ("tools", "fastener_types"):
        if dis.get(key):
            ph.report.unmap(f"model.dismantling_information.{key}", dis[key], "no place in IDTA circularity")
    by_supplier: dict[tuple[str | None, str | None], list[dict[str, str]]] = {}
    for s in m.get("spare_parts", []):
        by_supplier.setdefault((s.get("supplier_name"), s.get("supplier_contact")), []).append(
            {"PartName": s["name"], "PartNumber": s["part_number"]})
    sources = []
    for i, ((name, contact), comps) in enumerate(by_supplier.items()):
        p = f"{C}:SparePartSources[{i}]"
        sources.append({
            "NameOfSupplier": _ml(name) if name else _ml(ph.text(f"{p}.NameOfSupplier", "model.spare_parts")),
            "AddressOfSupplier": {"NationalCode": _ml(ph.text(f"{p}.AddressOfSupplier.NationalCode")),
                                  "PostalCode": _ml(ph.text(f"{p}.AddressOfSupplier.PostalCode")),
                                  "Street": _ml(ph.text(f"{p}.AddressOfSupplier.Street"))},
            "EmailAddressOfSupplier": {"EmailAddress": contact or ph.text(f"{p}.EmailAddressOfSupplier.EmailAddress",
                                                                          "model.spare_parts")},
            "SupplierWebAddress": ph.text(f"{p}.SupplierWebAddress"),
            "Components": comps,
        })
    rc = m.get("recycled_content") or {}
    recycled = []
    for metal, name in METALS.items():
        if rc.get(f"{metal}_pct") is not None:
            i = len(recycled)
            recycled.append({"RecycledMaterial": name,
                             "PreConsumerShare": ph(f"{C}:RecycledContentInformation[{i}].PreConsumerShare", 0.0),
                             "PostConsumerShare": rc[f"{metal}_pct"]})
    if recycled:
        ph.report.unmap("model.recycled_content", rc, "batteryloop records pre- plus post-consumer share as one "
                        "figure: exported as PostConsumerShare with PreConsumerShare 0 (placeholder)")
    return {
        "DismantlingAndRemovalInformation": dismantling,
        "SparePartSources": sources,
        "RecycledContentInformation": recycled,
        "SafetyMeasures": {"SafetyInstructions": list(m.get("safety_measures", [])),
                           "ExtinguishingAgents": list(m.get("extinguishing_agent", []))},
        "EndOfLifeInformation": {"WastePrevention": [m["waste_prevention_url"]] if m.get("waste_prevention_url") else [],
                                 "SeparateCollection": ([m["separate_collection_url"]]
                                                        if m.get("separate_collection_url") else []),
                                 "InformationOnCollection": ([m["collection_information"]]
                                                             if m.get("collection_information") else [])},
        "RenewableContent": (m["renewable_content_pct"] if m.get("renewable_content_pct") is not None
                             else ph(f"{C}:RenewableContent", 0.0, "model.renewable_content_pct")),
    }


# ============================================================================ import
def detect_part(obj: Any) -> str | None:
    if not isinstance(obj, Mapping):
        return None
    keys = set(obj)
    return next((p for p, sig in SIGNATURES.items() if sig <= keys), None)


def split_parts(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``{part: payload}`` from a passport dict, or from one part's payload on its own."""
    if any(k in PARTS for k in doc):
        unknown = [k for k in doc if k not in PARTS]
        if unknown:
            raise InvalidData(f"unknown IDTA part(s) {', '.join(unknown)}: expected {', '.join(PARTS)}",
                              [{"field": k, "rule": "idta:part", "message": f"{k}: not an IDTA 02035 part",
                                "value": None} for k in unknown])
        return dict(doc)
    part = detect_part(doc)
    if part is None:
        raise InvalidData("not an IDTA battery-passport payload: no part recognised by its top-level keys",
                          [{"field": "(root)", "rule": "idta:part", "value": ", ".join(list(doc)[:10]),
                            "message": "(root): expected the keys of one IDTA 02035 part or {part: payload}"}])
    return {part: doc}


def import_payload(payload: Any, *, lenient: bool = False, defaults: Mapping[str, Any] | None = None,
                   ignore: Iterable[str] = (), check_schema: bool = True) -> ImportResult:
    """Read IDTA SAMM payloads (``{part: payload}`` or one part) into our parts.

    ``ignore``: ``part:path`` entries to skip (the placeholders of our own export). ``check_schema``
    runs the official schema of each part first (AAS input skips it: empty properties are absent)."""
    doc = load_object(payload, "IDTA battery passport")
    return _read_parts(doc, lenient=lenient, defaults=defaults, skip=ignore, check_schema=check_schema)


def _read_parts(doc: Mapping[str, Any], *, lenient: bool, defaults: Mapping[str, Any] | None = None,
                skip: Iterable[str] = (), check_schema: bool = False,
                required: tuple[str, ...] = ("battery.status",)) -> ImportResult:
    doc = dict(doc)
    ext = doc.pop(EXTENSION_KEY, None)
    ext = ext if isinstance(ext, Mapping) else {}
    placeholders = [str(p) for p in ext.get("placeholders") or [] if isinstance(p, str)]
    parts = split_parts(doc)
    c = Collector("idta", lenient, [*skip, *placeholders])
    for part, body in parts.items():
        if not isinstance(body, Mapping):
            c.error(part, "type", f"an IDTA part must be a JSON object, got {type(body).__name__}", None)
            continue
        if check_schema:
            for e in schemas.validate(PARTS[part][0], body):
                e = {**e, "field": f"{part}:{e['field']}", "message": f"{part}:{e['message']}"}
                c.report.schema_errors.append(e)
                c.errors.append(e)
        _READERS[part](c, body, part)
    inactive = [part for part, body in parts.items() if isinstance(body, Mapping) and body.get("dppStatus") == "Inactive"]
    if inactive and c.data["battery"].get("status") == "waste":
        # the export writes a recycled (archived) passport as LifeCycleStage 'waste' with dppStatus Inactive:
        # together they say recycled, so the battery does not come back as waste awaiting treatment
        c.put("battery.status", "recycled", _p(inactive[0], "dppStatus"))
    elif inactive and not c.has("battery.status"):  # an archived passport whose status the reader's tier withheld
        c.put("battery.status", "recycled", _p(inactive[0], "dppStatus"))
    for part in ("model", "battery"):  # our fields IDTA has no place for, from a batteryloop export
        fields = ext.get(part)
        for key, value in (fields.items() if isinstance(fields, Mapping) else ()):
            c.data[part][key] = value
            c.origin[f"{part}.{key}"] = f"{EXTENSION_KEY}.{part}.{key}"
            c.report.not_carried.append(f"{part}.{key}")
    c.order("model.idle_temperature_lower_c", "model.idle_temperature_upper_c")
    c.order("battery.manufacture_date", "battery.putting_into_service_date", strict=False)
    return c.finish(defaults, required=required)


def _mlt(c: Collector, value: Any, src: str) -> str | None:
    """The English (else first) text of a multi-language value; the object form is flagged as a defect."""
    if value is None or src in c.skip:
        return None
    if isinstance(value, Mapping):
        c.error(src, "idta:multi_language_text", "multi-language text given as an object "
                f"{dict(value)!r}; the schema wants an array of {{language: text}} objects", str(dict(value)))
        value = [value]
    if not isinstance(value, list):
        c.error(src, "idta:multi_language_text", f"{value!r} is not multi-language text", value)
        return None
    texts = [(k, v) for item in value if isinstance(item, Mapping) for k, v in item.items()]
    for k, v in texts:
        if k.lower().startswith(LANG):
            return c.text(v, src)
    return c.text(texts[0][1], src) if texts else None


def _p(part: str, path: str) -> str:
    return f"{part}:{path}"


def _read_dpp(c: Collector, d: Mapping[str, Any], part: str) -> None:
    uid = d.get("uniqueProductIdentifier")
    if isinstance(uid, str) and re.match(r"^[A-Z0-9]{1,3}\.[A-Z0-9\-]+\.[A-Z0-9\-]+$", uid):
        c.put("battery.passport_id", uid, _p(part, "uniqueProductIdentifier"))
    elif uid is not None:
        c.report.unmap(_p(part, "uniqueProductIdentifier"), uid, "not an ISO/IEC 15459 identifier IAC.COMPANY.SERIAL")
    c.put("battery.economic_operator_id", c.text(d.get("economicOperatorId"), _p(part, "economicOperatorId"),
                                                 "battery.economic_operator_id"), _p(part, "economicOperatorId"))
    for key in ("digitalProductPassportId", "granularity", "dppSchemaVersion", "dppStatus", "lastUpdate", "facilityId"):
        if d.get(key) is not None:
            c.report.unmap(_p(part, key), d[key], "passport metadata: batteryloop keeps its own")


def _read_nameplate(c: Collector, d: Mapping[str, Any], part: str) -> None:
    P = lambda k: _p(part, k)  # noqa: E731
    c.put("model.manufacturer_name", _mlt(c, d.get("ManufacturerName"), P("ManufacturerName")), P("ManufacturerName"))
    addr = d.get("AddressInformation")
    if isinstance(addr, Mapping):
        pieces = {k: _mlt(c, addr.get(k), P(f"AddressInformation.{k}"))
                  for k in ("Street", "ZipCode", "CityTown", "NationalCode")}
        if pieces["Street"]:
            text = pieces["Street"]
            if pieces["ZipCode"] and pieces["CityTown"]:
                text += f", {pieces['ZipCode']} {pieces['CityTown']}"
            if pieces["NationalCode"]:
                text += f", {pieces['NationalCode']}"
            c.put("model.manufacturer_address", text, P("AddressInformation"))
        if isinstance(addr.get("Languages"), str):
            c.error(P("AddressInformation.Languages"), "idta:language_set",
                    f"{addr['Languages']!r}: the schema wants an array of language codes", addr["Languages"])
        other = sorted(set(addr) - {"Street", "ZipCode", "CityTown", "NationalCode"})
        if other:
            c.report.unmap(P("AddressInformation"), other, "contact details batteryloop does not record")
    c.put("battery.serial_number", c.text(d.get("SerialNumber"), P("SerialNumber"), "battery.serial_number"),
          P("SerialNumber"))
    c.put("battery.manufacture_date", c.date(d.get("DateOfManufacture"), P("DateOfManufacture"),
                                             "battery.manufacture_date"), P("DateOfManufacture"))
    c.put("battery.putting_into_service_date", c.date(d.get("DateOfPuttingIntoService"), P("DateOfPuttingIntoService"),
                                                      "battery.putting_into_service_date"), P("DateOfPuttingIntoService"))
    c.put("battery.manufacture_site", c.text(d.get("UniqueFacilityIdentifier"), P("UniqueFacilityIdentifier")),
          P("UniqueFacilityIdentifier"))
    st = d.get("LifeCycleStage")
    if st is not None and P("LifeCycleStage") not in c.skip:
        if st in STATUS_IN:
            c.put("battery.status", STATUS_IN[st], P("LifeCycleStage"))
        else:
            c.error(P("LifeCycleStage"), "enum", f"{st!r} is not a life-cycle stage", st, "battery.status")
    c.put("battery.economic_operator_id", c.text(d.get("OperatorIdentifier"), P("OperatorIdentifier")),
          P("OperatorIdentifier")) if not c.has("battery.economic_operator_id") else None
    c.put("model.manufacturer_id", c.text(d.get("ManufacturerIdentifier"), P("ManufacturerIdentifier")),
          P("ManufacturerIdentifier"))
    for i, mk in enumerate(d.get("Markings") or []):
        if isinstance(mk, Mapping):
            c.append("model.labels", c.text(mk.get("MarkingName"), P(f"Markings[{i}].MarkingName")), P(f"Markings[{i}]"))
    for i, u in enumerate(d.get("EUDeclarationOfConformity") or []):
        if i == 0 and not c.has("model.declaration_of_conformity_url"):
            c.put("model.declaration_of_conformity_url", c.text(u, P(f"EUDeclarationOfConformity[{i}]")),
                  P(f"EUDeclarationOfConformity[{i}]"))
    if d.get("ResultsOfTestReportsProvingCompliance"):
        c.report.unmap(P("ResultsOfTestReportsProvingCompliance"), d["ResultsOfTestReportsProvingCompliance"],
                       "read from the handover documentation, which also names each report")


def _read_handover(c: Collector, d: Mapping[str, Any], part: str) -> None:
    for i, doc in enumerate(d.get("Documents") or []):
        if not isinstance(doc, Mapping):
            continue
        p = _p(part, f"Documents[{i}]")
        ids = doc.get("DocumentIds") or [{}]
        doc_id = ids[0].get("DocumentIdentifier") if isinstance(ids[0], Mapping) else None
        versions = doc.get("DocumentVersions") or [{}]
        v = versions[0] if isinstance(versions[0], Mapping) else {}
        if isinstance(v.get("Language"), str):
            c.error(f"{p}.DocumentVersions[0].Language", "idta:language_set",
                    f"{v['Language']!r}: the schema wants an array of language codes", v["Language"])
        title = _mlt(c, v.get("Title"), f"{p}.DocumentVersions[0].Title")
        files = v.get("DigitalFiles") or [{}]
        url = files[0].get("value") if isinstance(files[0], Mapping) else None
        url = None if url == "urn:batteryloop:not-declared" else url
        key = next((k for k, _, _ in DOCS if k == doc_id), None)
        if key:
            c.put(f"model.{key}", c.text(url, f"{p}.DocumentVersions[0].DigitalFiles[0].value"), p)
        elif doc_id and str(doc_id).startswith("test_report_") or doc_id is not None and title:
            rep: dict[str, Any] = {"title": title or str(doc_id)}
            if url:
                rep["url"] = url
            std = _mlt(c, v.get("Subtitle"), f"{p}.DocumentVersions[0].Subtitle")
            issuer = _mlt(c, v.get("Description"), f"{p}.DocumentVersions[0].Description")
            if std:
                rep["standard"] = std
            if issuer:
                rep["issuer"] = issuer
            if isinstance(v.get("Version"), str) and re.match(r"^\d{4}-\d{2}-\d{2}$", v["Version"]):
                rep["issued_on"] = c.date(v["Version"], f"{p}.DocumentVersions[0].Version")
            c.append("model.test_reports", rep, p)
        for j, cl in enumerate(doc.get("DocumentClassifications") or []):
            if isinstance(cl, Mapping):
                _mlt(c, cl.get("ClassName"), f"{p}.DocumentClassifications[{j}].ClassName")


def _read_footprint(c: Collector, d: Mapping[str, Any], part: str) -> None:
    all_phases = {p for _, p in CF_PHASES}
    by_phase = {p: k for k, p in CF_PHASES}
    for i, e in enumerate(d.get("ProductCarbonFootprints") or []):
        if not isinstance(e, Mapping):
            continue
        p = _p(part, f"ProductCarbonFootprints[{i}]")
        phases = e.get("LifeCyclePhases")
        if isinstance(phases, str):
            c.error(f"{p}.LifeCyclePhases", "schema:type", f"{phases!r} is a single text; the schema wants an array",
                    phases)
            phases = [phases]
        if isinstance(e.get("PcfCalculationMethods"), str):
            c.error(f"{p}.PcfCalculationMethods", "schema:type",
                    f"{e['PcfCalculationMethods']!r} is a single text; the schema wants an array", e["PcfCalculationMethods"])
        unit, qty = e.get("ReferenceImpactUnitForCalculation"), e.get("QuantityOfMeasureForCalculation")
        value = c.number(e.get("PcfCo2eq"), f"{p}.PcfCo2eq", "model.carbon_footprint")
        if value is None:
            continue
        if unit != "kwH" or qty in (None, 0):
            c.report.unmap(p, dict(e), f"footprint per {qty} {unit}: batteryloop records kg CO2e per kWh (Annex II)")
            continue
        value = r9(value / qty)
        phases = set(phases or [])
        if phases >= all_phases:
            key = "total_kgco2e_per_kwh"
        elif len(phases) == 1 and next(iter(phases)) in by_phase:
            key = by_phase[next(iter(phases))]
        else:
            c.report.unmap(f"{p}.LifeCyclePhases", sorted(phases), "life-cycle phases without a batteryloop field")
            continue
        c.put(f"model.carbon_footprint.{key}", value, f"{p}.PcfCo2eq")
        pc = e.get("PerformanceClass")
        if isinstance(pc, str) and re.match(r"^[A-G]$", pc):
            c.put("model.carbon_footprint.performance_class", pc, f"{p}.PerformanceClass")
        elif pc not in (None, NOT_DECLARED):
            c.report.unmap(f"{p}.PerformanceClass", pc, "batteryloop performance classes are A-G")
        for j, u in enumerate(e.get("WebLinkToPublicCarbonFootprintStudy") or []):
            c.put("model.carbon_footprint.study_url", c.text(u, f"{p}.WebLinkToPublicCarbonFootprintStudy[{j}]"),
                  f"{p}.WebLinkToPublicCarbonFootprintStudy[{j}]")
    cf = c.data["model"].get("carbon_footprint")
    if cf and "total_kgco2e_per_kwh" not in cf:
        c.error(_p(part, "ProductCarbonFootprints"), "carbon_footprint:total",
                "no total: give one entry whose LifeCyclePhases cover A1, A3, A4 and C1-C4", None,
                "model.carbon_footprint.total_kgco2e_per_kwh")
        c.data["model"].pop("carbon_footprint", None)


def _read_technical(c: Collector, d: Mapping[str, Any], part: str) -> None:
    g = lambda p: path_get(d, p)  # noqa: E731
    P = lambda k: _p(part, k)  # noqa: E731
    G = "GeneralInformation"
    c.put("model.manufacturer_name", c.text(g(f"{G}.ManufacturerName"), P(f"{G}.ManufacturerName")),
          P(f"{G}.ManufacturerName")) if not c.has("model.manufacturer_name") else None
    c.put("model.manufacturer_id", c.text(g(f"{G}.ManufacturerIdentifier"), P(f"{G}.ManufacturerIdentifier")),
          P(f"{G}.ManufacturerIdentifier")) if not c.has("model.manufacturer_id") else None
    wp = g(f"{G}.WarrantyInformation.WarrantyPeriod")
    src = P(f"{G}.WarrantyInformation.WarrantyPeriod")
    if isinstance(wp, str) and src not in c.skip:
        years = _years(wp)
        if years is None:
            c.error(src, "duration", f"{wp!r} is not an ISO 8601 duration of years, months or days", wp,
                    "model.warranty_years")
        elif years > 0:
            c.put("model.warranty_years", years, src)
    cat = g(f"{G}.BatteryCategory")
    if cat is not None:
        if cat in ("ev", "lmt", "industrial"):
            c.put("model.category", cat, P(f"{G}.BatteryCategory"))
        elif cat == "stationary":
            c.put("model.category", "industrial", P(f"{G}.BatteryCategory"))
            c.report.unmap(P(f"{G}.BatteryCategory"), cat, "read as 'industrial' (stationary storage is industrial)")
        else:
            c.error(P(f"{G}.BatteryCategory"), "enum", f"{cat!r} is not a battery category", cat, "model.category")
    c.put("model.mass_kg", c.number(g(f"{G}.BatteryMass"), P(f"{G}.BatteryMass"), "model.mass_kg"), P(f"{G}.BatteryMass"))
    T = "TechnicalPropertyAreas"
    for src_, target, scale in (
        ("CapacityEnergyVoltage.NominalVoltage", "model.nominal_voltage_v", 1.0),
        ("CapacityEnergyVoltage.MinVoltage", "model.min_voltage_v", 1.0),
        ("CapacityEnergyVoltage.MaxVoltage", "model.max_voltage_v", 1.0),
        ("CapacityEnergyVoltage.RatedCapacity", "model.rated_capacity_ah", 1.0),
        ("CapacityEnergyVoltage.CertifiedUsableBatteryEnergy", "model.rated_energy_kwh", 1.0),
        ("RoundTripEnergyEfficiency.InitialRoundTripEnergyEfficiency", "model.initial_round_trip_efficiency_pct", 1.0),
        ("RoundTripEnergyEfficiency.RoundTripEnergyEfficiencyAt50PercentOfCycleLife",
         "model.round_trip_efficiency_at_50pct_cycle_life_pct", 1.0),
        ("Resistance.InitialInternalResistanceAtBatteryCellLevel", "model.internal_resistance_cell_mohm", 1e3),
        ("Resistance.InitialInternalResistanceAtBatteryPackLevel", "model.internal_resistance_pack_mohm", 1e3),
        ("Resistance.InternalResistanceIncreaseAtBatteryPackLevel", "battery.state_of_health.ohmic_resistance_increase_pct", 1.0),
        ("PowerCapability.MaximumPermittedBatteryPower", "model.max_permitted_power_w", 1.0),
        ("PowerCapability.OriginalPowerCapability[0].powerCapabilityAt", "model.original_power_capability_w", 1.0),
        ("Temperature.TemperatureRangeIdleState_LowerBoundary", "model.idle_temperature_lower_c", 1.0),
        ("Temperature.TemperatureRangeIdleState_UpperBoundary", "model.idle_temperature_upper_c", 1.0),
        ("Lifetime.CapacityThresholdExhaustion", "model.capacity_threshold_exhaustion_pct", 1.0),
        ("Lifetime.CrateOfRelevantCycleLifeTest", "model.cycle_life_c_rate", 1.0),
    ):
        full = P(f"{T}.{src_}")
        v = c.number(g(f"{T}.{src_}"), full, target)
        if v is not None and full not in c.skip:
            if target == "model.max_permitted_power_w" and v > 1e12:
                c.error(full, "plausible_range", f"{v:g} W is not a plausible battery power (the float maximum?)",
                        v, target)
                continue
            c.put(target, r9(v * scale), full)
    pf = P(f"{T}.PowerCapability.PowerFade")
    v = c.number(g(f"{T}.PowerCapability.PowerFade"), pf)
    if v is not None and pf not in c.skip:
        c.put("battery.state_of_health.remaining_power_capability_pct", r9(100.0 - v), pf)
    cyc = P(f"{T}.Lifetime.ExpectedNumberOfCycles")
    n = c.integer(g(f"{T}.Lifetime.ExpectedNumberOfCycles"), cyc, "model.expected_lifetime_cycles")
    if n and cyc not in c.skip:
        c.put("model.expected_lifetime_cycles", n, cyc)
    ref = g(f"{T}.Lifetime.CycleLifeReferenceTest") or []
    if ref:
        c.put("model.cycle_life_test_reference", c.text(ref[0], P(f"{T}.Lifetime.CycleLifeReferenceTest[0]")),
              P(f"{T}.Lifetime.CycleLifeReferenceTest[0]"))
    cf = P(f"{T}.CapacityEnergyVoltage.CapacityFade")
    v = c.number(g(f"{T}.CapacityEnergyVoltage.CapacityFade"), cf, "battery.state_of_health.soh_capacity_pct")
    if v is not None and cf not in c.skip:
        if not 0 <= v <= 100:
            c.error(cf, "percent", f"{v:g} is not a capacity fade between 0 and 100 %", v,
                    "battery.state_of_health.soh_capacity_pct")
        else:
            c.put("battery.state_of_health.soh_capacity_pct", r9(100.0 - v), cf)
    for key, target in (("Lifetime.ExpectedLifetimeInCalendarYears", "model.expected_lifetime_years"),
                        ("RoundTripEnergyEfficiency.InitialSelfDischargingRate",
                         "model.initial_self_discharge_pct_per_month")):
        src = P(f"{T}.{key}")
        if g(f"{T}.{key}") is not None and src not in c.skip:
            read = c.integer if target.endswith("_years") else c.number
            c.put(target, read(g(f"{T}.{key}"), src, target), src)
    for key in ("RoundTripEnergyEfficiency.EnergyRoundTripEfficiencyFade",
                "Resistance.InitialInternalResistanceAtBatteryModuleLevel",
                "PowerCapability.RatioNominalBatteryPowerAndBatteryEnergy"):
        if g(f"{T}.{key}") is not None and P(f"{T}.{key}") not in c.skip:
            c.report.unmap(P(f"{T}.{key}"), g(f"{T}.{key}"), "no batteryloop field (or derived)")


def _read_condition(c: Collector, d: Mapping[str, Any], part: str) -> None:
    P = lambda k: _p(part, k)  # noqa: E731
    for key, target in (
        ("EnergyThroughput", "battery.usage.energy_throughput_kwh"),
        ("CapacityThroughput", "battery.usage.capacity_throughput_ah"),
        ("NumberOfFullCycles", "battery.usage.full_equivalent_cycles"),
        ("StateOfCertifiedEnergy", "battery.state_of_health.state_of_certified_energy_pct"),
        ("RemainingEnergy", "battery.state_of_health.remaining_energy_kwh"),
        ("RemainingCapacity", "battery.state_of_health.remaining_capacity_ah"),
        ("CurrentSelfDischargingRate", "battery.state_of_health.self_discharge_pct_per_month"),
        ("RemainingRoundTripEnergyEfficiency", "battery.state_of_health.remaining_round_trip_efficiency_pct"),
        ("StateOfCharge", "battery.usage.state_of_charge_pct"),
    ):
        rec = d.get(key)
        if not isinstance(rec, Mapping):
            continue
        src = P(f"{key}.{key}Value")
        v = c.number(rec.get(f"{key}Value"), src, target)
        if v is None or src in c.skip:
            continue
        c.put(target, v, src)
        if target.startswith("battery.state_of_health") and rec.get("LastUpdate") and not c.has(
                "battery.state_of_health.measured_at"):
            c.put("battery.state_of_health.measured_at", c.datetime(rec["LastUpdate"], P(f"{key}.LastUpdate")),
                  P(f"{key}.LastUpdate"))
    temp = d.get("TemperatureInformation")
    if isinstance(temp, Mapping):
        for key, target in (("TimeExtremeHighTemp", "battery.usage.time_above_extreme_temperature_h"),
                            ("TimeExtremeLowTemp", "battery.usage.time_below_extreme_temperature_h")):
            c.put(target, c.number(temp.get(key), P(f"TemperatureInformation.{key}"), target),
                  P(f"TemperatureInformation.{key}"))
        for key, target in (("TimeExtremeHighTempCharging", "battery.usage.time_above_extreme_temperature_charging_h"),
                            ("TimeExtremeLowTempCharging", "battery.usage.time_below_extreme_temperature_charging_h")):
            c.put(target, c.number(temp.get(key), P(f"TemperatureInformation.{key}"), target),
                  P(f"TemperatureInformation.{key}"))
        for key in ("MeasuredTemp",):
            if temp.get(key) is not None:
                c.report.unmap(P(f"TemperatureInformation.{key}"), temp[key], "no batteryloop field")
    for i, ev in enumerate(d.get("NegativeEvents") or []):
        if isinstance(ev, Mapping):
            text = c.text(ev.get("NegativeEventValue"), P(f"NegativeEvents[{i}].NegativeEventValue")) or "event"
            kind, _, desc = text.partition(": ")
            e: dict[str, Any] = {"kind": kind[:100],
                                 "occurred_at": c.datetime(ev.get("LastUpdate"), P(f"NegativeEvents[{i}].LastUpdate"))}
            if desc:
                e["description"] = desc
            c.append("battery.usage.negative_events", e, P(f"NegativeEvents[{i}]"))
    for key in ("InformationOnAccidents", "RemainingPowerCapability", "EvolutionOfSelfDischarge"):
        if d.get(key):
            c.report.unmap(P(key), d[key], "no batteryloop field")


def _read_materials(c: Collector, d: Mapping[str, Any], part: str) -> None:
    P = lambda k: _p(part, k)  # noqa: E731
    chem = d.get("BatteryChemistry")
    if isinstance(chem, Mapping):
        short = c.text(chem.get("ShortName"), P("BatteryChemistry.ShortName"), "model.chemistry")
        code, why = parse_chemistry(short or "") if short else (None, "")
        if code is None and short:
            c.error(P("BatteryChemistry.ShortName"), "chemistry", f"{short!r} {why}", short, "model.chemistry")
        c.put("model.chemistry", code, P("BatteryChemistry.ShortName"))
    crm = []
    for i, mt in enumerate(d.get("BatteryMaterials") or []):
        if not isinstance(mt, Mapping):
            continue
        p = P(f"BatteryMaterials[{i}]")
        loc = str(path_get(mt, "BatteryMaterialLocation.ComponentName") or "other").lower()
        loc = loc if loc in ("cathode", "anode", "electrolyte") else "other"
        share = {"material": c.text(mt.get("BatteryMaterialName"), f"{p}.BatteryMaterialName"),
                 "cas_number": c.text(mt.get("BatteryMaterialIdentifier"), f"{p}.BatteryMaterialIdentifier")}
        mass = c.number(mt.get("BatteryMaterialMass"), f"{p}.BatteryMaterialMass")
        if mass is not None:
            share["mass_kg"] = mass
        c.append(f"model.detailed_composition.{loc}", {k: v for k, v in share.items() if v is not None}, p)
        if mt.get("IsCriticalRawMaterial") is True and share["material"]:
            crm.append(share["material"])
    if crm:
        c.put("model.critical_raw_materials", sorted(set(crm)), P("BatteryMaterials[*].IsCriticalRawMaterial"))
    for i, h in enumerate(d.get("HazardousSubstances") or []):
        if not isinstance(h, Mapping):
            continue
        p = P(f"HazardousSubstances[{i}]")
        e: dict[str, Any] = {"name": c.text(h.get("HazardousSubstanceName"), f"{p}.HazardousSubstanceName"),
                             "cas_number": c.text(h.get("HazardousSubstanceIdentifier"), f"{p}.HazardousSubstanceIdentifier")}
        conc = c.number(h.get("HazardousSubstanceConcentration"), f"{p}.HazardousSubstanceConcentration")
        if conc is not None:
            e["concentration_pct"] = conc
        loc = path_get(h, "HazardousSubstanceLocation.ComponentName")
        if loc:
            e["location"] = c.text(loc, f"{p}.HazardousSubstanceLocation.ComponentName")
        impact = h.get("HazardousSubstanceImpact") or []
        if impact:
            e["hazard_class"] = c.text(impact[0], f"{p}.HazardousSubstanceImpact[0]")
        elif h.get("HazardousSubstanceClass"):
            e["hazard_class"] = h["HazardousSubstanceClass"]
        c.append("model.hazardous_substances", {k: v for k, v in e.items() if v is not None}, p)


def _read_circularity(c: Collector, d: Mapping[str, Any], part: str) -> None:
    P = lambda k: _p(part, k)  # noqa: E731
    for i, s in enumerate(d.get("DismantlingAndRemovalInformation") or []):
        text = c.text(s, P(f"DismantlingAndRemovalInformation[{i}]"))
        if text and re.match(r"^https?://", text) and not c.has("model.dismantling_information.manual_url"):
            c.put("model.dismantling_information.manual_url", text, P(f"DismantlingAndRemovalInformation[{i}]"))
        elif text:
            c.append("model.dismantling_information.steps", text, P(f"DismantlingAndRemovalInformation[{i}]"))
    for i, s in enumerate(d.get("SparePartSources") or []):
        if not isinstance(s, Mapping):
            continue
        p = P(f"SparePartSources[{i}]")
        name = _mlt(c, s.get("NameOfSupplier"), f"{p}.NameOfSupplier")
        addr = s.get("AddressOfSupplier")
        if isinstance(addr, Mapping):
            for k in ("NationalCode", "PostalCode", "Street"):
                _mlt(c, addr.get(k), f"{p}.AddressOfSupplier.{k}")
        email = path_get(s, "EmailAddressOfSupplier")
        contact = None
        if isinstance(email, Mapping):
            contact = c.text(email.get("EmailAddress"), f"{p}.EmailAddressOfSupplier.EmailAddress")
            for k in ("PublicKey", "TypeOfPublicKey"):
                if email.get(k) is not None:
                    _mlt(c, email.get(k), f"{p}.EmailAddressOfSupplier.{k}")
        for j, comp in enumerate(s.get("Components") or []):
            if isinstance(comp, Mapping):
                sp = {"part_number": comp.get("PartNumber"), "name": comp.get("PartName"),
                      "supplier_name": name, "supplier_contact": contact}
                c.append("model.spare_parts", {k: v for k, v in sp.items() if v is not None}, f"{p}.Components[{j}]")
    for i, r in enumerate(d.get("RecycledContentInformation") or []):
        if not isinstance(r, Mapping):
            continue
        p = P(f"RecycledContentInformation[{i}]")
        metal = str(r.get("RecycledMaterial", "")).lower()
        if metal not in METALS:
            c.error(f"{p}.RecycledMaterial", "enum", f"{r.get('RecycledMaterial')!r} is not Cobalt, Nickel, Lithium or Lead",
                    r.get("RecycledMaterial"))
            continue
        pre = 0.0 if f"{p}.PreConsumerShare" in c.skip else c.number(r.get("PreConsumerShare"), f"{p}.PreConsumerShare")
        post = c.number(r.get("PostConsumerShare"), f"{p}.PostConsumerShare")
        if pre is None and post is None:
            continue
        c.put(f"model.recycled_content.{metal}_pct", r9((pre or 0.0) + (post or 0.0)), f"{p}.PostConsumerShare")
    sm = d.get("SafetyMeasures")
    if isinstance(sm, Mapping):
        for i, s in enumerate(sm.get("SafetyInstructions") or []):
            c.append("model.safety_measures", c.text(s, P(f"SafetyMeasures.SafetyInstructions[{i}]")),
                     P(f"SafetyMeasures.SafetyInstructions[{i}]"))
        for i, s in enumerate(sm.get("ExtinguishingAgents") or []):
            c.append("model.extinguishing_agent", c.text(s, P(f"SafetyMeasures.ExtinguishingAgents[{i}]")),
                     P(f"SafetyMeasures.ExtinguishingAgents[{i}]"))
    eol = d.get("EndOfLifeInformation")
    if isinstance(eol, Mapping):
        info = [x for x in (eol.get("InformationOnCollection") or []) if isinstance(x, str)]
        if info:
            c.put("model.collection_information", c.text("\n".join(info), P("EndOfLifeInformation.InformationOnCollection")),
                  P("EndOfLifeInformation.InformationOnCollection"))
        for k, ours in (("WastePrevention", "model.waste_prevention_url"),
                        ("SeparateCollection", "model.separate_collection_url")):
            links = eol.get(k) or []
            if isinstance(links, list) and len(links) == 1 and isinstance(links[0], str) and re.match(
                    r"^(https?|urn|did):", links[0]):
                c.put(ours, c.text(links[0], P(f"EndOfLifeInformation.{k}[0]")), P(f"EndOfLifeInformation.{k}[0]"))
            elif links:
                c.report.unmap(P(f"EndOfLifeInformation.{k}"), links, "batteryloop holds one link here")
    src = P("RenewableContent")
    v = c.number(d.get("RenewableContent"), src, "model.renewable_content_pct")
    if v is not None and src not in c.skip:
        if not 0 <= v <= 100:
            c.error(src, "percent", f"{v:g} is not a share between 0 and 100 %", v, "model.renewable_content_pct")
        else:
            c.put("model.renewable_content_pct", v, src)


_READERS = {
    "dpp_metadata": _read_dpp, "digital_nameplate": _read_nameplate, "handover_documentation": _read_handover,
    "carbon_footprint": _read_footprint, "technical_data": _read_technical, "product_condition": _read_condition,
    "material_composition": _read_materials, "circularity": _read_circularity,
}
