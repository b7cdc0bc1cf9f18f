"""``batteryloop hub``: simulate a second-life storage hub's year, or a virtual power plant's day."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import caller, console, error, group, services
from .common import out as _out
from .common import reference_overrides as _refs

app = group("Second-life storage hubs (PV + repurposed packs + charging/swapping) and virtual power plants.")


def _run(fn):  # type: ignore[no-untyped-def]
    """Run a hub calculation: errors name field, value and rule; HiGHS's banner stays off stdout."""
    from ..circular import CircularInputError
    from ..hubs import DispatchError

    try:
        with _quiet_stdout():
            return fn()
    except CircularInputError as exc:
        error(str(exc))
    except DispatchError as exc:
        console.print(f"[red]solver error:[/red] {exc}")
        raise typer.Exit(3) from None


@contextlib.contextmanager
def _quiet_stdout():  # type: ignore[no-untyped-def]
    """Silence stdout at the file-descriptor level (HiGHS prints its banner from C)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


@app.command("simulate")
def simulate(config: Annotated[Path, typer.Argument(help="hub config (TOML, YAML or JSON; see docs/hubs.md)")],
             days: Annotated[int, typer.Option(min=1, max=3660)] = 365,
             method: Annotated[str, typer.Option(help="optimised (HiGHS) or rule_based")] = "optimised",
             compare: Annotated[bool, typer.Option(help="also run the other method on the same days")] = True,
             references: Annotated[Optional[Path], typer.Option(help="TOML/YAML reference overrides")] = None) -> None:
    """Simulate a hub's year: dispatch, pack ageing, economics (LCOS second life vs new)."""
    from ..hubs import load_hub_config
    from ..hubs.report import hub_report

    cfg = _run(lambda: load_hub_config(config))
    if isinstance(cfg, list):
        error("this config holds several hubs: use `batteryloop hub vpp`")
    _out(_run(lambda: hub_report(cfg, days=days, method=method, compare=compare, references=_refs(references))))


@app.command("vpp")
def vpp(config: Annotated[Path, typer.Argument(help="config with hubs = [...]")],
        signal: Annotated[Optional[Path], typer.Option(help="JSON grid signal {request_kw: [...per step], penalty_per_kwh}; "
                                                       "default: 50 kW up per hub from 17:00 to 21:00")] = None,
        day: Annotated[int, typer.Option(min=0, max=365)] = 180,
        references: Annotated[Optional[Path], typer.Option(help="TOML/YAML reference overrides")] = None) -> None:
    """A virtual power plant day: offers per hub and step, and delivery against the grid signal."""
    from ..hubs import load_hub_config
    from ..hubs.report import vpp_report

    cfg = _run(lambda: load_hub_config(config))
    hubs = cfg if isinstance(cfg, list) else [cfg]
    if signal is not None:
        import orjson

        sig = orjson.loads(signal.read_bytes())
    else:
        steps = 24 * (hubs[0].steps_per_hour if hasattr(hubs[0], "steps_per_hour") else 1)
        per_h = steps // 24
        sig = {"request_kw": [50.0 * len(hubs) if 17 <= i // per_h < 21 else 0.0 for i in range(steps)]}
    _out(_run(lambda: vpp_report(hubs, sig, day=day, references=_refs(references))))


@app.command("plan")
def plan(as_: Annotated[str, typer.Option("--as", help="the second-life operator whose repurposed packs to use")],
         out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write the hub config (JSON) here")] = None,
         site: Annotated[Optional[str], typer.Option(help="where the hub stands: a site of the hub_sites reference "
                                                         "(Rotterdam, Jeju, Shanghai…) or a country code; default: "
                                                         "the operator's country")] = None,
         packs_per_string: int = 4) -> None:
    """Build a hub from the operator's repurposed packs (passports → grades → balanced strings).

    Its clock, tariff, currency, solar resource and swap demand come from its site (the operator's country's
    default site unless --site is given)."""
    import orjson

    from ..errors import BatteryloopError
    from ..hubs.service import plan_from_passports

    s = services()
    try:
        where = site or s.participants.get(as_)["country"]
        res = _run(lambda: plan_from_passports(s.passports, caller(s, as_), packs_per_string=packs_per_string,
                                               site=where))
    except BatteryloopError as exc:
        error(exc.detail)
    if out and res["configs"]:
        out.write_bytes(orjson.dumps(res["configs"][0], option=orjson.OPT_INDENT_2))
        console.print(f"wrote {out}: {len(res['configs'][0]['strings'])} strings from {res['packs']} packs")
    _out({k: v for k, v in res.items() if k != "configs"} | {"hubs": len(res["configs"])})


@app.command("operate")
def operate(config: Annotated[Path, typer.Argument(help="hub config whose packs name their passport_id")],
            as_: Annotated[str, typer.Option("--as", help="the packs' economic operator")],
            days: Annotated[int, typer.Option(min=1, max=3660)] = 365,
            dry_run: Annotated[bool, typer.Option(help="show the passport changes without writing them")] = False) -> None:
    """Run the hub's year and write each pack's new state of health and usage into its passport."""
    from ..errors import BatteryloopError
    from ..hubs import load_hub_config, prepare_hub, simulate_year
    from ..hubs.service import write_year_to_passports

    s = services()
    cfg = _run(lambda: load_hub_config(config))
    year = _run(lambda: simulate_year(prepare_hub(cfg), days=days))
    try:
        _out(write_year_to_passports(s.passports, year, caller(s, as_), dry_run=dry_run))
    except BatteryloopError as exc:
        error(exc.detail)
