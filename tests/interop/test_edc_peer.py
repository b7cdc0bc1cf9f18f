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

import os
import time
from typing import Any

import pytest

from batteryloop.exchange import edc as edc_runtime
from batteryloop.exchange import tck
from batteryloop.exchange.edc import EDC_ID, Edc
from batteryloop.exchange.config import NodeConfig
from batteryloop.exchange.node import Node
from tests.interop.conftest import java_and_maven
from batteryloop.exchange.runtime import ThreadedNode, reserve_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Any:
    java, mvn = java_and_maven("EDC")
    cp = edc_runtime.resolve_classpath(mvn)
    tmp = tmp_path_factory.mktemp("edc")
    edc = Edc(java, cp, tmp)
    old = os.environ.get(tck.ENV)
    os.environ[tck.ENV] = "1"
    server = None
    try:
        sock = reserve_port()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        cfg = tck.node_config("edc-interop", url, f"sqlite:///{tmp}/node.db", "Bearer unused-here")
        cfg["tck"]["edc_mock_iam"] = True
        server = ThreadedNode(Node(NodeConfig.model_validate(cfg)), sock)
        edc.seed()  # what EDC offers: its own health document, under an unconstrained "use" policy
        yield edc, server.node
    finally:
        if server is not None:
            server.stop()
        edc.stop()
        if old is None:
            os.environ.pop(tck.ENV, None)
        else:
            os.environ[tck.ENV] = old


def test_our_node_fetches_from_edc(peers: Any, record_property: Any) -> None:
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
    record_property("summary", "\n".join(  # printed at the end of the run (tests/conftest.py)
        f"our node -> EDC 0.15.1, round {i}: catalog {r[0] * 1000:.0f} ms, negotiation to FINALIZED "
        f"{r[1] * 1000:.0f} ms, transfer to STARTED {r[2] * 1000:.0f} ms, pull + completion {r[3] * 1000:.0f} ms; "
        f"total {sum(r) * 1000:.0f} ms" for i, r in enumerate(rounds, 1)))


def test_edc_fetches_from_our_node(peers: Any, record_property: Any) -> None:
    edc, node = peers
    steps, data = edc.fetch_from(node.dsp_url, node.did, "CAT0101", tck.offer_id("CAT0101"))
    assert data == {"tck": "CAT0101"}  # the dataset's document, through our data plane
    record_property("summary", f"EDC 0.15.1 -> our node: catalog {steps[0] * 1000:.0f} ms, negotiation to FINALIZED "
                               f"{steps[1] * 1000:.0f} ms, transfer to STARTED {steps[2] * 1000:.0f} ms, pull with "
                               f"EDC's EDR {steps[3] * 1000:.0f} ms; total {sum(steps) * 1000:.0f} ms")
