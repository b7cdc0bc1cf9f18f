"""Every passport as an Asset Administration Shell with its IDTA 02035 submodels, cut to the reader.

The AAS API (:mod:`batteryloop.api.aas`) reads through this service. Each read goes through
:meth:`PassportService.get_view`, exactly like the passport API: the same record, the same tiers from
:func:`batteryloop.access.battery_tiers`, the same audit record (channel ``aas``). The shell and the
submodels are then built from that cut view by :mod:`batteryloop.formats.aas` (basyx objects), so a
reader sees in a submodel only what the passport API would show it: values above its tiers are empty
properties, and parts it holds no tier for (the product condition, to the public) are not there at all.

Building a passport's shell costs a few milliseconds and a submodel a few more (basyx checks every
element); both are kept in an LRU cache keyed by what the cut view is made of
(:meth:`PassportService.view_state`: the record's version and hash, the model's version, the tiers), so
a new version, a status change, a model change or another reader's tiers never meet a stale entry. Submodels are built on
first use, one part at a time, and their JSON forms are kept with them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from basyx.aas import model

from ..access import Caller
from ..errors import NotFound
from ..formats import aas as aas_format
from ..formats import aas_api
from ..formats import idta
from ..formats.base import PassportParts
from .service import PassportService

PARTS: tuple[str, ...] = tuple(idta.PARTS)
_SHELL_PREFIX, _SHELL_SUFFIX = "urn:batteryloop:", ":aas"
_SUBMODEL_INFIX = ":submodel:"
#: asset ids of the shell (all public facts) → the passport filter that finds them
ASSET_FILTERS = {"partInstanceId": "serial_number", "manufacturerPartId": "model_id",
                 "nameAtManufacturer": "model_name", "manufacturingCountry": "manufacture_country",
                 "batteryPassportId": "passport_id"}


def passport_of_shell(shell_id: str) -> str | None:
    if shell_id.startswith(_SHELL_PREFIX) and shell_id.endswith(_SHELL_SUFFIX):
        pid = shell_id[len(_SHELL_PREFIX):-len(_SHELL_SUFFIX)]
        return pid or None
    return None


def passport_of_submodel(submodel_id: str) -> tuple[str, str] | None:
    if submodel_id.startswith(_SHELL_PREFIX) and _SUBMODEL_INFIX in submodel_id:
        pid, _, part = submodel_id[len(_SHELL_PREFIX):].rpartition(_SUBMODEL_INFIX)
        if pid and part in idta.PARTS:
            return pid, part
    return None


@dataclass
class Environment:
    """One passport's shell and submodels as one reader sees them (built from the cut view)."""

    passport_id: str
    parts: PassportParts
    payloads: dict[str, Any]
    empty: dict[str, set[str]]
    shell: model.AssetAdministrationShell
    shell_json: dict[str, Any]
    submodels: dict[str, model.Submodel] = field(default_factory=dict)
    forms: dict[Any, Any] = field(default_factory=dict)  # (part, form, level, extent) → JSON value or bytes

    @property
    def part_names(self) -> list[str]:
        return [p for p in PARTS if p in self.payloads]

    def submodel(self, part: str) -> model.Submodel:
        sm = self.submodels.get(part)
        if sm is None:
            sm = aas_format.build_submodel(self.passport_id, part, self.payloads[part], self.empty.get(part, set()))
            self.submodels[part] = sm
        return sm

    def form(self, key: Any, make: Callable[[], Any]) -> Any:
        """A serialised form of this environment, made once."""
        out = self.forms.get(key)
        if out is None:
            out = self.forms[key] = make()
        return out


