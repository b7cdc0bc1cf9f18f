"""The batteryloop command line (Typer)."""

from __future__ import annotations

import typer

app = typer.Typer(help="batteryloop: the EV battery passport registry and circular-economy platform.")


def main() -> None:
    app()
