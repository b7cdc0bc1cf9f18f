"""The DSP contract-negotiation and transfer-process state machines, checked cell by cell against the
Dataspace Protocol 2025-1 specification, not against ``dsp._NEGOTIATION`` / ``dsp._TRANSFER``.

Source: eclipse-dataspace-protocol-base/DataspaceProtocol @ 0b7ac408 (the commit the schemas in
/work/shared/fixtures/dsp come from; the fixtures hold only schemas, examples and contexts, so the tables
below were transcribed from the specification text and state-machine figure sources of that commit):

* Contract Negotiation Protocol, "States", "State Machine" (figure
  ``negotiation/figures/contract.negotiation.state.machine.puml``; ``C`` = sent by the consumer, ``P`` =
  by the provider) and "Message Types" (the *Sent by* / *Resulting state* rows of each message):

  ======================================  ======  =====================  ===========
  message                                 sender  from                   to
  ======================================  ======  =====================  ===========
  ContractRequestMessage                  C       (new), OFFERED         REQUESTED
  ContractOfferMessage                    P       (new), REQUESTED       OFFERED
  ContractNegotiationEventMessage:ACCEPTED C      OFFERED                ACCEPTED
  ContractAgreementMessage                P       REQUESTED, ACCEPTED    AGREED
  ContractAgreementVerificationMessage    C       AGREED                 VERIFIED
  ContractNegotiationEventMessage:FINALIZED P     VERIFIED               FINALIZED
  ContractNegotiationTerminationMessage   C or P  any non-terminal state TERMINATED
  ======================================  ======  =====================  ===========

  "It is an error for a Consumer to send the message with an event type FINALIZED … for a Provider to
  send … ACCEPTED"; "Terminal states are final; the state machine MUST NOT transition to another state";
  it is an error to send an event after a terminal state. Termination: the message table says *Sent by:
  Consumer, Provider* and the text "The message can be sent at any state of a CN". The figure draws
  narrower termination arrows (ACCEPTED→TERMINATED: P, AGREED→TERMINATED: C, VERIFIED→TERMINATED: P);
  this table follows the normative text (either party, any non-terminal state), as the code does.

* Transfer Process Protocol, "States", "State Machine" (figure
  ``transfer/figures/transfer-process-state-machine.puml``) and "Message Types":

  =========================  ======  ==============================  ==========
  message                    sender  from                            to
  =========================  ======  ==============================  ==========
  TransferRequestMessage     C       (new)                           REQUESTED
  TransferStartMessage       P       REQUESTED, SUSPENDED            STARTED
  TransferStartMessage       C       SUSPENDED                       STARTED
  TransferSuspensionMessage  C or P  STARTED                         SUSPENDED
  TransferCompletionMessage  C or P  STARTED                         COMPLETED
  TransferTerminationMessage C or P  REQUESTED, STARTED, SUSPENDED   TERMINATED
  =========================  ======  ==============================  ==========

  The start message's table row says *Sent by: Provider*; the figure labels SUSPENDED→STARTED ``P/C`` and
  the HTTPS binding ("Transfer Start Endpoint" on the provider) says "The Consumer can POST a Transfer
  Start Message to attempt to start a Transfer Process after it has been suspended". Only the provider
  starts a REQUESTED transfer. Termination: "at any point except a terminal state".

Every other (message, state, sender) cell is refused with a :class:`ProtocolError`. In the code the
event message is passed as its ``eventType`` (``ACCEPTED`` / ``FINALIZED``); ``None`` is "no process
yet" (the message would create one).
"""

from __future__ import annotations

import pytest

from batteryloop.exchange.dsp import (
    NegotiationState as N,
    Role,
    TransferState as T,
    next_negotiation_state,
    next_transfer_state,
)
from batteryloop.exchange.errors import ProtocolError

C, P = Role.CONSUMER, Role.PROVIDER
NEW = None

# (message, sender) -> {from: to}; cells not listed are refused. Transcribed from the spec (see above).
SPEC_NEGOTIATION: dict[tuple[str, Role], dict[N | None, N]] = {
    ("ContractRequestMessage", C): {NEW: N.REQUESTED, N.OFFERED: N.REQUESTED},
    ("ContractOfferMessage", P): {NEW: N.OFFERED, N.REQUESTED: N.OFFERED},
    ("ACCEPTED", C): {N.OFFERED: N.ACCEPTED},
    ("ContractAgreementMessage", P): {N.REQUESTED: N.AGREED, N.ACCEPTED: N.AGREED},
    ("ContractAgreementVerificationMessage", C): {N.AGREED: N.VERIFIED},
    ("FINALIZED", P): {N.VERIFIED: N.FINALIZED},
    **{("ContractNegotiationTerminationMessage", who): {
        s: N.TERMINATED for s in (N.REQUESTED, N.OFFERED, N.ACCEPTED, N.AGREED, N.VERIFIED)} for who in (C, P)},
}
NEGOTIATION_MESSAGES = ["ContractRequestMessage", "ContractOfferMessage", "ACCEPTED", "ContractAgreementMessage",
                        "ContractAgreementVerificationMessage", "FINALIZED", "ContractNegotiationTerminationMessage"]

