"""The Digital Twin Registry of a node run on its own (``node serve``: a real uvicorn server per node): the same
registry as the main API's /api/v3 (every Tractus-X operation), on the node's store, for callers known by the
node's admin token or by a verifiable presentation for the node (the BPN its BpnCredential proves).

Expectations are worked out by hand from the Tractus-X rules (docs/exchange.md, "Digital Twin Registry")."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx

from .conftest import ADMIN, AUTOMAKER_BPN, RECYCLER_BPN

SERIAL = "NMC811-042-0000123"
SHELL = "urn:example:shell:nmc811-042-0000123"
PUBLIC = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": "PUBLIC_READABLE"}]}


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _q(**ids: str) -> list[tuple[str, str]]:
    return [("assetIds", b64(json.dumps({"name": k, "value": v}))) for k, v in ids.items()]


def _descriptor() -> dict[str, Any]:
    to_recycler = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": RECYCLER_BPN}]}
    return {"id": SHELL, "idShort": "battery_0000123", "globalAssetId": "urn:uuid:0b4d7b0e-9f39-4c1a-8d61-0c1b8f4f4e11",
            "specificAssetIds": [
                {"name": "manufacturerId", "value": AUTOMAKER_BPN, "externalSubjectId": to_recycler},
                {"name": "manufacturerPartId", "value": "NMC811-042", "externalSubjectId": PUBLIC},
                {"name": "partInstanceId", "value": SERIAL, "externalSubjectId": to_recycler}],
            "submodelDescriptors": [{"id": "urn:example:sm:1", "idShort": "BatteryPass", "endpoints": [
                {"interface": "SUBMODEL-3.0", "protocolInformation": {"href": "http://example.org/data/1"}}]}]}


def test_a_standalone_node_serves_the_full_registry(space: dict[str, Any]) -> None:
    a, r, aud = space["automaker"], space["recycler"], space["auditor"]
    v3 = a.base_url + "/api/v3"
    owner = {"Authorization": f"Bearer {ADMIN}", "Edc-Bpn": AUTOMAKER_BPN}  # the node's connector, for its BPN
    d = _descriptor()
    resp = httpx.post(v3 + "/shell-descriptors", json=d, headers=owner)
    assert resp.status_code == 201, resp.text
    assert resp.headers["location"] == f"/api/v3/shell-descriptors/{b64(SHELL)}"
    # a duplicate is a 409 with a Part 2 Result (the old subset overwrote it with a 201)
    again = httpx.post(v3 + "/shell-descriptors", json=d, headers=owner)
    assert again.status_code == 409 and again.json()["messages"][0]["code"] == "409"
    # the recycler, by its presentation (BPN credential), is named: it finds the shell by serial number
    found = httpx.get(v3 + "/lookup/shells", params=_q(partInstanceId=SERIAL), headers=r.auth_headers(a.did))
    assert found.status_code == 200, found.text
    assert found.json()["result"] == [SHELL]
    # the auditor is not: same query, empty result — and the public manufacturerPartId does not open a lookup
    # through partInstanceId; it opens one through itself
    assert httpx.get(v3 + "/lookup/shells", params=_q(partInstanceId=SERIAL),
                     headers=aud.auth_headers(a.did)).json()["result"] == []
    assert httpx.get(v3 + "/lookup/shells", params=_q(manufacturerPartId="NMC811-042"),
                     headers=aud.auth_headers(a.did)).json()["result"] == [SHELL]
    # the descriptor as the auditor sees it: cut to its id, the public id and the submodel descriptors
    seen = httpx.get(v3 + f"/shell-descriptors/{b64(SHELL)}", headers=aud.auth_headers(a.did)).json()
    assert sorted(seen) == ["id", "specificAssetIds", "submodelDescriptors"]
    assert [s["name"] for s in seen["specificAssetIds"]] == ["manufacturerPartId"]
    # the recycler sees its ids, with only its own key of the externalSubjectId
    mine = httpx.get(v3 + f"/shell-descriptors/{b64(SHELL)}", headers=r.auth_headers(a.did)).json()
    assert [s["name"] for s in mine["specificAssetIds"]] == ["manufacturerId", "manufacturerPartId", "partInstanceId"]
    # the recycler may not change the automaker's shell (403), nor forward for another BPN
    put = httpx.put(v3 + f"/shell-descriptors/{b64(SHELL)}", json=d, headers=r.auth_headers(a.did))
    assert put.status_code == 403 and "twin.update" in put.json()["messages"][0]["text"]
    fwd = httpx.get(v3 + "/shell-descriptors", headers={**r.auth_headers(a.did), "Edc-Bpn": AUTOMAKER_BPN})
    assert fwd.status_code == 403
    # listing and paging: the owner sees its shell; the auditor's list holds only what it may see
    listed = httpx.get(v3 + "/shell-descriptors", params={"limit": 1}, headers=owner).json()
    assert [x["id"] for x in listed["result"]] == [SHELL]
    # a presentation that is not one, or one made for another node, is a 401 Result naming why
    bad = httpx.get(v3 + "/shell-descriptors", headers={"Authorization": "Bearer not-a-presentation"})
    assert bad.status_code == 401 and bad.json()["messages"][0]["code"] == "401"
    other = httpx.get(v3 + "/shell-descriptors", headers=r.auth_headers(aud.did))
    assert other.status_code == 401 and "refused" in other.json()["messages"][0]["text"]
    # the old subset's operations that the full registry has are all there: description, asset links, delete
    assert "profiles" in httpx.get(v3 + "/description").json()
    links = httpx.get(v3 + f"/lookup/shells/{b64(SHELL)}", headers=owner).json()
    assert [s["name"] for s in links] == ["manufacturerId", "manufacturerPartId", "partInstanceId"]
    assert httpx.delete(v3 + f"/shell-descriptors/{b64(SHELL)}", headers=owner).status_code == 204
    gone = httpx.get(v3 + f"/shell-descriptors/{b64(SHELL)}", headers=owner)
    assert gone.status_code == 404 and gone.json()["messages"][0]["code"] == "404"
    # the node's OpenAPI document names the registry's schemas it refers to
    doc = httpx.get(a.base_url + "/openapi.json").json()
    assert "DtrAssetAdministrationShellDescriptor" in doc["components"]["schemas"]


def test_dtr_fixture_request_shape_is_accepted(space: dict[str, Any], fixtures_dir: Path) -> None:
    a = space["automaker"]
    case = fixtures_dir / "dtr/aas-registry-usecases/12_testCreateSpecificAssetIdsExpectSuccess/1_post_shell"
    req = json.loads((case / "request.json").read_text())
    r = httpx.post(a.base_url + req["url"], json=req["body"], headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 201, r.text
    got = httpx.get(a.base_url + f"/api/v3/shell-descriptors/{b64(req['body']['id'])}",
                    headers={"Authorization": f"Bearer {ADMIN}"})
    assert got.json()["specificAssetIds"] == req["body"]["specificAssetIds"]


def test_the_tractus_x_use_cases_on_a_standalone_node(cluster: Any, fixtures_dir: Path) -> None:
    """The six steps of the Tractus-X use cases (tests/api/test_dtr_api.py replays them on the main API) on a
    fresh node run on its own, tenant TENANT_ONE being the node's connector forwarding for the automaker."""
    from tests.api.test_dtr_api import _check_step

    n = cluster.node("dtr-replay", participant_id=AUTOMAKER_BPN)
    headers = {"Authorization": f"Bearer {ADMIN}", "Edc-Bpn": AUTOMAKER_BPN}
    failures, total = [], 0
    for case in sorted((fixtures_dir / "dtr/aas-registry-usecases").iterdir()):
        for step in sorted(p for p in case.iterdir() if p.is_dir()):
            req = json.loads((step / "request.json").read_text())
            resp = httpx.request(req["method"], n.base_url + req["url"], json=req["body"], headers=headers)
            total += 1
            failures += [f"{case.name}/{step.name}: {w}" for w in _check_step(step, resp)]
    assert total == 6
    assert not failures, failures
