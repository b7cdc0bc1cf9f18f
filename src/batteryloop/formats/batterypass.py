"""Battery Pass consortium data model 1.2 (batterypass/BatteryPassDataModel, CC-BY-NC-4.0): import.

Learned from the published SAMM aspect models (``io.BatteryPass.<Module>/1.2.0/*.ttl``); no official
payload is in ``../shared``, and the repository's generated JSON files (payloads, JSON schemas) are
UTF-16 — exactly why every importer here reads UTF-8, UTF-8 with BOM and UTF-16 LE/BE with BOM.

Input: one module payload, or an object of several keyed by module name (``generalProductInformation``
/ ``GeneralProductInformation``, ``carbonFootprint``, ``performanceAndDurability``, ``circularity``,
``materialComposition``, ``supplyChainDueDiligence``, ``labels``/``labeling``).

Mapped field by field (SAMM property names of 1.2.0, including their spelling, e.g.
``warrentyPeriod``, ``batteryTechicalProperties``, ``remainingEnergyalue``):

* **GeneralProductInformation**: productIdentifier → passport_id; batteryCategory; manufacturerInformation
  (contactName, identifier, postalAddress{streetAddress, postalCode, addressCountry}); manufacturingDate;
  batteryStatus; batteryMass (kg); manufacturingPlace (address; the country → manufacture_country);
  operatorInformation.identifier → economic_operator_id; puttingIntoService; warrentyPeriod (months).
* **CarbonFootprintForBatteries**: batteryCarbonFootprint, carbonFootprintPerLifecycleStage[]
  (RawMaterialExtraction, MainProduction, Distribution, Recycling), carbonFootprintPerformanceClass,
  carbonFootprintStudy.
* **PerformanceAndDurability**: the rated values of batteryTechicalProperties and the dynamic values of
  batteryCondition (entities ``{<name>Value, lastUpdate}``).

Not mapped (reported as ``unmapped`` with the reason): batteryPassportIdentifier (a URN beside the
product identifier), absoluteCarbonFootprint, expectedLifetime (years), initialSelfDischarge, cRate,
power capability at a SoC (the model gives percent as its unit), temperatureRangeIdleState (one value
where we hold a range), remainingCapacity (the model declares kWh for a capacity), the charging-time
temperature counters, and the four modules supply chain due diligence, circularity, material composition
and labels & certification, whose 1.2 structures were not established (see docs/formats.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._convert import Collector, r9
from ._io import load_object
from .base import ImportResult

MEDIA_TYPE = "application/vnd.batterypass.v1.2+json"
MODULES = {
    "generalproductinformation": "general_product_information",
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
}
NOT_ESTABLISHED = ("its Battery Pass 1.2 structure was not established for batteryloop; nothing of this "
                   "module is imported")
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
    found = {MODULES[_key(k)]: v for k, v in doc.items() if _key(k) in MODULES}
    if found:
        return found
    for module, keys in SIGNATURES.items():
        if keys & set(doc):
            return {module: doc}
    return {}


def detect(obj: Any) -> bool:
    """A Battery Pass payload: module keys or a module's own keys, and none of the IDTA part keys."""
    from .idta import PARTS

    return isinstance(obj, Mapping) and not (set(obj) & set(PARTS)) and bool(split_modules(obj))


