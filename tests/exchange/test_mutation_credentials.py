"""``exchange.credentials`` against the standards it implements, rule by rule, with the error each refusal gives.

Sources:

* W3C Verifiable Credentials Data Model 1.1, §6.3.1 "JSON Web Token" (JWT encoding): ``iss`` = issuer,
  ``sub`` = ``credentialSubject.id``, ``jti`` = the credential ``id``, ``nbf`` = ``issuanceDate``, ``exp`` =
  ``expirationDate``; the credential itself in the ``vc`` claim (``@context`` starting with
  ``https://www.w3.org/2018/credentials/v1``, ``type`` starting with ``VerifiableCredential``); a presentation
  in the ``vp`` claim with ``iss`` = holder, ``aud`` = the verifier, ``nonce`` when one is asked for.
  ``issuanceDate``/``expirationDate`` are XML Schema dateTimes (written here in UTC, ``…Z``).
* RFC 7519 (JWT): ``typ`` "JWT"; ``aud`` a string or an array of strings ("each principal intended to
  process the JWT MUST identify itself with a value in the audience claim"); ``exp``/``nbf``/``iat`` are
  NumericDates, and "implementers MAY provide for some small leeway … to account for clock skew" — the
  module's leeway is ``CLOCK_SKEW_S`` on both ends of every window.
* RFC 9864 / RFC 8037: an Ed25519 JWS header has ``"alg": "Ed25519"``; the key is named by ``kid``, a DID URL
  of the issuer (``<did>#<fragment>``, DID Core §3.2).
* W3C Bitstring Status List v1.0: an entry is ``{"id", "type": "BitstringStatusListEntry", "statusPurpose",
  "statusListIndex" (a string holding an integer), "statusListCredential"}``; the list credential is a
  ``BitstringStatusListCredential`` whose subject (``type`` "BitstringStatusList") carries ``encodedList``;
  it must be issued by the credential's issuer; a set bit at the index with purpose ``revocation`` means
  revoked; a status that cannot be checked is not "valid".
* the module docstring: presentations are short-lived (``PRESENTATION_MAX_AGE_S``), for one verifier,
  used once (``jti`` replay), and every credential in them must be about the presenter.

Every refusal is a :class:`CredentialError` whose ``code`` names the rule and whose text names the offending
credential, issuer, key, list or value.
"""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from batteryloop.exchange import credentials as cr
from batteryloop.exchange.credentials import (
    CLOCK_SKEW_S, MEMBERSHIP, PRESENTATION_MAX_AGE_S, ReplayGuard, StatusEntry, StatusListChecker,
    issue_credential, issue_status_list, present, verify_credential, verify_presentation,
)
from batteryloop.exchange.did import DidResolver, Identity
from batteryloop.exchange.errors import CredentialError
from batteryloop.exchange.status_list import StatusList

ISSUER = Identity.generate("did:web:issuer.mut.test", "BPNL000000000ISS")
HOLDER = Identity.generate("did:web:holder.mut.test", "BPNL000000000HOL")
OTHER = Identity.generate("did:web:other.mut.test", "BPNL000000000OTH")
VERIFIER = "did:web:verifier.mut.test"
LIST_URL = "https://issuer.mut.test/status/7"


def resolver() -> DidResolver:
    return DidResolver(static={i.did: i.document() for i in (ISSUER, HOLDER, OTHER)})


def b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    h, p, _ = token.split(".")
    return (json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4))),
            json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))))


def signed(identity: Identity, claims: dict[str, Any], **header: Any) -> str:
    """A JWS signed by ``identity`` over exactly ``claims`` (to build tokens the issuing functions never make)."""
    from joserfc import jwt

    return jwt.encode({"alg": "Ed25519", "kid": identity.kid, **header}, claims, identity.jwk, algorithms=["Ed25519"])


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------ issuing
def test_issued_credential_is_a_vc_jwt_of_the_data_model() -> None:
    start, end = 1_900_000_000, 1_900_086_400
    status = StatusEntry(LIST_URL, 12)
    tok = issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP,
                           subject={"holderIdentifier": "BPNL000000000HOL"}, valid_from=start, valid_until=end,
                           status=status, credential_id="urn:uuid:cred-1")
    header, claims = parts(tok)
    assert header == {"alg": "Ed25519", "kid": ISSUER.kid, "typ": "JWT"}
    assert ISSUER.kid.split("#")[0] == ISSUER.did
    assert claims["vc"] == {
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/catenax/credentials/v1.0.0"],
        "id": "urn:uuid:cred-1", "type": ["VerifiableCredential", MEMBERSHIP], "issuer": ISSUER.did,
        "issuanceDate": "2030-03-17T17:46:40Z", "expirationDate": "2030-03-18T17:46:40Z",
        "credentialSubject": {"id": HOLDER.did, "holderIdentifier": "BPNL000000000HOL"},
        "credentialStatus": {"id": f"{LIST_URL}#12", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                             "statusListIndex": "12", "statusListCredential": LIST_URL}}
    assert {k: v for k, v in claims.items() if k not in ("vc", "iat")} == {
        "iss": ISSUER.did, "sub": HOLDER.did, "jti": "urn:uuid:cred-1", "nbf": start, "exp": end}
    assert abs(claims["iat"] - time.time()) < 5 and isinstance(claims["iat"], int)
    assert status.as_json() == claims["vc"]["credentialStatus"]


