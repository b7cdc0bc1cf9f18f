"""The pieces of the AAS API (IDTA-01002 Part 2 v3.0) that are about AAS, not about our passports.

* identifiers in paths and queries: base64url (RFC 4648 §5, padding optional), refused with a message
  naming the parameter when they are not;
* ``idShortPath`` (``Documents[0].DocumentId``): parsed and resolved in a basyx submodel;
* the serialisation modifiers: ``level`` (deep / core), ``extent`` (with / without blob values),
  the content modifiers ``$metadata``, ``$value`` (value-only), ``$reference`` and ``$path``;
* paging: an opaque ``cursor`` and the ``{"paging_metadata": {"cursor"}, "result": [...]}`` shape;
* the Part 2 error body ``Result`` (``{"messages": [{"code", "messageType", "text", "timestamp"}]}``).

Full objects are written by basyx's own JSON encoder; the content modifiers are cut from what it writes.
Only the value-only form (which basyx has no writer for) is written here, from the basyx objects.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from basyx.aas import model
from basyx.aas.adapter import json as aas_json

from ..errors import BatteryloopError, NotFound
from ..passport.identifiers import b64url_encode  # noqa: F401 - re-exported (Part 2 identifiers in paths)

#: the profiles the node serves (the read profiles of the two repository specifications)
PROFILES = (
    "https://admin-shell.io/aas/API/3/0/AssetAdministrationShellRepositoryServiceSpecification/SSP-002",
    "https://admin-shell.io/aas/API/3/0/SubmodelRepositoryServiceSpecification/SSP-002",
)


class BadRequest(BatteryloopError):
    """A Part 2 request that breaks a rule of the specification (answered 400)."""

    status = 400
    title = "Bad request"


class Level(StrEnum):
    DEEP = "deep"
    CORE = "core"


class Extent(StrEnum):
    WITHOUT_BLOB_VALUE = "withoutBlobValue"
    WITH_BLOB_VALUE = "withBlobValue"


# ------------------------------------------------------------------------------------- identifiers
_B64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


def b64url_decode(text: str, what: str) -> str:
    """The identifier a base64url-encoded path or query value holds; :class:`BadRequest` naming ``what``
    (e.g. ``aasIdentifier``) when it is not base64url or not UTF-8 text."""
    if not text or not _B64URL.match(text) or len(text.rstrip("=")) % 4 == 1:
        raise BadRequest(f"{what} {_echo(text)} is not base64url-encoded (RFC 4648 §5: A-Z a-z 0-9 - _, "
                         "padding optional): encode the identifier, e.g. base64.urlsafe_b64encode(id)")
    raw = text.rstrip("=")
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        out = data.decode("utf-8")
    except (binascii.Error, ValueError):
        raise BadRequest(f"{what} {_echo(text)} does not decode to UTF-8 text: encode the identifier's UTF-8 "
                         "bytes as base64url") from None
    if not out:
        raise BadRequest(f"{what} is empty once decoded")
    return out


def _echo(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:80] + "…")


def decode_asset_ids(values: Iterable[str]) -> list[tuple[str, str]]:
    """``assetIds`` query values (each a base64url-encoded ``SpecificAssetId`` JSON object ``{name, value}``,
    or a list of them) as ``(name, value)`` pairs."""
    out: list[tuple[str, str]] = []
    for text in values:
        raw = b64url_decode(text, "assetIds")
        try:
            obj = json.loads(raw)
        except ValueError:
            raise BadRequest(f"assetIds {_echo(text)} does not decode to JSON: each value is a base64url-encoded "
                             'SpecificAssetId such as {"name": "globalAssetId", "value": "…"}') from None
        for item in obj if isinstance(obj, list) else [obj]:
            if not (isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str)):
                raise BadRequest(f"assetIds {_echo(text)}: each entry needs a text name and a text value "
                                 '({"name": …, "value": …})')
            out.append((item["name"], item["value"]))
    return out


def decode_semantic_id(text: str) -> str:
    """The ``semanticId`` query: a base64url-encoded key value, or a base64url-encoded Reference JSON
    (its first key's value)."""
    raw = b64url_decode(text, "semanticId")
    if raw.lstrip().startswith("{"):
        try:
            keys = json.loads(raw)["keys"]
            return str(keys[0]["value"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise BadRequest("semanticId decodes to JSON that is not a Reference with keys") from None
    return raw


# ------------------------------------------------------------------------------------- paging
def encode_cursor(kind: str, *parts: str | int) -> str:
    """An opaque cursor: the list it belongs to (``kind``) and where the next page starts."""
    return b64url_encode("\x1f".join(str(p) for p in (kind, *parts)))


def decode_cursor(text: str | None, kind: str, n: int) -> list[str] | None:
    """The ``n`` fields of a cursor this server issued for the list ``kind``; :class:`BadRequest` for any other."""
    if text is None:
        return None
    try:
        fields = b64url_decode(text, "cursor").split("\x1f")
    except BadRequest:
        fields = []
    if len(fields) != n + 1 or fields[0] != kind or not all(fields):
        raise BadRequest(f"cursor {_echo(text)} is not one this server issued for this list: pass the "
                         "paging_metadata.cursor of the previous page unchanged")
    return fields[1:]


def paged(result: list[Any], cursor: str | None) -> dict[str, Any]:
    return {"paging_metadata": {"cursor": cursor} if cursor else {}, "result": result}


def check_limit(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    if limit < 1:
        raise BadRequest(f"limit {limit} is below 1: ask for at least one entry")
    return min(limit, maximum)


# ------------------------------------------------------------------------------------- idShortPath
_NAME = r"[A-Za-z][A-Za-z0-9_-]*"
_PATH = re.compile(rf"^{_NAME}(?:\[\d+\])*(?:\.{_NAME}(?:\[\d+\])*)*$")
_TOKEN = re.compile(rf"({_NAME})|\[(\d+)\]")


def parse_id_short_path(path: str) -> list[str | int]:
    """``A.B[0].C`` → ``["A", "B", 0, "C"]``; :class:`BadRequest` when ``path`` is not an idShortPath."""
    if len(path) > 2000:
        raise BadRequest("idShortPath is longer than 2000 characters")
    if not _PATH.match(path):
        raise BadRequest(f"idShortPath {_echo(path)} is not an idShortPath: idShorts (a letter, then letters, "
                         "digits, '_' or '-') joined by '.', list entries as [0], e.g. Documents[0].DocumentId")
    return [m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _TOKEN.finditer(path)]


def resolve(submodel: model.Submodel, path: str) -> model.SubmodelElement:
    """The element at ``path`` in ``submodel``; :class:`NotFound` naming the first step that is missing."""
    node: Any = submodel
    done = ""
    for step in parse_id_short_path(path):
        if isinstance(step, int):
            if not isinstance(node, model.SubmodelElementList):
                raise NotFound(f"idShortPath {_echo(path)}: {done} is not a list, it has no [{step}]")
            items = list(node.value)
            if step >= len(items):
                raise NotFound(f"idShortPath {_echo(path)}: {done} has {len(items)} entries, no [{step}]")
            node = items[step]
            done += f"[{step}]"
            continue
        children = (node.submodel_element if isinstance(node, model.Submodel)
                    else node.value if isinstance(node, model.SubmodelElementCollection)
                    else node.statement if isinstance(node, model.Entity) else None)
        found = children.get("id_short", step) if children is not None else None
        if found is None:
            where = f"in {done}" if done else f"in submodel {submodel.id_short}"
            raise NotFound(f"idShortPath {_echo(path)}: no element {step!r} {where}")
        node = found
        done += f".{step}" if done else step
    return node  # type: ignore[no-any-return]


def _children(el: Any) -> Sequence[Any]:
    if isinstance(el, model.Submodel):
        return list(el.submodel_element)
    if isinstance(el, model.SubmodelElementCollection | model.SubmodelElementList):
        return list(el.value)
    if isinstance(el, model.Entity):
        return list(el.statement)
    return []


def id_short_paths(el: Any, prefix: str = "", level: Level = Level.DEEP) -> list[str]:
    """The idShortPaths below ``el`` (a submodel or a container element), ``prefix`` naming ``el`` itself."""
    out: list[str] = []
    is_list = isinstance(el, model.SubmodelElementList)
    for i, child in enumerate(_children(el)):
        path = f"{prefix}[{i}]" if is_list else (f"{prefix}.{child.id_short}" if prefix else child.id_short)
        out.append(path)
        if level is Level.DEEP:
            out.extend(id_short_paths(child, path, level))
    return out


# ------------------------------------------------------------------------------------- serialisation
def to_json(obj: Any) -> Any:
    """basyx's own JSON form of a model object (shell, submodel, element, reference …), as Python data."""
    return json.loads(json.dumps(obj, cls=aas_json.AASToJsonEncoder))


_CHILD_KEYS = ("submodelElements", "value", "statements", "annotations")
_VALUE_KEYS = ("value", "valueId", "submodelElements", "statements", "annotations", "min", "max", "first", "second")


def cut(data: dict[str, Any], *, level: Level = Level.DEEP, extent: Extent = Extent.WITHOUT_BLOB_VALUE,
        depth: int = 0) -> dict[str, Any]:
    """``data`` (an object as :func:`to_json` writes it) cut to ``level`` and ``extent``: ``core`` keeps the
    direct children of the object asked for, without their own children; ``withoutBlobValue`` leaves out
    the bytes of Blobs (their content type stays)."""
    out = dict(data)
    if out.get("modelType") == "Blob" and extent is Extent.WITHOUT_BLOB_VALUE:
        out.pop("value", None)
    for key in _CHILD_KEYS:
        children = out.get(key)
        if isinstance(children, list) and children and isinstance(children[0], dict) and "modelType" in children[0]:
            if level is Level.CORE and depth >= 1:
                out.pop(key)
            else:
                out[key] = [cut(c, level=level, extent=extent, depth=depth + 1) for c in children]
    return out


def metadata(data: dict[str, Any]) -> dict[str, Any]:
    """The ``$metadata`` form: the object without its value or children."""
    return {k: v for k, v in data.items() if k not in _VALUE_KEYS}


def reference(obj: model.Referable) -> Any:
    """The ``$reference`` form: a ModelReference to a submodel or a submodel element."""
    if isinstance(obj, model.Identifiable):
        return to_json(model.ModelReference((model.Key(model.KeyTypes.SUBMODEL, obj.id),), model.Submodel))
    return to_json(model.ModelReference.from_referable(obj))


def _scalar(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, dt.date | dt.datetime | dt.time):
        return v.isoformat()
    return str(v)


def value_only(el: Any, *, level: Level = Level.DEEP, extent: Extent = Extent.WITHOUT_BLOB_VALUE,
               depth: int = 0) -> Any:
    """The ``$value`` form (Part 2 "ValueOnly"): a submodel or an element as its bare values, keyed by idShort."""
    deeper = level is Level.DEEP or depth < 1

    def kids(items: Iterable[Any]) -> dict[str, Any]:
        return {c.id_short: value_only(c, level=level, extent=extent, depth=depth + 1) for c in items} if deeper else {}

    if isinstance(el, model.Submodel):
        return kids(el.submodel_element)
    if isinstance(el, model.SubmodelElementCollection):
        return kids(el.value)
    if isinstance(el, model.SubmodelElementList):
        return [value_only(c, level=level, extent=extent, depth=depth + 1) for c in el.value] if deeper else []
    if isinstance(el, model.Property):
        return _scalar(el.value)
    if isinstance(el, model.MultiLanguageProperty):
        return [{lang: text} for lang, text in (el.value or {}).items()]
    if isinstance(el, model.File):
        return {"contentType": el.content_type, "value": el.value}
    if isinstance(el, model.Blob):
        out: dict[str, Any] = {"contentType": el.content_type}
        if extent is Extent.WITH_BLOB_VALUE and el.value is not None:
            out["value"] = base64.b64encode(el.value).decode()
        return out
    if isinstance(el, model.Range):
        return {"min": _scalar(el.min), "max": _scalar(el.max)}
    if isinstance(el, model.ReferenceElement):
        return to_json(el.value) if el.value is not None else None
    if isinstance(el, model.Entity):
        out = {"statements": kids(el.statement), "entityType": el.entity_type.name.title().replace("_", "")}
        if el.global_asset_id:
            out["globalAssetId"] = el.global_asset_id
        return out
    return None


# ------------------------------------------------------------------------------------- errors
def result(status: int, text: str) -> dict[str, Any]:
    """The Part 2 ``Result`` body of an error: one message naming what is wrong."""
    return {"messages": [{"code": str(status), "messageType": "Error" if status < 500 else "Exception",
                          "text": text, "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}]}
