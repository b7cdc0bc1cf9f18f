"""The Battery Pass consortium's JSON schemas (data model 1.2), vendored in ``batterypass_1_2/``.

Source: batterypass/BatteryPassDataModel @ 4c96de2 (2025-10-24), ``io.BatteryPass.<Module>/1.2.0/gen/
<Aspect>-schema.json``, CC-BY-4.0 (Battery Pass consortium); see ``batterypass_1_2/README.md``.

The files are read as published (UTF-16 with a BOM, one in UTF-8) and validated with the draft their
``$schema`` names (draft-04), formats included: ``uri`` (RFC 3986, ``rfc3986-validator``) and ``date-time``
(RFC 3339, ``rfc3339-validator``); without those two packages jsonschema skips the formats silently, so
:func:`validator` refuses to run without them.

One upstream slip is corrected at load time: the GeneralProductInformation e-mail pattern
``^[w.-]+@[w.-]+.[A-Za-z]{2,}$`` lost its backslashes (it accepts only the letter w, dots and hyphens) and is
read as ``^[\\w.-]+@[\\w.-]+\\.[A-Za-z]{2,}$``, the pattern the consortium's Circularity schema has.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, validators

from ..errors import BatteryloopError

DIR = Path(__file__).with_name("batterypass_1_2")
#: our module name → the schema file of its aspect
SCHEMA_FILES: dict[str, str] = {
    "general_product_information": "GeneralProductInformation-schema.json",
    "carbon_footprint": "CarbonFootprintForBatteries-schema.json",
    "performance_and_durability": "PerformanceAndDurability-schema.json",
    "circularity": "Circularity-schema.json",
    "material_composition": "MaterialComposition-schema.json",
    "supply_chain_due_diligence": "SupplyChainDueDiligence-schema.json",
    "labels_and_certification": "Labeling-schema.json",
}
#: the upstream e-mail pattern with its backslashes lost, and the one it is read as
EMAIL_SLIP = "^[w.-]+@[w.-]+.[A-Za-z]{2,}$"
EMAIL_FIXED = r"^[\w.-]+@[\w.-]+\.[A-Za-z]{2,}$"


class SchemaUnavailable(BatteryloopError):
    status = 500
    title = "Battery Pass schemas unavailable"


def read_json(path: Path) -> Any:
    """A JSON file in UTF-8 (with or without BOM) or UTF-16 with a BOM, as the consortium publishes them."""
    raw = path.read_bytes()
    text = raw.decode("utf-16") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else raw.decode("utf-8-sig")
    return json.loads(text)


def _fix_slips(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (EMAIL_FIXED if k == "pattern" and v == EMAIL_SLIP else _fix_slips(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_fix_slips(x) for x in node]
    return node


@cache
def schema(module: str) -> dict[str, Any]:
    """The schema of one module (our module name), slips corrected."""
    try:
        name = SCHEMA_FILES[module]
    except KeyError:
        raise KeyError(f"unknown Battery Pass module {module!r}: known are {', '.join(SCHEMA_FILES)}") from None
    return _fix_slips(read_json(DIR / name))


@cache
def validator(module: str) -> Any:
    s = schema(module)
    cls = validators.validator_for(s, default=Draft4Validator)
    cls.check_schema(s)
    checker = cls.FORMAT_CHECKER
    missing = [f for f in ("uri", "date-time") if f not in checker.checkers]
    if missing:
        raise SchemaUnavailable(f"cannot check the Battery Pass schemas' formats {', '.join(missing)}: install "
                                "rfc3986-validator and rfc3339-validator (batteryloop's dependencies)")
    return cls(s, format_checker=checker)


def _path(prefix: str, parts: Any) -> str:
    out = prefix
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def errors(module: str, payload: Any, prefix: str | None = None) -> list[dict[str, Any]]:
    """Every violation of the module's schema as ``{field, rule, message, value}``, in document order.

    ``field`` is the path in the payload (``prefix`` first, e.g. the container key); a missing required
    property is named at its own path (``a.b.missing``), with rule ``schema:required``."""
    prefix = module if prefix is None else prefix
    out = []
    for e in validator(module).iter_errors(payload):
        where = _path(prefix, e.absolute_path)
        if e.validator == "required":
            missing = e.message.split("'")[1] if e.message.count("'") >= 2 else "?"
            where = f"{where}.{missing}" if where else missing
        value = e.instance if isinstance(e.instance, str | int | float | bool) or e.instance is None else None
        msg = e.message if len(e.message) <= 300 else e.message[:300] + "…"
        out.append({"field": where, "rule": f"schema:{e.validator}", "value": value,
                    "message": f"{where}: {msg} (Battery Pass 1.2 {SCHEMA_FILES[module].removesuffix('-schema.json')} "
                               "schema)"})
    out.sort(key=lambda x: x["field"])
    return out