def test_validity_window_arguments() -> None:
    """Aware datetimes and epoch seconds are the same instant; no start means "from now"; no end means no
    ``exp``/``expirationDate`` at all; a naive datetime is refused (its instant is unknown)."""
    t0 = datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    a = parts(issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                               valid_from=t0, valid_until=t0 + timedelta(days=1)))[1]
    assert a["nbf"] == int(t0.timestamp()) and a["exp"] == int(t0.timestamp()) + 86_400
    assert a["vc"]["issuanceDate"] == "2031-05-06T05:08:09Z" and a["vc"]["expirationDate"] == "2031-05-07T05:08:09Z"
    b = parts(issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                               valid_from=1_950_000_000.9))[1]
    assert b["nbf"] == 1_950_000_000 and "exp" not in b and "expirationDate" not in b["vc"]
    before = int(time.time())
    c = parts(issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={}))[1]
    assert before <= c["nbf"] == c["iat"] <= int(time.time()) and c["vc"]["issuanceDate"] == iso(c["nbf"])
    assert "credentialStatus" not in c["vc"] and re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", c["jti"])
    assert c["vc"]["id"] == c["jti"]
    for naive in ({"valid_from": datetime(2031, 1, 1)}, {"valid_until": datetime(2031, 1, 1)}):
        with pytest.raises(ValueError, match=r"^credential times must be timezone-aware \(UTC\)$"):
            issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={}, **naive)


def test_status_list_credential() -> None:
    sl = StatusList()
    sl.set(3)
    header, claims = parts(issue_status_list(ISSUER, LIST_URL, sl))
    assert header == {"alg": "Ed25519", "kid": ISSUER.kid, "typ": "JWT"}
    assert claims["iss"] == ISSUER.did and claims["sub"] == LIST_URL and claims["jti"] == LIST_URL
    assert claims["iat"] == claims["nbf"] and abs(claims["iat"] - time.time()) < 5
    assert claims["vc"] == {
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/catenax/credentials/v1.0.0"],
        "id": LIST_URL, "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": ISSUER.did,
        "issuanceDate": iso(claims["iat"]),
        "credentialSubject": {"id": LIST_URL + "#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                              "encodedList": sl.encode()}}


# ------------------------------------------------------------------------------------------ verifying
def test_verified_credential_fields() -> None:
    tok = issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={"a": 1},
                           valid_from=1_700_000_000, valid_until=2_000_000_000, credential_id="urn:uuid:c2")
    vc = verify_credential(tok, resolver(), now=1_800_000_000)
    assert (vc.id, vc.type, vc.issuer, vc.subject_did, vc.subject, vc.not_before, vc.expires, vc.token) == (
        "urn:uuid:c2", MEMBERSHIP, ISSUER.did, HOLDER.did, {"a": 1}, 1_700_000_000, 2_000_000_000, tok)
    open_ended = verify_credential(issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP,
                                                    subject={}), resolver())
    assert open_ended.expires is None


def test_validity_window_edges_allow_the_clock_skew() -> None:
    nbf, exp = 1_800_000_000, 1_800_003_600
    tok = issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                           valid_from=nbf, valid_until=exp, credential_id="urn:uuid:w")
    for t in (nbf - CLOCK_SKEW_S, nbf, exp, exp + CLOCK_SKEW_S):
        assert verify_credential(tok, resolver(), now=t).id == "urn:uuid:w"
    with pytest.raises(CredentialError) as e:
        verify_credential(tok, resolver(), now=nbf - CLOCK_SKEW_S - 1)
    assert e.value.code == "not_yet_valid"
    assert str(e.value) == f"{MEMBERSHIP} urn:uuid:w is valid only from {iso(nbf)}"
    with pytest.raises(CredentialError) as e:
        verify_credential(tok, resolver(), now=exp + CLOCK_SKEW_S + 1)
    assert e.value.code == "expired"
    assert str(e.value) == f"{MEMBERSHIP} urn:uuid:w from {ISSUER.did} expired at {iso(exp)}"
    assert CLOCK_SKEW_S == 30 and PRESENTATION_MAX_AGE_S == 300


