"""The Digital Twin Registry under ``/api/v3``, as the Tractus-X DTR serves it (its OpenAPI: IDTA-01002 Part 2
registry and discovery, plus Tractus-X's access-rule management).

Seventeen operations of the registry's document and five of the access-rule API (see
:mod:`batteryloop.passport.twin_registry`, which does the work and names who may do what). Identifiers in
paths are base64url-encoded; lists are paged with ``limit`` and ``cursor``; every error is the Part 2
``Result`` (``{"messages": [{"code", "messageType", "text", "timestamp"}]}``) — a malformed request is a
400 there, never a 422 — except 413 and 429, which the node's limits answer before any route.

The ``Edc-Bpn`` header names the BPN a request is answered for (the consumer a connector forwards for):
honoured from the node admin's token, or when it names the caller itself (:func:`batteryloop.access.registry_subject`).

One implementation for every app that serves the registry: the main API (:func:`install`, on the services'
registry and callers) and the exchange node (:mod:`batteryloop.exchange.app`, which passes its own store's
registry and its own way of knowing the caller — its admin token, participant tokens, or a verifiable
presentation — to :func:`install`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..access import Caller, registry_subject
from ..errors import Forbidden
from ..formats import aas_api
from ..formats.aas_api import BadRequest
from ..passport.twin_registry import PROFILES, DigitalTwinRegistry, access_spec, check, encode_id, spec
from .deps import caller, services
from .openapi import OWN_ERRORS
from .problems import own_error_body

PREFIX = "/api/v3"
JSON = "application/json"
COMPONENT = "Dtr"  # the registry's schemas join the document's components as Dtr<Name>
router = APIRouter(prefix=PREFIX)
EXTRA = {OWN_ERRORS: "IDTA-01002 Part 2 Result"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{COMPONENT}{name}"}


RESULT = {"content": {JSON: {"schema": _ref("Result")}}}
ERRORS: dict[int | str, dict[str, Any]] = {s: {"description": d, **RESULT} for s, d in (
    (400, "Bad request: an identifier is not base64url, a body breaks the registry's schema, a cursor is not ours"),
    (401, "Unauthorized: the bearer token is malformed, unknown, expired or revoked (or is needed here)"),
    (403, "Forbidden: the policy does not let the caller do this (only a shell's owner changes it)"),
    (404, "Not found: no such shell or submodel descriptor (or none the caller may see)"),
    (409, "Conflict: a shell descriptor, submodel descriptor or asset link with this id exists already"))}


def _answers(status: int, schema: dict[str, Any] | None, description: str, *errors: int) -> dict[int | str, Any]:
    ok: dict[str, Any] = {"description": description}
    if schema is not None:
        ok["content"] = {JSON: {"schema": schema}}
    return {status: ok, **{s: ERRORS[s] for s in (400, 401, 403, *errors)}}


def _paged(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["paging_metadata"], "properties": {
        "paging_metadata": {"type": "object", "properties": {"cursor": {"type": "string"}}},
        "result": {"type": "array", "items": item}}}


def _body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {**EXTRA, "requestBody": {"required": True, "description": description,
                                     "content": {JSON: {"schema": schema}}}}


def registry(request: Request) -> DigitalTwinRegistry:
    """The registry of the app serving the request: the one :func:`install` was given, else the services'."""
    own = getattr(request.app.state, "dtr_registry", None)
    return own if own is not None else services(request).twins


def subject(request: Request, edc_bpn: str | None) -> Caller:
    who: Callable[[Request], Caller] = getattr(request.app.state, "dtr_caller", None) or caller
    return registry_subject(who(request), edc_bpn)


async def _as_caller(request: Request, edc_bpn: str | None,
                     fn: Callable[[DigitalTwinRegistry, Caller], Any]) -> Any:
    """Who calls and the registry's answer to them in one worker-thread hop, never on the event loop: knowing
    the caller is blocking work (a token's lookup in the store; on an exchange node, a verifiable
    presentation's signatures, credentials, status lists and DID documents), as the registry's is. The async
    handlers (they read the body first) go through here; the sync ones run in the thread pool already."""
    return await run_in_threadpool(lambda: fn(registry(request), subject(request, edc_bpn)))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("the request body is not JSON") from None


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=JSON, headers=dict(headers or {}))


