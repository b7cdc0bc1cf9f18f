"""`batteryloop formats`: the wire formats this node reads and writes, and its BPNL alias table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import console, error, failing, group

app = group("Wire formats (Catena-X, IDTA/AAS, Battery Pass) and the node's BPNL alias table.")


@app.command("list")
def formats_list() -> None:
    """Every registered format: name, media type, export/import."""
    from .. import formats

    for a in formats.adapters():
        print(f"{a.name}\t{a.media_type}\texport{'/import' if a.can_import else ''}\t{a.title}")


@app.command("bpnl-alias")
def bpnl_alias(participant_id: Annotated[Optional[str], typer.Argument(help="e.g. a Korean business number 211-86-00017")] = None,
               bpnl: Annotated[Optional[str], typer.Argument(help="its Catena-X BPNL (BPNL + 12 of 0-9A-Z)")] = None,
               remove: Annotated[bool, typer.Option("--remove", help="drop the participant's alias")] = False,
               file: Annotated[Optional[Path], typer.Option(help="the table (default: $BATTERYLOOP_BPNL_ALIASES "
                                                            "or <var>/bpnl_aliases.json)")] = None) -> None:
    """Show, add or remove the BPNL a participant known by another scheme carries in Catena-X exports."""
    from ..formats.bpnl import BpnlAliases

    with failing():
        table = BpnlAliases.load(file)
        if participant_id is None:
            for pid, b in table.items():
                print(f"{pid}\t{b}")
            console.print(f"{len(table)} alias(es) in {table.path}")
            return
        if remove:
            gone = table.remove(participant_id)
            table.save()
            console.print(f"{'removed' if gone else 'no alias for'} {participant_id} ({table.path})")
            return
        if bpnl is None:
            error("give the BPNL: batteryloop formats bpnl-alias ID BPNL")
        table.add(participant_id, bpnl)
        path = table.save()
        console.print(f"{participant_id} → {bpnl.strip()} ({path})")
