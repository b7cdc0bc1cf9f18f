"""An Asset Administration Shell for a battery: the IDTA 02035 parts as submodels (basyx-python-sdk).

The shell holds one submodel per part of :data:`batteryloop.formats.idta.PARTS`, each with the SAMM
aspect URN as its semantic id, built from the SAMM payloads of :mod:`.idta` by one generic rule:

* object → SubmodelElementCollection; list of objects → SubmodelElementList of collections;
* list of texts/numbers → SubmodelElementList of Properties; ``[{"en": "…"}]`` → MultiLanguageProperty;
* ``{"value": uri, "contentType": …}`` → File; text/number/boolean → Property (xs:string/double/long/boolean).

Values the SAMM payload only holds as placeholders (the schema requires them, the passport does not
have them) become *empty* properties: AAS allows that, so the shell says "unknown" honestly. The model
identifier and name (no place in the IDTA parts) are the shell's ``specificAssetIds``
``manufacturerPartId`` and ``nameAtManufacturer``; the country of manufacture is ``manufacturingCountry``.

Written as AAS JSON (``application/json``) or an AASX package; both read back with basyx.
"""

from __future__ import annotations

import io
import json as _json
import re
import zipfile
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter import json as aas_json

from ..errors import InvalidData
from ..passport.identifiers import global_asset_id, part_id_short, shell_id, submodel_id  # noqa: F401 - re-exported
from . import idta
from ._io import decode
from .base import ExportResult, ImportResult, MappingReport, PassportParts

JSON_MEDIA_TYPE = "application/aas+json"
AASX_MEDIA_TYPE = "application/asset-administration-shell-package"
_ID_SHORT = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]*[a-zA-Z0-9_]+$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
#: AASX packages are refused before they are opened when they would inflate past these
AASX_MAX_BYTES = 50 * 2**20  # uncompressed, all parts together
AASX_MAX_RATIO = 100  # uncompressed : compressed, per part and overall (parts under 1 MiB exempt)
AASX_MAX_ENTRIES = 1_000
#: the name of the shell's AAS Extension that carries our fields IDTA 02035 has no place for (JSON
#: ``{"model": {…}, "battery": {…}}``), so that two batteryloop nodes exchange shells losslessly
EXTENSION_NAME = "batteryloop:fields-without-an-IDTA-place"
ASSET_IDS = {"manufacturerPartId": "model_id", "nameAtManufacturer": "model_name",
             "manufacturingCountry": "manufacture_country", "partInstanceId": "serial_number"}


def _ref(urn: str) -> model.ExternalReference:
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, urn),))


def _is_mlt(value: Any) -> bool:
    return (isinstance(value, list) and bool(value) and all(
        isinstance(x, Mapping) and len(x) == 1 and _LANG.match(next(iter(x))) and isinstance(next(iter(x.values())), str)
        for x in value))


def _is_file(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"value", "contentType"}


def _value_type(v: Any) -> type:
    if isinstance(v, bool):
        return model.datatypes.Boolean
    if isinstance(v, int):
        return model.datatypes.Long
    if isinstance(v, float):
        return model.datatypes.Double
    return model.datatypes.String


def _element(id_short: str | None, value: Any, path: str, empty: set[str]) -> model.SubmodelElement:
    if _is_file(value):
        v = None if f"{path}.value" in empty else value["value"]
        return model.File(id_short, content_type=value["contentType"], value=v)
    if _is_mlt(value):
        return model.MultiLanguageProperty(id_short, model.MultiLanguageTextType(
            {k: t for item in value for k, t in item.items()}))
    if isinstance(value, Mapping):
        return model.SubmodelElementCollection(
            id_short, [_element(k, v, f"{path}.{k}", empty) for k, v in value.items() if _ok(k)])
    if isinstance(value, list):
        items = [_element(None, v, f"{path}[{i}]", empty) for i, v in enumerate(value)]
        if not items:
            return model.SubmodelElementList(id_short, model.SubmodelElementCollection)
        first = items[0]
        kw: dict[str, Any] = {}
        if isinstance(first, model.Property):
            kw["value_type_list_element"] = first.value_type
            items = [model.Property(None, first.value_type, p.value) for p in items]  # one type per list
        return model.SubmodelElementList(id_short, type(first), items, **kw)
    vt = _value_type(value)
    return model.Property(id_short, vt, None if path in empty else value)


def _ok(key: str) -> bool:
    return bool(_ID_SHORT.match(key))


def _passport_id(parts: PassportParts) -> str:
    return parts.battery.get("passport_id") or parts.battery.get("serial_number") or "unnamed"


def part_payloads(parts: PassportParts, *, validate: bool = True
                  ) -> tuple[dict[str, Any], dict[str, set[str]], MappingReport]:
    """The SAMM payload of each IDTA part the reader's tiers give, the paths in each that hold only
    placeholders (written as empty values), and the mapping report."""
    payloads, empty_by_part, report, _ = _payloads(parts, validate=validate)
    return payloads, empty_by_part, report


