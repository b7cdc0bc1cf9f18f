"""The JSON answer every HTTP adapter sends (the API, the exchange node, PACT and the digital twin registry).

One encoder for all of them: orjson, numpy values as numbers and arrays (the health and hub calculations
return them), and any other value orjson has no encoding for (a ``Decimal``, a ``Path`` …) as its ``str``,
as the ledger's answers always were. Values orjson encodes natively come out byte for byte as before.
The exchange node sends its problem documents through here too (``media_type=PROBLEM``); the API's
:func:`batteryloop.api.problems.problem` keeps its own encoder (echoed input values as text, with a stdlib
fallback for what orjson refuses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

JSON = "application/json"
PROBLEM = "application/problem+json"
OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def dumps(obj: Any) -> bytes:
    """``obj`` as the JSON bytes :func:`json_response` sends."""
    return orjson.dumps(obj, default=str, option=OPTIONS)


def json_response(obj: Any, status: int = 200, *, media_type: str = JSON,
                  headers: Mapping[str, str] | None = None) -> Response:
    """``obj`` as a JSON answer with ``status`` (``application/json`` unless ``media_type`` says otherwise)."""
    return Response(dumps(obj), status_code=status, media_type=media_type, headers=headers)
