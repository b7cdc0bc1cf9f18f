"""Battery Pass consortium data model 1.2 (batterypass/BatteryPassDataModel @ 4c96de2, CC-BY-4.0): export and import.

Source: the consortium's SAMM aspect models (``io.BatteryPass.<Module>/1.2.0/*.ttl``) and their generated JSON
schemas, vendored in ``batterypass_1_2/`` and applied by :mod:`.batterypass_schema` (draft-04, formats checked).
The generated JSON files are UTF-16 — exactly why every importer here reads UTF-8, UTF-8 with BOM and UTF-16
LE/BE with BOM.

Input: one module payload, or an object of several keyed by module name (``generalProductInformation``
/ ``GeneralProductInformation``, ``carbonFootprint``, ``performanceAndDurability``, ``circularity``,
``materialComposition``, ``supplyChainDueDiligence``, ``labels``/``labeling``).

Mapped field by field (SAMM property names of 1.2.0, including their spelling, e.g.
``warrentyPeriod``, ``batteryTechicalProperties``, ``remainingEnergyalue``):

* **GeneralProductInformation**: productIdentifier → passport_id; batteryCategory; manufacturerInformation
  (contactName, identifier, postalAddress{streetAddress, postalCode, addressCountry}); manufacturingDate;
  batteryStatus; batteryMass (kg); manufacturingPlace (street → manufacture_site, postalCode →
  manufacture_postal_code, the country → manufacture_country); operatorInformation (identifier, contactName,
  postalAddress → economic_operator_id, _name, _address); puttingIntoService; warrentyPeriod (xsd:gMonth, "--06" = 6
  months: a warranty beyond 12 months cannot be written, a schema defect).
* **CarbonFootprintForBatteries**: batteryCarbonFootprint, carbonFootprintPerLifecycleStage[]
  (RawMaterialExtraction, MainProduction, Distribution, Recycling), carbonFootprintPerformanceClass,
  carbonFootprintStudy.
* **PerformanceAndDurability**: the rated values of batteryTechicalProperties (with expectedLifetime in years,
  initialSelfDischarge, originalPowerCapability[] and powerCapabilityRatio) and the dynamic values of
  batteryCondition (entities ``{<name>Value, lastUpdate}``; remainingCapacity, remainingPowerCapability[], the
  charging-time temperature counters). Units as the 1.2 SAMM model declares them: a power capability at a state of
  charge in percent of ratedMaximumPower, remainingCapacity in kWh (our Ah × nominal voltage), powerCapabilityRatio
  in percent, temperatures' times in minutes; roundTripEfficiencyFade and evolutionOfSelfDischarge are computed on
  export from what the passport holds. temperatureRangeIdleState (one number for a range) is a schema defect.
* **Circularity**: dismantlingAndRemovalInformation[] (the first DismantlingManual, else RemovalManual,
  documentURL → dismantling_information.manual_url), sparePartSources[] (each component → one spare part with the
  supplier's name, postal address, e-mail and web address), recycledContent[] (pre- plus post-consumer share →
  recycled_content.<metal>_pct, and the split → <metal>_pre_consumer_pct / _post_consumer_pct), safetyMeasures
  (safetyInstructions → safety_instructions_url, extinguishingAgent → extinguishing_agent), endOfLifeInformation
  (wastePrevention, separateCollection, informationOnCollection → the three *_url fields), renewableContent →
  renewable_content_pct.
* **MaterialComposition**: batteryChemistry.shortName → chemistry; batteryMaterials[] (location cathode /
  anode / electrolyte / other, CAS, name, mass in **grams** → mass_kg) → detailed_composition, the ones
  flagged isCriticalRawMaterial → critical_raw_materials; hazardousSubstances[] → hazardous_substances
  (class, else the first impact statement → hazard_class; location's componentName → location); a CLP class
  outside the three-value enumeration is a schema defect.
* **SupplyChainDueDiligence**: supplyChainDueDiligenceReport → due_diligence_report_url.
* **Labeling** (``labels``): labels[].labelingMeaning (multi-language text; English, else the first) or,
  without a meaning, labelingSubject → labels; labelingSymbol with its subject → label_symbols;
  declarationOfConformity → declaration_of_conformity_url; resultOfTestReport → test_reports[0] (url; the title
  is ours: "result of test report").

Not mapped (reported as ``unmapped`` with the reason): batteryPassportIdentifier (a URN beside the product
identifier), absoluteCarbonFootprint, cRate (the ratio powerCapabilityRatio gives), temperatureRangeIdleState;
documents other than the first dismantling manual and their MIME types; the chemistry's clear name; component ids;
hazard impact statements beside a class; third-party assurances, the supply-chain index, the EU-taxonomy and
sustainability reports (1.0.0). Our fields Battery Pass cannot carry are one table, :data:`NOT_CARRIED`. Every one is
listed in docs/formats.md.

Import checks every module against its schema: strict refuses any violation (a missing required property too)
naming every one; lenient keeps what is valid and lists schema violations as warnings (``report.schema_errors``).
A wrong CAS number is a warning in both modes (the identifier is left out, the entry kept); a payload without
``batteryStatus`` builds no battery unless the status is given as a default.

Export (:func:`export`): the same modules from our passport, cut to the reader's tiers; every value written
conforms to the schemas, nothing is written as a stand-in, and every required property left out is listed in
``report.placeholders`` (withheld by the tier, or not declared and why). See docs/formats.md for the counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._convert import Collector, r9
from ._io import load_object
from .base import ExportResult, ImportResult, MappingReport, PassportParts, _short

MEDIA_TYPE = "application/vnd.batterypass.v1.2+json"
MODULES = {
    "generalproductinformation": "general_product_information", "performance": "performance_and_durability",
    "carbonfootprint": "carbon_footprint", "carbonfootprintforbatteries": "carbon_footprint",
    "performanceanddurability": "performance_and_durability",
    "circularity": "circularity", "materialcomposition": "material_composition",
    "supplychainduediligence": "supply_chain_due_diligence", "duediligence": "supply_chain_due_diligence",
    "labels": "labels_and_certification", "labeling": "labels_and_certification",
    "labelsandcertification": "labels_and_certification",
}
#: keys that identify a bare module payload
SIGNATURES = {
    "general_product_information": {"productIdentifier", "batteryPassportIdentifier", "manufacturerInformation",
                                    "manufacturingPlace", "warrentyPeriod"},
    "carbon_footprint": {"batteryCarbonFootprint", "carbonFootprintPerLifecycleStage",
                         "carbonFootprintPerformanceClass"},
    "performance_and_durability": {"batteryTechicalProperties", "batteryTechnicalProperties", "batteryCondition"},
    "circularity": {"dismantlingAndRemovalInformation", "sparePartSources", "recycledContent", "safetyMeasures",
                    "endOfLifeInformation", "renewableContent"},
    "material_composition": {"batteryChemistry", "batteryMaterials", "hazardousSubstances"},
    "supply_chain_due_diligence": {"supplyChainDueDiligenceReport", "thirdPartyAussurances", "supplyChainIndicies",
                                   "euTaxonomyDisclosureStatement", "sustainabilityReport"},
    "labels_and_certification": {"declarationOfConformity", "resultOfTestReport"},
}
CATEGORY = {"ev": "ev", "lmt": "lmt", "industrial": "industrial", "stationary": "industrial"}
STATUS = {"original": "original", "repurposed": "repurposed", "reused": "reused",
          "remanufactured": "remanufactured", "waste": "waste"}
STAGES = {"RawMaterialExtraction": "raw_material_kgco2e_per_kwh", "MainProduction": "main_production_kgco2e_per_kwh",
          "Distribution": "distribution_kgco2e_per_kwh", "Recycling": "end_of_life_kgco2e_per_kwh"}
COUNTRY_NAMES = {"germany": "DE", "deutschland": "DE", "france": "FR", "hungary": "HU", "poland": "PL",
                 "sweden": "SE", "spain": "ES", "italy": "IT", "czech republic": "CZ", "czechia": "CZ",
                 "austria": "AT", "belgium": "BE", "netherlands": "NL", "united kingdom": "GB",
                 "china": "CN", "japan": "JP", "korea": "KR", "south korea": "KR", "republic of korea": "KR",
                 "united states": "US", "usa": "US", "canada": "CA", "mexico": "MX", "india": "IN"}


def _key(name: str) -> str:
    return name.replace("_", "").replace("-", "").replace(" ", "").lower()


def split_modules(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``{module: payload}`` from a container or from one bare module payload."""
    if isinstance(doc.get("labels"), list) or SIGNATURES["labels_and_certification"] & set(doc):
        return {"labels_and_certification": doc}  # a bare Labeling payload: its list is called ``labels``
    found = {MODULES[_key(k)]: v for k, v in doc.items() if _key(k) in MODULES}
    if found:
        return found
    for module, keys in SIGNATURES.items():
        if keys & set(doc):
            return {module: doc}
    return {}


def detect(obj: Any) -> bool:
    """A Battery Pass payload: module keys or a module's own keys.

    ``circularity`` and ``material_composition`` are also IDTA part names: a container with only such keys
    is Battery Pass when its payloads are (SAMM camelCase ``dismantlingAndRemovalInformation``, where IDTA
    writes ``DismantlingAndRemovalInformation``)."""
    from .idta import PARTS

    if not isinstance(obj, Mapping) or {"specVersion", "identification", "operation"} & set(obj):
        return False  # Catena-X battery_pass (its ``performance`` is no Battery Pass module)
    if not split_modules(obj):
        return False
    shared = set(obj) & set(PARTS)
    if not shared:
        return True
    if any(_key(k) in MODULES for k in set(obj) - set(PARTS)):
        return True
    return all(isinstance(obj[k], Mapping) and obj[k] and all(str(x)[:1].islower() for x in obj[k]) for k in shared)


# ============================================================================ modules
def _address(c: Collector, addr: Any, p: str) -> tuple[str | None, str | None]:
    """(one-line address, country as written) of a PostalAddressEntity."""
    if addr is None:
        return None, None
    if not isinstance(addr, Mapping):
        c.error(p, "type", "a postal address must be an object (streetAddress, postalCode, addressCountry)", None)
        return None, None
    street = c.text(addr.get("streetAddress"), f"{p}.streetAddress")
    code = c.text(addr.get("postalCode"), f"{p}.postalCode")
    country = c.text(addr.get("addressCountry"), f"{p}.addressCountry")
    if street and code and code in street:
        code = None  # our export writes "<street>, <postal code> <town>" (the entity has no town): not twice
    line = ", ".join(x for x in (street, code, country) if x)
    return line or None, country


def _country(c: Collector, text: str | None, p: str) -> str | None:
    if text is None:
        return None
    t = text.strip()
    if len(t) == 2 and t.isalpha():
        return t.upper()
    code = COUNTRY_NAMES.get(t.lower())
    if code is None:
        c.error(p, "country", f"{t!r} is neither an ISO 3166-1 alpha-2 code nor a country name batteryloop knows",
                t, "battery.manufacture_country")
    return code


_GMONTH_RE = re.compile(r"^--(0[1-9]|1[0-2])(Z|[+-](0\d|1[0-3]):[0-5]\d|[+-]14:00)?$")


