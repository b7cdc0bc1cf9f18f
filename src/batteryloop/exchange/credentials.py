"""W3C Verifiable Credentials and Presentations as signed JWTs (VC Data Model 1.1, JWT encoding).

The JOSE work (compact JWS, Ed25519 signatures per RFC 9864's ``Ed25519`` algorithm) is done by
``joserfc`` on keys held by ``cryptography``; nothing here is a cryptographic primitive.

* :func:`issue_credential` — an issuer signs a credential about a subject (membership, BPN,
  framework agreement, dismantler, certification …), optionally with a status-list entry.
* :func:`verify_credential` — signature against the issuer's did:web key, validity window, revocation.
* :func:`present` / :func:`verify_presentation` — the holder wraps its credentials in a short-lived
  presentation for one verifier (``aud``), with a unique ``jti``: a replayed presentation is refused.

Every refusal is a :class:`CredentialError` whose ``code`` says which rule failed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from .did import DidResolver, Identity
from .errors import CredentialError
from .status_list import StatusList

ALG = "Ed25519"
VC_CONTEXT = ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/catenax/credentials/v1.0.0"]
CLOCK_SKEW_S = 30
PRESENTATION_MAX_AGE_S = 300

# The credential types the platform issues and understands (Catena-X names where they exist).
MEMBERSHIP = "MembershipCredential"
BPN = "BpnCredential"
FRAMEWORK_AGREEMENT = "DataExchangeGovernanceCredential"
DISMANTLER = "DismantlerCredential"
CERTIFICATION = "CertificationCredential"
KNOWN_TYPES = frozenset({MEMBERSHIP, BPN, FRAMEWORK_AGREEMENT, DISMANTLER, CERTIFICATION})


def _ts(value: datetime | float | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("credential times must be timezone-aware (UTC)")
        return int(value.timestamp())
    return int(value)


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sign(identity: Identity, claims: Mapping[str, Any], typ: str = "JWT") -> str:
    header = {"alg": ALG, "kid": identity.kid, "typ": typ}
    return jwt.encode(header, dict(claims), identity.jwk, algorithms=[ALG])


@dataclass(frozen=True)
class StatusEntry:
    list_url: str
    index: int

    def as_json(self) -> dict[str, Any]:
        return {"id": f"{self.list_url}#{self.index}", "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation", "statusListIndex": str(self.index),
                "statusListCredential": self.list_url}


def issue_credential(issuer: Identity, *, subject_did: str, credential_type: str, subject: Mapping[str, Any],
                     valid_from: datetime | float | None = None, valid_until: datetime | float | None = None,
                     status: StatusEntry | None = None, credential_id: str | None = None) -> str:
    """A VC-JWT signed by ``issuer`` about ``subject_did``."""
    now = int(time.time())
    nbf = _ts(valid_from) or now
    exp = _ts(valid_until)
    cid = credential_id or f"urn:uuid:{uuid.uuid4()}"
    vc: dict[str, Any] = {
        "@context": VC_CONTEXT, "id": cid, "type": ["VerifiableCredential", credential_type],
        "issuer": issuer.did, "issuanceDate": _iso(nbf),
        "credentialSubject": {"id": subject_did, **subject},
    }
    if exp is not None:
        vc["expirationDate"] = _iso(exp)
    if status is not None:
        vc["credentialStatus"] = status.as_json()
    claims: dict[str, Any] = {"iss": issuer.did, "sub": subject_did, "jti": cid, "nbf": nbf, "iat": now, "vc": vc}
    if exp is not None:
        claims["exp"] = exp
    return _sign(issuer, claims)


def issue_status_list(issuer: Identity, list_url: str, status_list: StatusList) -> str:
    """The signed status-list credential an issuer publishes at ``list_url``."""
    now = int(time.time())
    vc = {"@context": VC_CONTEXT, "id": list_url, "type": ["VerifiableCredential", "BitstringStatusListCredential"],
          "issuer": issuer.did, "issuanceDate": _iso(now),
          "credentialSubject": {"id": list_url + "#list", "type": "BitstringStatusList",
                                "statusPurpose": "revocation", "encodedList": status_list.encode()}}
    return _sign(issuer, {"iss": issuer.did, "sub": list_url, "jti": list_url, "iat": now, "nbf": now, "vc": vc})


@dataclass(frozen=True)
class VerifiedCredential:
    id: str
    type: str
    issuer: str
    subject_did: str
    subject: dict[str, Any]
    not_before: int
    expires: int | None
    token: str = field(repr=False)


def _unverified(token: str, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS before its signature is checked (to find the key)."""
    try:
        obj = extract_compact(token.encode("ascii") if isinstance(token, str) else token)
        import orjson

        return dict(obj.headers()), orjson.loads(obj.payload)
    except Exception:  # noqa: BLE001
        raise CredentialError("malformed", f"{what} is not a compact JWS (header.payload.signature)") from None


