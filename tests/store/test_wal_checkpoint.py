"""A SQLite store's WAL is checkpointed by a thread of the store's own, not by the writer at its commit
(store/db.py, ``WalCheckpointer``): the writer's own automatic checkpoint is only a backstop, the thread
copies the log back after commits, ends when idle, restarts at the next write, and stops at dispose."""

from __future__ import annotations

import sqlite3
import threading
import time

from sqlalchemy import text

from batteryloop.store import db
from batteryloop.store.db import SQLITE_CACHE_MIB, WAL_BACKSTOP_PAGES, WAL_SIZE_LIMIT_BYTES, Store


def _wait(cond, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def _child_status(pid: int, seconds: float) -> int | None:
    """The forked child's wait status, or ``None`` if it has not ended within ``seconds`` (then it is killed)."""
    import os

    end = time.monotonic() + seconds
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > end:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.005)


def _store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path}/s.db")
    with store.write() as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"))
    return store


def _backfilled(path: str) -> bool:
    """Whether every frame of the log is in the database file (a passive checkpoint that finds nothing to copy
    says log == checkpointed)."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        busy, log, done = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return busy == 0 and log == done
    finally:
        con.close()


def test_the_writer_only_checkpoints_as_a_backstop_and_its_cache_is_set(tmp_path) -> None:
    store = _store(tmp_path)
    try:
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_BACKSTOP_PAGES
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_MIB * 1024
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar() == WAL_SIZE_LIMIT_BYTES
    finally:
        store.dispose()


def test_the_log_shrinks_to_its_limit_once_checkpointed(tmp_path, monkeypatch) -> None:
    """Without a limit SQLite reuses the log from its start but keeps the file at its high-water mark; with
    ``journal_size_limit`` the writer that starts the log over after a full checkpoint cuts it to the limit."""
    import os

    monkeypatch.setattr(db, "WAL_SIZE_LIMIT_BYTES", 1024 * 1024)
    store = _store(tmp_path)
    wal = tmp_path / "s.db-wal"
    ck = store.checkpointer
    assert ck is not None
    ck.interval = 0.01
    try:
        with store.write() as conn:  # ~8 MB of pages in one transaction: the log grows past them
            conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 4000} for _ in range(2000)])
        assert os.path.getsize(wal) > 7 * 1024 * 1024
        assert _wait(lambda: _backfilled(str(tmp_path / "s.db")))
        with store.write() as conn:  # the next writer starts the log over: cut to the limit
            conn.execute(text("INSERT INTO t (v) VALUES ('after')"))
        assert os.path.getsize(wal) <= 1024 * 1024
        with store.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2001
    finally:
        store.dispose()


def test_commits_are_checkpointed_by_the_thread(tmp_path) -> None:
    store = _store(tmp_path)
    ck = store.checkpointer
    assert ck is not None
    try:
        assert _wait(lambda: ck.checkpoints >= 1)
        n = ck.checkpoints
        ck.interval = 0.05
        time.sleep(0.1)
        with store.write() as conn:  # ~4 MB of pages: more than SQLite's own 1,000-page threshold
            conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 4000} for _ in range(1000)])
        assert _wait(lambda: ck.checkpoints > n)
        assert _wait(lambda: _backfilled(str(tmp_path / "s.db")))
        with store.read() as conn:  # and the rows are all there
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1000
    finally:
        store.dispose()


def test_the_thread_ends_when_idle_restarts_at_the_next_write_and_stops_at_dispose(tmp_path) -> None:
    store = _store(tmp_path)
    ck = store.checkpointer
    assert ck is not None
    ck.idle_seconds = 0.2
    ck.interval = 0.01
    assert _wait(lambda: ck._thread is None)  # idle: ended
    n = ck.checkpoints
    with store.write() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
    assert ck._thread is not None  # started again by the write
    assert _wait(lambda: ck.checkpoints > n)
    ck.idle_seconds = 30.0
    with store.write() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('b')"))
    store.dispose()
    assert ck._thread is None
    assert not any(t.name == "sqlite-wal-checkpoint" and t.is_alive() for t in threading.enumerate()
                   if t is not threading.current_thread() and getattr(t, "_target", None) == ck._run)


def test_the_log_is_cut_to_nothing_when_writes_stop_and_at_dispose(tmp_path) -> None:
    """Review finding: the limit only applies when a writer starts the log over; after the pilot's last write the
    dashboard only reads, and the log stayed at its high-water mark. When writes stop (the thread's idle end) and
    at dispose the log is copied back and cut to nothing (another connection keeps the file open here, as the
    server's readers do)."""
    import os

    store = _store(tmp_path)
    wal = tmp_path / "s.db-wal"
    ck = store.checkpointer
    assert ck is not None
    ck.interval, ck.idle_seconds = 0.01, 0.3
    reader = sqlite3.connect(str(tmp_path / "s.db"), isolation_level=None)
    try:
        for end in ("idle", "dispose"):
            with store.write() as conn:
                conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 4000} for _ in range(2000)])
            assert os.path.getsize(wal) > 7 * 1024 * 1024
            if end == "idle":
                assert _wait(lambda: ck._thread is None)  # no write for idle_seconds: the thread ended
                assert _wait(lambda: os.path.getsize(wal) == 0)
            else:
                ck.idle_seconds = 30.0
                store.dispose()
                assert os.path.getsize(wal) == 0
            assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == (2000 if end == "idle" else 4000)
    finally:
        reader.close()
        store.dispose()


