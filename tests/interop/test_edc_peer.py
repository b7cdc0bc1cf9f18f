"""Eclipse EDC as a real DSP 2025-1 peer of a batteryloop node (docs/exchange.md, "Eclipse EDC as a peer").

``interop/edc/pom.xml`` assembles a minimal EDC runtime (control plane and data plane in one process,
in-memory stores, DSP, management API, HTTP pull data plane, mock identity) from Maven Central into
``var/m2``; this test starts it on free ports, and then

* our node requests EDC's catalog, negotiates, starts a transfer and pulls the data;
* EDC, driven through its management API, requests our catalog, negotiates, starts a transfer, and the
  data is pulled with the endpoint data reference EDC received from us.

EDC authenticates with its mock identity service (an unsigned JSON token): our node speaks it only in its
interop test mode (``tck.edc_mock_iam`` with ``BATTERYLOOP_DSP_TCK=1``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from batteryloop.exchange import tck
from batteryloop.exchange.config import NodeConfig
from batteryloop.exchange.node import Node
from batteryloop.exchange.runtime import ThreadedNode, reserve_port

ROOT = Path(__file__).resolve().parents[2]
POM = ROOT / "interop" / "edc" / "pom.xml"
CLASSPATH = ROOT / "var" / "edc" / "classpath.txt"
EDC_ID = "edc-peer"
API_KEY = "edc-management-key"
PROTOCOL = "dataspace-protocol-http:2025-1"
EDC_VOCAB = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}

pytestmark = pytest.mark.slow


def _tools() -> tuple[str, str]:
    java, mvn = shutil.which("java"), shutil.which("mvn")
    if not (java and mvn):
        why = "EDC needs a JDK (java) and Maven (mvn): `make test` installs them (scripts/system-deps.sh)"
        if os.environ.get("BATTERYLOOP_REQUIRE_JAVA") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return java, mvn


def resolve_classpath(mvn: str) -> str:
    if not CLASSPATH.exists() or CLASSPATH.stat().st_mtime < POM.stat().st_mtime:
        CLASSPATH.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([mvn, "-B", "-q", f"-Dmaven.repo.local={ROOT / 'var' / 'm2'}", "-f", str(POM),
                        "dependency:build-classpath", f"-Dmdep.outputFile={CLASSPATH}"], check=True, timeout=900)
    return CLASSPATH.read_text().strip()


def _pem_pair(tmp: Path) -> tuple[Path, Path]:
    """An EC P-256 key pair for EDC's data-plane access tokens (PEM files)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    priv, pub = tmp / "edc-private.pem", tmp / "edc-public.pem"
    priv.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return priv, pub