def _verify_jws(token: str, resolver: DidResolver, what: str) -> dict[str, Any]:
    header, claims = _unverified(token, what)
    if header.get("alg") != ALG:
        raise CredentialError("malformed", f"{what} uses alg {header.get('alg')!r}; only {ALG!r} is accepted")
    kid, iss = header.get("kid"), claims.get("iss")
    if not isinstance(kid, str) or not isinstance(iss, str) or kid.split("#", 1)[0] != iss:
        raise CredentialError("malformed", f"{what}: signing key {kid!r} does not belong to issuer {iss!r}")
    key = resolver.key(kid)
    try:
        return dict(jwt.decode(token, key, algorithms=[ALG]).claims)
    except JoseError as exc:
        raise CredentialError("forged_signature",
                              f"{what} from {iss}: signature does not verify with key {kid} ({exc.error})") from None


StatusCheck = Callable[[VerifiedCredential, Mapping[str, Any]], None]


def _verified_claims(token: str, resolver: DidResolver) -> dict[str, Any]:
    """Signature check of a credential, remembered by the resolver that vouched for the key: the same
    credential is presented on every message. Only the signature result is kept, and only while the
    issuer's DID document it was checked against is the one the resolver holds (a re-fetched document —
    key rotation — means checking again); the validity window and revocation are checked every time."""
    hit = resolver.signature_cache.get(token)
    if hit is not None:
        doc, claims = hit
        if resolver.resolve(claims["iss"]) is doc:
            return claims
    claims = _verify_jws(token, resolver, "credential")
    resolver.remember_signature(token, claims, resolver.resolve(claims["iss"]))
    return claims


def verify_credential(token: str, resolver: DidResolver, *, status_check: StatusCheck | None = None,
                      now: float | None = None) -> VerifiedCredential:
    """Check a VC-JWT: signature, validity window, and (when it has one) its status-list entry."""
    claims = _verified_claims(token, resolver)
    vc = claims.get("vc")
    if not isinstance(vc, dict) or not isinstance(vc.get("type"), list) or len(vc["type"]) < 2:
        raise CredentialError("malformed", "credential has no 'vc' claim with a type list")
    ctype = next((t for t in vc["type"] if t != "VerifiableCredential"), "")
    cid = str(claims.get("jti", vc.get("id", "")))
    t = time.time() if now is None else now
    nbf, exp = claims.get("nbf"), claims.get("exp")
    for name, value in (("nbf", nbf), ("exp", exp)):
        # RFC 7519 NumericDate: any JSON number, a non-integer one too (it was ignored: an expired credential
        # with a fractional exp passed); anything else cannot be checked, so it is refused
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise CredentialError("malformed", f"{ctype} {cid}: {name} {value!r} is not a NumericDate")
    if nbf is not None and t + CLOCK_SKEW_S < nbf:
        raise CredentialError("not_yet_valid", f"{ctype} {cid} is valid only from {_iso(nbf)}")
    if exp is not None and t - CLOCK_SKEW_S > exp:
        raise CredentialError("expired", f"{ctype} {cid} from {claims['iss']} expired at {_iso(exp)}")
    subject = dict(vc.get("credentialSubject") or {})
    subj = subject.pop("id", claims.get("sub"))
    if subj != claims.get("sub"):
        raise CredentialError("malformed", f"{ctype} {cid}: credentialSubject.id {subj!r} differs from sub")
    out = VerifiedCredential(cid, ctype, claims["iss"], str(subj), subject, int(nbf or 0),
                             None if exp is None else int(exp), token)
    status = vc.get("credentialStatus")
    if status is not None:
        if status_check is None:
            raise CredentialError("status_unchecked",
                                  f"{ctype} {cid} has a status entry but no status checker is configured; refused")
        status_check(out, status)
    return out


