"""The AAS API (IDTA-01002 Part 2 v3.0) under ``/aas``: every passport as a shell with its IDTA 02035 submodels.

Two service profiles, both the read profile SSP-002 (what the official test engine checks):
``AssetAdministrationShellRepositoryServiceSpecification`` and ``SubmodelRepositoryServiceSpecification``.
Identifiers in paths and in the ``aasIds``/``submodelIds``/``assetIds``/``semanticId`` queries are
base64url-encoded; lists are paged with ``limit`` and an opaque ``cursor``; errors are the Part 2
``Result`` (``{"messages": [{"code", "messageType", "text", "timestamp"}]}``), never a problem document —
except 413 and 429, which the node's limits answer before any route (those stay problem documents).

Every read is cut to the caller as the passport API cuts it (:mod:`batteryloop.passport.aas_repository`
reads through ``PassportService.get_view``, whose tiers come from :mod:`batteryloop.access`). The read
profile has no writes: POST, PUT, PATCH and DELETE are answered 405 with the methods allowed; a
passport changes through the passport API, which versions and hash-chains it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

import inspect

import anyio
import orjson
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import Response
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.routing import Mount, Route

from ..access import Caller
from ..errors import NotFound
from ..formats import aas_api
from ..formats.aas_api import BadRequest, Extent, Level
from ..passport.aas_repository import AasRepository, Environment
from .deps import caller, services
from .openapi import OWN_ERRORS
from .problems import own_error_body

PREFIX = "/aas"
JSON = "application/json"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
#: GET /serialization without ids writes every passport of the node; past this many it asks for ids
SERIALIZATION_MAX = 200

RESULT_SCHEMA: dict[str, Any] = {
    "type": "object", "title": "Result", "required": ["messages"],
    "description": "IDTA-01002 Part 2 error body",
    "properties": {"messages": {"type": "array", "items": {
        "type": "object", "properties": {
            "code": {"type": "string"}, "messageType": {"enum": ["Undefined", "Info", "Warning", "Error", "Exception"]},
            "text": {"type": "string"}, "timestamp": {"type": "string"}, "correlationId": {"type": "string"}}}}},
}
ERRORS = {str(s): {"description": d, "content": {JSON: {"schema": RESULT_SCHEMA}}} for s, d in (
    (400, "Bad request: an identifier is not base64url, a cursor not one this server issued, a parameter invalid"),
    (401, "Unauthorized: the bearer token is malformed, unknown, expired or revoked"),
    (403, "Forbidden"),
    (404, "Not found: no such shell, submodel or element (or none the caller may read)"),
    (405, "Method not allowed: this node serves the read profile (SSP-002)"))}
OBJECT = {"type": "object"}
PAGED = {"type": "object", "required": ["paging_metadata", "result"], "properties": {
    "paging_metadata": {"type": "object", "properties": {"cursor": {"type": "string"}}},
    "result": {"type": "array"}}}


def _doc(schema: dict[str, Any]) -> dict[Any, Any]:
    return {200: {"description": "OK", "content": {JSON: {"schema": schema}}}, **ERRORS}


#: every operation documents its own errors (Part 2 Result); openapi.complete adds only 413 and 429
EXTRA = {OWN_ERRORS: "IDTA-01002 Part 2 Result"}
#: the operations, without the /aas prefix: mounted at /aas ahead of the other routes (see :func:`install`)
router = APIRouter(tags=["aas"])


def repo(request: Request) -> AasRepository:
    return services(request).aas


def _json(data: Any) -> Response:
    return Response(data if isinstance(data, bytes) else orjson.dumps(data), media_type=JSON)


def error_body(status: int, detail: str, headers: Mapping[str, str]) -> Response:
    """A Part 2 ``Result``: the error shape of everything under /aas (a validation error is a 400 there)."""
    status = 400 if status == 422 else status
    if status == 404 and detail == "Not Found":  # no route: say what is served
        detail = ("no AAS operation at this path: this node serves the AAS and submodel repositories' read "
                  "profile (GET /aas/description), e.g. /aas/shells, /aas/submodels/{base64url id}")
    if status == 405:
        detail = (f"{detail}: this node serves the AAS read profile (SSP-002), GET only; a passport changes through "
                  "/api/v1/passports, which versions it")
    return Response(orjson.dumps(aas_api.result(status, detail)), status_code=status, media_type=JSON,
                    headers=dict(headers))


# ============================================================================ queries
LimitQ = Annotated[int | None, Query(ge=1, description="the most entries on one page (at most 500)")]
CursorQ = Annotated[str | None, Query(max_length=2000, description="paging_metadata.cursor of the previous page")]
LevelQ = Annotated[Level | None, Query(description="deep (default) or core: the direct children only")]
ExtentQ = Annotated[Extent | None, Query(description="withoutBlobValue (default) or withBlobValue")]


def _lv(level: Level | None) -> Level:
    return level or Level.DEEP


def _ex(extent: Extent | None) -> Extent:
    return extent or Extent.WITHOUT_BLOB_VALUE


async def _threaded(fn: Callable[[], Any]) -> Any:
    return await anyio.to_thread.run_sync(fn)


# ============================================================================ service description
@router.get("/description", summary="The service profiles this node serves",
            responses=_doc(OBJECT), openapi_extra=EXTRA)
async def description() -> Response:
    return _json({"profiles": list(aas_api.PROFILES)})


# ============================================================================ shells
def _shells_page(request: Request, c: Caller, id_short: str | None, asset_ids: list[str] | None,
                 limit: int | None, cursor: str | None) -> tuple[list[Environment], str | None]:
    pairs = aas_api.decode_asset_ids(asset_ids or [])
    n = aas_api.check_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
    after = aas_api.decode_cursor(cursor, "shells", 1)
    envs, last = repo(request).shells(c, id_short=id_short, asset_ids=pairs, after=after[0] if after else None,
                                      limit=n)
    return envs, aas_api.encode_cursor("shells", last) if last else None


AssetIdsQ = Annotated[list[str] | None, Query(alias="assetIds", description=(
    'base64url-encoded SpecificAssetId JSON objects ({"name": "globalAssetId" or "partInstanceId" …, "value": …}); '
    "a shell must have all"))]
IdShortQ = Annotated[str | None, Query(alias="idShort", max_length=128)]


@router.get("/shells", summary="All shells (paged; filter by idShort and asset ids)",
            responses=_doc(PAGED), openapi_extra=EXTRA)
async def get_all_shells(request: Request, id_short: IdShortQ = None, asset_ids: AssetIdsQ = None,
                         limit: LimitQ = None, cursor: CursorQ = None) -> Response:
    c = caller(request)
    envs, nxt = await _threaded(lambda: _shells_page(request, c, id_short, asset_ids, limit, cursor))
    return _json(aas_api.paged([e.shell_json for e in envs], nxt))


@router.get("/shells/$reference", summary="References to all shells (paged)",
            responses=_doc(PAGED), openapi_extra=EXTRA)
async def get_all_shell_references(request: Request, id_short: IdShortQ = None, asset_ids: AssetIdsQ = None,
                                   limit: LimitQ = None, cursor: CursorQ = None) -> Response:
    c = caller(request)
    envs, nxt = await _threaded(lambda: _shells_page(request, c, id_short, asset_ids, limit, cursor))
    return _json(aas_api.paged([_shell_ref(e) for e in envs], nxt))


def _shell_ref(env: Environment) -> dict[str, Any]:
    return {"type": "ModelReference", "keys": [{"type": "AssetAdministrationShell", "value": env.shell.id}]}


def _shell(request: Request, aas_identifier: str) -> Environment:
    return repo(request).shell(aas_api.b64url_decode(aas_identifier, "aasIdentifier"), caller(request))


@router.get("/shells/{aasIdentifier}", summary="One shell",
            responses=_doc(OBJECT), openapi_extra=EXTRA)
async def get_shell(request: Request, aasIdentifier: str) -> Response:  # noqa: N803 - Part 2's name
    return _json(_shell(request, aasIdentifier).shell_json)


@router.get("/shells/{aasIdentifier}/$reference", summary="A reference to one shell",
            responses=_doc(OBJECT), openapi_extra=EXTRA)
async def get_shell_reference(request: Request, aasIdentifier: str) -> Response:  # noqa: N803
    return _json(_shell_ref(_shell(request, aasIdentifier)))


@router.get("/shells/{aasIdentifier}/asset-information", summary="The shell's asset information",
            responses=_doc(OBJECT), openapi_extra=EXTRA)
async def get_asset_information(request: Request, aasIdentifier: str) -> Response:  # noqa: N803
    return _json(_shell(request, aasIdentifier).shell_json["assetInformation"])


@router.get("/shells/{aasIdentifier}/asset-information/thumbnail", summary="The asset's thumbnail (none here)",
            responses=ERRORS, openapi_extra=EXTRA)
async def get_thumbnail(request: Request, aasIdentifier: str) -> Response:  # noqa: N803
    env = _shell(request, aasIdentifier)
    raise NotFound(f"shell {env.shell.id!r} has no thumbnail")


@router.get("/shells/{aasIdentifier}/submodel-refs", summary="References to the shell's submodels (paged)",
            responses=_doc(PAGED), openapi_extra=EXTRA)
async def get_submodel_references(request: Request, aasIdentifier: str,  # noqa: N803
                                  limit: LimitQ = None, cursor: CursorQ = None) -> Response:
    env = _shell(request, aasIdentifier)
    n = aas_api.check_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
    refs = env.shell_json.get("submodels", [])
    start = _offset(cursor, len(refs))
    page = refs[start:start + n]
    return _json(aas_api.paged(page, aas_api.encode_cursor("offset", start + n) if start + n < len(refs) else None))


def _offset(cursor: str | None, size: int) -> int:
    fields = aas_api.decode_cursor(cursor, "offset", 1)
    if fields is None:
        return 0
    if not fields[0].isdigit() or int(fields[0]) > size:
        raise BadRequest(f"cursor {cursor!r} is not one this server issued for this list")
    return int(fields[0])


# ============================================================================ submodels
SemanticIdQ = Annotated[str | None, Query(alias="semanticId", description="base64url-encoded semantic id")]


def _submodels_page(request: Request, c: Caller, semantic_id: str | None, id_short: str | None,
                    limit: int | None, cursor: str | None) -> tuple[list[tuple[Environment, str]], str | None]:
    sem = aas_api.decode_semantic_id(semantic_id) if semantic_id is not None else None
    n = aas_api.check_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
    after = aas_api.decode_cursor(cursor, "submodels", 2)
    items, last = repo(request).submodels(c, semantic_id=sem, id_short=id_short,
                                          after=(after[0], after[1]) if after else None, limit=n)
    return items, aas_api.encode_cursor("submodels", *last) if last else None


def _paths_page(request: Request, c: Caller, semantic_id: str | None, id_short: str | None, level: Level,
                limit: int | None, cursor: str | None) -> bytes:
    """``/submodels/$path``: the idShortPaths of every submodel in one list, paged by path (the cursor names
    the submodel and the index of its next path)."""
    sem = aas_api.decode_semantic_id(semantic_id) if semantic_id is not None else None
    n = aas_api.check_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
    at = aas_api.decode_cursor(cursor, "paths", 3)
    if at is not None and not at[2].isdigit():
        raise BadRequest(f"cursor {cursor!r} is not one this server issued for this list")
    skip = int(at[2]) if at else 0
    out: list[str] = []
    items = repo(request).iter_submodels(c, semantic_id=sem, id_short=id_short,
                                         after=(at[0], at[1]) if at else None, inclusive=True)
    for env, part in items:
        paths = _submodel_form(env, part, "path", level, Extent.WITHOUT_BLOB_VALUE)
        for k in range(skip, len(paths)):
            if len(out) == n:
                return orjson.dumps(aas_api.paged(out, aas_api.encode_cursor("paths", env.passport_id, part, k)))
            out.append(paths[k])
        skip = 0
    return orjson.dumps(aas_api.paged(out, None))


def _submodel_form(env: Environment, part: str, form: str, level: Level, extent: Extent) -> Any:
    """A submodel as JSON in one of the Part 2 forms (``normal``, ``metadata``, ``value``, ``reference``, ``path``)."""

    def make() -> Any:
        sm = env.submodel(part)
        if form == "value":
            return aas_api.value_only(sm, level=level, extent=extent)
        if form == "reference":
            return aas_api.reference(sm)
        if form == "path":
            return aas_api.id_short_paths(sm, level=level)
        full = env.form((part, "normal", Level.DEEP, Extent.WITHOUT_BLOB_VALUE), lambda: aas_api.to_json(sm))
        if form == "metadata":
            return aas_api.metadata(full)
        return full if level is Level.DEEP and extent is Extent.WITHOUT_BLOB_VALUE else aas_api.cut(
            full, level=level, extent=extent)

    return env.form((part, form, level, extent), make)


async def _submodel_answer(request: Request, ids: tuple[str, str | None], form: str, level: Level | None,
                           extent: Extent | None) -> Response:
    env, part = _locate(request, *ids)
    if part not in env.submodels:  # first use: build it off the event loop
        await _threaded(lambda: env.submodel(part))
    lv, ex = _lv(level), _ex(extent)
    return _json(env.form((part, form, lv, ex, bytes), lambda: orjson.dumps(_submodel_form(env, part, form, lv, ex))))


def _query_enum(request: Request, name: str, kind: type[Level] | type[Extent]) -> Any:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        raise BadRequest(f"{name} {text[:40]!r} is not one of {', '.join(k.value for k in kind)}") from None


async def _submodel_read(request: Request) -> Response:
    """GET /submodels/{submodelIdentifier}, the most read operation, as a plain route: the same answer as the
    documented FastAPI route, without its parameter solving (see :func:`install`)."""
    return await _submodel_answer(request, (request.path_params["submodelIdentifier"], None), "normal",
                                  _query_enum(request, "level", Level), _query_enum(request, "extent", Extent))


def _list_submodels(form: str) -> Callable[..., Any]:
    async def handler(request: Request, semantic_id: SemanticIdQ = None, id_short: IdShortQ = None,
                      level: LevelQ = None, extent: ExtentQ = None, limit: LimitQ = None,
                      cursor: CursorQ = None) -> Response:
        c = caller(request)

        def run() -> bytes:
            if form == "path":
                return _paths_page(request, c, semantic_id, id_short, _lv(level), limit, cursor)
            items, nxt = _submodels_page(request, c, semantic_id, id_short, limit, cursor)
            return orjson.dumps(aas_api.paged([_submodel_form(e, p, form, _lv(level), _ex(extent))
                                               for e, p in items], nxt))
        return _json(await _threaded(run))
    return handler


for _suffix, _form, _summary in (("/$metadata", "metadata", "All submodels' metadata (paged)"),
                                 ("/$value", "value", "All submodels, value-only (paged)"),
                                 ("/$reference", "reference", "References to all submodels (paged)"),
                                 ("/$path", "path", "All submodels' idShortPaths (paged)"),
                                 ("", "normal", "All submodels (paged; filter by semanticId and idShort)")):
    router.add_api_route("/submodels" + _suffix, _list_submodels(_form), methods=["GET"], summary=_summary,
                         openapi_extra=EXTRA,
                         responses=_doc(PAGED), name=f"get_all_submodels_{_form}")


def _locate(request: Request, submodel_identifier: str, aas_identifier: str | None) -> tuple[Environment, str]:
    shell = _shell(request, aas_identifier) if aas_identifier is not None else None
    sid = aas_api.b64url_decode(submodel_identifier, "submodelIdentifier")
    return repo(request).submodel(sid, caller(request), shell)


def _element(env: Environment, part: str, path: str) -> Any:
    return aas_api.resolve(env.submodel(part), path)


def _element_form(el: Any, form: str, level: Level, extent: Extent) -> Any:
    if form == "value":  # an element's value-only form is keyed by its idShort (a list entry's is bare)
        v = aas_api.value_only(el, level=level, extent=extent)
        return {el.id_short: v} if el.id_short else v
    if form == "reference":
        return aas_api.reference(el)
    full = aas_api.to_json(el)
    if form == "metadata":
        return aas_api.metadata(full)
    return aas_api.cut(full, level=level, extent=extent)


def _with_path_params(handler: Callable[..., Any], names: tuple[str, ...]) -> Callable[..., Any]:
    """Declare the path's identifiers on a handler shared by two paths (it reads them from the request), so
    that FastAPI checks them and the OpenAPI document names them."""
    sig = inspect.signature(handler)
    params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[str, Path(
        description=f"the base64url-encoded {'shell' if n.startswith('aas') else 'submodel'} id")]) for n in names]
    handler.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return handler


_CONTAINERS = ("SubmodelElementCollection", "SubmodelElementList", "Entity")


def _register_submodel_routes(base: str, nested: bool) -> None:
    """The operations on one submodel, at ``base`` (``/submodels/{id}`` or ``/shells/{id}/submodels/{id}``)."""
    tag = "shell's submodel" if nested else "submodel"

    names = ("aasIdentifier", "submodelIdentifier") if nested else ("submodelIdentifier",)

    def ids(request: Request) -> tuple[str, str | None]:
        p = request.path_params
        return p["submodelIdentifier"], p.get("aasIdentifier") if nested else None

    def route(handler: Callable[..., Any]) -> Callable[..., Any]:
        return _with_path_params(handler, names)

    def submodel_route(form: str) -> Callable[..., Any]:
        async def handler(request: Request, level: LevelQ = None, extent: ExtentQ = None, **_: str) -> Response:
            return await _submodel_answer(request, ids(request), form, level, extent)
        return handler

    for suffix, form in (("", "normal"), ("/$metadata", "metadata"), ("/$value", "value"),
                         ("/$reference", "reference"), ("/$path", "path")):
        router.add_api_route(base + suffix, route(submodel_route(form)), methods=["GET"], responses=_doc(OBJECT),
                             openapi_extra=EXTRA,
                             summary=f"One {tag}" + (f" ({suffix[1:]})" if suffix else ""),
                             name=f"get_{'shell_' if nested else ''}submodel_{form}")

    def elements_route(form: str) -> Callable[..., Any]:
        async def handler(request: Request, level: LevelQ = None, extent: ExtentQ = None, limit: LimitQ = None,
                          cursor: CursorQ = None, **_: str) -> Response:
            env, part = _locate(request, *ids(request))
            n = aas_api.check_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
            sm = await _threaded(lambda: env.submodel(part)) if part not in env.submodels else env.submodel(part)
            elements = list(sm.submodel_element)
            start = _offset(cursor, len(elements))
            lv, ex = _lv(level), _ex(extent)
            if form == "path":
                result: list[Any] = []
                for el in elements[start:start + n]:
                    result += [el.id_short, *aas_api.id_short_paths(el, el.id_short, lv)]
            else:
                result = [_element_form(el, form, lv, ex) for el in elements[start:start + n]]
            nxt = aas_api.encode_cursor("offset", start + n) if start + n < len(elements) else None
            return _json(aas_api.paged(result, nxt))
        return handler

    for suffix, form in (("/$metadata", "metadata"), ("/$value", "value"), ("/$reference", "reference"),
                         ("/$path", "path"), ("", "normal")):
        router.add_api_route(base + "/submodel-elements" + suffix, route(elements_route(form)), methods=["GET"],
                             openapi_extra=EXTRA,
                             responses=_doc(PAGED), summary=f"The {tag}'s elements" + (
                                 f" ({suffix[1:]})" if suffix else "") + " (paged)",
                             name=f"get_{'shell_' if nested else ''}submodel_elements_{form}")

    def element_route(form: str) -> Callable[..., Any]:
        async def handler(request: Request, idShortPath: str, level: LevelQ = None,  # noqa: N803
                          extent: ExtentQ = None, **_: str) -> Response:
            env, part = _locate(request, *ids(request))
            if part not in env.submodels:
                await _threaded(lambda: env.submodel(part))
            el = _element(env, part, idShortPath)
            lv, ex = _lv(level), _ex(extent)
            if form == "path":
                kind = type(el).__name__
                if kind not in _CONTAINERS:
                    raise BadRequest(f"$path lists the idShortPaths inside a collection, list or entity; "
                                     f"{idShortPath} is a {kind}")
                return _json([idShortPath, *aas_api.id_short_paths(el, idShortPath, lv)])
            if form == "attachment":
                if type(el).__name__ not in ("File", "Blob"):
                    raise BadRequest(f"{idShortPath} is a {type(el).__name__}: only a File or Blob has an attachment")
                if type(el).__name__ == "Blob" and el.value is not None:
                    return Response(el.value, media_type=el.content_type)
                where = f" it links to {el.value}" if getattr(el, "value", None) else " it holds no value"
                raise NotFound(f"{idShortPath} holds no file on this node:{where}")
            return _json(_element_form(el, form, lv, ex))
        return handler

    for suffix, form in (("/$metadata", "metadata"), ("/$value", "value"), ("/$reference", "reference"),
                         ("/$path", "path"), ("/attachment", "attachment"), ("", "normal")):
        router.add_api_route(base + "/submodel-elements/{idShortPath}" + suffix, route(element_route(form)),
                             methods=["GET"], responses=ERRORS if form == "attachment" else _doc(OBJECT),
                             openapi_extra=EXTRA,
                             summary=f"One element of the {tag} by idShortPath"
                             + (f" ({suffix[1:]})" if suffix else ""),
                             name=f"get_{'shell_' if nested else ''}submodel_element_{form.strip('$')}")


# the submodel repository's first: routes are matched in order, and a submodel read is the common one
_register_submodel_routes("/submodels/{submodelIdentifier}", nested=False)
_register_submodel_routes("/shells/{aasIdentifier}/submodels/{submodelIdentifier}", nested=True)


# ============================================================================ serialization
def _serialization(request: Request, c: Caller, aas_ids: list[str] | None, submodel_ids: list[str] | None
                   ) -> bytes:
    r = repo(request)
    shells: dict[str, Environment] = {}
    submodels: dict[str, tuple[Environment, str]] = {}
    if not aas_ids and not submodel_ids:
        if r.count(SERIALIZATION_MAX + 1) > SERIALIZATION_MAX:
            raise BadRequest(f"this node holds more than {SERIALIZATION_MAX} passports: name the shells or submodels "
                             "to serialize with aasIds or submodelIds (base64url-encoded)")
        envs, _ = r.shells(c, limit=SERIALIZATION_MAX)
        for env in envs:
            shells[env.shell.id] = env
            for part in env.part_names:
                submodels[env.shell.id + part] = (env, part)
    for text in aas_ids or []:
        env = r.shell(aas_api.b64url_decode(text, "aasIds"), c)
        shells[env.shell.id] = env
        if not submodel_ids:  # the shells' own submodels come with them
            for part in env.part_names:
                submodels[env.shell.id + part] = (env, part)
    for text in submodel_ids or []:
        env, part = r.submodel(aas_api.b64url_decode(text, "submodelIds"), c)
        submodels[env.shell.id + part] = (env, part)
    out: dict[str, Any] = {
        "assetAdministrationShells": [e.shell_json for e in shells.values()],
        "submodels": [_submodel_form(e, p, "normal", Level.DEEP, Extent.WITHOUT_BLOB_VALUE)
                      for e, p in submodels.values()],
    }
    # the passports' submodels carry no concept descriptions yet (their semantic ids are the SAMM aspect URNs);
    # the metamodel forbids an empty list, so includeConceptDescriptions adds none
    return orjson.dumps({k: v for k, v in out.items() if v})


@router.get("/serialization", summary="An AAS environment of the shells and submodels named (all when none)",
            responses=_doc(OBJECT), openapi_extra=EXTRA)
async def generate_serialization(
        request: Request,
        aas_ids: Annotated[list[str] | None, Query(alias="aasIds", description="base64url-encoded shell ids")] = None,
        submodel_ids: Annotated[list[str] | None, Query(alias="submodelIds",
                                                        description="base64url-encoded submodel ids")] = None,
        include_concept_descriptions: Annotated[bool, Query(alias="includeConceptDescriptions")] = True,
) -> Response:
    c = caller(request)
    return _json(await _threaded(lambda: _serialization(request, c, aas_ids, submodel_ids)))


class _Base64Url(StringConvertor):
    """A path segment of base64url text (what an identifier in a Part 2 path is)."""

    regex = "[A-Za-z0-9_-]+={0,2}"


register_url_convertor("b64url", _Base64Url())


def install(app: FastAPI) -> None:
    """The /aas routes, and the Part 2 ``Result`` as the error answer of every path under /aas.

    Requests reach the operations through one ``Mount("/aas")`` placed right after the hot passport read,
    so that matching an AAS path costs one prefix check instead of a walk past every other route; the
    same operations are also included under /aas as FastAPI routes, which document them in the OpenAPI
    and are never reached (the passport read is registered the same way). The submodel read, the one
    read most, is a plain route in the mount."""
    own_error_body(app, PREFIX, error_body)
    documented = APIRouter(prefix=PREFIX)
    documented.include_router(router)
    app.include_router(documented)
    inner = APIRouter()  # what the mount dispatches to: the submodel read as a plain route, then every operation
    # its path takes base64url text only, so /submodels/$value and the like pass on to their own routes
    inner.routes.append(Route("/submodels/{submodelIdentifier:b64url}", _submodel_read, methods=["GET"]))
    inner.routes.extend(router.routes)
    routes = app.router.routes
    hot = next((i + 1 for i, r in enumerate(routes)
                if getattr(r, "path", None) == "/api/v1/passports/{passport_id}"), 0)
    routes.insert(hot, Mount(PREFIX, app=inner))
