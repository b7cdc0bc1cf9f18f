"""Digital Twin Registry lookup latency: ``GET /api/v3/lookup/shells?assetIds=…`` on a node with N shell
descriptors, in-process (the ASGI app through Starlette's test client: the route, the visibility
decisions and the store, without a network hop), on SQLite.

Run: PYTHONPATH=src .venv/bin/python bench/dtr_lookup.py [--shells 2000] [--lookups 300]

Prints the median and 95th percentile of an authenticated request that reads nothing (the baseline), and of a lookup by serial number (one asset id) as the owner, as a
reader named in the id's externalSubjectId, and as a participant not named (an empty answer), and of a
lookup by the global asset id.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shells", type=int, default=2000)
    ap.add_argument("--lookups", type=int, default=300)
    args = ap.parse_args()

    from fastapi.testclient import TestClient

    from batteryloop.config import Settings
    from batteryloop.server import create_app
    from batteryloop.services import build_services
    from batteryloop.sim import pilot
    from batteryloop.store.db import Store

    tmp = tempfile.mkdtemp(prefix="bench-dtr-")
    store = Store(f"sqlite:///{tmp}/dtr.db")
    store.upgrade()
    svc = build_services(Settings(database_url=store.url, public_base_url="http://bench", admin_token="admin",
                                  rate_limit_per_minute=0, var_dir=Path(tmp)), store, migrate=False)
    tokens = {}
    for p in pilot.PARTICIPANTS:
        svc.participants.create(p)
        tokens[p["id"]] = svc.participants.issue_token(p["id"], "bench")
    owner, reader, other = pilot.AUTOMAKER, pilot.RECYCLER_EU, pilot.REPAIRER
    ext = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": reader}]}
    c = TestClient(create_app(services=svc))
    h = lambda who: {"Authorization": f"Bearer {tokens[who]}"}  # noqa: E731
    t0 = time.perf_counter()
    for i in range(args.shells):
        r = c.post("/api/v3/shell-descriptors", headers=h(owner), json={
            "id": f"urn:bench:{i}", "globalAssetId": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
            "specificAssetIds": [{"name": "partInstanceId", "value": f"S-{i}", "externalSubjectId": ext},
                                 {"name": "manufacturerPartId", "value": "M-1"}]})
        assert r.status_code == 201, r.text
    reg_s = time.perf_counter() - t0

    def b64(obj: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    def run(who: str, name: str, make: Any, expect: int) -> None:
        times = []
        for k in range(args.lookups):
            i = (k * 7919) % args.shells
            t = time.perf_counter()
            r = c.get("/api/v3/lookup/shells", params={"assetIds": b64(make(i))}, headers=h(who))
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and len(r.json()["result"]) == expect, r.text
        times.sort()
        print(f"{name:48s} median {statistics.median(times):6.2f} ms   p95 {times[int(0.95 * len(times))]:6.2f} ms")

    print(f"{args.shells} shells registered in {reg_s:.1f} s ({reg_s / args.shells * 1000:.1f} ms each); "
          f"{args.lookups} lookups each:")
    times = []
    for _ in range(args.lookups):  # the baseline: an authenticated request that reads nothing
        t = time.perf_counter()
        assert c.get("/api/v3/description", headers=h(reader)).status_code == 200
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"{'baseline: GET /api/v3/description (no store)':48s} median {statistics.median(times):6.2f} ms   "
          f"p95 {times[int(0.95 * len(times))]:6.2f} ms")
    run(owner, "by partInstanceId, as the owner", lambda i: {"name": "partInstanceId", "value": f"S-{i}"}, 1)
    run(reader, "by partInstanceId, as the reader named", lambda i: {"name": "partInstanceId", "value": f"S-{i}"}, 1)
    run(other, "by partInstanceId, as a participant not named", lambda i: {"name": "partInstanceId",
                                                                            "value": f"S-{i}"}, 0)
    run(reader, "by globalAssetId, as the reader", lambda i: {"name": "globalAssetId",
                                                               "value": f"urn:uuid:00000000-0000-4000-8000-{i:012d}"}, 1)
    store.dispose()


if __name__ == "__main__":
    main()
