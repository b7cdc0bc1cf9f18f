"""Nodes on loopback: each a real uvicorn server in a thread, on its own free port and its own SQLite store."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batteryloop.exchange.config import NodeConfig
from batteryloop.exchange.credentials import BPN, CERTIFICATION, DISMANTLER, FRAMEWORK_AGREEMENT, MEMBERSHIP
from batteryloop.exchange.node import Node
from batteryloop.exchange.runtime import ThreadedNode, reserve_port

AUTOMAKER_BPN = "BPNL000000000EM1"
RECYCLER_BPN = "BPNL000000000RM3"
CELLMAKER_OPERATOR = "9876543210987"
ADMIN = "admin-token-for-tests"
AUDITOR_BPN = "BPNL00000000AUD1"
OURANOS_KEY = "ouranos-api-key-for-tests"
CELL_TRACE = "5f0c3a52-6d7e-4a41-9a53-2f1f6b0c7e11"


class Cluster:
    """Starts nodes; ``node(name, **config)`` returns a started :class:`Node` (config may be completed later)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.servers: list[ThreadedNode] = []

    def reserve(self) -> tuple[socket.socket, str]:
        sock = reserve_port()
        return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"

    def node(self, name: str, *, sources: dict[str, Any] | None = None, passports: Any = None,
             **cfg: Any) -> Node:
        sock, url = self.reserve()
        config = NodeConfig(name=name, base_url=url, database_url=f"sqlite:///{self.tmp}/{name}.db",
                            admin_token=ADMIN, status_cache_s=0, **cfg)
        node = Node(config, sources=sources, passports=passports)
        self.servers.append(ThreadedNode(node, sock))
        return node

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


def usage_policy(*extra: dict[str, Any]) -> dict[str, Any]:
    return {"@id": "usage", "permission": [{"action": "use", "constraint": [{"and": [
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
        {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
        {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.circular.dpp:1"]},
        *extra]}]}]}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("nodes"))
    yield c
    c.stop()


@pytest.fixture(scope="module")
def space(cluster: Cluster) -> dict[str, Any]:
    """Two issuers (Catena-X, Ouranos); an automaker, a recycler (Catena-X) and a cell maker (Ouranos)."""
    cx = cluster.node("cx-issuer", participant_id="BPNL00000000CXIS", space="catena-x", issuer=True)
    ou = cluster.node("ou-issuer", participant_id="1000000000001", space="ouranos", issuer=True)
    trust = {
        "registries": {
            "catena-x": {cx.did: [MEMBERSHIP, BPN, FRAMEWORK_AGREEMENT, DISMANTLER, CERTIFICATION]},
            "ouranos": {ou.did: [MEMBERSHIP, CERTIFICATION, DISMANTLER, BPN, FRAMEWORK_AGREEMENT]},
        },
        "agreements": [
            {"id": "cx-accepts-ouranos", "accepting_space": "catena-x", "issuing_space": "ouranos",
             "credential_types": [MEMBERSHIP, CERTIFICATION]},
            {"id": "ouranos-accepts-cx", "accepting_space": "ouranos", "issuing_space": "catena-x",
             "credential_types": [MEMBERSHIP, BPN, FRAMEWORK_AGREEMENT]},
        ],
    }
    datasets = [
        {"id": "urn:bl:doc:dismantling", "title": "Dismantling guide", "kind": "document",
         "document": {"steps": ["discharge", "open lid"], "secret": "only for dismantlers"},
         "access_policy": {"@id": "acc", "permission": [{"action": "access", "constraint": [
             {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": [RECYCLER_BPN]}]}]},
         "usage_policy": usage_policy()},
        {"id": "urn:bl:doc:open", "title": "Open data", "kind": "document", "document": {"hello": "world"},
         "usage_policy": usage_policy()},
        {"id": "urn:bl:doc:expired", "title": "Provisioning ended", "kind": "document", "document": {"x": 1},
         "usage_policy": usage_policy({"leftOperand": "DataUsageEndDate", "operator": "eq",
                                       "rightOperand": "2020-01-01T00:00:00Z"})},
        {"id": "urn:bl:doc:unknown", "title": "Unknown constraint", "kind": "document", "document": {"x": 1},
         "usage_policy": usage_policy({"leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"})},
    ]
    automaker = cluster.node("automaker", participant_id=AUTOMAKER_BPN, space="catena-x", trust=trust,
                             datasets=datasets)
    recycler = cluster.node("recycler", participant_id=RECYCLER_BPN, space="catena-x", trust=trust)
    cell_policy = {"@id": "cfp-usage", "permission": [{"action": "use", "constraint": [{"and": [
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
        {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
        {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.pcf.base:1"]}]}]}]}
    cell_datasets = [
        {"id": "urn:ouranos:cfp:" + CELL_TRACE, "title": "Cell CFP (aggregated)", "kind": "ouranos_cfp",
         "trace_id": CELL_TRACE, "usage_policy": cell_policy},
        {"id": "urn:ouranos:audit:" + CELL_TRACE, "title": "Commitment opening (auditors only)",
         "kind": "commitment_opening", "trace_id": CELL_TRACE, "usage_policy": cell_policy,
         "access_policy": {"@id": "auditors", "permission": [{"action": "access", "constraint": [
             {"leftOperand": "BusinessPartnerNumber", "operator": "isAnyOf", "rightOperand": [AUDITOR_BPN]}]}]}},
    ]
    cellmaker = cluster.node("cellmaker", participant_id=CELLMAKER_OPERATOR, space="ouranos", trust=trust,
                             datasets=cell_datasets, ouranos_api_key=OURANOS_KEY,
                             pact_clients={"automaker-pact": "pact-secret"})
    auditor = cluster.node("auditor", participant_id=AUDITOR_BPN, space="catena-x", trust=trust)
    year = time.time() + 365 * 86400
    for n, bpn in ((automaker, AUTOMAKER_BPN), (recycler, RECYCLER_BPN), (auditor, AUDITOR_BPN)):
        n.credentials = [cx.issue(n.did, BPN, {"holderIdentifier": bpn}, valid_until=year),
                         cx.issue(n.did, MEMBERSHIP, {"holderIdentifier": bpn}, valid_until=year),
                         cx.issue(n.did, FRAMEWORK_AGREEMENT, {"agreement": "DataExchangeGovernance",
                                                               "contractVersion": "1.0"}, valid_until=year)]
    recycler.credentials.append(cx.issue(recycler.did, DISMANTLER, {"site": "Antwerp"}, valid_until=year))
    cellmaker.credentials = [ou.issue(cellmaker.did, MEMBERSHIP, {"operatorId": CELLMAKER_OPERATOR}, valid_until=year),
                             ou.issue(cellmaker.did, CERTIFICATION, {"scheme": "JIS Q 14067 CFP verification",
                                                                     "certificateId": "CFP-2025-0042"},
                                      valid_until=year)]
    return {"cx": cx, "ou": ou, "automaker": automaker, "recycler": recycler, "cellmaker": cellmaker, "auditor": auditor,
            "trust": trust}
