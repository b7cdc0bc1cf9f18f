"""The batteryloop command line (Typer): ``batteryloop`` (entry point ``batteryloop.cli:main``).

One module per command group — ``passports``, ``participants``, ``db``, ``archive``, ``health``, ``hubs``,
``trace``, ``node``, ``circular``, ``formats``, ``alerts``, ``pilot``, ``fleet`` — and ``serve`` for the node's own
commands (``policy``, ``serve``, ``demo``); ``common`` holds what they share (JSON output, the error guard, the services of the
composition root). No module here imports this package back.

Start-up stays light: at module level these import typer, the standard library and ``common`` only; the
domain, the store, the web stack, numpy and rich are imported inside the commands that use them, so that
``batteryloop --help`` and every group's ``--help`` build the commands without loading them
(tests/test_cli_structure.py checks it; bench/cli_startup.py times it).
"""

from __future__ import annotations

import typer

from . import (alerts, archive, circular, db, fleet, formats, health, hubs, node, participants, passports, pilot,
               registry, serve, trace)
from .common import root

#: the command groups, in the order ``batteryloop --help`` lists them (after policy, serve and demo)
GROUPS: dict[str, typer.Typer] = {"db": db.app, "passport": passports.app, "participant": participants.app,
                                  "archive": archive.app, "health": health.app, "hub": hubs.app, "trace": trace.app,
                                  "node": node.app, "circular": circular.app, "formats": formats.app,
                                  "alerts": alerts.app, "pilot": pilot.app, "fleet": fleet.app,
                                  "registry": registry.app}

app = typer.Typer(help="batteryloop: the EV battery passport registry and circular-economy platform.",
                  no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None, cls=root(GROUPS))
app.command()(serve.policy)
app.command()(serve.serve)
app.command()(serve.demo)


def main() -> None:
    app()


__all__ = ["app", "main"]
