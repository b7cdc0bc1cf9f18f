"""The Digital Twin Registry: shell descriptors of this node's packs (and of foreign assets), as the
Tractus-X DTR serves them (IDTA-01002 Part 2 registry and discovery API, Catena-X visibility rules).

Every operation of the Tractus-X registry's OpenAPI (``dtr_spec/aas-registry-openapi.yaml``, vendored with
its Apache-2.0 header) and of its access-rule API (``dtr_spec/access-control-openapi*.yaml``) is a method
here; :mod:`batteryloop.api.dtr` serves them under ``/api/v3``. Request bodies are checked against the
specification's own schemas (jsonschema), not against a copy written by hand.

Who may do what is decided by :mod:`batteryloop.access`:

* registering a descriptor of one of this node's packs (its ``globalAssetId`` is the pack's global asset
  id, :func:`batteryloop.passport.identifiers.global_asset_id`, or its id the pack's AAS shell id) is for
  the pack's economic operator (``twin.register``), who then owns it; a descriptor of any other asset is
  registered by the manufacturer its ``manufacturerId`` asset id names, or — naming none — by the
  participant registering it as its tenant, who then owns it (``twin.register.foreign``);
* changing or deleting a descriptor, its submodel descriptors and asset links is for its owner
  (``twin.update``); the owner reads it whole (``twin.read.full``, Tractus-X's "owning tenant");
* every other caller sees what the Tractus-X visibility rules give its BPN (the caller's participant id,
  or the ``Edc-Bpn`` the node's connector forwards, :func:`~batteryloop.access.registry_subject`): by the
  ``externalSubjectId`` of each specificAssetId (:func:`~batteryloop.access.subject_id_view`), or — when
  the owner has defined access rules — by those rules (:func:`~batteryloop.access.rule_view`). A lookup
  matches a shell only through asset ids the caller may see.

Descriptors, their asset ids and the access rules are kept in the store (:mod:`batteryloop.store.twins`).
The descriptors of this node's own packs are registered when their passports are issued
(:mod:`batteryloop.passport.pack_twins`) and stored slim, as *derived pack twins*: every read here builds
them from their passports (:func:`~batteryloop.passport.pack_twins.expand`), and a write through this API
stores them whole, as any descriptor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..access import (
    PUBLIC_READABLE,
    Caller,
    Resource,
    TwinView,
    authorize,
    decide,
    rule_target,
    rule_view,
    subject_id_view,
)
from ..errors import Conflict, NotFound
from ..formats import aas_api
from ..formats.aas_api import BadRequest
from ..store import twins as repo
from ..store.db import Store, iso_text, utcnow_iso
from ..store.errors import IntegrityViolation, translated
from ..store.passports import find_record, page_ids
from . import pack_twins

SPEC_DIR = Path(__file__).resolve().parent / "dtr_spec"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000  # the Tractus-X registry's MAXIMUM_RECORDS
GLOBAL_ASSET_ID = "globalAssetId"
#: the profiles served: the registry's and discovery's full profiles. The Tractus-X DTR names the 3.1
#: profiles as well, but both independent clients tried (aas-python-http-client 1.0.3 and tractusx-sdk 0.8.3)
#: refuse a /description naming them (their models know the 3.0 profiles only), so only those are named
PROFILES = (
    "https://admin-shell.io/aas/API/3/0/AssetAdministrationShellRegistryServiceSpecification/SSP-001",
    "https://admin-shell.io/aas/API/3/0/DiscoveryServiceSpecification/SSP-001",
)
SHELL_KEYS = ("description", "displayName", "extensions", "administration", "assetKind", "assetType", "endpoints",
              "globalAssetId", "idShort", "id", "specificAssetIds", "submodelDescriptors")
SUBMODEL_KEYS = ("description", "displayName", "extensions", "administration", "endpoints", "idShort", "id",
                 "semanticId", "supplementalSemanticId")
_SHELL_PREFIX, _SHELL_SUFFIX = "urn:batteryloop:", ":aas"  # identifiers.shell_id


# ------------------------------------------------------------------------------------------ the specification
@cache
def spec() -> dict[str, Any]:
    """The Tractus-X registry's OpenAPI (its two references to SwaggerHub made local)."""
    import yaml

    text = (SPEC_DIR / "aas-registry-openapi.yaml").read_text()
    text = text.replace("'https://api.swaggerhub.com/domains/Plattform_i40/Part2-API-Schemas/V3.1.0#/components/",
                        "'#/components/")
    return yaml.safe_load(text)  # type: ignore[no-any-return]


