"""``batteryloop archive``: move a node's complete state to another node."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import console, failing, group, out, services

app = group("Move a node's complete state to another node (passports, versions, ledger, public keys).")


@app.command("export")
def archive_export(file: Annotated[Path, typer.Argument(help="the archive to write (.zip)")]) -> None:
    """Write passports, versions, models, participants' public keys, the ledger and the audit log to FILE."""
    from ..archive import export_archive

    m = export_archive(services(), file)
    console.print(f"wrote {file}: " + ", ".join(f"{v['rows']} {k.removesuffix('.jsonl')}" for k, v in m["files"].items()))


@app.command("import")
def archive_import(file: Annotated[Path, typer.Argument(help="an archive written by `archive export`")]) -> None:
    """Load an archive into this (empty) node; every hash, signature and version chain is checked again."""
    from ..archive import import_archive

    with failing():
        res = import_archive(services(), file)
    out({k: v for k, v in res.items() if k != "manifest"})