def _created(data: dict[str, Any], location: str) -> Response:
    return _json(data, 201, {"Location": location})


def error_body(status: int, detail: str, headers: Mapping[str, str]) -> Response:
    """The Part 2 ``Result`` of every error under /api/v3 (a validation error is a 400 there)."""
    status = 400 if status == 422 else status
    if status == 404 and detail == "Not Found":
        detail = ("no registry operation at this path: this node serves the Tractus-X Digital Twin Registry "
                  "under /api/v3 (GET /api/v3/description), e.g. /api/v3/shell-descriptors/{base64url id}")
    return Response(orjson.dumps(aas_api.result(status, detail)), status_code=status, media_type=JSON,
                    headers=dict(headers))


_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str, what: str) -> str:
    """``value`` if it holds only the characters the registry's identifiers may (its schema's pattern)."""
    if _BAD_CHARS.search(value):
        raise BadRequest(f"{what} holds a control character, which the registry's identifiers may not")
    return value


def _id(text: str, what: str) -> str:
    return _text(aas_api.b64url_decode(text, what), what)


class AssetKind(StrEnum):
    INSTANCE = "Instance"
    NOT_APPLICABLE = "NotApplicable"
    ROLE = "Role"
    TYPE = "Type"


EdcBpn = Annotated[str | None, Header(alias="Edc-Bpn", max_length=64,
                                      description="the BPN the request is answered for (the node's connector "
                                                  "forwards a consumer's; a participant may name only itself)")]
Limit = Annotated[int | None, Query(ge=1, description="the most entries on one page (at most 1000)")]
Cursor = Annotated[str | None, Query(max_length=2000, description="paging_metadata.cursor of the previous page")]
CreatedAfter = Annotated[str | None, Query(alias="createdAfter", max_length=40,
                                           description="only shells created after this RFC 3339 time")]


# ============================================================================ shell descriptors
@router.get("/shell-descriptors", tags=["digital twin registry"], summary="All shell descriptors the caller may see",
            operation_id="GetAllAssetAdministrationShellDescriptors", openapi_extra=EXTRA,
            responses=_answers(200, _paged(_ref("AssetAdministrationShellDescriptor")), "One page of descriptors"))
def get_all_shells(request: Request, limit: Limit = None, cursor: Cursor = None,
                   asset_kind: Annotated[AssetKind | None, Query(alias="assetKind")] = None,
                   asset_type: Annotated[str | None, Query(alias="assetType", max_length=2800,
                                                           description="the asset type, base64url-encoded")] = None,
                   created_after: CreatedAfter = None, edc_bpn: EdcBpn = None) -> Response:
    page = registry(request).list_shells(subject(request, edc_bpn), limit=limit, cursor=cursor,
                                         asset_kind=asset_kind.value if asset_kind else None,
                                         asset_type=asset_type, created_after=created_after)
    return _json(page.json())


@router.post("/shell-descriptors", tags=["digital twin registry"], summary="Register a shell descriptor",
             operation_id="PostAssetAdministrationShellDescriptor", status_code=201,
             openapi_extra=_body(_ref("AssetAdministrationShellDescriptor"), "the shell descriptor"),
             responses=_answers(201, _ref("AssetAdministrationShellDescriptor"), "Registered", 409))
async def post_shell(request: Request, edc_bpn: EdcBpn = None) -> Response:
    body = await _json_body(request)
    d = await _as_caller(request, edc_bpn, lambda reg, c: reg.create_shell(c, body))
    return _created(d, f"{PREFIX}/shell-descriptors/{encode_id(d['id'])}")


@router.get("/shell-descriptors/{aasIdentifier}", tags=["digital twin registry"], summary="One shell descriptor",
            operation_id="GetAssetAdministrationShellDescriptorById", openapi_extra=EXTRA,
            responses=_answers(200, _ref("AssetAdministrationShellDescriptor"), "The descriptor", 404))
