"""Catena-X part aspects of a battery passport: ``serial_part`` 4.0.0, ``single_level_bom_as_built``
3.0.0, ``traction_battery_code`` 2.0.0 and ``pcf`` 9.0.0 (PACT field names).

Source of the schemas: eclipse-tractusx/sldt-semantic-models (CC-BY-4.0), read in place
(:mod:`.schemas`). Every export is validated against its official schema (draft-04).

Identifiers. Catena-X wants UUIDs; a passport holds ISO/IEC 15459 identifiers. Every UUID here is a
UUIDv5 in the namespace :data:`batteryloop.formats.catenax.PASSPORT_NS`, so exports are stable:

* the pack (``catenaXId`` / ``globalAssetId``): ``uuid5(NS, "part:" + passport_id)``;
* a child lot of the traceability ledger: ``uuid5(NS, "lot:" + lot_id)``;
* a material of the model's composition: ``uuid5(NS, "material:" + model_id + "/" + location + "/" + name)``;
* the PCF: ``uuid5(NS, "pcf:" + model_id)`` (the footprint is declared per battery model).

What does not fit (also in docs/formats.md):

* ``serial_part``: the customer's name and part id are required; a passport does not know the
  customer, so the manufacturer's name and part id stand in (listed as placeholders). The site must be a
  BPNS; a free-text plant name is reported as unmapped.
* ``single_level_bom_as_built``: from the traceability ledger's as-built tree when one is given
  (:func:`as_built_children`); otherwise from the model's detailed composition (material lots, type
  level, supplier unknown: the pack manufacturer's BPNL stands in, reported). Suppliers must be BPNLs:
  a participant known by another scheme is named by its alias in the node's BPNL alias table
  (:mod:`.bpnl`), or ``bpnl_map`` for one export; without one the error names it and how to add it.
* ``traction_battery_code``: GB/T 34014-2017 codes are assigned by the Chinese registration system; we
  derive one deterministically (:func:`derive_tbc`) and report the parts we had to invent.
* ``pcf``: cradle-to-gate (raw material + production) goes to ``productionStage``, distribution to
  ``distributionStage``; PCF 9.0.0 has no end-of-life stage, so the end-of-life value, the four-stage
  split and the performance class travel in ``general[0].comment`` (a ``batteryloop:`` JSON line that
  :func:`read_pcf` reads back) and are listed as unmapped.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ..errors import InvalidData
from . import schemas
from ._convert import Placeholders, r9
from ._io import load_object
from .base import ExportResult, MappingReport, PassportParts
from .bpnl import BpnlAliases, node_aliases
from ..passport.identifiers import global_asset_id
from .catenax import BPNL_RE, PASSPORT_NS

SERIAL_PART_MEDIA = "application/vnd.catenax.serial-part.v4+json"
BOM_MEDIA = "application/vnd.catenax.single-level-bom-as-built.v3+json"
TBC_MEDIA = "application/vnd.catenax.traction-battery-code.v2+json"
PCF_MEDIA = "application/vnd.catenax.pcf.v9+json"
PCF_SPEC = "urn:io.catenax.pcf:datamodel:version:9.0.0"
PCF_COMMENT_PREFIX = "batteryloop: "
BPNS_RE = re.compile(r"^BPNS[a-zA-Z0-9]{12}$")
TBC_RE = re.compile(r"(^[A-Z0-9]{3}[PMC][A-GZ][A-Z0-9]{2}[A-Z0-9]{7}[1-9A-GH-NPR-Y][1-9A-C][0-9A-GH-NPR-Y][0-9]{7}$)"
                    r"|(^[A-Z0-9]{3}[PMC][A-GZ][A-Z0-9]{2}[1-9A-GH-NPR-Y][1-9A-C][0-9A-GH-NPR-Y][0-9]{7}R[PMC]$)")

#: ISO 3166-1 alpha-2 → (alpha-3, UN M49 sub-region as in the PCF schema's enumeration)
COUNTRIES: dict[str, tuple[str, str]] = {
    "AT": ("AUT", "Western Europe"), "BE": ("BEL", "Western Europe"), "BG": ("BGR", "Eastern Europe"),
    "HR": ("HRV", "Southern Europe"), "CY": ("CYP", "Western Asia"), "CZ": ("CZE", "Eastern Europe"),
    "DK": ("DNK", "Northern Europe"), "EE": ("EST", "Northern Europe"), "FI": ("FIN", "Northern Europe"),
    "FR": ("FRA", "Western Europe"), "DE": ("DEU", "Western Europe"), "GR": ("GRC", "Southern Europe"),
    "HU": ("HUN", "Eastern Europe"), "IE": ("IRL", "Northern Europe"), "IT": ("ITA", "Southern Europe"),
    "LV": ("LVA", "Northern Europe"), "LT": ("LTU", "Northern Europe"), "LU": ("LUX", "Western Europe"),
    "MT": ("MLT", "Southern Europe"), "NL": ("NLD", "Western Europe"), "PL": ("POL", "Eastern Europe"),
    "PT": ("PRT", "Southern Europe"), "RO": ("ROU", "Eastern Europe"), "SK": ("SVK", "Eastern Europe"),
    "SI": ("SVN", "Southern Europe"), "ES": ("ESP", "Southern Europe"), "SE": ("SWE", "Northern Europe"),
    "NO": ("NOR", "Northern Europe"), "IS": ("ISL", "Northern Europe"), "CH": ("CHE", "Western Europe"),
    "GB": ("GBR", "Northern Europe"), "RS": ("SRB", "Southern Europe"), "UA": ("UKR", "Eastern Europe"),
    "TR": ("TUR", "Western Asia"), "MA": ("MAR", "Northern Africa"), "CD": ("COD", "Sub-Saharan Africa"),
    "ZA": ("ZAF", "Sub-Saharan Africa"), "NG": ("NGA", "Sub-Saharan Africa"), "ZM": ("ZMB", "Sub-Saharan Africa"),
    "ZW": ("ZWE", "Sub-Saharan Africa"), "US": ("USA", "Northern America"), "CA": ("CAN", "Northern America"),
    "MX": ("MEX", "Latin America and the Caribbean"), "BR": ("BRA", "Latin America and the Caribbean"),
    "CL": ("CHL", "Latin America and the Caribbean"), "AR": ("ARG", "Latin America and the Caribbean"),
    "BO": ("BOL", "Latin America and the Caribbean"), "CN": ("CHN", "Eastern Asia"), "JP": ("JPN", "Eastern Asia"),
    "KR": ("KOR", "Eastern Asia"), "TW": ("TWN", "Eastern Asia"), "IN": ("IND", "Southern Asia"),
    "ID": ("IDN", "South-eastern Asia"), "PH": ("PHL", "South-eastern Asia"), "TH": ("THA", "South-eastern Asia"),
    "VN": ("VNM", "South-eastern Asia"), "MY": ("MYS", "South-eastern Asia"), "SG": ("SGP", "South-eastern Asia"),
    "AU": ("AUS", "Australia and New Zealand"), "NZ": ("NZL", "Australia and New Zealand"),
    "NC": ("NCL", "Melanesia"), "RU": ("RUS", "Eastern Europe"), "KZ": ("KAZ", "Central Asia"),
    "SA": ("SAU", "Western Asia"), "AE": ("ARE", "Western Asia"), "IL": ("ISR", "Western Asia"),
}

#: GB/T 34014-2017 battery-type letter (5th character) per our chemistry
TBC_BATTERY_TYPE = {"NiMH": "A", "LFP": "B", "LMFP": "B", "LMO": "C", "LCO": "D", "NMC111": "E", "NMC532": "E",
                    "NMC622": "E", "NMC811": "E", "NCA": "E", "LTO": "G"}
TBC_TYPE_CHEMISTRY = {"A": "nickel-metal hydride", "B": "lithium iron phosphate", "C": "lithium manganese oxide",
                      "D": "lithium cobalt oxide", "E": "ternary (NMC/NCA)", "F": "supercapacitor",
                      "G": "lithium titanate", "Z": "other"}
#: year codes (the VIN table of GB 16735 that GB/T 34014 refers to): 2010 = A … 2030 = Y, 2031 = 1 …
_YEAR_LETTERS = "ABCDEFGHJKLMNPRSTVWXY123456789"
_DAY_CODES = "123456789ABCDEFGHJKLMNPRSTUVWXY"  # day 1..31: the schema's [0-9A-GH-NPR-Y] without 0
_MONTH_CODES = "123456789ABC"
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# ============================================================================ identifiers
def part_uuid(passport_id: str) -> str:
    """The Catena-X id of the pack (serial part ``globalAssetId``, BOM ``catenaXId``): its one global asset id
    (:func:`batteryloop.passport.identifiers.global_asset_id`)."""
    return global_asset_id(passport_id)


def lot_uuid(lot_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(PASSPORT_NS, 'lot:' + lot_id)}"


def material_uuid(model_id: str, location: str, material: str) -> str:
    return f"urn:uuid:{uuid.uuid5(PASSPORT_NS, f'material:{model_id}/{location}/{material}')}"


def pcf_uuid(model_id: str) -> str:
    return str(uuid.uuid5(PASSPORT_NS, "pcf:" + model_id))


def _passport_id(parts: PassportParts) -> str:
    b = parts.battery
    pid = b.get("passport_id")
    if pid:
        return str(pid)
    if b.get("economic_operator_id") and b.get("serial_number"):
        return f"{b['economic_operator_id']}.{b['serial_number']}"
    raise InvalidData("battery.passport_id: a Catena-X part export needs the passport id or the economic operator "
                      "and serial number to derive a stable UUID", [{
                          "field": "battery.passport_id", "rule": "required", "value": None,
                          "message": "battery.passport_id: required to derive the Catena-X id (UUIDv5)"}])


def _validated(key: str, payload: dict[str, Any], report: MappingReport, validate: bool) -> None:
    if not validate:
        return
    errs = schemas.validate(key, payload)
    if errs:
        report.schema_errors.extend(errs)
        raise InvalidData(f"the {key} export does not validate against its official schema: {errs[0]['message']}",
                          errs)


def _partner(table: BpnlAliases, value: str | None, path: str, report: MappingReport) -> str:
    """The BPNL naming participant ``value``: itself, or its alias in the node's table (reported)."""
    bpnl = table.resolve(value, path)
    if bpnl != value:
        report.unmap(path, value, f"Catena-X names business partners by BPNL: written as its BPNL alias {bpnl} "
                     "(the node's BPNL alias table)")
    return bpnl


