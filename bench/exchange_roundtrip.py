"""Data-space exchange figures on loopback: catalog → negotiation → transfer → pull round trip, and
passports transferred per second under an agreed contract.

Three nodes (issuer, provider, consumer), each a uvicorn server on its own port with its own SQLite
store; every step is real HTTP with a fresh VP-JWT presentation, schema validation of every DSP message,
policy evaluation and store writes. By default the issuer and the provider run as separate processes
(``node serve --config``) and the consumer in this one, as deployed; ``--in-process`` runs all three in
this interpreter (they then share its GIL).

With ``--peer edc`` the same run also measures the round trip with an Eclipse EDC 0.15.1 runtime (from
Maven Central: ``make interop-deps``; ``exchange/edc.py``) in both directions: our node → EDC (catalog →
negotiation → transfer → pull through EDC's data plane) and EDC → our node (driven through EDC's
management API, pull with the EDR EDC received); EDC authenticates with its mock identity, which our node
accepts only in its interop test mode.

Run: .venv/bin/python bench/exchange_roundtrip.py [--rounds 200] [--passports 300] [--in-process]
                                                [--peer edc [--edc-rounds 20]]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from batteryloop.access import Caller
from batteryloop.services import build_services
from batteryloop.config import Settings
from batteryloop.exchange.config import DatasetConfig, NodeConfig
from batteryloop.exchange.credentials import BPN, FRAMEWORK_AGREEMENT, MEMBERSHIP
from batteryloop.exchange.node import Node
from batteryloop.exchange.runtime import ThreadedNode, reserve_port
from batteryloop.participants import Role
from batteryloop.sim import pilot

POLICY = {"@id": "u", "permission": [{"action": "use", "constraint": [{"and": [
    {"leftOperand": "FrameworkAgreement", "operator": "eq", "rightOperand": "DataExchangeGovernance:1.0"},
    {"leftOperand": "Membership", "operator": "eq", "rightOperand": "active"},
    {"leftOperand": "UsagePurpose", "operator": "isAnyOf", "rightOperand": ["cx.circular.dpp:1"]}]}]}]}


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def seed_passport(store_url: str, base_url: str) -> str:
    from batteryloop.store.db import Store

    store = Store(store_url)
    store.upgrade()
    svc = build_services(Settings(database_url=store_url, public_base_url=base_url, issuing_agency_code="BL",
                                  admin_token=None), store, migrate=False)
    for part in pilot.PARTICIPANTS:
        svc.participants.create(part)
    for m in pilot.battery_models():
        svc.passports.create_model(m, Caller(is_admin=True))
    maker = Caller("BPNL000000000EM1", frozenset({Role.MANUFACTURER}))
    rec = svc.passports.create_passport(next(pilot.generate_batteries(1, seed=3)), maker)
    store.dispose()
    return str(rec["passport_id"])


class Remote:
    """A node served by ``python -m batteryloop.cli node serve --config`` in its own process."""

    def __init__(self, cfg: NodeConfig, tmp: Path) -> None:
        import subprocess
        import sys

        import httpx
        import yaml

        path = tmp / f"{cfg.name}.yaml"
        path.write_text(yaml.safe_dump(cfg.model_dump(exclude_none=True)))
        self.proc = subprocess.Popen([sys.executable, "-m", "batteryloop.cli", "node", "serve", "--config", str(path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(cfg.base_url + "/.well-known/did.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cfg.name} did not start")
            time.sleep(0.1)

    def cpu_s(self) -> float | None:
        """CPU time (user + system) the node's process has used so far (Linux /proc; None elsewhere)."""
        import os

        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--passports", type=int, default=300)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--peer", choices=("node", "edc"), default="node",
                    help="edc: also measure the round trip with an Eclipse EDC runtime, both directions")
    ap.add_argument("--edc-rounds", type=int, default=20)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bl-xbench-"))
    from batteryloop.trace.keys import Signer

    def cfg(name: str, pid: str, **kw: object) -> tuple[NodeConfig, object]:
        sock = reserve_port()
        c = NodeConfig(name=name, participant_id=pid, base_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
                       database_url=f"sqlite:///{tmp}/{name}.db", admin_token="bench",
                       key=Signer.generate(pid).private_text(), **kw)  # type: ignore[arg-type]
        return c, sock

    icfg, isock = cfg("issuer", "BPNL00000000ISSU", issuer=True)
    issuer_node = Node(icfg)  # issues the credentials on its own store, then serves it
    trust = {"registries": {"catena-x": {issuer_node.did: [MEMBERSHIP, BPN, FRAMEWORK_AGREEMENT]}}}
    pcfg, psock = cfg("provider", "BPNL000000000EM1", trust=trust,
                      datasets=[{"id": "urn:bl:doc", "kind": "document", "document": {"x": 1}, "usage_policy": POLICY}])
    ccfg, csock = cfg("consumer", "BPNL000000000RM3", trust=trust)
    passport_id = seed_passport(pcfg.database_url, pcfg.base_url)
    pcfg.datasets.append(DatasetConfig(id="urn:bl:passport", kind="passport", passport_id=passport_id,
                                       usage_policy=POLICY))
    year = time.time() + 86400 * 365
    from batteryloop.exchange.did import did_web

    for c_ in (pcfg, ccfg):
        did = did_web(c_.base_url)
        c_.credentials = [issuer_node.issue(did, BPN, {"holderIdentifier": c_.participant_id}, valid_until=year),
                          issuer_node.issue(did, MEMBERSHIP, {}, valid_until=year),
                          issuer_node.issue(did, FRAMEWORK_AGREEMENT, {"agreement": "DataExchangeGovernance",
                                                                      "contractVersion": "1.0"}, valid_until=year)]
    servers: list[object] = []
    if args.in_process:
        servers.append(ThreadedNode(issuer_node, isock))
        prov_t = ThreadedNode(Node(pcfg), psock)
        servers.append(prov_t)
        prov_t.node.passports = build_services(Settings(database_url=pcfg.database_url, public_base_url=pcfg.base_url,
                                                        issuing_agency_code="BL", admin_token=None),
                                               prov_t.node.store, migrate=False).passports
        mode = "all three nodes in this process"
    else:
        issuer_node.close()
        isock.close()  # type: ignore[attr-defined]
        psock.close()  # type: ignore[attr-defined]
        servers.append(Remote(icfg, tmp))
        servers.append(Remote(pcfg, tmp))
        mode = "issuer and provider each in its own process, consumer in this one"
    cons = ThreadedNode(Node(ccfg), csock)
    servers.append(cons)
    c = cons.node
    from types import SimpleNamespace

    p = SimpleNamespace(dsp_url=pcfg.base_url + "/dsp")
    import os

    print(f"mode: {mode}; load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    try:
        # ------------------------------------------------------------ round trip
        for _ in range(10):
            c.fetch(p.dsp_url, "urn:bl:doc")
        total, cat, neg, tr, pull = [], [], [], [], []
        provider = servers[1] if not args.in_process else None
        pcpu0 = provider.cpu_s() if isinstance(provider, Remote) else None
        cpu0 = time.process_time()
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            catalog = c.request_catalog(p.dsp_url)
            t1 = time.perf_counter()
            n = c.negotiate(p.dsp_url, "urn:bl:doc", catalog["dataset"][0]["hasPolicy"][0])
            t2 = time.perf_counter()
            t = c.transfer(p.dsp_url, n.agreement_id)  # type: ignore[arg-type]
            t3 = time.perf_counter()
            c.pull(t.pid)
            t4 = time.perf_counter()
            assert n.state == "FINALIZED" and t.state in ("STARTED", "COMPLETED"), (n.state, t.state)
            total.append((t4 - t0) * 1000)
            cat.append((t1 - t0) * 1000)
            neg.append((t2 - t1) * 1000)
            tr.append((t3 - t2) * 1000)
            pull.append((t4 - t3) * 1000)
        cpu_ms = (time.process_time() - cpu0) / args.rounds * 1000
        pcpu1 = provider.cpu_s() if isinstance(provider, Remote) else None
        print(f"catalog → negotiation → transfer → pull, {args.rounds} round trips on loopback (ms):")
        print(f"  {'step':28s} {'median':>8s} {'p99':>8s}")
        for label, xs in (("catalog request", cat), ("negotiation to FINALIZED", neg), ("transfer to STARTED", tr),
                          ("pull + completion", pull), ("round trip", total)):
            print(f"  {label:28s} {statistics.median(xs):8.2f} {pct(xs, 99):8.2f}")
        who = "all three nodes" if args.in_process else "the consumer node (this process)"
        print(f"  CPU time per round trip, {who}: {cpu_ms:.2f} ms")
        if pcpu0 is not None and pcpu1 is not None:
            print(f"  CPU time per round trip, the provider node (its own process): "
                  f"{(pcpu1 - pcpu0) / args.rounds * 1000:.2f} ms")

        if args.peer == "edc":
            edc_round_trips(tmp, args.edc_rounds)

        # ------------------------------------------------------------ passports per second
        n = c.negotiate(p.dsp_url, "urn:bl:passport")
        agreement = n.agreement_id

        def one(_: int) -> int:
            t = c.transfer(p.dsp_url, agreement)  # type: ignore[arg-type]
            data = c.pull(t.pid)
            return len(data["battery"])

        for workers in (1, 4):
            k = args.passports
            t0 = time.perf_counter()
            with ThreadPoolExecutor(workers) as ex:
                list(ex.map(one, range(k)))
            dt = time.perf_counter() - t0
            print(f"passports transferred under one agreement, {workers} concurrent consumer thread(s): "
                  f"{k / dt:7.1f} passports/s ({k} transfers, each request → start → pull → completion)")
    finally:
        for s in reversed(servers):
            s.stop()  # type: ignore[attr-defined]


def edc_round_trips(tmp: Path, rounds: int) -> None:
    """Round trips with an Eclipse EDC runtime: our node → EDC, then EDC → our node (medians, p99)."""
    import os

    from batteryloop.exchange import edc as edc_runtime
    from batteryloop.exchange import tck

    java, mvn = edc_runtime.tools()
    if not (java and mvn):
        raise SystemExit("--peer edc needs java and mvn (make interop-deps)")
    edc = edc_runtime.Edc(java, edc_runtime.resolve_classpath(mvn), tmp)
    os.environ[tck.ENV] = "1"  # our node in its interop test mode (EDC's mock identity), this run only
    sock = reserve_port()
    cfg = tck.node_config("edc-interop", f"http://127.0.0.1:{sock.getsockname()[1]}", f"sqlite:///{tmp}/edc-node.db",
                          "Bearer unused")
    cfg["tck"]["edc_mock_iam"] = True
    server = ThreadedNode(Node(NodeConfig.model_validate(cfg)), sock)
    node = server.node
    try:
        edc.seed()
        out: list[list[float]] = []
        back: list[list[float]] = []
        for i in range(rounds + 2):  # two warm-up rounds (EDC's JIT)
            steps = [time.perf_counter()]
            node.request_catalog(edc.dsp, edc_runtime.EDC_ID)
            steps.append(time.perf_counter())
            n = node.negotiate(edc.dsp, "edc-asset-1", audience=edc_runtime.EDC_ID, wait_s=30)
            steps.append(time.perf_counter())
            t = node.transfer(edc.dsp, n.agreement_id, audience=edc_runtime.EDC_ID, wait_s=30)  # type: ignore[arg-type]
            steps.append(time.perf_counter())
            node.pull(t.pid)
            steps.append(time.perf_counter())
            assert n.state == "FINALIZED" and t.state == "STARTED", (n.state, n.reason, t.state, t.reason)
            b, _ = edc.fetch_from(node.dsp_url, node.did, "CAT0101", tck.offer_id("CAT0101"))
            if i >= 2:
                out.append([(y - x) * 1000 for x, y in zip(steps, steps[1:])])
                back.append([x * 1000 for x in b])
        print(f"with Eclipse EDC 0.15.1 (control and data plane in one JVM, state machines at 50 ms), "
              f"{rounds} round trips each way (ms):")
        print(f"  {'step':28s} {'node→EDC med':>12s} {'p99':>8s} {'EDC→node med':>12s} {'p99':>8s}")
        labels = ("catalog request", "negotiation to FINALIZED", "transfer to STARTED", "pull (+ completion)")
        for k, label in enumerate(labels):
            a, b_ = [r[k] for r in out], [r[k] for r in back]
            print(f"  {label:28s} {statistics.median(a):12.1f} {pct(a, 99):8.1f} {statistics.median(b_):12.1f} "
                  f"{pct(b_, 99):8.1f}")
        ta, tb = [sum(r) for r in out], [sum(r) for r in back]
        print(f"  {'round trip':28s} {statistics.median(ta):12.1f} {pct(ta, 99):8.1f} {statistics.median(tb):12.1f} "
              f"{pct(tb, 99):8.1f}")
        print("  (EDC → node is driven through EDC's management API and polls its state every 50 ms)")
    finally:
        server.stop()
        edc.stop()
        os.environ.pop(tck.ENV, None)


if __name__ == "__main__":
    main()
