"""Ed25519 keys and signatures for lifecycle events.

Public keys travel as base64url text of the raw 32 bytes (no padding), as held in the participant
registry's ``public_key`` column; signatures as base64url of the raw 64 bytes.

Events are signed and verified with libsodium (PyNaCl): about 1.6× faster than OpenSSL's Ed25519 in
`cryptography` here (docs/benchmarks.md), and stricter — besides the non-canonical S (s ≥ L) both refuse,
libsodium refuses small-order and non-canonical public keys and small-order R, with which OpenSSL's check
accepts signatures nobody made (the identity point as key verifies ``R = identity, S = 0`` for every
message; tests/trace/test_keys.py). Signatures are the same bytes either way (RFC 8032 signing is
deterministic). Private keys are still held as `cryptography` keys (their JWK and PEM forms are its work).
:func:`verify_signature` is the one check of an event's signature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

from ..keyformat import KeyFormatError, b64url_decode, b64url_encode, checked_public_key_bytes, public_key_bytes
from .canonical import signing_message

__all__ = ["KeyFormatError", "PublicKey", "Signer", "b64url_decode", "b64url_encode", "public_key_from_text",
           "public_key_text", "verify_signature"]


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A registered Ed25519 public key: its raw 32 bytes (checked as a point by each verification)."""

    raw: bytes

    def __post_init__(self) -> None:
        checked_public_key_bytes(self.raw, point=False)

    def public_bytes_raw(self) -> bytes:
        return self.raw


def public_key_from_text(text: str) -> PublicKey:
    """A registered key's text read as the registry checks it (:mod:`batteryloop.keyformat`), except the point:
    a stored key that is not a valid point is read, and every signature under it fails to verify (libsodium
    checks the point at each verification), so the ledger answers "does not verify", not "no key"."""
    return PublicKey(public_key_bytes(text, point=False))


def public_key_text(key: Ed25519PublicKey | PublicKey) -> str:
    if isinstance(key, PublicKey):
        return b64url_encode(key.raw)
    return b64url_encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


@dataclass(frozen=True)
class Signer:
    """A participant's signing key: signs event hashes on its behalf."""

    participant_id: str
    private_key: Ed25519PrivateKey
    _secret: bytes = field(init=False, repr=False, compare=False)  # libsodium's form: seed and public key

    def __post_init__(self) -> None:
        seed = self.private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption())
        object.__setattr__(self, "_secret", crypto_sign_seed_keypair(seed)[1])

    @classmethod
    def generate(cls, participant_id: str) -> Signer:
        return cls(participant_id, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, participant_id: str, seed: bytes) -> Signer:
        """A deterministic key from a 32-byte seed (demos and tests only: real keys are generated)."""
        return cls(participant_id, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_private_text(cls, participant_id: str, text: str) -> Signer:
        return cls(participant_id, Ed25519PrivateKey.from_private_bytes(b64url_decode(text)))

    def private_text(self) -> str:
        return b64url_encode(self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()))

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(self._secret[32:])

    @property
    def public_key_text(self) -> str:
        return b64url_encode(self._secret[32:])

    def sign(self, message: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``message`` (RFC 8032; the same bytes OpenSSL makes)."""
        return crypto_sign(message, self._secret)[:64]  # type: ignore[no-any-return]

    def sign_hash(self, event_hash_hex: str) -> str:
        return b64url_encode(self.sign(signing_message(event_hash_hex)))


def verify_signature(public_key: PublicKey, event_hash_hex: str, signature_text: str) -> bool:
    """True when ``signature_text`` is the key's signature of the event hash (libsodium's strict check)."""
    try:
        sig = b64url_decode(signature_text)
    except (ValueError, TypeError):
        return False
    if len(sig) != 64:
        return False
    try:
        crypto_sign_open(sig + signing_message(event_hash_hex), public_key.raw)
    except BadSignatureError:
        return False
    return True
