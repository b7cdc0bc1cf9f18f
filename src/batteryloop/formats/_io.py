"""Reading payloads: bytes in UTF-8, UTF-8 with BOM or UTF-16 LE/BE with BOM, then JSON.

Battery Pass consortium files and some AAS tools write UTF-16 with a byte-order mark; every importer
reads its input through :func:`load_json` so all of them accept the same encodings, and bad input is
an :class:`~batteryloop.errors.InvalidData` naming the position and the rule, never a traceback.
"""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidData

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


#: digits an integer in a payload may have (a passport has no use for more; Python refuses past 4300)
MAX_INT_DIGITS = 50


def _error(rule: str, message: str, value: Any = None, field: str = "(payload)") -> InvalidData:
    return InvalidData(message, [{"field": field, "rule": rule, "message": message, "value": value}])


def decode(data: bytes) -> str:
    """Decode ``data`` by its byte-order mark (UTF-8, UTF-16 LE/BE); without one, strict UTF-8."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise _error("encoding", f"the payload starts with a {codec} byte-order mark but byte "
                             f"{exc.start} is not valid {codec}", None) from None
    if b"\x00" in data[:4]:
        raise _error("encoding", "the payload looks like UTF-16 without a byte-order mark: save it with a BOM "
                     "or as UTF-8 (accepted: UTF-8, UTF-8 with BOM, UTF-16 LE/BE with BOM)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = ""
        if len(data) >= 2 and (data[0] == 0 or data[1] == 0):
            hint = " (it looks like UTF-16 without a byte-order mark: save it with a BOM or as UTF-8)"
        raise _error("encoding", f"the payload is not UTF-8: byte {exc.start} (0x{data[exc.start]:02x}) "
                     f"is invalid{hint}; accepted: UTF-8, UTF-8 with BOM, UTF-16 LE/BE with BOM") from None


def load_json(payload: Any, *, long_ints: bool = False) -> Any:
    """``payload`` as a JSON value: a mapping/list passes through; bytes, str or a Path are parsed.

    ``long_ints``: read an integer longer than :data:`MAX_INT_DIGITS` as ``None`` instead of refusing the payload —
    for format detection only, which looks at the keys (the importer then reads the number, or refuses it by name)."""
    if isinstance(payload, Mapping | list):
        return payload
    if isinstance(payload, Path):
        try:
            payload = payload.read_bytes()
        except OSError as exc:
            raise _error("file", f"cannot read {payload}: {exc.strerror}", str(payload)) from None
    if isinstance(payload, bytes | bytearray | memoryview):
        text = decode(bytes(payload))
    elif isinstance(payload, str):
        text = payload[1:] if payload.startswith("\ufeff") else payload
    else:
        raise _error("type", f"expected JSON text, bytes or an object, got {type(payload).__name__}",
                     type(payload).__name__)
    if not text.strip():
        raise _error("json", "the payload is empty: expected a JSON object")
    try:
        return json.loads(text, parse_int=_long_int if long_ints else _int, parse_float=_float,
                          parse_constant=_constant, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise _error("json", f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                     text[max(0, exc.pos - 20): exc.pos + 20]) from None
    except RecursionError:
        raise _error("json:depth", "the payload nests arrays and objects too deeply to read") from None


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _error("json:int_digits", f"an integer in the payload has {digits} digits ({text[:12]}…), more than the "
                     f"{MAX_INT_DIGITS} any passport value needs: write it as a decimal number (e.g. 1.5E308) or fix "
                     "it; a lenient Battery Pass import reads such an integer as the float it is (the consortium's "
                     "generated examples write the float limits this way)", text[:20] + "…")
    return int(text)


def _long_int(text: str) -> int | None:
    return None if len(text.lstrip("-")) > MAX_INT_DIGITS else int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _error("json:finite", f"the number {text[:20]} is too large for a float", text[:20])
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; a key given twice is refused (JSON leaves it undefined, and parsers keep one or the
    other: a passport value must not depend on which)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _error("json:duplicate_key", f"the key {key!r} appears twice in one object (values "
                         f"{_brief(out[key])} and {_brief(value)}): give it once", key[:100], key[:100])
        out[key] = value
    return out


def _brief(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:40] + "…"


def _constant(name: str) -> float:
    raise _error("json:finite", f"{name} is not a JSON number: numbers must be finite", name)


def load_object(payload: Any, what: str) -> dict[str, Any]:
    obj = load_json(payload)
    if not isinstance(obj, Mapping):
        raise _error("type", f"a {what} payload must be a JSON object, got {type(obj).__name__}",
                     type(obj).__name__)
    return dict(obj)
