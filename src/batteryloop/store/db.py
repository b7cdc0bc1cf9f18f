"""Engines and transactions for both stores: SQLite in WAL mode (embedded default) and PostgreSQL.

Every write runs inside :meth:`Store.write` — one transaction, committed on success and rolled back
on any error, so a failed request leaves nothing half-written. On SQLite a write transaction starts
with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the lock instead of failing at commit.

Transient failures — PostgreSQL's serialization failures and deadlocks (SQLSTATE 40001, 40P01),
SQLite's "database is locked" once its busy timeout has run out — roll the transaction back as
any error does. :meth:`Store.run_write` runs a whole write transaction again after such a failure,
with bounded exponential backoff and jitter; callers whose transaction is a function of what they
read (a passport update, a ledger append) use it instead of :meth:`Store.write`.

On a SQLite file the WAL is copied back into the database (checkpointed) by a thread of the store's own
(:class:`WalCheckpointer`), not by the writer at its commit: a checkpoint writes the pages the commits changed
into the database file and waits for the disk (``fsync``), which on a big store takes longer than the
transaction itself; the writer goes on meanwhile. Each connection's page cache is
``BATTERYLOOP_SQLITE_CACHE_MIB`` MiB at most (default 64; SQLite's own default is 2 MiB), which spares
re-reading the index pages a big store's inserts land on; a batch job that writes a big store may raise it for
its own run (:meth:`Store.set_sqlite_cache_mib`: the big pilot does).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ..errors import Conflict

T = TypeVar("T")

#: PostgreSQL SQLSTATEs after which the same transaction may succeed when run again.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


class StoreBusy(Conflict):
    """A write kept failing on transient database errors (serialization failures, deadlocks, locks)."""

    status = 503
    title = "Store busy"


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure that running the same transaction again may cure."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    if isinstance(orig, sqlite3.OperationalError):
        msg = str(orig).lower()
        return "database is locked" in msg or "database table is locked" in msg or "busy" in msg
    return False


def backoff(attempt: int, base: float = 0.005, cap: float = 0.5) -> float:
    """Seconds to wait before try ``attempt + 1``: exponential, capped, with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** attempt))


ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""The ISO 8601 UTC text the store keeps and the hashes cover (microseconds, ``Z``): sortable as text."""


def iso_text(t: datetime) -> str:
    """An aware time as the store's text (:data:`ISO_FORMAT`)."""
    return t.astimezone(UTC).strftime(ISO_FORMAT)


def parse_iso(text: str) -> datetime:
    """The store's text (:data:`ISO_FORMAT`) back to an aware UTC time."""
    return datetime.strptime(text, ISO_FORMAT).replace(tzinfo=UTC)


def utcnow_iso() -> str:
    """Now, as the ISO 8601 UTC text the store keeps and the hashes cover."""
    return iso_text(datetime.now(UTC))


#: each SQLite connection's page cache at most (MiB)
SQLITE_CACHE_MIB = int(os.environ.get("BATTERYLOOP_SQLITE_CACHE_MIB", "64"))
#: WAL pages after which a committing writer checkpoints itself — only if the checkpointer thread falls behind
#: (SQLite's own default, 1,000 pages, makes the writer checkpoint at nearly every commit of a big store)
WAL_BACKSTOP_PAGES = 100_000
#: the write-ahead log's size kept on disk once a checkpoint has copied it all (``PRAGMA journal_size_limit``):
#: SQLite reuses the file from its start and, without a limit, never shrinks it from its high-water mark (1.4 GB
#: during the 100,000-pack pilot; see also WalCheckpointer._truncate)
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


