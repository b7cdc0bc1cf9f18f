"""``batteryloop alerts``: alert rules over the store, their evaluation and the alerts they fired."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import caller, group, services
from .common import guard as _guard
from .common import out as _out

app = group("Alerts: rules (outflow finding, state of health under a threshold, grading safety flag) that fire "
            "a signed webhook or an e-mail-ready record.")

AS = typer.Option("--as", help="act as this participant (default: the node admin)")


@app.command("evaluate")
def evaluate(rule: Annotated[Optional[int], typer.Option(help="only this rule")] = None,
             as_participant: Annotated[Optional[str], AS] = None,
             no_deliver: Annotated[bool, typer.Option("--no-deliver", help="store new alerts, deliver nothing")] = False
             ) -> None:
    """Evaluate the rules (the node admin's run: every rule) over the store: each new finding is stored once as
    an alert and delivered (webhook with retries, or the e-mail message stored); prints counts per rule."""
    s = services()
    _out(_guard(lambda: s.alerts.evaluate(caller(s, as_participant), rule_id=rule, deliver=not no_deliver)))


@app.command("add-rule")
def add_rule(file: Annotated[Path, typer.Argument(help="the rule as JSON: name, kind, params, channel, target, secret")],
             as_participant: Annotated[Optional[str], AS] = None) -> None:
    """Create a rule owned by ``--as`` (it watches that participant's packs; the admin's rules watch every pack)."""
    s = services()
    data = _guard(lambda: json.loads(file.read_text()))
    _out(_guard(lambda: s.alerts.create_rule(caller(s, as_participant), data)))


@app.command("rules")
def rules(as_participant: Annotated[Optional[str], AS] = None) -> None:
    """The rules (secrets never shown)."""
    s = services()
    _out(_guard(lambda: s.alerts.rules(caller(s, as_participant))))


@app.command("list")
def list_alerts(pack: Annotated[Optional[str], typer.Option(help="only this pack")] = None,
                kind: Annotated[Optional[str], typer.Option(help="outflow, soh_below or safety_flag")] = None,
                limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
                as_participant: Annotated[Optional[str], AS] = None) -> None:
    """The alerts the caller may read, newest first, with their deliveries."""
    s = services()
    _out(_guard(lambda: s.alerts.alerts(caller(s, as_participant), pack_id=pack, kind=kind, limit=limit)))
