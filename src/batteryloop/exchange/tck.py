"""What the Eclipse Dataspace TCK needs of a connector under test — off unless configured and allowed.

The TCK (``org.eclipse.dataspacetck.dsp``, run by ``tests/interop/test_dsp_tck.py`` through
``interop/dsp-tck``) drives a connector through every path of the DSP 2025-1 state machines. Its remote
mode cannot tell the connector under test what to do next, so each scenario names a dataset (negotiations)
or an agreement (transfers) on which the connector plays the scenario's part: as provider, answer a request
with an offer, an agreement or a termination; as consumer, accept, counter, verify or terminate. This module
holds those scripts (``SCENARIOS``), builds the node configuration that offers those datasets and the
properties file that tells the TCK their ids, and runs the scripted steps on a node
(``exchange.node.Node``, which imports this module).

Three things exist only here, and only on a node whose config has a ``tck`` section **and** whose process
has ``BATTERYLOOP_DSP_TCK=1`` (a production node never has both):

* the TCK's fixed ``Authorization`` header stands for a presentation (the TCK has no wallet); it authenticates
  the TCK as participant ``TCK_PARTICIPANT`` with no credentials, so only datasets without constraints (the
  TCK's) are open to it;
* ``POST /tck/negotiations/requests`` and ``/tck/transfers/requests``: the TCK's signal to make our node start a
  negotiation or transfer as consumer (``{datasetId, offerId | agreementId, format, providerId, connectorAddress}``);
* the scripted steps. Everything else — message validation, the state machines, pid checks, the error objects —
  is the node's ordinary code, which is what the TCK verifies.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from .config import TckConfig
from .dsp import N, T
from .repository import Negotiation, Transfer

ENV = "BATTERYLOOP_DSP_TCK"
PARTICIPANT = "TCK_PARTICIPANT"  # the id the TCK gives itself (DspConstants.TCK_PARTICIPANT_ID)
PAUSE_S = 0.5
# before each scripted step: the TCK records our answer to its message only after it has read it; a message
# of ours that arrives before then meets a TCK that is still in the previous state (and drops the connection)
SETTLE_S = 0.25

# test id -> (dataset or agreement id, script). Provider negotiation scripts: request / counter / accepted /
# verified -> the step the provider takes (absent: the node's ordinary behaviour: agree, finalize).
# Consumer negotiation scripts: offer / agreement / requested -> the consumer's step. Transfer scripts: the
# provider's steps after a request, or the consumer's after the provider's start (or after its own request).
SCENARIOS: dict[str, tuple[str, dict[str, Any]]] = {
    # CN: the node is the provider
    "CN_01_01": ("ACN0101", {"request": "offer"}),
    "CN_01_02": ("ACN0102", {"request": "offer", "counter": "terminate"}),
    "CN_01_03": ("ACN0103", {"request": "offer", "accepted": "agree", "verified": "finalize"}),
    "CN_01_04": ("ACN0104", {"request": "agree", "verified": "finalize"}),
    "CN_02_01": ("ACN0201", {"request": "terminate"}),
    "CN_02_02": ("ACN0202", {"request": "none"}),
    "CN_02_03": ("ACN0203", {"request": "agree"}),
    "CN_02_04": ("ACN0204", {"request": "offer"}),
    "CN_02_05": ("ACN0205", {"request": "offer+terminate"}),
    "CN_02_06": ("ACN0206", {"request": "offer", "accepted": "terminate"}),
    "CN_02_07": ("ACN0207", {"request": "agree", "verified": "terminate"}),
    "CN_03_01": ("ACN0301", {"request": "agree", "verified": "finalize"}),
    "CN_03_02": ("ACN0302", {"request": "offer"}),
    "CN_03_03": ("ACN0303", {"request": "offer", "accepted": "none"}),
    "CN_03_04": ("ACN0304", {"request": "offer", "counter": "none"}),
    # CN_C: the node is the consumer
    "CN_C_01_01": ("ACNC0101", {"offer": "accept", "agreement": "verify"}),
    "CN_C_01_02": ("ACNC0102", {"offer": "counter"}),
    "CN_C_01_03": ("ACNC0103", {"offer": "terminate"}),
    "CN_C_01_04": ("ACNC0104", {"agreement": "verify"}),
    "CN_C_02_01": ("ACNC0201", {}),
    "CN_C_02_02": ("ACNC0202", {"requested": "terminate"}),
    "CN_C_02_03": ("ACNC0203", {"agreement": "terminate"}),
    "CN_C_02_04": ("ACNC0204", {"offer": "none"}),
    "CN_C_02_05": ("ACNC0205", {"offer": "accept"}),
    "CN_C_02_06": ("ACNC0206", {"agreement": "verify"}),
    "CN_C_03_01": ("ACNC0301", {}),
    "CN_C_03_02": ("ACNC0302", {"offer": "none"}),
    "CN_C_03_03": ("ACNC0303", {"offer": "none"}),
    "CN_C_03_04": ("ACNC0304", {"offer": "accept"}),
    "CN_C_03_05": ("ACNC0305", {"offer": "accept"}),
    "CN_C_03_06": ("ACNC0306", {"offer": "accept", "agreement": "none"}),
    # TP: the node is the provider (steps after the consumer's request)
    "TP_01_01": ("ATP0101", {"steps": ["start", "pause", "terminate"]}),
    "TP_01_02": ("ATP0102", {"steps": ["start", "pause", "complete"]}),
    "TP_01_03": ("ATP0103", {"steps": ["start", "pause", "suspend", "pause", "terminate"]}),
    "TP_01_04": ("ATP0104", {"steps": ["start", "pause", "suspend", "pause", "start", "pause", "complete"]}),
    "TP_01_05": ("ATP0105", {"steps": ["terminate"]}),
    "TP_02_01": ("ATP0201", {"steps": ["start"]}),
    "TP_02_02": ("ATP0202", {"steps": ["start"]}),
    "TP_02_03": ("ATP0203", {"steps": ["start"]}),
    "TP_02_04": ("ATP0204", {"steps": ["start"]}),
    "TP_02_05": ("ATP0205", {"steps": []}),
    "TP_03_01": ("ATP0301", {"steps": []}),
    "TP_03_02": ("ATP0302", {"steps": []}),
    "TP_03_03": ("ATP0303", {"steps": ["start"]}),
    "TP_03_04": ("ATP0304", {"steps": ["start"]}),
    "TP_03_05": ("ATP0305", {"steps": ["start"]}),
    "TP_03_06": ("ATP0306", {"steps": ["start"]}),
    # TP_C: the node is the consumer (steps after the provider's start, or after its own request)
    "TP_C_01_01": ("ATPC0101", {}),
    "TP_C_01_02": ("ATPC0102", {}),
    "TP_C_01_03": ("ATPC0103", {}),
    "TP_C_01_04": ("ATPC0104", {}),
    "TP_C_01_05": ("ATPC0105", {}),
    "TP_C_02_01": ("ATPC0201", {"started": ["terminate"]}),
    "TP_C_02_02": ("ATPC0202", {"started": ["complete"]}),
    "TP_C_02_03": ("ATPC0203", {"started": ["suspend", "pause", "terminate"]}),
    "TP_C_02_04": ("ATPC0204", {"started": ["suspend", "pause", "start", "pause", "complete"]}),
    "TP_C_02_05": ("ATPC0205", {"requested": ["pause", "terminate"]}),
    "TP_C_03_01": ("ATPC0301", {}),
    "TP_C_03_02": ("ATPC0302", {}),
    "TP_C_03_03": ("ATPC0303", {}),
    "TP_C_03_04": ("ATPC0304", {}),
    "TP_C_03_05": ("ATPC0305", {}),
    "TP_C_03_06": ("ATPC0306", {}),
    # CAT: datasets the catalog must list
    "CAT_01_01": ("CAT0101", {}),
    "CAT_01_02": ("CAT0102", {}),
    "CAT_01_03": ("CAT0103-absent", {}),  # the "not found" case: a dataset that does not exist
}

OPEN_POLICY: dict[str, Any] = {"permission": [{"action": "use"}]}


def offer_id(dataset_id: str) -> str:
    return f"CD123:{dataset_id}:456"  # the TCK's own form (its consumer tests derive the offer id so)


def enabled(cfg: TckConfig | None) -> bool:
    """TCK mode: a ``tck`` section in the node config and ``BATTERYLOOP_DSP_TCK=1`` in the environment."""
    if cfg is None:
        return False
    if os.environ.get(ENV) != "1":
        raise RuntimeError(f"this node's configuration has a 'tck' section (DSP TCK mode), which is for "
                           f"conformance runs only: set {ENV}=1 to allow it")
    return True


def node_config(name: str, base_url: str, database_url: str, authorization: str) -> dict[str, Any]:
    """A node configuration offering the TCK's datasets and holding its provider agreements (``TP_*``)."""
    datasets = []
    for test, (ident, _) in SCENARIOS.items():
        if test.startswith(("CN_0", "CAT")) and not ident.endswith("-absent"):
            datasets.append({"id": ident, "title": f"TCK dataset {ident}", "offer_id": offer_id(ident),
                             "document": {"tck": ident}, "usage_policy": OPEN_POLICY})
    datasets.append({"id": "TCK-TRANSFERS", "title": "TCK transfer dataset", "document": {"tck": "transfer"},
                     "usage_policy": OPEN_POLICY})
    return {"name": name, "participant_id": "BPNL00000000TCK1", "base_url": base_url, "database_url": database_url,
            "status_cache_s": 0, "datasets": datasets,
            "tck": {"authorization": authorization, "participant_id": PARTICIPANT}}


