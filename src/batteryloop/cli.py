"""The batteryloop command line (Typer): serve, demo, database, participants and passports."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import orjson
import typer
from rich.console import Console

from .access import Caller
from .config import Settings, get_settings
from .errors import BatteryloopError

app = typer.Typer(help="batteryloop: the EV battery passport registry and circular-economy platform.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
passport_app = typer.Typer(help="Battery passports: create, show, history, QR code, export, import.",
                           no_args_is_help=True)
participant_app = typer.Typer(help="Participants and their API tokens.", no_args_is_help=True)
archive_app = typer.Typer(help="Move a node's complete state to another node (passports, versions, ledger, public keys).",
                          no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(passport_app, name="passport")
app.add_typer(participant_app, name="participant")
app.add_typer(archive_app, name="archive")


def _register_subcommands() -> None:
    from .cli_circular import app as circular_app
    from .cli_formats import app as formats_app
    from .cli_health import app as health_app
    from .cli_hubs import app as hub_app
    from .cli_trace import app as trace_app
    from .exchange.cli import app as node_app

    app.add_typer(health_app, name="health")
    app.add_typer(hub_app, name="hub")
    app.add_typer(trace_app, name="trace")
    app.add_typer(node_app, name="node")
    app.add_typer(circular_app, name="circular")
    app.add_typer(formats_app, name="formats")

console = Console(stderr=True, soft_wrap=True)
ADMIN = Caller(is_admin=True)


def _services(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    from .services import build_services

    return build_services(settings or get_settings())


def _fail(exc: BatteryloopError) -> None:
    console.print(f"[red]error:[/red] {exc.detail}")
    for e in getattr(exc, "errors", [])[:20]:
        console.print(f"  - {e.get('message')}")
    raise typer.Exit(2)


def _caller(s, as_participant: str | None) -> Caller:  # type: ignore[no-untyped-def]
    if as_participant is None:
        return ADMIN
    from .participants import Role

    p = s.participants.get(as_participant)
    return Caller(p["id"], frozenset(Role(r) for r in p["roles"]))


def _print_json(obj: Any) -> None:
    sys.stdout.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode() + "\n")


@app.command()
def policy() -> None:
    """Print the authorization policy: each action and the relations (and roles) that allow it, as Markdown."""
    from .access import policy_table

    lines = ["| action | allowed to (the node admin: always) |", "|---|---|"]
    lines += [f"| `{r['action']}` | {r['allowed']} |" for r in policy_table()]
    sys.stdout.write("\n".join(lines) + "\n")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1) -> None:
    """Serve the API (OpenAPI at /docs), the passport pages and the dashboard."""
    import uvicorn

    from .store.db import Store

    Store(get_settings().database_url).upgrade()
    console.print(f"serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    # uvicorn would believe X-Forwarded-For from any loopback peer; the app's own rate limiter decides which
    # proxies to believe (BATTERYLOOP_TRUSTED_PROXIES), so uvicorn believes none
    uvicorn.run("batteryloop.server:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", proxy_headers=False)


@app.command()
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
    from .sim.demo import run_demo

    settings = get_settings()
    try:
        summary = run_demo(settings, packs=packs, years=years, seed=seed, start_year=start_year, dataspace=dataspace,
                           fresh=fresh, console=console)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(summary, highlight=False)
    if not no_serve:
        serve(host=host, port=port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (also done at start-up)."""
    from .store.db import Store
    from .store.migrate import current

    settings = get_settings()
    store = Store(settings.database_url)
    store.upgrade()
    console.print(f"database at revision {current(store)}: {settings.database_url}")


@participant_app.command("add")
def participant_add(id: str, name: str, country: str,
                    role: Annotated[list[str], typer.Option("--role", help="repeat for several roles")],
                    token: Annotated[bool, typer.Option(help="also issue an API token and print it")] = True) -> None:
    """Register a participant (BPNL, Ouranos operator id or Korean business number)."""
    s = _services()
    try:
        p = s.participants.create({"id": id, "name": name, "country": country, "roles": role})
        if token:
            p["token"] = s.participants.issue_token(p["id"], "cli")
    except BatteryloopError as exc:
        _fail(exc)
    _print_json(p)


@participant_app.command("list")
def participant_list() -> None:
    """List participants."""
    _print_json(_services().participants.list())


@participant_app.command("token")
def participant_token(participant_id: str, label: str = "cli",
                      ttl_days: Annotated[Optional[int], typer.Option(
                          min=0, help="days the token lives (default: BATTERYLOOP_TOKEN_TTL_DAYS; 0: never expires)")]
                      = None) -> None:
    """Issue a new API token for a participant (printed once; stored hashed; its id and expiry on stderr)."""
    from datetime import timedelta

    s = _services()
    try:
        t = s.participants.issue(participant_id, label, None if ttl_days is None else timedelta(days=ttl_days))
    except BatteryloopError as exc:
        _fail(exc)
    print(t["token"])
    console.print(f"token {t['id']} of {participant_id}, expires {t['expires_at'] or 'never'}", highlight=False)


