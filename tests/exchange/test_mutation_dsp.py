"""The DSP 2025-1 rules of ``exchange.dsp`` beyond the state tables: what a refusal says, and the shape of
every message, error object and version document the module builds.

Sources (eclipse-dataspace-protocol-base/DataspaceProtocol @ 0b7ac408, copied to /work/shared/fixtures/dsp):

* the state machines are the ones transcribed in ``test_dsp_state_tables.py`` (imported from there, never
  from ``dsp._NEGOTIATION`` / ``dsp._TRANSFER``). A refusal must be "a clear error that names what is
  wrong": the message, the side that sent it, the process (contract negotiation / transfer process), the
  state it arrived in and — for a message the sender may send, but not now — the states the specification
  allows it in. A state machine error is the protocol's client error (HTTP 400);
* message shapes: the ``negotiation/example``, ``transfer/example`` and ``catalog/example`` files (a
  ``ContractNegotiation`` / ``TransferProcess`` object is ``@context``, ``@type``, both pids and ``state``; the
  error objects are ``code`` and ``reason`` plus, except for ``CatalogError``, both pids, which their schemas
  require); the 2025-1 context IRI ``https://w3id.org/dspace/2025/1/context.jsonld``;
* the version document: ``common/protocol-version-schema.json`` and ``common/example/protocol-version.json``
  (``version`` "2025-1", ``path``, ``binding`` "HTTPS", ``serviceId``, ``identifierType``, ``auth``). Our
  participants are did:web identities and authenticate with VC-JWT presentations of VC Data Model 1.1
  credentials (``exchange.credentials``); the auth profile id ``vc11-sl2021/jwt`` is the one the
  specification's own example uses for VC 1.1 JWTs;
* what we send always conforms (a non-conforming outgoing message is our bug: HTTP 500); what we receive
  is refused with the schema's reasons (HTTP 400). The reasons are the schema's errors in the schema
  validator's order (``schemas.dsp_errors``), "; "-separated, the first few only (3 outgoing, 5 incoming)
  so that an error stays readable.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from batteryloop.exchange import dsp
from batteryloop.exchange.dsp import NegotiationState as N, Role, TransferState as T
from batteryloop.exchange.errors import ProtocolError
from batteryloop.exchange.schemas import dsp_errors
from tests.exchange.test_dsp_state_tables import (
    NEGOTIATION_MESSAGES, SPEC_NEGOTIATION, SPEC_TRANSFER, TRANSFER_MESSAGES,
)

C, P = Role.CONSUMER, Role.PROVIDER
NEW = None
CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]
TERMINATION = {"negotiation": "ContractNegotiationTerminationMessage", "transfer": "TransferTerminationMessage"}
MACHINES = {
    "negotiation": (dsp.next_negotiation_state, SPEC_NEGOTIATION, NEGOTIATION_MESSAGES, [NEW, *N],
                    "contract negotiation"),
    "transfer": (dsp.next_transfer_state, SPEC_TRANSFER, TRANSFER_MESSAGES, [NEW, *T], "transfer process"),
}


def _shown(state: Any) -> str:
    return "(new)" if state is None else str(state)


def _refused_cells(machine: str) -> list[Any]:
    step, spec, messages, states, _ = MACHINES[machine]
    return [pytest.param(machine, m, s, r, id=f"{machine}-{m}-{s or 'new'}-{r.value}")
            for m in messages for s in states for r in Role if s not in spec.get((m, r), {})]


REFUSED = _refused_cells("negotiation") + _refused_cells("transfer")


@pytest.mark.parametrize(("machine", "message", "state", "sender"), REFUSED)
def test_every_refusal_names_what_is_wrong(machine: str, message: str, state: Any, sender: Role) -> None:
    """Every cell the specification refuses: the error names the message, the sender and the state, and for a
    message this sender may send in other states, exactly the states the specification allows it in."""
    step, spec, _, _, process = MACHINES[machine]
    with pytest.raises(ProtocolError) as e:
        step(state, message, sender)
    exc, detail = e.value, str(e.value)
    assert exc.status == 400, (exc.status, detail)
    if message == TERMINATION[machine]:
        # either side may terminate; only a process that does not exist or is final cannot be
        assert exc.code == "InvalidStateTransition", detail
        assert f"terminate a {machine}" in detail, detail
        if state is None:
            assert re.search(r"\bnone\b", detail), detail
        else:
            assert re.search(rf"\b{state}\b", detail) and "final" in detail, detail
        return
    allowed_from = spec.get((message, sender))
    if allowed_from is None:  # this side never sends this message
        assert exc.code == "InvalidMessage", detail
        assert f"the {sender.value} does not send {message} in a {process}" in detail, detail
        return
    assert exc.code == "InvalidStateTransition", detail
    assert message in detail and f"from the {sender.value}" in detail, detail
    assert re.search(rf"not allowed in state {re.escape(_shown(state))}(;|$)", detail), detail
    listed = re.search(r"allowed in: (.*)$", detail)
    assert listed, detail
    assert sorted(listed.group(1).split(", ")) == sorted(_shown(s) for s in allowed_from), detail


@pytest.mark.parametrize("machine", ["negotiation", "transfer"])
@pytest.mark.parametrize("sender", list(Role))
def test_termination_from_every_open_state_by_either_side(machine: str, sender: Role) -> None:
    """"Either party may terminate at any non-terminal state": every open state → TERMINATED."""
    step, _, _, states, _ = MACHINES[machine]
    final = {N.FINALIZED, N.TERMINATED, T.COMPLETED, T.TERMINATED}
    for s in states:
        if s is not None and s not in final:
            assert str(step(s, TERMINATION[machine], sender)) == "TERMINATED"


def test_an_unknown_message_names_the_process_it_was_sent_in() -> None:
    for machine, (step, _, _, states, process) in MACHINES.items():
        for sender in Role:
            for s in states:
                with pytest.raises(ProtocolError, match=f"the {sender.value} does not send Hello in a {process}$") as e:
                    step(s, "Hello", sender)
                assert e.value.code == "InvalidMessage" and e.value.status == 400


# ------------------------------------------------------------------------------------------ pids
def test_new_pids_are_unique_uuid_urns() -> None:
    """Process ids are URNs as in every DSP example (``urn:uuid:<uuid>``), never reused."""
    pids = [dsp.new_pid() for _ in range(200)]
    assert len(set(pids)) == len(pids)
    for pid in pids:
        assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", pid), pid
        assert uuid.UUID(pid.removeprefix("urn:uuid:")).version == 4


# ------------------------------------------------------------------------------------------ messages
def _example(fixtures_dir: Path, rel: str) -> dict[str, Any]:
    return json.loads((fixtures_dir / "dsp" / rel).read_text())


def test_process_objects_are_the_specification_examples(fixtures_dir: Path) -> None:
    """``negotiation``/``transfer_process`` build exactly the spec's ContractNegotiation/TransferProcess, for every state."""
    for rel, build, states in (("negotiation/example/contract-negotiation.json", dsp.negotiation, N),
                               ("transfer/example/transfer-process.json", dsp.transfer_process, T)):
        ex = _example(fixtures_dir, rel)
        for s in states:
            built = build(ex["providerPid"], ex["consumerPid"], s)
            assert built == {**ex, "state": s.value}, built
            assert type(built["state"]) is str and dsp_errors(built) == []