def get_shell(request: Request, aasIdentifier: str, edc_bpn: EdcBpn = None) -> Response:  # noqa: N803
    return _json(registry(request).get_shell(subject(request, edc_bpn), _id(aasIdentifier, "aasIdentifier")))


@router.put("/shell-descriptors/{aasIdentifier}", tags=["digital twin registry"],
            summary="Replace a shell descriptor (or register it)", operation_id="PutAssetAdministrationShellDescriptorById",
            status_code=204, openapi_extra=_body(_ref("AssetAdministrationShellDescriptor"), "the shell descriptor"),
            responses={**_answers(204, None, "Replaced", 404, 409),
                       201: {"description": "Registered", "content": {JSON: {"schema": _ref(
                           "AssetAdministrationShellDescriptor")}}}})
async def put_shell(request: Request, aasIdentifier: str, edc_bpn: EdcBpn = None) -> Response:  # noqa: N803
    sid = _id(aasIdentifier, "aasIdentifier")
    body = await _json_body(request)
    d = await _as_caller(request, edc_bpn, lambda reg, c: reg.put_shell(c, sid, body))
    return Response(status_code=204) if d is None else _created(d, f"{PREFIX}/shell-descriptors/{encode_id(sid)}")


@router.delete("/shell-descriptors/{aasIdentifier}", tags=["digital twin registry"],
               summary="Deregister a shell descriptor", operation_id="DeleteAssetAdministrationShellDescriptorById",
               status_code=204, openapi_extra=EXTRA, responses=_answers(204, None, "Deregistered", 404))
def delete_shell(request: Request, aasIdentifier: str, edc_bpn: EdcBpn = None) -> Response:  # noqa: N803
    registry(request).delete_shell(subject(request, edc_bpn), _id(aasIdentifier, "aasIdentifier"))
    return Response(status_code=204)


# ============================================================================ submodel descriptors
SM = "/shell-descriptors/{aasIdentifier}/submodel-descriptors"


@router.get(SM, tags=["digital twin registry"], summary="The shell's submodel descriptors the caller may see",
            operation_id="GetAllSubmodelDescriptorsThroughSuperpath", openapi_extra=EXTRA,
            responses=_answers(200, _paged(_ref("SubmodelDescriptor")), "One page of submodel descriptors", 404))
def get_all_submodels(request: Request, aasIdentifier: str, limit: Limit = None,  # noqa: N803
                      cursor: Cursor = None, edc_bpn: EdcBpn = None) -> Response:
    page = registry(request).list_submodels(subject(request, edc_bpn), _id(aasIdentifier, "aasIdentifier"),
                                            limit=limit, cursor=cursor)
    return _json(page.json())


@router.post(SM, tags=["digital twin registry"], summary="Register a submodel descriptor",
             operation_id="PostSubmodelDescriptor-ThroughSuperpath", status_code=201,
             openapi_extra=_body(_ref("SubmodelDescriptor"), "the submodel descriptor"),
             responses=_answers(201, _ref("SubmodelDescriptor"), "Registered", 404, 409))
async def post_submodel(request: Request, aasIdentifier: str, edc_bpn: EdcBpn = None) -> Response:  # noqa: N803
    sid = _id(aasIdentifier, "aasIdentifier")
    body = await _json_body(request)
    sm = await _as_caller(request, edc_bpn, lambda reg, c: reg.create_submodel(c, sid, body))
    return _created(sm, f"{PREFIX}/shell-descriptors/{aasIdentifier}/submodel-descriptors/{encode_id(sm['id'])}")


@router.get(SM + "/{submodelIdentifier}", tags=["digital twin registry"], summary="One submodel descriptor",
            operation_id="GetSubmodelDescriptorByIdThroughSuperpath", openapi_extra=EXTRA,
            responses=_answers(200, _ref("SubmodelDescriptor"), "The submodel descriptor", 404))
def get_submodel(request: Request, aasIdentifier: str, submodelIdentifier: str,  # noqa: N803
                 edc_bpn: EdcBpn = None) -> Response:
    return _json(registry(request).get_submodel(subject(request, edc_bpn), _id(aasIdentifier, "aasIdentifier"),
                                                _id(submodelIdentifier, "submodelIdentifier")))


