"""Credentials: issue, verify, expire, revoke, forge, replay; trust registries and recognition agreements."""

from __future__ import annotations

import time

import pytest

from batteryloop.exchange.credentials import (
    BPN, CERTIFICATION, DISMANTLER, MEMBERSHIP, ReplayGuard, StatusEntry, StatusListChecker,
    issue_credential, issue_status_list, present, verify_credential, verify_presentation,
)
from batteryloop.exchange.did import DidResolver, Identity, did_document_url, did_web
from batteryloop.exchange.errors import CredentialError
from batteryloop.exchange.status_list import StatusList
from batteryloop.exchange.trust import RecognitionAgreement, TrustFramework, TrustRegistry, claims_from

CX_ISSUER = Identity.generate("did:web:issuer.catena-x.test", "BPNL000000000ISS")
OU_ISSUER = Identity.generate("did:web:issuer.ouranos.test", "1234567890123")
HOLDER = Identity.generate("did:web:cellmaker.jp.test", "9876543210987")
VERIFIER = "did:web:automaker.eu.test"


def resolver() -> DidResolver:
    return DidResolver(static={i.did: i.document() for i in (CX_ISSUER, OU_ISSUER, HOLDER)})


def test_did_web_names_and_urls() -> None:
    did = did_web("http://127.0.0.1:8001")
    assert did == "did:web:127.0.0.1%3A8001"
    assert did_document_url(did) == "http://127.0.0.1:8001/.well-known/did.json"
    assert did_document_url("did:web:example.com:users:alice") == "https://example.com/users/alice/did.json"
    with pytest.raises(CredentialError, match="not a did:web"):
        did_document_url("did:key:z6Mk")


def test_valid_credential_verifies() -> None:
    tok = issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP,
                           subject={"holderIdentifier": "BPNL00000000CELL"}, valid_until=time.time() + 3600)
    vc = verify_credential(tok, resolver())
    assert vc.type == MEMBERSHIP and vc.issuer == CX_ISSUER.did and vc.subject["holderIdentifier"] == "BPNL00000000CELL"


def test_expired_credential_refused() -> None:
    tok = issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                           valid_from=time.time() - 7200, valid_until=time.time() - 3600)
    with pytest.raises(CredentialError, match="expired") as e:
        verify_credential(tok, resolver())
    assert e.value.code == "expired"


def test_forged_signature_refused() -> None:
    tok = issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=CERTIFICATION, subject={"scheme": "x"})
    # the holder signs a credential claiming the issuer's DID and key id
    forger = Identity(CX_ISSUER.did, "x", HOLDER.signer)
    forged = issue_credential(forger, subject_did=HOLDER.did, credential_type=CERTIFICATION, subject={"scheme": "x"})
    with pytest.raises(CredentialError) as e:
        verify_credential(forged, resolver())
    assert e.value.code == "forged_signature" and CX_ISSUER.did in str(e.value)
    # a changed payload with the original signature
    h, p, s = tok.split(".")
    import base64, json
    claims = json.loads(base64.urlsafe_b64decode(p + "=="))
    claims["vc"]["credentialSubject"]["scheme"] = "y"
    p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(CredentialError) as e:
        verify_credential(f"{h}.{p2}.{s}", resolver())
    assert e.value.code == "forged_signature"
    with pytest.raises(CredentialError) as e:
        verify_credential("not.a.jwt", resolver())
    assert e.value.code == "malformed"