def properties(node_base_url: str, callback_address: str, port: int, authorization: str,
               wait_s: int = 20) -> dict[str, str]:
    """The TCK's configuration for our node (DspSystemLauncher's keys, and each scenario's ids)."""
    props = {
        "dataspacetck.debug": os.environ.get("BATTERYLOOP_TCK_DEBUG", "false"),
        "dataspacetck.dsp.local.connector": "false",
        "dataspacetck.host": "127.0.0.1",
        "dataspacetck.port": str(port),
        "dataspacetck.callback.address": callback_address,
        "dataspacetck.dsp.connector.agent.id": "did:web:" + node_base_url.split("://", 1)[1].replace(":", "%3A"),
        "dataspacetck.dsp.connector.http.url": node_base_url + "/dsp",
        "dataspacetck.dsp.connector.http.base.url": node_base_url,
        "dataspacetck.dsp.connector.http.headers.authorization": authorization,
        "dataspacetck.dsp.connector.negotiation.initiate.url": node_base_url + "/tck/negotiations/requests",
        "dataspacetck.dsp.connector.transfer.initiate.url": node_base_url + "/tck/transfers/requests",
        "dataspacetck.dsp.default.wait": str(wait_s),
    }
    for test, (ident, _) in SCENARIOS.items():
        if test.startswith("TP"):
            props[f"{test}_AGREEMENTID"] = ident
            props[f"{test}_FORMAT"] = "HttpData-PULL"
        else:
            props[f"{test}_DATASETID"] = ident
            if test.startswith("CN"):
                props[f"{test}_OFFERID"] = offer_id(ident)
    return props


