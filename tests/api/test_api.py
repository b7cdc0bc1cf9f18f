"""The REST API through HTTP: auth, problem+json errors, create/read/search/history/diff/QR/status."""

from __future__ import annotations

import copy
from typing import Any
from xml.etree import ElementTree

from batteryloop.sim import pilot

OP = pilot.AUTOMAKER


def H(client: Any, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[who]}"}


def _issue(client: Any, seed: int = 1, **over: Any) -> dict[str, Any]:
    rec = next(pilot.generate_batteries(1, seed=seed))
    rec.update(over)
    r = client.post("/api/v1/passports", json=rec, headers=H(client, OP))
    assert r.status_code == 201, r.text
    return r.json()


def _is_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def test_health_and_openapi(client: Any) -> None:
    assert client.get("/api/v1/health").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/passports", "/api/v1/passports/{passport_id}", "/api/v1/passports/{passport_id}/diff",
                 "/api/v1/passports/{passport_id}/qr.svg", "/api/v1/models", "/api/v1/participants"):
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_auth_rules(client: Any) -> None:
    rec = next(pilot.generate_batteries(1, seed=2))
    # anonymous write: 401 before anything is validated
    _is_problem(client.post("/api/v1/passports", json={}), 401)
    _is_problem(client.post("/api/v1/passports", json=rec, headers={"Authorization": "Bearer nope"}), 401)
    _is_problem(client.post("/api/v1/passports", json=rec, headers={"Authorization": "Basic abc"}), 401)
    # another participant may not issue the automaker's passports
    body = _is_problem(client.post("/api/v1/passports", json=rec, headers=H(client, pilot.RECYCLER_EU)), 403)
    assert OP in body["detail"]
    # only the admin registers participants
    new = {"id": "BPNL00000000NEW1", "name": "New Co", "country": "FR", "roles": ["recycler"]}
    _is_problem(client.post("/api/v1/participants", json=new, headers=H(client, OP)), 403)
    r = client.post("/api/v1/participants", json=new, headers={"Authorization": "Bearer admin-secret-token"})
    assert r.status_code == 201 and r.json()["id_scheme"] == "bpnl"
    _is_problem(client.post("/api/v1/participants", json=new, headers={"Authorization": "Bearer admin-secret-token"}), 409)
    # a public key for signed events is checked at registration, named, and nothing is stored: not base64url, not
    # 32 bytes, or a small-order point (the neutral element verifies "R = neutral, S = 0" under a lax check)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from batteryloop.trace.keys import Signer, b64url_encode

    admin = {"Authorization": "Bearer admin-secret-token"}
    for key, says in (("not base64 !!", "not base64url"), (b64url_encode(bytes(5)), "32 raw bytes"),
                      (b64url_encode((1).to_bytes(32, "little")), "small-order")):
        bad = {**new, "id": "BPNL00000000KEY1", "public_key": key}
        body = _is_problem(client.post("/api/v1/participants", json=bad, headers=admin), 422)
        assert "public_key" in str(body) and says in str(body), body
        assert client.get("/api/v1/participants/BPNL00000000KEY1", headers=admin).status_code == 404
    good = Signer("BPNL00000000KEY1", Ed25519PrivateKey.generate()).public_key_text
    r = client.post("/api/v1/participants", json={**new, "id": "BPNL00000000KEY1", "public_key": good}, headers=admin)
    assert r.status_code == 201 and r.json()["public_key"] == good
    tok = client.post("/api/v1/participants/BPNL00000000NEW1/tokens", json={"label": "x"},
                      headers={"Authorization": "Bearer admin-secret-token"}).json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {tok}"}).json()["name"] == "New Co"
    # tokens are stored hashed: the clear token is nowhere in the database
    from sqlalchemy import select

    from batteryloop.store.tables import api_tokens

    with client.services.store.read() as conn:
        hashes = list(conn.execute(select(api_tokens.c.token_hash)).scalars())
    assert tok not in hashes and all(len(h) == 64 for h in hashes)


