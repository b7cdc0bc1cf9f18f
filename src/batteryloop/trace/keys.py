"""Ed25519 keys and signatures for lifecycle events, with the `cryptography` library.

Public keys travel as base64url text of the raw 32 bytes (no padding), as held in the participant
registry's ``public_key`` column; signatures as base64url of the raw 64 bytes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import BatteryloopError
from .canonical import signing_message


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyFormatError(BatteryloopError, ValueError):
    """A key or signature that cannot be read; the message says what form was expected (400)."""

    title = "Unreadable key or signature"


def public_key_from_text(text: str) -> Ed25519PublicKey:
    try:
        raw = b64url_decode(text)
    except (ValueError, TypeError):
        raise KeyFormatError(f"public key {text[:20]!r}… is not base64url text") from None
    if len(raw) != 32:
        raise KeyFormatError(f"an Ed25519 public key is 32 raw bytes; this one has {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    return b64url_encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


@dataclass(frozen=True)
class Signer:
    """A participant's signing key: signs event hashes on its behalf."""

    participant_id: str
    private_key: Ed25519PrivateKey

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
    def public_key_text(self) -> str:
        return public_key_text(self.private_key.public_key())

    def sign_hash(self, event_hash_hex: str) -> str:
        return b64url_encode(self.private_key.sign(signing_message(event_hash_hex)))


def verify_signature(public_key: Ed25519PublicKey, event_hash_hex: str, signature_text: str) -> bool:
    """True when ``signature_text`` is the key's signature of the event hash."""
    try:
        sig = b64url_decode(signature_text)
    except (ValueError, TypeError):
        return False
    if len(sig) != 64:
        return False
    try:
        public_key.verify(sig, signing_message(event_hash_hex))
    except InvalidSignature:
        return False
    return True
