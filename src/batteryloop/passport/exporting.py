"""One export flow for every adapter (API, CLI): tiers checked, the format chosen, suppliers only to those allowed.

A passport export is the passport cut to tiers the caller holds (never above), in our JSON or a standard
format. The Catena-X BOM as built names the pack's suppliers from the ledger's as-built tree: that
tree is supply-chain data, answered only where :mod:`batteryloop.access` allows
``passport.supply_chain.read`` (the economic operator, authorities, the admin); anyone else gets the
BOM from the model's composition as their tiers show it, and the mapping report says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..access import Caller, Resource, decide
from ..errors import InvalidData, deny
from .tiers import Tier, parse_tiers


#: the formats that name companies by BPNL and take a BPNL map for one export (CLI ``--bpnl ID=BPNL``)
BPNL_FORMATS = ("catenax", "catenax-bom-as-built")


@dataclass
class Exported:
    body: bytes
    media_type: str
    filename: str
    report: dict[str, Any] = field(default_factory=dict)


def export_passport(passports: Any, store: Any, passport_id: str, caller: Caller, *, tiers: str | None = None,
                    fmt: str = "batteryloop", bpnl_map: Mapping[str, str] | None = None,
                    channel: str = "export") -> Exported:
    """The passport ``passport_id`` as ``caller`` may export it (``tiers``: a comma list; default all it holds),
    as a file: its bytes, media type and name."""
    payload = export_payload(passports, store, passport_id, caller, tiers=tiers, fmt=fmt, bpnl_map=bpnl_map,
                             channel=channel)
    if payload.fmt == "batteryloop":
        return Exported(orjson.dumps(payload.body, option=orjson.OPT_INDENT_2) + b"\n", "application/json",
                        f"{passport_id}.json")
    body = payload.body if isinstance(payload.body, bytes) else orjson.dumps(payload.body, option=orjson.OPT_INDENT_2)
    return Exported(body, payload.media_type, payload.filename or f"{passport_id}.{payload.fmt}.json", payload.report)


@dataclass
class Payload:
    """An export before it is written as a file: the document (a JSON value, or bytes for a package)."""

    fmt: str
    body: Any
    media_type: str = "application/json"
    filename: str | None = None
    report: dict[str, Any] = field(default_factory=dict)


def export_payload(passports: Any, store: Any, passport_id: str, caller: Caller, *, tiers: str | None = None,
                   cap: frozenset[Tier] | None = None, fmt: str = "batteryloop",
                   bpnl_map: Mapping[str, str] | None = None, validate: bool = True,
                   channel: str = "export") -> Payload:
    """The export flow: the tiers ``caller`` holds on the passport (``tiers`` asks for some of them; ``cap``
    bounds the default, as a data-space offer's ``max_tiers`` does), the format by name, and the as-built
    suppliers only where the policy allows. The read is audited on ``channel``."""
    from .. import formats

    rec = passports.get_record(passport_id)
    held = passports.tiers_for(rec, caller)
    try:
        wanted = parse_tiers(tiers) if tiers else (held & cap if cap is not None else held)
    except ValueError as exc:
        raise InvalidData(str(exc), [{"field": "tiers", "rule": "enum", "message": f"tiers: {exc}",
                                      "value": tiers}]) from None
    if not wanted <= held:
        missing = ", ".join(sorted(t.value for t in wanted - held))
        raise deny(caller.anonymous, f"you do not hold the tier(s) {missing} for passport {passport_id}")
    if fmt != "batteryloop":
        fmt = formats.get(fmt).name  # an unknown name is refused before anything is read or audited
    if bpnl_map and fmt not in BPNL_FORMATS:
        raise InvalidData(f"a BPNL map applies to the {' and '.join(BPNL_FORMATS)} formats only (the other formats "
                          "name companies as the passport does)", [{
                              "field": "bpnl", "rule": "format", "value": fmt,
                              "message": f"bpnl: only with {' or '.join(BPNL_FORMATS)}"}])
    view = passports.export(passport_id, wanted, caller=caller, channel=channel)
    if fmt == "batteryloop":
        return Payload(fmt, view)
    options: dict[str, Any] = {}
    withheld = False
    if fmt == "catenax-bom-as-built":
        from ..formats.catenax_parts import as_built_children

        may = decide(caller, "passport.supply_chain.read", Resource("passport", rec.id,
                                                                     operator=rec.economic_operator_id))
        # the caller's right, and the file's audience: a file cut to the public or legitimate-interest tiers
        # is for readers who would not see the suppliers either
        if may and wanted & {Tier.OPERATOR, Tier.AUTHORITY}:
            options["as_built"] = as_built_children(store, passport_id) or None
        else:
            withheld = True
        options["bpnl_map"] = dict(bpnl_map or {})
    elif fmt == "catenax" and bpnl_map:
        options["bpnl_map"] = dict(bpnl_map)
    res = formats.export_view(fmt, view, validate=validate, **options)
    if withheld:
        res.report.unmap("battery.as_built", None, "the ledger's as-built tree names suppliers: answered to the "
                         "economic operator, authorities and the admin, not to this reader")
    return Payload(fmt, res.payload, res.media_type, res.filename,
                   res.report.to_dict() if hasattr(res.report, "to_dict") else {})