def _general(c: Collector, d: Mapping[str, Any], m: str) -> None:
    from ..passport.identifiers import UniqueIdentifier

    g = d.get
    pid = c.text(g("productIdentifier"), f"{m}.productIdentifier", "battery.passport_id")
    if pid is not None:
        try:
            UniqueIdentifier.parse(pid)  # ISO/IEC 15459 (Art. 77(3)), as the passport store requires it
        except ValueError as exc:
            c.error(f"{m}.productIdentifier", "identifier", f"{exc} (ISO/IEC 15459: issuing agency code, company, "
                    "serial)", pid, "battery.passport_id")
            pid = None
    c.put("battery.passport_id", pid, f"{m}.productIdentifier")
    if g("batteryPassportIdentifier") is not None:
        c.report.unmap(f"{m}.batteryPassportIdentifier", g("batteryPassportIdentifier"),
                       "a second (URN) passport identifier: batteryloop keeps one, productIdentifier")
    cat = c.text(g("batteryCategory"), f"{m}.batteryCategory", "model.category")
    if cat is not None:
        if cat.lower() in CATEGORY:
            c.put("model.category", CATEGORY[cat.lower()], f"{m}.batteryCategory")
            if cat.lower() == "stationary":
                c.report.unmap(f"{m}.batteryCategory", cat, "stationary batteries are industrial batteries in "
                               "Regulation (EU) 2023/1542: read as 'industrial'")
        else:
            c.error(f"{m}.batteryCategory", "enum", f"{cat!r} is not lmt, ev, industrial or stationary", cat,
                    "model.category")
    mi = g("manufacturerInformation")
    if isinstance(mi, Mapping):
        p = f"{m}.manufacturerInformation"
        c.put("model.manufacturer_name", c.text(mi.get("contactName"), f"{p}.contactName"), f"{p}.contactName")
        c.put("model.manufacturer_id", c.text(mi.get("identifier"), f"{p}.identifier"), f"{p}.identifier")
        line, _ = _address(c, mi.get("postalAddress"), f"{p}.postalAddress")
        c.put("model.manufacturer_address", line, f"{p}.postalAddress")
        for k in ("emailAddress", "webAddress"):
            if mi.get(k) is not None:
                c.report.unmap(f"{p}.{k}", mi[k], "batteryloop keeps the manufacturer's name, identifier and address")
    elif mi is not None:
        c.error(f"{m}.manufacturerInformation", "type", "must be an object (contactName, postalAddress, identifier)",
                None, "model.manufacturer_name")
    md = c.datetime(g("manufacturingDate"), f"{m}.manufacturingDate", "battery.manufacture_date")
    c.put("battery.manufacture_date", md[:10] if md else None, f"{m}.manufacturingDate")
    st = c.text(g("batteryStatus"), f"{m}.batteryStatus", "battery.status")
    if st is not None:
        if st.lower() in STATUS:
            c.put("battery.status", STATUS[st.lower()], f"{m}.batteryStatus")
        else:
            c.error(f"{m}.batteryStatus", "enum", f"{st!r} is not Original, Repurposed, Reused, Remanufactured or "
                    "Waste", st, "battery.status")
    c.put("model.mass_kg", c.number(g("batteryMass"), f"{m}.batteryMass", "model.mass_kg"), f"{m}.batteryMass")
    place = g("manufacturingPlace")
    if isinstance(place, Mapping):
        # the site is the street line, the postal code and the country go to their own fields, not into the site
        q = f"{m}.manufacturingPlace"
        c.put("battery.manufacture_site", c.text(place.get("streetAddress"), f"{q}.streetAddress"), f"{q}.streetAddress")
        c.put("battery.manufacture_postal_code", c.text(place.get("postalCode"), f"{q}.postalCode"), f"{q}.postalCode")
        country = c.text(place.get("addressCountry"), f"{q}.addressCountry")
        c.put("battery.manufacture_country", _country(c, country, f"{q}.addressCountry"), f"{q}.addressCountry")
    elif place is not None:
        _address(c, place, f"{m}.manufacturingPlace")
    oi = g("operatorInformation")
    if isinstance(oi, Mapping):
        p = f"{m}.operatorInformation"
        c.put("battery.economic_operator_id", c.text(oi.get("identifier"), f"{p}.identifier"), f"{p}.identifier")
        c.put("battery.economic_operator_name", c.text(oi.get("contactName"), f"{p}.contactName"), f"{p}.contactName")
        line, _ = _address(c, oi.get("postalAddress"), f"{p}.postalAddress")
        c.put("battery.economic_operator_address", line, f"{p}.postalAddress")
        for k in ("emailAddress", "webAddress"):
            if oi.get(k) is not None:
                c.report.unmap(f"{p}.{k}", oi[k], "batteryloop keeps the economic operator's identifier, name and "
                               "address")
    ps = c.datetime(g("puttingIntoService"), f"{m}.puttingIntoService", "battery.putting_into_service_date")
    c.put("battery.putting_into_service_date", ps[:10] if ps else None, f"{m}.puttingIntoService")
    w = g("warrentyPeriod", g("warrantyPeriod"))
    src = f"{m}.{'warrentyPeriod' if 'warrentyPeriod' in d else 'warrantyPeriod'}"
    if isinstance(w, str):  # the schema's xsd:gMonth with the unit month: "--06" is six months
        gm = _GMONTH_RE.match(w.strip())
        if gm is None:
            c.error(src, "batterypass:gmonth", f"{w!r} is not a month count --01 … --12 (xsd:gMonth)", w,
                    "model.warranty_years")
            return
        months: float | None = float(gm.group(1))
    else:  # a number of months (batteryloop before the 1.2 schemas); the schema check names it
        months = c.number(w, src, "model.warranty_years")
    if months is not None:
        if months <= 0:
            c.error(src, "greater_than", f"a warranty of {months} months is not positive", months, "model.warranty_years")
        else:
            c.put("model.warranty_years", r9(months / 12.0), src)


def _footprint(c: Collector, d: Mapping[str, Any], m: str) -> None:
    cf = "model.carbon_footprint"
    c.put(f"{cf}.total_kgco2e_per_kwh", c.number(d.get("batteryCarbonFootprint"), f"{m}.batteryCarbonFootprint",
                                                 f"{cf}.total_kgco2e_per_kwh"), f"{m}.batteryCarbonFootprint")
    stages = d.get("carbonFootprintPerLifecycleStage")
    if stages is not None and not isinstance(stages, list):
        c.error(f"{m}.carbonFootprintPerLifecycleStage", "type", "must be a list of {lifecycleStage, carbonFootprint}",
                None, cf)
        stages = []
    for i, s in enumerate(stages or []):
        p = f"{m}.carbonFootprintPerLifecycleStage[{i}]"
        stage = s.get("lifecycleStage") if isinstance(s, Mapping) else None
        if stage not in STAGES:
            c.error(f"{p}.lifecycleStage", "enum", f"{stage!r} is not one of {', '.join(STAGES)}", stage, cf)
            continue
        target = f"{cf}.{STAGES[stage]}"
        if c.has(target):
            c.error(f"{p}.lifecycleStage", "unique", f"stage {stage} is given twice", stage, target)
            continue
        c.put(target, c.number(s.get("carbonFootprint"), f"{p}.carbonFootprint", target), f"{p}.carbonFootprint")
    c.put(f"{cf}.performance_class", c.text(d.get("carbonFootprintPerformanceClass"),
                                            f"{m}.carbonFootprintPerformanceClass"), f"{m}.carbonFootprintPerformanceClass")
    c.put(f"{cf}.study_url", c.text(d.get("carbonFootprintStudy"), f"{m}.carbonFootprintStudy"),
          f"{m}.carbonFootprintStudy")
    if d.get("absoluteCarbonFootprint") is not None:
        c.report.unmap(f"{m}.absoluteCarbonFootprint", d["absoluteCarbonFootprint"],
                       "batteryloop declares the footprint per kWh of lifetime energy only")


_RATED = (  # property, our field, scale
    ("ratedMaximumPower", "model.max_permitted_power_w", 1000.0),  # kW → W
    ("ratedEnergy", "model.rated_energy_kwh", 1.0),
    ("ratedCapacity", "model.rated_capacity_ah", 1.0),
    ("nominalVoltage", "model.nominal_voltage_v", 1.0),
    ("minimumVoltage", "model.min_voltage_v", 1.0),
    ("maximumVoltage", "model.max_voltage_v", 1.0),
    ("capacityThresholdForExhaustion", "model.capacity_threshold_exhaustion_pct", 1.0),
    ("cRateLifeCycleTest", "model.cycle_life_c_rate", 1.0),
    ("roundtripEfficiency", "model.initial_round_trip_efficiency_pct", 1.0),
)
#: ratings above these are no battery's (generated examples write the float maximum): (limit, unit)
_PLAUSIBLE = {"ratedMaximumPower": (1e5, "kW"), "ratedEnergy": (1e5, "kWh"), "ratedCapacity": (1e6, "Ah"),
              "nominalVoltage": (2000.0, "V"), "minimumVoltage": (2000.0, "V"), "maximumVoltage": (2000.0, "V"),
              "cRateLifeCycleTest": (100.0, "C")}
_RATED_UNMAPPED = {
    "cRate": "nominal C-rate: batteryloop reads the same ratio from powerCapabilityRatio",
}
#: temperatureInformation's counters (minutes) → our usage fields (hours)
_TEMPERATURE = (("timeExtremeHighTemp", "time_above_extreme_temperature_h"),
                ("timeExtremeLowTemp", "time_below_extreme_temperature_h"),
                ("timeExtremeHighTempCharging", "time_above_extreme_temperature_charging_h"),
                ("timeExtremeLowTempCharging", "time_below_extreme_temperature_charging_h"))
_DYNAMIC = (  # property, value key, our field, transform
    ("capacityThroughput", "capacityThroughputValue", "battery.usage.capacity_throughput_ah", None),
    ("numberOfFullCycles", "numberOfFullCyclesValue", "battery.usage.full_equivalent_cycles", None),
    ("stateOfCertifiedEnergy", "stateOfCertifiedEnergyValue", "battery.state_of_health.state_of_certified_energy_pct", None),
    ("capacityFade", "capacityFadeValue", "battery.state_of_health.soh_capacity_pct", "100-"),
    ("remainingEnergy", "remainingEnergyalue", "battery.state_of_health.remaining_energy_kwh", None),
    ("currentSelfDischargingRate", "currentSelfDischargingRateEntity",
     "battery.state_of_health.self_discharge_pct_per_month", None),
    ("remainingRoundTripEnergyEfficiency", "remainingRoundTripEnergyEfficiencyValue",
     "battery.state_of_health.remaining_round_trip_efficiency_pct", None),
    ("stateOfCharge", "stateOfChargeValue", "battery.usage.state_of_charge_pct", None),
)


_WEB_RE = re.compile(r"^(https?|urn|did):")


def _powers(c: Collector, value: Any, p: str, rated_kw: float | None, target: str, nested: bool = False) -> None:
    """``[{atSoC, powerCapabilityAt}]`` (percent of ratedMaximumPower, in kW) → ``[{state_of_charge_pct, power_w}]``;
    ``nested``: the remaining power's entities wrap the point in ``remainingPowerCapabilityValue``."""
    entities = _entities(c, value, p, "PowerCapabilityAtEntity", target)
    if entities and rated_kw is None:
        c.report.unmap(p, _short(value), "powerCapabilityAt is a percent of ratedMaximumPower, and the payload gives "
                       "no ratedMaximumPower: the watts cannot be told")
        return
    for q, e in entities:
        if nested:
            e = e.get("remainingPowerCapabilityValue") or {}
            q = f"{q}.remainingPowerCapabilityValue"
        soc = _percent(c, e.get("atSoC"), f"{q}.atSoC", target)
        pct = c.number(e.get("powerCapabilityAt"), f"{q}.powerCapabilityAt", target)
        if soc is not None and pct is not None and rated_kw is not None:
            c.append(target, {"state_of_charge_pct": soc, "power_w": r9(pct / 100.0 * rated_kw * 1000.0)}, q)


