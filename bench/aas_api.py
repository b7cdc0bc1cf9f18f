"""AAS API throughput: GET one submodel via /aas beside the passport GET of the same server and passports.

    .venv/bin/python bench/aas_api.py [--packs 200] [--seconds 8] [--rounds 3] [--submodel technical_data] [--token T]

Makes a fresh SQLite node with ``--packs`` passports, starts it with uvicorn (one worker) and loads it
with `wrk` (Debian package `wrk`, its own process, 32 connections): first the passport GET
(``/api/v1/passports/{id}``) of random passports, then the AAS submodel GET
(``/aas/submodels/{base64url id}``) of the same passports' ``--submodel``, anonymous by default, in
alternating rounds (the machine's other load falls on both alike). Both are warmed up first, so the
AAS figure is that of the submodel cache (the case of a popular passport); the cold figure — a passport's first submodel read, which builds it with basyx — is measured
in-process beside it. Goal (issue 16): AAS GET >= 0.5x the passport GET.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from batteryloop.access import ANONYMOUS
from batteryloop.passport.aas_repository import AasRepository
from batteryloop.sim import pilot
from batteryloop.store.db import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from passport_get import free_port, wrk  # noqa: E402 - the same load generator as bench/passport_get.py
from passport_import import seed_registry  # noqa: E402 - the same registry set-up as bench/passport_import.py


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packs", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--submodel", default="technical_data")
    ap.add_argument("--token", default=None, help="send this bearer token (default: anonymous)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="bench-aas-"))
    url = f"sqlite:///{tmp}/aas.db"
    store = Store(url)
    store.upgrade()
    svc, op = seed_registry(store)
    base_url = svc.base_url
    ids = svc.import_passports(list(pilot.generate_batteries(args.packs, seed=1)), op).ids

    # cold: the first read of a passport's submodel builds the shell and that submodel (basyx), in-process
    repo = AasRepository(svc)
    t0 = time.perf_counter()
    for pid in ids[:50]:
        env = repo.environment(pid, ANONYMOUS)
        env.submodel(args.submodel)
    cold_ms = (time.perf_counter() - t0) / min(50, len(ids)) * 1000
    store.dispose()

    lua_passport, lua_aas = tmp / "passport.lua", tmp / "aas.lua"
    hdr = f'wrk.headers["Authorization"] = "Bearer {args.token}"\n' if args.token else ""
    sample = random.Random(1).sample(ids, len(ids))
    targets = {"passport": [f"/api/v1/passports/{i}" for i in sample],
               "aas": [f"/aas/submodels/{b64(f'urn:batteryloop:{i}:submodel:{args.submodel}')}" for i in sample]}
    for path, paths in ((lua_passport, targets["passport"]), (lua_aas, targets["aas"])):
        path.write_text(hdr + "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\nmath.randomseed(42)\n"
                        "request = function()\n  return wrk.format(nil, paths[math.random(#paths)])\nend\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BATTERYLOOP_DATABASE_URL": url, "BATTERYLOOP_RATE_LIMIT_PER_MINUTE": "0",
           "BATTERYLOOP_PUBLIC_BASE_URL": base_url, "BATTERYLOOP_VAR_DIR": str(tmp / "var")}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "batteryloop.server:create_app", "--factory",
                               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                               "--no-access-log"], env=env)
    results = {}
    sizes = {}
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
        luas = {"passport": lua_passport, "aas": lua_aas}
        for name in luas:
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                for target in targets[name]:  # every passport's view (and submodel) read once: cached
                    r = client.get(target)
                    r.raise_for_status()
                sizes[name] = len(r.content)
            wrk(base + "/", 2, args.connections, luas[name])  # warm-up
        for _ in range(args.rounds):  # alternating, so that the machine's load falls on both alike
            for name in luas:
                results.setdefault(name, []).append(wrk(base + "/", args.seconds, args.connections, luas[name]))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    ratios = sorted(a["rps"] / p["rps"] for p, a in zip(results["passport"], results["aas"], strict=True))
    print(f"passports: {len(ids)}; submodel: {args.submodel}; caller: {'token' if args.token else 'anonymous'}; "
          f"1 worker; {args.connections} connections; {args.rounds} rounds of {args.seconds} s each, alternating")
    for name, label in (("passport", "passport GET    "), ("aas", "AAS submodel GET")):
        runs = sorted(results[name], key=lambda r: r["rps"])
        mid = runs[len(runs) // 2]
        each = ", ".join(f"{r['rps']:,.0f}" for r in results[name])
        print(f"{label}: {each} req/s (median {mid['rps']:,.0f}; "
              f"p50 {mid['p50_ms']:.2f} ms, p99 {mid['p99_ms']:.2f} ms); {sizes[name]} bytes; "
              f"non-2xx {sum(r['non2xx'] for r in runs):.0f}")
    print(f"ratio (per round): {', '.join(f'{r:.2f}' for r in ratios)}; median {ratios[len(ratios) // 2]:.2f}x "
          "the passport GET (goal >= 0.5x)")
    print(f"cold (first read of a passport's submodel, in-process): {cold_ms:.1f} ms")


if __name__ == "__main__":
    main()
