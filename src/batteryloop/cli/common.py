"""What every ``batteryloop`` command group shares: the group factory, JSON on stdout, clear errors on stderr
(exit 2), and the services of the composition root (:func:`batteryloop.services.build_services`).

Light on purpose: every module of the command line is imported for ``batteryloop --help``, so this one imports
the standard library, typer and orjson only; the domain, the store and rich come in when a command runs.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import orjson
import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console

    from ..access import Caller
    from ..config import Settings
    from ..errors import BatteryloopError
    from ..reference import References
    from ..services import Services

T = TypeVar("T")


class HelpGroup(TyperGroup):
    """A command group whose help lists each command with the first paragraph of its help text, whole.

    The command line runs without rich's help formatting (``rich_markup_mode=None``: importing rich's help
    renderer costs more than the rest of ``--help``); click alone would cut each line at the terminal's width.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        _plain_flags(self, ctx)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and not isinstance(cmd, HelpGroup):
            _plain_flags(cmd, ctx)
        return name, cmd, rest

    def format_commands(self, ctx: typer.Context, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            text = inspect.cleandoc(cmd.short_help or cmd.help or "").split("\n\n")[0].replace("\n", " ")
            rows.append((name, text))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class _LazyGroup(HelpGroup):
    """A command group of the top level whose commands typer builds from their functions on first use.

    Building a command reads its function's signature and evaluates its annotations, typer's options
    included: for the whole command line that is as long as importing typer. ``batteryloop --help`` needs
    each group's help text only, ``batteryloop trace …`` the trace group's commands only."""

    def __init__(self, name: str, source: typer.Typer) -> None:
        self._source: typer.Typer | None = source
        super().__init__(name=name, help=source.info.help, no_args_is_help=True, rich_markup_mode=None)

    @property
    def commands(self) -> Any:  # type: ignore[override]
        if self._source is not None:
            from typer.main import get_group  # a group even of one command, as add_typer makes it

            self._commands = get_group(self._source).commands
            self._source = None
        return self._commands

    @commands.setter
    def commands(self, value: Any) -> None:
        self._commands = value


def root(groups: dict[str, typer.Typer]) -> type[HelpGroup]:
    """The top-level group's class: its own commands, then ``groups`` (name → Typer app), built lazily."""

    class Root(HelpGroup):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            for name, source in groups.items():
                self.add_command(_LazyGroup(name, source), name)

    return Root


def _plain_flags(command: Any, ctx: typer.Context) -> None:
    """Typer coerces an option's value with a pydantic TypeAdapter it builds on first use, even for a flag left
    unset (None): ``--help`` of each command on the way and the top-level ``--install-completion`` and
    ``--show-completion`` alone would import pydantic (a quarter of a second) on every run, ``batteryloop
    trace --help`` included. Their value is None or a bool, so they get typer's pass-through coercion instead.
    Typer's internals: another typer that lacks them only starts slower (tests/test_cli_structure.py says so)."""
    try:
        from typer._coercion import PassThroughRuntimeParam
    except ImportError:  # pragma: no cover
        return
    flags = [p for p in command.params if p.name in ("install_completion", "show_completion")]
    for p in [*flags, command.get_help_option(ctx)]:
        desc = getattr(p, "type_descriptor", None)
        if desc is not None and desc.annotation is bool and getattr(p, "_runtime_param", False) is None:
            p._runtime_param = PassThroughRuntimeParam(parameter_info=desc.parameter_info, annotation=bool)


def group(help: str, **kw: Any) -> typer.Typer:  # noqa: A002
    """A command group: no arguments prints its help; plain help formatting (see :class:`HelpGroup`)."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, cls=HelpGroup, **kw)


class _Console:
    """rich's Console on stderr (soft-wrapped), made on first use: importing rich is a tenth of a second."""

    _real: Console | None = None

    def get(self) -> Console:
        if _Console._real is None:
            from rich.console import Console

            _Console._real = Console(stderr=True, soft_wrap=True)
        return _Console._real

    def print(self, *objects: Any, **kw: Any) -> None:
        self.get().print(*objects, **kw)


console = _Console()


def out(obj: object) -> None:
    """Print a result as indented JSON on stdout (numpy values and dates included)."""
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY, default=str).decode()
                     + "\n")


def error(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def fail(exc: BatteryloopError) -> NoReturn:
    """One of our errors: its detail and up to 20 of its field errors on stderr, exit 2."""
    console.print(f"[red]error:[/red] {exc.detail}")
    for e in getattr(exc, "errors", [])[:20]:
        console.print(f"  - {e.get('message')}")
    raise typer.Exit(2)


@contextmanager
def failing() -> Iterator[None]:
    """Run the block; an error of ours becomes :func:`fail`'s message and exit code 2."""
    from ..errors import BatteryloopError

    try:
        yield
    except BatteryloopError as exc:
        fail(exc)


def guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; any error of ours becomes one clear message (field, value, rule) and exit code 2."""
    from pydantic import ValidationError

    from ..circular import CircularInputError
    from ..errors import BatteryloopError
    from ..health.errors import HealthError

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


def services(settings: Settings | None = None) -> Services:
    """The node's services, built by the composition root from the settings (default: the environment)."""
    from ..config import get_settings
    from ..services import build_services

    return build_services(settings or get_settings())


def admin() -> Caller:
    """The node admin: what a command acts as without ``--as``."""
    from ..access import Caller

    return Caller(is_admin=True)


def caller(s: Services, as_participant: str | None) -> Caller:
    """The participant a command acts as (``--as ID``), or the node admin."""
    if as_participant is None:
        return admin()
    from ..access import Caller
    from ..participants import Role

    p = s.participants.get(as_participant)
    return Caller(p["id"], frozenset(Role(r) for r in p["roles"]))


def reference_overrides(path: Path | None) -> References | None:
    """The reference data with a file's overrides (``--references FILE``), or None for the defaults."""
    from ..reference import References

    return References.default().override_file(path) if path else None