class WalCheckpointer:
    """Checkpoints a SQLite file's write-ahead log in a thread of its own, at most every ``interval`` seconds
    while writes are committed (:meth:`poke` after each): ``PRAGMA wal_checkpoint(PASSIVE)`` on a connection
    of its own, which copies what no reader still needs and never blocks readers or the writer. The writers'
    own automatic checkpoint stays on as a backstop (:data:`WAL_BACKSTOP_PAGES`). The thread is started at the
    first :meth:`poke` of each process (a forked child starts its own), ends after ``idle_seconds`` without a
    write — cutting the log to nothing first (``wal_checkpoint(TRUNCATE)``, if no one needs it within 0.1 s) — and
    is stopped by :meth:`close`, which does the same once more."""

    def __init__(self, path: str, interval: float = 1.0, idle_seconds: float = 30.0) -> None:
        self.path = path
        self.interval = interval
        self.idle_seconds = idle_seconds
        self.checkpoints = 0  # checkpoints run (a figure for tests and benchmarks)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()
        # held by the thread whenever it is inside SQLite, and taken by a fork (os.register_at_fork): a child
        # forked while the thread held one of SQLite's own mutexes would hang at its first SQLite call
        self._in_sqlite = threading.Lock()
        _LIVE_CHECKPOINTERS.add(self)

    def _after_fork(self) -> None:
        """In a forked child: no thread runs here, and the locks may have been held by the parent's thread at the
        fork — fresh ones (the child's first write starts its own thread)."""
        self._lock = threading.Lock()
        self._in_sqlite = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread, self._pid = None, 0

    def poke(self) -> None:
        """A write was committed: checkpoint soon."""
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                self._stop.clear()
                self._wake.clear()
                self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)
                self._pid = os.getpid()
                self._thread.start()
            self._wake.set()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.checkpoints += 1

    def _truncate(self, conn: sqlite3.Connection) -> None:
        """Writes have stopped: the log copied back and cut to nothing, if no reader or writer needs it within
        0.1 s (a read-only spell, e.g. the dashboard after the pilot, would otherwise keep the file at its size)."""
        conn.execute("PRAGMA busy_timeout=100")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        self.checkpoints += 1

    def _run(self) -> None:
        try:
            with self._in_sqlite:
                conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:  # the file is gone: nothing to checkpoint (the writers' backstop if it comes back)
            with self._lock:
                self._thread = None
            return
        try:
            while not self._stop.is_set():
                if not self._wake.wait(self.idle_seconds):
                    with self._lock:  # no write for a while: the thread ends (the next write starts another)
                        idle = not self._wake.is_set()
                        if idle:
                            self._thread = None
                    if not idle:
                        continue
                    try:  # outside the lock: a write meanwhile is not held up (its own thread starts)
                        with self._in_sqlite:
                            self._truncate(conn)
                    except sqlite3.Error:  # busy or gone: the next idle spell tries again
                        pass
                    return
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    with self._in_sqlite:
                        self._checkpoint(conn)
                except sqlite3.Error:  # busy or gone: the writers' backstop still checkpoints
                    pass
                self._stop.wait(self.interval)
        finally:
            with self._in_sqlite:
                conn.close()

    def close(self) -> None:
        """Stop the thread (this process's), then copy the log back and cut it to nothing (if no one needs it)."""
        with self._lock:
            t = self._thread
            if t is None or self._pid != os.getpid():
                return
            self._stop.set()
            self._wake.set()
        t.join(timeout=60)
        with self._lock:
            self._thread = None
        try:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            try:
                self._truncate(conn)
            finally:
                conn.close()
        except sqlite3.Error:
            pass


_LIVE_CHECKPOINTERS: weakref.WeakSet[WalCheckpointer] = weakref.WeakSet()


_HELD_AT_FORK: list[threading.Lock] = []


def _checkpointers_before_fork() -> None:
    """Wait until no checkpoint thread of this process is inside SQLite, and keep it out until the fork is done:
    SQLite's mutexes (its allocator's among them) held by another thread at the fork stay held forever in the
    child, whose first SQLite call then hangs."""
    for ck in list(_LIVE_CHECKPOINTERS):
        lock = ck._in_sqlite
        lock.acquire()
        _HELD_AT_FORK.append(lock)


def _checkpointers_after_fork_in_parent() -> None:
    while _HELD_AT_FORK:
        _HELD_AT_FORK.pop().release()


