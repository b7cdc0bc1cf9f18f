"""Kill ``batteryloop demo`` with SIGKILL while the pilot runs: what it stored is whole (every ledger batch
and passport batch all or nothing, every chain verifies) and a re-run completes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _count(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as c:
            return int(c.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return 0


def _demo(tmp: Path, packs: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BATTERYLOOP_DATABASE_URL": f"sqlite:///{tmp}/demo.db", "BATTERYLOOP_VAR_DIR": str(tmp)}
    return subprocess.Popen([sys.executable, "-m", "batteryloop.cli", "demo", "--packs", str(packs), "--years", "6",
                             "--no-dataspace", "--no-serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _check_whole(db: Path) -> dict[str, int]:
    """The killed pilot's store: complete batches only, every chain verifies."""
    from batteryloop.store.db import Store
    from tests.conftest import make_services

    store = Store(f"sqlite:///{db}")
    store.upgrade()
    s = make_services(store)
    rep = s.trace.verify()
    assert rep.ok, rep
    from batteryloop.sim import lanzhou

    def pids(c: sqlite3.Connection, kind: str, actor: str, suffix: str) -> set[str]:
        rows = c.execute("SELECT id FROM trace_events WHERE kind = ? AND actor = ? AND id LIKE ?", (kind, actor, f"%{suffix}"))
        return {r[0][: -len(suffix)] for r in rows}

    with sqlite3.connect(db) as c:
        built = c.execute("SELECT count(*) FROM trace_events WHERE kind = 'pack_assembly' AND actor != ?",
                          (lanzhou.MAKER,)).fetchone()[0]
        issued = c.execute("SELECT count(*) FROM trace_events WHERE kind = 'passport_issued' AND actor != ?",
                           (lanzhou.MAKER,)).fetchone()[0]
        lz_built = c.execute("SELECT count(*) FROM trace_events WHERE kind = 'pack_assembly' AND actor = ?",
                             (lanzhou.MAKER,)).fetchone()[0]
        # the Lanzhou fleets' packs are assembled by their maker through the same material chain: a year's
        # assembly, issue, lease and installation events of them are one batch, all four or none
        fleet = [pids(c, "passport_issued", lanzhou.MAKER, "-issued"), pids(c, "change_of_owner", lanzhou.MAKER, "-lease"),
                 pids(c, "installation", lanzhou.OPERATOR, "-install")]
        ids = [r[0] for r in c.execute("SELECT id FROM passports ORDER BY id")]
        runs = c.execute("SELECT count(*) FROM pilot_runs").fetchone()[0]
    # a year's production events (assembly, issue, install) are one ledger batch: both counts or neither
    assert built == issued
    assert fleet[0] == fleet[1] == fleet[2] and lz_built == len(fleet[0])
    for pid in ids[:: max(1, len(ids) // 200)]:  # every passport's version chain verifies (a sample of 200)
        assert s.passports.verify(pid)["ok"], pid
    store.dispose()
    return {"events": rep.events_checked, "passports": len(ids), "runs": runs}


@pytest.mark.slow
def test_killed_demo_leaves_whole_batches_and_reruns(tmp_path: Path) -> None:
    seen = []
    for k, wait_events in enumerate((1, 4000)):
        tmp = tmp_path / f"kill{k}"
        tmp.mkdir()
        proc = _demo(tmp, 1500)
        db = tmp / "demo.db"
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120 and proc.poll() is None:
            if _count(db, "trace_events") >= wait_events:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the demo ended before it could be killed"
        time.sleep(0.3 * k)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        got = _check_whole(db)
        assert got["runs"] == 0 and got["events"] >= wait_events  # killed before its report, after some batches
        seen.append(got)
        # the killed run's store is replaced by a fresh run that completes
        proc = _demo(tmp, 150)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
        done = _check_whole(db)
        assert done["runs"] == 1 and done["passports"] >= 150
    assert seen[1]["events"] > seen[0]["events"]