SPEC_TRANSFER: dict[tuple[str, Role], dict[T | None, T]] = {
    ("TransferRequestMessage", C): {NEW: T.REQUESTED},
    ("TransferStartMessage", P): {T.REQUESTED: T.STARTED, T.SUSPENDED: T.STARTED},
    ("TransferStartMessage", C): {T.SUSPENDED: T.STARTED},
    **{("TransferSuspensionMessage", who): {T.STARTED: T.SUSPENDED} for who in (C, P)},
    **{("TransferCompletionMessage", who): {T.STARTED: T.COMPLETED} for who in (C, P)},
    **{("TransferTerminationMessage", who): {
        s: T.TERMINATED for s in (T.REQUESTED, T.STARTED, T.SUSPENDED)} for who in (C, P)},
}
TRANSFER_MESSAGES = ["TransferRequestMessage", "TransferStartMessage", "TransferSuspensionMessage",
                     "TransferCompletionMessage", "TransferTerminationMessage"]

NEG_CELLS = [(m, s, r) for m in NEGOTIATION_MESSAGES for s in [NEW, *N] for r in Role]
TP_CELLS = [(m, s, r) for m in TRANSFER_MESSAGES for s in [NEW, *T] for r in Role]


def _id(cell: tuple[str, object, Role]) -> str:
    m, s, r = cell
    return f"{m}-{s or 'new'}-{r.value}"


def test_tables_cover_the_spec_states_and_messages() -> None:
    assert len(NEG_CELLS) == 7 * 8 * 2 == 112 and len(TP_CELLS) == 5 * 6 * 2 == 60
    assert {str(s) for s in N} == {"REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED", "FINALIZED",
                                   "TERMINATED"}
    assert {str(s) for s in T} == {"REQUESTED", "STARTED", "SUSPENDED", "COMPLETED", "TERMINATED"}
    # terminal states have no way out in the spec tables
    for table in SPEC_NEGOTIATION.values():
        assert not {N.FINALIZED, N.TERMINATED} & set(table)
    for table in SPEC_TRANSFER.values():
        assert not {T.COMPLETED, T.TERMINATED} & set(table)
    allowed = sum(len(t) for t in SPEC_NEGOTIATION.values()), sum(len(t) for t in SPEC_TRANSFER.values())
    assert allowed == (19, 14)


def _assert_refused(exc: ProtocolError, message: str, state: object, sender: Role) -> None:
    assert exc.status == 400 and exc.code in {"InvalidStateTransition", "InvalidMessage"}, exc
    detail = str(exc)
    if exc.code == "InvalidMessage":  # the sender never sends this message
        assert message in detail and sender.value in detail, detail
    elif state is not None:  # not allowed in this state: the state is named
        assert str(state) in detail, detail


@pytest.mark.parametrize(("message", "state", "sender"), NEG_CELLS, ids=[_id(c) for c in NEG_CELLS])
def test_negotiation_cell(message: str, state: N | None, sender: Role) -> None:
    expected = SPEC_NEGOTIATION.get((message, sender), {}).get(state)
    if expected is None:
        with pytest.raises(ProtocolError) as e:
            next_negotiation_state(state, message, sender)
        _assert_refused(e.value, message, state, sender)
    else:
        assert next_negotiation_state(state, message, sender) == expected


@pytest.mark.parametrize(("message", "state", "sender"), TP_CELLS, ids=[_id(c) for c in TP_CELLS])
def test_transfer_cell(message: str, state: T | None, sender: Role) -> None:
    expected = SPEC_TRANSFER.get((message, sender), {}).get(state)
    if expected is None:
        with pytest.raises(ProtocolError) as e:
            next_transfer_state(state, message, sender)
        _assert_refused(e.value, message, state, sender)
    else:
        assert next_transfer_state(state, message, sender) == expected


@pytest.mark.parametrize("kind", ["ContractNegotiationEventMessage", "TransferProcess", "ContractNegotiation",
                                  "ACCEPTED ", "accepted", "Unknown"])
def test_messages_outside_the_tables_are_refused(kind: str) -> None:
    """A name that is no message of the machine (or the event message without its event type) moves
    nothing, from either side, in any state."""
    for sender in Role:
        for s in [NEW, *N]:
            with pytest.raises(ProtocolError):
                next_negotiation_state(s, kind, sender)
        for t in [NEW, *T]:
            with pytest.raises(ProtocolError):
                next_transfer_state(t, kind, sender)