def _performance(c: Collector, d: Mapping[str, Any], m: str) -> None:
    tk = "batteryTechicalProperties" if "batteryTechicalProperties" in d else "batteryTechnicalProperties"
    t = d.get(tk) or {}
    p = f"{m}.{tk}"
    for prop, target, scale in _RATED:
        v = c.number(t.get(prop), f"{p}.{prop}", target)
        top = _PLAUSIBLE.get(prop)
        if v is not None and top is not None and abs(v) > top[0]:
            c.error(f"{p}.{prop}", "plausible_range", f"{v:g} {top[1]} is not a plausible rating for a battery "
                    f"(above {top[0]:g} {top[1]}: the float maximum of a generated example?)", v, target)
            continue
        c.put(target, r9(v * scale) if v is not None else None, f"{p}.{prop}")
    cyc = c.integer(t.get("expectedNumberOfCycles"), f"{p}.expectedNumberOfCycles", "model.expected_lifetime_cycles")
    c.put("model.expected_lifetime_cycles", cyc, f"{p}.expectedNumberOfCycles")
    years = c.integer(t.get("expectedLifetime"), f"{p}.expectedLifetime", "model.expected_lifetime_years")
    c.put("model.expected_lifetime_years", years, f"{p}.expectedLifetime")
    c.put("model.initial_self_discharge_pct_per_month", c.number(
        t.get("initialSelfDischarge"), f"{p}.initialSelfDischarge", "model.initial_self_discharge_pct_per_month"),
        f"{p}.initialSelfDischarge")
    ratio = c.number(t.get("powerCapabilityRatio"), f"{p}.powerCapabilityRatio", "model.power_energy_ratio_per_h")
    c.put("model.power_energy_ratio_per_h", r9(ratio / 100.0) if ratio is not None else None,
          f"{p}.powerCapabilityRatio")
    test = c.text(t.get("lifetimeReferenceTest"), f"{p}.lifetimeReferenceTest")
    # a link our Url type takes is the test's link; any other text stays the test's name
    c.put("model.cycle_life_test_url" if test and _WEB_RE.match(test) else "model.cycle_life_test_reference", test,
          f"{p}.lifetimeReferenceTest")
    rated_w = c.data["model"].get("max_permitted_power_w")  # read above, when plausible
    rated_kw = rated_w / 1000.0 if rated_w else None
    _powers(c, t.get("originalPowerCapability"), f"{p}.originalPowerCapability", rated_kw,
            "model.original_power_capability_at_soc")
    if t.get("temperatureRangeIdleState") is not None:
        c.report.unmap(f"{p}.temperatureRangeIdleState", t["temperatureRangeIdleState"], "one temperature where "
                       "Annex XIII asks for a range (lower and upper bound): batteryloop cannot tell which bound it is")
    for i, r in enumerate(t.get("initialInternalResistance") or []):
        q = f"{p}.initialInternalResistance[{i}]"
        comp = r.get("batteryComponent") if isinstance(r, Mapping) else None
        ohm = c.number(r.get("ohmicResistance") if isinstance(r, Mapping) else None, f"{q}.ohmicResistance")
        if comp in ("pack", "cell") and ohm is not None:
            c.put(f"model.internal_resistance_{comp}_mohm", r9(ohm * 1000.0), f"{q}.ohmicResistance")
        elif ohm is not None:
            c.report.unmap(q, r, "batteryloop holds the resistance of the pack and of a cell, not of a module")
    for k, why in _RATED_UNMAPPED.items():
        if t.get(k) is not None:
            c.report.unmap(f"{p}.{k}", t[k], why)
    cond = d.get("batteryCondition") or {}
    p = f"{m}.batteryCondition"
    stamps: list[str] = []

    def stamp(entity: Mapping[str, Any], q: str) -> None:
        ts = c.datetime(entity.get("lastUpdate"), f"{q}.lastUpdate")
        if ts:
            stamps.append(ts)

    c.put("battery.usage.energy_throughput_kwh", c.number(cond.get("energyThroughput"), f"{p}.energyThroughput"),
          f"{p}.energyThroughput")
    v = c.number(cond.get("roundTripEfficiencyat50PerCentCycleLife"), f"{p}.roundTripEfficiencyat50PerCentCycleLife")
    c.put("model.round_trip_efficiency_at_50pct_cycle_life_pct", v, f"{p}.roundTripEfficiencyat50PerCentCycleLife")
    v = c.number(cond.get("powerFade"), f"{p}.powerFade")
    c.put("battery.state_of_health.remaining_power_capability_pct", r9(100.0 - v) if v is not None else None,
          f"{p}.powerFade")
    for prop, key, target, how in _DYNAMIC:
        e = cond.get(prop)
        if e is None:
            continue
        q = f"{p}.{prop}"
        if not isinstance(e, Mapping):
            c.error(q, "type", f"must be an object {{{key}, lastUpdate}}", None, target)
            continue
        v = c.number(e.get(key), f"{q}.{key}", target)
        if v is not None and how == "100-":
            v = r9(100.0 - v)
        c.put(target, v, f"{q}.{key}")
        stamp(e, q)
    for i, e in enumerate(cond.get("internalResistanceIncrease") or []):
        q = f"{p}.internalResistanceIncrease[{i}]"
        if isinstance(e, Mapping) and e.get("batteryComponent", "pack") == "pack":
            c.put("battery.state_of_health.ohmic_resistance_increase_pct",
                  c.number(e.get("internalResistanceIncreaseValue"), f"{q}.internalResistanceIncreaseValue"),
                  f"{q}.internalResistanceIncreaseValue")
            stamp(e, q)
        else:
            c.report.unmap(q, e, "batteryloop holds the resistance increase of the pack only")
    temp = cond.get("temperatureInformation")
    if isinstance(temp, Mapping):
        q = f"{p}.temperatureInformation"
        for key, ours in _TEMPERATURE:
            target = f"battery.usage.{ours}"
            v = c.number(temp.get(key), f"{q}.{key}", target)
            c.put(target, r9(v / 60.0) if v is not None else None, f"{q}.{key}")  # minutes → hours
        stamp(temp, q)
    rc = cond.get("remainingCapacity")
    if isinstance(rc, Mapping):
        q = f"{p}.remainingCapacity"
        kwh = c.number(rc.get("remainingCapacityValue"), f"{q}.remainingCapacityValue",
                       "battery.state_of_health.remaining_capacity_ah")
        volts = c.data["model"].get("nominal_voltage_v")
        rated = c.data["model"].get("rated_energy_kwh")
        if kwh is not None and rated and kwh > rated * 1.2:
            c.error(f"{q}.remainingCapacityValue", "plausible_range", f"{kwh:g} kWh is more than the rated energy "
                    f"({rated:g} kWh): the 1.2 model declares kWh here — a capacity in Ah?", kwh,
                    "battery.state_of_health.remaining_capacity_ah")
        elif kwh is not None and volts:  # the 1.2 model declares kWh for it: kWh ÷ nominal voltage
            c.put("battery.state_of_health.remaining_capacity_ah", r9(kwh * 1000.0 / volts), f"{q}.remainingCapacityValue")
            stamp(rc, q)
        elif kwh is not None:
            c.report.unmap(q, rc, "declared in kWh: without the payload's nominalVoltage the ampere-hours cannot be told")
    n_power = len(c.data["battery"].get("state_of_health", {}).get("remaining_power_capability_at_soc", []))
    _powers(c, cond.get("remainingPowerCapability"), f"{p}.remainingPowerCapability", rated_kw,
            "battery.state_of_health.remaining_power_capability_at_soc", nested=True)
    if len(c.data["battery"].get("state_of_health", {}).get("remaining_power_capability_at_soc", [])) > n_power:
        for i, e in enumerate(cond.get("remainingPowerCapability") or []):
            if isinstance(e, Mapping):
                stamp(e, f"{p}.remainingPowerCapability[{i}]")
    for i, e in enumerate(cond.get("negativeEvents") or []):
        q = f"{p}.negativeEvents[{i}]"
        text = c.text(e.get("negativeEvent") if isinstance(e, Mapping) else None, f"{q}.negativeEvent")
        when = c.datetime(e.get("lastUpdate") if isinstance(e, Mapping) else None, f"{q}.lastUpdate")
        if text and when:
            c.append("battery.usage.negative_events", {"occurred_at": when, "kind": text[:100],
                                                       **({"description": text} if len(text) > 100 else {})}, q)
        else:
            c.error(q, "required", "a negative event needs its text (negativeEvent) and its date (lastUpdate)", None,
                    "battery.usage.negative_events")
    for k, why in (("evolutionOfSelfDischarge", "derived: the export computes it from the initial and the current "
                                                "self-discharge rate, which batteryloop holds"),
                   ("roundTripEfficiencyFade", "derived: the export computes it from the initial and the remaining "
                                               "round-trip efficiency, which batteryloop holds")):
        if cond.get(k) is not None:
            c.report.unmap(f"{p}.{k}", cond[k], why)
    if stamps and c.has("battery.state_of_health"):
        c.put("battery.state_of_health.measured_at", max(stamps), f"{p}.lastUpdate")


DOCUMENT_TYPES = ("BillOfMaterial", "Model3D", "DismantlingManual", "RemovalManual", "OtherManual", "Drawing")
METALS = {"Cobalt": "cobalt", "Nickel": "nickel", "Lithium": "lithium", "Lead": "lead"}
HAZARD_CLASSES = ("AcuteToxicity", "SkinCorrosionOrIrritation", "EyeDamageOrIrritation")
LABEL_SUBJECTS = ("SeparateCollection", "HazardousMaterial", "CarbonFootPrint", "ExtinguishingAgent")
TEST_REPORT_TITLE = "result of test report"
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")


def _entities(c: Collector, value: Any, p: str, what: str, target: str | None = None) -> list[tuple[str, Mapping[str, Any]]]:
    """``[(path, entity)]`` of a SAMM list of entities; anything else is an error naming its path."""
    if value is None:
        return []
    if not isinstance(value, list):
        c.error(p, "type", f"must be a list of {what} objects", _short(value), target)
        return []
    out = []
    for i, e in enumerate(value):
        if isinstance(e, Mapping):
            out.append((f"{p}[{i}]", e))
        else:
            c.error(f"{p}[{i}]", "type", f"must be a {what} object", _short(e), target)
    return out


def _enum(c: Collector, value: Any, p: str, allowed: tuple[str, ...], target: str | None = None) -> str | None:
    text = c.text(value, p, target)
    if text is not None and text not in allowed:
        c.error(p, "enum", f"{text!r} is not one of {', '.join(allowed)}", text, target)
        return None
    return text


def _percent(c: Collector, value: Any, p: str, target: str | None = None) -> float | None:
    v = c.number(value, p, target)
    if v is not None and not 0 <= v <= 100:
        c.error(p, "percent", f"{v:g} is not a share between 0 and 100 %", v, target)
        return None
    return v


def _multi_language(c: Collector, value: Any, p: str, target: str | None = None) -> str | None:
    """SAMM MultiLanguageText in JSON: ``{"en": "text", …}``; English, else the first language."""
    if value is None or isinstance(value, str):
        if isinstance(value, str):
            c.report.unmap(p, value, "plain text where the model wants {language: text}: read as English")
        return c.text(value, p, target)
    if not isinstance(value, Mapping) or not value:
        c.error(p, "batterypass:multi_language_text", "must be an object {language: text}, e.g. {\"en\": \"…\"}",
                _short(value), target)
        return None
    lang = "en" if "en" in value else next(iter(value))
    for other in value:
        if other != lang:
            c.report.unmap(f"{p}.{other}", value[other], f"batteryloop keeps one language ({lang})")
    return c.text(value[lang], f"{p}.{lang}", target)


def _due_diligence(c: Collector, d: Mapping[str, Any], m: str) -> None:
    src = f"{m}.supplyChainDueDiligenceReport"
    c.put("model.due_diligence_report_url", c.text(d.get("supplyChainDueDiligenceReport"), src), src)
    for key, why in (("thirdPartyAussurances", "batteryloop keeps the due diligence report only, not the "
                      "third-party assurance (Catena-X and IDTA have no place either)"),
                     ("supplyChainIndicies", "a supply-chain due diligence index has no Annex XIII field"),
                     ("euTaxonomyDisclosureStatement", "EU-taxonomy disclosure (1.0.0): no Annex XIII field"),
                     ("sustainabilityReport", "sustainability report (1.0.0): no Annex XIII field")):
        if d.get(key) is not None:
            c.report.unmap(f"{m}.{key}", d[key], why)


