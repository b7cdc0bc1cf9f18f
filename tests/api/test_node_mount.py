"""BATTERYLOOP_NODE_CONFIG makes the registry also a data-space connector under /node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batteryloop.server import create_app
from tests.conftest import make_services


def test_main_app_mounts_the_node(sqlite_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "node.json"
    cfg.write_text(json.dumps({"name": "registry-node", "participant_id": "BPNL000000000EM1",
                               "base_url": "http://testserver/node", "database_url": sqlite_store.url}))
    monkeypatch.setenv("BATTERYLOOP_NODE_CONFIG", str(cfg))
    with TestClient(create_app(services=make_services(sqlite_store))) as c:
        doc = c.get("/node/did.json")
        assert doc.status_code == 200 and doc.json()["id"] == "did:web:testserver:node"
        assert c.get("/api/v1/health").json()["status"] == "ok"
    monkeypatch.setenv("BATTERYLOOP_NODE_CONFIG", str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError):
        create_app(services=make_services(sqlite_store))