@participant_app.command("tokens")
def participant_tokens(participant_id: str) -> None:
    """List a participant's API tokens: id, label, created, expires, revoked, last used (never the token)."""
    s = _services()
    try:
        _print_json(s.participants.tokens(participant_id))
    except BatteryloopError as exc:
        _fail(exc)


@participant_app.command("revoke-token")
def participant_revoke_token(
        participant_id: str,
        token_id: Annotated[Optional[int], typer.Argument(help="the token's id (see `participant tokens`)")] = None,
        all_: Annotated[bool, typer.Option("--all", help="revoke all of the participant's tokens")] = False) -> None:
    """Revoke one API token (by id) or, with --all, every token of a participant.

    A running server refuses it within two seconds (how long it caches an authentication)."""
    if (token_id is None) == (not all_):
        console.print("[red]error:[/red] give a TOKEN_ID or --all (not both)")
        raise typer.Exit(2)
    s = _services()
    try:
        if all_:
            n = s.participants.revoke_tokens(participant_id)
            console.print(f"revoked {n} token{'s' if n != 1 else ''} of {participant_id}")
        else:
            _print_json(s.participants.revoke_token(participant_id, token_id))  # type: ignore[arg-type]
    except BatteryloopError as exc:
        _fail(exc)


@passport_app.command("create")
def passport_create(file: Annotated[Path, typer.Argument(help="JSON file with the battery data")],
                    as_: Annotated[Optional[str], typer.Option("--as", help="act as this participant")] = None) -> None:
    """Issue one passport from a JSON file of battery data."""
    s = _services()
    try:
        data = json.loads(_read_text(file))
        _print_json(s.passports.create_passport(data, _caller(s, as_)))
    except BatteryloopError as exc:
        _fail(exc)


@passport_app.command("import")
def passport_import(file: Annotated[Path, typer.Argument(help="JSON-lines file, one passport per line; with --format "
                                                         "a Catena-X, IDTA SAMM, Battery Pass, AAS JSON or AASX file")],
                    as_: Annotated[Optional[str], typer.Option("--as", help="act as this participant")] = None,
                    format: Annotated[Optional[str], typer.Option(
                        help="auto, catenax, idta (idta-samm), batterypass, aas-json or aasx: one passport in a "
                             "standard format (default: our JSON lines)")] = None,
                    lenient: Annotated[bool, typer.Option(help="with --format: drop invalid values (reported) "
                                                               "instead of refusing")] = False,
                    default: Annotated[Optional[list[str]], typer.Option(
                        "--default", help="with --format: KEY=VALUE for a field the format lacks")] = None) -> None:
    """Import passports from JSON lines, all or nothing; the report names each bad record.

    With --format, one passport in a standard format (as `import-standard`): strict by default."""
    import time

    if format is not None:
        passport_import_standard(file, format=format, lenient=lenient, default=default, as_=as_)
        return
    s = _services()

    def records():  # type: ignore[no-untyped-def]
        with file.open("rb") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        raise BatteryloopError(f"{file}:{n}: not valid JSON ({exc})") from None

    t0 = time.perf_counter()
    try:
        r = s.passports.import_passports(records(), _caller(s, as_))
    except BatteryloopError as exc:
        _fail(exc)
    dt = time.perf_counter() - t0
    if r.errors:
        for e in r.errors:
            console.print(f"[red]record {e['index'] + 1}:[/red] {e['message']}")
        console.print(f"nothing stored: {len(r.errors)} invalid record(s) of {r.received}")
        raise typer.Exit(2)
    console.print(f"stored {r.stored} passports in {dt:.2f} s ({r.stored / dt:,.0f}/s)")


@passport_app.command("show")
def passport_show(passport_id: str,
                  as_: Annotated[Optional[str], typer.Option("--as", help="view as this participant (default: public)")] = None) -> None:
    """Show a passport as a given participant sees it (anonymous: the public tier)."""
    s = _services()
    try:
        c = _caller(s, as_) if as_ else Caller()
        _print_json(s.passports.get_view(passport_id, c))
    except BatteryloopError as exc:
        _fail(exc)


@passport_app.command("history")
def passport_history(passport_id: str) -> None:
    """List a passport's versions and check their hash chain."""
    s = _services()
    try:
        _print_json({"versions": s.passports.history(passport_id, ADMIN), "verify": s.passports.verify(passport_id)})
    except BatteryloopError as exc:
        _fail(exc)


