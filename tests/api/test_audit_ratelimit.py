"""The audit log of restricted reads, and rate limiting of anonymous requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from batteryloop.server import build_services, create_app
from batteryloop.config import Settings
from batteryloop.sim import pilot


def H(client: Any, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[who]}"}


def test_restricted_reads_are_audited(client: Any) -> None:
    pid = client.post("/api/v1/passports", json=next(pilot.generate_batteries(1, seed=61)),
                      headers=H(client, pilot.AUTOMAKER)).json()["passport_id"]
    client.get(f"/api/v1/passports/{pid}")  # public: not a restricted read
    client.get(f"/api/v1/passports/{pid}", headers=H(client, pilot.RECYCLER_EU))
    client.get(f"/api/v1/passports/{pid}/export", headers=H(client, pilot.AUTHORITY))
    client.get(f"/api/v1/passports/{pid}/versions/1", headers=H(client, pilot.NOTIFIED_BODY))
    client.cookies.set("batteryloop_token", client.tokens[pilot.SECOND_LIFE])
    client.get(f"/p/{pid}")
    client.cookies.clear()
    # the economic operator reading its own passport is not a disclosure
    client.get(f"/api/v1/passports/{pid}", headers=H(client, pilot.AUTOMAKER))

    log = client.get("/api/v1/audit", params={"passport_id": pid}, headers=H(client, pilot.AUTHORITY)).json()
    got = {(e["actor"], e["action"], e["channel"], e["tiers"]) for e in log}
    assert got == {
        (pilot.RECYCLER_EU, "read", "api", "legitimate_interest"),
        (pilot.AUTHORITY, "export", "export", "legitimate_interest,authority"),
        (pilot.NOTIFIED_BODY, "read_version_1", "api", "authority"),
        (pilot.SECOND_LIFE, "read", "page", "legitimate_interest"),
    }
    assert all(e["at"].endswith("Z") for e in log)
    # the operator sees the reads of its own passports; a recycler may not read the log; anonymous neither
    mine = client.get("/api/v1/audit", headers=H(client, pilot.AUTOMAKER)).json()
    assert {e["passport_id"] for e in mine} == {pid}
    assert client.get("/api/v1/audit", headers=H(client, pilot.RECYCLER_EU)).json() == []
    assert client.get("/api/v1/audit").status_code == 401
    by_actor = client.get("/api/v1/audit", params={"actor": pilot.RECYCLER_EU}, headers=H(client, pilot.AUTHORITY)).json()
    assert [e["action"] for e in by_actor] == ["read"]
    # since: a date or a time in any zone is read as the store's UTC text; anything else is a 422 naming it, and so
    # is a limit outside 1–1,000 (review finding: an empty answer, or a silent clamp)
    A = H(client, pilot.AUTHORITY)
    first = min(e["at"] for e in log)
    assert len(client.get("/api/v1/audit", params={"passport_id": pid, "since": "2000-01-01"}, headers=A).json()) == 4
    assert client.get("/api/v1/audit", params={"passport_id": pid, "since": "9999-01-01T00:00:00+01:00"},
                      headers=A).json() == []
    assert {e["at"] for e in client.get("/api/v1/audit", params={"passport_id": pid, "since": first},
                                        headers=A).json()} >= {first}
    for params, name in (({"since": "notadate"}, "since"), ({"limit": 0}, "limit"), ({"limit": 10**6}, "limit")):
        bad = client.get("/api/v1/audit", params=params, headers=A)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == name, (params, bad.text)


def test_anonymous_requests_are_rate_limited(tmp_path: Path) -> None:
    from batteryloop.store.db import Store

    store = Store(f"sqlite:///{tmp_path}/rl.db")
    settings = Settings(database_url=store.url, public_base_url="http://testserver", issuing_agency_code="BL",
                        admin_token="adm", rate_limit_per_minute=60)  # 1/s sustained, bursts of 12
    svc = build_services(settings, store)
    with TestClient(create_app(settings, services=svc)) as c:
        codes = [c.get("/api/v1/health").status_code for _ in range(20)]
        assert codes[:12] == [200] * 12 and 429 in codes[12:]
        r = c.get("/api/v1/models")
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["retry-after"]) >= 1 and "sign in" in r.json()["detail"]
        # a signed-in caller is not limited
        assert c.get("/api/v1/models", headers={"Authorization": "Bearer adm"}).status_code == 200
        assert c.get("/static/app.css").status_code == 200


def test_shared_limiter_prunes_once_however_many_requests_arrive(tmp_path: Path, monkeypatch: Any) -> None:
    """The API's limiter hands the idle-bucket prune (a DELETE) to a worker thread: the requests the event loop
    runs while that hand-over is under way must not see the prune still due and start one DELETE each (N
    concurrent requests at the minute mark were N DELETEs racing for the same rows)."""
    import asyncio
    import threading
    import time

    from batteryloop.api.ratelimit import RateLimit
    from batteryloop.store import ratelimit as buckets
    from batteryloop.store.db import Store

    pruned: list[float] = []
    lock = threading.Lock()

    def slow_prune(store: Any, *, before: float, conns: Any = None) -> int:  # the DELETE, as slow as a busy server makes it
        time.sleep(0.05)
        with lock:
            pruned.append(before)
        return 0

    monkeypatch.setattr(buckets, "prune", slow_prune)
    monkeypatch.setattr(buckets, "take", lambda store, key, **kw: (True, 5.0))  # the upsert, answered at once
    store = Store(f"sqlite:///{tmp_path}/rl.db")
    shared = buckets.SharedBuckets(store, prune_every_s=60.0)

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limiter = RateLimit(ok, per_minute=600, shared=shared)

    async def one(i: int) -> int:
        sent: list[dict[str, Any]] = []

        async def send(m: dict[str, Any]) -> None:
            sent.append(m)

        scope = {"type": "http", "path": "/api/v1/health", "headers": [], "client": (f"192.0.2.{i}", 1)}
        await limiter(scope, None, send)  # type: ignore[arg-type]
        return int(sent[0]["status"])

    async def burst() -> list[int]:
        return await asyncio.gather(*(one(i) for i in range(20)))

    assert asyncio.run(burst()) == [200] * 20
    assert len(pruned) == 1, pruned  # one DELETE for the 20 requests, not one each
    store.dispose()