_BY_ID: dict[str, dict[str, Any]] = {ident: script for ident, script in SCENARIOS.values()}


class Tck:
    """The scripted part of a node in TCK mode (see the module docstring)."""

    def __init__(self, node: Any, cfg: TckConfig) -> None:  # node: the exchange.node.Node it scripts
        self.node = node
        self.cfg = cfg
        self.errors: list[str] = []

    # ------------------------------------------------------------------ identity
    def accepts(self, authorization: str | None) -> bool:
        import hmac

        return authorization is not None and hmac.compare_digest(authorization.encode(), self.cfg.authorization.encode())

    def mock_token(self, audience: str) -> str:
        """EDC's mock identity token (``iam-mock``): who we are, unsigned — for interop tests only."""
        import json

        return json.dumps({"region": "eu", "audience": audience, "clientId": self.node.did})

    def mock_peer(self, authorization: str | None) -> str | None:
        """The ``clientId`` of an EDC mock identity token (with ``edc_mock_iam`` only), else None."""
        if not self.cfg.edc_mock_iam or not authorization or not authorization.startswith("{"):
            return None
        import json

        try:
            client = json.loads(authorization).get("clientId")
        except (ValueError, AttributeError):
            return None
        return client if isinstance(client, str) and client else None

    def seed(self) -> None:
        """The provider agreements the TCK's TP scenarios transfer under (FINALIZED, with the TCK as consumer)."""
        from ..store.db import utcnow_iso

        now = utcnow_iso()
        for test, (agreement_id, _) in SCENARIOS.items():
            if not test.startswith("TP_0"):
                continue
            try:
                self.node.repo.negotiation_by_agreement(agreement_id, "provider")
                continue
            except Exception:  # noqa: BLE001 - not there yet
                pass
            agreement = {"@id": agreement_id, "@type": "Agreement", "target": "TCK-TRANSFERS", "timestamp": now[:19] + "Z",
                         "assigner": self.node.did, "assignee": self.cfg.participant_id, **OPEN_POLICY}
            self.node.repo.add_negotiation(Negotiation(
                f"urn:uuid:tck-{agreement_id}", "provider", f"urn:uuid:tck-consumer-{agreement_id}",
                self.cfg.participant_id, "", "TCK-TRANSFERS", N.FINALIZED, {**OPEN_POLICY, "target": "TCK-TRANSFERS"},
                agreement_id, agreement, {"did": self.cfg.participant_id}, None, now, now))

    # ------------------------------------------------------------------ running steps
    def _later(self, fn: Callable[..., Any], *args: Any, delay: float = 0.0) -> None:
        def run() -> None:
            if delay:
                time.sleep(delay)
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - the TCK sees the outcome; we keep the reason
                self.errors.append(f"{getattr(fn, '__name__', fn)}: {exc}")

        threading.Thread(target=run, daemon=True).start()

    def script(self, key: str) -> dict[str, Any] | None:
        return _BY_ID.get(key)

    # ------------------------------------------------------------------ negotiations
    def _step(self, event: str, n: Negotiation, background: Callable[..., None] | None,
              actions: dict[str, Callable[[], Any]]) -> bool:
        """Run the scenario's step for ``event`` on negotiation ``n`` in the background, after SETTLE_S; False:
        the scenario has no step there (do the ordinary thing); ``"none"``: do nothing."""
        s = self.script(n.dataset_id)
        step = None if s is None else s.get(event)
        if step is None:
            return False
        if step == "none":
            return True
        act = actions.get(step)
        if act is None:
            raise ValueError(f"unknown TCK step {step!r} for {event} (known: none, {', '.join(actions)})")

        def settled() -> None:
            time.sleep(SETTLE_S)
            act()
        (background or self._later)(settled)
        return True

    # ------------------------------------------------------------------ provider: negotiation
    def provider_step(self, event: str, n: Negotiation, background: Callable[..., None] | None = None) -> bool:
        """Run the scenario's step for ``event`` on provider negotiation ``n``; False: do the ordinary thing."""
        node = self.node

        def offer() -> None:
            node._counter_offer(n.pid, n, ["TCK scenario: the provider offers"])

        def offer_then_terminate() -> None:
            offer()
            self._terminate_negotiation(n.pid)
        return self._step(event, n, background, {
            "offer": offer, "agree": lambda: node._agree(n.pid, n), "finalize": lambda: node._finalize(n.pid, n),
            "terminate": lambda: self._terminate_negotiation(n.pid), "offer+terminate": offer_then_terminate})

    def _terminate_negotiation(self, pid: str) -> None:
        # the TCK registers its handler for our termination only after our answer to the message that
        # triggers it (e.g. ``sendRequestMessage().expectTermination()``): give it that moment
        time.sleep(PAUSE_S)
        self.node.terminate_negotiation(pid, "TCK scenario: terminated")

    # ------------------------------------------------------------------ consumer: negotiation
    def initiate_negotiation(self, body: dict[str, Any]) -> None:
        dataset_id, oid = body["datasetId"], body.get("offerId") or offer_id(body["datasetId"])
        offer = {"@id": oid, "@type": "Offer", **OPEN_POLICY}
        s = self.script(dataset_id) or {}

        def go() -> None:
            n = self.node.negotiate(body["connectorAddress"], dataset_id, offer, audience=body.get("providerId"),
                                    wait_s=0)
            if s.get("requested") == "terminate":
                time.sleep(PAUSE_S)
                self.node.terminate_negotiation(n.pid, "TCK scenario: the consumer terminates")
        self._later(go)

    def consumer_step(self, event: str, n: Negotiation, background: Callable[..., None] | None = None) -> bool:
        """Run the scenario's step for ``event`` on consumer negotiation ``n``; False: do the ordinary thing."""
        node = self.node
        return self._step(event, n, background, {
            "accept": lambda: node.accept_offer(n.pid, wait_s=0),
            "counter": lambda: node.counter_offer(n.pid, {k: v for k, v in (n.offer or {}).items()
                                                          if k not in ("assigner", "assignee")}, wait_s=0),
            "verify": lambda: node._verify_agreement(n.pid, n),
            "terminate": lambda: self._terminate_negotiation(n.pid)})

    # ------------------------------------------------------------------ transfers
    def provider_transfer(self, t: Transfer, background: Callable[..., None]) -> bool:
        s = self.script(t.agreement_id)
        if s is None:
            return False
        background(self._steps, t.pid, ["settle", *s.get("steps", [])], t)
        return True

    def initiate_transfer(self, body: dict[str, Any]) -> None:
        s = self.script(body["agreementId"]) or {}

        def go() -> None:
            t = self.node.transfer(body["connectorAddress"], body["agreementId"], audience=body.get("providerId"),
                                   wait_s=0)
            if s.get("requested"):
                self._steps(t.pid, list(s["requested"]))
        self._later(go)

    def consumer_started(self, t: Transfer) -> None:
        s = self.script(t.agreement_id)
        if s and s.get("started") and t.state == T.REQUESTED:  # the first start only
            self._later(self._steps, t.pid, list(s["started"]), delay=SETTLE_S)

    def _steps(self, pid: str, steps: list[str], t: Transfer | None = None) -> None:
        node = self.node
        for step in steps:
            if step == "pause":
                time.sleep(PAUSE_S)
            elif step == "settle":
                time.sleep(SETTLE_S)
            elif step == "start" and t is not None and t.state == T.REQUESTED and t.role == "provider":
                node._start_transfer(pid, t)
                t = None
            elif step == "start":
                node.signal_transfer(pid, "TransferStartMessage")
            elif step == "suspend":
                node.signal_transfer(pid, "TransferSuspensionMessage", "TCK scenario: suspended")
            elif step == "complete":
                node.signal_transfer(pid, "TransferCompletionMessage")
            elif step == "terminate":
                node.signal_transfer(pid, "TransferTerminationMessage", "TCK scenario: terminated")
            else:
                raise ValueError(f"unknown TCK step {step!r}")