class AasRepository:
    """The passports of this node as AAS shells and submodels (read only), per reader."""

    def __init__(self, passports: PassportService, *, cache_size: int = 512) -> None:
        self.passports = passports
        self._cache: OrderedDict[tuple[Any, ...], Environment] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ one passport
    def environment(self, passport_id: str, caller: Caller) -> Environment:
        """The passport's shell and submodels cut to ``caller`` (:class:`NotFound` when there is none); the
        read is audited like a passport read."""
        key, view = self.passports.view_state(passport_id, caller, channel="aas")
        with self._lock:
            env = self._cache.get(key)
            if env is not None:
                self._cache.move_to_end(key)
                return env
        env = self._build(passport_id, view())
        with self._lock:
            self._cache[key] = env
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return env

    def _build(self, passport_id: str, view: dict[str, Any]) -> Environment:
        # DppMetadata.lastUpdate is the passport's last change (the cache key holds the versions that move it)
        parts = PassportParts.from_view({**view, "last_change": self.passports.last_change(passport_id)})
        payloads, empty, _ = aas_format.part_payloads(parts, validate=False)
        shell = aas_format.build_shell(parts, [p for p in PARTS if p in payloads])
        data = aas_api.to_json(shell)
        order = {aas_format.submodel_id(passport_id, p): i for i, p in enumerate(PARTS)}
        data["submodels"] = sorted(data.get("submodels", []), key=lambda r: order.get(r["keys"][0]["value"], 99))
        return Environment(passport_id, parts, payloads, empty, shell, data)

    def shell(self, shell_id: str, caller: Caller) -> Environment:
        pid = passport_of_shell(shell_id)
        if pid is None:
            raise NotFound(f"no shell {shell_id!r} on this node: shell ids here are "
                           f"urn:batteryloop:<passport id>:aas")
        try:
            return self.environment(pid, caller)
        except NotFound:
            raise NotFound(f"no shell {shell_id!r}: this node holds no passport {pid!r}") from None

    def submodel(self, submodel_id: str, caller: Caller, shell: Environment | None = None
                 ) -> tuple[Environment, str]:
        """The environment holding ``submodel_id`` and its part; :class:`NotFound` when the submodel does not
        exist, is not the shell's (when ``shell`` is given) or is above the caller's tiers."""
        found = passport_of_submodel(submodel_id)
        if found is None:
            raise NotFound(f"no submodel {submodel_id!r} on this node: submodel ids here are "
                           f"urn:batteryloop:<passport id>:submodel:<part>, part one of {', '.join(PARTS)}")
        pid, part = found
        if shell is not None and pid != shell.passport_id:
            raise NotFound(f"shell {shell.shell.id!r} has no submodel {submodel_id!r}")
        try:
            env = shell or self.environment(pid, caller)
        except NotFound:
            raise NotFound(f"no submodel {submodel_id!r}: this node holds no passport {pid!r}") from None
        if part not in env.payloads:
            raise NotFound(f"no submodel {submodel_id!r} that you may read: the {part} part of passport {pid} "
                           "is not in your access tiers")
        return env, part

    # ------------------------------------------------------------------ lists
    def shells(self, caller: Caller, *, id_short: str | None = None, asset_ids: Sequence[tuple[str, str]] = (),
               after: str | None = None, limit: int = 100) -> tuple[list[Environment], str | None]:
        """A page of shells (by passport id, after ``after``) matching ``idShort`` and every asset id given;
        the last passport id of the page when more may follow."""
        if id_short is not None and id_short != "BatteryPassport":
            return [], None
        filters: dict[str, Any] = {}
        for name, value in asset_ids:
            if name == "globalAssetId":  # the pack's one global asset id (passport.identifiers), an indexed column
                if filters.setdefault("global_asset_id", value) != value:
                    return [], None
            elif name in ASSET_FILTERS:
                key = ASSET_FILTERS[name]
                if filters.setdefault(key, value) != value:
                    return [], None
            else:
                return [], None  # no shell here has that asset id
        if "manufacture_country" in filters:
            filters["manufacture_country"] = filters["manufacture_country"].upper()
        ids = self.passports.page_ids(after=after, limit=limit + 1, **filters)
        envs = []
        for pid in ids[:limit]:
            try:
                envs.append(self.environment(pid, caller))
            except NotFound:  # removed between the two reads
                continue
        return envs, ids[limit - 1] if len(ids) > limit else None

    def submodels(self, caller: Caller, *, semantic_id: str | None = None, id_short: str | None = None,
                  after: tuple[str, str] | None = None, limit: int = 100
                  ) -> tuple[list[tuple[Environment, str]], tuple[str, str] | None]:
        """A page of (environment, part) by passport id then part order, after ``after`` = (passport, part);
        the last (passport, part) of the page when more may follow."""
        out: list[tuple[Environment, str]] = []
        for item in self.iter_submodels(caller, semantic_id=semantic_id, id_short=id_short, after=after):
            if len(out) == limit:
                return out, (out[-1][0].passport_id, out[-1][1])
            out.append(item)
        return out, None

    def iter_submodels(self, caller: Caller, *, semantic_id: str | None = None, id_short: str | None = None,
                       after: tuple[str, str] | None = None, inclusive: bool = False
                       ) -> Iterator[tuple[Environment, str]]:
        """Every (environment, part) the caller may read, by passport id then part order, from ``after`` =
        (passport, part) on (that one too when ``inclusive``), matching the semantic id and idShort given."""
        wanted = [p for p in PARTS if (semantic_id is None or idta.PARTS[p][1] == semantic_id)
                  and (id_short is None or aas_format.part_id_short(p) == id_short)]
        if not wanted:
            return
        start_pid, start_part = after if after else (None, None)
        for env in self._walk(caller, start_pid):
            parts = [p for p in env.part_names if p in wanted]
            if env.passport_id == start_pid and start_part in PARTS:
                first = PARTS.index(start_part) + (0 if inclusive else 1)
                parts = [p for p in parts if PARTS.index(p) >= first]
            for p in parts:
                yield env, p

    def _walk(self, caller: Caller, start: str | None, batch: int = 50) -> Iterator[Environment]:
        """Every passport's environment from ``start`` (included) on, by id."""
        if start is not None:
            try:
                yield self.environment(start, caller)
            except NotFound:
                pass
        after = start
        while True:
            ids = self.passports.page_ids(after=after, limit=batch)
            for pid in ids:
                try:
                    yield self.environment(pid, caller)
                except NotFound:
                    continue
            if len(ids) < batch:
                return
            after = ids[-1]

    def count(self, limit: int) -> int:
        return len(self.passports.page_ids(limit=limit))
