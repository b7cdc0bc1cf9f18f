"""What every ``batteryloop`` command group shares: JSON on stdout, clear errors on stderr, exit 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import orjson
import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def out(obj: object) -> None:
    """Print a result as indented JSON on stdout (numpy values and dates included)."""
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY, default=str).decode()
                     + "\n")


def guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; any error of ours becomes one clear message (field, value, rule) and exit code 2."""
    from pydantic import ValidationError

    from .circular import CircularInputError
    from .errors import BatteryloopError
    from .health.errors import HealthError

    try:
        return fn()
    except (CircularInputError, HealthError) as exc:
        console.print(f"[red]error:[/red] {exc}")
    except BatteryloopError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        for e in getattr(exc, "errors", [])[:10]:
            if e.get("message") and e["message"] not in exc.detail:
                console.print(f"  - {e['message']}")
    except ValidationError as exc:
        for e in exc.errors():
            console.print(f"[red]error:[/red] {'.'.join(str(x) for x in e['loc']) or 'input'}: {e['msg']}")
    raise typer.Exit(2)


