"""Event signatures: libsodium's check (trace/keys.py) refuses every malformed or forged signature that
OpenSSL's (the `cryptography` library's, used before) refuses, and also the small-order forgeries OpenSSL's
cofactorless check lets through; signatures are the same bytes as OpenSSL's."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import update

from batteryloop.errors import InvalidData
from batteryloop.store.tables import participants
from batteryloop.trace.canonical import GENESIS, signing_message
from batteryloop.trace.events import normalize, seal
from batteryloop.trace.keys import (KeyFormatError, PublicKey, Signer, b64url_encode, public_key_from_text,
                                    verify_signature)
from batteryloop.trace.ledger import Ledger

from .test_ledger import EM, PACK, soh

L = 2**252 + 27742317777372353535851937790883648493  # the order of the base point (RFC 8032)
P = 2**255 - 19
SEED = hashlib.sha256(b"test-keys").digest()
SIGNER = Signer.from_seed("BPNL0000000000T1", SEED)
A = SIGNER.public_key.raw
H = hashlib.sha256(b"an event").hexdigest()
MSG = signing_message(H)
SIG = SIGNER.sign(MSG)
IDENTITY = (1).to_bytes(32, "little")  # the neutral point (y = 1), order 1


def _scalar() -> int:
    """The signer's secret scalar a (RFC 8032 5.1.5), to make signatures with a chosen R."""
    a = int.from_bytes(hashlib.sha512(SEED).digest()[:32], "little")
    return (a & ((1 << 254) - 8)) | (1 << 254)


def _with_r(r: bytes) -> bytes:
    """S = k·a for a given R: a signature the cofactorless equation [S]B = R + [k]A accepts when R is the
    neutral point (R + [k]A = [k·a]B), though the signer never chose R = [r]B."""
    k = int.from_bytes(hashlib.sha512(r + A + MSG).digest(), "little") % L
    return r + (k * _scalar() % L).to_bytes(32, "little")


def _reference(pk: bytes, sig: bytes) -> bool:
    """OpenSSL's check, as the ledger did it before (cryptography's Ed25519PublicKey.verify)."""
    try:
        Ed25519PublicKey.from_public_bytes(pk).verify(sig, MSG)
    except (InvalidSignature, ValueError):
        return False
    return True


def _ours(pk: bytes, sig: bytes) -> bool:
    return verify_signature(PublicKey(pk), H, b64url_encode(sig))


def _s(sig: bytes) -> int:
    return int.from_bytes(sig[32:], "little")


def test_the_same_signatures_as_openssl_and_both_accept_them() -> None:
    ref = Ed25519PrivateKey.from_private_bytes(SEED)
    assert SIG == ref.sign(MSG)
    assert SIGNER.sign_hash(H) == b64url_encode(SIG)
    assert A == ref.public_key().public_bytes_raw()
    assert _ours(A, SIG) and _reference(A, SIG)


BOTH_REFUSE = {
    "non-canonical S (S + L: the same point equation, s >= L)": (A, SIG[:32] + (_s(SIG) + L).to_bytes(32, "little")),
    "S with its top bit set": (A, SIG[:32] + (_s(SIG) | 1 << 255).to_bytes(32, "little")),
    "S = L": (A, SIG[:32] + L.to_bytes(32, "little")),
    "one bit of R flipped": (A, bytes([SIG[0] ^ 1]) + SIG[1:]),
    "one bit of S flipped": (A, SIG[:40] + bytes([SIG[40] ^ 4]) + SIG[41:]),
    "all zero": (A, bytes(64)),
    "another key's signature": (Signer.from_seed("X", bytes(32)).public_key.raw, SIG),
    "the signature of another event": (A, SIGNER.sign(signing_message(hashlib.sha256(b"other").hexdigest()))),
    "non-canonical R (neutral point as y = p + 1)": (A, _with_r((P + 1).to_bytes(32, "little"))),
    "a key that is no point (all ff)": (b"\xff" * 32, SIG),
}


@pytest.mark.parametrize("case", list(BOTH_REFUSE))
def test_malformed_and_forged_signatures_are_refused_by_both(case: str) -> None:
    pk, sig = BOTH_REFUSE[case]
    assert not _reference(pk, sig)
    assert not _ours(pk, sig)


# Small-order keys and R: OpenSSL's check (cryptography 50, OpenSSL 4.0 here) accepted each of these on the
# machine where this was written (docs/benchmarks.md); libsodium refuses them. With the neutral point as a
# participant's registered key, "R = neutral, S = 0" is a valid signature of every event under the
# cofactorless equation — anybody could sign for that participant.
SMALL_ORDER = {
    "neutral point as key, R = neutral, S = 0": (IDENTITY, IDENTITY + bytes(32)),
    "non-canonical neutral point (y = p + 1) as key": ((P + 1).to_bytes(32, "little"), IDENTITY + bytes(32)),
    "the point of order 2 (y = -1) as key": ((P - 1).to_bytes(32, "little"), IDENTITY + bytes(32)),
    "the real key, R = neutral point, S = k·a": (A, _with_r(IDENTITY)),
}


@pytest.mark.parametrize("case", list(SMALL_ORDER))
def test_small_order_forgeries_are_refused(case: str) -> None:
    pk, sig = SMALL_ORDER[case]
    assert not _ours(pk, sig)


@pytest.mark.parametrize("text", [b64url_encode(bytes(64))[:-2], b64url_encode(SIG + b"\0"), "", "not base64 !!"])
def test_signatures_of_the_wrong_length_or_form_are_refused(text: str) -> None:
    assert not verify_signature(SIGNER.public_key, H, text)


@pytest.mark.parametrize("n", [0, 31, 33, 64])
def test_keys_of_the_wrong_length_are_refused_with_their_length(n: int) -> None:
    with pytest.raises(KeyFormatError, match=f"32 raw bytes; this one has {n}"):
        public_key_from_text(b64url_encode(bytes(n)))
    with pytest.raises(ValueError):
        Ed25519PublicKey.from_public_bytes(bytes(n))


def test_a_forgery_under_a_small_order_key_is_refused_by_the_ledger(ledger: Ledger, store, signers) -> None:  # type: ignore[no-untyped-def]
    """A participant registered with the neutral point as key: the universal signature gets the same clear
    refusal as any forged signature, and nothing is stored."""
    with store.write() as c:
        c.execute(update(participants).where(participants.c.id == EM).values(public_key=b64url_encode(IDENTITY)))
    wire = seal({**soh(0), "prev": {PACK: GENESIS}}, signers[EM]).to_wire()
    _, _, h = normalize(wire)
    assert verify_signature(PublicKey(IDENTITY), h, b64url_encode(IDENTITY + bytes(32))) is False
    with pytest.raises(InvalidData) as e:
        ledger.submit({**wire, "signature": b64url_encode(IDENTITY + bytes(32))})
    assert e.value.errors[0]["rule"] == "signature_valid" and PACK + "-soh-0" in e.value.detail
    assert ledger.verify_store().events_checked == 0
