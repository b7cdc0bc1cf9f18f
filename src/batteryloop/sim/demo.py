"""``batteryloop demo``: play the closed-loop pilot (:mod:`batteryloop.sim.loop`) on the configured store,
with progress bars, and print its summary and the dashboard's address."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import Settings
from ..store.urls import sqlite_file
from . import pilot


def _fresh(settings: Settings) -> None:
    import shutil

    db = sqlite_file(settings.database_url)
    if db is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(db + suffix).unlink(missing_ok=True)
    for sub in ("nodes", "keys"):
        shutil.rmtree(settings.var_dir / sub, ignore_errors=True)


def run_demo(settings: Settings, *, packs: int = 2000, seed: int = 42, years: int = 10, start_year: int | None = None,
             dataspace: bool = True, fresh: bool = True, console: Console | None = None) -> str:
    """Run the pilot and return the summary text (the report is stored in ``pilot_runs``)."""
    from ..services import build_services
    from .loop import PilotConfig, run_pilot

    console = console or Console(stderr=True)
    cfg = PilotConfig(packs=packs, years=years, seed=seed, start_year=start_year, dataspace=dataspace)
    if fresh:
        _fresh(settings)
    t0 = time.perf_counter()
    s = build_services(settings)
    with Progress(TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TextColumn("packs"),
                  TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task(f"pilot {cfg.start_year}–{cfg.start_year + cfg.years - 1}", total=cfg.packs)

        def tick(what: str, built: int, total: int) -> None:
            progress.update(task, completed=built, total=total, description=f"pilot: {what}")

        report = run_pilot(s, cfg, progress=tick)
    tokens: dict[str, str] = report.pop("_tokens")
    parts = {p["id"]: p for p in pilot.PARTICIPANTS + pilot.LOOP_PARTICIPANTS}
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    token_file = settings.var_dir / "demo-tokens.json"
    token_file.write_bytes(orjson.dumps(
        {pid: {"name": parts[pid]["name"], "roles": parts[pid]["roles"], "token": t} for pid, t in tokens.items()},
        option=orjson.OPT_INDENT_2))
    token_file.chmod(0o600)
    s.store.dispose()
    return summary_text(report, settings, token_file, time.perf_counter() - t0)


def summary_text(report: dict[str, Any], settings: Settings, token_file: Path, seconds: float) -> str:
    sm = report["summary"]
    routes = ", ".join(f"{k} {v}" for k, v in sm["routes"].items()) or "none"
    rc = "; ".join(f"{m}: " + ", ".join(f"{el} {v:.1f} %" for el, v in els.items() if v is not None)
                   for m, els in sm["recycled_content_pct_last_year"].items())
    fp = ", ".join(f"{m} {v:.4f}" if isinstance(v, (int, float)) else f"{m} {v}"
                   for m, v in sm["footprint_total_kgco2e_per_kwh"].items())
    cash = ", ".join(f"{k} {v / 1e6:+.2f} M$" for k, v in sm["net_cash_usd_by_participant_type"].items())
    out = sm["outflow_findings"]
    first = report["decisions_sample"][0]["pack"] if report["decisions_sample"] else None
    base = settings.public_base_url
    lines = [
        f"pilot {sm['start_year']}–{sm['start_year'] + sm['years'] - 1} ready in {seconds:.1f} s "
        f"(seed {sm['seed']}, run {report.get('run_id')})",
        f"  packs {sm['packs']} · passports {sm['passports']} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(sm['passports_by_status'].items()))})",
        f"  ledger: {sm['ledger_events']} signed events, verified: {'yes' if sm['ledger_verified'] else 'NO'}",
        f"  route decisions {sm['route_decisions']}: {routes}",
        f"  recovered {', '.join(f'{el} {kg:,.0f} kg' for el, kg in sm['recovered_element_kg'].items())}",
        f"  recycled content of {sm['start_year'] + sm['years'] - 1}'s packs (mass balance): {rc}",
        f"  carbon footprint (kg CO2e per kWh over the service life): {fp}",
        f"  outflow report: {', '.join(f'{k} {v}' for k, v in out.items()) or 'no findings'} "
        f"({sm['packs_left_the_loop']} packs left the loop)",
        f"  net cash by participant type: {cash}",
        f"  participants' API tokens: {token_file}",
        f"dashboard: {base}/pilot  ·  passports: {base}/" + (f"  ·  a retired pack: {base}/p/{first}" if first else ""),
    ]
    return "\n".join(lines)
