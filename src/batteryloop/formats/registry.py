"""The registry of wire-format adapters: one interface, one module per standard.

A new standard is a new module that builds a :class:`Adapter` and calls :func:`register`; the CLI, the
API and the data-space transfers look formats up here by name (or by :func:`detect` for ``auto``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidData
from ..passport.model import BatteryData, BatteryModelData
from ..passport.tiers import ALL_TIERS, Tier
from ..registry import Registry
from . import aas, batterypass, catenax, catenax_parts, idta
from ._io import load_json
from .base import ExportResult, ImportResult, PassportParts
from .bpnl import BpnlAliases, node_aliases


@dataclass(frozen=True)
class Adapter:
    """One wire format: its name, media type, and export/import/detect functions."""

    name: str
    title: str
    media_type: str
    exporter: Callable[..., ExportResult]
    importer: Callable[..., ImportResult] | None
    detector: Callable[[Any], bool] | None = None
    binary: bool = False

    @property
    def can_import(self) -> bool:
        return self.importer is not None

    def export(self, parts: PassportParts, *, validate: bool = True, **options: Any) -> ExportResult:
        return self.exporter(parts, validate=validate, **options)

    def import_payload(self, payload: Any, *, lenient: bool = False,
                       defaults: Mapping[str, Any] | None = None, **options: Any) -> ImportResult:
        if self.importer is None:
            raise InvalidData(f"format {self.name!r} is export-only", [{"field": "format", "rule": "export_only",
                              "message": f"format: {self.name} cannot be imported", "value": self.name}])
        return self.importer(payload, lenient=lenient, defaults=defaults, **options)

    def detect(self, obj: Any) -> bool:
        return bool(self.detector and self.detector(obj))


_REGISTRY: Registry[Adapter] = Registry("format")
register = _REGISTRY.register


#: other names a user may give a format by (the issue's CLI spelling)
ALIASES = {"idta": "idta-samm", "aas": "aas-json", "battery-pass": "batterypass", "catenax-bom": "catenax-bom-as-built"}


def get(name: str) -> Adapter:
    try:
        return _REGISTRY[ALIASES.get(name, name)]
    except KeyError:
        raise InvalidData(f"unknown format {name!r}: use one of {', '.join(sorted(_REGISTRY))}",
                          [{"field": "format", "rule": "enum", "value": name,
                            "message": f"format: unknown {name!r} (known: {', '.join(sorted(_REGISTRY))})"}]) from None


def bpnl_aliases() -> BpnlAliases:
    """This node's BPNL alias table (participant id → BPNL) that the Catena-X exports name partners by."""
    return node_aliases()


def set_bpnl_alias(participant_id: str, bpnl: str) -> BpnlAliases:
    """Record (checked) and save a participant's BPNL alias in this node's table."""
    table = BpnlAliases.load()
    table.add(participant_id, bpnl)
    table.save()
    return node_aliases()


def names() -> list[str]:
    return sorted(_REGISTRY)


def adapters() -> list[Adapter]:
    return [_REGISTRY[n] for n in names()]


def detect(payload: Any) -> Adapter:
    """The importable format a payload is in (AASX by its zip signature, JSON ones by their keys). Detection reads
    the keys only: a value the importers refuse (an integer of 309 digits) does not stop it — the chosen importer
    reads that value or refuses it, naming it."""
    if isinstance(payload, bytes | bytearray) and bytes(payload[:2]) == b"PK":
        return _REGISTRY["aasx"]
    obj = load_json(payload, long_ints=True)
    for a in adapters():
        if a.can_import and a.detect(obj):
            return a
    keys = ", ".join(list(obj)[:8]) if isinstance(obj, Mapping) else type(obj).__name__
    raise InvalidData("cannot tell the payload's format: give --format", [{
        "field": "(root)", "rule": "format:auto", "value": keys,
        "message": f"(root): top-level keys {keys} match none of {', '.join(a.name for a in adapters() if a.can_import)}"}])


