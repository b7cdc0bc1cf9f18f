"""The audit log: every read that disclosed more than the public tier (who, what, when, which tiers).

Recording must not slow the hot read path, so entries go to an in-memory queue that a background
thread writes in batches (every ``flush_seconds`` or ``batch`` entries, and at shutdown). A crash can
lose at most the last ``flush_seconds`` of entries; :meth:`AuditLog.flush` writes them at once.
Authorities and the node admin query the whole log; an economic operator queries its own passports'.
"""

from __future__ import annotations

import atexit
import threading
from collections import deque
from typing import Any

from .access import Caller
from .passport.tiers import PUBLIC_ONLY, TIER_ORDER, Tier
from .store import audit as repo
from .store.db import Store, utcnow_iso


class AuditLog:
    def __init__(self, store: Store, *, flush_seconds: float = 0.2, batch: int = 1000) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.batch = batch
        self._queue: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        atexit.register(self.close)

    def _ensure_writer(self) -> None:
        """Start the background writer on demand; it ends by itself after a few idle seconds."""
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="batteryloop-audit", daemon=True)
                self._thread.start()

    def record(self, caller: Caller, action: str, passport_id: str, tiers: frozenset[Tier], channel: str) -> None:
        """Note a read; only reads that disclosed more than the public tier are kept."""
        if tiers <= PUBLIC_ONLY:
            return
        self._queue.append({
            "at": utcnow_iso(), "actor": caller.participant_id or "admin", "action": action,
            "passport_id": passport_id, "tiers": ",".join(t.value for t in TIER_ORDER if t in tiers and t is not Tier.PUBLIC),
            "channel": channel,
        })
        self._ensure_writer()
        if len(self._queue) >= self.batch:
            self._wake.set()

    def _run(self, idle_exit_seconds: float = 3.0) -> None:
        idle = 0.0
        while not self._stop:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                idle = 0.0 if self.flush() else idle + self.flush_seconds
            except Exception:  # noqa: BLE001 - keep the writer alive; entries stay queued for the next try
                idle = 0.0
            if idle >= idle_exit_seconds and not self._queue:
                return

    def flush(self) -> int:
        with self._lock:
            rows = []
            while self._queue:
                rows.append(self._queue.popleft())
            if not rows:
                return 0
            try:
                with self.store.write() as conn:
                    repo.insert_entries(conn, rows)
            except Exception:
                self._queue.extendleft(reversed(rows))
                raise
            return len(rows)

    def close(self) -> None:
        if self._stop:
            return
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(2)
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - at interpreter exit the store may be gone
            pass

    def query(self, caller: Caller, *, passport_id: str | None = None, actor: str | None = None,
              since: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Who read what, when. Authorities and the admin see everything; operators their passports'."""
        from .errors import Unauthorized

        if caller.anonymous:
            raise Unauthorized("the audit log needs a participant's token")
        self.flush()
        from .access import oversees

        with self.store.read() as conn:  # an operator sees reads of its own passports
            return repo.entries(conn, of_operator=not oversees(caller), operator=caller.participant_id,
                                passport_id=passport_id, actor=actor, since=since, limit=max(1, min(limit, 1000)))
