"""BPNL aliases: the Catena-X Business Partner Number of participants known by another scheme.

Catena-X names every company by its BPNL (``BPNL`` + 12 of ``0-9A-Z``). batteryloop participants may be
known by a Korean business registration number (``211-86-00017``) or an Ouranos operator id (13 digits);
when such a participant also has a BPNL (Catena-X's BPDM assigns one to any legal entity it records),
the node keeps it here, and the Catena-X exports name the participant by it.

A node's table is a small JSON file, ``{"aliases": {"211-86-00017": "BPNL…"}}``, at
``$BATTERYLOOP_BPNL_ALIASES`` or, by default, ``<BATTERYLOOP_VAR_DIR>/bpnl_aliases.json``. Edit it with
``batteryloop formats bpnl-alias ID BPNL`` (checked: the id is a participant id in canonical form, the
BPNL is well formed and names one participant only). One export can add or override entries
(``bpnl_map=``, CLI ``--bpnl ID=BPNL``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidData
from ..passport.validators import IdScheme, classify_participant_id, normalize_participant_id
from ._io import load_json

#: the BPNL pattern of the Catena-X schemas (single_level_bom_as_built 3.0.0 ``BpnTrait``)
BPNL_RE = re.compile(r"^BPNL[a-zA-Z0-9]{12}$")
#: a BPNL as batteryloop registers it (upper case, as the BPDM issues them)
STRICT_BPNL_RE = re.compile(r"^BPNL[0-9A-Z]{12}$")
SCHEME_NAMES = {IdScheme.KR_BRN: "a Korean business registration number", IdScheme.OURANOS: "an Ouranos operator id",
                IdScheme.BPNL: "a BPNL"}


def default_path() -> Path:
    """Where this node keeps its alias table (``$BATTERYLOOP_BPNL_ALIASES``, else the var folder)."""
    explicit = os.environ.get("BATTERYLOOP_BPNL_ALIASES")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("BATTERYLOOP_VAR_DIR", "./var")) / "bpnl_aliases.json"


def _bad(field: str, rule: str, message: str, value: Any) -> InvalidData:
    return InvalidData(message, [{"field": field, "rule": rule, "message": message, "value": value}])


def _scheme(participant_id: str) -> str:
    try:
        return SCHEME_NAMES[classify_participant_id(participant_id)]
    except ValueError:
        return "not a participant id batteryloop knows"


class BpnlAliases:
    """Participant id → BPNL. ``resolve`` gives the BPNL a Catena-X payload must carry, or says how to add it."""

    def __init__(self, aliases: Mapping[str, str] | None = None, *, path: Path | None = None) -> None:
        self.path = path
        self._map: dict[str, str] = {}
        for pid, bpnl in (aliases or {}).items():
            self.add(pid, bpnl)

    # ------------------------------------------------------------------ the table
    @classmethod
    def load(cls, path: Path | None = None) -> BpnlAliases:
        """The table in ``path`` (default: :func:`default_path`); an absent file is an empty table."""
        path = path or default_path()
        if not path.exists():
            return cls(path=path)
        doc = load_json(path)
        aliases = doc.get("aliases") if isinstance(doc, Mapping) else None
        if not isinstance(aliases, Mapping):
            raise _bad(str(path), "bpnl_aliases:format", f"{path}: expected {{\"aliases\": {{participant id: BPNL}}}}",
                       None)
        try:
            return cls(aliases, path=path)
        except InvalidData as exc:
            raise InvalidData(f"{path}: {exc}", exc.errors) from None

    def save(self, path: Path | None = None) -> Path:
        path = path or self.path or default_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps({"aliases": dict(sorted(self._map.items()))}, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        self.path = path
        return path

    def add(self, participant_id: str, bpnl: str) -> None:
        """Record ``bpnl`` for a participant known by another scheme (checked; re-adding the same is a no-op)."""
        try:
            pid = normalize_participant_id(str(participant_id))
        except ValueError as exc:
            raise _bad("participant_id", "participant_id", f"participant_id: {exc}", participant_id) from None
        b = str(bpnl).strip()
        if not STRICT_BPNL_RE.match(b):
            raise _bad("bpnl", "catenax:bpnl", f"bpnl: {bpnl!r} is not a BPNL (BPNL + 12 of 0-9A-Z)", bpnl)
        if STRICT_BPNL_RE.match(pid) and pid != b:
            raise _bad("participant_id", "bpnl_alias:native", f"participant_id: {pid} is itself a BPNL; "
                       "Catena-X names it by that id, it takes no alias", pid)
        other = next((p for p, x in self._map.items() if x == b and p != pid), None)
        if other is not None:
            raise _bad("bpnl", "unique", f"bpnl: {b} is already the alias of participant {other}; one BPNL names "
                       "one legal entity", b)
        self._map[pid] = b

    def remove(self, participant_id: str) -> bool:
        return self._map.pop(normalize_participant_id(participant_id), None) is not None

    def merged(self, overrides: Mapping[str, str] | None) -> BpnlAliases:
        """A copy with ``overrides`` (one export's ``bpnl_map``) added on top."""
        out = BpnlAliases(path=self.path)
        out._map = dict(self._map)
        for pid, bpnl in (overrides or {}).items():
            try:
                out._map.pop(normalize_participant_id(pid), None)
            except ValueError:
                pass
            out.add(pid, bpnl)
        return out

    def items(self) -> list[tuple[str, str]]:
        return sorted(self._map.items())

    def __len__(self) -> int:
        return len(self._map)

    # ------------------------------------------------------------------ resolve
    def get(self, participant_id: str | None) -> str | None:
        """The BPNL naming ``participant_id`` (itself when it is one), or ``None``."""
        if not participant_id:
            return None
        if BPNL_RE.match(participant_id):
            return participant_id
        try:
            pid = normalize_participant_id(participant_id)
        except ValueError:
            return None
        return self._map.get(pid)

    def resolve(self, participant_id: str | None, field: str) -> str:
        """The BPNL for ``participant_id`` or :class:`InvalidData` naming the participant and how to add one."""
        bpnl = self.get(participant_id)
        if bpnl is not None:
            return bpnl
        where = f" (this node's table: {self.path})" if self.path else ""
        if not participant_id:
            msg = f"{field}: no participant given; Catena-X names every business partner by BPNL"
        else:
            msg = (f"{field}: participant {participant_id} ({_scheme(participant_id)}) has no BPNL alias, and "
                   f"Catena-X names every business partner by BPNL (BPNL + 12 of 0-9A-Z). Add its BPNL to the "
                   f"node's alias table: `batteryloop formats bpnl-alias {participant_id} BPNL…`{where}; or for one "
                   f"export: `--bpnl {participant_id}=BPNL…` (Python: bpnl_map={{{participant_id!r}: 'BPNL…'}})")
        raise InvalidData(msg, [{"field": field, "rule": "catenax:bpnl", "message": msg, "value": participant_id,
                                 "participant": participant_id}])


_NODE: dict[str, tuple[float, BpnlAliases]] = {}


def node_aliases(path: Path | None = None) -> BpnlAliases:
    """This node's alias table, re-read when its file changes."""
    path = path or default_path()
    key = str(path.resolve()) if path.exists() else str(path)
    mtime = path.stat().st_mtime if path.exists() else -1.0
    hit = _NODE.get(key)
    if hit is None or hit[0] != mtime:
        hit = (mtime, BpnlAliases.load(path))
        _NODE[key] = hit
    return hit[1]