def _checkpointers_after_fork() -> None:
    _HELD_AT_FORK.clear()
    for ck in list(_LIVE_CHECKPOINTERS):
        ck._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_checkpointers_before_fork, after_in_parent=_checkpointers_after_fork_in_parent,
                        after_in_child=_checkpointers_after_fork)


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (``None``: another database, or in memory)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    db = u.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return str(Path(db).expanduser())


def make_engine(url: str, busy_timeout_ms: int = 60_000) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        db = u.database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, connect_args={"check_same_thread": False,
                                                   "timeout": busy_timeout_ms / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_MIB * 1024}")
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
            cur.execute(f"PRAGMA journal_size_limit={int(WAL_SIZE_LIMIT_BYTES)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("batteryloop_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    return create_engine(u, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Store:
    """A database: its engine plus read and write transactions."""

    #: how many times :meth:`run_write` tries a transaction that fails transiently
    write_attempts = 10

    def __init__(self, url: str, *, busy_timeout_ms: int = 60_000, sqlite_cache_mib: int | None = None) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.retries = 0  # transient failures retried so far (a figure for tests and monitoring)
        self._retries_lock = threading.Lock()
        self._on_dispose: list[Callable[[], None]] = []
        path = sqlite_file(url)
        self.checkpointer = WalCheckpointer(path) if path else None
        # each connection's page cache (SQLITE_CACHE_MIB at connect; another size at checkout, see below): a
        # worker process's store takes its parent's (``sqlite_cache_mib``)
        self._cache_kib = (sqlite_cache_mib or SQLITE_CACHE_MIB) * 1024
        if self.is_sqlite:
            event.listen(self.engine, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        # a pooled connection takes the store's cache size as it is now (set_sqlite_cache_mib)
        have = record.info.get("batteryloop_cache_kib", SQLITE_CACHE_MIB * 1024)
        if have != self._cache_kib:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA cache_size=-{int(self._cache_kib)}")
            cur.close()
            record.info["batteryloop_cache_kib"] = self._cache_kib

    @property
    def sqlite_cache_mib(self) -> int:
        """Each SQLite connection's page cache at most, in MiB (what a worker's own store of this one takes)."""
        return self._cache_kib // 1024

    def set_sqlite_cache_mib(self, mib: int) -> int:
        """Each SQLite connection's page cache at most ``mib`` MiB from now on (connections take it at their next
        use); returns the size it had, to restore it. SQLite frees the pages above a smaller size. Nothing on
        another database."""
        before = self._cache_kib // 1024
        if mib < 1:
            raise ValueError(f"a page cache of {mib} MiB: at least 1")
        self._cache_kib = int(mib) * 1024
        return before

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction. Commits when the block ends, rolls back if it raises."""
        with self.engine.connect() as conn:
            conn.execution_options(batteryloop_write=True)
            with conn.begin():
                yield conn
        if self.checkpointer is not None:
            self.checkpointer.poke()

    def note_retry(self) -> None:
        with self._retries_lock:
            self.retries += 1

    def run_write(self, fn: Callable[[Connection], T], attempts: int | None = None) -> T:
        """``fn(conn)`` in one write transaction, run again (after a backoff) if it fails transiently.

        ``fn`` must do nothing outside the transaction that cannot be done twice. After the last
        attempt the failure becomes :class:`StoreBusy` (HTTP 503: the client may retry later).
        """
        n = attempts or self.write_attempts
        for attempt in range(n):
            try:
                with self.write() as conn:
                    return fn(conn)
            except DBAPIError as exc:
                if not is_transient(exc):
                    raise
                if attempt == n - 1:
                    raise StoreBusy(f"the store stayed busy through {n} attempts ({exc.orig}); "
                                    f"retry later") from exc
                self.note_retry()
                time.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    def upgrade(self) -> None:
        """Apply the Alembic migrations up to head."""
        from .migrate import upgrade

        upgrade(self)

    def on_dispose(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` when the store is disposed (readers that keep connections of their own close them)."""
        self._on_dispose.append(fn)

    def dispose(self) -> None:
        for fn in self._on_dispose:
            fn()
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.engine.dispose()
