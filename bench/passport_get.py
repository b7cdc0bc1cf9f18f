"""Passport GET throughput and latency under load, beside a bare endpoint of the same server stack.

    .venv/bin/python bench/passport_get.py [--db /tmp/bench-import.db] [--workers 1] [--seconds 10]

Needs `wrk` (Debian package `wrk`) as the load generator, run in its own process with 32 concurrent
connections. The database must hold the passports first (bench/passport_import.py makes 100,000).
Each request asks for a random passport (anonymous, public tier, or with --token a participant's
token); the bare endpoint returns a constant JSON document of the same size from the same
FastAPI/uvicorn app. Goal (foundation issue): >= 50 % of the bare endpoint's throughput, p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from batteryloop.store.db import Store
from batteryloop.store.tables import passports


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url: str, seconds: int, connections: int, script: Path | None) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": pct("50"), "p99_ms": pct("99"), "non2xx": float(errors.group(1)) if errors else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="/tmp/bench-import.db")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--token", default=None, help="send this bearer token (default: anonymous)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")
    url = f"sqlite:///{args.db}"
    store = Store(url)
    with store.read() as conn:
        ids = list(conn.execute(select(passports.c.id)).scalars())
    store.dispose()
    if not ids:
        sys.exit("no passports in the database: run bench/passport_import.py first")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sample = random.Random(1).sample(ids, min(len(ids), 20_000))
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}

    # size of a typical response, for the bare endpoint
    env = {**os.environ, "BATTERYLOOP_DATABASE_URL": url, "BATTERYLOOP_BENCH_CONSTANT": "1",
           "BATTERYLOOP_RATE_LIMIT_PER_MINUTE": "0"}  # one load generator, one address: measure, don't throttle
    size = None
    tmp = Path(tempfile.mkdtemp())
    lua = tmp / "ids.lua"
    hdr = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    lua.write_text(hdr + "ids = {" + ",".join(f'"{i}"' for i in sample) + "}\n"
                   "math.randomseed(42)\n"
                   "request = function()\n  return wrk.format(nil, \"/api/v1/passports/\" .. ids[math.random(#ids)])\nend\n")
    results = {}
    for phase in ("probe", "bare", "passport"):
        if phase != "probe":
            env["BATTERYLOOP_BENCH_CONSTANT"] = str(size)
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "batteryloop.server:create_app", "--factory",
                                   "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
                                   "--log-level", "warning", "--no-access-log"], env=env)
        try:
            for _ in range(100):
                try:
                    if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            if phase == "probe":
                r = httpx.get(f"{base}/api/v1/passports/{sample[0]}", headers=headers)
                r.raise_for_status()
                size = len(r.content)
                continue
            target = base + ("/api/v1/_bench/constant" if phase == "bare" else "/api/v1/passports/x")
            wrk(target, 2, args.connections, lua if phase == "passport" else None)  # warm-up
            results[phase] = wrk(target, args.seconds, args.connections, lua if phase == "passport" else None)
        finally:
            server.terminate()
            server.wait(10)
    shutil.rmtree(tmp, ignore_errors=True)
    b, p = results["bare"], results["passport"]
    print(f"passports in store: {len(ids):,}; response size: {size} bytes; workers: {args.workers}; "
          f"connections: {args.connections}; {args.seconds} s per run; caller: {'token' if args.token else 'anonymous'}")
    print(f"bare endpoint   : {b['rps']:9,.0f} req/s  p50 {b['p50_ms']:.2f} ms  p99 {b['p99_ms']:.2f} ms")
    print(f"passport GET    : {p['rps']:9,.0f} req/s  p50 {p['p50_ms']:.2f} ms  p99 {p['p99_ms']:.2f} ms"
          f"  non-2xx: {p['non2xx']:.0f}")
    print(f"ratio           : {p['rps'] / b['rps']:.0%} of the bare endpoint")


if __name__ == "__main__":
    main()
