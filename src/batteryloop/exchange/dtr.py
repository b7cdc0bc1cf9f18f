"""A Digital Twin Registry subset (AAS Part 2 registry API, Catena-X visibility rules).

Shell descriptors describe a battery's twin: its ``specificAssetIds`` (manufacturer id, part instance
id, passport id …) and submodel descriptors pointing at DSP datasets. Each ``specificAssetId`` is
visible only to the shell's owner and to the BPNs named in its ``externalSubjectId`` (``PUBLIC_READABLE``
for everyone); one without ``externalSubjectId`` is the owner's alone. A lookup by asset ids
(``GET /api/v3/lookup/shells?assetIds=<base64url JSON>``) finds a shell only if every queried id is among
those the caller may see — which is why a lookup can come back empty although the shell exists.
:meth:`Registry.explain` tells the owner, for one BPN and one query, exactly which id blocked which shell.

Descriptors are kept as JSON documents (kind ``dtr.shell``) in the node's ``exchange_ouranos`` table.
"""

from __future__ import annotations

import base64
import hmac
import uuid
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..passport.identifiers import global_asset_id
from ..responses import json_response
from .errors import CredentialError, ExchangeError

PUBLIC = "PUBLIC_READABLE"


def b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def unb64url(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def readers(sa: dict[str, Any]) -> set[str] | None:
    """BPNs that may see a specificAssetId (``None`` = everyone; empty = the owner only)."""
    ext = sa.get("externalSubjectId") or {}
    keys = {k.get("value") for k in ext.get("keys", []) if isinstance(k, dict)}
    if PUBLIC in keys:
        return None
    return {k for k in keys if isinstance(k, str)}


def visible(sa: dict[str, Any], bpn: str | None, owner: str) -> bool:
    if bpn == owner:
        return True
    r = readers(sa)
    return r is None or (bpn is not None and bpn in r)


class Registry:
    def __init__(self, node: Any) -> None:
        self.node = node
        self.owner = node.config.participant_id

    def put(self, descriptor: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(descriptor.get("id"), str) or not descriptor["id"]:
            raise ExchangeError("invalid_descriptor", "shell descriptor needs an 'id'")
        for i, sa in enumerate(descriptor.get("specificAssetIds", [])):
            if not isinstance(sa, dict) or not sa.get("name") or "value" not in sa:
                raise ExchangeError("invalid_descriptor", f"specificAssetIds[{i}] needs 'name' and 'value'")
        self.node.ouranos._put("dtr.shell", descriptor["id"], self.owner, descriptor)
        return descriptor

    def _all(self) -> list[dict[str, Any]]:
        return [b for _, b in self.node.ouranos._all("dtr.shell")]

    def view(self, shell_id: str, bpn: str | None) -> dict[str, Any] | None:
        got = self.node.ouranos._get("dtr.shell", shell_id)
        if got is None:
            return None
        d = dict(got[1])
        seen = [sa for sa in d.get("specificAssetIds", []) if visible(sa, bpn, self.owner)]
        if bpn != self.owner and not seen:
            return None
        d["specificAssetIds"] = [{k: v for k, v in sa.items() if k != "externalSubjectId" or bpn == self.owner}
                                 for sa in seen]
        return d

    def lookup(self, query: list[dict[str, Any]], bpn: str | None) -> list[str]:
        out = []
        for d in self._all():
            vis = {(sa["name"], sa["value"]) for sa in d.get("specificAssetIds", []) if visible(sa, bpn, self.owner)}
            if query and all((q.get("name"), q.get("value")) in vis for q in query):
                out.append(d["id"])
        return out

    def explain(self, query: list[dict[str, Any]], bpn: str) -> list[dict[str, Any]]:
        """For the owner: why ``bpn``'s lookup finds (or misses) each shell carrying the queried ids."""
        out = []
        for d in self._all():
            ids = {(sa["name"], sa["value"]): sa for sa in d.get("specificAssetIds", [])}
            if not all((q.get("name"), q.get("value")) in ids for q in query):
                continue
            blocked = []
            for q in query:
                sa = ids[(q["name"], q["value"])]
                if not visible(sa, bpn, self.owner):
                    r = readers(sa)
                    who = "only the owner" if not r else "only " + ", ".join(sorted(r))
                    blocked.append(f"specificAssetId {q['name']}={q['value']} is visible to {who}, not to {bpn}")
            out.append({"shell": d["id"], "found": not blocked,
                        "reasons": blocked or [f"all queried ids are visible to {bpn}"]})
        if not out:
            out.append({"shell": None, "found": False,
                        "reasons": ["no shell carries all the queried specificAssetIds (visibility aside)"]})
        return out


def passport_shell(passport_id: str, *, manufacturer_id: str, serial: str, dataset_id: str, dsp_url: str,
                   visible_to: list[str]) -> dict[str, Any]:
    """A shell descriptor for one battery passport, whose submodel is served as a DSP dataset."""
    ext = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": v} for v in visible_to]}
    return {
        "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, passport_id)}",
        "idShort": f"battery_{serial}"[:128], "globalAssetId": global_asset_id(passport_id),
        "specificAssetIds": [
            {"name": "manufacturerId", "value": manufacturer_id,
             "externalSubjectId": {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": PUBLIC}]}},
            {"name": "partInstanceId", "value": serial, "externalSubjectId": ext},
            {"name": "batteryPassportId", "value": passport_id, "externalSubjectId": ext},
        ],
        "submodelDescriptors": [{
            "id": f"{passport_id}#batterypass", "idShort": "BatteryPass",
            "semanticId": {"type": "ExternalReference", "keys": [
                {"type": "GlobalReference", "value": "urn:samm:io.catenax.battery.battery_pass:6.1.0#BatteryPass"}]},
            "endpoints": [{"interface": "SUBMODEL-3.0", "protocolInformation": {
                "href": f"{dsp_url.rsplit('/dsp', 1)[0]}/data", "endpointProtocol": "HTTP",
                "subprotocol": "DSP", "subprotocolBody": f"id={dataset_id};dspEndpoint={dsp_url}",
                "subprotocolBodyEncoding": "plain"}}]}],
    }


def dtr_router(node: Any) -> APIRouter:
    reg = Registry(node)
    node.dtr = reg
    r = APIRouter(prefix="/api/v3", tags=["digital twin registry"])

    def caller(request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        if node.config.admin_token and hmac.compare_digest(auth.encode(), f"Bearer {node.config.admin_token}".encode()):
            return reg.owner
        claims = node.authenticate(auth)
        return claims.participant_id

    def query(request: Request) -> list[dict[str, Any]]:
        try:
            return [orjson.loads(unb64url(a)) for a in request.query_params.getlist("assetIds")]
        except (ValueError, orjson.JSONDecodeError):
            raise ExchangeError("invalid_query", "assetIds must be base64url-encoded JSON SpecificAssetIds") from None

    @r.post("/shell-descriptors")
    async def post_shell(request: Request) -> Response:
        if caller(request) != reg.owner:
            raise CredentialError("unauthorized", "only the registry's owner registers shell descriptors")
        return json_response(reg.put(orjson.loads(await request.body())), 201)

    @r.get("/shell-descriptors/{b64id}")
    def get_shell(b64id: str, request: Request) -> Response:
        d = reg.view(unb64url(b64id), caller(request))
        if d is None:
            return json_response({"messages": [{"messageType": "Error", "text": "shell not found"}]}, 404)
        return json_response(d)

    @r.get("/lookup/shells")
    def lookup(request: Request) -> Response:
        return json_response({"paging_metadata": {}, "result": reg.lookup(query(request), caller(request))})

    @r.get("/lookup/explain")
    def explain(request: Request) -> Response:
        if caller(request) != reg.owner:
            raise CredentialError("unauthorized", "only the registry's owner can see why a lookup is empty")
        bpn = request.query_params.get("bpn", "")
        return json_response(reg.explain(query(request), bpn))

    return r