@router.put(SM + "/{submodelIdentifier}", tags=["digital twin registry"],
            summary="Replace a submodel descriptor (or register it)",
            operation_id="PutSubmodelDescriptorByIdThroughSuperpath", status_code=204,
            openapi_extra=_body(_ref("SubmodelDescriptor"), "the submodel descriptor"),
            responses={**_answers(204, None, "Replaced", 404),
                       201: {"description": "Registered", "content": {JSON: {"schema": _ref("SubmodelDescriptor")}}}})
async def put_submodel(request: Request, aasIdentifier: str, submodelIdentifier: str,  # noqa: N803
                       edc_bpn: EdcBpn = None) -> Response:
    sid, smid = _id(aasIdentifier, "aasIdentifier"), _id(submodelIdentifier, "submodelIdentifier")
    body = await _json_body(request)
    sm = await _as_caller(request, edc_bpn, lambda reg, c: reg.put_submodel(c, sid, smid, body))
    if sm is None:
        return Response(status_code=204)
    return _created(sm, f"{PREFIX}/shell-descriptors/{aasIdentifier}/submodel-descriptors/{submodelIdentifier}")


@router.delete(SM + "/{submodelIdentifier}", tags=["digital twin registry"], summary="Deregister a submodel descriptor",
               operation_id="DeleteSubmodelDescriptorByIdThroughSuperpath", status_code=204, openapi_extra=EXTRA,
               responses=_answers(204, None, "Deregistered", 404))
def delete_submodel(request: Request, aasIdentifier: str, submodelIdentifier: str,  # noqa: N803
                    edc_bpn: EdcBpn = None) -> Response:
    registry(request).delete_submodel(subject(request, edc_bpn), _id(aasIdentifier, "aasIdentifier"),
                                      _id(submodelIdentifier, "submodelIdentifier"))
    return Response(status_code=204)


# ============================================================================ description
@router.get("/description", tags=["digital twin registry"], summary="The profiles this registry serves",
            operation_id="GetSelfDescription", openapi_extra=EXTRA,
            responses=_answers(200, _ref("ServiceDescription"), "The profiles"))
def description() -> Response:
    return _json({"profiles": list(PROFILES)})


# ============================================================================ discovery
@router.get("/lookup/shells", tags=["digital twin registry discovery"],
            summary="Ids of the shells carrying every asset id given (that the caller may see)",
            operation_id="GetAllAssetAdministrationShellIdsByAssetLink", openapi_extra=EXTRA,
            responses=_answers(200, _paged({"type": "string"}), "One page of shell ids"))
def lookup(request: Request,
           asset_ids: Annotated[list[str] | None, Query(alias="assetIds", description=(
               'base64url-encoded SpecificAssetId JSON objects ({"name": …, "value": …}); "globalAssetId" for the '
               "global asset id"))] = None,
           limit: Limit = None, cursor: Cursor = None, created_after: CreatedAfter = None,
           edc_bpn: EdcBpn = None) -> Response:
    pairs = [(_text(k, "assetIds"), _text(v, "assetIds")) for k, v in aas_api.decode_asset_ids(asset_ids or [])]
    page = registry(request).lookup(subject(request, edc_bpn), pairs, limit=limit, cursor=cursor,
                                    created_after=created_after)
    return _json(page.json())


@router.post("/lookup/shellsByAssetLink", tags=["digital twin registry discovery"],
             summary="Ids of the shells carrying every asset link given (that the caller may see)",
             operation_id="SearchAllAssetAdministrationShellIdsByAssetLink",
             openapi_extra=_body({"type": "array", "maxItems": 10000, "items": _ref("AssetLink")},
                                 "asset links: name and value (name globalAssetId for the global asset id)"),
             responses=_answers(200, _paged({"type": "string"}), "One page of shell ids"))
