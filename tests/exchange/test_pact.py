"""PACT v3 endpoints against the conformance cases of fixtures/pact-conformance (numbers as there)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from .test_bridge import bridged  # noqa: F401 - the cell maker's CFP, registered by the bridge set-up
from .conftest import CELL_TRACE, CELLMAKER_OPERATOR


def _token(base: str, cid: str = "automaker-pact", secret: str = "pact-secret") -> httpx.Response:
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    return httpx.post(base + "/auth/token", content="grant_type=client_credentials",
                      headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})


@pytest.fixture
def pact(space: dict[str, Any], bridged: Any) -> dict[str, Any]:  # noqa: F811
    c = space["cellmaker"]
    tok = _token(c.base_url).json()["access_token"]
    return {"base": c.base_url, "h": {"Authorization": f"Bearer {tok}"}}


def test_cases_1_2_token(space: dict[str, Any]) -> None:
    base = space["cellmaker"].base_url
    ok = _token(base)
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer" and ok.json()["expires_in"] > 0
    bad = _token(base, secret="wrong")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


def test_cases_3_4_8_get_and_list(pact: dict[str, Any]) -> None:
    lst = httpx.get(pact["base"] + "/3/footprints", headers=pact["h"])
    assert lst.status_code == 200
    fps = lst.json()["data"]
    mine = [f for f in fps if f"urn:batteryloop:trace:{CELL_TRACE}" in f["productIds"]]
    assert len(mine) == 1
    fp = mine[0]
    assert fp["pcf"]["carbonFootprint"] == {"value": pytest.approx(58.0, abs=1e-4), "uom": "kg CO2e"}
    assert fp["pcf"]["declaredUnit"] == "kilowatt hour"
    one = httpx.get(pact["base"] + f"/3/footprints/{fp['id']}", headers=pact["h"])
    assert one.status_code == 200 and one.json()["data"] == fp
    missing = httpx.get(pact["base"] + "/3/footprints/non-existent-id", headers=pact["h"])
    assert missing.status_code == 404 and missing.json()["code"] == "NoSuchFootprint"
    # only totals: the component split of the cell maker is not in the footprint
    assert "preComponent" not in lst.text and "Kansai" not in lst.text


def test_case_5_pagination(pact: dict[str, Any]) -> None:
    r = httpx.get(pact["base"] + "/3/footprints", params={"page": 1, "pageSize": 1}, headers=pact["h"])
    assert r.status_code == 200 and len(r.json()["data"]) == 1
    r2 = httpx.get(pact["base"] + "/3/footprints", params={"page": 9, "pageSize": 1}, headers=pact["h"])
    assert r2.status_code == 200 and r2.json()["data"] == []


@pytest.mark.parametrize("path", ["/3/footprints", "/3/footprints/some-id"])
def test_cases_6_7_invalid_token(space: dict[str, Any], path: str) -> None:
    r = httpx.get(space["cellmaker"].base_url + path, headers={"Authorization": "Bearer invalid-access-token"})
    assert r.status_code == 400 and r.json() == {"code": "BadRequest", "message": "Invalid token provided"}


@pytest.mark.parametrize("etype", ["RequestCreatedEvent", "RequestFulfilledEvent", "RequestRejectedEvent",
                                   "PublishedEvent"])
def test_cases_12_to_15_events(pact: dict[str, Any], etype: str) -> None:
    ev = {"specversion": "1.0", "id": f"ev-{etype}", "source": "https://automaker.example/webhook",
          "time": "2026-01-05T09:00:00Z", "type": f"org.wbcsd.pact.ProductFootprint.{etype}.3",
          "data": {"pf": {"productIds": [f"urn:batteryloop:trace:{CELL_TRACE}"]}, "comment": "annual update"}}
    r = httpx.post(pact["base"] + "/3/events", json=ev,
                   headers={**pact["h"], "Content-Type": "application/cloudevents+json; charset=UTF-8"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"


def test_case_16_events_invalid_token_and_malformed(pact: dict[str, Any]) -> None:
    r = httpx.post(pact["base"] + "/3/events", json={}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 400
    r = httpx.post(pact["base"] + "/3/events", json={"type": "x"}, headers=pact["h"])
    assert r.status_code == 400 and "lacks" in r.json()["message"]


@pytest.mark.parametrize("params, hit", [
    ({"$productId": f"urn:batteryloop:trace:{CELL_TRACE}"}, True),
    ({"$productId": "urn:gtin:0000000000000"}, False),
    ({"$companyId": f"urn:batteryloop:participant:{CELLMAKER_OPERATOR}"}, True),
    ({"$geography": "FR"}, False),
    ({"$classification": "urn:eclass:none"}, False),
    ({"$validOn": "2026-06-01T00:00:00Z"}, True),
    ({"$validOn": "2020-06-01T00:00:00Z"}, False),
    ({"$validAfter": "2024-12-31T00:00:00Z"}, True),
    ({"$validBefore": "2026-01-01T00:00:00Z"}, False),
    ({"$status": "Active"}, True),
    ({"$status": "Active", "$productId": f"urn:batteryloop:trace:{CELL_TRACE}"}, True),
])
def test_cases_20_to_28_filters(pact: dict[str, Any], params: dict[str, str], hit: bool) -> None:
    r = httpx.get(pact["base"] + "/3/footprints", params=params, headers=pact["h"])
    assert r.status_code == 200
    assert any(f"urn:batteryloop:trace:{CELL_TRACE}" in f["productIds"] for f in r.json()["data"]) is hit
