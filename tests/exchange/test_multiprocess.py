"""Three nodes as separate processes (``node serve --config``), driven through the CLI over loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from batteryloop.exchange.credentials import BPN, FRAMEWORK_AGREEMENT, MEMBERSHIP, issue_credential
from batteryloop.exchange.did import Identity, did_web
from batteryloop.exchange.runtime import reserve_port

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "batteryloop.cli", "node"]


def _free_port() -> int:
    s = reserve_port()
    port = s.getsockname()[1]
    s.close()
    return port


def test_three_processes_full_round_trip(tmp_path: Path) -> None:
    ports = {n: _free_port() for n in ("issuer", "provider", "consumer")}
    url = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
    ids = {n: Identity.generate(did_web(url[n]), bpn) for n, bpn in
           (("issuer", "BPNL00000000ISSU"), ("provider", "BPNL00000000PROV"), ("consumer", "BPNL00000000CONS"))}
    trust = {"registries": {"catena-x": {ids["issuer"].did: [MEMBERSHIP, BPN, FRAMEWORK_AGREEMENT]}}}
    year = time.time() + 86400 * 365

    def creds(n: str) -> list[str]:
        i, s = ids["issuer"], ids[n]
        return [issue_credential(i, subject_did=s.did, credential_type=BPN, subject={"holderIdentifier": s.participant_id},
                                 valid_until=year),
                issue_credential(i, subject_did=s.did, credential_type=MEMBERSHIP, subject={}, valid_until=year),
                issue_credential(i, subject_did=s.did, credential_type=FRAMEWORK_AGREEMENT,
                                 subject={"agreement": "DataExchangeGovernance", "contractVersion": "1.0"},
                                 valid_until=year)]

    policy = {"@id": "u", "permission": [{"action": "use", "constraint": [{"and": [
        {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
        {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"}]}]}]}
    configs = {}
    for n in ids:
        cfg = {"name": n, "participant_id": ids[n].participant_id, "base_url": url[n],
               "database_url": f"sqlite:///{tmp_path}/{n}.db", "key": ids[n].signer.private_text(),
               "admin_token": f"admin-{n}", "trust": trust, "issuer": n == "issuer",
               "credentials": creds(n) if n != "issuer" else []}
        if n == "provider":
            cfg["datasets"] = [{"id": "urn:bl:doc:hello", "kind": "document", "document": {"hello": "Catena-X"},
                                "usage_policy": policy}]
        path = tmp_path / f"{n}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        configs[n] = path
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [subprocess.Popen([*CLI, "serve", "--config", str(configs[n])], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for n in ids]
    try:
        deadline = time.monotonic() + 60
        for n in ids:
            while True:
                try:
                    if httpx.get(url[n] + "/.well-known/did.json", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{n} did not start")
                time.sleep(0.1)
        out = subprocess.run([*CLI, "fetch", url["provider"] + "/dsp", "urn:bl:doc:hello", "--node", url["consumer"],
                              "--token", "admin-consumer"], capture_output=True, text=True, timeout=60, env=env)
        assert out.returncode == 0, out.stderr
        res = json.loads(out.stdout)
        assert res["data"] == {"hello": "Catena-X"} and res["transfer"]["state"] == "COMPLETED"
        assert res["negotiation"]["state"] == "FINALIZED"
        # the CLI's catalog command, and a refusal with a wrong admin token
        cat = subprocess.run([*CLI, "catalog", url["provider"] + "/dsp", "--node", url["consumer"], "--token",
                              "admin-consumer"], capture_output=True, text=True, timeout=60, env=env)
        assert json.loads(cat.stdout)["dataset"][0]["@id"] == "urn:bl:doc:hello"
        bad = subprocess.run([*CLI, "catalog", url["provider"] + "/dsp", "--node", url["consumer"], "--token", "nope"],
                             capture_output=True, text=True, timeout=60, env=env)
        assert bad.returncode == 2 and "admin_token" in bad.stderr
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def test_demo_flow(tmp_path: Path) -> None:
    """The shipped two-space demo runs: five nodes, the bridge, a passport transfer, the dashboard."""
    import threading

    import uvicorn

    from batteryloop.exchange.app import demo_dashboard_app
    from batteryloop.sim.dataspace_nodes import run_flow, start_demo

    d = start_demo(tmp_path / "demo")
    sock = reserve_port()
    server = uvicorn.Server(uvicorn.Config(demo_dashboard_app(d.nodes), log_level="warning", lifespan="off"))
    th = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    try:
        res = run_flow(d)
        assert res["recycler_tiers"] == ["public", "legitimate_interest"]
        assert res["supplier_footprint"].certifications[0]["ground"] == "agreement:cx-accepts-ouranos"
        while not server.started:
            time.sleep(0.01)
        page = httpx.get(f"http://127.0.0.1:{sock.getsockname()[1]}/").text
        assert page.count("FINALIZED") >= 4 and "COMPLETED" in page and "cellmaker" in page
    finally:
        server.should_exit = True
        th.join(5)
        d.stop()
