"""Move a node's complete state to another node: passports, their versions, models, participants
(public keys only — never tokens or private keys), delegations, the signed ledger and the audit log.

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
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from . import __version__
from .errors import Conflict, InvalidData
from .passport.identifiers import global_asset_id
from .store import archive as repo
from .store.archive import TABLE_NAMES, TABLES
from .store.db import utcnow_iso
from .store.errors import StoreFailure, translated

FORMAT = "batteryloop-archive/1"
# the registry tables, in dependency order, are the store's TABLES / TABLE_NAMES (the ledger goes through
# the Ledger, not as rows)
__all__ = ["FORMAT", "TABLES", "TABLE_NAMES", "export_archive", "import_archive"]
OPTIONAL = {"delegations"}  # archives written before delegations existed have no such file
DATE_COLUMNS = {("passports", "manufacture_date")}


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
            for name in TABLE_NAMES:
                write(f"{name}.jsonl", repo.rows(conn, name))
        write("trace_events.jsonl", services.trace.ledger.iter_events())
        zf.writestr("manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    tmp.replace(path)  # a killed export leaves no half-written archive under the final name
    return manifest


def _bad(what: str, field_: str, rule: str, value: Any = None) -> InvalidData:
    return InvalidData(f"archive: {what}", [{"field": field_, "rule": rule, "message": f"{field_}: {what}",
                                             "value": value if value is None or isinstance(value, int | str)
                                             else str(value)[:200]}])


def _read(zf: zipfile.ZipFile, name: str, expected: Any) -> list[dict[str, Any]]:
    if not isinstance(expected, dict) or not isinstance(expected.get("sha256"), str) \
            or not isinstance(expected.get("rows"), int):
        raise _bad(f"the manifest has no sha256 and row count for {name}", f"manifest.files.{name}", "required")
    try:
        data = zf.read(name)
    except KeyError:
        raise _bad(f"{name} is missing", name, "present") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
        raise _bad(f"{name} cannot be read from the zip ({exc})", name, "readable") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected["sha256"]:
        raise InvalidData(f"archive: {name} does not match its SHA-256 in the manifest (altered or damaged)",
                          [{"field": name, "rule": "sha256", "message": f"{name}: hash mismatch", "value": digest}])
    rows = []
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise _bad(f"{name} line {n} is not JSON ({exc})", f"{name}[{n}]", "json") from None
        if not isinstance(row, dict):
            raise _bad(f"{name} line {n} is not a JSON object", f"{name}[{n}]", "object", line[:100].decode("latin-1"))
        rows.append(row)
    if len(rows) != expected["rows"]:
        raise InvalidData(f"archive: {name} holds {len(rows)} rows, the manifest says {expected['rows']}",
                          [{"field": name, "rule": "rows", "message": f"{name}: {len(rows)} rows, "
                            f"manifest says {expected['rows']}", "value": len(rows)}])
    return rows


def _check_rows(table: str, rows: list[dict[str, Any]]) -> None:
    """Every row names only the table's columns and holds every required one, dates as ISO text."""
    cols, required = repo.columns(table)
    for n, r in enumerate(rows, 1):
        unknown = set(r) - set(cols)
        if unknown:
            raise _bad(f"{table}.jsonl row {n} has unknown field(s) {sorted(unknown)[:5]}",
                       f"{table}[{n}].{sorted(unknown)[0]}", "known_column")
        for c in sorted(required):
            if r.get(c) is None:
                raise _bad(f"{table}.jsonl row {n}: {c} is missing", f"{table}[{n}].{c}", "required")
        for c, v in r.items():
            if isinstance(v, dict | list):
                raise _bad(f"{table}.jsonl row {n}: {c} must be a scalar, not {type(v).__name__}",
                           f"{table}[{n}].{c}", "type", v)
        for table_name, col in DATE_COLUMNS:
            if table == table_name and r.get(col) is not None:
                try:
                    r[col] = dt.date.fromisoformat(r[col])
                except (TypeError, ValueError):
                    raise _bad(f"{table}.jsonl row {n}: {col} is not an ISO date", f"{table}[{n}].{col}",
                               "date", r[col]) from None


def import_archive(services: Any, path: str | Path) -> dict[str, Any]:
    """Load an archive into an empty node and verify it; returns what was imported and checked."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise InvalidData(f"archive: {path} is not a readable zip ({exc})", []) from None
    with zf:
        try:
            manifest = orjson.loads(zf.read("manifest.json"))
        except (KeyError, orjson.JSONDecodeError, zipfile.BadZipFile, zlib.error, OSError, EOFError):
            raise InvalidData("archive: manifest.json is missing, unreadable or not JSON", []) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
            raise _bad(f"format {got!r} is not {FORMAT}", "manifest.format", "const", str(got))
        files = manifest.get("files")
        if not isinstance(files, dict):
            raise _bad("the manifest lists no files", "manifest.files", "required")
        data = {name: _read(zf, f"{name}.jsonl", files.get(f"{name}.jsonl"))
                if name not in OPTIONAL or f"{name}.jsonl" in files else [] for name in TABLE_NAMES}
        events = _read(zf, "trace_events.jsonl", files.get("trace_events.jsonl"))
    for name in TABLE_NAMES:
        _check_rows(name, data[name])
    with services.store.read() as conn:
        held = repo.held(conn)
    # the registry and the ledger are written in two transactions: a marker says an import is under way, so
    # that an import killed between them is undone by the next one instead of leaving a half node
    marker = Path(services.settings.var_dir) / "archive-import.in-progress"
    if held and marker.exists():
        _remove_all(services)  # what the interrupted import left (the node was empty before it)
    elif held:
        raise Conflict("the target node already holds participants or passports: import into an empty node")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_bytes(orjson.dumps({"archive": str(path), "manifest": manifest.get("files")}))
    step = "registry"
    try:
        try:
            for r in data.get("passports") or []:  # an archive written before the column: derive it
                if isinstance(r, dict) and isinstance(r.get("id"), str) and not r.get("global_asset_id"):
                    r["global_asset_id"] = global_asset_id(r["id"])
            with translated(all_errors=True), services.store.write() as conn:
                for name in TABLE_NAMES:
                    step = f"{name}.jsonl"
                    repo.insert_rows(conn, name, data[name])
        except StoreFailure as exc:  # a key twice, a broken reference, a wrong type
            orig = exc.orig
            raise _bad(f"{step} cannot be stored: {str(orig).splitlines()[0][:300]}", step, "storable") from None
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
        marker.unlink(missing_ok=True)
        raise
    marker.unlink(missing_ok=True)
    return {"manifest": manifest, "imported": {k: len(v) for k, v in data.items()} | {"trace_events": len(events)},
            "passports_verified": len(data["passports"]), "ledger_events_verified": ledger.events_checked}


def _remove_all(services: Any) -> None:
    """Undo a failed import (the target was empty before it)."""
    with services.store.write() as conn:
        repo.delete_all(conn)