def _country3(code: str | None) -> str | None:
    return COUNTRIES.get((code or "").upper(), (None, None))[0]


# ============================================================================ serial_part 4.0.0
def export_serial_part(parts: PassportParts, *, validate: bool = True, **_: Any) -> ExportResult:
    """The pack as a Catena-X serialized part."""
    report = MappingReport("catenax-serial-part")
    ph = Placeholders(parts, report)
    m, b = parts.model, parts.battery
    pid = _passport_id(parts)
    serial = b.get("serial_number")
    if not serial:
        raise InvalidData("battery.serial_number: required for partInstanceId", [{
            "field": "battery.serial_number", "rule": "required", "value": None,
            "message": "battery.serial_number: required (serial_part.localIdentifiers partInstanceId)"}])
    local = [{"key": "partInstanceId", "value": serial}]
    if m.get("manufacturer_id"):
        local.append({"key": "manufacturerId", "value": m["manufacturer_id"]})
        if not BPNL_RE.match(m["manufacturer_id"]):
            report.unmap("model.manufacturer_id", m["manufacturer_id"],
                         "Catena-X expects the manufacturer's BPN here; written as given")
    name = m.get("model_name") or ph.text("partTypeInformation.nameAtManufacturer", "model.model_name")
    mpid = m.get("model_id") or b.get("model_id")
    classification = [{"standard": "Regulation (EU) 2023/1542 battery category",
                       "id": m.get("category") or ph.text("partTypeInformation.partClassification[0].id",
                                                          "model.category"),
                       "description": "EU Battery Regulation category (ev, lmt, industrial, sli, portable)"}]
    if m.get("chemistry"):
        classification.append({"standard": "batteryloop chemistry", "id": m["chemistry"]})
    pti = {"nameAtManufacturer": name, "manufacturerPartId": mpid, "nameAtCustomer": name,
           "customerPartId": mpid, "partClassification": classification}
    for path, what in (("nameAtCustomer", "name"), ("customerPartId", "part id")):
        report.placeholder(f"partTypeInformation.{path}", f"not declared (the passport does not know the customer; "
                                                          f"the manufacturer's {what} stands in)")
    if not b.get("manufacture_date"):
        raise InvalidData("battery.manufacture_date: required for manufacturingInformation.productionDate", [{
            "field": "battery.manufacture_date", "rule": "required", "value": None,
            "message": "battery.manufacture_date: required (serial_part productionDate)"}])
    mi: dict[str, Any] = {"productionDate": str(b["manufacture_date"])[:10]}
    c3 = _country3(b.get("manufacture_country"))
    if c3:
        mi["country"] = c3
    elif b.get("manufacture_country"):
        report.unmap("battery.manufacture_country", b["manufacture_country"],
                     "no alpha-3 code known to batteryloop for this country")
    site = b.get("manufacture_site")
    if site and BPNS_RE.match(site):
        mi["sites"] = [{"siteId": site, "function": "production"}]
    elif site:
        report.unmap("battery.manufacture_site", site, "serial_part sites are BPNS identifiers; a plant name has no place")
    payload = {"globalAssetId": part_uuid(pid), "localIdentifiers": local, "manufacturingInformation": mi,
               "partTypeInformation": pti}
    for key in ("economic_operator_id", "status", "state_of_health", "usage", "putting_into_service_date"):
        if b.get(key) not in (None, [], {}):
            report.unmap(f"battery.{key}", b[key], "no place in serial_part 4.0.0 (see the battery_pass export)")
    _validated("catenax.serial_part", payload, report, validate)
    return ExportResult(payload, SERIAL_PART_MEDIA, report, f"{serial}.serial_part.json")


