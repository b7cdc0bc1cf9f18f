"""The Ed25519 public-key format the participant registry stores and the ledger reads, in one place.

A public key travels as base64url text (padding optional) of its raw 32 bytes; a signature as base64url of
its raw 64 bytes. A key a participant registers must also be a point of the curve's prime-order group —
not a small-order point such as the neutral element, with which a "signature" nobody made verifies under a
lax check, and not a non-canonical encoding (libsodium's ``crypto_core_ed25519_is_valid_point``).

A leaf module (the standard library, PyNaCl and :mod:`batteryloop.errors` only): the registry
(:mod:`batteryloop.participants`) checks keys with it without importing ``trace``, and ``trace.keys``
reads keys with it.
"""

from __future__ import annotations

import base64
import re

from .errors import BatteryloopError

#: raw length of an Ed25519 public key, in bytes
ED25519_PUBLIC_KEY_BYTES = 32


class KeyFormatError(BatteryloopError, ValueError):
    """A key or signature that cannot be read; the message says what form was expected (400)."""

    title = "Unreadable key or signature"


def b64url_encode(raw: bytes) -> str:
    """base64url text of ``raw``, without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of base64url text (surrounding blanks and missing padding allowed); ValueError if it is not."""
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def checked_public_key_bytes(raw: bytes, *, point: bool = True) -> bytes:
    """``raw`` if it is an Ed25519 public key: 32 bytes and (``point``) a canonical point of the prime-order
    group; :class:`KeyFormatError` saying what is wrong otherwise."""
    if len(raw) != ED25519_PUBLIC_KEY_BYTES:
        raise KeyFormatError(f"an Ed25519 public key is 32 raw bytes; this one has {len(raw)}")
    if point:
        from nacl.bindings import crypto_core_ed25519_is_valid_point

        if not crypto_core_ed25519_is_valid_point(raw):
            raise KeyFormatError(
                "public key: not a valid Ed25519 key (not a canonical point of the prime-order group; small-order "
                "points such as the neutral element are refused) — register the public key of a key pair made by "
                "an Ed25519 library")
    return raw


def public_key_bytes(text: str, *, point: bool = True) -> bytes:
    """The raw 32 bytes of a public key's base64url text, checked by :func:`checked_public_key_bytes`;
    :class:`KeyFormatError` (a ValueError) saying what is wrong otherwise."""
    t = text.strip()
    try:
        raw = b64url_decode(t)
    except (ValueError, TypeError):
        raise KeyFormatError(f"public key {t[:20]!r}… is not base64url text") from None
    return checked_public_key_bytes(raw, point=point)


_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def canonical_public_key(text: str) -> str:
    """A public key as a participant registers it: strictly base64url (only ``A–Z a–z 0–9 - _``, padding
    optional; standard base64's ``+`` and ``/``, stray characters or blanks inside are refused — the lenient
    decoder would skip them and the registry would publish the text as typed), checked as
    :func:`public_key_bytes` does, returned in its one canonical form (unpadded base64url of the 32 bytes)."""
    t = text.strip()
    raw = public_key_bytes(t)  # what cannot be read at all is refused with the ledger's own message
    if not _B64URL.fullmatch(t):
        bad = next((ch for ch in t if not (ch.isascii() and (ch.isalnum() or ch in "-_="))), "=")
        raise KeyFormatError(f"public key: {bad!r} is not a base64url character (A-Z, a-z, 0-9, '-', '_', "
                             "'=' padding at the end) — send the 32 raw bytes as base64url")
    return b64url_encode(raw)
