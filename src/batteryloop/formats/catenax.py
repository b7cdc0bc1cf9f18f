"""Catena-X ``io.catenax.battery.battery_pass`` 6.1.0: export our passport as its JSON and import it.

Source: eclipse-tractusx/sldt-semantic-models, ``io.catenax.battery.battery_pass/6.1.0`` (CC-BY-4.0).

What does not fit one way or the other (see docs/formats.md for the full table):

* The aspect makes nearly every block *required*, including the usage data of Annex XIII point 4
  (legitimate-interest tier) and values batteryloop does not hold (depth of discharge of the cycle-life
  test, power at 20 % and 80 % SoC, cadmium and mercury concentrations …). A valid document needs a
  value there, so the export writes a placeholder (0, or the text ``"not declared"``/``"withheld (access
  tier)"``), lists it in the report, and declares the placeholder paths inside the document in a
  ``sources`` entry headed ``batteryloop: placeholder values``. Our importer skips those paths.
* Companies are BPNLs (``^BPNL[a-zA-Z0-9]{12}$``); a passport whose manufacturer or economic operator
  is a Korean business number or an Ouranos operator id cannot be exported to this aspect.
* Our fields without a Catena-X place (country of manufacture, warranty kilometres, …) travel in a
  second ``sources`` entry, ``batteryloop: fields without a Catena-X place`` (JSON), so that two
  batteryloop nodes exchange passports losslessly; other readers may ignore it. Turn it off with
  ``include_extension=False``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from ..errors import InvalidData
from ..passport.identifiers import PASSPORT_NS  # the namespace of every UUID we derive
from ..passport.model import BatteryCategory, BatteryStatus, Chemistry
from ..passport.tiers import Tier
from . import schemas
from ._convert import Collector, Placeholders, path_get, r9
from ._io import load_object
from .base import ExportResult, ImportResult, MappingReport, PassportParts

SPEC_VERSION = "urn:io.catenax.battery.battery_pass:6.1.0"
SCHEMA = "catenax.battery_pass"
MEDIA_TYPE = "application/vnd.catenax.battery-pass.v6+json"
PLACEHOLDER_HEADER = "batteryloop: placeholder values"
PLACEHOLDER_DOC = "placeholder values (not measured)"
EXTENSION_HEADER = "batteryloop: fields without a Catena-X place"
NIL_UUID = "urn:uuid:00000000-0000-0000-0000-000000000000"
BPNL_RE = re.compile(r"^BPNL[a-zA-Z0-9]{12}$")
BPNA_RE = re.compile(r"^BPNA[a-zA-Z0-9]{12}$")

CATEGORY_OUT = {"ev": "EV", "lmt": "LMT", "industrial": "industrial", "sli": "SLI", "portable": "portable"}
CATEGORY_IN = {v: k for k, v in CATEGORY_OUT.items()}
STATUS_OUT = {"original": "original", "repurposed": "repurposed", "reused": "re-used",
              "remanufactured": "remanufactured", "waste": "waste", "recycled": "waste"}
STATUS_IN = {"original": "original", "repurposed": "repurposed", "re-used": "reused",
             "remanufactured": "remanufactured", "waste": "waste"}
CHEMISTRY_NAMES = {
    "NMC111": "Lithium Nickel Manganese Cobalt Oxide", "NMC532": "Lithium Nickel Manganese Cobalt Oxide",
    "NMC622": "Lithium Nickel Manganese Cobalt Oxide", "NMC811": "Lithium Nickel Manganese Cobalt Oxide",
    "NCA": "Lithium Nickel Cobalt Aluminium Oxide", "LFP": "Lithium Iron Phosphate",
    "LMFP": "Lithium Manganese Iron Phosphate", "LMO": "Lithium Manganese Oxide", "LCO": "Lithium Cobalt Oxide",
    "LTO": "Lithium Titanate", "Na-ion": "Sodium-ion", "lead-acid": "Lead-acid", "NiMH": "Nickel-Metal Hydride",
}
CF_STAGES = (  # our field → Catena-X lifecycle text (the examples in the aspect's own description)
    ("raw_material_kgco2e_per_kwh", "raw material acquisition and pre-processing"),
    ("main_production_kgco2e_per_kwh", "main product production"),
    ("distribution_kgco2e_per_kwh", "distribution"),
    ("end_of_life_kgco2e_per_kwh", "end of life and recycling"),
)
CF_TOTAL = "total (all life-cycle stages, use stage excluded)"
CF_UNIT = "kg CO2 / kWh"
ACTIVE = ("nickel", "lithium", "cobalt", "lead")
COMP_LOCATIONS = ("cathode", "anode", "electrolyte", "other")
# document headers we write, and read back
H_COLLECTION = "collection information"
H_CYCLE_TEST = "cycle life test reference"
H_DUE_DILIGENCE = "due diligence report"
H_DOC = "EU declaration of conformity"
H_CF_STUDY = "carbon footprint study"
H_LABEL = "label"
H_HAZARD = "CLP hazard class"
H_DISMANTLING = {"manual_url": "dismantling manual", "steps": "dismantling step", "tools": "dismantling tool",
                 "fastener_types": "fastener type"}
H_SAFETY = "safety measure"

#: our fields this mapping carries completely (anything else travels in the extension, if enabled)
MAPPED_MODEL = {
    "model_id", "manufacturer_id", "model_name", "category", "chemistry", "mass_kg", "rated_capacity_ah",
    "rated_energy_kwh", "nominal_voltage_v", "min_voltage_v", "max_voltage_v", "original_power_capability_w",
    "expected_lifetime_cycles", "cycle_life_test_reference", "cycle_life_c_rate",
    "capacity_threshold_exhaustion_pct", "idle_temperature_lower_c", "idle_temperature_upper_c", "warranty_years",
    "initial_round_trip_efficiency_pct", "round_trip_efficiency_at_50pct_cycle_life_pct",
    "internal_resistance_cell_mohm", "internal_resistance_pack_mohm", "extinguishing_agent", "carbon_footprint",
    "due_diligence_report_url", "labels", "collection_information", "declaration_of_conformity_url",
    "safety_measures", "dismantling_information",
}
#: partly carried: the rest of the value travels in the extension
PARTIAL_MODEL = {"hazardous_substances", "recycled_content", "critical_raw_materials", "detailed_composition",
                 "spare_parts", "test_reports"}
MAPPED_BATTERY = {"passport_id", "serial_number", "model_id", "economic_operator_id", "manufacture_date",
                  "status", "putting_into_service_date"}
PARTIAL_BATTERY = {"state_of_health", "usage", "manufacture_site", "predecessor_ids"}



def round_trip_efficiency_fade_pct(initial_pct: float | None, remaining_pct: float | None) -> float | None:
    """Round-trip efficiency fade, relative to the initial value: (1 − RTE / RTE_BOL) × 100 % (Catena-X BatteryPass
    6.1.0 ``roundTripEfficiencyFade``: "expressed as a percentage in reference to the initial value"; DIN DKE SPEC
    99100 6.7.4.5, which the Battery Pass export follows). None when either is unknown. By hand: 96 → 93.13 %:
    (1 − 93.13 / 96) × 100 = 2.9896 % (2.87 percentage points)."""
    if not initial_pct or remaining_pct is None:
        return None
    return round((1.0 - float(remaining_pct) / float(initial_pct)) * 100.0, 9)

def passport_uuid(passport_id: str) -> str:
    """The Catena-X passport identifier (a UUID) derived from our ISO/IEC 15459 identifier."""
    return f"urn:uuid:{uuid.uuid5(PASSPORT_NS, passport_id)}"


def chemistry_text(code: str) -> str:
    return f"{CHEMISTRY_NAMES.get(code, code)} ({code})"


def parse_chemistry(text: str) -> tuple[str | None, str]:
    """Our chemistry code in a Catena-X chemistry text, or (None, why not)."""
    t = text.strip()
    codes = {c.value.upper().replace("-", ""): c.value for c in Chemistry}
    tokens = re.findall(r"[A-Za-z]+-?[A-Za-z]*\d*", t)
    for tok in tokens:
        key = tok.upper().replace("-", "")
        key = re.sub(r"^NCM(\d{3})$", r"NMC\1", key)
        if key in codes:
            return codes[key], ""
    low = t.lower()
    for code, name in CHEMISTRY_NAMES.items():
        if code.startswith("NMC"):
            continue
        if low == name.lower():
            return code, ""
    if re.search(r"\b(NCM|NMC)\b", t, re.I) or "manganese cobalt" in low or "cobalt manganese" in low:
        return None, ("names the NMC family without its ratio; batteryloop records NMC111, NMC532, NMC622 or "
                      "NMC811: write e.g. 'Nickel Manganese Cobalt (NMC811)'")
    return None, f"is not a chemistry batteryloop knows ({', '.join(c.value for c in Chemistry)})"


def _doc(header: str, content: str, url: bool = False) -> dict[str, str]:
    return {"contentType": "URL" if url else "text/plain", "header": header[:100], "content": content}


def _time(parts: PassportParts) -> str:
    soh = parts.battery.get("state_of_health") or {}
    t = soh.get("measured_at") or parts.changed.isoformat()  # a placeholder's time: the passport's last change
    return t.replace("+00:00", "Z")


# ============================================================================ export
def export(parts: PassportParts, *, validate: bool = True, include_extension: bool = True,
           bpnl_map: Mapping[str, str] | None = None) -> ExportResult:
    """The passport as a Catena-X battery pass; ``bpnl_map`` (participant id → BPNL) adds BPNL aliases for
    this export on top of the node's table."""
    report = MappingReport("catenax")
    ph = Placeholders(parts, report)
    m, b, aliased = _bpnl_view(parts.model, parts.battery, bpnl_map)
    now = parts.now
    measured = _time(parts)
    tm = lambda v: {"value": v, "time": measured}  # noqa: E731

    def num(path: str, value: Any, ours: str | None, scale: float = 1.0) -> float:
        if value is None:
            return ph(path, 0.0, ours)
        return r9(value * scale)

    passport_id = b.get("passport_id")
    # ---------------------------------------------------------------- identification
    serial = [{"key": "partInstanceId", "value": b["serial_number"]}] if b.get("serial_number") else []
    identification = {
        "category": CATEGORY_OUT[m["category"]],
        "idDmc": passport_id or ph.text("identification.idDmc", "battery.passport_id"),
        "chemistry": chemistry_text(m["chemistry"]),
        "identification": {
            "serial": serial,
            "type": {"manufacturerPartId": m["model_id"], "nameAtManufacturer": m["model_name"]},
            "codes": [],
            "dataCarrier": {"carrierType": "QR",
                            "carrierLayout": ph.text("identification.identification.dataCarrier.carrierLayout")},
            "classification": [],
        },
    }
    # ---------------------------------------------------------------- operation
    site = b.get("manufacture_site")
    manufacturer: dict[str, Any] = {
        "facility": [{"facility": site}] if site and BPNA_RE.match(site) else [],
        "manufacturer": m["manufacturer_id"],
    }
    if b.get("manufacture_date"):
        manufacturer["manufacturingDate"] = b["manufacture_date"]
    operation: dict[str, Any] = {"manufacturer": manufacturer}
    if b.get("putting_into_service_date"):
        operation["intoServiceDate"] = b["putting_into_service_date"]
    # ---------------------------------------------------------------- characteristics
    wy = m.get("warranty_years")
    characteristics = {
        "warranty": {"lifeValue": wy if wy is not None else ph("characteristics.warranty.lifeValue", 0, "model.warranty_years"),
                     "lifeUnit": "unit:year"},
        "physicalDimension": {"weight": {"value": m["mass_kg"], "unit": "unit:kilogram"}},
    }
    # ---------------------------------------------------------------- sustainability
    cf = m.get("carbon_footprint")
    footprints = []
    if cf:
        declaration = [_doc(H_CF_STUDY, cf["study_url"], True)] if cf.get("study_url") else []
        entries = [(k, name) for k, name in CF_STAGES] + [("total_kgco2e_per_kwh", CF_TOTAL)]
        for i, (key, lifecycle) in enumerate(k for k in entries if cf.get(k[0]) is not None):
            e: dict[str, Any] = {"lifecycle": lifecycle, "rulebook": [], "unit": CF_UNIT,
                                 "manufacturingPlant": [], "type": "Climate Change Total",
                                 "value": cf[key], "declaration": declaration}
            if cf.get("performance_class"):
                e["performanceClass"] = cf["performance_class"]
            footprints.append(e)
    else:
        ph("sustainability.carbonFootprint", [], "model.carbon_footprint")
    status = parts.status  # an archived passport is a recycled battery's, even where the status is withheld
    if status == BatteryStatus.RECYCLED.value:
        report.unmap("battery.status", status, "Catena-X has no 'recycled' status: exported as 'waste'")
    sustainability = {
        "documents": {
            "separateCollection": ([_doc(H_COLLECTION, m["collection_information"])]
                                   if m.get("collection_information") else []),
            "wastePrevention": [],
        },
        "carbonFootprint": footprints,
        "status": STATUS_OUT[status] if status else ph("sustainability.status", "original", "battery.status"),
    }
    # ---------------------------------------------------------------- materials
    crm = {c.lower() for c in m.get("critical_raw_materials", [])}
    rc = m.get("recycled_content") or {}
    active: dict[str, Any] = {}
    for metal in ACTIVE:
        p = f"materials.active.{metal}"
        v = rc.get(f"{metal}_pct")
        active[metal] = {"location": ph.text(f"{p}.location"),
                         "recycled": num(f"{p}.recycled", v, "model.recycled_content"),
                         "documentation": [], "critical": metal in crm}
    active["lead"].update({"impactOfSubstances": [], "materialUnit": "unit:percent",
                           "concentration": ph("materials.active.lead.concentration", 0.0)})
    hazardous: dict[str, Any] = {}
    others = []
    for i, h in enumerate(m.get("hazardous_substances", [])):
        name = h["name"]
        slot = next((s for s in ("cadmium", "mercury", "lead") if name.lower().startswith(s)), None)
        entry: dict[str, Any] = {
            "impactOfSubstances": [_doc(H_HAZARD, h["hazard_class"])] if h.get("hazard_class") else [],
            "concentration": num(f"materials.hazardous.{slot or f'other[{len(others)}]'}.concentration",
                                 h.get("concentration_pct"), f"model.hazardous_substances[{i}].concentration_pct"),
            "materialUnit": "unit:percent",
            "location": h.get("location") or ph.text(
                f"materials.hazardous.{slot or f'other[{len(others)}]'}.location",
                f"model.hazardous_substances[{i}].location"),
            "critical": name.lower() in crm,
            "documentation": [],
        }
        if slot and slot not in hazardous:
            hazardous[slot] = entry
        else:
            entry["materialIdentification"] = [{"type": "CAS", "name": name,
                                                "id": h.get("cas_number") or ph.text(
                                                    f"materials.hazardous.other[{len(others)}].materialIdentification[0].id",
                                                    f"model.hazardous_substances[{i}].cas_number")}]
            others.append(entry)
    for slot in ("cadmium", "mercury", "lead"):
        if slot not in hazardous:
            p = f"materials.hazardous.{slot}"
            hazardous[slot] = {"impactOfSubstances": [], "concentration": ph(f"{p}.concentration", 0.0, "model.hazardous_substances"),
                               "materialUnit": "unit:percent", "location": ph.text(f"{p}.location", "model.hazardous_substances"),
                               "critical": False, "documentation": []}
    if "recycled" in hazardous["lead"] or True:
        hazardous["lead"]["recycled"] = active["lead"]["recycled"]
        if rc.get("lead_pct") is None:
            ph("materials.hazardous.lead.recycled", 0.0, "model.recycled_content")
    if others:
        hazardous["other"] = others
    composition = []
    dc = m.get("detailed_composition") or {}
    for loc in COMP_LOCATIONS:
        for j, ms in enumerate(dc.get(loc, [])):
            p = f"materials.composition[{len(composition)}]"
            ours = f"model.detailed_composition.{loc}[{j}]"
            composition.append({
                "id": [{"type": "CAS", "name": ms["material"],
                        "id": ms.get("cas_number") or ph.text(f"{p}.id[0].id", f"{ours}.cas_number")}],
                "concentration": num(f"{p}.concentration", ms.get("mass_fraction_pct"), f"{ours}.mass_fraction_pct"),
                "unit": "unit:percent", "critical": ms["material"].lower() in crm, "documentation": [],
                "recycled": ph(f"{p}.recycled", 0.0), "renewable": ph(f"{p}.renewable", 0.0),
                "location": loc,
            })
    if not dc and not parts.has(Tier.LEGITIMATE_INTEREST):
        report.placeholder("materials.composition", ph.reason("model.detailed_composition"))
    materials = {"active": active, "hazardous": hazardous, "composition": composition}
    # ---------------------------------------------------------------- performance
    R = "performance.rated"
    rated: dict[str, Any] = {
        "voltage": {"min": m["min_voltage_v"], "max": m["max_voltage_v"], "nominal": m["nominal_voltage_v"]},
        "roundTripEfficiency": {
            "depthOfDischarge": ph(f"{R}.roundTripEfficiency.depthOfDischarge", 0.0),
            "initial": num(f"{R}.roundTripEfficiency.initial", m.get("initial_round_trip_efficiency_pct"),
                           "model.initial_round_trip_efficiency_pct"),
            "50PercentLife": num(f"{R}.roundTripEfficiency.50PercentLife",
                                 m.get("round_trip_efficiency_at_50pct_cycle_life_pct"),
                                 "model.round_trip_efficiency_at_50pct_cycle_life_pct"),
        },
        "resistance": {
            "cell": num(f"{R}.resistance.cell", m.get("internal_resistance_cell_mohm"),
                        "model.internal_resistance_cell_mohm", 1e-3),
            "pack": num(f"{R}.resistance.pack", m.get("internal_resistance_pack_mohm"),
                        "model.internal_resistance_pack_mohm", 1e-3),
        },
        "power": {"value": num(f"{R}.power.value", m.get("original_power_capability_w"),
                               "model.original_power_capability_w"),
                  "at20SoC": ph(f"{R}.power.at20SoC", 0.0), "at80SoC": ph(f"{R}.power.at80SoC", 0.0)},
        "capacity": {"value": m["rated_capacity_ah"],
                     "thresholdExhaustion": num(f"{R}.capacity.thresholdExhaustion",
                                                m.get("capacity_threshold_exhaustion_pct"),
                                                "model.capacity_threshold_exhaustion_pct")},
        "temperature": {"lower": num(f"{R}.temperature.lower", m.get("idle_temperature_lower_c"),
                                     "model.idle_temperature_lower_c"),
                        "upper": num(f"{R}.temperature.upper", m.get("idle_temperature_upper_c"),
                                     "model.idle_temperature_upper_c")},
        "selfDischargingRate": ph(f"{R}.selfDischargingRate", 0.0),
        "lifetime": {
            "expectedYears": ph(f"{R}.lifetime.expectedYears", 0),
            "report": [_doc(H_CYCLE_TEST, m["cycle_life_test_reference"])] if m.get("cycle_life_test_reference") else [],
            "cycleLifeTesting": {
                "temperature": ph(f"{R}.lifetime.cycleLifeTesting.temperature", 0.0),
                "cycles": num(f"{R}.lifetime.cycleLifeTesting.cycles", m.get("expected_lifetime_cycles"),
                              "model.expected_lifetime_cycles"),
                "depthOfDischarge": ph(f"{R}.lifetime.cycleLifeTesting.depthOfDischarge", 0.0),
                "appliedChargeRate": num(f"{R}.lifetime.cycleLifeTesting.appliedChargeRate",
                                         m.get("cycle_life_c_rate"), "model.cycle_life_c_rate"),
                "appliedDischargeRate": num(f"{R}.lifetime.cycleLifeTesting.appliedDischargeRate",
                                            m.get("cycle_life_c_rate"), "model.cycle_life_c_rate"),
            },
        },
    }
    if m.get("rated_energy_kwh") is not None:
        rated["energy"] = {"value": m["rated_energy_kwh"]}
    if m.get("test_reports"):
        rated["testReport"] = []  # test reports go to conformity.resultOfTestReport
    soh = b.get("state_of_health") or {}
    use = b.get("usage") or {}
    D = "performance.dynamic"

    def dyn(path: str, value: Any, ours: str, transform: Any = None) -> dict[str, Any]:
        if value is None:
            return tm(ph(f"{D}.{path}.value", 0.0, ours))
        return tm(r9(transform(value)) if transform else value)

    dynamic = {
        "stateOfCharge": dyn("stateOfCharge", use.get("state_of_charge_pct"), "battery.usage"),
        "fullCycles": dyn("fullCycles", use.get("full_equivalent_cycles"), "battery.usage"),
        "selfDischargingRate": (soh["self_discharge_pct_per_month"] if soh.get("self_discharge_pct_per_month") is not None
                                else ph(f"{D}.selfDischargingRate", 0.0, "battery.state_of_health")),
        "power": {"fade": dyn("power.fade", soh.get("remaining_power_capability_pct"), "battery.state_of_health",
                              lambda v: 100.0 - v),
                  "remaining": dyn("power.remaining", None if soh.get("remaining_power_capability_pct") is None
                                   or m.get("original_power_capability_w") is None else
                                   soh["remaining_power_capability_pct"] * m["original_power_capability_w"] / 100,
                                   "battery.state_of_health")},
        "capacity": {"fade": dyn("capacity.fade", soh.get("soh_capacity_pct"), "battery.state_of_health",
                                 lambda v: 100.0 - v),
                     "throughput": dyn("capacity.throughput", use.get("capacity_throughput_ah"), "battery.usage"),
                     "capacity": dyn("capacity.capacity", soh.get("remaining_capacity_ah"), "battery.state_of_health")},
        "roundTripEfficiency": {
            # "a reduction in the round trip efficiency ... expressed as a percentage in reference to the initial
            # value" (BatteryPass 6.1.0, roundTripEfficiencyFade): relative, (1 − RTE / RTE_BOL) × 100 — as DIN DKE
            # SPEC 99100 6.7.4.5 and the Battery Pass export; not the difference in percentage points
            "fade": dyn("roundTripEfficiency.fade", round_trip_efficiency_fade_pct(
                m.get("initial_round_trip_efficiency_pct"), soh.get("remaining_round_trip_efficiency_pct")),
                        "battery.state_of_health"),
            "remaining": dyn("roundTripEfficiency.remaining", soh.get("remaining_round_trip_efficiency_pct"),
                             "battery.state_of_health")},
        "resistance": {
            "increase": {"pack": dyn("resistance.increase.pack", soh.get("ohmic_resistance_increase_pct"),
                                     "battery.state_of_health"),
                         "cell": dyn("resistance.increase.cell", None, "battery.state_of_health")},
            "remaining": {"pack": dyn("resistance.remaining.pack", None, "battery.state_of_health"),
                          "cell": dyn("resistance.remaining.cell", None, "battery.state_of_health")}},
        "energy": {"soce": dyn("energy.soce", soh.get("state_of_certified_energy_pct"), "battery.state_of_health"),
                   "remaining": dyn("energy.remaining", soh.get("remaining_energy_kwh"), "battery.state_of_health")},
    }
    if use.get("energy_throughput_kwh") is not None:
        dynamic["energy"]["throughput"] = tm(use["energy_throughput_kwh"])
    negatives = [_doc(f"negative event: {ev['kind']}"[:100],
                      json.dumps({"occurred_at": ev["occurred_at"], "description": ev.get("description")}))
                 for ev in use.get("negative_events", [])]
    if negatives:
        dynamic["negativeEvents"] = negatives
    held = sorted(p.removeprefix(f"{D}.").removesuffix(".value") for p in ph.paths if p.startswith(f"{D}."))
    if held:
        # Catena-X requires every dynamic value; the ones the passport does not give (or this reader's tier
        # withholds) are placeholders, said here in the document itself so a 0 % fade never reads as 100 % SoH
        why = ("withheld from this reader's access tier (Annex XIII point 4)" if not parts.has(Tier.LEGITIMATE_INTEREST)
               else "not declared in the passport")
        dynamic["performanceDocument"] = [_doc(PLACEHOLDER_DOC, f"not measured values but placeholders, {why}: "
                                                                 + ", ".join(held))]
    performance = {"rated": rated, "dynamic": dynamic}
    # ---------------------------------------------------------------- conformity, safety, handling
    conformity = {
        "declarationOfConformity": ([_doc(H_DOC, m["declaration_of_conformity_url"], True)]
                                    if m.get("declaration_of_conformity_url") else []),
        "resultOfTestReport": [_doc(t["title"], t["url"], True) if t.get("url") else _doc(t["title"], t["title"])
                               for t in m.get("test_reports", [])],
        "thirdPartyAssurance": [],
        "dueDiligencePolicy": ([_doc(H_DUE_DILIGENCE, m["due_diligence_report_url"], True)]
                               if m.get("due_diligence_report_url") else []),
    }
    if not parts.has(Tier.AUTHORITY):
        report.placeholder("conformity.resultOfTestReport", ph.reason("model.test_reports"))
    dis = m.get("dismantling_information") or {}
    dismantling = []
    if dis.get("manual_url"):
        dismantling.append(_doc(H_DISMANTLING["manual_url"], dis["manual_url"], True))
    for key in ("steps", "tools", "fastener_types"):
        dismantling += [_doc(H_DISMANTLING[key], s) for s in dis.get(key, [])]
    safety = {
        "usableExtinguishAgent": [{"media": a, "fireClass": ph.text(f"safety.usableExtinguishAgent[{i}].fireClass")}
                                  for i, a in enumerate(m.get("extinguishing_agent", []))],
        "safetyMeasures": [_doc(H_SAFETY, s) for s in m.get("safety_measures", [])],
        "meaningOfLabels": [_doc(H_LABEL, lab) for lab in m.get("labels", [])],
        "dismantling": dismantling,
    }
    spare = [{"manufacturerPartId": s["part_number"], "nameAtManufacturer": s["name"]} for s in m.get("spare_parts", [])]
    handling = {"applicable": bool(spare), "content": {"producer": [{"id": m["manufacturer_id"]}] if spare else [],
                                                       "sparePart": spare}}
    # ---------------------------------------------------------------- metadata
    made = b.get("manufacture_date")
    issue = now.date()
    expiry = _add_years(date.fromisoformat(made) if made else issue, 10)
    if expiry <= issue:
        expiry = _add_years(issue, 1)
    preds = b.get("predecessor_ids") or []
    metadata = {
        "version": str(parts.version or 1),
        "status": "expired" if parts.archived else "approved",
        "issueDate": issue.isoformat(),
        "lastModification": parts.changed.date().isoformat(),
        "expirationDate": expiry.isoformat(),
        "economicOperatorId": b.get("economic_operator_id") or ph.text("metadata.economicOperatorId",
                                                                      "battery.economic_operator_id"),
        "passportIdentifier": passport_uuid(passport_id) if passport_id else f"urn:uuid:{uuid.uuid4()}",
        "predecessor": passport_uuid(preds[-1]) if preds else NIL_UUID,
        "backupReference": parts.web_link or ph.text("metadata.backupReference"),
    }
    if parts.web_link:
        metadata["registrationIdentifier"] = parts.web_link
    payload: dict[str, Any] = {
        "specVersion": SPEC_VERSION,
        "identification": identification, "operation": operation, "characteristics": characteristics,
        "sustainability": sustainability, "materials": materials, "performance": performance,
        "conformity": conformity, "safety": safety, "metadata": metadata,
        "commercial": {"purpose": ["automotive"] if m["category"] == BatteryCategory.EV.value else []},
        "handling": handling,
    }
    # ---------------------------------------------------------------- what did not fit
    ext = _extension(m, b, report)
    for part, key, original in aliased:  # the BPNL alias went into Catena-X; our own id travels in the extension
        ext[part][key] = original
        report.unmap(f"{part}.{key}", original, "exported as the participant's BPNL alias (this node's table)")
    sources = []
    if ph.paths:
        sources.append({"header": PLACEHOLDER_HEADER, "category": "Product Specifications",
                        "type": "application/json", "content": json.dumps(sorted(set(ph.paths)))})
    if include_extension and (ext["model"] or ext["battery"]):
        sources.append({"header": EXTENSION_HEADER, "category": "Product Specifications",
                        "type": "application/json", "content": json.dumps(ext, sort_keys=True)})
    if sources:
        payload["sources"] = sources
    if validate:
        errors = schemas.validate(SCHEMA, payload)
        if errors:
            raise InvalidData(f"the Catena-X export does not validate: {errors[0]['message']}", errors)
    name = (passport_id or b.get("serial_number") or "passport").replace("/", "_")
    return ExportResult(payload, MEDIA_TYPE, report, f"{name}.catenax-battery-pass.json")


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _bpnl_view(m: Mapping[str, Any], b: Mapping[str, Any], bpnl_map: Mapping[str, str] | None = None
               ) -> tuple[Mapping[str, Any], Mapping[str, Any], list[tuple[str, str, str]]]:
    """The model and battery as Catena-X must name them: a manufacturer or economic operator that is not a
    BPNL (an Ouranos operator id, a Korean business number) is named by its BPNL alias from this node's
    table (:mod:`.bpnl`); without one, :class:`InvalidData` names the participant and how to add it."""
    from .bpnl import node_aliases

    aliased: list[tuple[str, str, str]] = []
    out = {"model": dict(m), "battery": dict(b)}
    table = node_aliases().merged(bpnl_map) if bpnl_map else node_aliases()
    for where, key in (("model", "manufacturer_id"), ("battery", "economic_operator_id")):
        value = out[where].get(key)
        if value is None or BPNL_RE.match(value):
            continue
        out[where][key] = table.resolve(value, f"{where}.{key}")
        aliased.append((where, key, value))
    return out["model"], out["battery"], aliased


