"""A node's handlers never verify or sign on the event loop: a verifiable presentation's check (signatures,
credentials, status lists, DID documents: CPU and network work) or a token's signature runs in a worker
thread, so one slow caller does not stall every other request the node serves.

In-process (TestClient: the app's one event loop in its own thread): a stand-in records whether an event loop
runs in the thread that calls it; the DTR test also holds two requests inside the presentation check at once
(a barrier of two), which only a node that checks off the loop can do — on the loop the first request blocks it
and the second never starts."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batteryloop.exchange.app import create_node_app
from batteryloop.exchange.config import NodeConfig
from batteryloop.exchange.node import Node

ADMIN = "admin-token-off-the-loop"


def on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def recording(fn: Callable[..., Any], seen: list[bool], barrier: threading.Barrier | None = None) -> Callable[..., Any]:
    def spy(*args: Any, **kw: Any) -> Any:
        seen.append(on_loop())
        if barrier is not None:
            barrier.wait()
        return fn(*args, **kw)

    return spy


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    cfg = NodeConfig(name="loop", participant_id="BPNL00000000LOOP", base_url="http://127.0.0.1:9/loop",
                     database_url=f"sqlite:///{tmp_path}/loop.db", admin_token=ADMIN, issuer=True,
                     pact_clients={"pact-client": "pact-secret"})
    n = Node(cfg)
    yield n
    n.close()


def test_two_registry_callers_are_verified_at_once_off_the_loop(node: Node) -> None:
    seen: list[bool] = []
    node.authenticate = recording(node.authenticate, seen, threading.Barrier(2, timeout=10))  # type: ignore[method-assign]
    with TestClient(create_node_app(node)) as c, ThreadPoolExecutor(2) as pool:
        answers = [pool.submit(c.post, "/api/v3/shell-descriptors", json={"id": f"urn:x:{i}", "idShort": "x"},
                               headers={"Authorization": "Bearer not-a-presentation"}) for i in range(2)]
        rs = [a.result() for a in answers]
    assert seen == [False, False]
    assert [r.status_code for r in rs] == [401, 401] and "presentation is refused" in rs[0].text


@pytest.mark.parametrize("path", ["/api/v3/shell-descriptors/{s}/submodel-descriptors", "/api/v3/lookup/shells/{s}",
                                  "/api/v3/lookup/shellsByAssetLink", "/api/v3/submodel-descriptor/authorized",
                                  "/api/v3/shell-descriptors/{s}"])
def test_every_registry_write_knows_its_caller_off_the_loop(node: Node, path: str) -> None:
    seen: list[bool] = []
    node.authenticate = recording(node.authenticate, seen)  # type: ignore[method-assign]
    s = base64.urlsafe_b64encode(b"urn:x:1").decode().rstrip("=")
    body: Any = {"id": "urn:x:1", "idShort": "x"}
    if "lookup" in path:
        body = [{"name": "a", "value": "b"}]
    elif "authorized" in path:
        body = {"submodelEndpointUrl": "http://x/sm"}
    method = "PUT" if path.endswith("{s}") and "lookup" not in path else "POST"
    with TestClient(create_node_app(node)) as c:
        r = c.request(method, path.format(s=s), json=body, headers={"Authorization": "Bearer not-a-presentation"})
    assert r.status_code == 401, r.text
    assert seen == [False]


def test_credentials_and_pact_tokens_are_signed_and_checked_off_the_loop(node: Node,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from batteryloop.exchange import pact

    issued: list[bool] = []
    node.issue = recording(node.issue, issued)  # type: ignore[method-assign]
    signed: list[bool] = []
    checked: list[bool] = []
    monkeypatch.setattr(pact.jwt, "encode", recording(pact.jwt.encode, signed))
    monkeypatch.setattr(pact.jwt, "decode", recording(pact.jwt.decode, checked))
    with TestClient(create_node_app(node)) as c:
        r = c.post("/management/credentials", headers={"Authorization": f"Bearer {ADMIN}"},
                   json={"subject": "did:web:example.com", "type": "MembershipCredential", "claims": {}})
        assert r.status_code == 200, r.text
        basic = base64.b64encode(b"pact-client:pact-secret").decode()
        r = c.post("/auth/token", content="grant_type=client_credentials",
                   headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200, r.text
        tok = r.json()["access_token"]
        r = c.post("/3/events", headers={"Authorization": f"Bearer {tok}"},
                   json={"specversion": "1.0", "id": "e1", "source": "//x", "type": "nope", "data": {}})
        assert r.status_code == 400 and "unknown event type" in r.text  # the token was accepted
    # (the credential's signature goes through joserfc's jwt.encode too)
    assert issued == [False] and signed and checked and not any(signed + checked)