def read_serial_part(payload: Any) -> dict[str, Any]:
    """Our battery fields in a serial_part payload (serial, manufacturer, date, country alpha-2, model)."""
    doc = load_object(payload, "serial_part")
    errs = schemas.validate("catenax.serial_part", doc)
    if errs:
        raise InvalidData(f"invalid serial_part payload: {errs[0]['message']}", errs)
    local = {d["key"]: d["value"] for d in doc["localIdentifiers"]}
    out: dict[str, Any] = {"catenax_id": doc["globalAssetId"]}
    if "partInstanceId" in local:
        out["serial_number"] = local["partInstanceId"]
    if "manufacturerId" in local:
        out["manufacturer_id"] = local["manufacturerId"]
    mi = doc["manufacturingInformation"]
    try:
        out["manufacture_date"] = date.fromisoformat(mi["productionDate"][:10]).isoformat()
    except ValueError:
        msg = f"manufacturingInformation.productionDate: {mi['productionDate']!r} is not a calendar date"
        raise InvalidData(msg, [{"field": "manufacturingInformation.productionDate", "rule": "date",
                                 "message": msg, "value": mi["productionDate"]}]) from None
    back = {a3: a2 for a2, (a3, _) in COUNTRIES.items()}
    if mi.get("country") in back:
        out["manufacture_country"] = back[mi["country"]]
    pti = doc["partTypeInformation"]
    if pti.get("manufacturerPartId"):
        out["model_id"] = pti["manufacturerPartId"]
    if pti.get("nameAtManufacturer"):
        out["model_name"] = pti["nameAtManufacturer"]
    return out