def _extension(m: Mapping[str, Any], b: Mapping[str, Any], report: MappingReport) -> dict[str, Any]:
    ext: dict[str, dict[str, Any]] = {"model": {}, "battery": {}}
    for part, data, full, partial in (("model", m, MAPPED_MODEL, PARTIAL_MODEL),
                                      ("battery", b, MAPPED_BATTERY, PARTIAL_BATTERY)):
        for key, value in data.items():
            if key in full or value in (None, [], {}):
                continue
            ext[part][key] = value
            why = ("only partly representable in Catena-X 6.1.0" if key in partial
                   else "no place in Catena-X 6.1.0")
            report.unmap(f"{part}.{key}", value, why)
    return ext


# ============================================================================ import
def import_payload(payload: Any, *, lenient: bool = False, defaults: Mapping[str, Any] | None = None,
                   use_extension: bool = True) -> ImportResult:
    """Read a Catena-X battery pass into our parts. Strict by default: any invalid value raises
    :class:`InvalidData` naming the Catena-X path, our field, the value and the rule."""
    doc = load_object(payload, "Catena-X battery pass")
    skip, ext = _declared(doc)
    c = Collector("catenax", lenient, skip)
    for e in schemas.validate(SCHEMA, doc):
        c.report.schema_errors.append(e)
        c.errors.append(e)
    _read(c, doc)
    if use_extension and ext:
        for part in ("model", "battery"):
            for key, value in (ext.get(part) or {}).items():
                c.data[part][key] = value
                c.origin[f"{part}.{key}"] = f"sources[{EXTENSION_HEADER}].{part}.{key}"
                c.report.not_carried.append(f"{part}.{key}")
    c.order("model.idle_temperature_lower_c", "model.idle_temperature_upper_c")
    c.order("battery.manufacture_date", "battery.putting_into_service_date", strict=False)
    return c.finish(defaults, required=("battery.status",))


