"""The Catena-X ↔ Ouranos bridge, seen from the European automaker's node.

1. :func:`request_trade` — the automaker (downstream) asks the Japanese cell maker (upstream) for the CFP of
   a part, through the cell maker's Ouranos-compatible API, authenticated by a presentation of its
   Catena-X credentials (accepted there under the Ouranos ← Catena-X recognition agreement). The
   request carries trace ids only: the automaker's activity amounts stay home.
2. The cell maker answers (trade response), registers its CFP and a signed commitment to its
   confidential components, and offers the result as a DSP dataset.
3. :func:`import_supplier_footprint` — the automaker negotiates and pulls that dataset over DSP, checks
   the commitment statement's signature and that it commits to exactly the disclosed total, and
   verifies the certification credential and its acceptance under the Catena-X ← Ouranos agreement.
4. :func:`pack_carbon_footprint` — the pack's Annex II footprint with the supplier's figures in the raw
   material and main production stages, per kWh of total energy over the service life; the automaker
   writes it to its battery model through :meth:`PassportService.update_model`.

The cell maker's suppliers, volumes and component split never leave its node: only the two aggregated
totals, the commitment root and the certificate do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..circular.footprint import functional_unit
from .commitments import micro, verify_statement
from .credentials import CERTIFICATION, verify_credential
from .errors import CredentialError, ExchangeError
from .node import Node, peer_did


@dataclass(frozen=True)
class SupplierFootprint:
    supplier_did: str
    operator_id: str
    trace_id: str
    unit: str
    pre_production: float | None
    main_production: float | None
    committed_total: str
    commitment_root: str
    certifications: list[dict[str, Any]] = field(default_factory=list)
    agreement_id: str | None = None


def request_trade(node: Node, supplier_base_url: str, *, supplier_operator_id: str, downstream_trace_id: str,
                  api_key: str, due: date, message: str = "") -> dict[str, Any]:
    """Send an Ouranos trade request (PUT tradeRequest) to the supplier's node."""
    aud = peer_did(supplier_base_url)
    body = {"tradeModel": {"downstreamOperatorId": node.config.participant_id, "downstreamTraceId": downstream_trace_id,
                           "tradeId": None, "upstreamOperatorId": supplier_operator_id, "upstreamTraceId": None},
            "statusModel": {"message": message, "replyMessage": None, "requestStatus": {}, "requestType": "CFP",
                            "statusId": None, "tradeId": None, "responseDueDate": due.isoformat()}}
    r = node.http.put(f"{supplier_base_url.rstrip('/')}/api/v1/datatransport", params={"dataTarget": "tradeRequest"},
                      json=body, headers={"apiKey": api_key, **node.auth_headers(aud)})
    if r.status_code != 201:
        raise ExchangeError("TradeRequestRefused", f"trade request refused ({r.status_code}): {r.text[:300]}")
    return r.json()  # type: ignore[no-any-return]


def import_supplier_footprint(node: Node, supplier_dsp_url: str, dataset_id: str) -> SupplierFootprint:
    """Negotiate, pull and verify a supplier's footprint dataset (see the module docstring)."""
    n, _, data = node.fetch(supplier_dsp_url, dataset_id)
    supplier = peer_did(supplier_dsp_url)
    if data.get("supplier") != supplier:
        raise ExchangeError("WrongSupplier", f"payload names supplier {data.get('supplier')}, not {supplier}")
    by = {e["cfpType"]: e for e in data["cfp"]}
    pre, main = by["preProductionResponse"]["ghgEmission"], by["mainProductionResponse"]["ghgEmission"]
    if data.get("commitment") is None:
        raise ExchangeError("NoCommitment", f"supplier {supplier} gave no commitment to its components")
    statement = verify_statement(data["commitment"], node.resolver)
    c = statement["commitment"]
    if statement["iss"] != supplier or statement["sub"] != data["traceId"]:
        raise CredentialError("wrong_statement", f"commitment statement is by {statement['iss']} about "
                              f"{statement['sub']}, not by {supplier} about {data['traceId']}")
    if pre is not None and main is not None and abs(micro(pre) + micro(main) - c["total_micro"]) > 20:
        raise ExchangeError("CommitmentMismatch", f"disclosed totals {pre} + {main} differ from the committed total "
                            f"{c['total']} {c['unit']}")
    certs = []
    for tok in data.get("certifications", []):
        vc = verify_credential(tok, node.resolver, status_check=node.status)
        if vc.type != CERTIFICATION or vc.subject_did != supplier:
            raise CredentialError("not_holder", f"{vc.type} {vc.id} is not a certification of {supplier}")
        acc = node.trust.accept(vc)
        certs.append({"id": vc.id, "issuer": vc.issuer, "ground": acc.ground, **vc.subject})
    return SupplierFootprint(supplier, data["operatorId"], data["traceId"], by["preProductionResponse"]["ghgDeclaredUnit"],
                             pre, main, c["total"], c["root"], certs, n.agreement_id)


def pack_carbon_footprint(supplier: SupplierFootprint, *, cells_capacity_kwh: float, usable_energy_kwh: float,
                          vehicle_category: str, warranty_years: float,
                          own_stages_kgco2e: dict[str, float]) -> dict[str, Any]:
    """The pack's ``carbon_footprint`` passport fields (kg CO2e per kWh of total energy over the service life).

    The supplier's pre-production total (kg CO2e per kWh of cell capacity) joins the raw-material stage,
    its main-production total the main-production stage; ``own_stages_kgco2e`` are the automaker's own
    emissions per pack for the four stages (raw_material, main_production, distribution, end_of_life).
    """
    if supplier.unit != "kgCO2e/kilowatt-hour":
        raise ExchangeError("UnitMismatch", f"supplier CFP is in {supplier.unit}; kgCO2e/kilowatt-hour is needed")
    if supplier.pre_production is None or supplier.main_production is None:
        raise ExchangeError("NotDisclosed", f"supplier {supplier.operator_id} did not disclose its CFP for "
                            f"{supplier.trace_id}; the pack footprint cannot include it")
    fu = functional_unit(usable_energy_kwh, vehicle_category, warranty_years)
    stages = {k: float(own_stages_kgco2e.get(k, 0.0)) for k in ("raw_material", "main_production", "distribution",
                                                              "end_of_life")}
    stages["raw_material"] += supplier.pre_production * cells_capacity_kwh
    stages["main_production"] += supplier.main_production * cells_capacity_kwh
    per = {k: round(v / fu.total_energy_kwh, 4) for k, v in stages.items()}
    total = round(sum(per.values()), 4)
    return {"total_kgco2e_per_kwh": total,
            "raw_material_kgco2e_per_kwh": per["raw_material"],
            "main_production_kgco2e_per_kwh": per["main_production"],
            "distribution_kgco2e_per_kwh": per["distribution"],
            "end_of_life_kgco2e_per_kwh": per["end_of_life"]}