async def lookup_by_asset_link(request: Request, limit: Limit = None, cursor: Cursor = None,
                               edc_bpn: EdcBpn = None) -> Response:
    body = await _json_body(request)
    check("AssetLinks", body, "list of asset links")
    bad = [i for i, link in enumerate(body) if not isinstance(link, dict) or "name" not in link or "value" not in link]
    if bad:
        raise BadRequest(f"[{bad[0]}]: an asset link is an object with a name and a value")
    pairs = [(link["name"], link["value"]) for link in body]
    page = await _as_caller(request, edc_bpn, lambda reg, c: reg.lookup(c, pairs, limit=limit, cursor=cursor))
    return _json(page.json())


@router.get("/lookup/shells/{aasIdentifier}", tags=["digital twin registry discovery"],
            summary="The shell's specificAssetIds the caller may see", operation_id="GetAllAssetLinksById",
            openapi_extra=EXTRA,
            responses=_answers(200, {"type": "array", "items": _ref("SpecificAssetId")}, "The asset ids", 404))
def get_asset_links(request: Request, aasIdentifier: str, edc_bpn: EdcBpn = None) -> Response:  # noqa: N803
    return _json(registry(request).asset_links(subject(request, edc_bpn), _id(aasIdentifier, "aasIdentifier")))


@router.post("/lookup/shells/{aasIdentifier}", tags=["digital twin registry discovery"],
             summary="Add specificAssetIds to a shell", operation_id="PostAllAssetLinksById", status_code=201,
             openapi_extra=_body({"type": "array", "items": _ref("SpecificAssetId")}, "the specificAssetIds to add"),
             responses=_answers(201, {"type": "array", "items": _ref("SpecificAssetId")}, "Added", 404, 409))
async def post_asset_links(request: Request, aasIdentifier: str, edc_bpn: EdcBpn = None) -> Response:  # noqa: N803
    sid = _id(aasIdentifier, "aasIdentifier")
    body = await _json_body(request)
    out = await _as_caller(request, edc_bpn, lambda reg, c: reg.add_asset_links(c, sid, body))
    return _json(out, 201)


@router.delete("/lookup/shells/{aasIdentifier}", tags=["digital twin registry discovery"],
               summary="Remove every specificAssetId of a shell (its global asset id stays)",
               operation_id="DeleteAllAssetLinksById", status_code=204, openapi_extra=EXTRA,
               responses=_answers(204, None, "Removed", 404))
def delete_asset_links(request: Request, aasIdentifier: str, edc_bpn: EdcBpn = None) -> Response:  # noqa: N803
    registry(request).delete_asset_links(subject(request, edc_bpn), _id(aasIdentifier, "aasIdentifier"))
    return Response(status_code=204)


@router.post("/submodel-descriptor/authorized", tags=["digital twin registry"],
             summary="Whether the caller may call a submodel endpoint (the data plane's check)",
             operation_id="PostSubmodelDescriptorAuthorized",
             openapi_extra=_body(_ref("SubmodelEndpointAuthorization"), "the submodel endpoint URL requested"),
             responses=_answers(200, None, "The caller may call it"))
async def submodel_authorized(request: Request, edc_bpn: EdcBpn = None) -> Response:
    body = await _json_body(request)
    c, ok = await _as_caller(request, edc_bpn, lambda reg, c: (c, reg.authorized(c, body)))
    if not ok:
        raise Forbidden(f"no submodel descriptor visible to {c.participant_id or 'an anonymous caller'} has an "
                        f"endpoint for {str(body.get('submodelEndpointUrl'))[:200]!r}")
    return Response(status_code=200)


# ============================================================================ access rules
RULES = "/access-controls/rules"


def _rule_schema(name: str) -> dict[str, str]:
    return _ref("Access" + name)


@router.get(RULES, tags=["digital twin registry access rules"], summary="The caller's access rules",
            operation_id="GetAllAccessRules", openapi_extra=EXTRA,
            responses=_answers(200, {"type": "object", "required": ["items"], "properties": {
                "items": {"type": "array", "items": _rule_schema("ReadUpdateAccessRule")}}}, "The rules"))
def get_rules(request: Request, edc_bpn: EdcBpn = None) -> Response:
    return _json({"items": registry(request).list_rules(subject(request, edc_bpn))})


