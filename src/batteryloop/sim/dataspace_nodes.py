"""The two-data-space demo: five nodes in one process, each on its own port and store, talking over HTTP.

Catena-X: an issuer, a European automaker, a recycler. Ouranos: an issuer, a Japanese cell maker.
Recognition agreements both ways. The flow: the automaker's trade request reaches the cell maker's
Ouranos API; the cell maker answers, registers its CFP with a commitment to its confidential components;
the automaker pulls the certified aggregate over DSP and writes the pack footprint into its passport
model; the recycler (a dismantler) pulls a passport at the legitimate-interest tier.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..exchange.config import NodeConfig
from ..exchange.credentials import BPN, CERTIFICATION, DISMANTLER, FRAMEWORK_AGREEMENT, MEMBERSHIP
from ..exchange.node import Node
from ..exchange.runtime import ThreadedNode, reserve_port

AUTOMAKER_BPN = "BPNL000000000EM1"
RECYCLER_BPN = "BPNL000000000RM3"
CELLMAKER_OPERATOR = "9876543210987"
DEMO_ADMIN = "demo-admin-token"
DEMO_OURANOS_KEY = "demo-ouranos-key"

USAGE = {"@id": "dpp-usage", "permission": [{"action": "use", "constraint": [{"and": [
    {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
    {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
    {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.circular.dpp:1", "cx.pcf.base:1"]}]}]}]}


@dataclass
class Demo:
    workdir: Path
    host: str
    running: dict[str, ThreadedNode] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def node(self, name: str) -> Node:
        return self.running[name].node

    @property
    def nodes(self) -> list[Node]:
        return [r.node for r in self.running.values()]

    def stop(self) -> None:
        for r in self.running.values():
            r.stop()


def start_demo(workdir: Path, host: str = "127.0.0.1", *, cell_trace: str | None = None) -> Demo:
    workdir.mkdir(parents=True, exist_ok=True)
    demo = Demo(workdir, host)
    socks = {n: reserve_port(host) for n in ("cx-issuer", "ou-issuer", "automaker", "recycler", "cellmaker")}
    url = {n: f"http://{host}:{s.getsockname()[1]}" for n, s in socks.items()}
    from ..exchange.did import did_web

    trust = {"registries": {"catena-x": {did_web(url["cx-issuer"]): [MEMBERSHIP, BPN, FRAMEWORK_AGREEMENT, DISMANTLER]},
                            "ouranos": {did_web(url["ou-issuer"]): [MEMBERSHIP, CERTIFICATION]}},
             "agreements": [{"id": "cx-accepts-ouranos", "accepting_space": "catena-x", "issuing_space": "ouranos",
                             "credential_types": [MEMBERSHIP, CERTIFICATION]},
                            {"id": "ouranos-accepts-cx", "accepting_space": "ouranos", "issuing_space": "catena-x",
                             "credential_types": [MEMBERSHIP, BPN, FRAMEWORK_AGREEMENT]}]}
    trace = cell_trace or str(uuid.uuid4())
    base = {"admin_token": DEMO_ADMIN, "status_cache_s": 2.0}
    cfgs = {
        "cx-issuer": {"participant_id": "BPNL00000000CXIS", "space": "catena-x", "issuer": True},
        "ou-issuer": {"participant_id": "1000000000001", "space": "ouranos", "issuer": True},
        "automaker": {"participant_id": AUTOMAKER_BPN, "space": "catena-x", "trust": trust},
        "recycler": {"participant_id": RECYCLER_BPN, "space": "catena-x", "trust": trust},
        "cellmaker": {"participant_id": CELLMAKER_OPERATOR, "space": "ouranos", "trust": trust,
                      "ouranos_api_key": DEMO_OURANOS_KEY,
                      "datasets": [{"id": f"urn:ouranos:cfp:{trace}", "title": "Cell CFP (aggregated, certified)",
                                    "kind": "ouranos_cfp", "trace_id": trace, "usage_policy": USAGE}]},
    }
    for name, extra in cfgs.items():
        cfg = NodeConfig(name=name, base_url=url[name], database_url=f"sqlite:///{workdir}/{name}.db", **base, **extra)
        demo.running[name] = ThreadedNode(Node(cfg), socks[name])
    cx, ou = demo.node("cx-issuer"), demo.node("ou-issuer")
    year = time.time() + 365 * 86400
    for name, bpn in (("automaker", AUTOMAKER_BPN), ("recycler", RECYCLER_BPN)):
        n = demo.node(name)
        n.credentials = [cx.issue(n.did, BPN, {"holderIdentifier": bpn}, valid_until=year),
                         cx.issue(n.did, MEMBERSHIP, {"holderIdentifier": bpn}, valid_until=year),
                         cx.issue(n.did, FRAMEWORK_AGREEMENT, {"agreement": "DataExchangeGovernance",
                                                               "contractVersion": "1.0"}, valid_until=year)]
    rec = demo.node("recycler")
    rec.credentials.append(cx.issue(rec.did, DISMANTLER, {"site": "Antwerp"}, valid_until=year))
    cell = demo.node("cellmaker")
    cell.credentials = [ou.issue(cell.did, MEMBERSHIP, {"operatorId": CELLMAKER_OPERATOR}, valid_until=year),
                        ou.issue(cell.did, CERTIFICATION, {"scheme": "JIS Q 14067 CFP verification",
                                                           "certificateId": "CFP-2025-0042"}, valid_until=year)]
    demo.info["cell_trace"] = trace
    return demo


def run_flow(demo: Demo, *, passports: int = 1) -> dict[str, Any]:
    """The bridge and a passport transfer; returns what happened (ids, figures)."""
    from ..access import Caller
    from ..services import build_services
    from ..config import Settings
    from ..participants import Role
    from . import pilot
    from ..exchange.bridge import pack_carbon_footprint
    from ..exchange.config import DatasetConfig

    a, r = demo.node("automaker"), demo.node("recycler")
    # automaker's passports on its own store
    svc = build_services(Settings(database_url=a.store.url, public_base_url=a.base_url, issuing_agency_code="BL",
                                  admin_token=None), a.store, migrate=False)
    maker = Caller(AUTOMAKER_BPN, frozenset({Role.MANUFACTURER}))
    for p in pilot.PARTICIPANTS:
        try:
            svc.participants.create(p)
        except Exception:  # noqa: BLE001 - already there on a re-run
            pass
    for m in pilot.battery_models():
        try:
            svc.passports.create_model(m, Caller(is_admin=True))
        except Exception:  # noqa: BLE001
            pass
    a.passports = svc.passports
    ids = []
    for b in pilot.generate_batteries(passports, seed=int(time.time()) % 10_000):
        rec_ = svc.passports.create_passport(b, maker)
        pid = rec_["passport_id"]
        ids.append(pid)
        a.datasets[f"urn:bl:passport:{pid}"] = DatasetConfig(id=f"urn:bl:passport:{pid}", kind="passport",
                                                               passport_id=pid, usage_policy=USAGE)
    fp = exchange_cell_footprint(
        demo, cells_kwh=82.0, part_name="NMC811 pouch cell",
        cfp_kgco2e_per_kwh={"preProduction": 2.1, "preComponent": 44.9, "mainProduction": 9.9, "mainComponent": 1.1},
        components=[{"supplier": "(confidential cathode supplier)", "ghg_kgco2e": 38.4},
                    {"supplier": "(graphite)", "ghg_kgco2e": 6.5}, {"process": "electrode prep", "ghg_kgco2e": 2.1},
                    {"process": "assembly", "ghg_kgco2e": 9.9}, {"supplier": "(separator)", "ghg_kgco2e": 1.1}])
    cf = pack_carbon_footprint(fp, cells_capacity_kwh=82, usable_energy_kwh=77, vehicle_category="M1", warranty_years=8,
                               own_stages_kgco2e={"raw_material": 310, "main_production": 150, "distribution": 40,
                                                  "end_of_life": 95})
    svc.passports.update_model("EM-NMC811-82", {"carbon_footprint": {**cf, "performance_class": None}}, maker,
                               reason=f"cell CFP from {fp.operator_id} via agreement {fp.agreement_id}")
    _, _, passport = r.fetch(a.dsp_url, f"urn:bl:passport:{ids[0]}")
    return {"passports": ids, "supplier_footprint": fp, "pack_carbon_footprint": cf,
            "recycler_tiers": passport["access_tiers"]}


def exchange_cell_footprint(demo: Demo, *, cells_kwh: float, part_name: str, cfp_kgco2e_per_kwh: dict[str, float],
                            components: list[dict[str, Any]]) -> Any:
    """The bridge's Ouranos side, up to the automaker holding the cell maker's certified footprint.

    The automaker registers its cells part (its part structure stays on its node); the cell maker registers
    its part, its CFP by ``cfpType`` and a signed commitment to its confidential ``components`` (never sent);
    the automaker's trade request is answered and the aggregate pulled and checked over DSP. Returns the
    :class:`~batteryloop.exchange.bridge.SupplierFootprint`.
    """
    from ..exchange.bridge import import_supplier_footprint, request_trade
    from ..exchange.commitments import commit

    a, c = demo.node("automaker"), demo.node("cellmaker")
    trace = demo.info["cell_trace"]
    cell_part = str(uuid.uuid4())
    a.ouranos.put_parts(AUTOMAKER_BPN, {"traceId": cell_part, "operatorId": AUTOMAKER_BPN, "partsName": "cells",
                                        "plantId": None, "supportPartsName": None, "terminatedFlag": False,
                                        "amountRequired": cells_kwh, "amountRequiredUnit": "kilowatt-hour"})
    c.ouranos.put_parts(CELLMAKER_OPERATOR, {"traceId": trace, "operatorId": CELLMAKER_OPERATOR,
                                             "partsName": part_name, "plantId": None,
                                             "supportPartsName": None, "terminatedFlag": False,
                                             "amountRequired": None, "amountRequiredUnit": None})
    dqr = {"TeR": 1.5, "GeR": 1.8, "TiR": 1.2}
    c.ouranos.put_cfp(CELLMAKER_OPERATOR, [
        {"cfpId": None, "traceId": trace, "ghgEmission": v, "ghgDeclaredUnit": "kgCO2e/kilowatt-hour", "cfpType": t,
         "dqrValue": dqr} for t, v in cfp_kgco2e_per_kwh.items()])
    statement, opening, _ = commit(c.identity, subject=trace, unit="kgCO2e/kilowatt-hour", components=components)
    c.ouranos.put_commitment(CELLMAKER_OPERATOR, trace, statement, opening.as_json())
    trade = request_trade(a, c.base_url, supplier_operator_id=CELLMAKER_OPERATOR, downstream_trace_id=cell_part,
                          api_key=DEMO_OURANOS_KEY, due=date.today())
    c.ouranos.put_trade_response(CELLMAKER_OPERATOR, trade["tradeModel"]["tradeId"], trace)
    return import_supplier_footprint(a, c.dsp_url, f"urn:ouranos:cfp:{trace}")