def _circularity(c: Collector, d: Mapping[str, Any], m: str) -> None:
    # ---------------------------------------------------------------- dismantling documents
    docs = _entities(c, d.get("dismantlingAndRemovalInformation"), f"{m}.dismantlingAndRemovalInformation",
                     "DismantlingandRemovalDocumentation", "model.dismantling_information")
    manual = None
    for want in ("DismantlingManual", "RemovalManual"):
        manual = manual or next((p for p, e in docs if e.get("documentType") == want), None)
    for p, e in docs:
        _enum(c, e.get("documentType"), f"{p}.documentType", DOCUMENT_TYPES, "model.dismantling_information")
        if p == manual:
            c.put("model.dismantling_information.manual_url", c.text(e.get("documentURL"), f"{p}.documentURL"),
                  f"{p}.documentURL")
            if e.get("mimeType") is not None:
                c.report.unmap(f"{p}.mimeType", e["mimeType"], "batteryloop keeps the manual's URL, not its media type")
        else:
            c.report.unmap(p, e, "batteryloop keeps one dismantling manual URL (the first DismantlingManual, else "
                           "RemovalManual); other documents have no place")
    # ---------------------------------------------------------------- spare parts
    for p, s in _entities(c, d.get("sparePartSources"), f"{m}.sparePartSources", "SparePartSupplierEntity",
                          "model.spare_parts"):
        name = c.text(s.get("nameOfSupplier"), f"{p}.nameOfSupplier")
        email = c.text(s.get("emailAddressOfSupplier"), f"{p}.emailAddressOfSupplier")
        if email is not None and not _EMAIL_RE.match(email):
            c.error(f"{p}.emailAddressOfSupplier", "email", f"{email!r} is not an e-mail address", email,
                    "model.spare_parts")
            email = None
        web = c.text(s.get("supplierWebAddress"), f"{p}.supplierWebAddress")
        address, _ = _address(c, s.get("addressOfSupplier"), f"{p}.addressOfSupplier")
        for q, comp in _entities(c, s.get("components"), f"{p}.components", "ComponentEntity", "model.spare_parts"):
            sp = {"part_number": c.text(comp.get("partNumber"), f"{q}.partNumber"),
                  "name": c.text(comp.get("partName"), f"{q}.partName"),
                  "supplier_name": name, "supplier_address": address, "supplier_email": email,
                  "supplier_web_url": web}
            c.append("model.spare_parts", {k: v for k, v in sp.items() if v is not None}, q)
    # ---------------------------------------------------------------- recycled content
    for p, r in _entities(c, d.get("recycledContent"), f"{m}.recycledContent", "RecycledContentEntity",
                          "model.recycled_content"):
        metal = _enum(c, r.get("recycledMaterial"), f"{p}.recycledMaterial", tuple(METALS), "model.recycled_content")
        if metal is None:
            continue
        target = f"model.recycled_content.{METALS[metal]}_pct"
        n_errors = len(c.errors)
        pre = _percent(c, r.get("preConsumerShare"), f"{p}.preConsumerShare", target)
        post = _percent(c, r.get("postConsumerShare"), f"{p}.postConsumerShare", target)
        if len(c.errors) > n_errors or (pre is None and post is None):
            continue  # one share invalid: the other alone would understate the metal's recycled content
        if c.has(target):
            c.error(f"{p}.recycledMaterial", "unique", f"{metal} is given twice", metal, target)
            continue
        total = r9((pre or 0.0) + (post or 0.0))
        if total > 100:
            c.error(f"{p}.postConsumerShare", "percent", f"pre- ({pre:g}) plus post-consumer ({post:g}) share "
                    f"is {total:g} %, more than 100 %", post, target)
            continue
        c.put(target, total, p)
        if pre is not None and post is not None:
            metal_key = target.removesuffix("_pct")
            c.put(f"{metal_key}_pre_consumer_pct", pre, f"{p}.preConsumerShare")
            c.put(f"{metal_key}_post_consumer_pct", post, f"{p}.postConsumerShare")
    # ---------------------------------------------------------------- safety measures
    sm = d.get("safetyMeasures")
    if isinstance(sm, Mapping):
        q = f"{m}.safetyMeasures"
        link = c.text(sm.get("safetyInstructions"), f"{q}.safetyInstructions")
        if link and _WEB_RE.match(link):  # a link our Url type takes; any other text is kept as a safety measure
            c.put("model.safety_instructions_url", link, f"{q}.safetyInstructions")
        else:
            c.append("model.safety_measures", link, f"{q}.safetyInstructions")
        agents = sm.get("extinguishingAgent")
        if agents is not None and not isinstance(agents, list):
            c.error(f"{q}.extinguishingAgent", "type", "must be a list of texts", _short(agents),
                    "model.extinguishing_agent")
            agents = None
        for i, a in enumerate(agents or []):
            c.append("model.extinguishing_agent", c.text(a, f"{q}.extinguishingAgent[{i}]"), f"{q}.extinguishingAgent[{i}]")
    elif sm is not None:
        c.error(f"{m}.safetyMeasures", "type", "must be an object {safetyInstructions, extinguishingAgent}",
                _short(sm), "model.safety_measures")
    # ---------------------------------------------------------------- end of life
    eol = d.get("endOfLifeInformation")
    if isinstance(eol, Mapping):
        q = f"{m}.endOfLifeInformation"
        for key, ours in (("wastePrevention", "waste_prevention_url"), ("separateCollection", "separate_collection_url"),
                          ("informationOnCollection", "collection_information_url")):
            link = c.text(eol.get(key), f"{q}.{key}")
            # a link our Url type takes; another collection text is kept as the collection information
            if link and not _WEB_RE.match(link) and key == "informationOnCollection":
                c.put("model.collection_information", link, f"{q}.{key}")
            else:
                c.put(f"model.{ours}", link, f"{q}.{key}")
    elif eol is not None:
        c.error(f"{m}.endOfLifeInformation", "type", "must be an object", _short(eol), "model.collection_information")
    src = f"{m}.renewableContent"
    c.put("model.renewable_content_pct", _percent(c, d.get("renewableContent"), src, "model.renewable_content_pct"), src)


def _cas(c: Collector, value: Any, p: str) -> str | None:
    """A CAS number, or ``None`` with a warning: a wrong identifier (an EC number ``NNN-NNN-N``, a bad check
    digit) loses the identifier, never the material or substance it names — in strict mode too."""
    from ..passport.validators import validate_cas

    text = c.text(value, p)
    if text is None:
        return None
    try:
        return validate_cas(text)
    except ValueError as exc:
        ec = " (it has the form of an EC number, NNN-NNN-N)" if re.fullmatch(r"\d{3}-\d{3}-\d", text) else ""
        c.report.dropped.append({"field": p, "rule": "batterypass:cas", "value": text, "severity": "warning",
                                 "message": f"{p}: {exc}{ec}: the identifier is left out, the entry is kept "
                                            "(a warning, not a refusal)"})
        return None


def _materials(c: Collector, d: Mapping[str, Any], m: str) -> None:
    from .catenax import parse_chemistry

    chem = d.get("batteryChemistry")
    if isinstance(chem, Mapping):
        q = f"{m}.batteryChemistry"
        short = c.text(chem.get("shortName"), f"{q}.shortName", "model.chemistry")
        if short is not None:
            code, why = parse_chemistry(short)
            if code is None:
                clear = chem.get("clearName")
                code2, _ = parse_chemistry(clear) if isinstance(clear, str) else (None, "")
                code = code2
            if code is None:
                c.error(f"{q}.shortName", "chemistry", f"{short!r} {why}", short, "model.chemistry")
            c.put("model.chemistry", code, f"{q}.shortName")
        if chem.get("clearName") is not None:
            c.report.unmap(f"{q}.clearName", chem["clearName"], "batteryloop keeps the chemistry code; the clear name "
                           "follows from it")
    elif chem is not None:
        c.error(f"{m}.batteryChemistry", "type", "must be an object {shortName, clearName}", _short(chem),
                "model.chemistry")
    crm: list[str] = []
    for p, mt in _entities(c, d.get("batteryMaterials"), f"{m}.batteryMaterials", "BatteryMaterialEntity",
                           "model.detailed_composition"):
        where = mt.get("batteryMaterialLocation")
        comp = c.text(where.get("componentName"), f"{p}.batteryMaterialLocation.componentName") \
            if isinstance(where, Mapping) else None
        loc = comp.lower() if comp and comp.lower() in ("cathode", "anode", "electrolyte") else "other"
        if comp and loc == "other" and comp.lower() != "other":
            c.report.unmap(f"{p}.batteryMaterialLocation.componentName", comp,
                           "batteryloop groups materials by cathode, anode, electrolyte and other: filed under other")
        if isinstance(where, Mapping) and where.get("componentId") is not None:
            c.report.unmap(f"{p}.batteryMaterialLocation.componentId", where["componentId"], "no batteryloop field")
        name = c.text(mt.get("batteryMaterialName"), f"{p}.batteryMaterialName")
        share: dict[str, Any] = {"material": name,
                                 "cas_number": _cas(c, mt.get("batteryMaterialIdentifier"), f"{p}.batteryMaterialIdentifier")}
        grams = c.number(mt.get("batteryMaterialMass"), f"{p}.batteryMaterialMass")
        if grams is not None:
            share["mass_kg"] = r9(grams / 1000.0)  # the 1.2 model declares grams
        c.append(f"model.detailed_composition.{loc}", {k: v for k, v in share.items() if v is not None}, p)
        flag = mt.get("isCriticalRawMaterial")
        if flag is not None and not isinstance(flag, bool):
            c.error(f"{p}.isCriticalRawMaterial", "boolean", f"{flag!r} is not true or false", _short(flag),
                    "model.critical_raw_materials")
        elif flag and name:
            crm.append(name)
    if crm:
        c.put("model.critical_raw_materials", sorted(set(crm)), f"{m}.batteryMaterials[*].isCriticalRawMaterial")
    for p, h in _entities(c, d.get("hazardousSubstances"), f"{m}.hazardousSubstances", "HazardousSubstanceEntity",
                          "model.hazardous_substances"):
        e: dict[str, Any] = {"name": c.text(h.get("hazardousSubstanceName"), f"{p}.hazardousSubstanceName"),
                             "cas_number": _cas(c, h.get("hazardousSubstanceIdentifier"), f"{p}.hazardousSubstanceIdentifier")}
        e["concentration_pct"] = c.number(h.get("hazardousSubstanceConcentration"), f"{p}.hazardousSubstanceConcentration")
        where = h.get("hazardousSubstanceLocation")
        if isinstance(where, Mapping):
            e["location"] = c.text(where.get("componentName"), f"{p}.hazardousSubstanceLocation.componentName")
            if where.get("componentId") is not None:
                c.report.unmap(f"{p}.hazardousSubstanceLocation.componentId", where["componentId"], "no batteryloop field")
        cls = _enum(c, h.get("hazardousSubstanceClass"), f"{p}.hazardousSubstanceClass", HAZARD_CLASSES,
                    "model.hazardous_substances")
        impact = h.get("hazardousSubstanceImpact")
        if impact is not None and not isinstance(impact, list):
            c.error(f"{p}.hazardousSubstanceImpact", "type", "must be a list of texts", _short(impact),
                    "model.hazardous_substances")
            impact = None
        impact = [c.text(x, f"{p}.hazardousSubstanceImpact[{i}]") for i, x in enumerate(impact or [])]
        impact = [x for x in impact if x]
        # the impact statement when it is the CLP text of the class (as our export writes it), else the class
        first = impact[0] if impact and (cls is None or clp_class(impact[0]) == cls) else None
        e["hazard_class"] = first or cls
        for i, x in enumerate(impact):
            if i == 0 and first:
                continue
            c.report.unmap(f"{p}.hazardousSubstanceImpact[{i}]", x, "batteryloop keeps one hazard class per "
                           "substance (the class, else the first impact statement)")
        c.append("model.hazardous_substances", {k: v for k, v in e.items() if v is not None}, p)


def _labels(c: Collector, d: Mapping[str, Any], m: str) -> None:
    src = f"{m}.declarationOfConformity"
    c.put("model.declaration_of_conformity_url", c.text(d.get("declarationOfConformity"), src), src)
    src = f"{m}.resultOfTestReport"
    url = c.text(d.get("resultOfTestReport"), src)
    if url is not None:
        c.append("model.test_reports", {"title": TEST_REPORT_TITLE, "url": url}, src)
        c.report.unmap(src, url, f"a link without a title: the test report is titled {TEST_REPORT_TITLE!r}")
    for p, lab in _entities(c, d.get("labels"), f"{m}.labels", "LabelingEntity", "model.labels"):
        subject = _enum(c, lab.get("labelingSubject"), f"{p}.labelingSubject", LABEL_SUBJECTS, "model.labels")
        meaning = _multi_language(c, lab.get("labelingMeaning"), f"{p}.labelingMeaning", "model.labels")
        text = meaning or subject
        if text is None:
            continue
        c.append("model.labels", text, f"{p}.labelingMeaning" if meaning else f"{p}.labelingSubject")
        symbol = c.text(lab.get("labelingSymbol"), f"{p}.labelingSymbol")
        if symbol is not None and subject is not None and c.has("model.label_symbols") and any(
                x["label"] == text for x in c.data["model"]["label_symbols"]):
            c.report.unmap(f"{p}.labelingSymbol", symbol, "the label's text is given twice: its first symbol is kept")
        elif symbol is not None and subject is not None:
            c.append("model.label_symbols", {"label": text, "subject": _SUBJECT_IN[subject], "symbol_url": symbol},
                     f"{p}.labelingSymbol")
        elif symbol is not None:
            c.report.unmap(f"{p}.labelingSymbol", symbol, "a symbol without a labelingSubject: batteryloop keeps a "
                           "label's symbol with its subject")
        elif meaning and subject:
            c.report.unmap(f"{p}.labelingSubject", subject, "a subject without a symbol: batteryloop keeps a label's "
                           "subject with its symbol (model.label_symbols)")