def test_msg_leaves_out_absent_fields_and_keeps_the_rest() -> None:
    m = dsp.msg("ContractNegotiationEventMessage", providerPid="urn:p", consumerPid="urn:c", eventType="ACCEPTED",
                callbackAddress=None)
    assert m == {"@context": CONTEXT, "@type": "ContractNegotiationEventMessage", "providerPid": "urn:p",
                 "consumerPid": "urn:c", "eventType": "ACCEPTED"}
    assert dsp.CONTEXT == CONTEXT and dsp.VERSION == "2025-1"


EXAMPLES = ["negotiation/example/contract-request-message.json", "negotiation/example/contract-offer-message.json",
            "negotiation/example/contract-agreement-message.json",
            "negotiation/example/contract-agreement-verification-message.json",
            "negotiation/example/contract-negotiation-event-message.json",
            "negotiation/example/contract-negotiation-termination-message.json",
            "transfer/example/transfer-request-message.json", "transfer/example/transfer-completion-message.json"]


@pytest.mark.parametrize("rel", EXAMPLES)
def test_specification_examples_are_accepted_and_sent_unchanged(fixtures_dir: Path, rel: str) -> None:
    ex = _example(fixtures_dir, rel)
    assert dsp.require_valid(ex, ex["@type"]) is ex
    assert dsp.checked(ex) is ex


def _broken(fixtures_dir: Path) -> dict[str, Any]:
    """A contract request with several schema errors (consumerPid and offer missing, @context not a list …)."""
    m = copy.deepcopy(_example(fixtures_dir, "negotiation/example/contract-request-message.json"))
    del m["consumerPid"]
    return m


def test_incoming_message_refusals_name_the_problem(fixtures_dir: Path) -> None:
    for bad in (None, [], "ContractRequestMessage", 42):
        with pytest.raises(ProtocolError, match=r"^expected a JSON object \(ContractRequestMessage\)$") as e:
            dsp.require_valid(bad, "ContractRequestMessage")
        assert e.value.code == "InvalidMessage" and e.value.status == 400
    ex = _example(fixtures_dir, "negotiation/example/contract-request-message.json")
    for got in ("ContractOfferMessage", None):
        wrong = {**ex, "@type": got} if got else {k: v for k, v in ex.items() if k != "@type"}
        with pytest.raises(ProtocolError) as e:
            dsp.require_valid(wrong, "ContractRequestMessage")
        assert str(e.value) == f"expected @type 'ContractRequestMessage', got {got!r}"
        assert e.value.code == "InvalidMessage" and e.value.status == 400
    with pytest.raises(ProtocolError, match=r"^malformed ContractRequestMessage: .*consumerPid") as e:
        dsp.require_valid(_broken(fixtures_dir), "ContractRequestMessage")
    assert e.value.code == "InvalidMessage" and e.value.status == 400


