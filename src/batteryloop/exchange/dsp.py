"""Dataspace Protocol 2025-1: states, legal transitions and messages (no I/O).

Contract negotiation (DSP §8.1): the consumer requests (REQUESTED), the provider offers (OFFERED) or
agrees (AGREED), the consumer accepts an offer (ACCEPTED) or verifies the agreement (VERIFIED), the
provider finalizes (FINALIZED); either side may terminate (TERMINATED) any process not yet final.
Transfer process (DSP §10.1): REQUESTED → STARTED ⇄ SUSPENDED → COMPLETED, or TERMINATED.

:func:`next_negotiation_state` / :func:`next_transfer_state` are the whole state machines: a message
not allowed in the current state (or from that side) raises :class:`ProtocolError` naming both.
Every message built here validates against the official schema before it is sent (:func:`checked`).
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from .errors import ProtocolError
from .schemas import dsp_errors

CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]
VERSION = "2025-1"


class Role(StrEnum):
    PROVIDER = "provider"
    CONSUMER = "consumer"


class NegotiationState(StrEnum):
    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"


class TransferState(StrEnum):
    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"


N = NegotiationState
T = TransferState
FINAL_NEGOTIATION = frozenset({N.FINALIZED, N.TERMINATED})
FINAL_TRANSFER = frozenset({T.COMPLETED, T.TERMINATED})

# (message, sent by) -> {from state (None = new process): to state}
_NEGOTIATION: dict[tuple[str, Role], dict[N | None, N]] = {
    ("ContractRequestMessage", Role.CONSUMER): {None: N.REQUESTED, N.OFFERED: N.REQUESTED},
    ("ContractOfferMessage", Role.PROVIDER): {None: N.OFFERED, N.REQUESTED: N.OFFERED},
    ("ACCEPTED", Role.CONSUMER): {N.OFFERED: N.ACCEPTED},
    ("ContractAgreementMessage", Role.PROVIDER): {N.REQUESTED: N.AGREED, N.ACCEPTED: N.AGREED},
    ("ContractAgreementVerificationMessage", Role.CONSUMER): {N.AGREED: N.VERIFIED},
    ("FINALIZED", Role.PROVIDER): {N.VERIFIED: N.FINALIZED},
}

_TRANSFER: dict[tuple[str, Role | None], dict[T | None, T]] = {
    ("TransferRequestMessage", Role.CONSUMER): {None: T.REQUESTED},
    ("TransferStartMessage", Role.PROVIDER): {T.REQUESTED: T.STARTED, T.SUSPENDED: T.STARTED},
    ("TransferStartMessage", Role.CONSUMER): {T.SUSPENDED: T.STARTED},
    ("TransferCompletionMessage", None): {T.STARTED: T.COMPLETED},
    ("TransferSuspensionMessage", None): {T.STARTED: T.SUSPENDED},
}


def next_negotiation_state(current: N | None, message: str, sender: Role) -> N:
    """The state after ``message`` (a message @type, or an event type ACCEPTED/FINALIZED) from ``sender``."""
    if message == "ContractNegotiationTerminationMessage":
        if current is None or current in FINAL_NEGOTIATION:
            raise ProtocolError("InvalidStateTransition",
                                f"cannot terminate a negotiation in state {current or 'none'}: it is already final",
                                status=400)
        return N.TERMINATED
    table = _NEGOTIATION.get((message, sender))
    if table is None:
        raise ProtocolError("InvalidMessage", f"the {sender} does not send {message} in a contract negotiation")
    if current not in table:
        allowed = ", ".join(str(s) if s else "(new)" for s in table)
        raise ProtocolError("InvalidStateTransition",
                            f"{message} from the {sender} is not allowed in state {current or '(new)'}; "
                            f"allowed in: {allowed}", status=400)
    return table[current]


def next_transfer_state(current: T | None, message: str, sender: Role) -> T:
    if message == "TransferTerminationMessage":
        if current is None or current in FINAL_TRANSFER:
            raise ProtocolError("InvalidStateTransition",
                                f"cannot terminate a transfer in state {current or 'none'}: it is already final")
        return T.TERMINATED
    table = _TRANSFER.get((message, sender)) or _TRANSFER.get((message, None))
    if table is None:
        raise ProtocolError("InvalidMessage", f"the {sender} does not send {message} in a transfer process")
    if current not in table:
        allowed = ", ".join(str(s) if s else "(new)" for s in table)
        raise ProtocolError("InvalidStateTransition",
                            f"{message} from the {sender} is not allowed in state {current or '(new)'}; "
                            f"allowed in: {allowed}")
    return table[current]


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def checked(message: dict[str, Any]) -> dict[str, Any]:
    """``message`` after validating it against its official schema (what we send always conforms)."""
    errs = dsp_errors(message)
    if errs:
        raise ProtocolError("InvalidMessage", f"outgoing message does not conform: {'; '.join(errs[:3])}", status=500)
    return message


def require_valid(message: Any, expected_type: str) -> dict[str, Any]:
    """An incoming message, refused with the schema's reasons if it does not conform."""
    if not isinstance(message, dict):
        raise ProtocolError("InvalidMessage", f"expected a JSON object ({expected_type})")
    if message.get("@type") != expected_type:
        raise ProtocolError("InvalidMessage", f"expected @type {expected_type!r}, got {message.get('@type')!r}")
    errs = dsp_errors(message, expected_type)
    if errs:
        raise ProtocolError("InvalidMessage", f"malformed {expected_type}: {'; '.join(errs[:5])}")
    return message


def msg(kind: str, **fields: Any) -> dict[str, Any]:
    return checked({"@context": CONTEXT, "@type": kind, **{k: v for k, v in fields.items() if v is not None}})


def negotiation(provider_pid: str, consumer_pid: str, state: N) -> dict[str, Any]:
    return msg("ContractNegotiation", providerPid=provider_pid, consumerPid=consumer_pid, state=str(state))


def transfer_process(provider_pid: str, consumer_pid: str, state: T) -> dict[str, Any]:
    return msg("TransferProcess", providerPid=provider_pid, consumerPid=consumer_pid, state=str(state))


def error_body(kind: str, code: str, reasons: list[str], provider_pid: str | None = None,
               consumer_pid: str | None = None) -> dict[str, Any]:
    """A ContractNegotiationError / TransferError / CatalogError body (pids only where the schema has them)."""
    body: dict[str, Any] = {"@context": CONTEXT, "@type": kind, "code": code, "reason": reasons}
    if kind != "CatalogError":
        body["providerPid"] = provider_pid or "urn:uuid:unknown"
        body["consumerPid"] = consumer_pid or "urn:uuid:unknown"
    return body


def version_document(path: str, service_id: str) -> dict[str, Any]:
    return checked_version({"protocolVersions": [{"version": VERSION, "path": path, "binding": "HTTPS",
                                                  "serviceId": service_id, "identifierType": "did:web",
                                                  "auth": {"protocol": "VC-JWT presentation", "version": "1.1",
                                                           "profile": ["vc11-sl2021/jwt"]}}]})


def checked_version(doc: dict[str, Any]) -> dict[str, Any]:
    errs = dsp_errors(doc, "VersionResponse")
    if errs:
        raise ProtocolError("InvalidMessage", f"version document does not conform: {errs}", status=500)
    return doc