#: batteryloop fields Battery Pass 1.2 has no place for, each with why: the one wording of "not carried". The
#: export names each such value in ``report.unmapped`` with this reason (:func:`_not_carried`), a required property
#: left out for one of them gives it as its reason (:data:`_GAPS`), every import report lists them all
#: (:data:`NOT_CARRIED_PATH`), and docs/formats.md has the same list. "schema defect": the 1.2 schema cannot hold
#: the value at all, and that module is counted as not valid whole for it (docs/formats.md).
NOT_CARRIED: dict[str, str] = {
    "model.model_id": "no place in Battery Pass 1.2 (give it as a default on import)",
    "model.model_name": "no place in Battery Pass 1.2 (give it as a default on import)",
    "battery.serial_number": "no place in Battery Pass 1.2 (give it as a default on import)",
    "model.vehicle_category": "no place in Battery Pass 1.2",
    "model.warranty_km": "no place in Battery Pass 1.2 (warrentyPeriod is a time)",
    "model.warranty_years": "schema defect: warrentyPeriod is an xsd:gMonth (--01 … --12) in the 1.2 schema, so a "
                            "warranty of more than 12 whole months cannot be written",
    "model.idle_temperature_lower_c/upper_c": "schema defect: temperatureRangeIdleState is one temperature "
                                              "(-20 … 60 °C) in the 1.2 schema, so the range's two bounds cannot be "
                                              "written",
    "model.hazardous_substances[].hazard_class": "schema defect: hazardousSubstanceClass knows AcuteToxicity, "
                                                 "SkinCorrosionOrIrritation and EyeDamageOrIrritation only; a substance "
                                                 "of another CLP class (e.g. Carc. 1A) gets its classification as "
                                                 "hazardousSubstanceImpact and no class",
    "model.labels (other subjects)": "labelingSubject knows SeparateCollection, HazardousMaterial, CarbonFootPrint "
                                     "and ExtinguishingAgent only: a label about anything else (the CE marking, the "
                                     "chemistry) is left out",
    "model.label_symbols[].subject": "four subjects in Battery Pass 1.2 (see the labels)",
    "battery.status 'recycled'": "Battery Pass 1.2 has no 'recycled' status and no passport-level marker (the "
                                 "passport ceases): exported as 'Waste', an importer reads waste",
    "the archive state": "no passport-level marker in Battery Pass 1.2",
    "battery.predecessor_ids": "no place in Battery Pass 1.2",
    "battery.successor_id": "no place in Battery Pass 1.2",
    "battery.owner_id": "no place in Battery Pass 1.2",
    "battery.mass_kg": "no place in Battery Pass 1.2 (batteryMass is the model's)",
    "model.material_composition": "the public material names have no place (batteryMaterials are per material)",
    "model.detailed_composition[].mass_fraction_pct": "Battery Pass 1.2 records a material's mass (g), not its mass "
                                                      "fraction",
    "model.critical_raw_materials (not a listed material)": "Battery Pass 1.2 flags critical raw materials on the "
                                                            "listed materials only (isCriticalRawMaterial)",
    "model.dismantling_information steps/tools/fastener_types": "Battery Pass 1.2 links dismantling documents only",
    "model.safety_measures": "texts: safetyInstructions is one link (model.safety_instructions_url)",
    "model.collection_information": "a text: informationOnCollection is a link (model.collection_information_url)",
    "model.cycle_life_test_reference": "a text: lifetimeReferenceTest is a link (model.cycle_life_test_url)",
    "model.original_power_capability_w": "one figure without its state of charge: originalPowerCapability is "
                                         "written from model.original_power_capability_at_soc",
    "model.recycled_content.allocation_rule": "no place in Battery Pass 1.2",
    "model.test_reports beyond the first URL": "Battery Pass 1.2 links one test-report document: titles, standards, "
                                               "issuers and dates have no place",
    "model.spare_parts[].supplier_contact": "a free-text contact: sparePartSources holds an e-mail and a web address "
                                           "(model.spare_parts[].supplier_email, supplier_web_url)",
    "battery.usage.deep_discharge_events": "no place in Battery Pass 1.2 batteryCondition",
    "battery.usage.min/max_operating_temperature_c": "no place in Battery Pass 1.2 batteryCondition",
    "timed condition values without state_of_health.measured_at": "lastUpdate is required and the export time is no "
                                                                  "stand-in for a measurement time",
}
NOT_CARRIED_PATH = "(not carried by Battery Pass 1.2)"


def _not_carried(report: MappingReport, key: str, value: Any, path: str | None = None, detail: str = "") -> None:
    """Name one of our values Battery Pass 1.2 cannot carry, with the one reason :data:`NOT_CARRIED` gives."""
    report.unmap(path or key, value, NOT_CARRIED[key] + (f" ({detail})" if detail else ""))
_LONG_INT_DIGITS = 400  # a float's range: the consortium's generator writes -1.797…E308 as a 309-digit integer


def _load(payload: Any, c: Collector) -> dict[str, Any]:
    """The payload as an object. Lenient: an integer longer than the JSON reader's guard (50 digits) but within a
    float's range is read as a float (reported), so the rest of the payload is still imported."""
    from ..errors import InvalidData

    try:
        return load_object(payload, "Battery Pass 1.2")
    except InvalidData as e:
        if not c.lenient or not any(x.get("rule") == "json:int_digits" for x in e.errors or []) \
                or isinstance(payload, Mapping | list):
            raise
        refused = e
    import json

    from ._io import decode

    text = decode(bytes(payload)) if isinstance(payload, bytes | bytearray) else str(payload).lstrip("\ufeff")

    def long_int(digits: str) -> int | float:
        if len(digits.lstrip("-")) <= 50:
            return int(digits)
        if len(digits.lstrip("-")) > _LONG_INT_DIGITS:
            raise refused
        c.report.unmap("(payload)", digits[:20] + "…", f"an integer of {len(digits.lstrip('-'))} digits, read as "
                       "the float it is (lenient)")
        return float(digits)

    obj = json.loads(text, parse_int=long_int)
    if not isinstance(obj, Mapping):
        raise refused
    return dict(obj)


_READERS = {"general_product_information": _general, "carbon_footprint": _footprint,
            "performance_and_durability": _performance, "circularity": _circularity,
            "material_composition": _materials, "supply_chain_due_diligence": _due_diligence,
            "labels_and_certification": _labels}


def import_payload(payload: Any, *, lenient: bool = False, defaults: Mapping[str, Any] | None = None,
                   check_schema: bool = True, **_: Any) -> ImportResult:
    """Battery Pass 1.2 module payloads → our parts.

    Every module is checked against the consortium's 1.2 schema (:mod:`.batterypass_schema`). Strict (the
    default) refuses a payload with any schema violation — a missing required property too — or any value
    batteryloop cannot take, naming every one (path and message) in one :class:`InvalidData`. Lenient imports
    what it can: schema violations are listed in ``report.schema_errors`` (warnings), each value left out in
    ``report.dropped`` with its reason, each field batteryloop has no place for in ``report.unmapped``.

    A payload without ``batteryStatus`` builds no battery (``report.missing`` names ``battery.status``) unless
    the status is given as a default: batteryloop never reads an absent status as 'original'.
    ``check_schema=False`` skips the schema check (the export's read-back, which has just applied it).
    """
    from . import batterypass_schema

    c = Collector("batterypass", lenient)
    c.report.unmap(NOT_CARRIED_PATH, len(NOT_CARRIED), "batteryloop fields this format has no place for (an export "
                   "cannot send them, an import cannot bring them back; docs/formats.md): " + "; ".join(
                       f"{k} ({why})" for k, why in NOT_CARRIED.items()))
    doc = _load(payload, c)
    modules = split_modules(doc)
    if not modules:
        c.error("(root)", "format:batterypass", f"no Battery Pass 1.2 module in the payload (top-level keys: "
                f"{', '.join(list(doc)[:8])})", None)
    for module, body in modules.items():
        if not isinstance(body, Mapping):
            c.error(module, "type", f"a Battery Pass module must be a JSON object, got {type(body).__name__}", None)
            continue
        for e in (batterypass_schema.errors(module, body) if check_schema else ()):
            if lenient:
                c.report.schema_errors.append(e)
            else:
                c.errors.append(e)
        _READERS[module](c, body, module)
    c.order("battery.manufacture_date", "battery.putting_into_service_date", strict=False)
    return c.finish(defaults, required=("battery.status",))  # as Catena-X and IDTA: an absent status is no 'original'


# ============================================================================ export
def _is_uri(text: Any) -> bool:
    """An absolute URI (RFC 3986): what the schemas' ``format: uri`` accepts."""
    from rfc3986_validator import validate_rfc3986

    return isinstance(text, str) and bool(validate_rfc3986(text, rule="URI"))


def passport_urn(passport_id: str) -> str:
    """``batteryPassportIdentifier``: the pack's global asset id (UUIDv5, the one the AAS shell, the registry and
    SerialPart carry) in the only form the schema's pattern ``^urn:[a-z0-9]+:[a-z0-9]+$`` allows (no hyphens)."""
    from ..passport.identifiers import global_asset_id

    return "urn:batteryloop:" + global_asset_id(passport_id).removeprefix("urn:uuid:").replace("-", "")


def warranty_month(years: float) -> str | None:
    """``warrentyPeriod``: the schema types it ``xsd:gMonth`` with the unit month (``--01`` … ``--12``), so it
    can carry a warranty of 1 to 12 whole months only; ``None`` for any other."""
    months = years * 12.0
    if abs(months - round(months)) > 1e-9 or not 1 <= round(months) <= 12:
        return None
    return f"--{round(months):02d}"


_ADDRESS_RE = re.compile(r"^(?P<street>.+?,\s*(?P<code>[A-Z]{0,2}-?\d[\dA-Z -]{1,8}?)\s+[^,]+?),\s*(?P<country>[A-Z]{2})$")


def split_address(line: str) -> dict[str, str] | None:
    """``"Werkstraße 1, 38440 Wolfsburg, DE"`` → PostalAddressEntity: streetAddress ``"Werkstraße 1, 38440
    Wolfsburg"`` (street and town: the entity has no town), postalCode ``"38440"``, addressCountry ``"DE"``.
    ``None`` when the line does not end in ``<postal code> <town>, <country code>``."""
    m = _ADDRESS_RE.match(line.strip())
    if not m:
        return None
    return {"streetAddress": m["street"], "postalCode": m["code"], "addressCountry": m["country"]}


#: CLP hazard class (the text before the category) → the schema's hazardousSubstanceClass enumeration
_CLP = (("acute tox", "AcuteToxicity"), ("skin corr", "SkinCorrosionOrIrritation"),
        ("skin irrit", "SkinCorrosionOrIrritation"), ("eye dam", "EyeDamageOrIrritation"),
        ("eye irrit", "EyeDamageOrIrritation"))


def clp_class(text: str) -> str | None:
    """The 1.2 enumeration value of a CLP classification text whose first class is one of the three it knows."""
    first = text.split(";")[0].strip().lower()
    return next((enum for key, enum in _CLP if first.startswith(key)), None)


