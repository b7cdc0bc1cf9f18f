"""Kill `batteryloop passport import` with SIGKILL while it is writing a file, several times, then run it again.

The import of a file is one transaction: after each kill the store holds every earlier, completed file
and nothing of the killed one (no half-written batch), every version chain verifies, and a re-run of the
same file completes. Runs on SQLite, and on PostgreSQL in make test-postgres (tests.conftest.database_url).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from batteryloop.sim import pilot
from batteryloop.store.db import Store
from batteryloop.store.tables import passport_versions, passports
from tests.conftest import database_url, make_services, seed_pilot

pytestmark = [pytest.mark.slow, pytest.mark.any_store]
KILLS = 3


def _write(path: Path, n: int, seed: int) -> set[str]:
    recs = list(pilot.generate_batteries(n, seed=seed))
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in recs))
    return {r["passport_id"] for r in recs} if "passport_id" in recs[0] else set()


def _cli(url: str, tmp: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BATTERYLOOP_DATABASE_URL": url, "BATTERYLOOP_VAR_DIR": str(tmp / "var")}
    return subprocess.Popen([sys.executable, "-m", "batteryloop.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _writing(url: str, wal: Path, wal_before: int) -> bool:
    """Whether the import's transaction has begun writing passports (not yet committed)."""
    if url.startswith("sqlite"):  # the uncommitted pages spill into the write-ahead log
        return wal.exists() and wal.stat().st_size > wal_before + 1_000_000
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return bool(c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND query ILIKE 'INSERT INTO passport%'")).scalar())
    finally:
        eng.dispose()


def _counts(store: Store) -> tuple[int, int]:
    with store.read() as conn:
        return (conn.execute(select(func.count()).select_from(passports)).scalar_one(),
                conn.execute(select(func.count()).select_from(passport_versions)).scalar_one())


def test_killed_import_leaves_nothing_half_written_and_a_rerun_completes(tmp_path: Path) -> None:
    url = database_url(tmp_path, "imp")
    store = Store(url)
    store.upgrade()
    svc = make_services(store)
    seed_pilot(svc)
    wal = tmp_path / "imp.db-wal"

    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    _write(first, 2_000, seed=31)
    _write(second, 25_000, seed=32)
    p = _cli(url, tmp_path, "passport", "import", str(first), "--as", pilot.AUTOMAKER)
    assert p.wait(120) == 0, p.stderr.read()  # type: ignore[union-attr]
    assert _counts(store) == (2_000, 2_000)

    for kill in range(KILLS):
        wal_before = wal.stat().st_size if wal.exists() else 0
        proc = _cli(url, tmp_path, "passport", "import", str(second), "--as", pilot.AUTOMAKER)
        deadline = time.monotonic() + 120
        while not _writing(url, wal, wal_before):
            assert proc.poll() is None, f"the import ended before it could be killed: {proc.stderr.read()}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.02)
        time.sleep(0.05 * kill)  # kill at a different point of the write each time
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL, "the import finished before the kill"
        # after the crash: the first file intact, nothing of the killed one, every chain verifies
        reopened = Store(url)
        try:
            assert _counts(reopened) == (2_000, 2_000), f"kill {kill + 1}: the killed import left rows behind"
            services = make_services(reopened)
            for pid in list(services.passports.iter_ids())[:50]:
                assert services.passports.verify(pid)["ok"]
        finally:
            reopened.dispose()

    # a re-run of the same file completes
    p = _cli(url, tmp_path, "passport", "import", str(second), "--as", pilot.AUTOMAKER)
    assert p.wait(300) == 0, p.stderr.read()  # type: ignore[union-attr]
    assert _counts(store) == (27_000, 27_000)
    store.dispose()