def _declared(doc: Mapping[str, Any]) -> tuple[set[str], dict[str, Any]]:
    skip: set[str] = set()
    ext: dict[str, Any] = {}
    for s in doc.get("sources") or []:
        if not isinstance(s, Mapping):
            continue
        try:
            if s.get("header") == PLACEHOLDER_HEADER:
                skip.update(str(p) for p in json.loads(s.get("content", "[]")))
            elif s.get("header") == EXTENSION_HEADER:
                ext = json.loads(s.get("content", "{}"))
        except (ValueError, TypeError):
            continue
    return skip, ext


def _docs(doc: Mapping[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    items = path_get(doc, path) or []
    return [(f"{path}[{i}]", d) for i, d in enumerate(items) if isinstance(items, list) and isinstance(d, Mapping)]


def _read(c: Collector, doc: Mapping[str, Any]) -> None:
    g = lambda p: path_get(doc, p)  # noqa: E731
    rep = c.report
    # identification
    cat = g("identification.category")
    if cat is not None:
        if cat in CATEGORY_IN:
            c.put("model.category", CATEGORY_IN[cat], "identification.category")
        else:
            c.error("identification.category", "catenax:category",
                    f"{cat!r} has no batteryloop category ({', '.join(CATEGORY_IN)})", cat, "model.category")
    chem = c.text(g("identification.chemistry"), "identification.chemistry", "model.chemistry")
    if chem:
        code, why = parse_chemistry(chem)
        if code:
            c.put("model.chemistry", code, "identification.chemistry")
        else:
            c.error("identification.chemistry", "chemistry", f"{chem!r} {why}", chem, "model.chemistry")
    id_dmc = c.text(g("identification.idDmc"), "identification.idDmc", "battery.passport_id")
    if id_dmc:
        if re.match(r"^[A-Z0-9]{1,3}\.[A-Z0-9\-]+\.[A-Z0-9\-]+$", id_dmc):
            c.put("battery.passport_id", id_dmc, "identification.idDmc")
        else:
            rep.unmap("identification.idDmc", id_dmc,
                      "not an ISO/IEC 15459 identifier of the form IAC.COMPANY.SERIAL: a new one is assigned on store")
    for i, s in enumerate(g("identification.identification.serial") or []):
        if isinstance(s, Mapping) and s.get("key") == "partInstanceId":
            c.put("battery.serial_number", c.text(s.get("value"), f"identification.identification.serial[{i}].value",
                                                  "battery.serial_number"), f"identification.identification.serial[{i}].value")
        elif isinstance(s, Mapping):
            rep.unmap(f"identification.identification.serial[{i}]", s, "serial key without a batteryloop field")
    t = "identification.identification.type"
    c.put("model.model_id", c.text(g(f"{t}.manufacturerPartId"), f"{t}.manufacturerPartId", "model.model_id"),
          f"{t}.manufacturerPartId")
    c.put("model.model_name", c.text(g(f"{t}.nameAtManufacturer"), f"{t}.nameAtManufacturer", "model.model_name"),
          f"{t}.nameAtManufacturer")
    for key in ("batch", "codes", "classification"):
        if g(f"identification.identification.{key}"):
            rep.unmap(f"identification.identification.{key}", g(f"identification.identification.{key}"),
                      "no batteryloop field")
    # operation
    c.put("model.manufacturer_id", c.text(g("operation.manufacturer.manufacturer"), "operation.manufacturer.manufacturer",
                                          "model.manufacturer_id"), "operation.manufacturer.manufacturer")
    c.put("battery.manufacture_date", c.date(g("operation.manufacturer.manufacturingDate"),
                                             "operation.manufacturer.manufacturingDate", "battery.manufacture_date"),
          "operation.manufacturer.manufacturingDate")
    c.put("battery.putting_into_service_date", c.date(g("operation.intoServiceDate"), "operation.intoServiceDate",
                                                      "battery.putting_into_service_date"), "operation.intoServiceDate")
    fac = g("operation.manufacturer.facility") or []
    if fac and isinstance(fac[0], Mapping):
        c.put("battery.manufacture_site", c.text(fac[0].get("facility"), "operation.manufacturer.facility[0].facility"),
              "operation.manufacturer.facility[0].facility")
    # characteristics
    w = "characteristics.warranty"
    unit = g(f"{w}.lifeUnit")
    val = c.number(g(f"{w}.lifeValue"), f"{w}.lifeValue", "model.warranty_years")
    if val is not None:
        factor = {"unit:year": 1.0, "unit:month": 1 / 12, "unit:day": 1 / 365.25}.get(unit)
        if factor is None:
            rep.unmap(w, g(w), f"a warranty in {unit} has no batteryloop field (warranty_years, warranty_km)")
        elif val > 0:
            c.put("model.warranty_years", r9(val * factor), f"{w}.lifeValue")
    wt = "characteristics.physicalDimension.weight"
    mass = c.number(g(f"{wt}.value"), f"{wt}.value", "model.mass_kg")
    if mass is not None:
        factor = {"unit:kilogram": 1.0, "unit:gram": 1e-3, "unit:tonneMetricTon": 1e3, "unit:pound": 0.45359237,
                  "unit:ounceAvoirdupois": 0.028349523125, "unit:tonUsOrShortTonUkorus": 907.18474}.get(g(f"{wt}.unit"))
        if factor is None:
            c.error(f"{wt}.unit", "unit", f"unknown mass unit {g(f'{wt}.unit')!r}", g(f"{wt}.unit"), "model.mass_kg")
        else:
            c.put("model.mass_kg", r9(mass * factor), f"{wt}.value")
    for dim in ("length", "width", "height"):
        if g(f"characteristics.physicalDimension.{dim}"):
            rep.unmap(f"characteristics.physicalDimension.{dim}", g(f"characteristics.physicalDimension.{dim}"),
                      "batteryloop records no dimensions")
    # sustainability
    for p, d in _docs(doc, "sustainability.documents.separateCollection"):
        c.put("model.collection_information", c.text(d.get("content"), f"{p}.content"), f"{p}.content")
    for key in ("wastePrevention", "sustainabilityReport", "euTaxonomyDisclosureStatement"):
        if g(f"sustainability.documents.{key}"):
            rep.unmap(f"sustainability.documents.{key}", g(f"sustainability.documents.{key}"), "no batteryloop field")
    _read_footprint(c, doc)
    st = g("sustainability.status")
    if st is not None and "sustainability.status" not in c.skip:
        if st in STATUS_IN:
            c.put("battery.status", STATUS_IN[st], "sustainability.status")
        else:
            c.error("sustainability.status", "enum", f"{st!r} is not a battery status", st, "battery.status")
    _read_materials(c, doc)
    _read_performance(c, doc)
    # conformity
    for p, d in _docs(doc, "conformity.declarationOfConformity"):
        c.put("model.declaration_of_conformity_url", c.text(d.get("content"), f"{p}.content"), f"{p}.content")
    for p, d in _docs(doc, "conformity.dueDiligencePolicy"):
        c.put("model.due_diligence_report_url", c.text(d.get("content"), f"{p}.content"), f"{p}.content")
    for p, d in _docs(doc, "conformity.resultOfTestReport"):
        title = c.text(d.get("header"), f"{p}.header") or "test report"
        content = c.text(d.get("content"), f"{p}.content")
        rep_ = {"title": title}
        if content and content != title and re.match(r"^(https?|urn|did):", content):
            rep_["url"] = content
        c.append("model.test_reports", rep_, p)
    for key in ("thirdPartyAssurance",):
        if g(f"conformity.{key}"):
            rep.unmap(f"conformity.{key}", g(f"conformity.{key}"), "no batteryloop field")
    if g("conformity.declarationOfConformityId"):
        rep.unmap("conformity.declarationOfConformityId", g("conformity.declarationOfConformityId"),
                  "batteryloop keeps the declaration's URL, not its number")
    # safety
    for i, a in enumerate(g("safety.usableExtinguishAgent") or []):
        if isinstance(a, Mapping):
            c.append("model.extinguishing_agent", c.text(a.get("media"), f"safety.usableExtinguishAgent[{i}].media"),
                     f"safety.usableExtinguishAgent[{i}].media")
            fc = a.get("fireClass")
            if fc and f"safety.usableExtinguishAgent[{i}].fireClass" not in c.skip:
                rep.unmap(f"safety.usableExtinguishAgent[{i}].fireClass", fc, "batteryloop records no fire class")
    for p, d in _docs(doc, "safety.safetyMeasures"):
        c.append("model.safety_measures", c.text(d.get("content"), f"{p}.content"), f"{p}.content")
    for p, d in _docs(doc, "safety.meaningOfLabels"):
        c.append("model.labels", c.text(d.get("content"), f"{p}.content"), f"{p}.content")
    for p, d in _docs(doc, "safety.dismantling"):
        content = c.text(d.get("content"), f"{p}.content")
        header = d.get("header")
        key = next((k for k, h in H_DISMANTLING.items() if h == header), None)
        if key == "manual_url" or (key is None and content and re.match(r"^https?:", content)
                                   and not c.has("model.dismantling_information.manual_url")):
            c.put("model.dismantling_information.manual_url", content, f"{p}.content")
        else:
            c.append(f"model.dismantling_information.{key or 'steps'}", content, f"{p}.content")
    for key in ("safeDischarging", "removalFromAppliance"):
        if g(f"safety.{key}"):
            rep.unmap(f"safety.{key}", g(f"safety.{key}"), "no batteryloop field")
    for i, s in enumerate(g("handling.content.sparePart") or []):
        if isinstance(s, Mapping):
            c.append("model.spare_parts", {"part_number": s.get("manufacturerPartId"), "name": s.get("nameAtManufacturer")},
                     f"handling.content.sparePart[{i}]")
    if g("handling.content.producer"):
        rep.unmap("handling.content.producer", g("handling.content.producer"),
                  "spare-part producers are BPNLs; batteryloop keeps a supplier name per part")
    # metadata
    c.put("battery.economic_operator_id", c.text(g("metadata.economicOperatorId"), "metadata.economicOperatorId",
                                                 "battery.economic_operator_id"), "metadata.economicOperatorId")
    if g("metadata.status") == "expired" and c.data["battery"].get("status") == "waste":
        # the export writes a recycled (archived) passport as status 'waste' with an expired passport:
        # together they say recycled, so the battery does not come back as waste awaiting treatment
        c.put("battery.status", "recycled", "metadata.status")
        rep.unmap("metadata.status", "expired", "an expired passport of a battery that is waste: imported as "
                  "recycled (archived, read-only)")
    for key in ("passportIdentifier", "predecessor", "version", "status", "issueDate", "expirationDate",
                "lastModification", "backupReference", "registrationIdentifier"):
        if g(f"metadata.{key}") is not None and key not in ("predecessor",) or (
                key == "predecessor" and g("metadata.predecessor") not in (None, NIL_UUID)):
            rep.unmap(f"metadata.{key}", g(f"metadata.{key}"), "passport metadata: batteryloop keeps its own")
    if g("commercial"):
        rep.unmap("commercial", g("commercial"), "no batteryloop field")


def _read_footprint(c: Collector, doc: Mapping[str, Any]) -> None:
    stages = {name: key for key, name in CF_STAGES}
    for i, e in enumerate(path_get(doc, "sustainability.carbonFootprint") or []):
        p = f"sustainability.carbonFootprint[{i}]"
        if not isinstance(e, Mapping):
            continue
        if e.get("type") not in (None, "Climate Change Total"):
            c.report.unmap(p, e.get("type"), "batteryloop records the climate-change total only")
            continue
        if e.get("unit") not in (None, CF_UNIT, "kg CO2e / kWh", "kgCO2e/kWh"):
            c.error(f"{p}.unit", "unit", f"{e.get('unit')!r}: expected {CF_UNIT!r}", e.get("unit"),
                    "model.carbon_footprint")
            continue
        value = c.number(e.get("value"), f"{p}.value", "model.carbon_footprint")
        lifecycle = str(e.get("lifecycle", "")).strip().lower()
        key = stages.get(lifecycle) or ("total_kgco2e_per_kwh" if lifecycle.startswith("total") else None)
        if key is None:
            c.report.unmap(f"{p}.lifecycle", e.get("lifecycle"), "life-cycle stage without a batteryloop field")
            continue
        c.put(f"model.carbon_footprint.{key}", value, f"{p}.value")
        if e.get("performanceClass"):
            c.put("model.carbon_footprint.performance_class", e["performanceClass"], f"{p}.performanceClass")
        for j, d in enumerate(e.get("declaration") or []):
            if isinstance(d, Mapping) and d.get("content"):
                c.put("model.carbon_footprint.study_url", c.text(d["content"], f"{p}.declaration[{j}].content"),
                      f"{p}.declaration[{j}].content")
    cf = c.data["model"].get("carbon_footprint")
    if cf and "total_kgco2e_per_kwh" not in cf:
        stage_values = [cf.get(k) for k, _ in CF_STAGES]
        if all(v is not None for v in stage_values):
            c.put("model.carbon_footprint.total_kgco2e_per_kwh", r9(sum(stage_values)), "sustainability.carbonFootprint")
        else:
            c.error("sustainability.carbonFootprint", "carbon_footprint:total",
                    "no total carbon footprint: give an entry with lifecycle 'total' or all four life-cycle "
                    "stages (raw material acquisition and pre-processing, main product production, distribution, "
                    "end of life and recycling)", None, "model.carbon_footprint.total_kgco2e_per_kwh")
            c.data["model"].pop("carbon_footprint", None)


def _read_materials(c: Collector, doc: Mapping[str, Any]) -> None:
    g = lambda p: path_get(doc, p)  # noqa: E731
    crm: list[str] = []
    for metal in ACTIVE:
        p = f"materials.active.{metal}"
        if not isinstance(g(p), Mapping):
            continue
        v = c.number(g(f"{p}.recycled"), f"{p}.recycled", f"model.recycled_content.{metal}_pct")
        c.put(f"model.recycled_content.{metal}_pct", v, f"{p}.recycled")
        if g(f"{p}.critical") is True:
            crm.append(metal)
    for i, o in enumerate(g("materials.active.other") or []):
        c.report.unmap(f"materials.active.other[{i}]", o, "batteryloop records recycled content for Co, Li, Ni, Pb")
    for slot in ("cadmium", "mercury", "lead"):
        p = f"materials.hazardous.{slot}"
        h = g(p)
        if not isinstance(h, Mapping) or f"{p}.concentration" in c.skip:
            continue
        _hazard(c, h, p, slot)
    for i, h in enumerate(g("materials.hazardous.other") or []):
        if isinstance(h, Mapping):
            ident = (h.get("materialIdentification") or [{}])[0]
            _hazard(c, h, f"materials.hazardous.other[{i}]", ident.get("name") if isinstance(ident, Mapping) else None,
                    ident if isinstance(ident, Mapping) else {})
    for i, e in enumerate(g("materials.composition") or []):
        p = f"materials.composition[{i}]"
        if not isinstance(e, Mapping):
            continue
        ident = (e.get("id") or [{}])[0] if isinstance(e.get("id"), list) else {}
        loc = str(e.get("location", "other")).strip().lower()
        if loc not in COMP_LOCATIONS:
            c.report.unmap(f"{p}.location", e.get("location"), "not cathode/anode/electrolyte: recorded as 'other'")
            loc = "other"
        share: dict[str, Any] = {"material": c.text(ident.get("name"), f"{p}.id[0].name")}
        if ident.get("type") == "CAS":
            share["cas_number"] = c.text(ident.get("id"), f"{p}.id[0].id")
        if e.get("unit") in ("unit:percent", None):
            share["mass_fraction_pct"] = c.number(e.get("concentration"), f"{p}.concentration")
        else:
            c.report.unmap(f"{p}.concentration", e.get("concentration"), f"concentration in {e.get('unit')}, not percent")
        c.append(f"model.detailed_composition.{loc}", {k: v for k, v in share.items() if v is not None}, p)
        if e.get("critical") is True and share["material"]:
            crm.append(share["material"])
        for key in ("recycled", "renewable"):
            if e.get(key) not in (None, 0, 0.0) and f"{p}.{key}" not in c.skip:
                c.report.unmap(f"{p}.{key}", e.get(key), "batteryloop records recycled and renewable content per model")
    if crm:
        c.put("model.critical_raw_materials", sorted(set(crm)), "materials.*.critical")


def _hazard(c: Collector, h: Mapping[str, Any], p: str, name: str | None, ident: Mapping[str, Any] | None = None) -> None:
    unit = h.get("materialUnit")
    conc = c.number(h.get("concentration"), f"{p}.concentration")
    factor = {"unit:percent": 1.0, "unit:partPerThousand": 0.1, "unit:partPerMillion": 1e-4,
              "unit:partPerBillionUs": 1e-7, "unit:partPerTrillionUs": 1e-10}.get(unit)
    entry: dict[str, Any] = {"name": (name or "unnamed").capitalize() if ident is None else name}
    if conc is not None:
        if factor is None:
            c.report.unmap(f"{p}.concentration", conc, f"concentration in {unit}: batteryloop keeps mass percent")
        else:
            entry["concentration_pct"] = r9(conc * factor)
    loc = c.text(h.get("location"), f"{p}.location")
    if loc:
        entry["location"] = loc
    if ident:
        if ident.get("type") == "CAS":
            cas = c.text(ident.get("id"), f"{p}.materialIdentification[0].id")
            if cas:
                entry["cas_number"] = cas
        else:
            c.report.unmap(f"{p}.materialIdentification[0]", ident, "batteryloop identifies substances by CAS number")
    for j, d in enumerate(h.get("impactOfSubstances") or []):
        if isinstance(d, Mapping) and d.get("header") == H_HAZARD:
            entry["hazard_class"] = c.text(d.get("content"), f"{p}.impactOfSubstances[{j}].content")
    c.append("model.hazardous_substances", entry, p)


def _read_performance(c: Collector, doc: Mapping[str, Any]) -> None:
    R = "performance.rated"
    num = lambda p, target, scale=1.0: (  # noqa: E731
        None if (v := c.number(path_get(doc, p), p, target)) is None else r9(v * scale))
    for src, target, scale in (
        (f"{R}.voltage.min", "model.min_voltage_v", 1.0), (f"{R}.voltage.max", "model.max_voltage_v", 1.0),
        (f"{R}.voltage.nominal", "model.nominal_voltage_v", 1.0),
        (f"{R}.roundTripEfficiency.initial", "model.initial_round_trip_efficiency_pct", 1.0),
        (f"{R}.roundTripEfficiency.50PercentLife", "model.round_trip_efficiency_at_50pct_cycle_life_pct", 1.0),
        (f"{R}.resistance.cell", "model.internal_resistance_cell_mohm", 1e3),
        (f"{R}.resistance.pack", "model.internal_resistance_pack_mohm", 1e3),
        (f"{R}.power.value", "model.original_power_capability_w", 1.0),
        (f"{R}.capacity.value", "model.rated_capacity_ah", 1.0),
        (f"{R}.capacity.thresholdExhaustion", "model.capacity_threshold_exhaustion_pct", 1.0),
        (f"{R}.temperature.lower", "model.idle_temperature_lower_c", 1.0),
        (f"{R}.temperature.upper", "model.idle_temperature_upper_c", 1.0),
        (f"{R}.energy.value", "model.rated_energy_kwh", 1.0),
        (f"{R}.lifetime.cycleLifeTesting.appliedDischargeRate", "model.cycle_life_c_rate", 1.0),
    ):
        c.put(target, num(src, target, scale), src)
    cycles = path_get(doc, f"{R}.lifetime.cycleLifeTesting.cycles")
    c.put("model.expected_lifetime_cycles", c.integer(cycles, f"{R}.lifetime.cycleLifeTesting.cycles",
                                                      "model.expected_lifetime_cycles"),
          f"{R}.lifetime.cycleLifeTesting.cycles")
    for p, d in _docs(doc, f"{R}.lifetime.report"):
        if d.get("header") == H_CYCLE_TEST or not c.has("model.cycle_life_test_reference"):
            c.put("model.cycle_life_test_reference", c.text(d.get("content"), f"{p}.content"), f"{p}.content")
    for key in ("module",):
        if path_get(doc, f"{R}.resistance.{key}") is not None:
            c.report.unmap(f"{R}.resistance.{key}", path_get(doc, f"{R}.resistance.{key}"), "no batteryloop field")
    for src in (f"{R}.power.at20SoC", f"{R}.power.at80SoC", f"{R}.selfDischargingRate", f"{R}.lifetime.expectedYears",
                f"{R}.roundTripEfficiency.depthOfDischarge", f"{R}.lifetime.cycleLifeTesting.temperature",
                f"{R}.lifetime.cycleLifeTesting.depthOfDischarge"):
        if path_get(doc, src) is not None and src not in c.skip:
            c.report.unmap(src, path_get(doc, src), "no batteryloop field")
    # dynamic → state of health and usage
    D = "performance.dynamic"
    val = lambda p: path_get(doc, f"{D}.{p}.value")  # noqa: E731

    def dput(src: str, target: str, transform: Any = None) -> None:
        full = f"{D}.{src}.value"
        if full in c.skip:
            return
        v = c.number(path_get(doc, full), full, target)
        if v is None:
            return
        c.put(target, r9(transform(v)) if transform else v, full)
        t = path_get(doc, f"{D}.{src}.time")
        if target.startswith("battery.state_of_health") and t and not c.has("battery.state_of_health.measured_at"):
            c.put("battery.state_of_health.measured_at", c.datetime(t, f"{D}.{src}.time"), f"{D}.{src}.time")

    dput("capacity.fade", "battery.state_of_health.soh_capacity_pct", lambda v: 100.0 - v)
    dput("capacity.capacity", "battery.state_of_health.remaining_capacity_ah")
    dput("energy.remaining", "battery.state_of_health.remaining_energy_kwh")
    dput("energy.soce", "battery.state_of_health.state_of_certified_energy_pct")
    dput("power.fade", "battery.state_of_health.remaining_power_capability_pct", lambda v: 100.0 - v)
    dput("roundTripEfficiency.remaining", "battery.state_of_health.remaining_round_trip_efficiency_pct")
    dput("resistance.increase.pack", "battery.state_of_health.ohmic_resistance_increase_pct")
    sdr = f"{D}.selfDischargingRate"
    if sdr not in c.skip:
        c.put("battery.state_of_health.self_discharge_pct_per_month", c.number(path_get(doc, sdr), sdr), sdr)
    dput("stateOfCharge", "battery.usage.state_of_charge_pct")
    dput("fullCycles", "battery.usage.full_equivalent_cycles")
    dput("capacity.throughput", "battery.usage.capacity_throughput_ah")
    dput("energy.throughput", "battery.usage.energy_throughput_kwh")
    for src in ("power.remaining", "roundTripEfficiency.fade", "resistance.increase.cell", "resistance.remaining.pack",
                "resistance.remaining.cell"):
        full = f"{D}.{src}.value"
        if val(src) is not None and full not in c.skip:
            c.report.unmap(full, val(src), "derived or without a batteryloop field")
    for p, d in _docs(doc, f"{D}.negativeEvents"):
        header = str(d.get("header", ""))
        try:
            body = json.loads(d.get("content", ""))
        except (ValueError, TypeError):
            body = None
        if header.startswith("negative event: ") and isinstance(body, Mapping):
            ev = {"kind": header.removeprefix("negative event: "), "occurred_at": body.get("occurred_at")}
            if body.get("description"):
                ev["description"] = body["description"]
            c.append("battery.usage.negative_events", ev, p)
        else:
            c.report.unmap(p, d, "a negative-event document without a date: batteryloop records dated events")
