"""Digital Twin Registry subset: visibility per BPN, lookups, and the owner's explanation of empty lookups."""

from __future__ import annotations

import json
from typing import Any

import httpx

from batteryloop.exchange.dtr import b64url, passport_shell

from .conftest import ADMIN, AUTOMAKER_BPN, RECYCLER_BPN

SERIAL = "NMC811-042-0000123"
PID = "BL.BPNL000000000EM1.NMC811-042-0000123"


def _q(**ids: str) -> list[tuple[str, str]]:
    return [("assetIds", b64url(json.dumps({"name": k, "value": v}))) for k, v in ids.items()]


def test_visibility_lookup_and_explain(space: dict[str, Any]) -> None:
    a, r, aud = space["automaker"], space["recycler"], space["auditor"]
    shell = passport_shell(PID, manufacturer_id=AUTOMAKER_BPN, serial=SERIAL, dataset_id=f"urn:bl:passport:{PID}",
                           dsp_url=a.dsp_url, visible_to=[RECYCLER_BPN])
    resp = httpx.post(a.base_url + "/api/v3/shell-descriptors", json=shell, headers={"Authorization": f"Bearer {ADMIN}"})
    assert resp.status_code == 201
    url = a.base_url + "/api/v3/lookup/shells"
    # the recycler is named: it finds the shell by serial number
    found = httpx.get(url, params=_q(partInstanceId=SERIAL), headers=r.auth_headers(a.did)).json()
    assert found["result"] == [shell["id"]]
    # the auditor is not: same query, empty result (and no error that would leak the shell's existence)
    empty = httpx.get(url, params=_q(partInstanceId=SERIAL), headers=aud.auth_headers(a.did)).json()
    assert empty["result"] == []
    # but the public manufacturer id is visible to everyone authenticated
    pub = httpx.get(url, params=_q(manufacturerId=AUTOMAKER_BPN), headers=aud.auth_headers(a.did)).json()
    assert pub["result"] == [shell["id"]]
    # the owner asks why the auditor's lookup was empty
    why = httpx.get(a.base_url + "/api/v3/lookup/explain", params=[("bpn", aud.config.participant_id),
                                                                    *_q(partInstanceId=SERIAL)],
                    headers={"Authorization": f"Bearer {ADMIN}"}).json()
    assert why[0]["found"] is False
    assert f"partInstanceId={SERIAL} is visible to only {RECYCLER_BPN}, not to {aud.config.participant_id}" \
        in why[0]["reasons"][0]
    # nobody but the owner may ask for explanations or register shells
    assert httpx.get(a.base_url + "/api/v3/lookup/explain", params=[("bpn", "x")],
                     headers=r.auth_headers(a.did)).status_code == 401
    # the descriptor as the auditor sees it: only the public id, and no visibility lists
    d = httpx.get(a.base_url + f"/api/v3/shell-descriptors/{b64url(shell['id'])}", headers=aud.auth_headers(a.did))
    assert d.status_code == 200
    assert [s["name"] for s in d.json()["specificAssetIds"]] == ["manufacturerId"]
    assert "externalSubjectId" not in d.text
    # the recycler also gets the submodel endpoint with its DSP dataset
    d2 = httpx.get(a.base_url + f"/api/v3/shell-descriptors/{b64url(shell['id'])}", headers=r.auth_headers(a.did))
    body = d2.json()["submodelDescriptors"][0]["endpoints"][0]["protocolInformation"]["subprotocolBody"]
    assert body == f"id=urn:bl:passport:{PID};dspEndpoint={a.dsp_url}"


def test_dtr_fixture_request_shape_is_accepted(space: dict[str, Any], fixtures_dir: Any) -> None:
    a = space["automaker"]
    case = fixtures_dir / "dtr/aas-registry-usecases/12_testCreateSpecificAssetIdsExpectSuccess/1_post_shell"
    req = json.loads((case / "request.json").read_text())
    r = httpx.post(a.base_url + req["url"], json=req["body"], headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 201
    got = httpx.get(a.base_url + f"/api/v3/shell-descriptors/{b64url(req['body']['id'])}",
                    headers={"Authorization": f"Bearer {ADMIN}"})
    assert got.json()["specificAssetIds"] == req["body"]["specificAssetIds"]