def _payloads(parts: PassportParts, *, validate: bool = True
              ) -> tuple[dict[str, Any], dict[str, set[str]], MappingReport, dict[str, Any]]:
    """:func:`part_payloads` and the batteryloop extension: our fields neither the parts nor the shell's
    specific asset ids carry (placeholders need no list here: they are empty properties)."""
    res = idta.export(parts, validate=validate)
    report = res.report
    report.format = "aas"
    payloads = dict(res.payload)
    ext = payloads.pop(idta.EXTENSION_KEY, None) or {}
    on_shell = {f"{'model' if key.startswith('model') else 'battery'}.{key}" for key in ASSET_IDS.values()}
    on_shell.add("battery.model_id")
    ext = {part: {k: v for k, v in (ext.get(part) or {}).items() if f"{part}.{k}" not in on_shell}
           for part in ("model", "battery")}
    empty_by_part: dict[str, set[str]] = {}
    for p in report.placeholders:
        part, _, path = p["path"].partition(":")
        empty_by_part.setdefault(part, set()).add(path)
    return payloads, empty_by_part, report, ext


def template_version(part: str) -> model.AdministrativeInformation:
    """A submodel's version: the IDTA 02035 submodel template it follows (``…:1.0.1#…`` → version 1,
    revision 0), which does not change between exports of the same passport."""
    major, minor = idta.PARTS[part][1].split(":")[-1].split("#")[0].split(".")[:2]
    return model.AdministrativeInformation(version=major, revision=minor)


def build_submodel(passport_id: str, part: str, payload: Mapping[str, Any], empty: set[str]) -> model.Submodel:
    """The submodel of one IDTA part, with the SAMM aspect URN as its semantic id."""
    return model.Submodel(submodel_id(passport_id, part), id_short=part_id_short(part),
                          semantic_id=_ref(idta.PARTS[part][1]), administration=template_version(part),
                          submodel_element=[_element(k, v, k, empty) for k, v in payload.items() if _ok(k)])


def build_shell(parts: PassportParts, part_names: list[str]) -> model.AssetAdministrationShell:
    """The shell of a passport, referring to the submodels of ``part_names``; its asset is the pack."""
    b, m = parts.battery, parts.model
    pid = _passport_id(parts)
    specific = []
    for name, key in ASSET_IDS.items():
        value = m.get(key) if key.startswith("model") else b.get(key)
        if value:
            specific.append(model.SpecificAssetId(name, str(value)))
    # the pack's one global asset id (the registry's, SerialPart's and BOM's too); the passport id beside it
    specific.append(model.SpecificAssetId("batteryPassportId", pid))
    info = model.AssetInformation(model.AssetKind.INSTANCE, global_asset_id=global_asset_id(pid),
                                  specific_asset_id=specific)
    refs = {model.ModelReference((model.Key(model.KeyTypes.SUBMODEL, submodel_id(pid, part)),), model.Submodel)
            for part in part_names}
    return model.AssetAdministrationShell(info, shell_id(pid), id_short="BatteryPassport", submodel=refs)


def build_environment(parts: PassportParts, *, validate: bool = True
                      ) -> tuple[model.DictIdentifiableStore, str, MappingReport]:
    """The shell and its submodels in a basyx object store, the shell id, and the mapping report."""
    payloads, empty_by_part, report, ext = _payloads(parts, validate=validate)
    pid = _passport_id(parts)
    store: model.DictIdentifiableStore = model.DictIdentifiableStore()
    for part, payload in payloads.items():
        store.add(build_submodel(pid, part, payload, empty_by_part.get(part, set())))
    shell = build_shell(parts, list(payloads))
    if ext["model"] or ext["battery"]:
        shell.extension.add(model.Extension(EXTENSION_NAME, model.datatypes.String,
                                            _json.dumps(ext, sort_keys=True, separators=(",", ":"))))
    store.add(shell)
    return store, shell.id, report


def _stable(env: dict[str, Any]) -> dict[str, Any]:
    """An AAS JSON environment in a stable order: basyx keeps a shell's submodel references in a set (whose
    order changes from one process to the next), so the references and the submodels are put in the
    order of the IDTA parts (:data:`idta.PARTS`); the same passport then gives the same document."""
    rank = {part_id_short(p): i for i, p in enumerate(idta.PARTS)}
    suffix = {f":submodel:{p}": i for i, p in enumerate(idta.PARTS)}

    def ref_rank(ref: Mapping[str, Any]) -> tuple[int, str]:
        value = str((ref.get("keys") or [{}])[0].get("value", ""))
        return next((i for s, i in suffix.items() if value.endswith(s)), len(suffix)), value

    for shell in env.get("assetAdministrationShells") or []:
        if isinstance(shell.get("submodels"), list):
            shell["submodels"].sort(key=ref_rank)
    if isinstance(env.get("submodels"), list):
        env["submodels"].sort(key=lambda sm: (rank.get(sm.get("idShort"), len(rank)), str(sm.get("id"))))
    return env