def test_revoked_credential_refused_through_status_list() -> None:
    url = "https://issuer.catena-x.test/status/1"
    sl = StatusList()
    published = {"token": issue_status_list(CX_ISSUER, url, sl)}
    res = resolver()
    checker = StatusListChecker(lambda u: published["token"], res, ttl_s=0)
    tok = issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                           status=StatusEntry(url, 4242))
    assert verify_credential(tok, res, status_check=checker).type == MEMBERSHIP
    sl.set(4242)
    published["token"] = issue_status_list(CX_ISSUER, url, sl)
    with pytest.raises(CredentialError, match="revoked") as e:
        verify_credential(tok, res, status_check=checker)
    assert e.value.code == "revoked" and "4242" in str(e.value)
    # a status list signed by someone else is not believed
    published["token"] = issue_status_list(HOLDER, url, StatusList())
    with pytest.raises(CredentialError, match="not by the issuer"):
        verify_credential(tok, res, status_check=checker)
    # a credential with a status entry but no checker is refused rather than assumed valid
    with pytest.raises(CredentialError) as e:
        verify_credential(tok, res)
    assert e.value.code == "status_unchecked"


def test_status_list_roundtrip() -> None:
    sl = StatusList()
    for i in (0, 7, 8, 131_071):
        sl.set(i)
    back = StatusList.decode(sl.encode())
    assert [back.get(i) for i in (0, 1, 7, 8, 9, 131_071)] == [True, False, True, True, False, True]
    with pytest.raises(IndexError):
        sl.get(131_072)


def test_presentation_replay_and_audience() -> None:
    vc = issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=BPN,
                          subject={"holderIdentifier": "BPNL00000000CELL"})
    guard = ReplayGuard()
    vp = present(HOLDER, [vc], audience=VERIFIER)
    p = verify_presentation(vp, resolver(), audience=VERIFIER, replay=guard)
    assert p.holder == HOLDER.did and p.credentials[0].type == BPN
    with pytest.raises(CredentialError, match="replayed") as e:
        verify_presentation(vp, resolver(), audience=VERIFIER, replay=guard)
    assert e.value.code == "replayed"
    with pytest.raises(CredentialError) as e:
        verify_presentation(present(HOLDER, [vc], audience="did:web:other.test"), resolver(), audience=VERIFIER,
                            replay=guard)
    assert e.value.code == "wrong_audience"
    # presenting somebody else's credential
    other = issue_credential(CX_ISSUER, subject_did="did:web:someone.test", credential_type=BPN, subject={})
    with pytest.raises(CredentialError) as e:
        verify_presentation(present(HOLDER, [other], audience=VERIFIER), resolver(), audience=VERIFIER, replay=guard)
    assert e.value.code == "not_holder"


# ------------------------------------------------------------------------------------ trust
def framework(space: str = "catena-x", agreement_types: tuple[str, ...] = (CERTIFICATION, MEMBERSHIP)) -> TrustFramework:
    regs = {"catena-x": TrustRegistry.from_config("catena-x", {CX_ISSUER.did: [MEMBERSHIP, BPN, CERTIFICATION,
                                                                               DISMANTLER]}),
            "ouranos": TrustRegistry.from_config("ouranos", {OU_ISSUER.did: [MEMBERSHIP, CERTIFICATION, DISMANTLER]})}
    ag = RecognitionAgreement("cx-ou-2025", "catena-x", "ouranos", frozenset(agreement_types))
    return TrustFramework(space, regs, [ag])


def _verified(issuer: Identity, ctype: str, **subject: object):  # type: ignore[no-untyped-def]
    return verify_credential(issue_credential(issuer, subject_did=HOLDER.did, credential_type=ctype,
                                              subject=subject), resolver())


def test_own_registry_and_recognition_agreement() -> None:
    fw = framework()
    assert fw.accept(_verified(CX_ISSUER, MEMBERSHIP)).ground == "registry:catena-x"
    acc = fw.accept(_verified(OU_ISSUER, CERTIFICATION, scheme="JIS Q 14067"))
    assert acc.ground == "agreement:cx-ou-2025" and acc.space == "ouranos"