_STATUS_OUT = {v: k.capitalize() for k, v in STATUS.items()}
_SUBJECT_WORDS = (("collect", "SeparateCollection"), ("bin", "SeparateCollection"), ("carbon", "CarbonFootPrint"),
                  ("extinguish", "ExtinguishingAgent"), ("cadmium", "HazardousMaterial"), ("lead", "HazardousMaterial"),
                  ("hazard", "HazardousMaterial"), ("cd", "HazardousMaterial"), ("pb", "HazardousMaterial"))
_MIME = {".pdf": "application/pdf", ".html": "text/html", ".htm": "text/html", ".step": "model/step",
         ".stp": "model/step", ".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json"}


def _subject(text: str) -> str | None:
    words = re.findall(r"[a-z]+", text.lower())
    for key, subject in _SUBJECT_WORDS:
        if any(w.startswith(key) if len(key) > 2 else w == key for w in words):
            return subject
    return None


def _stamp(value: Any) -> str:
    return str(value).replace("+00:00", "Z")


_BP_EMAIL_RE = re.compile(r"^[\w.-]+@[\w.-]+\.[A-Za-z]{2,}$")  # the schemas' e-mail pattern (no '+')


def _link(report: MappingReport, ours: str, value: Any) -> str | None:
    """One of our links where the schema wants ``format: uri`` (RFC 3986); a link that is none is left out, named."""
    if value and _is_uri(value):
        return str(value)
    if value:
        report.unmap(ours, value, "not an RFC 3986 URI, which the Battery Pass 1.2 schema requires here")
    return None


def _postal(line: str, report: MappingReport, ours: str) -> dict[str, str]:
    """A PostalAddressEntity from one of our one-line addresses; a line not of the form ``<street>, <postal code>
    <town>, <CC>`` is written whole as streetAddress (postalCode and addressCountry left out, reported)."""
    addr = split_address(line)
    if addr is None:
        report.unmap(ours, line, "not of the form '<street>, <postal code> <town>, <country code>': written whole as "
                     "streetAddress, postalCode and addressCountry left out")
        return {"streetAddress": line}
    return addr


def _export_general(parts: PassportParts, report: MappingReport) -> dict[str, Any]:
    m, b = parts.model, parts.battery
    g: dict[str, Any] = {}
    pid = b.get("passport_id")  # the ISO/IEC 15459 identifier; without one, productIdentifier is left out
    if pid:
        g["productIdentifier"] = pid
        g["batteryPassportIdentifier"] = passport_urn(pid)
    cat = m.get("category")
    if cat in ("ev", "lmt", "industrial"):
        g["batteryCategory"] = cat
    elif cat:
        report.unmap("model.category", cat, "Battery Pass 1.2 knows lmt, ev, industrial and stationary batteries only")
    mi: dict[str, Any] = {k: v for k, v in (("contactName", m.get("manufacturer_name")),
                                            ("identifier", m.get("manufacturer_id"))) if v}
    if m.get("manufacturer_address"):
        mi["postalAddress"] = _postal(m["manufacturer_address"], report, "model.manufacturer_address")
    if mi:
        g["manufacturerInformation"] = mi
    if b.get("manufacture_date"):
        g["manufacturingDate"] = f"{str(b['manufacture_date'])[:10]}T00:00:00Z"
    status = b.get("status")
    if status in _STATUS_OUT:
        g["batteryStatus"] = _STATUS_OUT[status]
    elif status == "recycled":
        # never leave it out: an absent status reads as 'original', a recycled battery coming back active
        g["batteryStatus"] = _STATUS_OUT["waste"]
        _not_carried(report, "battery.status 'recycled'", status, "battery.status")
    elif status:
        report.unmap("battery.status", status, f"Battery Pass 1.2 has no {status!r} status")
    if m.get("mass_kg") is not None:
        g["batteryMass"] = m["mass_kg"]
    place = {k: v for k, v in (("streetAddress", b.get("manufacture_site")),
                               ("postalCode", b.get("manufacture_postal_code")),
                               ("addressCountry", b.get("manufacture_country"))) if v}
    if place:
        g["manufacturingPlace"] = place
    oi: dict[str, Any] = {k: v for k, v in (("contactName", b.get("economic_operator_name")),
                                            ("identifier", b.get("economic_operator_id"))) if v}
    if b.get("economic_operator_address"):
        oi["postalAddress"] = _postal(b["economic_operator_address"], report, "battery.economic_operator_address")
    if oi:
        g["operatorInformation"] = oi
    if b.get("putting_into_service_date"):
        g["puttingIntoService"] = f"{str(b['putting_into_service_date'])[:10]}T00:00:00Z"
    if m.get("warranty_years") is not None:
        month = warranty_month(float(m["warranty_years"]))
        if month:
            g["warrentyPeriod"] = month
        else:
            _not_carried(report, "model.warranty_years", m["warranty_years"],
                         detail=f"a {m['warranty_years']:g}-year warranty")
    for key in ("model_id", "model_name", "vehicle_category", "warranty_km"):
        if m.get(key) is not None:
            _not_carried(report, f"model.{key}", m[key])
    return g


def _export_footprint(m: Mapping[str, Any], report: MappingReport) -> dict[str, Any] | None:
    cf = m.get("carbon_footprint")
    if not cf:
        return None
    out: dict[str, Any] = {"batteryCarbonFootprint": cf["total_kgco2e_per_kwh"]}
    stages = [{"lifecycleStage": stage, "carbonFootprint": cf[ours]} for stage, ours in STAGES.items()
              if cf.get(ours) is not None]
    if stages:
        out["carbonFootprintPerLifecycleStage"] = stages
    if cf.get("performance_class"):
        out["carbonFootprintPerformanceClass"] = cf["performance_class"]
    if cf.get("study_url"):
        if _is_uri(cf["study_url"]):
            out["carbonFootprintStudy"] = cf["study_url"]
        else:
            report.unmap("model.carbon_footprint.study_url", cf["study_url"], "not a URI (carbonFootprintStudy is one)")
    return out