def test_validation_error_is_problem_naming_field(client: Any) -> None:
    rec = next(pilot.generate_batteries(1, seed=3))
    rec["state_of_health"]["soh_capacity_pct"] = 130
    body = _is_problem(client.post("/api/v1/passports", json=rec, headers=H(client, OP)), 422)
    assert body["errors"][0]["field"] == "state_of_health.soh_capacity_pct"
    assert "state_of_health.soh_capacity_pct" in body["detail"]
    assert client.get("/api/v1/stats").json()["passports"] == 0


def test_create_get_cut_to_tier(client: Any) -> None:
    p = _issue(client, owner_id=pilot.BAAS)
    pid = p["passport_id"]
    assert pid == f"BL.{OP}.{p['battery']['serial_number']}"
    anon = client.get(f"/api/v1/passports/{pid}").json()
    assert anon["access_tiers"] == ["public"] and "state_of_health" not in anon["battery"]
    assert "dismantling_information" not in anon["model"]
    rec = client.get(f"/api/v1/passports/{pid}", headers=H(client, pilot.RECYCLER_EU)).json()
    assert "state_of_health" in rec["battery"] and "dismantling_information" in rec["model"]
    assert "owner_id" not in rec["battery"] and "test_reports" not in rec["model"]
    owner = client.get(f"/api/v1/passports/{pid}", headers=H(client, pilot.BAAS)).json()
    assert owner["access_tiers"] == ["public", "legitimate_interest"]
    nb = client.get(f"/api/v1/passports/{pid}", headers=H(client, pilot.NOTIFIED_BODY)).json()
    assert "test_reports" in nb["model"] and "state_of_health" not in nb["battery"]
    _is_problem(client.get("/api/v1/passports/BL.NOPE.X"), 404)


def test_search_pagination_and_status_filter(client: Any) -> None:
    recs = list(pilot.generate_batteries(30, seed=5))
    r = client.post("/api/v1/passports/batch", json={"passports": recs}, headers=H(client, OP))
    assert r.status_code == 201 and r.json()["stored"] == 30
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 7}
        if after:
            params["after"] = after
        page = client.get("/api/v1/passports", params=params).json()
        seen += [i["passport_id"] for i in page["items"]]
        after = page["next"]
        if not after:
            break
    assert len(seen) == 30 and seen == sorted(seen)
    lfp = client.get("/api/v1/passports", params={"chemistry": "LFP", "limit": 100}).json()["items"]
    assert len(lfp) == 10 and all(i["battery"]["model_id"] == "EM-LFP-60" for i in lfp)
    # filtering by status would leak it: anonymous callers are refused, recyclers may
    _is_problem(client.get("/api/v1/passports", params={"status": "original"}), 401)
    _is_problem(client.get("/api/v1/passports", params={"status": "original"}, headers=H(client, pilot.CELL_JP)), 403)
    ok = client.get("/api/v1/passports", params={"status": "original", "limit": 500}, headers=H(client, pilot.RECYCLER_EU))
    assert len(ok.json()["items"]) == 30
    _is_problem(client.get("/api/v1/passports", params={"limit": 0}), 422)
    _is_problem(client.get("/api/v1/passports", params={"chemistry": "XYZ"}), 422)


def test_batch_is_all_or_nothing(client: Any) -> None:
    recs = list(pilot.generate_batteries(5, seed=6))
    bad = copy.deepcopy(recs)
    bad[3]["manufacture_country"] = "Korea"
    body = _is_problem(client.post("/api/v1/passports/batch", json={"passports": bad}, headers=H(client, OP)), 422)
    assert "record 3" in body["detail"] and "manufacture_country" in body["detail"]
    assert client.get("/api/v1/stats").json()["passports"] == 0
    dup = recs + [recs[0]]
    body = _is_problem(client.post("/api/v1/passports/batch", json={"passports": dup}, headers=H(client, OP)), 422)
    assert "twice" in body["detail"]
    assert client.get("/api/v1/stats").json()["passports"] == 0