# ------------------------------------------------------------------ convenience for the integrator
def export_passport(fmt: str, model: BatteryModelData | Mapping[str, Any], battery: BatteryData | Mapping[str, Any],
                    tiers: frozenset[Tier] = ALL_TIERS, *, validate: bool = True, **options: Any) -> ExportResult:
    """Export our model and battery data, cut to ``tiers``, in format ``fmt``."""
    return get(fmt).export(PassportParts.from_data(model, battery, tiers), validate=validate, **options)


def export_view(fmt: str, view: Mapping[str, Any], *, validate: bool = True, **options: Any) -> ExportResult:
    """Export :meth:`PassportService.export` output (already cut to its ``access_tiers``)."""
    return get(fmt).export(PassportParts.from_view(view), validate=validate, **options)


def import_passport(payload: Any, fmt: str = "auto", *, lenient: bool = False,
                    defaults: Mapping[str, Any] | None = None) -> ImportResult:
    """Import a payload (bytes, text, a parsed object or AASX bytes); ``fmt='auto'`` detects it."""
    try:
        adapter = detect(payload) if fmt == "auto" else get(fmt)
        return adapter.import_payload(payload, lenient=lenient, defaults=defaults)
    except RecursionError:  # a structure nested too deeply for a reader or the schema check
        raise InvalidData("the payload nests arrays and objects too deeply to read", [{
            "field": "(payload)", "rule": "json:depth", "value": None,
            "message": "(payload): nested too deeply to read"}]) from None
    except ValueError as exc:
        if "integer string conversion" not in str(exc):  # Python's 4300-digit limit, in a value given as an object
            raise
        raise InvalidData("an integer in the payload has too many digits", [{
            "field": "(payload)", "rule": "json:int_digits", "value": None,
            "message": f"(payload): {str(exc).split(';')[0]}"}]) from None


def _is_catenax(obj: Any) -> bool:
    return isinstance(obj, Mapping) and (str(obj.get("specVersion", "")).startswith("urn:io.catenax.battery.battery_pass")
                                         or {"identification", "operation", "performance", "metadata"} <= set(obj))


def _is_aas_json(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "assetAdministrationShells" in obj or (
        isinstance(obj, Mapping) and "submodels" in obj and isinstance(obj["submodels"], list))


def _is_idta(obj: Any) -> bool:
    return isinstance(obj, Mapping) and (any(k in idta.PARTS for k in obj) or idta.detect_part(obj) is not None)


register(Adapter("catenax", "Catena-X io.catenax.battery.battery_pass 6.1.0", catenax.MEDIA_TYPE,
                 catenax.export, catenax.import_payload, _is_catenax))
register(Adapter("idta-samm", "IDTA 02035 battery passport, SAMM JSON payloads of the 7 parts + DPP metadata",
                 idta.MEDIA_TYPE, idta.export, idta.import_payload, _is_idta))
register(Adapter("aas-json", "Asset Administration Shell (AAS JSON) with the IDTA 02035 submodels",
                 aas.JSON_MEDIA_TYPE, aas.export_json, aas.import_payload, _is_aas_json))
register(Adapter("aasx", "AASX package with the IDTA 02035 submodels", aas.AASX_MEDIA_TYPE,
                 aas.export_aasx, aas.import_payload, None, binary=True))
register(Adapter("catenax-serial-part", "Catena-X io.catenax.serial_part 4.0.0 (the pack as a serialized part)",
                 catenax_parts.SERIAL_PART_MEDIA, catenax_parts.export_serial_part, None))
register(Adapter("catenax-bom-as-built", "Catena-X io.catenax.single_level_bom_as_built 3.0.0 (the pack's children)",
                 catenax_parts.BOM_MEDIA, catenax_parts.export_bom, None))
register(Adapter("catenax-tbc", "Catena-X io.catenax.traction_battery_code 2.0.0 (GB/T 34014-2017 code)",
                 catenax_parts.TBC_MEDIA, catenax_parts.export_tbc, None))
register(Adapter("catenax-pcf", "Catena-X io.catenax.pcf 9.0.0 (product carbon footprint, PACT field names)",
                 catenax_parts.PCF_MEDIA, catenax_parts.export_pcf, None))
register(Adapter("batterypass", "Battery Pass consortium data model 1.2 module payloads",
                 batterypass.MEDIA_TYPE, batterypass.export, batterypass.import_payload, batterypass.detect))