def test_recognition_covers_listed_types_only() -> None:
    fw = framework()
    with pytest.raises(CredentialError, match="not covered by recognition agreement cx-ou-2025") as e:
        fw.accept(_verified(OU_ISSUER, DISMANTLER))
    assert e.value.code == "not_recognised"
    # recognition is one-way: Ouranos does not accept Catena-X issuers because Catena-X accepts Ouranos ones
    with pytest.raises(CredentialError) as e:
        framework(space="ouranos").accept(_verified(CX_ISSUER, CERTIFICATION))
    assert e.value.code == "untrusted_issuer"


def test_untrusted_issuer_refused() -> None:
    rogue = Identity.generate("did:web:rogue.test", "x")
    res = DidResolver(static={rogue.did: rogue.document()})
    vc = verify_credential(issue_credential(rogue, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={}), res)
    with pytest.raises(CredentialError, match="rogue.test is not trusted in catena-x") as e:
        framework().accept(vc)
    assert e.value.code == "untrusted_issuer"


def test_issuer_trusted_for_other_types_only() -> None:
    # the Catena-X issuer may issue memberships, but a "framework agreement" from it is not in its list
    vc = _verified(CX_ISSUER, "DataExchangeGovernanceCredential")
    with pytest.raises(CredentialError) as e:
        framework().accept(vc)
    assert e.value.code == "untrusted_issuer"


def test_expired_agreement_refuses() -> None:
    fw = framework()
    fw.agreements[0] = RecognitionAgreement("old", "catena-x", "ouranos", frozenset({CERTIFICATION}), 0, time.time() - 10)
    with pytest.raises(CredentialError, match="not in force"):
        fw.accept(_verified(OU_ISSUER, CERTIFICATION))


def test_claims_from_presentation() -> None:
    creds = [issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=BPN,
                              subject={"holderIdentifier": "BPNL00000000CELL"}),
             issue_credential(OU_ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={}),
             issue_credential(OU_ISSUER, subject_did=HOLDER.did, credential_type=CERTIFICATION, subject={"scheme": "S"})]
    p = verify_presentation(present(HOLDER, creds, audience=VERIFIER), resolver(), audience=VERIFIER,
                            replay=ReplayGuard())
    c = claims_from(p, framework())
    assert c.bpn == "BPNL00000000CELL" and c.memberships == {"ouranos", "catena-x"} and c.certifications[0]["scheme"] == "S"
    # one unrecognised credential refuses the whole presentation
    bad = creds + [issue_credential(OU_ISSUER, subject_did=HOLDER.did, credential_type=DISMANTLER, subject={})]
    p2 = verify_presentation(present(HOLDER, bad, audience=VERIFIER), resolver(), audience=VERIFIER, replay=ReplayGuard())
    with pytest.raises(CredentialError, match="DismantlerCredential"):
        claims_from(p2, framework())


def test_framework_agreement_needs_a_version() -> None:
    from batteryloop.exchange.credentials import FRAMEWORK_AGREEMENT

    fw = framework()
    fw.registries["catena-x"] = TrustRegistry.from_config("catena-x", {CX_ISSUER.did: [FRAMEWORK_AGREEMENT]})
    for subject, expected in (({"contractVersion": "1.0"}, {"DataExchangeGovernance:1.0"}), ({}, set())):
        tok = issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=FRAMEWORK_AGREEMENT, subject=subject)
        p = verify_presentation(present(HOLDER, [tok], audience=VERIFIER), resolver(), audience=VERIFIER,
                                replay=ReplayGuard())
        assert claims_from(p, fw).framework_agreements == expected


