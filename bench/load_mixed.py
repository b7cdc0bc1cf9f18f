"""Sustained mixed load on PostgreSQL: passport reads, passport updates and signed ledger events at a target rate.

    .venv/bin/python bench/load_mixed.py [--seconds 300] [--rate 200] [--passports 2000] [--workers 1]

Starts a throw-away PostgreSQL cluster (Debian's binaries, as tests/pg.py does), the API server (uvicorn,
``--workers`` processes) on it, seeds participants, models and ``--passports`` passports through the API,
then runs the load generator as a SEPARATE process (``--generator`` mode of this script). The generator
is open-loop: it schedules requests at ``--rate`` per second (70 % GET /passports/{id}, 15 % PATCH
/passports/{id}, 15 % POST /events signed by the operator's Ed25519 key) whatever the server's speed,
and measures each latency from the scheduled send time (so a stalled server cannot hide its queue).
Writes to one passport or one chain are never in flight twice (a real operator's writers are not
racing each other here; that is tests/store/test_concurrency.py's job). Prints throughput, p50/p99,
errors by status, and the server's RSS at start, middle and end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ADMIN = "bench-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of the server: the process and its children (uvicorn workers), in MB."""
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


# ---------------------------------------------------------------------------- load generator
async def generate(base: str, token: str, pids: list[str], seconds: float, rate: float, seed: int) -> dict[str, Any]:
    import httpx

    from batteryloop.sim import pilot
    from batteryloop.trace.client import ChainWriter
    from batteryloop.sim.supply_chain import demo_signers

    rng = random.Random(seed)
    writer = ChainWriter({pilot.AUTOMAKER: demo_signers()[pilot.AUTOMAKER]})
    busy: set[str] = set()
    lat: dict[str, list[float]] = {"get": [], "patch": [], "event": []}
    status: dict[str, int] = {}
    errors: list[str] = []
    counter = {"n": 0}
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)

    async def one(client: httpx.AsyncClient, kind: str, due: float) -> None:
        pid = rng.choice(pids)
        mine = False
        if kind != "get":
            for _ in range(20):
                if pid not in busy:
                    break
                pid = rng.choice(pids)
            else:
                kind = "get"
            mine = kind != "get"
        try:
            if kind == "get":
                r = await client.get(f"/api/v1/passports/{pid}", headers=headers)
            elif kind == "patch":
                busy.add(pid)
                r = await client.patch(f"/api/v1/passports/{pid}", headers=headers,
                                       json={"usage": {"full_equivalent_cycles": round(rng.uniform(1, 3000), 1)}},
                                       params={"reason": "load"})
            else:
                busy.add(pid)
                counter["n"] += 1
                wire = writer.wire({"id": f"load-{seed}-{counter['n']}", "kind": "soh_update", "actor": pilot.AUTOMAKER,
                                    "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                    "place": {"country": "DE", "site": "BMS gateway"}, "subjects": [pid],
                                    "data": {"soh_capacity_pct": round(rng.uniform(80, 100), 2)}})
                r = await client.post("/api/v1/trace/events", headers=headers, json=wire)
            code = str(r.status_code)
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        finally:
            if mine:  # only the writer that marked the passport busy frees it
                busy.discard(pid)
        status[code] = status.get(code, 0) + 1
        if not code.startswith("2"):
            if len(errors) < 10:
                errors.append(f"{kind} {pid}: {code}")
            if kind == "event":  # the head we signed against may not be stored: forget it
                writer.heads.pop(pid, None)
        lat[kind].append(time.perf_counter() - due)

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        tasks: set[asyncio.Task[None]] = set()
        t0 = time.perf_counter()
        n = 0
        missed = 0
        while True:
            due = t0 + n / rate
            now = time.perf_counter()
            if due - t0 >= seconds or now - t0 >= seconds:
                missed += int(max(0.0, seconds - (due - t0)) * rate)  # never sent: the generator fell behind
                break
            if due > now:
                await asyncio.sleep(due - now)
            elif len(tasks) >= 512:  # too many in flight: count it as not sent rather than queue without end
                missed += 1
                n += 1
                continue
            x = rng.random()
            kind = "get" if x < 0.70 else "patch" if x < 0.85 else "event"
            t = asyncio.create_task(one(client, kind, due))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
            n += 1
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0

    def pct(xs: list[float], p: float) -> float:
        if not xs:
            return float("nan")
        s = sorted(xs)
        return s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000

    every = [x for v in lat.values() for x in v]
    return {"requests": len(every), "seconds": round(elapsed, 1), "throughput_rps": round(len(every) / elapsed, 1),
            "target_rps": rate, "p50_ms": round(pct(every, 50), 2), "p99_ms": round(pct(every, 99), 2),
            "by_kind": {k: {"n": len(v), "p50_ms": round(pct(v, 50), 2), "p99_ms": round(pct(v, 99), 2)}
                        for k, v in lat.items()},
            "status": status, "errors": sum(v for k, v in status.items() if not k.startswith("2")),
            "scheduled_not_sent": missed,
            "first_errors": errors}