def test_credential_without_a_usable_vc_claim_is_malformed() -> None:
    base = {"iss": ISSUER.did, "sub": HOLDER.did, "jti": "urn:uuid:m", "nbf": 1}
    for vc in (None, "a string", {"type": "VerifiableCredential"}, {"type": ["VerifiableCredential"]}):
        claims = {**base, **({} if vc is None else {"vc": vc})}
        with pytest.raises(CredentialError, match="^credential has no 'vc' claim with a type list$") as e:
            verify_credential(signed(ISSUER, claims), resolver())
        assert e.value.code == "malformed"


def test_type_and_id_are_read_as_the_data_model_says() -> None:
    """The type is the one after ``VerifiableCredential`` wherever it stands; the id is ``jti``, or the
    credential's ``id`` when the JWT has no ``jti``."""
    vc = {"type": [MEMBERSHIP, "VerifiableCredential"], "id": "urn:uuid:from-vc", "credentialSubject": {}}
    got = verify_credential(signed(ISSUER, {"iss": ISSUER.did, "sub": HOLDER.did, "vc": vc}), resolver())
    assert (got.type, got.id, got.subject_did, got.subject, got.not_before, got.expires) == (
        MEMBERSHIP, "urn:uuid:from-vc", HOLDER.did, {}, 0, None)
    got = verify_credential(signed(ISSUER, {"iss": ISSUER.did, "sub": HOLDER.did, "jti": "urn:uuid:jti",
                                            "vc": {**vc, "type": ["VerifiableCredential", "X", "Y"]}}), resolver())
    assert (got.type, got.id) == ("X", "urn:uuid:jti")
    # a credential whose subject differs from the JWT's sub is refused, naming both
    bad = {"iss": ISSUER.did, "sub": HOLDER.did, "jti": "urn:uuid:s",
           "vc": {"type": ["VerifiableCredential", MEMBERSHIP], "credentialSubject": {"id": OTHER.did}}}
    with pytest.raises(CredentialError) as e:
        verify_credential(signed(ISSUER, bad), resolver())
    assert e.value.code == "malformed"
    assert str(e.value) == f"{MEMBERSHIP} urn:uuid:s: credentialSubject.id {OTHER.did!r} differs from sub"


def test_signature_refusals_name_the_token_issuer_and_key() -> None:
    tok = issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={})
    h, p, s = tok.split(".")
    for alg in ("EdDSA", "none", "HS256"):
        hdr = {"kid": ISSUER.kid, **({} if alg is None else {"alg": alg})}
        with pytest.raises(CredentialError) as e:
            verify_credential(f"{b64(hdr)}.{p}.{s}", resolver())
        assert e.value.code == "malformed"
        assert str(e.value) == f"credential uses alg {alg!r}; only 'Ed25519' is accepted"
    # kid must be a key of the issuer: DID URL <iss>#fragment (only the part before the first '#' is the DID)
    for kid in (OTHER.kid, ISSUER.did + "x#k", None, 7, "#" + ISSUER.did):
        hdr = {"alg": "Ed25519", **({} if kid is None else {"kid": kid})}
        with pytest.raises(CredentialError) as e:
            verify_credential(f"{b64(hdr)}.{p}.{s}", resolver())
        assert e.value.code == "malformed"
        assert str(e.value) == f"credential: signing key {kid!r} does not belong to issuer {ISSUER.did!r}"
    claims = parts(tok)[1]
    no_iss = {k: v for k, v in claims.items() if k != "iss"}
    with pytest.raises(CredentialError, match=r"^credential: signing key .* does not belong to issuer None$"):
        verify_credential(signed(ISSUER, no_iss), resolver())
    # a fragment that itself holds '#': the DID is still what precedes the first '#', so the key is looked up
    deep = f"{b64({'alg': 'Ed25519', 'kid': ISSUER.kid + '#x'})}.{p}.{s}"
    with pytest.raises(CredentialError) as e:
        verify_credential(deep, resolver())
    assert e.value.code == "unknown_key" and ISSUER.kid + "#x" in str(e.value)
    # forged: right header, other signer
    forged = signed(Identity(ISSUER.did, "x", HOLDER.signer), claims)
    with pytest.raises(CredentialError) as e:
        verify_credential(forged, resolver())
    assert e.value.code == "forged_signature"
    assert re.fullmatch(rf"credential from {re.escape(ISSUER.did)}: signature does not verify with key "
                        rf"{re.escape(ISSUER.kid)} \(.+\)", str(e.value)), str(e.value)
    for junk in ("", "abc", "a.b", "a.b.c.d", "é.b.c", f"{h}.{p}"):
        with pytest.raises(CredentialError) as e:
            verify_credential(junk, resolver())
        assert e.value.code == "malformed"
        assert str(e.value) == "credential is not a compact JWS (header.payload.signature)"


