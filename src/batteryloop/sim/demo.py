"""``batteryloop demo``: seed the pilot through the services (never by writing tables directly)."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url

from ..access import Caller
from ..config import Settings
from ..participants import Role
from . import pilot


def _caller(p: dict[str, Any]) -> Caller:
    return Caller(p["id"], frozenset(Role(r) for r in p["roles"]))


def run_demo(settings: Settings, *, packs: int = 500, seed: int = 42, fresh: bool = True,
             console: Console | None = None) -> str:
    from ..api.app import build_services

    console = console or Console(stderr=True)
    url = make_url(settings.database_url)
    if fresh and url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
    t0 = time.perf_counter()
    s = build_services(settings)
    parts = {p["id"]: p for p in pilot.PARTICIPANTS}
    tokens: dict[str, str] = {}
    for p in pilot.PARTICIPANTS:
        s.participants.create(p)
        tokens[p["id"]] = s.participants.issue_token(p["id"], "demo")
    operator = _caller(parts[pilot.AUTOMAKER])
    for m in pilot.battery_models():
        s.passports.create_model(m, operator)
        # the passport's carbon-footprint fields come from the circular package (Art. 7, Annex II)
        s.circular.apply_model_footprint(m["model_id"], operator, manufacturing_country="DE")

    rng = random.Random(seed)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("issuing passports", total=packs)
        batch: list[dict[str, Any]] = []
        ids: list[str] = []
        for rec in pilot.generate_batteries(packs, seed=seed):
            batch.append(rec)
            if len(batch) == 1000:
                ids += _import(s, batch, operator)
                progress.advance(task, len(batch))
                batch = []
        if batch:
            ids += _import(s, batch, operator)
            progress.advance(task, len(batch))

        # the supply chain behind every pack, mine to pack, as signed events in the ledger
        from ..trace.keystore import KeyStore
        from ..trace.sim import demo_signers, record_pilot

        task_t = progress.add_task("recording the supply chain (signed ledger)", total=1)
        # (the generated chain builds nickel-cobalt cathodes: LFP packs are not traced in this demo yet)
        traced = [(pid, _model_of(pid)) for pid in ids if _model_of(pid) != "EM-LFP-60"]
        rep = record_pilot(s.store, seed=seed, packs=traced)
        if not rep.ok:
            raise RuntimeError(f"demo supply chain refused: {rep.error}")
        keys = KeyStore(settings.var_dir / "keys")
        signers = demo_signers()
        for p in pilot.PARTICIPANTS:  # this node hosts the pilot's participants: it holds their demo keys
            keys.save(signers[p["id"]])
        # the models' recycled content (Art. 8) comes from the ledger's mass balance
        import datetime as _dt

        from ..errors import NotFound

        for m in pilot.battery_models():
            try:
                fields = s.trace.passport_recycled_content(model_id=m["model_id"], year=_dt.date.today().year)
            except NotFound:
                continue  # no traced packs of this model this year: the declared figures stay
            if any(v for k, v in fields.items() if k.endswith("_pct")):
                s.passports.update_model(m["model_id"], {"recycled_content": {k: v for k, v in fields.items()
                                                                              if v is not None}},
                                         operator, reason="recycled content from the ledger (mass balance)")
        progress.advance(task_t)

        # the loop goes on: BMS updates, re-use, repurposing to second life, recycling
        n_life = max(3, packs // 20)
        task2 = progress.add_task("lifecycle changes", total=n_life * 4)
        picks = rng.sample(ids, min(len(ids), n_life * 4))
        second = _caller(parts[pilot.SECOND_LIFE])
        recycler = _caller(parts[pilot.RECYCLER_EU])
        repairer = _caller(parts[pilot.REPAIRER])
        for i, pid in enumerate(picks):
            kind = i % 4
            if kind == 0:
                rec = s.passports.get_record(pid)
                soh = round(rec.data.get("state_of_health", {}).get("soh_capacity_pct", 90.0) - 1.2, 1)
                s.passports.update_passport(pid, {"state_of_health": {"soh_capacity_pct": soh}},
                                            operator, reason="BMS state-of-health update")
                s.trace.record({"id": f"soh-{pid}-{i}", "kind": "soh_update", "actor": pilot.AUTOMAKER,
                                "occurred_at": _now(), "place": {"country": "DE", "site": "BMS telemetry"},
                                "subjects": [pid], "data": {"soh_capacity_pct": soh}}, signers[pilot.AUTOMAKER])
            elif kind == 1:
                s.passports.change_status(pid, "repair", repairer, note="module replaced")
            elif kind == 2:
                s.passports.change_status(pid, "repurpose", second, note="second-life storage hub")
            else:
                s.passports.change_status(pid, "waste", operator)
                s.passports.change_status(pid, "recycle", recycler, note="hydrometallurgical")
            progress.advance(task2)

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    token_file = settings.var_dir / "demo-tokens.json"
    token_file.write_bytes(orjson.dumps(
        {pid: {"name": parts[pid]["name"], "roles": parts[pid]["roles"], "token": t} for pid, t in tokens.items()},
        option=orjson.OPT_INDENT_2))
    token_file.chmod(0o600)
    stats = s.passports.count()
    events = s.trace.verify().events_checked
    s.store.dispose()
    dt = time.perf_counter() - t0
    return (f"pilot ready in {dt:.1f} s: {stats['passports']} passports of {stats['models']} models "
            f"({', '.join(f'{k} {v}' for k, v in sorted(stats['by_status'].items()))}); "
            f"{events} signed ledger events, verified; "
            f"participants' API tokens in {token_file}\n"
            f"dashboard: {settings.public_base_url}/  ·  a passport: {settings.public_base_url}/p/{ids[0] if ids else ''}")


def _model_of(passport_id: str) -> str:
    """The demo's model of a pack, from its serial (NMC811-…, LFP-…, NCA-…)."""
    serial = passport_id.split(".", 2)[2]
    return {"NMC811": "EM-NMC811-82", "LFP": "EM-LFP-60", "NCA": "EM-NCA-75"}[serial.split("-")[0]]


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat()


def _import(s, batch: list[dict[str, Any]], operator: Caller) -> list[str]:  # type: ignore[no-untyped-def]
    r = s.passports.import_passports(batch, operator)
    if r.errors:
        raise RuntimeError(f"demo data invalid: {r.errors[0]['message']}")
    return r.ids