def test_update_history_diff_verify(client: Any) -> None:
    pid = _issue(client)["passport_id"]
    r = client.patch(f"/api/v1/passports/{pid}", params={"reason": "BMS update", "if_version": 1},
                     json={"state_of_health": {"soh_capacity_pct": 80.0}}, headers=H(client, OP))
    assert r.status_code == 200 and r.json()["version"] == 2
    # a stale writer is refused
    _is_problem(client.patch(f"/api/v1/passports/{pid}", params={"if_version": 1},
                             json={"state_of_health": {"soh_capacity_pct": 70.0}}, headers=H(client, OP)), 409)
    _is_problem(client.patch(f"/api/v1/passports/{pid}", json={"status": "waste"}, headers=H(client, OP)), 422)
    _is_problem(client.patch(f"/api/v1/passports/{pid}", json={"usage": {"deep_discharge_events": 1}},
                             headers=H(client, pilot.RECYCLER_EU)), 403)
    hist = client.get(f"/api/v1/passports/{pid}/versions", headers=H(client, OP)).json()
    assert [h["reason"] for h in hist] == ["issued", "BMS update"]
    anon = client.get(f"/api/v1/passports/{pid}/versions").json()  # strangers: numbers, hashes, times only
    assert [h["hash"] for h in anon] == [h["hash"] for h in hist] and all("reason" not in h for h in anon)
    d = client.get(f"/api/v1/passports/{pid}/diff", params={"from": 1, "to": 2}, headers=H(client, OP)).json()
    assert [c["field"] for c in d["changes"]] == ["state_of_health.soh_capacity_pct"]
    # the public sees no state-of-health change in the diff
    assert client.get(f"/api/v1/passports/{pid}/diff", params={"from": 1, "to": 2}).json()["changes"] == []
    assert client.get(f"/api/v1/passports/{pid}/verify").json()["ok"] is True
    _is_problem(client.get(f"/api/v1/passports/{pid}/versions/9"), 404)