# ============================================================================ single_level_bom_as_built 3.0.0
def as_built_children(store: Any, pack_id: str) -> list[dict[str, Any]]:
    """The pack's direct inputs in the traceability ledger (``trace_lot_edges`` → ``trace_lots``).

    Each child: ``{id, kind, producer, mass_kg, produced_at, model_id}``, plus the pack's own
    ``produced_at`` as ``assembled_at``. Empty when the ledger does not know the pack.
    """
    from ..store import bom

    with store.read() as conn:
        assembled_at = bom.produced_at(conn, pack_id)
        if assembled_at is None:
            return []
        rows = bom.direct_inputs(conn, pack_id)
    return [{**r, "assembled_at": assembled_at} for r in rows]


def _ts(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    text = str(value)
    if len(text) == 10:
        return text
    return text.replace("+00:00", "Z")


def export_bom(parts: PassportParts, *, validate: bool = True, as_built: Sequence[Mapping[str, Any]] | None = None,
               bpnl_map: Mapping[str, str] | None = None, aliases: BpnlAliases | None = None,
               **_: Any) -> ExportResult:
    """The pack's children, one tier down: the ledger's as-built inputs, else the model's composition.

    Suppliers are named by BPNL: a participant known by another scheme (a Korean business number, an
    Ouranos operator id) is named by its alias in ``aliases`` (default: the node's table,
    :func:`~.bpnl.node_aliases`), with ``bpnl_map`` added on top for this export; a participant without
    one is :class:`InvalidData` naming it and saying how to add its alias.
    """
    report = MappingReport("catenax-bom-as-built")
    table = (aliases if aliases is not None else node_aliases()).merged(bpnl_map)
    m, b = parts.model, parts.battery
    pid = _passport_id(parts)
    children: list[dict[str, Any]] = []
    if as_built:
        for i, c in enumerate(as_built):
            when = _ts(c.get("assembled_at") or c.get("produced_at") or b.get("manufacture_date"))
            mass = c.get("mass_kg")
            if c.get("kind") in ("module", "cell", "pack") or mass is None:
                qty = {"value": 1.0, "unit": "unit:piece"}
            else:
                qty = {"value": r9(float(mass)), "unit": "unit:kilogram"}
            children.append({"catenaXId": lot_uuid(str(c["id"])), "quantity": qty, "hasAlternatives": False,
                             "businessPartner": _partner(table, c.get("producer"), f"as_built[{i}].producer", report),
                             "createdOn": when, "lastModifiedOn": when})
        report.unmap("battery.as_built", f"{len(children)} children",
                     "from the traceability ledger's as-built tree (trace_lot_edges); lot ids travel only as UUIDv5")
    else:
        report.unmap("battery.as_built", None, "no as-built tree given (traceability ledger): the children are the "
                     "model's detailed composition (type-level material entries, not serialised parts)")
        comp = m.get("detailed_composition") or {}
        if not comp:
            report.unmap("model.detailed_composition", None,
                         "not in the passport or withheld by the reader's tiers: the BOM has no children")
        partner = _partner(table, m.get("manufacturer_id"), "model.manufacturer_id", report) if comp else None
        when = _ts(b.get("manufacture_date") or parts.now.date())
        for loc in ("cathode", "anode", "electrolyte", "other"):
            for j, share in enumerate(comp.get(loc) or []):
                path = f"model.detailed_composition.{loc}[{j}]"
                mass = share.get("mass_kg")
                if not mass:  # a mass fraction is a share of its component (cathode…), not of the pack
                    report.unmap(path, share.get("material"), "no mass in kg (a mass fraction of its component "
                                 "is no pack quantity): not a BOM child")
                    continue
                children.append({"catenaXId": material_uuid(str(m.get("model_id")), loc, share["material"]),
                                 "quantity": {"value": r9(float(mass)), "unit": "unit:kilogram"},
                                 "hasAlternatives": False, "businessPartner": partner,
                                 "createdOn": when, "lastModifiedOn": when})
                report.placeholder(f"childItems[{len(children) - 1}].businessPartner",
                                   "not declared (supplier of the material unknown; the pack manufacturer's BPNL "
                                   "stands in)")
    payload = {"catenaXId": part_uuid(pid), "childItems": children}
    _validated("catenax.single_level_bom_as_built", payload, report, validate)
    return ExportResult(payload, BOM_MEDIA, report, f"{b.get('serial_number', 'pack')}.single_level_bom_as_built.json")


# ============================================================================ traction_battery_code 2.0.0
def _code(text: str, n: int) -> str:
    """``n`` base-36 characters derived from ``text`` (SHA-256): stable stand-ins for assigned codes."""
    x = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    out = ""
    for _ in range(n):
        x, r = divmod(x, 36)
        out += _B36[r]
    return out


def year_code(year: int) -> str:
    i = (year - 2010) % 30
    return _YEAR_LETTERS[i]


def derive_tbc(*, manufacturer: str, model_id: str, chemistry: str | None, manufacture_date: date | str,
               serial: str, product_type: str = "P", manufacturer_code: str | None = None,
               report: MappingReport | None = None) -> str:
    """A 24-character GB/T 34014-2017 code: manufacturer (3), product type P/M/C (1), battery type (1),
    specification (2), traceability information (7), year, month, day (1 each), serial (7 digits).

    Manufacturer, specification and traceability codes are assigned in China; when not given they are
    derived from the manufacturer id and model id (SHA-256, base 36) and the report says so. The serial is
    the last 7 digits of ours (or, when it has none, 7 digits derived from it).
    """
    d = manufacture_date if isinstance(manufacture_date, date) else date.fromisoformat(str(manufacture_date)[:10])
    if manufacturer_code is None:
        manufacturer_code = _code("mfr:" + manufacturer, 3)
        if report:
            report.placeholder("tractionBatteryCode[0:3]", f"not declared (manufacturer code assigned in China; "
                               f"derived from {manufacturer!r})")
    if not re.fullmatch(r"[A-Z0-9]{3}", manufacturer_code):
        raise InvalidData("manufacturer_code: three capital letters or digits", [{
            "field": "manufacturer_code", "rule": "pattern", "value": manufacturer_code,
            "message": f"manufacturer_code: {manufacturer_code!r} is not 3 of [A-Z0-9] (GB/T 34014-2017)"}])
    btype = TBC_BATTERY_TYPE.get(chemistry or "", "Z")
    spec = _code("spec:" + model_id, 2)
    trace = _code("trace:" + model_id + "/" + manufacturer, 7)
    if report:
        report.placeholder("tractionBatteryCode[5:7]", f"not declared (specification code; derived from model {model_id!r})")
        report.placeholder("tractionBatteryCode[7:14]", "not declared (traceability information code; derived)")
    digits = re.sub(r"\D", "", serial)
    if digits:
        sn = digits[-7:].rjust(7, "0")
        if report and len(digits) > 7:
            report.unmap("battery.serial_number", serial, "only the last 7 digits fit the traction battery code")
    else:
        sn = str(int.from_bytes(hashlib.sha256(serial.encode()).digest()[:4], "big") % 10_000_000).rjust(7, "0")
        if report:
            report.unmap("battery.serial_number", serial, "has no digits: the code's serial is derived (SHA-256)")
    code = (manufacturer_code + product_type + btype + spec + trace + year_code(d.year)
            + _MONTH_CODES[d.month - 1] + _DAY_CODES[d.day - 1] + sn)
    assert TBC_RE.match(code), code
    return code


def parse_tbc(code: str) -> dict[str, Any]:
    """The parts of a traction battery code (24 or 18 characters); ``InvalidData`` when it is not one."""
    if not isinstance(code, str) or not TBC_RE.match(code):
        msg = f"tractionBatteryCode: {code!r} is not a GB/T 34014-2017 code (24 or 18 characters, schema pattern)"
        raise InvalidData(msg, [{"field": "tractionBatteryCode", "rule": "pattern", "message": msg, "value": code}])
    long = len(code) == 24
    ymd = code[14:17] if long else code[7:10]
    out = {"manufacturer_code": code[:3], "product_type": {"P": "pack", "M": "module", "C": "cell"}[code[3]],
           "battery_type": TBC_TYPE_CHEMISTRY[code[4]], "specification_code": code[5:7],
           "traceability_code": code[7:14] if long else None, "serial": code[17:24] if long else code[10:17],
           "recycled_marker": None if long else code[17:]}
    yi = _YEAR_LETTERS.find(ymd[0])
    out["year_candidates"] = [2010 + yi + 30 * k for k in range(2)] if yi >= 0 else []
    out["month"] = _MONTH_CODES.find(ymd[1]) + 1
    day = _DAY_CODES.find(ymd[2]) + 1
    if day == 0:
        msg = f"tractionBatteryCode: day code {ymd[2]!r} is not a day of the month"
        raise InvalidData(msg, [{"field": "tractionBatteryCode", "rule": "tbc:day", "message": msg, "value": code}])
    out["day"] = day
    return out


def export_tbc(parts: PassportParts, *, validate: bool = True, manufacturer_code: str | None = None,
               as_built: Sequence[Mapping[str, Any]] | None = None, **_: Any) -> ExportResult:
    report = MappingReport("catenax-traction-battery-code")
    m, b = parts.model, parts.battery
    for need in ("serial_number", "manufacture_date"):
        if not b.get(need):
            msg = f"battery.{need}: required to derive the traction battery code"
            raise InvalidData(msg, [{"field": f"battery.{need}", "rule": "required", "message": msg, "value": None}])
    mfr = str(m.get("manufacturer_id") or b.get("economic_operator_id") or "")
    model_id = str(m.get("model_id") or b.get("model_id") or "")
    code = derive_tbc(manufacturer=mfr, model_id=model_id, chemistry=m.get("chemistry"),
                      manufacture_date=b["manufacture_date"], serial=b["serial_number"],
                      manufacturer_code=manufacturer_code, report=report)
    payload: dict[str, Any] = {"productType": "pack", "tractionBatteryCode": code}
    subs = []
    for c in as_built or []:
        kind = c.get("kind")
        if kind not in ("module", "cell"):
            continue
        when = str(c.get("produced_at") or b["manufacture_date"])[:10]
        subs.append({"productType": kind, "tractionBatteryCode": derive_tbc(
            manufacturer=str(c.get("producer") or mfr), model_id=str(c.get("model_id") or model_id),
            chemistry=m.get("chemistry"), manufacture_date=when, serial=str(c["id"]),
            product_type="M" if kind == "module" else "C")})
    if subs:
        payload["subcomponents"] = subs
    else:
        report.unmap("subcomponents", None, "module and cell codes: no as-built tree given (the schema asks a pack "
                     "to list its modules)")
    _validated("catenax.traction_battery_code", payload, report, validate)
    return ExportResult(payload, TBC_MEDIA, report, f"{b['serial_number']}.traction_battery_code.json")


def read_tbc(payload: Any) -> dict[str, Any]:
    """A traction_battery_code payload, checked beyond its schema: every code decodes (:func:`parse_tbc`), its
    product-type letter agrees with ``productType``, and no subcomponent is the part itself.
    ``{"code", "product_type", "parts": parse_tbc(code), "subcomponents": [...]}``; ``InvalidData`` otherwise."""
    doc = load_object(payload, "traction_battery_code")
    errs = schemas.validate("catenax.traction_battery_code", doc)
    if errs:
        raise InvalidData(f"invalid traction_battery_code payload: {errs[0]['message']}", errs)
    errors: list[dict[str, Any]] = []

    def one(item: Mapping[str, Any], path: str) -> dict[str, Any] | None:
        code = item["tractionBatteryCode"]
        try:
            info = parse_tbc(code)
        except InvalidData as exc:
            errors.extend({**e, "field": f"{path}.tractionBatteryCode",
                           "message": f"{path}.{e['message']}"} for e in exc.errors)
            return None
        if info["product_type"] != item["productType"]:
            msg = (f"{path}.productType: {item['productType']!r} but the code's 4th character "
                   f"{code[3]!r} (GB/T 34014-2017) says {info['product_type']!r}")
            errors.append({"field": f"{path}.productType", "rule": "tbc:product_type", "message": msg,
                           "value": item["productType"]})
        return {"code": code, "product_type": item["productType"], "parts": info}

    out = one(doc, "(root)") or {"code": doc["tractionBatteryCode"], "product_type": doc["productType"]}
    subs = []
    for i, sub in enumerate(doc.get("subcomponents") or []):
        path = f"subcomponents[{i}]"
        if sub["tractionBatteryCode"] == doc["tractionBatteryCode"]:
            msg = f"{path}.tractionBatteryCode: {sub['tractionBatteryCode']!r} is the part's own code: a part is no subcomponent of itself"
            errors.append({"field": f"{path}.tractionBatteryCode", "rule": "tbc:self_reference", "message": msg,
                           "value": sub["tractionBatteryCode"]})
        got = one(sub, path)
        if got:
            subs.append(got)
    if errors:
        raise InvalidData(f"invalid traction_battery_code payload: {errors[0]['message']}", errors)
    out["subcomponents"] = subs
    return out


# ============================================================================ pcf 9.0.0
def _footprint_fields(parts: PassportParts, footprint: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(our carbon_footprint fields, functional-unit info) from a CarbonFootprintResult or the passport."""
    if footprint is not None:
        fields = footprint.to_passport_fields() if hasattr(footprint, "to_passport_fields") else dict(footprint)
        fu = getattr(footprint, "functional_unit", None)
        info = {"total_energy_kwh": fu.total_energy_kwh, "lines": len(footprint.lines),
                "notes": list(footprint.notes)} if fu is not None else {}
        return fields, info
    cf = parts.model.get("carbon_footprint")
    if not cf:
        msg = "model.carbon_footprint: the passport declares no carbon footprint (give footprint= a computed one)"
        raise InvalidData(msg, [{"field": "model.carbon_footprint", "rule": "required", "message": msg, "value": None}])
    return dict(cf), {}


def export_pcf(parts: PassportParts, *, validate: bool = True, footprint: Any = None, **_: Any) -> ExportResult:
    """The model's carbon footprint as a Catena-X PCF 9.0.0 (PACT field names), per kWh of lifetime energy."""
    report = MappingReport("catenax-pcf")
    m, b = parts.model, parts.battery
    cf, info = _footprint_fields(parts, footprint)
    model_id = str(m.get("model_id") or b.get("model_id") or "")
    total = float(cf["total_kgco2e_per_kwh"])
    raw, prod = cf.get("raw_material_kgco2e_per_kwh"), cf.get("main_production_kgco2e_per_kwh")
    dist, eol = cf.get("distribution_kgco2e_per_kwh"), cf.get("end_of_life_kgco2e_per_kwh")
    if raw is not None and prod is not None:
        gate = raw + prod
    else:  # only the total: the cradle-to-gate part is the total less the stages we do know
        gate = total - (dist or 0.0) - (eol or 0.0)
        report.unmap("model.carbon_footprint", cf, "stages not all declared: productionStage = total − distribution − end of life")
    mass = m.get("mass_kg")
    if info.get("total_energy_kwh") and mass:
        mass_per_unit = r9(float(mass) / info["total_energy_kwh"])
    else:
        mass_per_unit = 0.0
        report.placeholder("companyAndProductInformation[0].productInformation[0].productMassPerDeclaredUnit",
                           "not declared (lifetime energy of the functional unit unknown to the passport; "
                           "give footprint= a computed CarbonFootprintResult)")
    mfr = m.get("manufacturer_id") or ""
    company_id = f"urn:bpn:{mfr}" if BPNL_RE.match(mfr) else f"urn:batteryloop:participant:{mfr}"
    country = b.get("manufacture_country") or (getattr(footprint, "manufacturing_country", None) if footprint else None)
    region = COUNTRIES.get((country or "").upper(), (None, None))[1]
    geo: dict[str, Any] = {"geographyRegionOrSubregion": region or "Global"}
    if country:
        geo["geographyCountry"] = country.upper()
    if not region:
        report.placeholder("…geography[0].geographyRegionOrSubregion",
                           f"not declared (no UN M49 sub-region known for {country!r}; 'Global' written)")
    year = int(str(b.get("manufacture_date") or parts.now.date())[:4])
    created = parts.now.isoformat().replace("+00:00", "Z")
    for path in ("time[0].referencePeriodStart", "time[0].referencePeriodEnd", "time[0].validityPeriodEnd"):
        report.placeholder(f"pcfAssessmentAndMethodology[0].pcfAssessmentInformation[0].{path}",
                           "not declared (the passport holds no reference period: the year of manufacture, valid 5 years)")
    ours = {k: cf.get(k) for k in ("total_kgco2e_per_kwh", "raw_material_kgco2e_per_kwh",
                                   "main_production_kgco2e_per_kwh", "distribution_kgco2e_per_kwh",
                                   "end_of_life_kgco2e_per_kwh", "performance_class", "study_url")
            if cf.get(k) is not None}
    for k in ("end_of_life_kgco2e_per_kwh", "performance_class", "study_url"):
        if k in ours:
            report.unmap(f"model.carbon_footprint.{k}", ours[k], "no place in PCF 9.0.0 (cradle-to-gate + distribution); "
                         "carried in general[0].comment")
    production = {"pcfExcludingBiogenicUptake": r9(max(gate, 0.0)), "pcfIncludingBiogenicUptake": r9(gate),
                  "fossilGhgEmissions": r9(max(gate, 0.0))}
    distribution: dict[str, Any] = {"distributionStageIncluded": dist is not None}
    if dist is not None:
        distribution.update({"distributionStagePcfExcludingBiogenicUptake": r9(dist),
                             "distributionStagePcfIncludingBiogenicUptake": r9(dist),
                             "distributionStageFossilGhgEmissions": r9(dist)})
    payload = {
        "scopeOfPcfForm": [{"specVersion": PCF_SPEC, "partialFullPcf": "Cradle-to-gate"}],
        "companyAndProductInformation": [{
            "companyInformation": [{"companyName": m.get("manufacturer_name") or "not declared",
                                    "companyIds": [company_id]}],
            "productInformation": [{
                "productNameCompany": m.get("model_name") or model_id,
                "productIds": [f"urn:batteryloop:model:{model_id}"],
                "declaredUnitOfMeasurement": "kilowatt hour", "declaredUnitAmount": 1.0,
                "productMassPerDeclaredUnit": mass_per_unit,
                "productDescription": (f"{m.get('model_name', model_id)}: traction battery; declared per kWh of total "
                                       "energy delivered over the service life (Regulation (EU) 2023/1542 Annex II)"),
            }]}],
        "pcfAssessmentAndMethodology": [{
            "dataSourcesAndQuality": [{"secondaryEmissionFactorSources": ["GREET 2023", "EverBatt 2023", "IPCC"]}]
            if info else [{}],
            "pcfMethodology": [{
                "standards": [{"crossSectoralStandards": ["ISO 14067"],
                               "productOrSectorSpecificRules": ["Regulation (EU) 2023/1542 Annex II"]}],
                "gwpCharacterizationFactorDetails": [{"ipccCharacterizationFactors": "unspecified"}],
                "massBalancingInformation": [{"massBalancingUsed": False,
                                              "freeAttributionInMassBalancing": "not applicable",
                                              "massBalancingCertificateScheme": "none"}],
                "allocationInForeground": [{"allocationWasteIncineration": "cut-off"}],
            }],
            "pcfAssessmentInformation": [{
                "technology": [{"ccsTechnologicalCO2CaptureIncluded": False}],
                "idAndVersion": [{"id": pcf_uuid(model_id), "version": 0, "status": "Active",
                                  "retroOrProspectivePcfType": "Retrospective PCF"}],
                "boundarySpecifications": [{"exemptedEmissionsPercent": 0}],
                "geography": [geo],
                "time": [{"referencePeriodStart": f"{year}-01-01T00:00:00Z",
                          "referencePeriodEnd": f"{year}-12-31T23:59:59Z", "created": created,
                          "validityPeriodEnd": f"{year + 5}-12-31T23:59:59Z"}],
            }],
        }],
        "general": [{"pcfLegalStatement": "Carbon footprint declared under Regulation (EU) 2023/1542 Art. 7, "
                                          "in kg CO2e per kWh of total lifetime energy; use stage excluded.",
                     "comment": PCF_COMMENT_PREFIX + json.dumps({"carbon_footprint": ours}, sort_keys=True)}],
        "carbonContent": [{}],
        "productLifeCycleStagesAndEmissions": [{
            "productionStage": [production], "distributionStage": [distribution],
            "packagingStage": [{"packagingEmissionsIncluded": False}]}],
    }
    for path, why in (("gwpCharacterizationFactorDetails", "IPCC assessment report of the factors not in the passport"),
                      ("allocationInForeground.allocationWasteIncineration", "not in the passport; 'cut-off' written"),
                      ("massBalancingInformation", "the passport's recycled-content allocation rule is not a PCF "
                                                   "mass balance; 'not used' written")):
        report.placeholder(f"pcfAssessmentAndMethodology[0].pcfMethodology[0].{path}", f"not declared ({why})")
    _validated("catenax.pcf", payload, report, validate)
    return ExportResult(payload, PCF_MEDIA, report, f"{model_id}.pcf.json")


def read_pcf(payload: Any) -> dict[str, Any]:
    """Our ``carbon_footprint`` fields from a PCF 9.0.0 payload.

    A batteryloop export carries them losslessly in ``general[0].comment``; any other PCF gives the
    total as production + distribution (per its declared unit, which must be ``kilowatt hour``) and
    the distribution stage.
    """
    doc = load_object(payload, "pcf")
    errs = schemas.validate("catenax.pcf", doc)
    if errs:
        raise InvalidData(f"invalid pcf payload: {errs[0]['message']}", errs)
    for g in doc.get("general") or []:
        c = g.get("comment") or ""
        if c.startswith(PCF_COMMENT_PREFIX):
            try:
                return dict(json.loads(c[len(PCF_COMMENT_PREFIX):])["carbon_footprint"])
            except (ValueError, KeyError, TypeError):
                msg = "general[].comment: a 'batteryloop:' comment that is not the JSON batteryloop writes"
                raise InvalidData(msg, [{"field": "general[].comment", "rule": "json", "message": msg,
                                         "value": c[:200]}]) from None
    unit = doc["companyAndProductInformation"][0]["productInformation"][0]["declaredUnitOfMeasurement"]
    if unit != "kilowatt hour":
        msg = (f"companyAndProductInformation[0].productInformation[0].declaredUnitOfMeasurement: {unit!r}; "
               "the passport declares kg CO2e per kWh, so only a PCF per 'kilowatt hour' maps")
        raise InvalidData(msg, [{"field": "…declaredUnitOfMeasurement", "rule": "pcf:unit", "message": msg,
                                 "value": unit}])
    amount = doc["companyAndProductInformation"][0]["productInformation"][0]["declaredUnitAmount"]
    stages = doc["productLifeCycleStagesAndEmissions"][0]
    prod = stages["productionStage"][0]["pcfExcludingBiogenicUptake"] / amount
    dist_e = stages["distributionStage"][0]
    dist = dist_e.get("distributionStagePcfExcludingBiogenicUptake") if dist_e.get("distributionStageIncluded") else None
    out: dict[str, Any] = {"total_kgco2e_per_kwh": r9(prod + (dist or 0.0) / amount)}
    if dist is not None:
        out["distribution_kgco2e_per_kwh"] = r9(dist / amount)
    return out

