"""batteryloop.exchange — data-space exchange between companies and between data spaces.

Identities and credentials (did:web, VC-JWT, status lists), trust registries and recognition agreements,
Catena-X ODRL policies that deny what they cannot evaluate, Dataspace Protocol 2025-1 nodes (provider
and consumer), the Ouranos-compatible API and the Catena-X ↔ Ouranos bridge, verifiable confidential
aggregation and PACT footprints; the node also serves the Digital Twin Registry (the same one as the main
API, :mod:`batteryloop.api.dtr`). See docs/exchange.md.

The node's HTTP face (:mod:`.app`, with :mod:`.pact`, :mod:`.ouranos_api`) and its process
runner (:mod:`.runtime`) are adapters: import them by name, this package does not.
"""

from .commitments import audit, commit, inclusion_proof, verify_inclusion, verify_statement
from .config import DatasetConfig, NodeConfig
from .credentials import (BPN, CERTIFICATION, DISMANTLER, FRAMEWORK_AGREEMENT, MEMBERSHIP, ReplayGuard,
                          StatusListChecker, issue_credential, present, verify_credential, verify_presentation)
from .did import DidResolver, Identity, did_document_url, did_web
from .dsp import NegotiationState, TransferState, next_negotiation_state, next_transfer_state
from .errors import CredentialError, ExchangeError, PolicyDenied, ProtocolError
from .node import Node
from .odrl import Decision, EvaluationContext, evaluate, policy_problems
from .trust import ParticipantClaims, RecognitionAgreement, TrustFramework, TrustRegistry, claims_from

__all__ = [
    "BPN", "CERTIFICATION", "DISMANTLER", "FRAMEWORK_AGREEMENT", "MEMBERSHIP",
    "CredentialError", "DatasetConfig", "Decision", "DidResolver", "EvaluationContext", "ExchangeError", "Identity",
    "NegotiationState", "Node", "NodeConfig", "ParticipantClaims", "PolicyDenied", "ProtocolError",
    "RecognitionAgreement", "ReplayGuard", "StatusListChecker", "TransferState", "TrustFramework", "TrustRegistry",
    "audit", "claims_from", "commit", "did_document_url", "did_web", "evaluate", "inclusion_proof",
    "issue_credential", "next_negotiation_state", "next_transfer_state", "policy_problems", "present",
    "verify_credential", "verify_inclusion", "verify_presentation", "verify_statement",
]