def test_qr_codes(client: Any) -> None:
    pid = _issue(client)["passport_id"]
    svg = client.get(f"/api/v1/passports/{pid}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(svg.content)
    assert root.tag.endswith("svg")
    png = client.get(f"/api/v1/passports/{pid}/qr.png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    import segno

    link = f"http://testserver/p/{pid}"
    assert segno.make(link, error="m", boost_error=False).designator == \
        __import__("batteryloop.passport.identifiers", fromlist=["qr_code"]).qr_code(link).designator
    assert client.get(f"/p/{pid}").status_code == 200


def test_status_rules(client: Any) -> None:
    pid = _issue(client, seed=8)["passport_id"]

    def delegate(passport: str, by: str, to: str, *actions: str) -> None:
        r = client.post(f"/api/v1/passports/{passport}/delegations", json={"grantee_id": to, "actions": list(actions)},
                        headers=H(client, by))
        assert r.status_code == 201, r.text

    # a repairer with no relation to the pack may not; delegated by the operator, it may: re-use keeps the passport
    _is_problem(client.post(f"/api/v1/passports/{pid}/status", json={"event": "reuse"},
                            headers=H(client, pilot.REPAIRER)), 403)
    delegate(pid, OP, pilot.REPAIRER, "passport.status.reuse")
    r = client.post(f"/api/v1/passports/{pid}/status", json={"event": "reuse"}, headers=H(client, pilot.REPAIRER))
    assert r.status_code == 200 and r.json()["passport_id"] == pid
    # a recycler may not repurpose, even delegated (it is no second-life operator); a second-life operator the
    # operator delegated to may, and gets a new linked passport
    delegate(pid, OP, pilot.RECYCLER_EU, "passport.status.repurpose")
    _is_problem(client.post(f"/api/v1/passports/{pid}/status", json={"event": "repurpose"},
                            headers=H(client, pilot.RECYCLER_EU)), 403)
    _is_problem(client.post(f"/api/v1/passports/{pid}/status", json={"event": "repurpose"},
                            headers=H(client, pilot.SECOND_LIFE)), 403)
    delegate(pid, OP, pilot.SECOND_LIFE, "passport.status.repurpose")
    r = client.post(f"/api/v1/passports/{pid}/status", json={"event": "repurpose", "new_serial_number": "SL-0001"},
                    headers=H(client, pilot.SECOND_LIFE))
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["passport_id"] == f"BL.{pilot.SECOND_LIFE}.SL-0001"
    assert new["battery"]["predecessor_ids"] == [pid] and new["battery"]["status"] == "repurposed"
    old = client.get(f"/api/v1/passports/{pid}").json()
    assert old["battery"]["successor_id"] == new["passport_id"]
    # the old passport is read-only now
    _is_problem(client.post(f"/api/v1/passports/{pid}/status", json={"event": "reuse"}, headers=H(client, OP)), 409)
    _is_problem(client.patch(f"/api/v1/passports/{pid}", json={"usage": {"deep_discharge_events": 1}},
                             headers=H(client, OP)), 409)
    # recycling archives the new one
    nid = new["passport_id"]
    _is_problem(client.post(f"/api/v1/passports/{nid}/status", json={"event": "recycle"},
                            headers=H(client, pilot.RECYCLER_EU)), 403)
    delegate(nid, pilot.SECOND_LIFE, pilot.RECYCLER_EU, "passport.status.recycle")  # the new passport's operator
    r = client.post(f"/api/v1/passports/{nid}/status", json={"event": "recycle"}, headers=H(client, pilot.RECYCLER_EU))
    assert r.status_code == 200 and r.json()["archived"] is True
    body = _is_problem(client.post(f"/api/v1/passports/{nid}/status", json={"event": "reuse"},
                                   headers=H(client, pilot.SECOND_LIFE)), 409)
    assert "archived" in body["detail"]
    assert client.get(f"/api/v1/passports/{nid}/verify").json()["ok"]


def test_web_pages(client: Any) -> None:
    pid = _issue(client, owner_id=pilot.BAAS)["passport_id"]
    dash = client.get("/")
    assert dash.status_code == 200 and "EuroMotors Pack 82 NMC" in dash.text and pid in dash.text
    page = client.get(f"/p/{pid}")
    assert "Sign in" in page.text and "State of health" not in page.text
    assert 'name="viewport"' in page.text
    r = client.post("/login", data={"token": client.tokens[pilot.RECYCLER_EU], "next": f"/p/{pid}"},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/p/{pid}")
    assert "State of health" in page.text and "Dismantling information" in page.text
    client.get("/logout")
    client.cookies.clear()
    assert client.post("/login", data={"token": "wrong"}).status_code == 401
    assert client.get("/p/BL.X.Y").status_code == 404


def test_dashboard_fleet_charts_follow_tiers(client: Any) -> None:
    import plotly

    recs = list(pilot.generate_batteries(12, seed=81))
    assert client.post("/api/v1/passports/batch", json={"passports": recs}, headers=H(client, OP)).status_code == 201
    anon = client.get("/")
    assert "soh-hist" not in anon.text and "Sign in as a participant" in anon.text
    client.cookies.set("batteryloop_token", client.tokens[pilot.RECYCLER_EU])
    signed = client.get("/")
    client.cookies.clear()
    assert "soh-hist" in signed.text and f"/static/vendor/plotly-{plotly.__version__}.min.js" in signed.text
    fleet = client.services.passports.fleet_health(client.services.participants.authenticate(client.tokens[pilot.RECYCLER_EU]))
    assert fleet["packs"] == 12
    socs = sorted(v for e in fleet["by_chemistry"].values() for v in e["soh_pct"])
    assert socs == sorted(r["state_of_health"]["soh_capacity_pct"] for r in recs)
    # another manufacturer has no legitimate interest in the automaker's fleet
    other = client.services.participants.authenticate(client.tokens[pilot.CELL_KR])
    assert client.services.passports.fleet_health(other)["packs"] == 0
    js = client.get(f"/static/vendor/plotly-{plotly.__version__}.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript") and len(js.content) > 1_000_000
    assert client.get("/static/vendor/plotly-0.0.1.min.js").status_code == 404
