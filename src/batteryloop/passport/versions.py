"""Immutable passport versions: canonical content hashes, the hash chain, and field-by-field diffs.

Each version's hash is SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of
``{passport_id, version, prev_hash, author, created_at, reason, content}``. A version names the hash of
the one before it, so changing, dropping or reordering a stored version breaks the chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS = "0" * 64


def canonical_json(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def version_hash(
    *,
    passport_id: str,
    version: int,
    prev_hash: str,
    author: str,
    created_at: str,
    reason: str,
    content: Mapping[str, Any],
) -> str:
    payload = {
        "passport_id": passport_id,
        "version": version,
        "prev_hash": prev_hash,
        "author": author,
        "created_at": created_at,
        "reason": reason,
        "content": content,
    }
    return hashlib.sha256(canonical_json(payload)).hexdigest()


@dataclass(frozen=True)
class StoredVersion:
    passport_id: str
    version: int
    hash: str
    prev_hash: str
    author: str
    created_at: str
    reason: str
    content: Mapping[str, Any]


@dataclass(frozen=True)
class ChainProblem:
    version: int
    reason: str


def verify_chain(versions: Iterable[StoredVersion]) -> list[ChainProblem]:
    """Check a passport's versions in order: numbering, links and content hashes. Empty list = intact."""
    problems: list[ChainProblem] = []
    expected_prev = GENESIS
    expected_no = 1
    for v in versions:
        if v.version != expected_no:
            problems.append(ChainProblem(v.version, f"expected version {expected_no}, found {v.version}"))
        if v.prev_hash != expected_prev:
            problems.append(ChainProblem(v.version, "prev_hash does not match the previous version's hash"))
        recomputed = version_hash(
            passport_id=v.passport_id,
            version=v.version,
            prev_hash=v.prev_hash,
            author=v.author,
            created_at=v.created_at,
            reason=v.reason,
            content=v.content,
        )
        if recomputed != v.hash:
            problems.append(ChainProblem(v.version, "content hash mismatch: the stored version was altered"))
        expected_prev = v.hash
        expected_no = v.version + 1
    return problems


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        if not obj and prefix:
            out[prefix] = {}
        return out
    if isinstance(obj, list) and obj and any(isinstance(i, Mapping | list) for i in obj):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: obj}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Field-by-field differences as ``[{field, change: added|removed|changed, old, new}]``, sorted by field."""
    a, b = _flatten(old), _flatten(new)
    changes: list[dict[str, Any]] = []
    for key in sorted(a.keys() | b.keys()):
        if key not in a:
            changes.append({"field": key, "change": "added", "old": None, "new": b[key]})
        elif key not in b:
            changes.append({"field": key, "change": "removed", "old": a[key], "new": None})
        elif a[key] != b[key]:
            changes.append({"field": key, "change": "changed", "old": a[key], "new": b[key]})
    return changes