def test_bytes_token_is_read_like_text() -> None:
    tok = issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                           credential_id="urn:uuid:b")
    header, claims = cr._unverified(tok.encode(), "credential")
    assert header["kid"] == ISSUER.kid and claims["jti"] == "urn:uuid:b"


def test_signature_is_checked_once_per_document() -> None:
    """The signature result is remembered with the issuer's DID document it was checked against; validity and
    revocation are checked every time."""
    res = resolver()
    tok = issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                           valid_until=time.time() + 60)
    verify_credential(tok, res)
    doc, claims = res.signature_cache[tok]
    assert doc is res.resolve(ISSUER.did) and claims["iss"] == ISSUER.did
    with pytest.raises(CredentialError) as e:  # cached signature, yet the window is checked again
        verify_credential(tok, res, now=time.time() + 3600)
    assert e.value.code == "expired"


# ------------------------------------------------------------------------------------------ status lists
class Lists:
    """A published status list per URL, counting fetches."""

    def __init__(self, issuer: Identity = ISSUER) -> None:
        self.issuer = issuer
        self.lists: dict[str, StatusList] = {LIST_URL: StatusList()}
        self.fetches = 0
        self.token: str | None = None

    def __call__(self, url: str) -> str:
        self.fetches += 1
        if self.token is not None:
            return self.token
        return issue_status_list(self.issuer, url, self.lists[url])


def _with_status(index: int = 5, **entry: Any) -> str:
    status = {**StatusEntry(LIST_URL, index).as_json(), **entry}
    claims = {"iss": ISSUER.did, "sub": HOLDER.did, "jti": "urn:uuid:st",
              "vc": {"type": ["VerifiableCredential", MEMBERSHIP], "credentialSubject": {},
                     "credentialStatus": {k: v for k, v in status.items() if v is not None}}}
    return signed(ISSUER, claims)


def test_revocation_is_read_at_the_entry_index() -> None:
    lists = Lists()
    checker = StatusListChecker(lists, resolver(), ttl_s=0)
    lists.lists[LIST_URL].set(4)
    lists.lists[LIST_URL].set(6)
    assert verify_credential(_with_status(5), resolver(), status_check=checker).id == "urn:uuid:st"
    lists.lists[LIST_URL].set(5)
    with pytest.raises(CredentialError) as e:
        verify_credential(_with_status(5), resolver(), status_check=checker)
    assert e.value.code == "revoked"
    assert str(e.value) == f"{MEMBERSHIP} urn:uuid:st was revoked by {ISSUER.did} (status list {LIST_URL}, index 5)"
    lists.lists[LIST_URL].set(5, False)
    assert verify_credential(_with_status(5), resolver(), status_check=checker)


def test_status_entries_that_cannot_be_checked_are_refused() -> None:
    checker = StatusListChecker(Lists(), resolver(), ttl_s=0)
    for entry in ({"statusPurpose": "suspension"}, {"statusPurpose": None}, {"statusListCredential": None},
                  {"statusListCredential": ["https://x"]}):
        with pytest.raises(CredentialError, match=rf"^{MEMBERSHIP} urn:uuid:st: unsupported credentialStatus ") as e:
            verify_credential(_with_status(5, **entry), resolver(), status_check=checker)
        assert e.value.code == "status_unchecked"
    for idx in ("five", None, [5]):
        with pytest.raises(CredentialError) as e:
            verify_credential(_with_status(5, statusListIndex=idx), resolver(), status_check=checker)
        assert e.value.code == "malformed"
        assert str(e.value) == f"{MEMBERSHIP} urn:uuid:st: statusListIndex {idx!r} is not an integer"
    size = StatusList().size
    with pytest.raises(CredentialError, match=rf"^{MEMBERSHIP} urn:uuid:st: status list index {size} is outside") as e:
        verify_credential(_with_status(size), resolver(), status_check=checker)
    assert e.value.code == "malformed"
    with pytest.raises(CredentialError) as e:
        verify_credential(_with_status(5), resolver())
    assert e.value.code == "status_unchecked"
    assert str(e.value) == (f"{MEMBERSHIP} urn:uuid:st has a status entry but no status checker is configured; "
                            "refused")


