"""The store on SQLite and PostgreSQL: transactions, all-or-nothing writes, concurrent writers, migrations."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import inspect, select

from batteryloop.errors import Conflict
from batteryloop.sim import pilot
from batteryloop.store.migrate import current
from batteryloop.store.tables import passport_versions, passports


def test_migrations_at_head(store: Any) -> None:
    assert current(store) is not None
    names = set(inspect(store.engine).get_table_names())
    assert {"participants", "api_tokens", "battery_models", "battery_model_versions", "passports",
            "passport_versions", "alembic_version"} <= names
    store.upgrade()  # idempotent


def test_the_migrations_make_the_schema_the_tables_declare(store: Any) -> None:
    """Alembic's comparison of the migrated database with the tables' metadata finds nothing to change: every
    migration (e.g. 0009's rate-limit buckets, 0012's dropped ledger indexes) matches store/tables.py."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from batteryloop.store import exchange_tables, trace_tables  # their tables join the shared metadata

    metadata = trace_tables.metadata
    assert exchange_tables.metadata is metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    with store.read() as conn:
        names = {ix["name"] for ix in inspect(conn).get_indexes("trace_events")}
    assert not names & {"ix_trace_events_kind", "ix_trace_events_actor"}


def test_sqlite_is_in_wal_mode(tmp_path: Any) -> None:
    from batteryloop.store.db import Store

    store = Store(f"sqlite:///{tmp_path}/wal.db")
    store.upgrade()
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.dispose()


def test_failed_write_leaves_nothing(pilot_services: Any) -> None:
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    svc = pilot_services.passports
    recs = list(pilot.generate_batteries(50, seed=21))
    # an exception in the middle of a transaction rolls back every row already written in it
    with pytest.raises(RuntimeError):
        with pilot_services.store.write() as conn:
            conn.execute(passports.insert(), {**_row(svc, recs[0], op)})
            raise RuntimeError("boom")
    assert svc.count()["passports"] == 0
    # a batch whose last record already exists stores none of the batch
    svc.import_passports(recs[-1:], op)
    report = svc.import_passports(recs, op)
    assert report.stored == 0 and "already exists" in report.errors[0]["message"]
    assert svc.count()["passports"] == 1
    with pilot_services.store.read() as conn:
        assert conn.execute(select(passport_versions.c.passport_id)).all().__len__() == 1


def _row(svc: Any, rec: dict[str, Any], op: Any) -> dict[str, Any]:
    from batteryloop.passport.model import BatteryData

    data = BatteryData.model_validate(rec)
    data.passport_id = f"BL.{op.participant_id}.{data.serial_number}"
    row, _ = svc._rows(data, {"chemistry": "NMC811"}, op.participant_id, "2026-01-01T00:00:00.000000Z", "x")
    return row


def test_concurrent_updates_never_lose_or_fork(pilot_services: Any) -> None:
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    svc = pilot_services.passports
    pid = svc.create_passport(next(pilot.generate_batteries(1, seed=4)), op)["passport_id"]
    applied: list[int] = []
    conflicts: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for k in range(5):
            while True:
                rec = svc.get_record(pid)
                try:
                    svc.update_passport(pid, {"usage": {"deep_discharge_events": n * 100 + k}}, op,
                                        reason=f"w{n}-{k}", expected_version=rec.version)
                    with lock:
                        applied.append(n * 100 + k)
                    break
                except Conflict as exc:
                    with lock:
                        conflicts.append(str(exc))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hist = svc.history(pid)
    # every acknowledged update is exactly one version; the chain is linear and verifies
    assert len(hist) == 1 + len(applied) == 31
    assert len({h["reason"] for h in hist}) == 31
    assert svc.verify(pid)["ok"]


def test_whole_lifecycle_on_this_store(pilot_services: Any) -> None:
    c = pilot_services.pilot["callers"]
    svc = pilot_services.passports
    r = svc.import_passports(pilot.generate_batteries(300, seed=9), c[pilot.AUTOMAKER])
    assert r.stored == 300 and not r.errors
    pid = r.ids[5]
    # by relation: the operator lets the second-life operator repurpose, which lets the recycler recycle
    pilot_services.delegations.grant(pid, pilot.SECOND_LIFE, ["passport.status.repurpose"], c[pilot.AUTOMAKER])
    new = svc.change_status(pid, "repurpose", c[pilot.SECOND_LIFE])
    pilot_services.delegations.grant(new["passport_id"], pilot.RECYCLER_KR, ["passport.status.recycle"],
                                     c[pilot.SECOND_LIFE])
    svc.change_status(new["passport_id"], "recycle", c[pilot.RECYCLER_KR])
    stats = svc.count()
    assert stats["passports"] == 301 and stats["by_status"]["recycled"] == 1
    page = svc.search(c[pilot.AUTHORITY], status="recycled")
    assert [i["passport_id"] for i in page["items"]] == [new["passport_id"]]
    assert svc.verify(pid)["ok"] and svc.verify(new["passport_id"])["ok"]


def test_global_asset_id_is_stored_with_each_passport_and_the_migration_derives_the_same(pilot_services: Any) -> None:
    """Migration 0008 fills passports.global_asset_id for rows stored before it with its own copy of the
    derivation; new rows get passport.identifiers.global_asset_id. The two must agree, or a pack would have two
    ids depending on when it was stored."""
    import importlib.util
    import uuid
    from pathlib import Path

    import batteryloop.store as store_pkg
    from batteryloop.passport.identifiers import global_asset_id

    path = Path(store_pkg.__file__).parent / "migrations" / "versions" / "0008_global_asset_id.py"
    spec = importlib.util.spec_from_file_location("m0008", path)
    m = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(m)
    for pid in ("BL.BPNL000000000EM1.NMC811-042-0000001", "X", "BL.EM1.Ä"):
        assert m.global_asset_id(pid) == global_asset_id(pid)
        assert uuid.UUID(global_asset_id(pid).removeprefix("urn:uuid:")).version == 5
    op = pilot_services.pilot["callers"][pilot.AUTOMAKER]
    pid = pilot_services.passports.create_passport(next(pilot.generate_batteries(1, seed=808)), op)["passport_id"]
    with pilot_services.store.read() as conn:
        stored = conn.execute(select(passports.c.global_asset_id).where(passports.c.id == pid)).scalar()
    assert stored == global_asset_id(pid)