def test_unsigned_and_foreign_algorithms_refused() -> None:
    import base64
    import json

    tok = issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={})
    _, payload, sig = tok.split(".")
    for alg in ("none", "HS256", "EdDSA"):
        header = base64.urlsafe_b64encode(json.dumps({"alg": alg, "kid": CX_ISSUER.kid}).encode()).rstrip(b"=").decode()
        for s in ("", sig):
            with pytest.raises(CredentialError) as e:
                verify_credential(f"{header}.{payload}.{s}", resolver())
            assert e.value.code in ("malformed", "forged_signature") and (alg in str(e.value) or "signature" in str(e.value))
    # a key id naming another DID than the issuer is refused before any signature check
    other = base64.urlsafe_b64encode(json.dumps({"alg": "Ed25519", "kid": HOLDER.kid}).encode()).rstrip(b"=").decode()
    with pytest.raises(CredentialError, match="does not belong to issuer"):
        verify_credential(f"{other}.{payload}.{sig}", resolver())


def test_not_yet_valid_credential_refused() -> None:
    tok = issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                           valid_from=time.time() + 3600)
    with pytest.raises(CredentialError, match="valid only from") as e:
        verify_credential(tok, resolver())
    assert e.value.code == "not_yet_valid"


def test_unreachable_status_list_refuses() -> None:
    """An issuer whose status list cannot be fetched: the credential is refused, never assumed unrevoked."""
    def down(url: str) -> str:
        raise ConnectionError("connection refused")

    tok = issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={},
                           status=StatusEntry("https://issuer.catena-x.test/status/1", 3))
    with pytest.raises(CredentialError, match="cannot be fetched") as e:
        verify_credential(tok, resolver(), status_check=StatusListChecker(down, resolver(), ttl_s=0))
    assert e.value.code == "status_unavailable"
    # a status list that is not a signed status list credential is refused too
    with pytest.raises(CredentialError) as e:
        verify_credential(tok, resolver(), status_check=StatusListChecker(lambda u: "garbage", resolver(), ttl_s=0))
    assert e.value.code == "malformed"


def test_expired_or_overlong_presentation_refused() -> None:
    vc = issue_credential(CX_ISSUER, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={})
    vp = present(HOLDER, [vc], audience=VERIFIER, ttl_s=60)
    with pytest.raises(CredentialError) as e:
        verify_presentation(vp, resolver(), audience=VERIFIER, replay=ReplayGuard(), now=time.time() + 120)
    assert e.value.code == "expired"
    long_lived = present(HOLDER, [vc], audience=VERIFIER, ttl_s=3600)
    with pytest.raises(CredentialError, match="lifetime") as e:
        verify_presentation(long_lived, resolver(), audience=VERIFIER, replay=ReplayGuard())
    assert e.value.code == "malformed"


def test_rotated_key_is_used_after_the_document_changes() -> None:
    """Verification keys are cached with the DID document they come from: when the document is fetched
    again with a new key, the old key no longer verifies anything."""
    from batteryloop.trace.keys import Signer

    old = Identity(CX_ISSUER.did, CX_ISSUER.participant_id, Signer.generate("old"))
    new = Identity(CX_ISSUER.did, CX_ISSUER.participant_id, Signer.generate("new"))
    served = {"doc": old.document()}
    res = DidResolver(lambda url: served["doc"], ttl_s=0)
    by_old = issue_credential(old, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={})
    by_new = issue_credential(new, subject_did=HOLDER.did, credential_type=MEMBERSHIP, subject={})
    assert verify_credential(by_old, res).issuer == CX_ISSUER.did
    with pytest.raises(CredentialError) as e:
        verify_credential(by_new, res)
    assert e.value.code == "forged_signature"
    served["doc"] = new.document()
    assert verify_credential(by_new, res).issuer == CX_ISSUER.did
    # the credential verified under the old key is checked again (not taken from the signature cache) …
    with pytest.raises(CredentialError) as e:
        verify_credential(by_old, res)
    assert e.value.code == "forged_signature"
    # … and while the document stays the same, the cached result is used (same object back)
    served["doc"] = dict(new.document())
    res2 = DidResolver(lambda url: served["doc"], ttl_s=300)
    first = verify_credential(by_new, res2)
    assert res2.signature_cache[by_new][0] is served["doc"]
    assert verify_credential(by_new, res2) == first