def export_json(parts: PassportParts, *, validate: bool = True) -> ExportResult:
    store, _, report = build_environment(parts, validate=validate)
    buf = io.StringIO()
    aas_json.write_aas_json_file(buf, store)
    pid = (parts.battery.get("passport_id") or "passport").replace("/", "_")
    return ExportResult(_stable(_json.loads(buf.getvalue())), JSON_MEDIA_TYPE, report, f"{pid}.aas.json")


def export_aasx(parts: PassportParts, *, validate: bool = True) -> ExportResult:
    """The AASX package (JSON inside), byte for byte the same for the same passport: the environment in
    the stable order of :func:`_stable`, every part dated 1980-01-01 as basyx writes them."""
    store, shell_id, report = build_environment(parts, validate=validate)
    buf = io.BytesIO()
    files = aasx.DictSupplementaryFileContainer()
    with aasx.AASXWriter(buf) as writer:
        writer.write_aas(shell_id, store, files, write_json=True)
    pid = (parts.battery.get("passport_id") or "passport").replace("/", "_")
    return ExportResult(_stable_package(buf.getvalue()), AASX_MEDIA_TYPE, report, f"{pid}.aasx")


def _stable_package(data: bytes) -> bytes:
    """The package with each JSON part rewritten in the stable order (same parts, names, order and dates)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith(".json"):
                body = _json.dumps(_stable(_json.loads(body)), indent=None, ensure_ascii=False).encode()
            dst.writestr(info, body, compress_type=info.compress_type)
    return out.getvalue()


# ============================================================================ import
def _value(el: model.SubmodelElement) -> Any:
    if isinstance(el, model.File):
        return None if el.value is None else {"value": el.value, "contentType": el.content_type}
    if isinstance(el, model.MultiLanguageProperty):
        return [{k: v} for k, v in (el.value or {}).items()] or None
    if isinstance(el, model.SubmodelElementCollection):
        out = {e.id_short: v for e in el.value if (v := _value(e)) is not None}
        return out
    if isinstance(el, model.SubmodelElementList):
        return [v for e in el.value if (v := _value(e)) is not None]
    if isinstance(el, model.Property):
        v = el.value
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return float(v)
        return str(v) if not isinstance(v, str) else v
    return None


def read_store(store: model.DictIdentifiableStore) -> tuple[dict[str, Any], dict[str, Any]]:
    """SAMM payloads ``{part: payload}`` and shell facts (specific asset ids) from a basyx store."""
    by_urn = {urn: part for part, (_, urn) in idta.PARTS.items()}
    payloads: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    for obj in store:
        if isinstance(obj, model.Submodel) and obj.semantic_id is not None:
            urn = obj.semantic_id.key[0].value
            part = by_urn.get(urn)
            if part:
                payloads[part] = {e.id_short: v for e in obj.submodel_element if (v := _value(e)) is not None}
        elif isinstance(obj, model.AssetAdministrationShell):
            for sid in obj.asset_information.specific_asset_id:
                if sid.name in ASSET_IDS:
                    facts[ASSET_IDS[sid.name]] = sid.value
            for ext in obj.extension:
                if ext.name == EXTENSION_NAME and isinstance(ext.value, str):
                    try:
                        fields = _json.loads(ext.value)
                    except ValueError:
                        continue
                    if isinstance(fields, Mapping):
                        payloads[idta.EXTENSION_KEY] = {k: fields[k] for k in ("model", "battery") if k in fields}
    return payloads, facts


def _package_refusal(rule: str, message: str, value: Any = None) -> InvalidData:
    return InvalidData(f"AASX package refused: {message}", [{"field": "(package)", "rule": rule,
                       "message": f"(package): {message}", "value": value}])


def check_package(data: bytes) -> None:
    """Refuse a zip bomb or a part name escaping the package, from the zip's directory alone (nothing
    is inflated): entry count, total uncompressed size, compression ratio, ``..``/absolute/``\\`` names.
    Python's zip reader stops each part at its declared size, so the directory cannot understate it."""
    end = zipfile._EndRecData(io.BytesIO(data))  # the end record, read before the directory is loaded
    if end is not None and (end[zipfile._ECD_ENTRIES_TOTAL] > AASX_MAX_ENTRIES
                            or end[zipfile._ECD_SIZE] > AASX_MAX_ENTRIES * 2048):
        raise _package_refusal("aasx:entries", f"the package directory lists {end[zipfile._ECD_ENTRIES_TOTAL]} "
                               f"parts in {end[zipfile._ECD_SIZE]} bytes, more than the {AASX_MAX_ENTRIES} "
                               "parts allowed", end[zipfile._ECD_ENTRIES_TOTAL])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            entries = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise _package_refusal("aasx", f"not a readable zip: {exc}") from None
    if len(entries) > AASX_MAX_ENTRIES:
        raise _package_refusal("aasx:entries", f"{len(entries)} parts, more than the {AASX_MAX_ENTRIES} allowed",
                               len(entries))
    total = 0
    for e in entries:
        name = e.orig_filename
        plain = unquote(name)  # OPC part names are percent-encoded
        if "\\" in plain or plain.startswith("/") or ".." in plain.split("/") or re.match(r"^[A-Za-z]:", plain):
            raise _package_refusal("aasx:part_name", f"part name {name[:100]!r} leaves the package "
                                   "(.., an absolute path or a backslash)", name[:100])
        total += e.file_size
        if e.file_size > 2**20 and e.file_size > AASX_MAX_RATIO * max(e.compress_size, 1):
            ratio = e.file_size // max(e.compress_size, 1)
            raise _package_refusal("aasx:ratio", f"part {name[:100]!r} inflates {ratio}:1, more than "
                                   f"{AASX_MAX_RATIO}:1", name[:100])
    if total > AASX_MAX_BYTES:
        raise _package_refusal("aasx:size", f"the parts inflate to {total} bytes, more than "
                               f"{AASX_MAX_BYTES // 2**20} MiB", total)
    if total > 2**20 and total > AASX_MAX_RATIO * len(data):
        raise _package_refusal("aasx:ratio", f"the package inflates {total // max(len(data), 1)}:1, more than "
                               f"{AASX_MAX_RATIO}:1", total)


