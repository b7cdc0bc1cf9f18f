"""The canonical form of an event and its SHA-256 hash: the bytes every signature covers.

Canonical JSON here is: UTF-8, object keys sorted, no insignificant whitespace, numbers as the
shortest text that reads back to the same IEEE 754 double (what ``orjson`` writes), ``null`` fields
left out by the event model before this point. Two parties that build the same event with
:func:`batteryloop.trace.events.normalize` get the same bytes, hence the same hash.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

GENESIS = "0" * 64
"""The ``prev`` hash of the first event of a subject's chain."""

SIGNING_CONTEXT = b"batteryloop/trace/v1:"
"""Domain separation: an event signature signs this prefix plus the 32-byte event hash."""


def canonical_json(obj: Any) -> bytes:
    """Canonical bytes of a JSON-compatible value (sorted keys, compact)."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def signing_message(event_hash_hex: str) -> bytes:
    """What the actor's Ed25519 key signs for an event with this hash."""
    return SIGNING_CONTEXT + bytes.fromhex(event_hash_hex)