@passport_app.command("qr")
def passport_qr(passport_id: str, out: Annotated[Path, typer.Option("--out", "-o", help=".svg or .png file")]) -> None:
    """Write the QR code (ISO/IEC 18004) of the passport's web link as SVG or PNG."""
    from .passport.identifiers import qr_png, qr_svg, web_link

    s = _services()
    try:
        s.passports.get_record(passport_id)
    except BatteryloopError as exc:
        _fail(exc)
    link = web_link(s.settings.public_base_url, passport_id)
    if out.suffix.lower() not in (".svg", ".png"):
        console.print("[red]error:[/red] --out must end in .svg or .png")
        raise typer.Exit(2)
    out.write_bytes(qr_svg(link) if out.suffix.lower() == ".svg" else qr_png(link))
    console.print(f"wrote {out} → {link}")


@passport_app.command("export")
def passport_export(passport_id: str,
                    tiers: Annotated[str, typer.Option(help="comma-separated tiers, or 'all'")] = "public",
                    format: Annotated[str, typer.Option(help="batteryloop, catenax, idta-samm, aas-json or aasx")] = "batteryloop",
                    out: Annotated[Optional[Path], typer.Option("--out", "-o")] = None,
                    bpnl: Annotated[Optional[list[str]], typer.Option(
                        "--bpnl", help="ID=BPNL: a participant's BPNL for this Catena-X export (see `formats bpnl-alias`)")] = None,
                    ) -> None:
    """Export a passport cut to the given access tiers (default: public), in our JSON or a standard format."""
    from .api.passports import parse_defaults
    from .passport.exporting import export_passport

    if bpnl and format != "catenax-bom-as-built":
        console.print("[red]error:[/red] --bpnl applies to --format catenax-bom-as-built (the other formats name "
                      "companies as the passport does)")
        raise typer.Exit(2)
    s = _services()
    try:
        # the node admin exports, for the audience the tiers name: below the operator and authority tiers the
        # file carries no supply-chain data (the BOM's as-built suppliers), as that audience could not read it
        exported = export_passport(s.passports, s.store, passport_id, ADMIN, tiers=tiers, fmt=format,
                                   bpnl_map=parse_defaults(bpnl or []))
        payload = exported.body if format == "aasx" or exported.body.endswith(b"\n") else exported.body + b"\n"
        if format != "batteryloop":
            console.print(f"{format}: " + ", ".join(f"{len(v)} {k}" for k, v in exported.report.items()
                                                    if isinstance(v, list) and v))
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except BatteryloopError as exc:
        _fail(exc)
    if out:
        out.write_bytes(payload)
    elif isinstance(payload, bytes) and format == "aasx":
        console.print("[red]error:[/red] an AASX package is binary: give --out FILE.aasx")
        raise typer.Exit(2)
    else:
        sys.stdout.write(payload.decode())


@passport_app.command("import-standard")
def passport_import_standard(
        file: Annotated[Path, typer.Argument(help="a Catena-X, IDTA SAMM or AAS JSON file, or an AASX package")],
        format: Annotated[str, typer.Option(help="auto, catenax, idta-samm, aas-json or aasx")] = "auto",
        lenient: Annotated[bool, typer.Option(help="drop invalid values (reported) instead of refusing")] = False,
        default: Annotated[Optional[list[str]], typer.Option("--default", help="KEY=VALUE for a field the format lacks")] = None,
        as_: Annotated[Optional[str], typer.Option("--as", help="act as this participant")] = None) -> None:
    """Import one passport from a standard format; the model is registered if new. Refused imports store nothing."""
    from .api.passports import parse_defaults
    from .passport.service import import_standard_payload

    s = _services()
    try:
        res = import_standard_payload(s.passports, _caller(s, as_), file.read_bytes(), fmt=format, lenient=lenient,
                                      defaults=parse_defaults(default or []))
    except BatteryloopError as exc:
        _fail(exc)
    _print_json(res)


@archive_app.command("export")
def archive_export(file: Annotated[Path, typer.Argument(help="the archive to write (.zip)")]) -> None:
    """Write passports, versions, models, participants' public keys, the ledger and the audit log to FILE."""
    from .archive import export_archive

    m = export_archive(_services(), file)
    console.print(f"wrote {file}: " + ", ".join(f"{v['rows']} {k.removesuffix('.jsonl')}" for k, v in m["files"].items()))


@archive_app.command("import")
def archive_import(file: Annotated[Path, typer.Argument(help="an archive written by `archive export`")]) -> None:
    """Load an archive into this (empty) node; every hash, signature and version chain is checked again."""
    from .archive import import_archive

    try:
        res = import_archive(_services(), file)
    except BatteryloopError as exc:
        _fail(exc)
    _print_json({k: v for k, v in res.items() if k != "manifest"})


def _read_text(path: Path) -> str:
    """Read a text file in UTF-8 (with or without BOM) or UTF-16 with a BOM."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


_register_subcommands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
