"""Signature and body checks spread over worker processes (Ed25519 verification is CPU-bound)."""

from __future__ import annotations

from collections import namedtuple
from concurrent.futures import Executor
from typing import Any

from .keys import KeyFormatError, public_key_from_text

_Row = namedtuple("_Row", "id hash body signature")
_KEYS: dict[str, Any] = {}


def _key(actor: str, texts: dict[str, str | None]) -> Any:
    if actor not in _KEYS:
        t = texts.get(actor, "__unknown__")
        if t == "__unknown__":
            return None
        try:
            _KEYS[actor] = public_key_from_text(t) if t else False
        except (KeyFormatError, ValueError):
            _KEYS[actor] = False
    return _KEYS[actor]


def _check_chunk(args: tuple[list[tuple[str, str, str, str]], dict[str, str | None], bool]) -> list[Any]:
    from .verify import check_event_row

    rows, texts, full = args
    _KEYS.clear()
    return [check_event_row(_Row(*r), lambda a: _key(a, texts), full_schema=full) for r in rows]


def check_rows_parallel(pool: Executor, rows: list[Any], workers: int, full_schema: bool,
                        key_texts: dict[str, str | None]) -> list[Any]:
    plain = [(r.id, r.hash, r.body, r.signature) for r in rows]
    size = max(1, len(plain) // (workers * 4))
    chunks = [(plain[i:i + size], key_texts, full_schema) for i in range(0, len(plain), size)]
    out: list[Any] = []
    for part in pool.map(_check_chunk, chunks):
        out.extend(part)
    return out