def test_status_list_must_be_the_issuers_signed_list() -> None:
    lists = Lists(issuer=OTHER)
    with pytest.raises(CredentialError) as e:
        verify_credential(_with_status(5), resolver(), status_check=StatusListChecker(lists, resolver(), ttl_s=0))
    assert e.value.code == "status_unavailable"
    assert str(e.value) == f"status list {LIST_URL} is signed by {OTHER.did}, not by the issuer {ISSUER.did}"
    # a list whose signature does not verify names the list
    good = issue_status_list(ISSUER, LIST_URL, StatusList())
    h, p, _ = good.split(".")
    lists = Lists()
    lists.token = f"{h}.{p}.{issue_status_list(OTHER, LIST_URL, StatusList()).split('.')[2]}"
    with pytest.raises(CredentialError, match=rf"^status list {re.escape(LIST_URL)} from {ISSUER.did}: signature") as e:
        verify_credential(_with_status(5), resolver(), status_check=StatusListChecker(lists, resolver(), ttl_s=0))
    assert e.value.code == "forged_signature"
    # a signed credential that is no status list
    for subject in ({"encodedList": "%%%"}, {}, None):
        lists.token = signed(ISSUER, {"iss": ISSUER.did, "vc": {"credentialSubject": subject}})
        with pytest.raises(CredentialError, match=rf"^status list {re.escape(LIST_URL)} is malformed \(.+\); refused$") as e:
            verify_credential(_with_status(5), resolver(), status_check=StatusListChecker(lists, resolver(), ttl_s=0))
        assert e.value.code == "status_unavailable"


def test_unreachable_status_list_names_the_url_and_the_cause() -> None:
    def down(url: str) -> str:
        raise OSError(f"no route to {url}")

    with pytest.raises(CredentialError) as e:
        verify_credential(_with_status(5), resolver(), status_check=StatusListChecker(down, resolver(), ttl_s=0))
    assert e.value.code == "status_unavailable"
    assert str(e.value) == f"status list {LIST_URL} cannot be fetched (no route to {LIST_URL}); refused"


def test_status_lists_are_cached_for_their_ttl() -> None:
    lists = Lists()
    cached = StatusListChecker(lists, resolver(), ttl_s=300)
    for _ in range(3):
        verify_credential(_with_status(5), resolver(), status_check=cached)
    assert lists.fetches == 1
    lists.lists[LIST_URL].set(5)  # revoked meanwhile: seen only when the cached copy has aged out
    verify_credential(_with_status(5), resolver(), status_check=cached)
    fresh = StatusListChecker(lists, resolver(), ttl_s=0)
    for expected in (2, 3):
        with pytest.raises(CredentialError, match="revoked"):
            verify_credential(_with_status(5), resolver(), status_check=fresh)
        assert lists.fetches == expected
    short = StatusListChecker(lists, resolver(), ttl_s=0.2)
    with pytest.raises(CredentialError, match="revoked"):
        verify_credential(_with_status(5), resolver(), status_check=short)
    lists.lists[LIST_URL].set(5, False)
    with pytest.raises(CredentialError, match="revoked"):  # still the cached list
        verify_credential(_with_status(5), resolver(), status_check=short)
    time.sleep(0.25)
    assert verify_credential(_with_status(5), resolver(), status_check=short)


# ------------------------------------------------------------------------------------------ presentations
def test_presentation_claims() -> None:
    vc = issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={})
    header, claims = parts(present(HOLDER, iter([vc]), audience=VERIFIER, ttl_s=45, nonce="n-1"))
    assert header == {"alg": "Ed25519", "kid": HOLDER.kid, "typ": "JWT"}
    assert claims["iss"] == claims["sub"] == HOLDER.did and claims["aud"] == VERIFIER
    assert claims["iat"] == claims["nbf"] and claims["exp"] == claims["iat"] + 45 and abs(claims["iat"] - time.time()) < 5
    assert claims["nonce"] == "n-1" and re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", claims["jti"])
    assert claims["vp"] == {"@context": ["https://www.w3.org/2018/credentials/v1"],
                            "type": ["VerifiablePresentation"], "holder": HOLDER.did, "verifiableCredential": [vc]}
    plain = parts(present(HOLDER, [], audience=VERIFIER))[1]
    assert "nonce" not in plain and plain["exp"] - plain["iat"] == 60 and plain["jti"] != claims["jti"]