@router.post(RULES, tags=["digital twin registry access rules"], summary="Create an access rule for one's shells",
             operation_id="CreateNewAccessRule", status_code=201,
             openapi_extra=_body(_rule_schema("CreateAccessRule"), "the rule"),
             responses=_answers(201, _rule_schema("ReadUpdateAccessRule"), "Created"))
async def post_rule(request: Request, edc_bpn: EdcBpn = None) -> Response:
    body = await _json_body(request)
    r = await _as_caller(request, edc_bpn, lambda reg, c: reg.create_rule(c, body))
    return _json(r, 201)


@router.get(RULES + "/{ruleId}", tags=["digital twin registry access rules"], summary="One of the caller's rules",
            operation_id="GetAccessRuleByRuleId", openapi_extra=EXTRA,
            responses=_answers(200, _rule_schema("ReadUpdateAccessRule"), "The rule", 404))
def get_rule(request: Request, ruleId: int, edc_bpn: EdcBpn = None) -> Response:  # noqa: N803
    return _json(registry(request).get_rule(subject(request, edc_bpn), ruleId))


@router.put(RULES + "/{ruleId}", tags=["digital twin registry access rules"], summary="Replace one of the caller's rules",
            operation_id="UpdateAccessRuleByRuleId",
            openapi_extra=_body(_rule_schema("ReadUpdateAccessRule"), "the rule"),
            responses=_answers(200, _rule_schema("ReadUpdateAccessRule"), "Replaced", 404))
async def put_rule(request: Request, ruleId: int, edc_bpn: EdcBpn = None) -> Response:  # noqa: N803
    body = await _json_body(request)
    return _json(await _as_caller(request, edc_bpn, lambda reg, c: reg.put_rule(c, ruleId, body)))


@router.delete(RULES + "/{ruleId}", tags=["digital twin registry access rules"],
               summary="Delete one of the caller's rules", operation_id="DeleteAccessRuleByRuleId", status_code=204,
               openapi_extra=EXTRA, responses=_answers(204, None, "Deleted", 404))
def delete_rule(request: Request, ruleId: int, edc_bpn: EdcBpn = None) -> Response:  # noqa: N803
    registry(request).delete_rule(subject(request, edc_bpn), ruleId)
    return Response(status_code=204)


# ============================================================================ installation
def components() -> dict[str, Any]:
    """The registry's and the access-rule API's schemas, renamed ``Dtr<Name>`` / ``DtrAccess<Name>``, for the
    node's OpenAPI document."""
    def rename(node: Any, prefix: str, root: str) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "$ref" and isinstance(v, str) and v.startswith(root):
                    out[k] = f"#/components/schemas/{prefix}{v[len(root):]}"
                elif k in ("example", "examples"):
                    continue
                else:
                    out[k] = rename(v, prefix, root)
            return out
        if isinstance(node, list):
            return [rename(v, prefix, root) for v in node]
        return node

    out = {COMPONENT + k: rename(v, COMPONENT, "#/components/schemas/") for k, v in spec()["components"]["schemas"].items()}
    out.update({COMPONENT + "Access" + k: rename(v, COMPONENT + "Access", "#/schemas/")
                for k, v in access_spec()["schemas"].items()})
    return out


def install(app: FastAPI, *, twins: DigitalTwinRegistry | None = None,
            caller_of: Callable[[Request], Caller] | None = None) -> None:
    """The registry's routes under /api/v3, the Part 2 Result as the error answer of every path there, and
    its schemas in the OpenAPI document. ``twins`` and ``caller_of`` (the registry and the caller of a
    request) default to the app's services' (:func:`batteryloop.api.deps.caller`); the exchange node gives
    its own."""
    if twins is not None:
        app.state.dtr_registry = twins
    if caller_of is not None:
        app.state.dtr_caller = caller_of
    own_error_body(app, PREFIX, error_body)
    extra = getattr(app.state, "openapi_components", None) or {}
    extra.update(components())
    app.state.openapi_components = extra
    app.include_router(router)