def _leaves(obj: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(obj, Mapping):
        out = []
        for k, v in obj.items():
            out += _leaves(v, f"{path}.{k}")
        return out
    if isinstance(obj, list):
        out = []
        for i, v in enumerate(obj):
            out += _leaves(v, f"{path}[{i}]")
        return out
    return [(path, obj)]


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
    line = ", ".join(x for x in (street, " ".join(y for y in (code,) if y), country) if x)
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


def _general(c: Collector, d: Mapping[str, Any], m: str) -> None:
    g = d.get
    c.put("battery.passport_id", c.text(g("productIdentifier"), f"{m}.productIdentifier"), f"{m}.productIdentifier")
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
    line, country = _address(c, g("manufacturingPlace"), f"{m}.manufacturingPlace")
    c.put("battery.manufacture_site", line, f"{m}.manufacturingPlace")
    c.put("battery.manufacture_country", _country(c, country, f"{m}.manufacturingPlace.addressCountry"),
          f"{m}.manufacturingPlace.addressCountry")
    oi = g("operatorInformation")
    if isinstance(oi, Mapping):
        p = f"{m}.operatorInformation"
        c.put("battery.economic_operator_id", c.text(oi.get("identifier"), f"{p}.identifier"), f"{p}.identifier")
        for k in ("contactName", "postalAddress"):
            if oi.get(k) is not None:
                c.report.unmap(f"{p}.{k}", oi[k], "batteryloop keeps the economic operator's identifier only")
    ps = c.datetime(g("puttingIntoService"), f"{m}.puttingIntoService", "battery.putting_into_service_date")
    c.put("battery.putting_into_service_date", ps[:10] if ps else None, f"{m}.puttingIntoService")
    w = g("warrentyPeriod", g("warrantyPeriod"))
    src = f"{m}.{'warrentyPeriod' if 'warrentyPeriod' in d else 'warrantyPeriod'}"
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
_RATED_UNMAPPED = {
    "originalPowerCapability": "power capability at a SoC: the 1.2 model declares percent as its unit, not W",
    "powerCapabilityRatio": "ratio of power to energy: batteryloop does not hold it",
    "initialSelfDischarge": "batteryloop holds the current self-discharge rate only",
    "expectedLifetime": "expected lifetime in years: batteryloop holds cycles",
    "cRate": "nominal C-rate: batteryloop holds the cycle-life test's C-rate only",
    "temperatureRangeIdleState": "one value in the 1.2 model where batteryloop holds a lower and an upper bound",
}
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


def _performance(c: Collector, d: Mapping[str, Any], m: str) -> None:
    tk = "batteryTechicalProperties" if "batteryTechicalProperties" in d else "batteryTechnicalProperties"
    t = d.get(tk) or {}
    p = f"{m}.{tk}"
    for prop, target, scale in _RATED:
        v = c.number(t.get(prop), f"{p}.{prop}", target)
        c.put(target, r9(v * scale) if v is not None else None, f"{p}.{prop}")
    cyc = c.integer(t.get("expectedNumberOfCycles"), f"{p}.expectedNumberOfCycles", "model.expected_lifetime_cycles")
    c.put("model.expected_lifetime_cycles", cyc, f"{p}.expectedNumberOfCycles")
    c.put("model.cycle_life_test_reference", c.text(t.get("lifetimeReferenceTest"), f"{p}.lifetimeReferenceTest"),
          f"{p}.lifetimeReferenceTest")
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
        for key, target in (("timeExtremeHighTemp", "battery.usage.time_above_extreme_temperature_h"),
                            ("timeExtremeLowTemp", "battery.usage.time_below_extreme_temperature_h")):
            v = c.number(temp.get(key), f"{q}.{key}", target)
            c.put(target, r9(v / 60.0) if v is not None else None, f"{q}.{key}")  # minutes → hours
        for key in ("timeExtremeHighTempCharging", "timeExtremeLowTempCharging"):
            if temp.get(key) is not None:
                c.report.unmap(f"{q}.{key}", temp[key], "batteryloop does not count charging-time extremes apart")
        stamp(temp, q)
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
    for k, why in (("remainingCapacity", "the 1.2 model declares kWh for a capacity (Ah): ambiguous"),
                   ("remainingPowerCapability", "power capability at a SoC: percent in the 1.2 model, not W"),
                   ("evolutionOfSelfDischarge", "batteryloop holds the current rate only"),
                   ("roundTripEfficiencyFade", "batteryloop holds the remaining efficiency, not its fade")):
        if cond.get(k) is not None:
            c.report.unmap(f"{p}.{k}", cond[k], why)
    if stamps and c.has("battery.state_of_health"):
        c.put("battery.state_of_health.measured_at", max(stamps), f"{p}.lastUpdate")


_READERS = {"general_product_information": _general, "carbon_footprint": _footprint,
            "performance_and_durability": _performance}


def import_payload(payload: Any, *, lenient: bool = False, defaults: Mapping[str, Any] | None = None,
                   **_: Any) -> ImportResult:
    """Battery Pass 1.2 module payloads → our parts (strict by default; ``lenient`` drops and reports)."""
    doc = load_object(payload, "Battery Pass 1.2")
    modules = split_modules(doc)
    c = Collector("batterypass", lenient)
    if not modules:
        c.error("(root)", "format:batterypass", f"no Battery Pass 1.2 module in the payload (top-level keys: "
                f"{', '.join(list(doc)[:8])})", None)
    for module, body in modules.items():
        if not isinstance(body, Mapping):
            c.error(module, "type", f"a Battery Pass module must be a JSON object, got {type(body).__name__}", None)
            continue
        reader = _READERS.get(module)
        if reader is None:
            for path, value in _leaves(body, module):
                c.report.unmap(path, value, NOT_ESTABLISHED)
            continue
        reader(c, body, module)
    c.order("battery.manufacture_date", "battery.putting_into_service_date", strict=False)
    return c.finish(defaults)