class StatusListChecker:
    """Fetches, verifies and caches status-list credentials; refuses revoked or uncheckable credentials."""

    def __init__(self, fetch_text: Callable[[str], str], resolver: DidResolver, ttl_s: float = 5.0) -> None:
        self._fetch = fetch_text
        self._resolver = resolver
        self._ttl = ttl_s
        self._cache: dict[str, tuple[float, str, StatusList]] = {}
        self._lock = threading.Lock()

    def _list(self, url: str) -> tuple[str, StatusList]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(url)
        if hit and now - hit[0] < self._ttl:
            return hit[1], hit[2]
        try:
            token = self._fetch(url)
        except Exception as exc:  # noqa: BLE001
            raise CredentialError("status_unavailable", f"status list {url} cannot be fetched ({exc}); refused") from None
        claims = _verify_jws(token, self._resolver, f"status list {url}")
        try:
            sl = StatusList.decode(claims["vc"]["credentialSubject"]["encodedList"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CredentialError("status_unavailable", f"status list {url} is malformed ({exc}); refused") from None
        with self._lock:
            self._cache[url] = (now, claims["iss"], sl)
        return claims["iss"], sl

    def __call__(self, cred: VerifiedCredential, status: Mapping[str, Any]) -> None:
        url, idx = status.get("statusListCredential"), status.get("statusListIndex")
        if status.get("statusPurpose") != "revocation" or not isinstance(url, str):
            raise CredentialError("status_unchecked", f"{cred.type} {cred.id}: unsupported credentialStatus {status!r}")
        try:
            index = int(idx)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise CredentialError("malformed", f"{cred.type} {cred.id}: statusListIndex {idx!r} is not an integer") from None
        list_issuer, sl = self._list(url)
        if list_issuer != cred.issuer:
            raise CredentialError("status_unavailable",
                                  f"status list {url} is signed by {list_issuer}, not by the issuer {cred.issuer}")
        try:
            revoked = sl.get(index)
        except IndexError as exc:
            raise CredentialError("malformed", f"{cred.type} {cred.id}: {exc}") from None
        if revoked:
            raise CredentialError("revoked", f"{cred.type} {cred.id} was revoked by {cred.issuer} (status list {url}, index {index})")


# ------------------------------------------------------------------------------ presentations
def present(holder: Identity, credentials: Iterable[str], *, audience: str, ttl_s: int = 60,
            nonce: str | None = None) -> str:
    """A presentation JWT: the holder's credentials for one verifier, valid ``ttl_s`` seconds, used once."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": holder.did, "sub": holder.did, "aud": audience, "iat": now, "nbf": now, "exp": now + ttl_s,
        "jti": f"urn:uuid:{uuid.uuid4()}",
        "vp": {"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiablePresentation"],
               "holder": holder.did, "verifiableCredential": list(credentials)},
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return _sign(holder, claims)


class ReplayGuard:
    """Remembers presentation ids until they expire: a second use of the same ``jti`` is a replay."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check_and_add(self, jti: str, expires_at: float) -> bool:
        now = time.time()
        with self._lock:
            if len(self._seen) > 50_000:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
            if jti in self._seen and self._seen[jti] > now - CLOCK_SKEW_S:
                return False
            self._seen[jti] = expires_at + CLOCK_SKEW_S
            return True


@dataclass(frozen=True)
class Presentation:
    holder: str
    credentials: tuple[VerifiedCredential, ...]
    jti: str


def verify_presentation(token: str, resolver: DidResolver, *, audience: str, replay: ReplayGuard,
                        status_check: StatusCheck | None = None, now: float | None = None) -> Presentation:
    """Check a presentation: holder signature, audience, freshness, no replay, every credential valid and about the holder."""
    claims = _verify_jws(token, resolver, "presentation")
    t = time.time() if now is None else now
    holder = claims["iss"]
    aud = claims.get("aud")
    if aud != audience and not (isinstance(aud, list) and audience in aud):
        raise CredentialError("wrong_audience", f"presentation from {holder} is for {aud!r}, not for {audience}")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise CredentialError("malformed", f"presentation from {holder} lacks iat/exp")
    if t - CLOCK_SKEW_S > exp:
        raise CredentialError("expired", f"presentation from {holder} expired at {_iso(exp)}")
    if exp - iat > PRESENTATION_MAX_AGE_S or iat > t + CLOCK_SKEW_S:
        raise CredentialError("malformed", f"presentation from {holder}: lifetime must be ≤ {PRESENTATION_MAX_AGE_S} s")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not replay.check_and_add(jti, exp):
        raise CredentialError("replayed", f"presentation {jti} from {holder} was already used: replayed message refused")
    vp = claims.get("vp") or {}
    creds = []
    for i, vc_token in enumerate(vp.get("verifiableCredential") or []):
        if not isinstance(vc_token, str):
            raise CredentialError("malformed", f"presentation from {holder}: credential #{i} is not a JWT")
        vc = verify_credential(vc_token, resolver, status_check=status_check, now=t)
        if vc.subject_did != holder:
            raise CredentialError("not_holder", f"{vc.type} {vc.id} is about {vc.subject_did}, not the presenter {holder}")
        creds.append(vc)
    return Presentation(holder, tuple(creds), jti)
