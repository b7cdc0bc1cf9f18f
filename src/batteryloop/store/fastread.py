"""A lean read path for hot primary-key lookups (the passport GET).

SQLAlchemy's per-statement overhead (about 100 µs) dominates a 2 KB primary-key read. On SQLite we
keep one plain ``sqlite3`` connection per thread in autocommit mode — a single SELECT is its own
consistent snapshot in WAL mode — and on PostgreSQL we run the same SQL on a pooled connection
through the DBAPI. Only read-only single statements go through here; every write uses
:meth:`Store.write`.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from .db import Store


class FastReader:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._local = threading.local()
        self._path = store.engine.url.database if store.is_sqlite else None

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
        if self._path is not None:
            return self._sqlite().execute(sql, params).fetchone()
        raw = self.store.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(sql.replace("?", "%s"), params)
            row = cur.fetchone()
            cur.close()
            raw.commit()
            return tuple(row) if row is not None else None
        finally:
            raw.close()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
