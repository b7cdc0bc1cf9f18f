"""The node's own commands: ``batteryloop policy``, ``serve`` and ``demo``.

``serve`` hands uvicorn the string ``batteryloop.server:create_app``: the command line never imports the
server, the API or the web pages itself.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from .common import console, error


def policy() -> None:
    """Print the authorization policy: each action and the relations (and roles) that allow it, as Markdown."""
    from ..access import policy_table

    lines = ["| action | allowed to (the node admin: always) |", "|---|---|"]
    lines += [f"| `{r['action']}` | {r['allowed']} |" for r in policy_table()]
    sys.stdout.write("\n".join(lines) + "\n")


def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1) -> None:
    """Serve the API (OpenAPI at /docs), the passport pages and the dashboard."""
    import uvicorn

    from ..config import get_settings
    from ..store.db import Store

    Store(get_settings().database_url).upgrade()
    console.print(f"serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    # uvicorn would believe X-Forwarded-For from any loopback peer; the app's own rate limiter decides which
    # proxies to believe (BATTERYLOOP_TRUSTED_PROXIES), so uvicorn believes none
    uvicorn.run("batteryloop.server:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", proxy_headers=False)


def demo(packs: Annotated[int, typer.Option(help="packs the pilot builds over its years (up to 1,000,000)")] = 2000,
         years: Annotated[int, typer.Option(help="years the pilot runs (it ends with last year)")] = 10,
         seed: Annotated[int, typer.Option(help="random seed (same seed, same pilot)")] = 42,
         start_year: Annotated[Optional[int], typer.Option(help="first year (default: ends with last year)")] = None,
         dataspace: Annotated[bool, typer.Option(help="run the connector nodes (DSP bridge, passport pulls)")] = True,
         no_serve: Annotated[bool, typer.Option("--no-serve", help="run the pilot and exit")] = False,
         fresh: Annotated[bool, typer.Option(help="start from an empty database file (SQLite only)")] = True,
         host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the closed-loop pilot (mines to recycling and back, two data spaces, second life, BaaS) and serve it.

    Everything goes through the services: passports, signed ledger events, route decisions, DSP transfers.
    Prints a summary and the dashboard address (/pilot)."""
    from ..config import get_settings
    from ..sim.demo import run_demo

    settings = get_settings()
    try:
        summary = run_demo(settings, packs=packs, years=years, seed=seed, start_year=start_year, dataspace=dataspace,
                           fresh=fresh, console=console.get())
    except ValueError as exc:
        error(str(exc))
    console.print(summary, highlight=False)
    if not no_serve:
        serve(host=host, port=port)
