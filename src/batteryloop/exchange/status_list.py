"""Revocation by status list (W3C Bitstring Status List v1.0).

An issuer keeps one bitstring per list; bit *i* set means the credential holding index *i* is revoked.
The list is published as a signed credential whose ``encodedList`` is the multibase (``u`` =
base64url, no padding) of the GZIP-compressed bitstring, at least 16 KiB (131 072 entries) so that
one index does not stand out. Bit 0 is the most significant bit of the first byte (spec §3.2).
"""

from __future__ import annotations

import base64
import gzip

MIN_BITS = 131_072


class StatusList:
    def __init__(self, size_bits: int = MIN_BITS, raw: bytes | None = None) -> None:
        if size_bits % 8 or size_bits < MIN_BITS:
            raise ValueError(f"a status list holds a multiple of 8 bits and at least {MIN_BITS}; got {size_bits}")
        self._bits = bytearray(raw) if raw is not None else bytearray(size_bits // 8)

    @property
    def size(self) -> int:
        return len(self._bits) * 8

    def _check(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise IndexError(f"status list index {index} is outside 0..{self.size - 1}")

    def set(self, index: int, revoked: bool = True) -> None:
        self._check(index)
        byte, bit = divmod(index, 8)
        mask = 0x80 >> bit
        if revoked:
            self._bits[byte] |= mask
        else:
            self._bits[byte] &= ~mask & 0xFF

    def get(self, index: int) -> bool:
        self._check(index)
        byte, bit = divmod(index, 8)
        return bool(self._bits[byte] & (0x80 >> bit))

    def encode(self) -> str:
        raw = gzip.compress(bytes(self._bits), mtime=0)
        return "u" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, encoded: str) -> StatusList:
        if not encoded.startswith("u"):
            raise ValueError("encodedList must be multibase base64url (leading 'u')")
        body = encoded[1:]
        raw = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if len(raw) * 8 < MIN_BITS:
            raise ValueError(f"status list of {len(raw) * 8} bits is shorter than the minimum {MIN_BITS}")
        return cls(len(raw) * 8, raw)