@cache
def access_spec() -> dict[str, Any]:
    import yaml

    return yaml.safe_load((SPEC_DIR / "access-control-openapi_schemas.yaml").read_text())  # type: ignore[no-any-return]


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft7Validator

    if name.startswith("access:"):
        root: dict[str, Any] = {"$ref": f"#/schemas/{name[7:]}", "schemas": access_spec()["schemas"]}
    elif name == "SpecificAssetIds":
        root = {"type": "array", "items": {"$ref": "#/components/schemas/SpecificAssetId"},
                "components": spec()["components"]}
    elif name == "AssetLinks":
        root = {"type": "array", "maxItems": 10000, "items": {"$ref": "#/components/schemas/AssetLink"},
                "components": spec()["components"]}
    else:
        root = {"$ref": f"#/components/schemas/{name}", "components": spec()["components"]}
    return Draft7Validator(root)


def check(name: str, body: Any, what: str) -> None:
    """:class:`BadRequest` naming every place where ``body`` breaks the specification's schema ``name``."""
    errors = sorted(_validator(name).iter_errors(body), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    texts = []
    for e in errors[:5]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path).lstrip(".")
        msg = e.message if len(e.message) <= 200 else e.message[:200] + "…"
        texts.append(f"{where or '(body)'}: {msg}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    raise BadRequest(f"the {what} breaks the registry's schema: " + "; ".join(texts) + more)


# ------------------------------------------------------------------------------------------ helpers
def encode_id(text: str) -> str:
    return aas_api.b64url_encode(text)


def _created_after(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"createdAfter {text[:40]!r} is not an RFC 3339 time such as 2026-01-01T00:00:00Z") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return iso_text(t)


def _subset(d: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: d[k] for k in keys if k in d}


def _semantic_values(sm: Mapping[str, Any]) -> set[str]:
    keys = (sm.get("semanticId") or {}).get("keys") or ()
    return {str(k.get("value")) for k in keys if isinstance(k, Mapping)}


def _href_candidates(url: str) -> list[str]:
    """The endpoint hrefs that would let a caller call ``url`` (:meth:`DigitalTwinRegistry.authorized`): the
    url itself, and each prefix ending at a path segment (with and without its trailing ``/``) or before ``?``."""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}"
    out = {url, root, root + "/"}
    path = url[len(root):].split("?", 1)[0].split("#", 1)[0] if url.startswith(root) else ""
    segments = path.split("/")
    for i in range(1, len(segments) + 1):
        prefix = root + "/".join(segments[:i])
        out.update((prefix, prefix + "/"))
    if "?" in url:
        out.add(url.split("?", 1)[0])
    return sorted(out)


def _pack_submodel_passports(hrefs: Iterable[str]) -> set[str]:
    """The passports whose derived pack twins could list one of ``hrefs`` as a submodel endpoint
    (``<base>/aas/submodels/<base64url of urn:batteryloop:<passport id>:submodel:<part>>``)."""
    import base64
    import binascii

    out = set()
    for h in hrefs:
        head, sep, tail = h.rpartition("/aas/submodels/")
        if not sep or not tail or "/" in tail:
            continue
        try:
            sid = base64.urlsafe_b64decode(tail + "=" * (-len(tail) % 4)).decode()
        except (binascii.Error, ValueError):
            continue
        if sid.startswith(_SHELL_PREFIX) and ":submodel:" in sid:
            out.add(sid[len(_SHELL_PREFIX):].rsplit(":submodel:", 1)[0])
    return out