class Edc:
    """One EDC runtime on free ports (``ports``: web, management, protocol, control, public, version)."""

    def __init__(self, java: str, cp: str, tmp: Path) -> None:
        socks = [reserve_port() for _ in range(6)]
        ports = [s.getsockname()[1] for s in socks]
        for s in socks:
            s.close()
        web, mgmt, proto, control, public, version = ports
        self.management = f"http://127.0.0.1:{mgmt}/management"
        self.protocol = f"http://127.0.0.1:{proto}/protocol"
        self.dsp = self.protocol + "/2025-1"
        self.health = f"http://127.0.0.1:{web}/api/check/health"
        priv, pub = _pem_pair(tmp)
        props = {
            "edc.participant.id": EDC_ID, "web.http.port": web, "web.http.path": "/api",
            "web.http.management.port": mgmt, "web.http.management.path": "/management",
            "web.http.protocol.port": proto, "web.http.protocol.path": "/protocol",
            "web.http.control.port": control, "web.http.control.path": "/control",
            "web.http.public.port": public, "web.http.public.path": "/public",
            "web.http.version.port": version, "web.http.version.path": "/version",
            "web.api.auth.key": API_KEY, "edc.dsp.callback.address": self.protocol,
            "edc.dataplane.api.public.baseurl": f"http://127.0.0.1:{public}/public",
            "edc.control.endpoint": f"http://127.0.0.1:{control}/control",
            "edc.transfer.proxy.token.signer.privatekey.alias": "private-key",
            "edc.transfer.proxy.token.verifier.publickey.alias": "public-key",
            # the signing key is read from the configuration (vault fallback), the verifying key from a file
            "private-key": priv.read_text().strip().replace("\n", "\\n"),
            "edc.iam.publickeys.dp.id": "public-key", "edc.iam.publickeys.dp.path": str(pub),
            # EDC's state machines wake up every second by default: 50 ms keeps the round trips short
            **{f"edc.{m}.iteration-wait-millis": 50 for m in (
                "negotiation.consumer.state-machine", "negotiation.provider.state-machine",
                "negotiation.state-machine", "transfer.state-machine", "dataplane.state-machine",
                "data.plane.selector.state-machine")},
        }
        cfg = tmp / "edc.properties"
        cfg.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")
        self.log = tmp / "edc.log"
        self.proc = subprocess.Popen([java, f"-Dedc.fs.config={cfg}", "-cp", cp,
                                      "org.eclipse.edc.boot.system.runtime.BaseRuntime"],
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        self.http = httpx.Client(timeout=30, headers={"x-api-key": API_KEY})
        deadline = time.monotonic() + 180
        while " ready" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("EDC did not start:\n" + self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.5)

    def mgmt(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        r = self.http.request(method, self.management + path, json=body)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json() if r.content else None

    def wait(self, path: str, states: set[str], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            s = self.mgmt("GET", path)
            if s.get("state") in states or time.monotonic() > deadline:
                return s  # type: ignore[no-any-return]
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.http.close()


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Any:
    java, mvn = _tools()
    cp = resolve_classpath(mvn)
    tmp = tmp_path_factory.mktemp("edc")
    edc = Edc(java, cp, tmp)
    old = os.environ.get(tck.ENV)
    os.environ[tck.ENV] = "1"
    sock = reserve_port()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    cfg = tck.node_config("edc-interop", url, f"sqlite:///{tmp}/node.db", "Bearer unused-here")
    cfg["tck"]["edc_mock_iam"] = True
    server = ThreadedNode(Node(NodeConfig.model_validate(cfg)), sock)
    # what EDC offers: its own health document, under an unconstrained "use" policy
    edc.mgmt("POST", "/v3/assets", {"@context": EDC_VOCAB, "@id": "edc-asset-1", "properties": {"name": "sample"},
                                    "dataAddress": {"type": "HttpData", "baseUrl": edc.health}})
    edc.mgmt("POST", "/v3/policydefinitions", {"@context": EDC_VOCAB, "@id": "open", "policy": {
        "@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Set", "permission": [{"action": "use"}]}})
    edc.mgmt("POST", "/v3/contractdefinitions", {"@context": EDC_VOCAB, "@id": "cd-1", "accessPolicyId": "open",
                                                 "contractPolicyId": "open", "assetsSelector": []})
    try:
        yield edc, server.node
    finally:
        server.stop()
        edc.stop()
        if old is None:
            os.environ.pop(tck.ENV, None)
        else:
            os.environ[tck.ENV] = old


def test_our_node_fetches_from_edc(peers: Any, capsys: pytest.CaptureFixture[str]) -> None:
    edc, node = peers
    rounds = []
    for _ in range(2):  # the first round meets a cold JVM; the second is the round trip's cost
        steps = [time.perf_counter()]
        catalog = node.request_catalog(edc.dsp, EDC_ID)
        assert [d["@id"] for d in catalog["dataset"]] == ["edc-asset-1"]
        steps.append(time.perf_counter())
        n = node.negotiate(edc.dsp, "edc-asset-1", audience=EDC_ID, wait_s=30)
        assert n.state == "FINALIZED", n.reason
        steps.append(time.perf_counter())
        t = node.transfer(edc.dsp, n.agreement_id, audience=EDC_ID, wait_s=30)
        assert t.state == "STARTED", t.reason
        steps.append(time.perf_counter())
        data = node.pull(t.pid)
        steps.append(time.perf_counter())
        assert data["isSystemHealthy"] is True  # EDC's health document, through EDC's data plane
        done = node.repo.transfer(t.pid)
        assert done.state == "COMPLETED"
        # EDC moves a completed transfer on to its own after-states (deprovisioning): any of them will do
        assert edc.wait(f"/v3/transferprocesses/{done.peer_pid}", {"COMPLETED", "DEPROVISIONED"})["state"] in (
            "COMPLETED", "DEPROVISIONED")
        rounds.append([b - a for a, b in zip(steps, steps[1:])])
    with capsys.disabled():
        for i, r in enumerate(rounds, 1):
            print(f"\nour node -> EDC 0.15.1, round {i}: catalog {r[0] * 1000:.0f} ms, negotiation to FINALIZED "
                  f"{r[1] * 1000:.0f} ms, transfer to STARTED {r[2] * 1000:.0f} ms, pull + completion "
                  f"{r[3] * 1000:.0f} ms; total {sum(r) * 1000:.0f} ms")


def test_edc_fetches_from_our_node(peers: Any, capsys: pytest.CaptureFixture[str]) -> None:
    edc, node = peers
    started = time.perf_counter()
    catalog = edc.mgmt("POST", "/v3/catalog/request", {"@context": EDC_VOCAB, "@type": "CatalogRequest",
                                                       "counterPartyAddress": node.dsp_url,
                                                       "counterPartyId": node.did, "protocol": PROTOCOL})
    datasets = catalog.get("dataset", catalog.get("dcat:dataset", []))
    ids = [d["@id"] for d in (datasets if isinstance(datasets, list) else [datasets])]
    assert "CAT0101" in ids
    offer = {"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Offer", "@id": tck.offer_id("CAT0101"),
             "assigner": node.did, "target": "CAT0101", "permission": [{"action": "use"}]}
    neg = edc.mgmt("POST", "/v3/contractnegotiations", {"@context": EDC_VOCAB, "@type": "ContractRequest",
                                                        "counterPartyAddress": node.dsp_url, "protocol": PROTOCOL,
                                                        "policy": offer})
    s = edc.wait(f"/v3/contractnegotiations/{neg['@id']}", {"FINALIZED", "TERMINATED"})
    assert s["state"] == "FINALIZED", s
    tp = edc.mgmt("POST", "/v3/transferprocesses", {"@context": EDC_VOCAB, "@type": "TransferRequest",
                                                    "counterPartyAddress": node.dsp_url,
                                                    "contractId": s["contractAgreementId"],
                                                    "transferType": "HttpData-PULL", "protocol": PROTOCOL})
    s = edc.wait(f"/v3/transferprocesses/{tp['@id']}", {"STARTED", "TERMINATED", "COMPLETED"})
    assert s["state"] == "STARTED", s
    edr = edc.mgmt("GET", f"/v3/edrs/{tp['@id']}/dataaddress")
    # EDC's management API returns the data address our TransferStartMessage carried, compacted its own way
    local = {k.rsplit("/", 1)[-1]: v for k, v in edr.items()}
    endpoint, token = local.get("endpoint"), local.get("authorization")
    assert endpoint and token, f"EDR without endpoint or token: {edr}"
    r = httpx.get(endpoint, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    took = time.perf_counter() - started
    assert r.status_code == 200, r.text
    assert r.json() == {"tck": "CAT0101"}  # the dataset's document, through our data plane
    with capsys.disabled():
        print(f"\nEDC 0.15.1 -> our node: catalog, negotiation (FINALIZED), transfer (STARTED), pull with EDC's "
              f"EDR: {took * 1000:.0f} ms; EDR: {json.dumps(sorted(edr))}")