# ---------------------------------------------------------------------------- orchestration
def seed(base: str, n: int) -> tuple[str, list[str]]:
    import httpx

    from batteryloop.sim import pilot
    from batteryloop.sim.supply_chain import demo_signers

    admin = {"Authorization": f"Bearer {ADMIN}"}
    key = demo_signers()[pilot.AUTOMAKER].public_key_text
    with httpx.Client(base_url=base, timeout=120) as c:
        for p in pilot.PARTICIPANTS:
            body = {**p, "public_key": key} if p["id"] == pilot.AUTOMAKER else p
            r = c.post("/api/v1/participants", json=body, headers=admin)
            assert r.status_code == 201, r.text
        token = c.post(f"/api/v1/participants/{pilot.AUTOMAKER}/tokens", json={}, headers=admin).json()["token"]
        op = {"Authorization": f"Bearer {token}"}
        for m in pilot.battery_models():
            assert c.post("/api/v1/models", json=m, headers=op).status_code == 201
        records = list(pilot.generate_batteries(n, seed=17))
        pids: list[str] = []
        for i in range(0, n, 500):
            r = c.post("/api/v1/passports/batch", json={"passports": records[i:i + 500]}, headers=op)
            assert r.status_code in (200, 201), r.text[:300]
            body = r.json()
            pids += body["ids"]
    return token, pids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--rate", type=float, default=200, help="target requests per second (all kinds)")
    ap.add_argument("--passports", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--generator", help=argparse.SUPPRESS)  # internal: run as the load generator
    args = ap.parse_args()

    if args.generator:
        cfg = json.loads(Path(args.generator).read_text())
        out = asyncio.run(generate(cfg["base"], cfg["token"], cfg["pids"], cfg["seconds"], cfg["rate"], 5))
        print(json.dumps(out))
        return

    import httpx

    from tests.pg import PostgresServer

    pg = PostgresServer()
    url = pg.start()
    tmp = Path(tempfile.mkdtemp(prefix="batteryloop-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BATTERYLOOP_DATABASE_URL": url, "BATTERYLOOP_ADMIN_TOKEN": ADMIN,
           "BATTERYLOOP_RATE_LIMIT_PER_MINUTE": "0", "BATTERYLOOP_VAR_DIR": str(tmp / "var")}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "batteryloop.server:create_app", "--factory",
                               "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
                               "--log-level", "warning", "--no-access-log"], env=env)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        token, pids = seed(base, args.passports)
        # warm up (caches, connection pool), then measure
        with httpx.Client(base_url=base, timeout=30) as c:
            for pid in pids[:200]:
                c.get(f"/api/v1/passports/{pid}")
        cfg = tmp / "gen.json"
        cfg.write_text(json.dumps({"base": base, "token": token, "pids": pids, "seconds": args.seconds,
                                   "rate": args.rate}))
        rss = {"start": rss_mb(server.pid)}
        gen = subprocess.Popen([sys.executable, __file__, "--generator", str(cfg)], stdout=subprocess.PIPE, text=True)
        samples: list[float] = []

        def sample() -> None:
            while gen.poll() is None:
                samples.append(rss_mb(server.pid))
                time.sleep(1)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        mid = time.monotonic() + args.seconds / 2
        while gen.poll() is None and time.monotonic() < mid:
            time.sleep(0.2)
        rss["middle"] = rss_mb(server.pid)
        out, _ = gen.communicate(timeout=args.seconds + 120)
        rss["end"] = rss_mb(server.pid)
        th.join(2)
        res = json.loads(out.strip().splitlines()[-1])
        res["server_rss_mb"] = {k: round(v, 1) for k, v in rss.items()}
        res["server_rss_mb"]["max"] = round(max(samples or [0.0]), 1)
        res["store"] = "postgresql"
        res["uvicorn_workers"] = args.workers
        res["passports"] = len(pids)
        print(json.dumps(res, indent=2))
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        pg.stop()


if __name__ == "__main__":
    main()
