"""A node mounted under a path of another app (as the integrator mounts it in the main API): did:web with a path."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from batteryloop.exchange.config import NodeConfig
from batteryloop.exchange.credentials import BPN, FRAMEWORK_AGREEMENT, MEMBERSHIP
from batteryloop.exchange.did import did_document_url
from batteryloop.exchange.node import Node, peer_did
from batteryloop.exchange.runtime import ThreadedNode, reserve_port

from .conftest import usage_policy


def test_mounted_node_round_trip(space: dict[str, Any], tmp_path: Path) -> None:
    cx, r = space["cx"], space["recycler"]
    sock = reserve_port()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/node"
    cfg = NodeConfig(name="mounted", participant_id="BPNL00000000MNT1", base_url=base, trust=space["trust"],
                     database_url=f"sqlite:///{tmp_path}/mounted.db", status_cache_s=0,
                     datasets=[{"id": "urn:bl:doc:mounted", "kind": "document", "document": {"via": "mount"},
                                "usage_policy": usage_policy()}])
    node = Node(cfg)
    assert node.did.endswith(":node") and did_document_url(node.did) == base + "/did.json"
    assert peer_did(node.dsp_url) == node.did
    year = time.time() + 86400
    node.credentials = [cx.issue(node.did, BPN, {"holderIdentifier": "BPNL00000000MNT1"}, valid_until=year),
                        cx.issue(node.did, MEMBERSHIP, {}, valid_until=year),
                        cx.issue(node.did, FRAMEWORK_AGREEMENT, {"contractVersion": "1.0"}, valid_until=year)]
    main = FastAPI()

    @main.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    from batteryloop.exchange.app import mount_node

    node.close()
    node = mount_node(main, cfg, "/node")
    node.credentials = [cx.issue(node.did, BPN, {"holderIdentifier": "BPNL00000000MNT1"}, valid_until=year),
                        cx.issue(node.did, MEMBERSHIP, {}, valid_until=year),
                        cx.issue(node.did, FRAMEWORK_AGREEMENT, {"contractVersion": "1.0"}, valid_until=year)]
    served = ThreadedNode(node, sock, app=main)
    try:
        assert httpx.get(base + "/did.json").json()["id"] == node.did
        _, t, data = r.fetch(node.dsp_url, "urn:bl:doc:mounted")
        assert data == {"via": "mount"} and t.state == "COMPLETED"
        assert httpx.get(base.rsplit("/node", 1)[0] + "/api/v1/health").json() == {"status": "ok"}
    finally:
        served.stop()
