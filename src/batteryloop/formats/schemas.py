"""The official JSON schemas every export is validated against, read in place.

The schemas are the published ``gen/*-schema.json`` files of the Catena-X (eclipse-tractusx/
sldt-semantic-models) and IDTA (admin-shell-io/smt-semantic-models) repositories. They are not
copied into this package: :func:`schemas_dir` finds them in ``$BATTERYLOOP_SCHEMAS_DIR`` or in the
``shared/fixtures`` folder beside the repository. The validator class follows each schema's
``$schema`` (draft-04 for both families: a newer draft misreads their boolean ``exclusiveMaximum``).
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import validators

from ..errors import BatteryloopError

#: schema key → path under the fixtures folder
SCHEMAS: dict[str, str] = {
    "catenax.battery_pass": "catenax/io.catenax.battery.battery_pass/6.1.0/BatteryPass-schema.json",
    "catenax.serial_part": "catenax/io.catenax.serial_part/4.0.0/SerialPart-schema.json",
    "catenax.single_level_bom_as_built":
        "catenax/io.catenax.single_level_bom_as_built/3.0.0/SingleLevelBomAsBuilt-schema.json",
    "catenax.traction_battery_code": "catenax/io.catenax.traction_battery_code/2.0.0/TractionBatteryCode-schema.json",
    "catenax.pcf": "catenax/io.catenax.pcf/9.0.0/Pcf-schema.json",
    "idta.digital_nameplate":
        "idta/io.admin-shell.idta.batterypass.digital_nameplate/1.0.0/NameplateBattery-schema.json",
    "idta.handover_documentation":
        "idta/io.admin-shell.idta.batterypass.handover_documentation/1.0.0/HandoverDocumentationBattery-schema.json",
    "idta.carbon_footprint":
        "idta/io.admin-shell.idta.batterypass.carbon_footprint/1.0.0/CarbonFootprintBattery-schema.json",
    "idta.technical_data":
        "idta/io.admin-shell.idta.batterypass.technical_data/1.0.1/TechnicalDataBattery-schema.json",
    "idta.product_condition":
        "idta/io.admin-shell.idta.batterypass.product_condition/1.0.1/ProductConditionBattery-schema.json",
    "idta.material_composition":
        "idta/io.admin-shell.idta.batterypass.material_composition/1.0.1/MaterialCompositionBattery-schema.json",
    "idta.circularity": "idta/io.admin-shell.idta.batterypass.circularity/1.0.0/CircularityBattery-schema.json",
    "idta.dpp_metadata": "idta/io.admin-shell.idta.dpp.dpp_metadata/1.0.0/DppMetadata-schema.json",
}


class SchemasNotFound(BatteryloopError):
    status = 500
    title = "Official schemas not found"


def schemas_dir() -> Path:
    """Where the official schemas are: ``$BATTERYLOOP_SCHEMAS_DIR``, else ``<repo>/../shared/fixtures``."""
    env = os.environ.get("BATTERYLOOP_SCHEMAS_DIR")
    candidates = [Path(env)] if env else []
    shared = os.environ.get("BATTERYLOOP_SHARED")
    if shared:
        candidates.append(Path(shared) / "fixtures")
    here = Path(__file__).resolve()
    candidates += [p.parent / "shared" / "fixtures" for p in here.parents[:5]]
    for c in candidates:
        if (c / "catenax").is_dir() or (c / "idta").is_dir():
            return c
    raise SchemasNotFound(
        "the official Catena-X/IDTA schemas were not found: set BATTERYLOOP_SCHEMAS_DIR to the folder "
        "holding catenax/ and idta/ (the gen/ files of sldt-semantic-models and smt-semantic-models)"
    )


def schema_path(key: str) -> Path:
    try:
        rel = SCHEMAS[key]
    except KeyError:
        raise KeyError(f"unknown schema {key!r}: known are {', '.join(sorted(SCHEMAS))}") from None
    return schemas_dir() / rel


def example_path(key: str) -> Path:
    """The official example payload published beside the schema."""
    p = schema_path(key)
    return p.with_name(p.name.replace("-schema.json", ".json"))


@cache
def _validator(key: str) -> Any:
    path = schema_path(key)
    try:
        schema = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise SchemasNotFound(f"cannot read schema {key} at {path}: {exc.strerror}") from None
    cls = validators.validator_for(schema, default=validators.Draft4Validator)
    cls.check_schema(schema)
    return cls(schema)


def _pointer(path: Any) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def validate(key: str, payload: Any) -> list[dict[str, Any]]:
    """Every violation of schema ``key`` as ``{field, rule, message, value}`` (empty when valid)."""
    out = []
    for e in sorted(_validator(key).iter_errors(payload), key=lambda e: list(map(str, e.absolute_path))):
        where = _pointer(e.absolute_path)
        value = e.instance if isinstance(e.instance, str | int | float | bool) or e.instance is None else None
        msg = e.message if len(e.message) <= 300 else e.message[:300] + "…"
        out.append({"field": where, "rule": f"schema:{e.validator}", "value": value,
                    "message": f"{where}: {msg} (schema {key})"})
    return out


def validator_name(key: str) -> str:
    return type(_validator(key)).__name__