def _vp(claims: dict[str, Any], who: Identity = HOLDER) -> str:
    now = int(time.time())
    base = {"iss": who.did, "sub": who.did, "aud": VERIFIER, "iat": now, "exp": now + 60, "jti": f"urn:uuid:{now}-{id(claims)}",
            "vp": {"verifiableCredential": []}}
    return signed(who, {k: v for k, v in {**base, **claims}.items() if v is not None})


def test_presentation_audience_string_or_list() -> None:
    p = verify_presentation(_vp({"aud": ["did:web:x", VERIFIER]}), resolver(), audience=VERIFIER, replay=ReplayGuard())
    assert p.holder == HOLDER.did and p.credentials == ()
    for aud in ("did:web:x", ["did:web:x"], None, [], VERIFIER + "x"):
        with pytest.raises(CredentialError) as e:
            verify_presentation(_vp({"aud": aud}), resolver(), audience=VERIFIER, replay=ReplayGuard())
        assert e.value.code == "wrong_audience"
        assert str(e.value) == f"presentation from {HOLDER.did} is for {aud!r}, not for {VERIFIER}"


def test_presentation_times() -> None:
    now = int(time.time())
    for bad in ({"iat": None}, {"exp": None}, {"iat": str(now)}, {"exp": float(now + 60)}):
        with pytest.raises(CredentialError) as e:
            verify_presentation(_vp(bad), resolver(), audience=VERIFIER, replay=ReplayGuard())
        assert e.value.code == "malformed" and str(e.value) == f"presentation from {HOLDER.did} lacks iat/exp"
    vp = _vp({"iat": now, "exp": now + 60})
    assert verify_presentation(vp, resolver(), audience=VERIFIER, replay=ReplayGuard(), now=now + 60 + CLOCK_SKEW_S)
    with pytest.raises(CredentialError) as e:
        verify_presentation(vp, resolver(), audience=VERIFIER, replay=ReplayGuard(), now=now + 61 + CLOCK_SKEW_S)
    assert e.value.code == "expired" and str(e.value) == f"presentation from {HOLDER.did} expired at {iso(now + 60)}"
    lifetime = f"presentation from {HOLDER.did}: lifetime must be ≤ {PRESENTATION_MAX_AGE_S} s"
    assert verify_presentation(_vp({"iat": now, "exp": now + PRESENTATION_MAX_AGE_S}), resolver(), audience=VERIFIER,
                               replay=ReplayGuard())
    with pytest.raises(CredentialError) as e:
        verify_presentation(_vp({"iat": now, "exp": now + PRESENTATION_MAX_AGE_S + 1}), resolver(), audience=VERIFIER,
                            replay=ReplayGuard())
    assert e.value.code == "malformed" and str(e.value) == lifetime
    # issued in the future (beyond the skew) is refused; at the skew's edge it passes
    assert verify_presentation(_vp({"iat": now + CLOCK_SKEW_S, "exp": now + 90}), resolver(), audience=VERIFIER,
                               replay=ReplayGuard(), now=now)
    with pytest.raises(CredentialError) as e:
        verify_presentation(_vp({"iat": now + CLOCK_SKEW_S + 1, "exp": now + 90}), resolver(), audience=VERIFIER,
                            replay=ReplayGuard(), now=now)
    assert e.value.code == "malformed" and str(e.value) == lifetime


def test_presentation_replay_and_ids() -> None:
    guard = ReplayGuard()
    vp = _vp({"jti": "urn:uuid:once"})
    assert verify_presentation(vp, resolver(), audience=VERIFIER, replay=guard).jti == "urn:uuid:once"
    with pytest.raises(CredentialError) as e:
        verify_presentation(vp, resolver(), audience=VERIFIER, replay=guard)
    assert e.value.code == "replayed"
    assert str(e.value) == f"presentation urn:uuid:once from {HOLDER.did} was already used: replayed message refused"
    for jti in (None, 42):
        with pytest.raises(CredentialError) as e:
            verify_presentation(_vp({"jti": jti}), resolver(), audience=VERIFIER, replay=ReplayGuard())
        assert e.value.code == "replayed" and f"presentation {jti} from" in str(e.value)