def test_no_checkpointer_for_a_store_in_memory() -> None:
    store = Store("sqlite:///:memory:")
    try:
        assert store.checkpointer is None
        with store.write() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        store.dispose()


def test_a_forked_child_checkpoints_even_if_the_lock_was_held_at_the_fork(tmp_path) -> None:
    # the parent's checkpointer lock held (by its thread, say) at the moment of the fork: the child gets fresh
    # locks and starts a thread of its own at its first commit, instead of waiting forever. (The child only pokes
    # the checkpointer: a forked child must not use the parent's pooled database connections.)
    import multiprocessing as mp
    import os

    if "fork" not in mp.get_all_start_methods():
        return
    store = _store(tmp_path)
    ck = store.checkpointer
    assert ck is not None
    try:
        with ck._lock:
            pid = os.fork()
            if pid == 0:  # the child
                code = 1
                try:
                    n = ck.checkpoints
                    ck.poke()
                    ok = _wait(lambda: ck.checkpoints > n) and ck._pid == os.getpid()
                    ck.close()
                    code = 0 if ok and ck._thread is None else 2
                finally:
                    os._exit(code)
        status = _child_status(pid, 30)  # a child stuck on the lock would never end: give it 30 s
        assert status is not None, "the forked child hung on the checkpointer's lock"
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        store.dispose()


def test_a_child_forked_while_the_thread_checkpoints_can_use_sqlite(tmp_path) -> None:
    # the pilot forks its worker pools after writes, while the checkpoint thread may be inside SQLite; a child
    # forked while that thread held one of SQLite's own mutexes hung at its first SQLite call (measured: 24 of
    # 300 forks right after a commit, before the fork hooks waited for the thread to leave SQLite)
    import multiprocessing as mp
    import os

    if "fork" not in mp.get_all_start_methods():
        return
    store = _store(tmp_path)
    ck = store.checkpointer
    assert ck is not None
    ck.interval = 0.0
    hung = 0
    try:
        for i in range(120):
            with store.write() as conn:
                conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 4000} for _ in range(300)])
            time.sleep((i % 7) * 0.001)  # fork at different moments of the checkpoint that the commit started
            pid = os.fork()
            if pid == 0:  # the child: one SQLite call of its own
                try:
                    con = sqlite3.connect(":memory:")
                    con.execute("SELECT 1").fetchall()
                    con.close()
                finally:
                    os._exit(0)
            hung += _child_status(pid, 10) is None
        assert ck.checkpoints > 0
        assert hung == 0, f"{hung} of 120 forked children hung at their first SQLite call"
    finally:
        store.dispose()


def test_a_batch_job_raises_the_page_cache_and_restores_it(tmp_path) -> None:
    store = _store(tmp_path)
    try:
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_MIB * 1024
        assert store.set_sqlite_cache_mib(300) == SQLITE_CACHE_MIB
        with store.write() as conn:  # the pooled connection takes the new size at its next use
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -300 * 1024
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -300 * 1024
        assert store.set_sqlite_cache_mib(SQLITE_CACHE_MIB) == 300
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_MIB * 1024
        import pytest

        with pytest.raises(ValueError, match="at least 1"):
            store.set_sqlite_cache_mib(0)
    finally:
        store.dispose()


def test_a_worker_store_takes_its_parents_page_cache(tmp_path, monkeypatch) -> None:
    # the pilot's worker processes (outflows, verification) open their own store of the same file: with the
    # page cache the pilot set on its own (Store.sqlite_cache_mib passed in their initializer's arguments)
    from batteryloop.trace import _parallel

    store = _store(tmp_path)
    try:
        store.set_sqlite_cache_mib(200)
        assert store.sqlite_cache_mib == 200
        monkeypatch.setattr(_parallel, "_STORE", None, raising=False)
        for init in (lambda: _parallel._init_outflows(store.url, store.sqlite_cache_mib),
                     lambda: _parallel._init_verify(store.url, {}, store.sqlite_cache_mib)):
            init()
            child = _parallel._STORE
            try:
                assert child.sqlite_cache_mib == 200
                with child.read() as conn:
                    assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -200 * 1024
            finally:
                child.dispose()
        plain = Store(store.url)
        try:
            assert plain.sqlite_cache_mib == SQLITE_CACHE_MIB
        finally:
            plain.dispose()
    finally:
        store.dispose()
