"""Trust: which issuers a data space trusts, and what it accepts from another space's issuers.

* A :class:`TrustRegistry` belongs to one data space (``catena-x``, ``ouranos``): its trusted issuers,
  each for the credential types it may issue.
* A :class:`RecognitionAgreement` lets space A (``accepting_space``) accept the listed credential types
  from the issuers trusted in space B (``issuing_space``) — exactly those types, only while the
  agreement is valid, and never transitively (B's recognition of C gives A nothing).
* :class:`TrustFramework` answers one question for a verified credential: is it accepted in my space,
  and on what ground (own registry, or which agreement)? A refusal names the issuer, the type and why.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .credentials import BPN, CERTIFICATION, DISMANTLER, FRAMEWORK_AGREEMENT, MEMBERSHIP, Presentation, VerifiedCredential
from .errors import CredentialError


@dataclass(frozen=True)
class TrustRegistry:
    space: str
    issuers: Mapping[str, frozenset[str]]  # issuer DID -> credential types it is trusted for

    @classmethod
    def from_config(cls, space: str, issuers: Mapping[str, Iterable[str]]) -> TrustRegistry:
        return cls(space, {did: frozenset(types) for did, types in issuers.items()})

    def trusts(self, issuer: str, credential_type: str) -> bool:
        return credential_type in self.issuers.get(issuer, frozenset())


@dataclass(frozen=True)
class RecognitionAgreement:
    id: str
    accepting_space: str
    issuing_space: str
    credential_types: frozenset[str]
    valid_from: float = 0.0
    valid_until: float | None = None

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> RecognitionAgreement:
        return cls(str(data["id"]), str(data["accepting_space"]), str(data["issuing_space"]),
                   frozenset(data["credential_types"]), float(data.get("valid_from", 0.0)),
                   None if data.get("valid_until") is None else float(data["valid_until"]))

    def active(self, now: float) -> bool:
        return self.valid_from <= now and (self.valid_until is None or now <= self.valid_until)


@dataclass(frozen=True)
class Acceptance:
    credential: VerifiedCredential
    space: str
    ground: str  # "registry:<space>" or "agreement:<id>"


@dataclass
class TrustFramework:
    """What one participant (in ``space``) knows: every space's registry and the agreements it is party to."""

    space: str
    registries: dict[str, TrustRegistry]
    agreements: list[RecognitionAgreement] = field(default_factory=list)

    def accept(self, cred: VerifiedCredential, now: float | None = None) -> Acceptance:
        t = time.time() if now is None else now
        own = self.registries.get(self.space)
        if own is not None and own.trusts(cred.issuer, cred.type):
            return Acceptance(cred, self.space, f"registry:{self.space}")
        near_misses = []
        for ag in self.agreements:
            if ag.accepting_space != self.space:
                continue
            reg = self.registries.get(ag.issuing_space)
            if reg is None or not reg.trusts(cred.issuer, cred.type):
                if reg is not None and cred.issuer in reg.issuers:
                    near_misses.append(f"{cred.issuer} is trusted in {ag.issuing_space} only for "
                                       f"{sorted(reg.issuers[cred.issuer])}")
                continue
            if cred.type not in ag.credential_types:
                raise CredentialError(
                    "not_recognised",
                    f"{cred.type} from {cred.issuer} ({ag.issuing_space}) is not covered by recognition agreement "
                    f"{ag.id}, which accepts only {sorted(ag.credential_types)} in {self.space}")
            if not ag.active(t):
                raise CredentialError("not_recognised", f"recognition agreement {ag.id} is not in force now")
            return Acceptance(cred, ag.issuing_space, f"agreement:{ag.id}")
        extra = f" ({'; '.join(near_misses)})" if near_misses else ""
        raise CredentialError("untrusted_issuer",
                              f"issuer {cred.issuer} is not trusted in {self.space} for {cred.type}, and no recognition "
                              f"agreement of {self.space} covers it{extra}")


@dataclass(frozen=True)
class ParticipantClaims:
    """What a verified, trusted presentation establishes about a counterparty (input of policy evaluation)."""

    did: str
    bpn: str | None = None
    memberships: frozenset[str] = frozenset()  # spaces in which the holder is an active member
    framework_agreements: frozenset[str] = frozenset()  # e.g. "DataExchangeGovernance:1.0"
    roles: frozenset[str] = frozenset()  # e.g. "dismantler"
    certifications: tuple[dict[str, Any], ...] = ()
    groups: frozenset[str] = frozenset()  # BusinessPartnerGroup memberships known to the provider
    grounds: tuple[str, ...] = ()

    @property
    def participant_id(self) -> str | None:
        return self.bpn


def claims_from(presentation: Presentation, trust: TrustFramework, *, now: float | None = None,
                groups: Mapping[str, Iterable[str]] | None = None) -> ParticipantClaims:
    """Accept each credential of a verified presentation under ``trust`` and collect what it proves.

    One refused credential refuses the whole presentation: a holder presents what it wants counted.
    """
    bpn = None
    memberships: set[str] = set()
    fas: set[str] = set()
    roles: set[str] = set()
    certs: list[dict[str, Any]] = []
    grounds = []
    for cred in presentation.credentials:
        acc = trust.accept(cred, now)
        grounds.append(f"{cred.type}:{acc.ground}")
        s = cred.subject
        if cred.type == BPN:
            value = s.get("holderIdentifier") or s.get("bpn")
            if bpn is not None and value != bpn:
                raise CredentialError("malformed", f"presentation from {cred.subject_did} carries two BPNs")
            bpn = value
        elif cred.type == MEMBERSHIP:
            memberships.add(acc.space)
            if acc.ground.startswith("agreement:"):
                memberships.add(trust.space)  # recognised as a member here, as the agreement says
            holder = s.get("holderIdentifier") or s.get("operatorId")
            if holder and bpn is None:
                bpn = holder
        elif cred.type == FRAMEWORK_AGREEMENT:
            # the type names the agreement (Catena-X Data Exchange Governance); the version must be stated
            if s.get("contractVersion"):
                fas.add(f"{s.get('agreement', 'DataExchangeGovernance')}:{s['contractVersion']}")
        elif cred.type == DISMANTLER:
            roles.add("dismantler")
        elif cred.type == CERTIFICATION:
            certs.append({"issuer": cred.issuer, "ground": acc.ground, **s})
    g = frozenset(groups.get(bpn, ())) if groups and bpn else frozenset()
    return ParticipantClaims(presentation.holder, bpn, frozenset(memberships), frozenset(fas), frozenset(roles),
                             tuple(certs), g, tuple(grounds))