@dataclass
class Page:
    result: list[Any]
    cursor: str | None

    def json(self) -> dict[str, Any]:
        return aas_api.paged(self.result, self.cursor)


class DigitalTwinRegistry:
    """The registry's operations, each for one caller (the subject :func:`~batteryloop.access.registry_subject`
    gave: the caller, or the BPN the node's connector forwards for)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ visibility
    def _rules_in_force(self, conn: Any, owners: Iterable[str | None]) -> dict[str, list[tuple[str, Mapping[str, Any]]]]:
        """Owner → its rules in force now as (target, policy); an owner with rules (in force or not) is in the
        map, so its shells are governed by rules even when none is in force."""
        ids = {o for o in owners if o}
        if not ids:
            return {}
        now = utcnow_iso()
        out: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        for r in repo.rules_of(conn, ids):
            mine = out.setdefault(r.tid, [])
            if (r.valid_from is None or r.valid_from <= now) and (r.valid_to is None or now <= r.valid_to):
                mine.append((r.target, r.policy))
        return out

    def _view(self, caller: Caller, row: repo.ShellRow, rules: Mapping[str, list[tuple[str, Mapping[str, Any]]]]
              ) -> TwinView | None:
        if decide(caller, "twin.read.full", Resource("twin", row.shell_id, operator=row.owner_id)):
            return TwinView(full=True)
        bpn = caller.participant_id
        if row.owner_id in rules:
            return rule_view(row.descriptor, bpn, rules[row.owner_id])
        return subject_id_view(row.descriptor, bpn)

    def _render(self, caller: Caller, row: repo.ShellRow, view: TwinView) -> dict[str, Any]:
        d = dict(row.descriptor)
        d["createdAt"] = row.created_at
        if view.full:
            return d
        me = caller.participant_id
        sas = []
        for sa in d.get("specificAssetIds") or ():
            if not view.shows(sa):
                continue
            sa = dict(sa)
            ext = sa.pop("externalSubjectId", None)
            if view.by_subject_id and isinstance(ext, Mapping):  # show only the keys that opened it
                keys = [k for k in ext.get("keys") or () if isinstance(k, Mapping)
                        and k.get("value") in (me, PUBLIC_READABLE)]
                if keys:
                    sa["externalSubjectId"] = {**ext, "keys": keys}
            sas.append(sa)
        sms = [sm for sm in d.get("submodelDescriptors") or ()
               if view.semantic_ids is None or _semantic_values(sm) & view.semantic_ids]
        if view.public_only:
            return {"id": d["id"], "specificAssetIds": sas, "submodelDescriptors": sms}
        d["specificAssetIds"] = sas
        d["submodelDescriptors"] = sms
        return d

    @staticmethod
    def _get(conn: Any, shell_id: str) -> repo.ShellRow | None:
        """The shell's row, a derived pack twin built (:func:`batteryloop.passport.pack_twins.expand`)."""
        row = repo.get_shell(conn, shell_id)
        return None if row is None else pack_twins.expand(conn, [row])[0]

    def _visible_row(self, conn: Any, caller: Caller, shell_id: str) -> tuple[repo.ShellRow, TwinView]:
        row = self._get(conn, shell_id)
        view = None
        if row is not None:
            view = self._view(caller, row, self._rules_in_force(conn, [row.owner_id]))
        if row is None or view is None:
            raise NotFound(f"Shell for identifier {shell_id} not found (or not visible to "
                           f"{caller.participant_id or 'an anonymous caller'})")
        return row, view

    # ------------------------------------------------------------------ who owns a descriptor
    def _linked_passport(self, conn: Any, d: Mapping[str, Any]) -> str | None:
        """The pack of this node the descriptor describes: by its global asset id or its AAS shell id."""
        sid = str(d.get("id", ""))
        if sid.startswith(_SHELL_PREFIX) and sid.endswith(_SHELL_SUFFIX):
            pid = sid[len(_SHELL_PREFIX):-len(_SHELL_SUFFIX)]
            if pid and find_record(conn, pid) is not None:
                return pid
        g = d.get("globalAssetId")
        if isinstance(g, str) and g.startswith("urn:uuid:"):
            ids = page_ids(conn, global_asset_id=g, limit=1)
            if ids:
                return ids[0]
        return None

    def _register_owner(self, conn: Any, caller: Caller, d: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """(owner, passport id) of a new descriptor, after the policy allowed the caller to register it."""
        pid = self._linked_passport(conn, d)
        if pid is not None:
            rec = find_record(conn, pid)
            assert rec is not None
            authorize(caller, "twin.register", Resource("passport", pid, operator=rec.economic_operator_id))
            return rec.economic_operator_id, pid
        # the asset's manufacturer, where the descriptor names one (Catena-X: the specificAssetId
        # ``manufacturerId`` carries its BPNL), is the one who may register it; an asset that names none is
        # registered by its tenant, the registrant (as the Tractus-X registry's owning tenant)
        named = [str(a.get("value")) for a in d.get("specificAssetIds") or ()
                 if isinstance(a, Mapping) and a.get("name") == "manufacturerId"]
        tenant = named[0] if named else caller.participant_id
        authorize(caller, "twin.register.foreign", Resource("twin", str(d.get("id")), operator=tenant))
        return caller.participant_id, None

    def _writable(self, conn: Any, caller: Caller, shell_id: str) -> repo.ShellRow:
        """The shell's row (a derived pack twin built: the caller's change stores it whole) for its owner."""
        row = self._get(conn, shell_id)
        if row is None:
            raise NotFound(f"Shell for identifier {shell_id} not found")
        self._authorize_update(conn, caller, row)
        return row

    def _authorize_update(self, conn: Any, caller: Caller, row: repo.ShellRow) -> None:
        """``twin.update`` on the shell; refused on a shell the caller may not see, the refusal does not name
        its owner (the policy's reason would: the BPN the visibility rules hide)."""
        resource = Resource("twin", row.shell_id, operator=row.owner_id)
        if not decide(caller, "twin.update", resource) and \
                self._view(caller, row, self._rules_in_force(conn, [row.owner_id])) is None:
            from ..errors import deny

            raise deny(caller.anonymous, f"{caller.participant_id or 'an anonymous caller'} may not do twin.update "
                                         f"on shell {row.shell_id}: only the participant that owns it changes it")
        authorize(caller, "twin.update", resource)

    # ------------------------------------------------------------------ bodies
    def _shell_body(self, body: Any) -> dict[str, Any]:
        check("AssetAdministrationShellDescriptor", body, "shell descriptor")
        d = _subset(body, SHELL_KEYS)
        sms = [_subset(sm, SUBMODEL_KEYS) for sm in d.get("submodelDescriptors") or ()]
        ids = [sm["id"] for sm in sms]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise BadRequest(f"submodelDescriptors: the id {dup[0]!r} is given more than once")
        if "submodelDescriptors" in d:
            d["submodelDescriptors"] = sms
        return d

    @staticmethod
    def _submodel_body(body: Any) -> dict[str, Any]:
        check("SubmodelDescriptor", body, "submodel descriptor")
        return _subset(body, SUBMODEL_KEYS)

    # ================================================================== shell descriptors
    def list_shells(self, caller: Caller, *, limit: int | None = None, cursor: str | None = None,
                    asset_kind: str | None = None, asset_type: str | None = None,
                    created_after: str | None = None) -> Page:
        n = aas_api.check_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
        after = self._seq_cursor(cursor, "dtr-shells")
        atype = aas_api.b64url_decode(asset_type, "assetType") if asset_type is not None else None
        since = _created_after(created_after)
        out: list[dict[str, Any]] = []
        # the next page starts after the last shell shown, not the last one scanned: a cursor naming the
        # place of a shell the caller may not see would tell it that such a shell exists (and matched)
        last = shown = after
        with self.store.read() as conn:
            while len(out) <= n:
                rows = pack_twins.expand(conn, repo.page_shells(
                    conn, after=last, limit=max(n + 1, 100), asset_kind=asset_kind, asset_type=atype,
                    created_after=since))
                if not rows:
                    break
                rules = self._rules_in_force(conn, {r.owner_id for r in rows})
                for row in rows:
                    view = self._view(caller, row, rules)
                    if view is not None:
                        if len(out) == n:
                            return Page(out, aas_api.encode_cursor("dtr-shells", shown))
                        out.append(self._render(caller, row, view))
                        shown = row.seq
                    last = row.seq
        return Page(out, None)

    @staticmethod
    def _seq_cursor(cursor: str | None, kind: str) -> int:
        fields = aas_api.decode_cursor(cursor, kind, 1)
        if fields is None:
            return 0
        if not fields[0].isdigit():
            raise BadRequest(f"cursor {cursor!r} is not one this server issued for this list")
        return int(fields[0])

    def get_shell(self, caller: Caller, shell_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row, view = self._visible_row(conn, caller, shell_id)
            return self._render(caller, row, view)

    def create_shell(self, caller: Caller, body: Any) -> dict[str, Any]:
        d = self._shell_body(body)
        try:
            with translated(), self.store.write() as conn:
                # the policy first: a caller who may not register this descriptor learns nothing of whether a
                # shell with its id exists (a 409 before the 403 would answer that to anyone who asks)
                owner, pid = self._register_owner(conn, caller, d)
                if repo.get_shell(conn, d["id"]) is not None:
                    raise Conflict(f"An AssetAdministrationShell for the given identification {d['id']!r} "
                                   "does already exist")
                now = utcnow_iso()
                repo.insert_shell(conn, shell_id=d["id"], owner_id=owner, passport_id=pid, created_at=now,
                                  descriptor=d)
        except IntegrityViolation:  # a concurrent writer registered the same id first
            raise Conflict(f"An AssetAdministrationShell for the given identification {d['id']!r} "
                           "does already exist") from None
        return {**d, "createdAt": now}

    def put_shell(self, caller: Caller, shell_id: str, body: Any) -> dict[str, Any] | None:
        """Replace the descriptor (``None``), or create it when there is none (the new descriptor)."""
        if isinstance(body, dict) and "id" not in body:
            body = {**body, "id": shell_id}
        d = self._shell_body(body)
        if d["id"] != shell_id:
            raise BadRequest(f"the body's id {d['id']!r} is not the path's aasIdentifier {shell_id!r}")
        with self.store.write() as conn:
            row = self._get(conn, shell_id)
            if row is not None:
                self._authorize_update(conn, caller, row)
                owner, pid = row.owner_id, row.passport_id
                new_pid = self._linked_passport(conn, d)
                if new_pid != row.passport_id:  # it now names another pack (or none)
                    owner, pid = self._register_owner(conn, caller, d)
                repo.update_shell(conn, row.seq, owner_id=owner, passport_id=pid, descriptor=d)
                return None
        return self.create_shell(caller, d)

    def delete_shell(self, caller: Caller, shell_id: str) -> None:
        with self.store.write() as conn:
            row = self._writable(conn, caller, shell_id)
            repo.delete_shell(conn, row.seq)

    # ================================================================== submodel descriptors
    def list_submodels(self, caller: Caller, shell_id: str, *, limit: int | None = None,
                       cursor: str | None = None) -> Page:
        n = aas_api.check_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
        sms = self.get_shell(caller, shell_id).get("submodelDescriptors") or []
        start = self._seq_cursor(cursor, "dtr-submodels")
        if start > len(sms):
            raise BadRequest(f"cursor {cursor!r} is not one this server issued for this list")
        nxt = aas_api.encode_cursor("dtr-submodels", start + n) if start + n < len(sms) else None
        return Page(sms[start:start + n], nxt)

    def get_submodel(self, caller: Caller, shell_id: str, submodel_id: str) -> dict[str, Any]:
        for sm in self.get_shell(caller, shell_id).get("submodelDescriptors") or ():
            if sm.get("id") == submodel_id:
                return dict(sm)
        raise NotFound(f"Submodel for identifier {submodel_id} not found.")

    def _edit_submodels(self, caller: Caller, shell_id: str, fn: Any) -> Any:
        with self.store.write() as conn:
            row = self._writable(conn, caller, shell_id)
            d = dict(row.descriptor)
            sms = [dict(sm) for sm in d.get("submodelDescriptors") or ()]
            out = fn(sms)
            d["submodelDescriptors"] = sms
            repo.update_shell(conn, row.seq, owner_id=row.owner_id, passport_id=row.passport_id, descriptor=d)
            return out

    def create_submodel(self, caller: Caller, shell_id: str, body: Any) -> dict[str, Any]:
        sm = self._submodel_body(body)

        def add(sms: list[dict[str, Any]]) -> dict[str, Any]:
            if any(s.get("id") == sm["id"] for s in sms):
                raise Conflict(f"An AssetAdministrationSubmodel for the given identification {sm['id']!r} does "
                               "already exist")
            sms.append(sm)
            return sm

        return self._edit_submodels(caller, shell_id, add)  # type: ignore[no-any-return]

    def put_submodel(self, caller: Caller, shell_id: str, submodel_id: str, body: Any) -> dict[str, Any] | None:
        """Replace the submodel descriptor (``None``) or add it when there is none (the new descriptor)."""
        if isinstance(body, dict) and "id" not in body:
            body = {**body, "id": submodel_id}
        sm = self._submodel_body(body)
        if sm["id"] != submodel_id:
            raise BadRequest(f"the body's id {sm['id']!r} is not the path's submodelIdentifier {submodel_id!r}")

        def put(sms: list[dict[str, Any]]) -> dict[str, Any] | None:
            for i, s in enumerate(sms):
                if s.get("id") == submodel_id:
                    sms[i] = sm
                    return None
            sms.append(sm)
            return sm

        return self._edit_submodels(caller, shell_id, put)  # type: ignore[no-any-return]

    def delete_submodel(self, caller: Caller, shell_id: str, submodel_id: str) -> None:
        def drop(sms: list[dict[str, Any]]) -> None:
            for i, s in enumerate(sms):
                if s.get("id") == submodel_id:
                    del sms[i]
                    return
            raise NotFound(f"Submodel for identifier {submodel_id} not found.")

        self._edit_submodels(caller, shell_id, drop)

    # ================================================================== discovery
    def lookup(self, caller: Caller, query: list[tuple[str, str]], *, limit: int | None = None,
               cursor: str | None = None, created_after: str | None = None) -> Page:
        """Ids of the shells that carry every queried (name, value) — ``globalAssetId`` for the global asset
        id — each through an asset id the caller may see."""
        n = aas_api.check_limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
        after = self._seq_cursor(cursor, "dtr-lookup")
        since = _created_after(created_after)
        if not query:
            return Page([], None)
        pairs = [(k, v) for k, v in query if k != GLOBAL_ASSET_ID]
        gids = [v for k, v in query if k == GLOBAL_ASSET_ID]
        out: list[str] = []
        last = shown = after  # the cursor names the last shell shown (see list_shells)
        with self.store.read() as conn:
            while True:
                rows = pack_twins.expand(conn, repo.shells_with_all(conn, pairs, gids, after=last,
                                                                    limit=max(n + 1, 200), created_after=since))
                if not rows:
                    return Page(out, None)
                rules = self._rules_in_force(conn, {r.owner_id for r in rows})
                for row in rows:
                    if self._matches(caller, row, rules, pairs, bool(gids)):
                        if len(out) == n:
                            return Page(out, aas_api.encode_cursor("dtr-lookup", shown))
                        out.append(row.shell_id)
                        shown = row.seq
                    last = row.seq

    def _matches(self, caller: Caller, row: repo.ShellRow, rules: Mapping[str, Any], pairs: list[tuple[str, str]],
                 by_global: bool) -> bool:
        view = self._view(caller, row, rules)
        if view is not None and view.full:
            return True
        if view is None:  # Tractus-X finds a shell by its global asset id alone for anyone (no rules)
            return not pairs and by_global and row.owner_id not in rules
        return all(view.shows({"name": k, "value": v}) for k, v in pairs)

    def asset_links(self, caller: Caller, shell_id: str) -> list[dict[str, Any]]:
        return list(self.get_shell(caller, shell_id).get("specificAssetIds") or [])

    def add_asset_links(self, caller: Caller, shell_id: str, body: Any) -> list[dict[str, Any]]:
        check("SpecificAssetIds", body, "list of specificAssetIds")
        new = [_subset(sa, ("name", "value", "externalSubjectId", "semanticId", "supplementalSemanticIds"))
               for sa in body]
        with self.store.write() as conn:
            row = self._writable(conn, caller, shell_id)
            d = dict(row.descriptor)
            have = {(sa["name"], sa["value"]) for sa in d.get("specificAssetIds") or ()}
            seen = set()
            for sa in new:
                key = (sa["name"], sa["value"])
                if key in have or key in seen:
                    raise Conflict(f"shell {shell_id!r} has the specificAssetId {sa['name']}={sa['value']!r} already")
                seen.add(key)
            d["specificAssetIds"] = [*(d.get("specificAssetIds") or []), *new]
            repo.update_shell(conn, row.seq, owner_id=row.owner_id, passport_id=row.passport_id, descriptor=d)
        return new

    def delete_asset_links(self, caller: Caller, shell_id: str) -> None:
        with self.store.write() as conn:
            row = self._writable(conn, caller, shell_id)
            d = {k: v for k, v in row.descriptor.items() if k != "specificAssetIds"}
            repo.update_shell(conn, row.seq, owner_id=row.owner_id, passport_id=row.passport_id, descriptor=d)

    def authorized(self, caller: Caller, body: Any) -> bool:
        """Whether the caller may call ``submodelEndpointUrl``: some shell it sees lists a submodel endpoint
        it sees whose ``href`` is that URL or a prefix of it (the EDC data plane's question)."""
        check("SubmodelEndpointAuthorization", body, "request")
        url = str(body["submodelEndpointUrl"])
        with self.store.read() as conn:
            hrefs = _href_candidates(url)
            rows = repo.shells_with_endpoint(conn, hrefs)
            # a derived pack twin stores no endpoint: the node's submodel hrefs name their pack's passport
            seqs = {r.seq for r in rows}
            rows += [r for r in repo.derived_shells_of_passports(conn, _pack_submodel_passports(hrefs))
                     if r.seq not in seqs]
            rows = pack_twins.expand(conn, sorted(rows, key=lambda r: r.seq))
            rules = self._rules_in_force(conn, {r.owner_id for r in rows})
            for row in rows:
                view = self._view(caller, row, rules)
                if view is None:
                    continue
                for sm in self._render(caller, row, view).get("submodelDescriptors") or ():
                    for ep in sm.get("endpoints") or ():
                        href = str((ep.get("protocolInformation") or {}).get("href", ""))
                        if href and (url == href or url.startswith(href.rstrip("/") + "/") or url.startswith(href + "?")):
                            return True
        return False

    # ================================================================== access rules (granular access)
    def _rule_json(self, r: repo.RuleRow) -> dict[str, Any]:
        out: dict[str, Any] = {"id": r.id, "tid": r.tid, "policyType": "AAS", "policy": r.policy}
        if r.description is not None:
            out["description"] = r.description
        if r.valid_from is not None:
            out["validFrom"] = r.valid_from
        if r.valid_to is not None:
            out["validTo"] = r.valid_to
        return out

    @staticmethod
    def _rule_row(body: Mapping[str, Any]) -> dict[str, Any]:
        policy = body["policy"]
        rules = policy.get("accessRules") or []
        target = rule_target(policy)
        bpn_rules = [r for r in rules if r.get("attribute") == "bpn"]
        if len(bpn_rules) != 1 or bpn_rules[0].get("operator") != "eq" or not target:
            raise BadRequest("policy.accessRules: name exactly one BPN, as {\"attribute\": \"bpn\", \"operator\": "
                             "\"eq\", \"value\": \"BPNL…\"} (or PUBLIC_READABLE)")
        for need in ("mandatorySpecificAssetIds", "visibleSpecificAssetIdNames", "visibleSemanticIds"):
            found = [r for r in rules if r.get("attribute") == need]
            if len(found) != 1 or found[0].get("operator") != "includes" or not found[0].get("values"):
                raise BadRequest(f"policy.accessRules: give {need} once, with operator includes and at least one "
                                 "value")
        frm = _created_after(body.get("validFrom"))
        to = _created_after(body.get("validTo"))
        if frm is not None and to is not None and frm >= to:
            raise BadRequest(f"validFrom {body.get('validFrom')} is not before validTo {body.get('validTo')}")
        if len(target) > 64:
            raise BadRequest("policy: the BPN is longer than 64 characters")
        return {"target": target, "policy": policy, "description": body.get("description"),
                "valid_from": frm, "valid_to": to}

    def list_rules(self, caller: Caller) -> list[dict[str, Any]]:
        if caller.anonymous:
            authorize(caller, "twin.rules.manage", Resource("twin_rule"))
        with self.store.read() as conn:
            rows = repo.rules_of(conn, None if caller.is_admin else [caller.participant_id or ""])
        return [self._rule_json(r) for r in rows
                if decide(caller, "twin.rules.manage", Resource("twin_rule", str(r.id), operator=r.tid))]

    def create_rule(self, caller: Caller, body: Any) -> dict[str, Any]:
        authorize(caller, "twin.rules.manage", Resource("twin_rule", operator=caller.participant_id))
        check("access:CreateAccessRule", body, "access rule")
        if caller.participant_id is None:
            raise BadRequest("an access rule belongs to the tenant that owns the shells: create it with the "
                             "owner's token (or the admin token and the owner's BPN in Edc-Bpn)")
        row = self._rule_row(body)
        with self.store.write() as conn:
            rid = repo.insert_rule(conn, {"tid": caller.participant_id, **row})
            got = repo.get_rule(conn, rid)
        assert got is not None
        return self._rule_json(got)

    def _own_rule(self, conn: Any, caller: Caller, rule_id: int) -> repo.RuleRow:
        r = repo.get_rule(conn, rule_id)
        if r is None or not decide(caller, "twin.rules.manage", Resource("twin_rule", str(rule_id), operator=r.tid)):
            if caller.anonymous:
                authorize(caller, "twin.rules.manage", Resource("twin_rule", str(rule_id)))
            raise NotFound(f"no access rule {rule_id} of {caller.participant_id or 'the admin'}")
        return r

    def get_rule(self, caller: Caller, rule_id: int) -> dict[str, Any]:
        with self.store.read() as conn:
            return self._rule_json(self._own_rule(conn, caller, rule_id))

    def put_rule(self, caller: Caller, rule_id: int, body: Any) -> dict[str, Any]:
        check("access:ReadUpdateAccessRule", body, "access rule")
        row = self._rule_row(body)
        with self.store.write() as conn:
            r = self._own_rule(conn, caller, rule_id)
            if body["id"] != rule_id or body["tid"] != r.tid:
                raise BadRequest(f"the body's id {body['id']} and tid {body['tid']!r} must be the rule's: {rule_id} "
                                 f"and {r.tid!r}")
            repo.update_rule(conn, rule_id, row)
            got = repo.get_rule(conn, rule_id)
        assert got is not None
        return self._rule_json(got)

    def delete_rule(self, caller: Caller, rule_id: int) -> None:
        with self.store.write() as conn:
            self._own_rule(conn, caller, rule_id)
            repo.delete_rule(conn, rule_id)
