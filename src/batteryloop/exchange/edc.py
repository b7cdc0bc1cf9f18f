"""A minimal Eclipse EDC connector as a DSP peer, for interop tests and benchmarks only.

``interop/edc/pom.xml`` resolves it from Maven Central (``make interop-deps``, or :func:`resolve_classpath`);
:class:`Edc` starts it (``BaseRuntime``, control plane and data plane in one JVM, in-memory stores, mock
identity) on free ports and drives it through its management API; :func:`round_trip_from_edc` has EDC
fetch a dataset from one of our nodes. Our node talks to it in its interop test mode
(``tck.edc_mock_iam``, see ``exchange/tck.py``). Used by ``tests/interop/test_edc_peer.py`` and
``bench/exchange_roundtrip.py --peer edc``; docs/exchange.md, "Eclipse EDC as a peer".
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]  # the repository (interop/, var/)
POM = ROOT / "interop" / "edc" / "pom.xml"
CLASSPATH = ROOT / "var" / "edc" / "classpath.txt"
EDC_ID = "edc-peer"
API_KEY = "edc-management-key"
PROTOCOL = "dataspace-protocol-http:2025-1"
EDC_VOCAB = {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"}


def tools() -> tuple[str | None, str | None]:
    """The ``java`` and ``mvn`` commands (None where missing: ``scripts/system-deps.sh`` installs them)."""
    return shutil.which("java"), shutil.which("mvn")


def resolve_classpath(mvn: str, pom: Path = POM, classpath: Path = CLASSPATH) -> str:
    """The class path of ``pom``'s dependencies (EDC's by default; the Dataspace TCK's too), resolved from Maven
    Central into ``var/m2`` and kept in ``classpath`` until the POM changes (offline once resolved; the
    Makefile's ``var/%/classpath.txt`` rule does the same)."""
    if not classpath.exists() or classpath.stat().st_mtime < pom.stat().st_mtime:
        classpath.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([mvn, "-B", "-q", f"-Dmaven.repo.local={ROOT / 'var' / 'm2'}", "-f", str(pom),
                        "dependency:build-classpath", f"-Dmdep.outputFile={classpath}"], check=True, timeout=900)
    return classpath.read_text().strip()


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
        socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(6)]
        ports = [s.getsockname()[1] for s in socks]
        for s in socks:
            s.close()  # EDC binds them (a free port could be taken meanwhile; unlikely on loopback)
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
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.http.close()

    def seed(self) -> None:
        """One asset (EDC's own health document) under an unconstrained ``use`` policy."""
        self.mgmt("POST", "/v3/assets", {"@context": EDC_VOCAB, "@id": "edc-asset-1", "properties": {"name": "sample"},
                                         "dataAddress": {"type": "HttpData", "baseUrl": self.health}})
        self.mgmt("POST", "/v3/policydefinitions", {"@context": EDC_VOCAB, "@id": "open", "policy": {
            "@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Set", "permission": [{"action": "use"}]}})
        self.mgmt("POST", "/v3/contractdefinitions", {"@context": EDC_VOCAB, "@id": "cd-1", "accessPolicyId": "open",
                                                      "contractPolicyId": "open", "assetsSelector": []})

    def fetch_from(self, dsp_url: str, did: str, dataset_id: str, offer_id: str) -> tuple[list[float], Any]:
        """EDC, through its management API, fetches ``dataset_id`` from the node at ``dsp_url``: catalog,
        negotiation (FINALIZED), transfer (STARTED), and a pull with the EDR EDC received. Returns the seconds
        of each of the four steps, and the data."""
        steps = [time.perf_counter()]
        catalog = self.mgmt("POST", "/v3/catalog/request", {"@context": EDC_VOCAB, "@type": "CatalogRequest",
                                                            "counterPartyAddress": dsp_url, "counterPartyId": did,
                                                            "protocol": PROTOCOL})
        datasets = catalog.get("dataset", [])
        ids = [d["@id"] for d in (datasets if isinstance(datasets, list) else [datasets])]
        assert dataset_id in ids, ids
        steps.append(time.perf_counter())
        offer = {"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Offer", "@id": offer_id, "assigner": did,
                 "target": dataset_id, "permission": [{"action": "use"}]}
        neg = self.mgmt("POST", "/v3/contractnegotiations", {"@context": EDC_VOCAB, "@type": "ContractRequest",
                                                             "counterPartyAddress": dsp_url, "protocol": PROTOCOL,
                                                             "policy": offer})
        s = self.wait(f"/v3/contractnegotiations/{neg['@id']}", {"FINALIZED", "TERMINATED"})
        assert s["state"] == "FINALIZED", s
        steps.append(time.perf_counter())
        tp = self.mgmt("POST", "/v3/transferprocesses", {"@context": EDC_VOCAB, "@type": "TransferRequest",
                                                         "counterPartyAddress": dsp_url,
                                                         "contractId": s["contractAgreementId"],
                                                         "transferType": "HttpData-PULL", "protocol": PROTOCOL})
        s = self.wait(f"/v3/transferprocesses/{tp['@id']}", {"STARTED", "TERMINATED", "COMPLETED"})
        assert s["state"] == "STARTED", s
        steps.append(time.perf_counter())
        deadline = time.monotonic() + 15
        while True:  # EDC stores the EDR from an event after the process is STARTED: it can lag a moment
            r = self.http.get(f"{self.management}/v3/edrs/{tp['@id']}/dataaddress")
            if r.status_code != 404 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert r.status_code == 200, f"EDR of transfer {tp['@id']}: {r.status_code} {r.text[:300]}"
        edr = r.json()
        # EDC returns the data address our TransferStartMessage carried, compacted its own way
        local = {k.rsplit("/", 1)[-1]: v for k, v in edr.items()}
        endpoint, token = local.get("endpoint"), local.get("authorization")
        assert endpoint and token, f"EDR without endpoint or token: {edr}"
        r = httpx.get(endpoint, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200, r.text
        steps.append(time.perf_counter())
        return [b - a for a, b in zip(steps, steps[1:])], r.json()
