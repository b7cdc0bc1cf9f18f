"""``batteryloop passport``: create, import, show, history, QR code, export, import from a standard format."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import admin, caller, console, error, failing, group, out, services

app = group("Battery passports: create, show, history, QR code, export, import.")

AsOpt = Annotated[Optional[str], typer.Option("--as", help="act as this participant")]


@app.command("create")
def passport_create(file: Annotated[Path, typer.Argument(help="JSON file with the battery data")],
                    as_: AsOpt = None) -> None:
    """Issue one passport from a JSON file of battery data."""
    import json

    s = services()
    with failing():
        data = json.loads(_read_text(file))
        out(s.passports.create_passport(data, caller(s, as_)))


@app.command("import")
def passport_import(file: Annotated[Path, typer.Argument(help="JSON-lines file, one passport per line; with --format "
                                                         "a Catena-X, IDTA SAMM, Battery Pass, AAS JSON or AASX file")],
                    as_: AsOpt = None,
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

    import orjson

    from ..errors import BatteryloopError

    if format is not None:
        passport_import_standard(file, format=format, lenient=lenient, default=default, as_=as_)
        return
    s = services()

    def records():  # type: ignore[no-untyped-def]
        with file.open("rb") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        raise BatteryloopError(f"{file}:{n}: not valid JSON ({exc})") from None

    t0 = time.perf_counter()
    with failing():
        r = s.passports.import_passports(records(), caller(s, as_))
    dt = time.perf_counter() - t0
    if r.errors:
        for e in r.errors:
            console.print(f"[red]record {e['index'] + 1}:[/red] {e['message']}")
        console.print(f"nothing stored: {len(r.errors)} invalid record(s) of {r.received}")
        raise typer.Exit(2)
    console.print(f"stored {r.stored} passports in {dt:.2f} s ({r.stored / dt:,.0f}/s)")


@app.command("show")
def passport_show(passport_id: str,
                  as_: Annotated[Optional[str], typer.Option("--as", help="view as this participant (default: public)")] = None) -> None:
    """Show a passport as a given participant sees it (anonymous: the public tier)."""
    from ..access import Caller

    s = services()
    with failing():
        c = caller(s, as_) if as_ else Caller()
        out(s.passports.get_view(passport_id, c))


@app.command("history")
def passport_history(passport_id: str) -> None:
    """List a passport's versions and check their hash chain."""
    s = services()
    with failing():
        out({"versions": s.passports.history(passport_id, admin()), "verify": s.passports.verify(passport_id)})


@app.command("qr")
def passport_qr(passport_id: str, out: Annotated[Path, typer.Option("--out", "-o", help=".svg or .png file")]) -> None:
    """Write the QR code (ISO/IEC 18004) of the passport's web link as SVG or PNG."""
    from ..passport.identifiers import qr_png, qr_svg, web_link

    s = services()
    with failing():
        s.passports.get_record(passport_id)
    link = web_link(s.settings.public_base_url, passport_id)
    if out.suffix.lower() not in (".svg", ".png"):
        error("--out must end in .svg or .png")
    out.write_bytes(qr_svg(link) if out.suffix.lower() == ".svg" else qr_png(link))
    console.print(f"wrote {out} → {link}")


@app.command("export")
def passport_export(passport_id: str,
                    tiers: Annotated[str, typer.Option(help="comma-separated tiers, or 'all'")] = "public",
                    format: Annotated[str, typer.Option(help="batteryloop, catenax, idta-samm, aas-json or aasx")] = "batteryloop",
                    out: Annotated[Optional[Path], typer.Option("--out", "-o")] = None,
                    bpnl: Annotated[Optional[list[str]], typer.Option(
                        "--bpnl", help="ID=BPNL: a participant's BPNL for this Catena-X export (see `formats bpnl-alias`)")] = None,
                    ) -> None:
    """Export a passport cut to the given access tiers (default: public), in our JSON or a standard format."""
    from ..passport.exporting import export_passport
    from ..passport.service import parse_defaults

    if bpnl and format != "catenax-bom-as-built":
        error("--bpnl applies to --format catenax-bom-as-built (the other formats name companies as the passport "
              "does)")
    s = services()
    with failing():
        try:
            # the node admin exports, for the audience the tiers name: below the operator and authority tiers the
            # file carries no supply-chain data (the BOM's as-built suppliers), as that audience could not read it
            exported = export_passport(s.passports, s.store, passport_id, admin(), tiers=tiers, fmt=format,
                                       bpnl_map=parse_defaults(bpnl or [], "bpnl"))
            payload = exported.body if format == "aasx" or exported.body.endswith(b"\n") else exported.body + b"\n"
            if format != "batteryloop":
                console.print(f"{format}: " + ", ".join(f"{len(v)} {k}" for k, v in exported.report.items()
                                                        if isinstance(v, list) and v))
        except ValueError as exc:
            error(str(exc))
    if out:
        out.write_bytes(payload)
    elif isinstance(payload, bytes) and format == "aasx":
        error("an AASX package is binary: give --out FILE.aasx")
    else:
        sys.stdout.write(payload.decode())


@app.command("import-standard")
def passport_import_standard(
        file: Annotated[Path, typer.Argument(help="a Catena-X, IDTA SAMM, Battery Pass 1.2 or AAS JSON file, or an "
                                                  "AASX package")],
        format: Annotated[str, typer.Option(help="auto, catenax, idta-samm, batterypass, aas-json or aasx")] = "auto",
        lenient: Annotated[bool, typer.Option(help="drop invalid values (reported) instead of refusing")] = False,
        default: Annotated[Optional[list[str]], typer.Option("--default", help="KEY=VALUE for a field the format lacks")] = None,
        as_: AsOpt = None) -> None:
    """Import one passport from a standard format; the model is registered if new. Refused imports store nothing."""
    from ..passport.service import import_standard_payload, parse_defaults

    s = services()
    with failing():
        res = import_standard_payload(s.passports, caller(s, as_), file.read_bytes(), fmt=format, lenient=lenient,
                                      defaults=parse_defaults(default or []))
    out(res)


def _read_text(path: Path) -> str:
    """Read a text file in UTF-8 (with or without BOM) or UTF-16 with a BOM."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")
