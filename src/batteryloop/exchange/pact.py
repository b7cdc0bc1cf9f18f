"""PACT (WBCSD Pathfinder) v3-style footprint exchange: ``/auth/token``, ``/3/footprints``,
``/3/footprints/{id}``, ``/3/events``.

A node publishes one product footprint per part whose CFP it registered (Ouranos records) and allowed
to disclose: the product's cradle-to-gate total (pre-processing + main production), never the split
into its own and its suppliers' components. Clients authenticate with OAuth2 client credentials
(HTTP Basic on ``/auth/token``) and get a short-lived bearer token signed by the node.

The behaviours follow the conformance cases in fixtures/pact-conformance (v3): token with valid and
invalid credentials (200 / 401), GetFootprint (200, 404 ``NoSuchFootprint``), ListFootprints with
pagination links and the ``$productId``/``$companyId``/``$geography``/``$classification``/``$validOn``/
``$validAfter``/``$validBefore``/``$status`` filters, invalid token (400 ``BadRequest``), and CloudEvents
on ``/3/events`` (request created / fulfilled / rejected, published; 400 for a malformed event). The
HTTPS-only cases (9–11, 17) belong to the TLS front of a deployment, not to a loopback node. The payloads
are our own, built from our records.
"""

from __future__ import annotations

import base64
import hmac
import math
import time
import uuid
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from joserfc import jwt
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool

from ..responses import json_response
from .credentials import ALG

EVENT_TYPES = ("org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
               "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
               "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
               "org.wbcsd.pact.ProductFootprint.PublishedEvent.3")
TOKEN_TTL_S = 3600


def _iso(ts: str | None) -> datetime | None:
    return None if ts is None else datetime.fromisoformat(ts.replace("Z", "+00:00"))


def footprints(node: Any) -> list[dict[str, Any]]:
    """This node's product footprints, from its own disclosed CFP records (totals only)."""
    out = []
    me = node.config.participant_id
    parts = {p["traceId"]: p for p in node.ouranos.parts(me)}
    for _, body in node.ouranos._all("cfp", operator_id=me):
        if not body.get("disclose", True):
            continue
        entries = body["entries"]
        tid = entries[0]["traceId"]
        total = round(sum(e["ghgEmission"] for e in entries), 5)
        unit = entries[0]["ghgDeclaredUnit"].split("/", 1)[1].replace("-", " ")
        part = parts.get(tid, {})
        out.append({
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node.did}/cfp/{entries[0]['cfpId']}")),
            "specVersion": "3.0.0", "version": 1, "created": "2025-01-01T00:00:00Z", "status": "Active",
            "validityPeriodStart": "2025-01-01T00:00:00Z", "validityPeriodEnd": "2027-12-31T23:59:59Z",
            "companyName": node.config.name, "companyIds": [f"urn:batteryloop:participant:{me}", node.did],
            "productDescription": part.get("partsName", "part"), "productIds": [f"urn:batteryloop:trace:{tid}"],
            "productClassifications": [], "productNameCompany": part.get("partsName", "part"),
            "pcf": {"declaredUnit": unit, "unitaryProductAmount": 1, "geographyCountry": None,
                    "boundaryProcessesDescription": "cradle-to-gate: pre-processing and main production, "
                                                    "suppliers' contributions included (aggregated)",
                    "carbonFootprint": {"value": total, "uom": "kg CO2e"}},
        })
    return out


def _matches(fp: dict[str, Any], q: Any) -> bool:
    checks = {
        "$productId": lambda v: v in fp["productIds"],
        "$companyId": lambda v: v in fp["companyIds"],
        "$geography": lambda v: fp["pcf"].get("geographyCountry") == v,
        "$classification": lambda v: v in fp["productClassifications"],
        "$status": lambda v: fp["status"] == v,
        "$validOn": lambda v: _iso(fp["validityPeriodStart"]) <= _iso(v) <= _iso(fp["validityPeriodEnd"]),  # type: ignore[operator]
        "$validAfter": lambda v: _iso(fp["validityPeriodStart"]) >= _iso(v),  # type: ignore[operator]
        "$validBefore": lambda v: _iso(fp["validityPeriodEnd"]) <= _iso(v),  # type: ignore[operator]
    }
    return all(fn(q[k]) for k, fn in checks.items() if k in q)


