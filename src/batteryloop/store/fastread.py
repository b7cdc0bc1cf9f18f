"""A lean read path for hot primary-key lookups (the passport GET).

SQLAlchemy's per-statement overhead (about 100 µs) dominates a 2 KB primary-key read. On SQLite we
keep one plain ``sqlite3`` connection per thread in autocommit mode — a single SELECT is its own
consistent snapshot in WAL mode. On PostgreSQL we keep a few plain ``psycopg`` connections of our own in
autocommit mode, so that a read is **one round trip**: through the engine's pool it was six (the pool's
checkout ping, ``BEGIN``, the SELECT, ``COMMIT``, the pool's reset-on-return ``ROLLBACK``; measured in
``bench/registry_scale.py``'s in-process profile). A single SELECT in autocommit is its own snapshot, as a
one-statement transaction is. Instead of pinging before each read, a read that finds its connection broken
(server restarted, connection dropped) is run once more on a new connection — safe for a read-only
statement. Only read-only single statements go through here; every write uses :meth:`Store.write`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from .db import Store, StoreBusy


#: seconds a new autocommit connection waits for the server (libpq ``connect_timeout``; the URL's own wins)
CONNECT_TIMEOUT_S = 5
#: the hot read's bounded waits on PostgreSQL: a lock it waits for (a table locked by DDL, e.g. a migration's
#: ALTER TABLE) and the statement as a whole. A primary-key SELECT takes well under a millisecond; past these
#: the read is refused as :class:`StoreBusy` (HTTP 503, retry later) instead of holding an API worker's thread
READ_LOCK_TIMEOUT_MS = 2000
READ_STATEMENT_TIMEOUT_MS = 5000


class AutocommitConnections:
    """A few plain ``psycopg`` connections to the store's PostgreSQL in autocommit mode, for single
    statements that are atomic on their own (a primary-key SELECT; the rate limiter's upsert): each costs
    one round trip. A statement whose connection turns out broken (server restarted, connection dropped) is
    run once more on a new connection — for a SELECT harmless; for the rate limiter's take it may take a
    second token if the first reached the server (the client is refused a little early, never let through
    more). Fork-safe: a forked worker opens its own.

    Any other failure to get an answer — a lock or statement timeout of the sessions' ``options``, a refused
    connection, a connection lost twice — is :class:`StoreBusy` (HTTP 503, the client may retry): its detail
    is ``busy`` (what did not answer), then the driver's error, then ``retry`` (when to try again). This is
    the one place that translation is made for every user of these connections."""

    #: idle connections kept (more are opened while more threads run statements at once, then closed)
    keep_idle = 4

    def __init__(self, store: Store, *, options: str | None = None,
                 busy: str = "the store did not answer in time", retry: str = "retry later") -> None:
        self.store = store
        self.options = options  # server settings for these connections' sessions (libpq ``options``)
        self.busy = busy  # the StoreBusy detail's start: what did not answer
        self.retry = retry  # the StoreBusy detail's end: when to try again
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        store.on_dispose(self.close)

    def _connect(self) -> Any:
        import psycopg

        engine = self.store.engine
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        if self.options:
            cparams = {**cparams, "options": f"{cparams.get('options', '')} {self.options}".strip()}
        cparams.setdefault("connect_timeout", CONNECT_TIMEOUT_S)  # a server that does not answer: an error, not a hang
        return psycopg.connect(*cargs, **cparams, autocommit=True)

    def _checkout(self) -> Any:
        with self._lock:
            if self._pid != os.getpid():  # a forked worker: the parent's connections are not ours to use
                self._idle = []
                self._pid = os.getpid()
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn
        return self._connect()

    def _checkin(self, conn: Any) -> None:
        if conn.closed or conn.broken:
            return
        with self._lock:
            if len(self._idle) < self.keep_idle and self._pid == os.getpid():
                self._idle.append(conn)
                return
        conn.close()

    def one(self, sql: str, params: Any) -> tuple[Any, ...] | None:
        """Run one statement (psycopg placeholders) in autocommit and return its first row (or None)."""
        rows = self._run(sql, params, all_rows=False)
        return rows[0] if rows else None

    def all(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        """Run one statement (psycopg placeholders) in autocommit and return its rows."""
        return self._run(sql, params, all_rows=True)

    def _run(self, sql: str, params: Any, *, all_rows: bool) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            return self._run_once_more_if_lost(sql, params, all_rows=all_rows)
        except psycopg.OperationalError as exc:  # a lock or statement timeout, a lost or refused connection
            raise StoreBusy(f"{self.busy} ({type(exc).__name__}: {str(exc).strip() or 'no message'}); "
                            f"{self.retry}") from exc

    def _run_once_more_if_lost(self, sql: str, params: Any, *, all_rows: bool) -> list[tuple[Any, ...]]:
        import psycopg

        for attempt in (0, 1):
            conn = self._checkout()
            try:
                cur = conn.execute(sql, params)
                if all_rows:
                    rows = cur.fetchall()
                else:
                    row = cur.fetchone()
                    rows = [tuple(row)] if row is not None else []
            except psycopg.OperationalError:
                if not conn.broken or attempt:  # a live connection's error (e.g. a timeout) is the answer
                    self._checkin(conn)
                    raise
                conn.close()
                continue  # the connection was lost: once more on a new one
            except BaseException:
                self._checkin(conn)
                raise
            self._checkin(conn)
            return rows
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        if self._pid == os.getpid():
            for c in idle:
                c.close()


class FastReader:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._local = threading.local()
        self._path = store.engine.url.database if store.is_sqlite else None
        self._pg = None if store.is_sqlite else AutocommitConnections(store, options=(
            f"-c lock_timeout={READ_LOCK_TIMEOUT_MS} -c statement_timeout={READ_STATEMENT_TIMEOUT_MS}"),
            busy="the store did not answer the read in time")
        store.on_dispose(self.close)

    def _sqlite(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=60)
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA query_only=1")
            self._local.conn = conn
        return conn

    def one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """Run one read-only SELECT written with ``?`` placeholders and return its first row."""
        if self._pg is None:
            return self._sqlite().execute(sql, params).fetchone()
        return self._pg.one(sql.replace("?", "%s"), params)  # a timeout or a refused connection: StoreBusy

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