def _package_error(exc: Exception) -> str:
    """basyx's reason for refusing a package, in words: without the reader's object reprs (``<_io.BytesIO object
    at 0x…>``), and saying what an AASX package needs where the zip is no OPC package."""
    text = re.sub(r"<[\w.]+ object at 0x[0-9a-fA-F]+>", "the file", str(exc)).strip() or type(exc).__name__
    if "ECMA376" in text or "OPC" in text:
        return ("the zip is no Open Packaging Conventions (ECMA-376-2) package: an AASX package needs "
                "[Content_Types].xml, _rels/.rels and an aasx-origin part")
    if "aasx-origin" in text.lower() or "origin" in text.lower() and "relationship" in text.lower():
        return f"the package has no AASX origin part ({text[:200]})"
    return text[:300]


def _load_store(payload: Any) -> model.DictIdentifiableStore:
    if isinstance(payload, Mapping):
        text = _json.dumps(payload)
    elif isinstance(payload, bytes | bytearray) and bytes(payload[:2]) == b"PK":
        check_package(bytes(payload))
        store: model.DictIdentifiableStore = model.DictIdentifiableStore()
        try:
            with aasx.AASXReader(io.BytesIO(bytes(payload))) as reader:
                reader.read_into(store, aasx.DictSupplementaryFileContainer())
        except Exception as exc:  # basyx raises many kinds for broken packages
            why = _package_error(exc)
            raise InvalidData(f"not a readable AASX package: {why}", [{"field": "(package)", "rule": "aasx",
                              "message": f"(package): not a readable AASX package: {why}", "value": None}]) from None
        return store
    elif isinstance(payload, bytes | bytearray):
        text = decode(bytes(payload))
    elif isinstance(payload, str):
        text = payload.lstrip("\ufeff")
    else:
        raise InvalidData("AAS input must be JSON text, bytes or an AASX package",
                          [{"field": "(payload)", "rule": "type", "message": "(payload): unsupported input", "value": None}])
    try:
        return aas_json.read_aas_json_file(io.StringIO(text), failsafe=False)
    except Exception as exc:
        msg = str(exc).splitlines()[0][:300]
        raise InvalidData(f"not a valid AAS JSON environment: {msg}", [{"field": "(environment)", "rule": "aas_json",
                          "message": f"(environment): {msg}", "value": None}]) from None


def import_payload(payload: Any, *, lenient: bool = False, defaults: Mapping[str, Any] | None = None) -> ImportResult:
    """Read an AAS JSON environment or an AASX package (as bytes) into our parts."""
    store = _load_store(payload)
    payloads, facts = read_store(store)
    if not set(payloads) & set(idta.PARTS):
        raise InvalidData("the AAS holds no IDTA battery-passport submodel",
                          [{"field": "submodels", "rule": "aas:idta", "value": None,
                            "message": "submodels: none has an IDTA 02035 semantic id"}])
    merged = {**facts, **(defaults or {})}
    res = idta.import_payload(payloads, lenient=lenient, defaults=merged, check_schema=False)
    res.report.format = "aas"
    return res