def pact_router(node: Any, clients: dict[str, str]) -> APIRouter:
    """``clients``: OAuth2 client id → secret allowed to read this node's footprints."""
    r = APIRouter(tags=["pact"])
    events: list[dict[str, Any]] = []
    node.pact_events = events

    def bearer(request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        try:
            tok = jwt.decode(auth[7:], node.identity.jwk, algorithms=[ALG])
        except (JoseError, ValueError):
            return None
        c = tok.claims
        if c.get("aud") != node.did + "#pact" or not isinstance(c.get("exp"), int) or c["exp"] < time.time():
            return None
        return str(c.get("sub"))

    invalid = {"code": "BadRequest", "message": "Invalid token provided"}

    @r.post("/auth/token")
    async def token(request: Request) -> Response:
        form = (await request.body()).decode()
        auth = request.headers.get("authorization", "")
        try:
            cid, secret = base64.b64decode(auth[6:]).decode().split(":", 1) if auth.startswith("Basic ") else ("", "")
        except ValueError:
            cid, secret = "", ""
        if "grant_type=client_credentials" not in form:
            return json_response({"error": "unsupported_grant_type", "error_description": "use grant_type=client_credentials"}, 400)
        want = clients.get(cid)
        if want is None or not hmac.compare_digest(want.encode(), secret.encode()):
            return json_response({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        now = int(time.time())
        tok = await run_in_threadpool(  # signing: off the event loop
            jwt.encode, {"alg": ALG, "kid": node.identity.kid, "typ": "JWT"},
            {"iss": node.did, "aud": node.did + "#pact", "sub": cid, "iat": now, "exp": now + TOKEN_TTL_S},
            node.identity.jwk, algorithms=[ALG])
        return json_response({"access_token": tok, "token_type": "Bearer", "expires_in": TOKEN_TTL_S})

    @r.get("/3/footprints")
    def list_footprints(request: Request) -> Response:
        if bearer(request) is None:
            return json_response(invalid, 400)
        q = request.query_params
        items = [fp for fp in footprints(node) if _matches(fp, q)]
        try:
            page, size = int(q.get("page", 1)), int(q.get("pageSize", 10))
        except ValueError:
            return json_response({"code": "BadRequest", "message": "page and pageSize must be integers"}, 400)
        if page < 1 or not 1 <= size <= 1000:
            return json_response({"code": "BadRequest", "message": "page ≥ 1 and 1 ≤ pageSize ≤ 1000"}, 400)
        last = max(1, math.ceil(len(items) / size))
        base = str(request.base_url).rstrip("/") + "/3/footprints"
        links = {"first": f"{base}?page=1&pageSize={size}", "last": f"{base}?page={last}&pageSize={size}"}
        if page > 1:
            links["prev"] = f"{base}?page={page - 1}&pageSize={size}"
        if page < last:
            links["next"] = f"{base}?page={page + 1}&pageSize={size}"
        body: dict[str, Any] = {"data": items[(page - 1) * size: page * size]}
        if last > 1:
            body["links"] = links
        headers = {"Link": ", ".join(f'<{u}>; rel="{k}"' for k, u in links.items())} if last > 1 else None
        resp = json_response(body)
        if headers:
            resp.headers.update(headers)
        return resp

    @r.get("/3/footprints/{fid}")
    def get_footprint(fid: str, request: Request) -> Response:
        if bearer(request) is None:
            return json_response(invalid, 400)
        for fp in footprints(node):
            if fp["id"] == fid:
                return json_response({"data": fp})
        return json_response({"code": "NoSuchFootprint", "message": f"Footprint with ID {fid!r} does not exist"}, 404)

    @r.post("/3/events")
    async def post_event(request: Request) -> Response:
        if await run_in_threadpool(bearer, request) is None:  # a signature to check: off the event loop
            return json_response(invalid, 400)
        try:
            ev = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return json_response({"code": "BadRequest", "message": "the event is not JSON"}, 400)
        missing = [k for k in ("specversion", "id", "source", "type", "data") if not isinstance(ev, dict) or k not in ev]
        if missing:
            return json_response({"code": "BadRequest", "message": f"CloudEvent lacks {', '.join(missing)}"}, 400)
        if ev["type"] not in EVENT_TYPES:
            return json_response({"code": "BadRequest", "message": f"unknown event type {ev['type']!r}"}, 400)
        events.append(ev)
        return json_response({"status": "accepted", "message": "Event successfully processed"})

    return r
