"""Every write and restricted endpoint × every kind of caller: allowed → 2xx, anonymous → 401, else 403.

Each cell runs on a fresh passport (owned by the BaaS operator, issued by the automaker), so that one
caller's change never decides another's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from batteryloop.sim import pilot

CALLERS = {
    "anonymous": None,
    "operator": pilot.AUTOMAKER,
    "owner": pilot.BAAS,
    "recycler": pilot.RECYCLER_EU,
    "second_life": pilot.SECOND_LIFE,
    "repairer": pilot.REPAIRER,
    "authority": pilot.AUTHORITY,
    "notified_body": pilot.NOTIFIED_BODY,
    "other_manufacturer": pilot.CELL_KR,
    "admin": "admin",
}
LEGIT = {"operator", "owner", "recycler", "second_life", "repairer", "authority", "admin"}

_n = iter(range(10**6))


def _issue(client: Any) -> str:
    rec = next(pilot.generate_batteries(1, seed=71))
    rec["serial_number"] = f"AUTHZ-{next(_n):06d}"
    rec["owner_id"] = pilot.BAAS
    r = client.post("/api/v1/passports", json=rec, headers={"Authorization": f"Bearer {client.tokens[pilot.AUTOMAKER]}"})
    assert r.status_code == 201
    return r.json()["passport_id"]


Call = Callable[[Any, str, dict[str, str]], Any]
CASES: list[tuple[str, Call, set[str]]] = [
    ("update battery data", lambda c, p, h: c.patch(f"/api/v1/passports/{p}", json={"usage": {"deep_discharge_events": 2}}, headers=h),
     {"operator", "admin"}),
    # status changes by relation (the pack is in no one's custody in the ledger here): a repairer, recycler or
    # second-life operator with no relation to it is refused, whatever its role
    ("re-use", lambda c, p, h: c.post(f"/api/v1/passports/{p}/status", json={"event": "reuse"}, headers=h),
     {"operator", "owner", "admin"}),
    ("repair", lambda c, p, h: c.post(f"/api/v1/passports/{p}/status", json={"event": "repair"}, headers=h),
     {"operator", "owner", "admin"}),
    ("repurpose", lambda c, p, h: c.post(f"/api/v1/passports/{p}/status", json={"event": "repurpose"}, headers=h),
     {"operator", "admin"}),
    ("declare waste", lambda c, p, h: c.post(f"/api/v1/passports/{p}/status", json={"event": "waste"}, headers=h),
     {"operator", "owner", "admin"}),
    ("recycle", lambda c, p, h: c.post(f"/api/v1/passports/{p}/status", json={"event": "recycle"}, headers=h),
     {"operator", "admin"}),
    ("route decision", lambda c, p, h: c.post(f"/api/v1/passports/{p}/route", json={}, headers=h), LEGIT),
    ("export operator tier", lambda c, p, h: c.get(f"/api/v1/passports/{p}/export", params={"tiers": "operator"}, headers=h),
     {"operator", "admin"}),
    ("export authority tier", lambda c, p, h: c.get(f"/api/v1/passports/{p}/export", params={"tiers": "authority"}, headers=h),
     {"operator", "admin", "authority", "notified_body"}),
    ("export legitimate-interest tier",
     lambda c, p, h: c.get(f"/api/v1/passports/{p}/export", params={"tiers": "legitimate_interest"}, headers=h), LEGIT),
    ("filter by status", lambda c, p, h: c.get("/api/v1/passports", params={"status": "original"}, headers=h),
     {"recycler", "second_life", "repairer", "authority", "admin"}),
    ("change the model", lambda c, p, h: c.patch("/api/v1/models/EM-LFP-60", json={"renewable_content_pct": 5.0}, headers=h),
     {"operator", "admin"}),
    ("apply a carbon footprint",
     lambda c, p, h: c.post("/api/v1/models/EM-LFP-60/carbon-footprint", json={"apply": True}, headers=h), {"operator", "admin"}),
    ("issue a passport", lambda c, p, h: c.post("/api/v1/passports", json=dict(
        next(pilot.generate_batteries(1, seed=72)), serial_number=f"NEW-{next(_n):06d}"), headers=h), {"operator", "admin"}),
    ("register a participant", lambda c, p, h: c.post("/api/v1/participants", json={
        "id": f"BPNL{next(_n):012d}", "name": "X", "country": "DE", "roles": ["recycler"]}, headers=h), {"admin"}),
    ("issue the automaker's token", lambda c, p, h: c.post(f"/api/v1/participants/{pilot.AUTOMAKER}/tokens", json={}, headers=h),
     {"operator", "admin"}),
    ("who am I", lambda c, p, h: c.get("/api/v1/me", headers=h), set(CALLERS) - {"anonymous"}),
    ("verify the whole ledger", lambda c, p, h: c.get("/api/v1/trace/verify", headers=h), {"authority", "admin"}),
    ("outflow report", lambda c, p, h: c.get("/api/v1/trace/outflows", headers=h), {"authority", "admin"}),
    ("custody of a pack", lambda c, p, h: c.get(f"/api/v1/trace/packs/{p}/custody", headers=h),
     {"operator", "authority", "admin"}),
    ("grade an intake record", lambda c, p, h: c.post("/api/v1/health/grade", json={"battery_id": "x", "soh_capacity_pct": 80},
                                                     headers=h), set(CALLERS)),
    ("audit log", lambda c, p, h: c.get("/api/v1/audit", headers=h), set(CALLERS) - {"anonymous"}),
]


@pytest.mark.parametrize("who", sorted(CALLERS))
@pytest.mark.parametrize("name,call,allowed", CASES, ids=[c[0] for c in CASES])
def test_matrix(client: Any, who: str, name: str, call: Call, allowed: set[str]) -> None:
    pid = _issue(client)
    pid_holder = CALLERS[who]
    if pid_holder is None:
        headers = {}
    elif pid_holder == "admin":
        headers = {"Authorization": "Bearer admin-secret-token"}
    else:
        headers = {"Authorization": f"Bearer {client.tokens[pid_holder]}"}
    r = call(client, pid, headers)
    if who in allowed:
        # allowed: served (2xx), or an answer about the data itself (e.g. 404: the pack has no events yet; 422:
        # the admin may repurpose but is no economic operator for the new passport)
        data_answer = r.status_code == 404 or (r.status_code == 422 and who == "admin" and name == "repurpose")
        assert r.status_code < 300 or data_answer, (who, name, r.status_code, r.text[:300])
    else:
        expected = 401 if who == "anonymous" else 403
        assert r.status_code == expected, (who, name, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/problem+json")