def test_replay_guard_remembers_until_expiry_plus_skew() -> None:
    g = ReplayGuard()
    now = time.time()
    assert g.check_and_add("a", now + 60) is True
    assert g.check_and_add("a", now + 60) is False
    assert g.check_and_add("b", now - 120) is True  # long expired: remembered until now - 90
    assert g.check_and_add("b", now + 60) is True  # … which is over: a new use is not a replay
    assert g.check_and_add("c", now - 2 * CLOCK_SKEW_S + 5) is True
    assert g.check_and_add("c", now + 60) is False  # still within expiry + skew (+ skew of the checker)


def test_replay_guard_forgets_expired_ids_only_beyond_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory is bounded: with more than 50 000 remembered ids, those whose remembered expiry has come are
    dropped; ids that have not expired are never dropped, and at or below the bound nothing is."""
    clock = Clock(100_000.0)
    monkeypatch.setattr(cr.time, "time", clock)
    for n, forgotten in ((50_000, False), (50_001, True)):
        g = ReplayGuard()
        g.check_and_add("edge", 100_000.0 - CLOCK_SKEW_S)  # remembered until exactly now
        g.check_and_add("live", 100_001.0)
        for i in range(n - 2):
            g.check_and_add(f"x{i}", 100_600.0)
        assert g.check_and_add("live", 100_001.0) is False
        assert g.check_and_add("edge", 100_060.0) is forgotten


def test_every_presented_credential_is_verified_and_about_the_presenter() -> None:
    mine = issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                            credential_id="urn:uuid:mine")
    theirs = issue_credential(ISSUER, subject_did=OTHER.did, credential_type=MEMBERSHIP, subject={},
                              credential_id="urn:uuid:theirs")
    p = verify_presentation(_vp({"vp": {"verifiableCredential": [mine, mine]}}), resolver(), audience=VERIFIER,
                            replay=ReplayGuard())
    assert [c.id for c in p.credentials] == ["urn:uuid:mine", "urn:uuid:mine"] and isinstance(p.credentials, tuple)
    with pytest.raises(CredentialError) as e:
        verify_presentation(_vp({"vp": {"verifiableCredential": [mine, theirs]}}), resolver(), audience=VERIFIER,
                            replay=ReplayGuard())
    assert e.value.code == "not_holder"
    assert str(e.value) == f"{MEMBERSHIP} urn:uuid:theirs is about {OTHER.did}, not the presenter {HOLDER.did}"
    with pytest.raises(CredentialError) as e:
        verify_presentation(_vp({"vp": {"verifiableCredential": [mine, {"jwt": mine}]}}), resolver(),
                            audience=VERIFIER, replay=ReplayGuard())
    assert e.value.code == "malformed"
    assert str(e.value) == f"presentation from {HOLDER.did}: credential #1 is not a JWT"
    for vp in (None, {}, {"verifiableCredential": None}):
        assert verify_presentation(_vp({"vp": vp}), resolver(), audience=VERIFIER, replay=ReplayGuard()).credentials == ()
    # the credentials are checked at the presentation's "now" (a status entry needs the checker passed along)
    lists = Lists()
    lists.lists[LIST_URL].set(5)
    with pytest.raises(CredentialError, match="revoked"):
        verify_presentation(_vp({"vp": {"verifiableCredential": [_with_status(5)]}}), resolver(),
                            audience=VERIFIER, replay=ReplayGuard(),
                            status_check=StatusListChecker(lists, resolver(), ttl_s=0))
    later = issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                             valid_until=time.time() + 100)
    vp = present(HOLDER, [later], audience=VERIFIER, ttl_s=300)
    with pytest.raises(CredentialError) as e:
        verify_presentation(vp, resolver(), audience=VERIFIER, replay=ReplayGuard(), now=time.time() + 200)
    assert e.value.code == "expired" and MEMBERSHIP in str(e.value)
    # the presentation signature is checked like a credential's, and named as a presentation
    forged = signed(Identity(HOLDER.did, "x", OTHER.signer), parts(_vp({}))[1])
    with pytest.raises(CredentialError, match=rf"^presentation from {HOLDER.did}: signature does not verify") as e:
        verify_presentation(forged, resolver(), audience=VERIFIER, replay=ReplayGuard())
    assert e.value.code == "forged_signature"


# ------------------------------------------------------------------------------------------ clock edges
class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_status_list_cache_age_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached list is used while younger than the TTL; at exactly the TTL it is fetched again."""
    clock = Clock(1000.0)
    monkeypatch.setattr(cr.time, "monotonic", clock)
    lists = Lists()
    checker = StatusListChecker(lists, resolver(), ttl_s=10)
    verify_credential(_with_status(5), resolver(), status_check=checker)
    clock.t = 1009.999
    verify_credential(_with_status(5), resolver(), status_check=checker)
    assert lists.fetches == 1
    clock.t = 1010.0
    verify_credential(_with_status(5), resolver(), status_check=checker)
    assert lists.fetches == 2
    clock.t = 1019.0  # the refetch restarted the age
    verify_credential(_with_status(5), resolver(), status_check=checker)
    assert lists.fetches == 2


