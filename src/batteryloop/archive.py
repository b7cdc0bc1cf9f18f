"""Move a node's complete state to another node: passports, their versions, models, participants
(public keys only — never tokens or private keys), the signed ledger and the audit log.

The archive is a zip of JSON-lines files plus a ``manifest.json`` with each file's SHA-256. Import
checks every hash, refuses a target that already holds data, writes the registry in one transaction,
re-ingests the ledger through :class:`~batteryloop.trace.ledger.Ledger` (every signature checked
again with the imported public keys), then verifies every passport's version chain and the whole
ledger. If any step fails, what the import wrote is removed again and the error names the step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Table, delete, func, insert, select

from . import __version__
from .errors import Conflict, InvalidData
from .store.db import utcnow_iso
from .store.tables import (
    audit_log,
    battery_model_versions,
    battery_models,
    participants,
    passport_versions,
    passports,
)

FORMAT = "batteryloop-archive/1"
# registry tables in dependency order (the ledger goes through the Ledger, not as rows)
TABLES: tuple[Table, ...] = (participants, battery_models, battery_model_versions, passports, passport_versions,
                             audit_log)
DATE_COLUMNS = {("passports", "manufacture_date")}


def _rows(conn: Any, table: Table) -> Iterator[dict[str, Any]]:
    order = list(table.primary_key.columns)
    for r in conn.execute(select(table).order_by(*order)):
        d = {str(k): v for k, v in r._asdict().items()}
        if table.name == "audit_log":
            d.pop("id", None)  # renumbered on import
        yield d


def export_archive(services: Any, path: str | Path) -> dict[str, Any]:
    """Write the node's state to ``path`` (a zip); returns the manifest."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    manifest: dict[str, Any] = {"format": FORMAT, "batteryloop": __version__, "created_at": utcnow_iso(), "files": {}}
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        def write(name: str, items: Iterator[dict[str, Any]]) -> None:
            h, n = hashlib.sha256(), 0
            with zf.open(name, "w") as fh:
                for item in items:
                    line = orjson.dumps(item, default=str) + b"\n"
                    h.update(line)
                    fh.write(line)
                    n += 1
            manifest["files"][name] = {"rows": n, "sha256": h.hexdigest()}

        services.audit.flush()
        with services.store.read() as conn:
            for t in TABLES:
                write(f"{t.name}.jsonl", _rows(conn, t))
        write("trace_events.jsonl", services.trace.ledger.iter_events())
        zf.writestr("manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    tmp.replace(path)  # a killed export leaves no half-written archive under the final name
    return manifest


def _read(zf: zipfile.ZipFile, name: str, expected: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        data = zf.read(name)
    except KeyError:
        raise InvalidData(f"archive: {name} is missing", [{"field": name, "rule": "present",
                          "message": f"{name}: missing from the archive", "value": None}]) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected["sha256"]:
        raise InvalidData(f"archive: {name} does not match its SHA-256 in the manifest (altered or damaged)",
                          [{"field": name, "rule": "sha256", "message": f"{name}: hash mismatch", "value": digest}])
    rows = [orjson.loads(line) for line in data.splitlines() if line.strip()]
    if len(rows) != expected["rows"]:
        raise InvalidData(f"archive: {name} holds {len(rows)} rows, the manifest says {expected['rows']}", [])
    return rows


def import_archive(services: Any, path: str | Path) -> dict[str, Any]:
    """Load an archive into an empty node and verify it; returns what was imported and checked."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidData(f"archive: {path} is not a readable zip ({exc})", []) from None
    with zf:
        try:
            manifest = orjson.loads(zf.read("manifest.json"))
        except (KeyError, orjson.JSONDecodeError):
            raise InvalidData("archive: manifest.json is missing or not JSON", []) from None
        if manifest.get("format") != FORMAT:
            raise InvalidData(f"archive: format {manifest.get('format')!r} is not {FORMAT}", [])
        data = {t.name: _read(zf, f"{t.name}.jsonl", manifest["files"].get(f"{t.name}.jsonl", {"sha256": "", "rows": -1}))
                for t in TABLES}
        events = _read(zf, "trace_events.jsonl", manifest["files"].get("trace_events.jsonl", {"sha256": "", "rows": -1}))
    with services.store.read() as conn:
        held = sum(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (participants, passports))
    if held:
        raise Conflict("the target node already holds participants or passports: import into an empty node")
    try:
        with services.store.write() as conn:
            for t in TABLES:
                rows = data[t.name]
                for r in rows:
                    for table_name, col in DATE_COLUMNS:
                        if t.name == table_name and isinstance(r.get(col), str):
                            r[col] = dt.date.fromisoformat(r[col])
                for i in range(0, len(rows), 2000):
                    conn.execute(insert(t), rows[i:i + 2000])
        rep = services.trace.ingest(events, None, workers=1)
        if not rep.ok:
            raise InvalidData(f"archive: the ledger did not re-verify on import: {rep.error}", [])
        broken = [pid for pid in (r["id"] for r in data["passports"]) if not services.passports.verify(pid)["ok"]]
        if broken:
            raise InvalidData(f"archive: {len(broken)} passport version chain(s) do not verify, e.g. {broken[0]}", [])
        ledger = services.trace.verify()
        if not ledger.ok:
            raise InvalidData(f"archive: the imported ledger does not verify: {ledger.problems[0].as_dict()}", [])
    except Exception:
        _remove_all(services)
        raise
    return {"manifest": manifest, "imported": {k: len(v) for k, v in data.items()} | {"trace_events": len(events)},
            "passports_verified": len(data["passports"]), "ledger_events_verified": ledger.events_checked}


def _remove_all(services: Any) -> None:
    """Undo a failed import (the target was empty before it)."""
    from .store import trace_tables as tt

    derived = [t for t in (getattr(tt, n, None) for n in ("trace_custody", "trace_pack_sources", "trace_lot_edges",
                                                           "trace_lots", "trace_chain", "trace_events")) if t is not None]
    with services.store.write() as conn:
        for t in derived + list(reversed(TABLES)):
            conn.execute(delete(t))