def _export_circularity(m: Mapping[str, Any], report: MappingReport, successor: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dis = m.get("dismantling_information") or {}
    if dis.get("manual_url"):
        url = dis["manual_url"]
        ext = re.search(r"\.[A-Za-z0-9]+$", url.split("?")[0])
        mime = _MIME.get(ext.group(0).lower() if ext else "")
        doc = {"documentType": "DismantlingManual", "documentURL": url}
        if mime:
            doc["mimeType"] = mime  # from the file extension: the manual's own media type is not recorded
        if _is_uri(url):
            out["dismantlingAndRemovalInformation"] = [doc]
        else:
            report.unmap("model.dismantling_information.manual_url", url, "not a URI (documentURL is one)")
    for key in ("steps", "tools", "fastener_types"):
        if dis.get(key):
            _not_carried(report, "model.dismantling_information steps/tools/fastener_types", dis[key],
                         f"model.dismantling_information.{key}")
    # one source per run of consecutive parts from the same supplier: the parts come back in their order
    runs: list[tuple[tuple[Any, ...], list[dict[str, str]]]] = []
    for s in m.get("spare_parts", []):
        key = tuple(s.get(k) for k in ("supplier_name", "supplier_contact", "supplier_address", "supplier_email",
                                       "supplier_web_url"))
        if not runs or runs[-1][0] != key:
            runs.append((key, []))
        runs[-1][1].append({"partName": s["name"], "partNumber": s["part_number"]})
    sources = []
    for (name, contact, address, email, web), comps in runs:
        src: dict[str, Any] = {}
        if name:
            src["nameOfSupplier"] = name
        if address:
            src["addressOfSupplier"] = _postal(address, report, f"model.spare_parts[supplier {name!r}].supplier_address")
        if email and _BP_EMAIL_RE.match(email):
            src["emailAddressOfSupplier"] = email
        elif email:
            report.unmap(f"model.spare_parts[supplier {name!r}].supplier_email", email, "outside the Battery Pass 1.2 "
                         "schema's e-mail pattern (letters, digits, '_', '.', '-')")
        web = _link(report, f"model.spare_parts[supplier {name!r}].supplier_web_url", web)
        if web:
            src["supplierWebAddress"] = web
        if contact and _BP_EMAIL_RE.match(contact) and "emailAddressOfSupplier" not in src:
            src["emailAddressOfSupplier"] = contact  # an older passport's one contact, where it is an e-mail
        elif contact and _is_uri(contact) and "supplierWebAddress" not in src:
            src["supplierWebAddress"] = contact
        elif contact:
            _not_carried(report, "model.spare_parts[].supplier_contact", contact,
                         f"model.spare_parts[supplier {name!r}].supplier_contact")
        src["components"] = comps
        sources.append(src)
    if sources:
        out["sparePartSources"] = sources
    rc = m.get("recycled_content") or {}
    recycled = []
    for name, metal in METALS.items():
        if rc.get(f"{metal}_pct") is None:
            continue
        pre, post = rc.get(f"{metal}_pre_consumer_pct"), rc.get(f"{metal}_post_consumer_pct")
        if pre is not None and post is not None:
            recycled.append({"recycledMaterial": name, "preConsumerShare": pre, "postConsumerShare": post})
        else:
            # the split is not known: the whole share as postConsumerShare, preConsumerShare left out (a 0 would
            # claim a split batteryloop does not know)
            recycled.append({"recycledMaterial": name, "postConsumerShare": rc[f"{metal}_pct"]})
            report.unmap(f"model.recycled_content.{metal}_pct", rc[f"{metal}_pct"], "no pre-/post-consumer split "
                         "recorded: the whole share is written as postConsumerShare, preConsumerShare left out")
    if recycled:
        out["recycledContent"] = recycled
    elif successor:
        # a repurposed or remanufactured battery declares no recycled content (Art. 8(4) lifts the obligation;
        # the original battery's declaration is on its predecessor's passport): the required list, empty
        out["recycledContent"] = []
    if rc.get("allocation_rule"):
        _not_carried(report, "model.recycled_content.allocation_rule", rc["allocation_rule"])
    sm: dict[str, Any] = {}
    if _link(report, "model.safety_instructions_url", m.get("safety_instructions_url")):
        sm["safetyInstructions"] = m["safety_instructions_url"]
    for i, text in enumerate(m.get("safety_measures", [])):
        if "safetyInstructions" not in sm and _is_uri(text):
            sm["safetyInstructions"] = text  # an older passport's link among the texts
        else:
            _not_carried(report, "model.safety_measures", text, f"model.safety_measures[{i}]")
    if m.get("extinguishing_agent"):
        sm["extinguishingAgent"] = list(m["extinguishing_agent"])
    if sm:
        out["safetyMeasures"] = sm
    eol = {k: m[ours] for k, ours in (("wastePrevention", "waste_prevention_url"),
                                      ("separateCollection", "separate_collection_url"),
                                      ("informationOnCollection", "collection_information_url"))
           if _link(report, f"model.{ours}", m.get(ours))}
    if m.get("collection_information"):
        if "informationOnCollection" not in eol and _is_uri(m["collection_information"]):
            eol["informationOnCollection"] = m["collection_information"]
        else:
            _not_carried(report, "model.collection_information", m["collection_information"])
    if eol:
        out["endOfLifeInformation"] = eol
    if m.get("renewable_content_pct") is not None:
        out["renewableContent"] = m["renewable_content_pct"]
    return out


def _export_materials(m: Mapping[str, Any], report: MappingReport) -> dict[str, Any]:
    from .catenax import CHEMISTRY_NAMES

    out: dict[str, Any] = {}
    if m.get("chemistry"):
        out["batteryChemistry"] = {"shortName": m["chemistry"],
                                   "clearName": CHEMISTRY_NAMES.get(m["chemistry"], m["chemistry"])}
    crm = {x.lower() for x in m.get("critical_raw_materials", [])}
    flagged: set[str] = set()
    materials = []
    dc = m.get("detailed_composition") or {}
    for loc in ("cathode", "anode", "electrolyte", "other"):
        for j, ms in enumerate(dc.get(loc, [])):
            e: dict[str, Any] = {"batteryMaterialLocation": {"componentName": loc.capitalize()},
                                 "batteryMaterialName": ms["material"],
                                 "isCriticalRawMaterial": ms["material"].lower() in crm}
            if e["isCriticalRawMaterial"]:
                flagged.add(ms["material"].lower())
            if ms.get("cas_number"):
                e["batteryMaterialIdentifier"] = ms["cas_number"]
            if ms.get("mass_kg") is not None:
                e["batteryMaterialMass"] = r9(float(ms["mass_kg"]) * 1000.0)  # grams
            if ms.get("mass_fraction_pct") is not None:
                _not_carried(report, "model.detailed_composition[].mass_fraction_pct", ms["mass_fraction_pct"],
                             f"model.detailed_composition.{loc}[{j}].mass_fraction_pct")
            materials.append(e)
    if materials:
        out["batteryMaterials"] = materials
    missing = sorted(crm - flagged)
    if missing:
        _not_carried(report, "model.critical_raw_materials (not a listed material)", missing,
                     "model.critical_raw_materials")
    hazardous = []
    for i, h in enumerate(m.get("hazardous_substances", [])):
        e = {"hazardousSubstanceName": h["name"]}
        if h.get("cas_number"):
            e["hazardousSubstanceIdentifier"] = h["cas_number"]
        if h.get("concentration_pct") is not None:
            e["hazardousSubstanceConcentration"] = h["concentration_pct"]
        if h.get("location"):
            e["hazardousSubstanceLocation"] = {"componentName": h["location"]}
        hc = h.get("hazard_class")
        if hc:
            cls = clp_class(hc)
            if cls:
                e["hazardousSubstanceClass"] = cls
            else:
                _not_carried(report, "model.hazardous_substances[].hazard_class", hc,
                             f"model.hazardous_substances[{i}].hazard_class")
            e["hazardousSubstanceImpact"] = [hc]  # the CLP classification as written (class, category, H-phrases)
        hazardous.append(e)
    if hazardous:
        out["hazardousSubstances"] = hazardous
    if m.get("material_composition"):
        _not_carried(report, "model.material_composition", m["material_composition"])
    return out


_SUBJECT_OUT = {"separate_collection": "SeparateCollection", "hazardous_substance": "HazardousMaterial",
                "carbon_footprint": "CarbonFootPrint", "extinguishing_agent": "ExtinguishingAgent"}
_SUBJECT_IN = {v: k for k, v in _SUBJECT_OUT.items()}


def _export_labels(m: Mapping[str, Any], report: MappingReport) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m.get("declaration_of_conformity_url"):
        if _is_uri(m["declaration_of_conformity_url"]):
            out["declarationOfConformity"] = m["declaration_of_conformity_url"]
        else:
            report.unmap("model.declaration_of_conformity_url", m["declaration_of_conformity_url"], "not a URI")
    reports = [t for t in m.get("test_reports", []) if t.get("url") and _is_uri(t["url"])]
    if reports:
        out["resultOfTestReport"] = reports[0]["url"]
    if m.get("test_reports"):
        _not_carried(report, "model.test_reports beyond the first URL", m["test_reports"], "model.test_reports",
                     "the first report's URL is written")
    symbols = {s["label"]: s for s in m.get("label_symbols", [])}
    labels = []
    for i, text in enumerate(m.get("labels", [])):
        sym = symbols.get(text)
        lab: dict[str, Any] = {"labelingMeaning": {"en": text}}
        if sym is not None and sym.get("subject") and sym["subject"] not in _SUBJECT_OUT:
            _not_carried(report, "model.labels (other subjects)", text, f"model.labels[{i}]",
                         f"its subject is {sym['subject']}")
            continue
        subject = _SUBJECT_OUT.get(sym.get("subject") or "") if sym else None
        subject = subject or _subject(text)
        if subject:
            lab["labelingSubject"] = subject
        else:
            report.unmap(f"model.labels[{i}]", text, f"matches none of the label subjects {', '.join(LABEL_SUBJECTS)}: "
                         "written as meaning only, labelingSubject left out")
        if sym is not None and _link(report, f"model.label_symbols[{text!r}].symbol_url", sym["symbol_url"]):
            lab["labelingSymbol"] = sym["symbol_url"]
        labels.append(lab)
    if labels:
        out["labels"] = labels
    return out


def _percent_of(power_w: float, rated_w: float) -> float:
    """A power as the percent of the rated maximum power the 1.2 model's ``powerCapabilityAt`` declares as its unit
    (unrounded: the watts come back exactly)."""
    return power_w / rated_w * 100.0


def _export_performance(parts: PassportParts, report: MappingReport) -> dict[str, Any]:
    m, b = parts.model, parts.battery
    t: dict[str, Any] = {}
    for prop, ours, scale in _RATED:
        v = m.get(ours.removeprefix("model."))
        if v is not None:
            t[prop] = r9(float(v) / scale)
    rated_w = m.get("max_permitted_power_w")
    if m.get("original_power_capability_at_soc"):
        if rated_w:
            t["originalPowerCapability"] = [{"atSoC": p["state_of_charge_pct"],
                                             "powerCapabilityAt": _percent_of(p["power_w"], rated_w)}
                                            for p in m["original_power_capability_at_soc"]]
        else:
            report.unmap("model.original_power_capability_at_soc", m["original_power_capability_at_soc"],
                         "powerCapabilityAt is a percent of ratedMaximumPower: without model.max_permitted_power_w "
                         "it cannot be written")
    if m.get("power_energy_ratio_per_h") is not None:
        t["powerCapabilityRatio"] = r9(float(m["power_energy_ratio_per_h"]) * 100.0)  # W/Wh in percent
    if m.get("expected_lifetime_cycles") is not None:
        t["expectedNumberOfCycles"] = m["expected_lifetime_cycles"]
    if m.get("expected_lifetime_years") is not None:
        t["expectedLifetime"] = m["expected_lifetime_years"]
    if m.get("initial_self_discharge_pct_per_month") is not None:
        t["initialSelfDischarge"] = m["initial_self_discharge_pct_per_month"]
    if _link(report, "model.cycle_life_test_url", m.get("cycle_life_test_url")):
        t["lifetimeReferenceTest"] = m["cycle_life_test_url"]
    if m.get("cycle_life_test_reference"):
        if "lifetimeReferenceTest" not in t and _is_uri(m["cycle_life_test_reference"]):
            t["lifetimeReferenceTest"] = m["cycle_life_test_reference"]
        else:
            _not_carried(report, "model.cycle_life_test_reference", m["cycle_life_test_reference"])
    res = [{"ohmicResistance": r9(float(m[f"internal_resistance_{comp}_mohm"]) / 1000.0), "batteryComponent": comp}
           for comp in ("pack", "cell") if m.get(f"internal_resistance_{comp}_mohm") is not None]
    if res:
        t["initialInternalResistance"] = res
    if m.get("original_power_capability_w") is not None:
        _not_carried(report, "model.original_power_capability_w", m["original_power_capability_w"])
    idle = {k: m[k] for k in ("idle_temperature_lower_c", "idle_temperature_upper_c") if m.get(k) is not None}
    if idle:
        _not_carried(report, "model.idle_temperature_lower_c/upper_c", idle)
    out: dict[str, Any] = {"batteryTechicalProperties": t} if t else {}
    soh, use = b.get("state_of_health") or {}, b.get("usage") or {}
    cond: dict[str, Any] = {}
    stamp = _stamp(soh["measured_at"]) if soh.get("measured_at") else None
    timed: dict[str, Any] = {}  # our timed values left out for want of a measurement time

    def at(key: str, entity: dict[str, Any], value: Any, ours: str) -> None:
        if stamp is None:  # lastUpdate is required and no measurement time is known: never the export time
            timed[ours] = value
        else:
            cond[key] = {**entity, "lastUpdate": stamp}

    for prop, key, ours, how in _DYNAMIC:
        part, _, name = ours.removeprefix("battery.").partition(".")
        v = (soh if part == "state_of_health" else use).get(name)
        if v is not None:
            at(prop, {key: r9(100.0 - v) if how == "100-" else v}, v, ours)
    if soh.get("remaining_capacity_ah") is not None:  # the 1.2 model declares kWh: Ah × nominal voltage
        at("remainingCapacity", {"remainingCapacityValue": soh["remaining_capacity_ah"] * m["nominal_voltage_v"] / 1000.0},
           soh["remaining_capacity_ah"], "battery.state_of_health.remaining_capacity_ah")
    if soh.get("remaining_power_capability_at_soc"):
        if rated_w and stamp:
            cond["remainingPowerCapability"] = [
                {"remainingPowerCapabilityValue": {"atSoC": p["state_of_charge_pct"],
                                                   "powerCapabilityAt": _percent_of(p["power_w"], rated_w),
                                                   "rPCLastUpdated": stamp},
                 "lastUpdate": stamp} for p in soh["remaining_power_capability_at_soc"]]
        elif stamp is None:
            timed["battery.state_of_health.remaining_power_capability_at_soc"] = soh["remaining_power_capability_at_soc"]
        else:
            report.unmap("battery.state_of_health.remaining_power_capability_at_soc",
                         soh["remaining_power_capability_at_soc"], "powerCapabilityAt is a percent of ratedMaximumPower:"
                         " without model.max_permitted_power_w it cannot be written")
    if use.get("energy_throughput_kwh") is not None:
        cond["energyThroughput"] = use["energy_throughput_kwh"]
    if m.get("round_trip_efficiency_at_50pct_cycle_life_pct") is not None:
        cond["roundTripEfficiencyat50PerCentCycleLife"] = m["round_trip_efficiency_at_50pct_cycle_life_pct"]
    if soh.get("remaining_power_capability_pct") is not None:
        cond["powerFade"] = r9(100.0 - soh["remaining_power_capability_pct"])
    rte0, rte = m.get("initial_round_trip_efficiency_pct"), soh.get("remaining_round_trip_efficiency_pct")
    if rte0 and rte is not None:  # DIN DKE SPEC 99100 6.7.4.5: (1 - RTE(x) / RTE_BOL) × 100 %
        cond["roundTripEfficiencyFade"] = r9((1.0 - rte / rte0) * 100.0)
    sd0, sd = m.get("initial_self_discharge_pct_per_month"), soh.get("self_discharge_pct_per_month")
    if sd0 and sd is not None:  # 6.7.4.8: the change from the initial to the current rate, in percent
        cond["evolutionOfSelfDischarge"] = {"evolutionOfSelfDischargeEntityValue": r9((sd - sd0) / sd0 * 100.0)}
    if soh.get("ohmic_resistance_increase_pct") is not None:
        if stamp:
            cond["internalResistanceIncrease"] = [{"internalResistanceIncreaseValue": soh["ohmic_resistance_increase_pct"],
                                                   "batteryComponent": "pack", "lastUpdate": stamp}]
        else:
            timed["battery.state_of_health.ohmic_resistance_increase_pct"] = soh["ohmic_resistance_increase_pct"]
    temp = {k: r9(float(use[ours]) * 60.0) for k, ours in _TEMPERATURE if use.get(ours) is not None}  # h → min
    if temp:
        at("temperatureInformation", temp, temp, "battery.usage.time_above/below_extreme_temperature(_charging)_h")
    for ours, v in timed.items():
        _not_carried(report, "timed condition values without state_of_health.measured_at", v, ours)
    if "negative_events" in use:
        events = []
        for i, e in enumerate(use["negative_events"]):
            if e.get("description") and not e["description"].startswith(e["kind"]):
                report.unmap(f"battery.usage.negative_events[{i}].kind", e["kind"], "one text per event in Battery "
                             "Pass 1.2: the description is written")
            events.append({"negativeEvent": e.get("description") or e["kind"], "lastUpdate": _stamp(e["occurred_at"])})
        cond["negativeEvents"] = events  # [] is the record of no negative event
    if use.get("deep_discharge_events") is not None:
        _not_carried(report, "battery.usage.deep_discharge_events", use["deep_discharge_events"])
    temps = {k: use[k] for k in ("min_operating_temperature_c", "max_operating_temperature_c") if use.get(k) is not None}
    if temps:
        _not_carried(report, "battery.usage.min/max_operating_temperature_c", temps)
    if cond:
        out["batteryCondition"] = cond
    return out


#: container key → our module name, in the order the export writes them
CONTAINER = {"generalProductInformation": "general_product_information", "carbonFootprint": "carbon_footprint",
             "performance": "performance_and_durability", "circularity": "circularity",
             "materialComposition": "material_composition", "supplyChainDueDiligence": "supply_chain_due_diligence",
             "labels": "labels_and_certification"}
_ADDRESS_GAP = "the address line is not of the form '<street>, <postal code> <town>, <country code>'"
#: a required property the export leaves out → (our field it would come from, why it is not written); a reason that
#: is a value Battery Pass cannot carry is :data:`NOT_CARRIED`'s, word for word
_GAPS: dict[str, tuple[str | None, str]] = {
    "productIdentifier": ("battery.passport_id", ""),
    "batteryPassportIdentifier": ("battery.passport_id", ""),
    "batteryCategory": ("model.category", ""),
    "manufacturerInformation": ("model.manufacturer_name", ""),
    "manufacturerInformation.postalAddress": ("model.manufacturer_address", ""),
    "manufacturerInformation.postalAddress.postalCode": ("model.manufacturer_address", _ADDRESS_GAP),
    "manufacturerInformation.postalAddress.addressCountry": ("model.manufacturer_address", _ADDRESS_GAP),
    "manufacturingDate": ("battery.manufacture_date", ""),
    "batteryStatus": ("battery.status", ""),
    "batteryMass": ("model.mass_kg", ""),
    "manufacturingPlace": ("battery.manufacture_site", ""),
    "manufacturingPlace.postalCode": ("battery.manufacture_postal_code", ""),
    "manufacturingPlace.streetAddress": ("battery.manufacture_site", ""),
    "manufacturingPlace.addressCountry": ("battery.manufacture_country", ""),
    "operatorInformation": ("battery.economic_operator_id", ""),
    "operatorInformation.contactName": ("battery.economic_operator_name", ""),
    "operatorInformation.postalAddress": ("battery.economic_operator_address", ""),
    "operatorInformation.postalAddress.postalCode": ("battery.economic_operator_address", _ADDRESS_GAP),
    "operatorInformation.postalAddress.addressCountry": ("battery.economic_operator_address", _ADDRESS_GAP),
    "puttingIntoService": ("battery.putting_into_service_date", "not yet put into service"),
    "warrentyPeriod": ("model.warranty_years", NOT_CARRIED["model.warranty_years"]),
    "carbonFootprintStudy": ("model.carbon_footprint", ""),
    "carbonFootprintPerformanceClass": ("model.carbon_footprint", ""),
    "carbonFootprintPerLifecycleStage": ("model.carbon_footprint", ""),
    "batteryTechicalProperties": ("model.rated_capacity_ah", ""),
    "batteryTechicalProperties.lifetimeReferenceTest": ("model.cycle_life_test_url", ""),
    "batteryTechicalProperties.expectedNumberOfCycles": ("model.expected_lifetime_cycles", ""),
    "batteryTechicalProperties.initialInternalResistance": ("model.internal_resistance_pack_mohm", ""),
    "batteryTechicalProperties.expectedLifetime": ("model.expected_lifetime_years", ""),
    "batteryTechicalProperties.initialSelfDischarge": ("model.initial_self_discharge_pct_per_month", ""),
    "batteryTechicalProperties.originalPowerCapability": ("model.original_power_capability_at_soc",
                                                          "empty, or no model.max_permitted_power_w to give it in "
                                                          "percent of"),
    "batteryTechicalProperties.powerCapabilityRatio": ("model.power_energy_ratio_per_h", ""),
    "batteryTechicalProperties.temperatureRangeIdleState": ("model.idle_temperature_lower_c",
                                                            NOT_CARRIED["model.idle_temperature_lower_c/upper_c"]),
    "batteryCondition": ("battery.state_of_health", ""),
    "batteryCondition.energyThroughput": ("battery.usage.energy_throughput_kwh", ""),
    "batteryCondition.powerFade": ("battery.state_of_health.remaining_power_capability_pct", ""),
    "batteryCondition.negativeEvents": ("battery.usage.negative_events", ""),
    "batteryCondition.roundTripEfficiencyat50PerCentCycleLife": ("model.round_trip_efficiency_at_50pct_cycle_life_pct",
                                                                 ""),
    "batteryCondition.roundTripEfficiencyFade": ("battery.state_of_health.remaining_round_trip_efficiency_pct",
                                                 "it and model.initial_round_trip_efficiency_pct give the fade"),
    "batteryCondition.evolutionOfSelfDischarge": ("battery.state_of_health.self_discharge_pct_per_month",
                                                  "it and model.initial_self_discharge_pct_per_month give the "
                                                  "evolution"),
    "dismantlingAndRemovalInformation": ("model.dismantling_information", ""),
    "dismantlingAndRemovalInformation.mimeType": (None, "the manual's media type is not recorded and its URL has "
                                                  "no known file extension"),
    "sparePartSources": ("model.spare_parts", ""),
    "sparePartSources.addressOfSupplier": ("model.spare_parts", "no supplier_address"),
    "sparePartSources.emailAddressOfSupplier": ("model.spare_parts", "no supplier_email"),
    "sparePartSources.supplierWebAddress": ("model.spare_parts", "no supplier_web_url"),
    "recycledContent": ("model.recycled_content", ""),
    "recycledContent.preConsumerShare": ("model.recycled_content", "no <metal>_pre_consumer_pct / "
                                         "<metal>_post_consumer_pct split (the whole share is written as "
                                         "postConsumerShare)"),
    "safetyMeasures": ("model.safety_instructions_url", ""),
    "safetyMeasures.safetyInstructions": ("model.safety_instructions_url", ""),
    "safetyMeasures.extinguishingAgent": ("model.extinguishing_agent", ""),
    "endOfLifeInformation": ("model.collection_information_url", ""),
    "endOfLifeInformation.wastePrevention": ("model.waste_prevention_url", ""),
    "endOfLifeInformation.separateCollection": ("model.separate_collection_url", ""),
    "endOfLifeInformation.informationOnCollection": ("model.collection_information_url", ""),
    "renewableContent": ("model.renewable_content_pct", ""),
    "batteryChemistry": ("model.chemistry", ""),
    "batteryMaterials": ("model.detailed_composition", ""),
    "batteryMaterials.batteryMaterialMass": ("model.detailed_composition", "no mass_kg for this material"),
    "batteryMaterials.batteryMaterialIdentifier": ("model.detailed_composition", "no CAS number for this material"),
    "hazardousSubstances": ("model.hazardous_substances", ""),
    "hazardousSubstances.hazardousSubstanceClass": ("model.hazardous_substances",
                                                    NOT_CARRIED["model.hazardous_substances[].hazard_class"]),
    "hazardousSubstances.hazardousSubstanceConcentration": ("model.hazardous_substances", "no concentration_pct"),
    "hazardousSubstances.hazardousSubstanceIdentifier": ("model.hazardous_substances", "no cas_number"),
    "hazardousSubstances.hazardousSubstanceImpact": ("model.hazardous_substances", "no hazard_class"),
    "hazardousSubstances.hazardousSubstanceLocation": ("model.hazardous_substances", "no location"),
    "supplyChainDueDiligenceReport": ("model.due_diligence_report_url", ""),
    "declarationOfConformity": ("model.declaration_of_conformity_url", ""),
    "resultOfTestReport": ("model.test_reports", ""),
    "labels": ("model.labels", ""),
    "labels.labelingSymbol": ("model.label_symbols", "no symbol for this label"),
    "labels.labelingSubject": ("model.label_symbols", "no subject for this label, and its text matches none"),
}
_TIMED = "; or no measurement time (state_of_health.measured_at) for its required lastUpdate"
for _prop, _vkey, _ours, _how in _DYNAMIC:
    _GAPS[f"batteryCondition.{_prop}"] = (_ours, f"{_ours} is empty{_TIMED}")
for _cond, _ours in (("internalResistanceIncrease", "battery.state_of_health.ohmic_resistance_increase_pct"),
                    ("remainingCapacity", "battery.state_of_health.remaining_capacity_ah"),
                    ("remainingPowerCapability", "battery.state_of_health.remaining_power_capability_at_soc"),
                    ("temperatureInformation", "battery.usage.time_above_extreme_temperature_h")):
    _GAPS[f"batteryCondition.{_cond}"] = (_ours, f"{_ours} is empty{_TIMED}")
for _prop, _ours in _TEMPERATURE:
    _GAPS[f"batteryCondition.temperatureInformation.{_prop}"] = (f"battery.usage.{_ours}", "")
for _prop, _ours, _scale in _RATED:
    _GAPS[f"batteryTechicalProperties.{_prop}"] = (_ours, "")


def _gap_reason(parts: PassportParts, module_field: str) -> str:
    """Why a required property is absent: withheld by the reader's tiers, or not declared (and why)."""
    from ._convert import tier_of
    from .base import NOT_DECLARED, WITHHELD

    key = re.sub(r"\[\d+\]", "", module_field)
    chain = [key]
    while "." in chain[-1]:
        chain.append(chain[-1].rsplit(".", 1)[0])
    for k in chain:
        ours = _GAPS.get(k, (None, ""))[0]
        t = tier_of(ours) if ours else None
        if t is not None and t not in parts.tiers:
            return f"{WITHHELD}: {ours}"
    ours, why = _GAPS.get(key, (None, ""))
    detail = why or (f"{ours} is empty" if ours else "no batteryloop field")
    return f"{NOT_DECLARED} ({detail})"


def export(parts: PassportParts, *, validate: bool = True, **_: Any) -> ExportResult:
    """Our passport (cut to ``parts.tiers``) as Battery Pass 1.2 module payloads ``{module: payload}``.

    Every value written conforms to the consortium's 1.2 schemas (types, patterns, formats, enumerations);
    a value our data lacks, or the reader's tiers withhold, is left out — never a stand-in — and each required
    property so left out is listed in ``report.placeholders`` (``{path, reason}``) with its schema error in
    ``report.schema_errors``. ``validate``: check every module against its schema (a violation other than a
    missing required property is our bug and raises) and read the payload back with :func:`import_payload`.
    """
    from . import batterypass_schema

    report = MappingReport("batterypass")
    m, b = parts.model, parts.battery
    out: dict[str, Any] = {"generalProductInformation": _export_general(parts, report)}
    cf = _export_footprint(m, report)
    if cf:
        out["carbonFootprint"] = cf
    perf = _export_performance(parts, report)
    circ = _export_circularity(m, report, successor=bool(b.get("predecessor_ids")))
    for key, body in (("performance", perf), ("circularity", circ),
                      ("materialComposition", _export_materials(m, report))):
        if body:
            out[key] = body
    if m.get("due_diligence_report_url"):
        if _is_uri(m["due_diligence_report_url"]):
            out["supplyChainDueDiligence"] = {"supplyChainDueDiligenceReport": m["due_diligence_report_url"]}
        else:
            report.unmap("model.due_diligence_report_url", m["due_diligence_report_url"], "not a URI")
    labels = _export_labels(m, report)
    if labels:
        out["labels"] = labels
    for key in ("serial_number", "model_id", "mass_kg", "owner_id", "predecessor_ids", "successor_id"):
        if b.get(key) not in (None, []):
            _not_carried(report, "model.model_id" if key == "model_id" else f"battery.{key}", b[key], f"battery.{key}")
    if parts.archived:
        _not_carried(report, "the archive state", True, "archived")
    for key, module in CONTAINER.items():
        if key not in out:
            report.placeholder(key, f"module left out: {_gap_reason(parts, key)}")
            continue
        for e in batterypass_schema.errors(module, out[key], prefix=key):
            if e["rule"] != "schema:required":
                if validate:
                    from ..errors import InvalidData

                    raise InvalidData(f"the Battery Pass export breaks the consortium's schema: {e['message']}", [e])
                report.schema_errors.append(e)
                continue
            report.schema_errors.append(e)
            report.placeholder(e["field"], _gap_reason(parts, e["field"].split(".", 1)[1]))
    if validate:
        back = import_payload(out, lenient=True, check_schema=False)  # the schemas were applied just above
        if back.report.dropped:
            from ..errors import InvalidData

            d = back.report.dropped[0]
            raise InvalidData(f"the Battery Pass export does not read back: {d['message']}", back.report.dropped)
    name = str(b.get("passport_id") or b.get("serial_number") or "passport").replace("/", "_")
    return ExportResult(out, MEDIA_TYPE, report, f"{name}.batterypass.json")