def test_replay_window_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    """An id is a replay while its remembered expiry (presentation exp + skew) is later than now - skew."""
    clock = Clock(10_000.0)
    monkeypatch.setattr(cr.time, "time", clock)
    g = ReplayGuard()
    assert g.check_and_add("j", 10_000.0) is True  # remembered until 10_030
    clock.t = 10_059.999
    assert g.check_and_add("j", 10_000.0) is False
    clock.t = 10_060.0
    assert g.check_and_add("j", 10_100.0) is True


def test_dates_are_utc_whatever_the_local_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """issuanceDate/expirationDate end in ``Z``: they must be UTC even on a server set to another zone."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        claims = parts(issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                                        valid_from=1_900_000_000, valid_until=1_900_086_400))[1]
        assert claims["vc"]["issuanceDate"] == "2030-03-17T17:46:40Z"
        assert claims["vc"]["expirationDate"] == "2030-03-18T17:46:40Z"
        tok = issue_credential(ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                               valid_from=1_900_000_000, valid_until=1_900_086_400, credential_id="urn:uuid:tz")
        with pytest.raises(CredentialError, match="expired at 2030-03-18T17:46:40Z$"):
            verify_credential(tok, resolver(), now=1_900_186_400)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_numeric_dates_may_be_fractional_and_must_be_numbers() -> None:
    """RFC 7519 §2: a NumericDate is a JSON number, "non-integer values can be represented". A fractional ``exp``
    in the past is expired (it used to be ignored); a date that is no number cannot be checked and is refused."""
    vc = {"type": ["VerifiableCredential", MEMBERSHIP], "credentialSubject": {}}
    base = {"iss": ISSUER.did, "sub": HOLDER.did, "jti": "urn:uuid:nd", "vc": vc}
    with pytest.raises(CredentialError) as e:
        verify_credential(signed(ISSUER, {**base, "exp": 1_700_000_000.5}), resolver(), now=1_800_000_000)
    assert e.value.code == "expired"
    with pytest.raises(CredentialError) as e:
        verify_credential(signed(ISSUER, {**base, "nbf": 1_900_000_000.5}), resolver(), now=1_800_000_000)
    assert e.value.code == "not_yet_valid"
    got = verify_credential(signed(ISSUER, {**base, "nbf": 1_700_000_000.25, "exp": 1_900_000_000.75}), resolver(),
                            now=1_800_000_000)
    assert (got.not_before, got.expires) == (1_700_000_000, 1_900_000_000)
    for name, value in (("exp", "2030-01-01"), ("nbf", "soon"), ("exp", True), ("nbf", [1])):
        with pytest.raises(CredentialError) as e:
            verify_credential(signed(ISSUER, {**base, name: value}), resolver())
        assert e.value.code == "malformed"
        assert str(e.value) == f"{MEMBERSHIP} urn:uuid:nd: {name} {value!r} is not a NumericDate"


def test_a_credential_without_a_specific_type_or_id() -> None:
    """Only ``VerifiableCredential`` (twice): no specific type, so the type is empty (it matches no credential
    type a trust registry lists); no ``jti`` and no ``id``: the id is empty, not a made-up one."""
    vc = {"type": ["VerifiableCredential", "VerifiableCredential"], "credentialSubject": {}}
    got = verify_credential(signed(ISSUER, {"iss": ISSUER.did, "sub": HOLDER.did, "vc": vc}), resolver())
    assert got.type == "" and got.id == ""


def test_status_list_default_cache_is_the_node_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a TTL the checker caches a list as long as a node does by default (``NodeConfig.status_cache_s``)."""
    from batteryloop.exchange.config import NodeConfig

    default = NodeConfig.model_fields["status_cache_s"].default
    clock = Clock(500.0)
    monkeypatch.setattr(cr.time, "monotonic", clock)
    lists = Lists()
    checker = StatusListChecker(lists, resolver())
    verify_credential(_with_status(5), resolver(), status_check=checker)
    clock.t = 500.0 + default - 0.001
    verify_credential(_with_status(5), resolver(), status_check=checker)
    assert lists.fetches == 1
    clock.t = 500.0 + default
    verify_credential(_with_status(5), resolver(), status_check=checker)
    assert lists.fetches == 2