def _many_errors(fixtures_dir: Path, n: int) -> dict[str, Any]:
    """A transfer request with ``n`` independent schema errors (wrongly typed string properties)."""
    m = copy.deepcopy(_example(fixtures_dir, "transfer/example/transfer-request-message.json"))
    for key in ("consumerPid", "agreementId", "format", "callbackAddress")[:n]:
        m[key] = 7
    if n > 4:
        m["dataAddress"]["endpointProperties"] = [{"@type": "EndpointProperty", "name": i, "value": "v"}
                                                  for i in range(n - 4)]
    errs = dsp_errors(m)
    assert len(errs) == n, errs
    return m


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_incoming_refusal_lists_the_first_five_schema_errors(fixtures_dir: Path, n: int) -> None:
    m = _many_errors(fixtures_dir, n)
    with pytest.raises(ProtocolError) as e:
        dsp.require_valid(m, "TransferRequestMessage")
    assert str(e.value) == "malformed TransferRequestMessage: " + "; ".join(dsp_errors(m)[:5])


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_outgoing_nonconforming_message_is_our_error(fixtures_dir: Path, n: int) -> None:
    """Sending a message that breaks its schema is a server error (500) naming the first three schema errors."""
    m = _many_errors(fixtures_dir, n)
    with pytest.raises(ProtocolError) as e:
        dsp.checked(m)
    assert e.value.code == "InvalidMessage" and e.value.status == 500
    assert str(e.value) == "outgoing message does not conform: " + "; ".join(dsp_errors(m)[:3])
    with pytest.raises(ProtocolError, match="outgoing message does not conform: .*is not a Dataspace Protocol") as e:
        dsp.msg("ContractWish", providerPid="urn:p")
    assert e.value.status == 500


# ------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(("kind", "rel"), [("ContractNegotiationError", "negotiation/example/contract-negotiation-error.json"),
                                           ("TransferError", "transfer/example/transfer-error.json"),
                                           ("CatalogError", "catalog/example/catalog-error.json")])
def test_error_objects_are_the_specification_examples(fixtures_dir: Path, kind: str, rel: str) -> None:
    ex = _example(fixtures_dir, rel)
    body = dsp.error_body(kind, ex["code"], ex["reason"], provider_pid=ex.get("providerPid"),
                          consumer_pid=ex.get("consumerPid"))
    assert body == ex and dsp_errors(body) == []
    # a process we cannot name (e.g. a message too broken to read its pids): still a valid error object,
    # its pids URNs like every pid; a catalog error never has pids
    anon = dsp.error_body(kind, "InvalidMessage", ["why"])
    assert dsp_errors(anon) == [] and anon["code"] == "InvalidMessage" and anon["reason"] == ["why"]
    if kind == "CatalogError":
        assert set(anon) == {"@context", "@type", "code", "reason"}
    else:
        assert anon["providerPid"].startswith("urn:uuid:") and anon["consumerPid"].startswith("urn:uuid:")
        one = dsp.error_body(kind, "X", ["y"], provider_pid="urn:uuid:p")
        assert one["providerPid"] == "urn:uuid:p" and one["consumerPid"].startswith("urn:uuid:")
        other = dsp.error_body(kind, "X", ["y"], consumer_pid="urn:uuid:c")
        assert other["consumerPid"] == "urn:uuid:c" and other["providerPid"].startswith("urn:uuid:")


# ------------------------------------------------------------------------------------------ version
def test_version_document(fixtures_dir: Path) -> None:
    doc = dsp.version_document("/api/dsp", "did:web:example.com#dsp")
    assert dsp_errors(doc, "VersionResponse") == []
    assert doc == {"protocolVersions": [{
        "version": "2025-1", "path": "/api/dsp", "binding": "HTTPS", "serviceId": "did:web:example.com#dsp",
        "identifierType": "did:web",
        "auth": {"protocol": "VC-JWT presentation", "version": "1.1", "profile": ["vc11-sl2021/jwt"]}}]}
    # the example's keys are the ones we fill
    ex = _example(fixtures_dir, "common/example/protocol-version.json")["protocolVersions"][2]
    assert set(doc["protocolVersions"][0]) == set(ex) | {"identifierType"}
    assert dsp.checked_version(ex_doc := {"protocolVersions": [ex]}) is ex_doc


@pytest.mark.parametrize("bad", [{}, {"protocolVersions": []}, {"protocolVersions": [{"version": "2025-1"}]},
                                 {"protocolVersions": [{"version": "2025-1", "path": "/", "binding": "HTTP"}]}])
def test_nonconforming_version_document_is_our_error(bad: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError, match=r"^version document does not conform: \[.+\]$") as e:
        dsp.checked_version(bad)
    assert e.value.code == "InvalidMessage" and e.value.status == 500
    assert all(err in str(e.value) for err in dsp_errors(bad, "VersionResponse"))
