"""The rate limiter's shared token buckets (``rate_limit_buckets``), for API workers and hosts on one PostgreSQL.

:func:`take` refills a key's bucket for the time since its last request and takes one token if there is
one, in one atomic statement (``INSERT … ON CONFLICT DO UPDATE``): concurrent requests of one client on
any number of workers queue on the bucket's row lock, so the limit holds across all of them. The clock is
the caller's (seconds since the epoch; hosts keep it in step with NTP): a bucket never goes back in time.
:func:`prune` deletes buckets idle long enough to be full again (a full bucket and no bucket are the same),
so the table stays the size of the clients active in the last few minutes. PostgreSQL only: on SQLite the
API runs in one process and keeps its buckets in memory (:mod:`batteryloop.api.ratelimit`).
"""

from __future__ import annotations

from sqlalchemy import text

from .db import Store
from .fastread import AutocommitConnections

_TAKE = text("""
INSERT INTO rate_limit_buckets AS b (key, tokens, at, allowed)
VALUES (:key, :burst - 1, :now, true)
ON CONFLICT (key) DO UPDATE SET
  tokens = LEAST(:burst, b.tokens + GREATEST(0, :now - b.at) * :rate)
           - CASE WHEN LEAST(:burst, b.tokens + GREATEST(0, :now - b.at) * :rate) >= 1 THEN 1 ELSE 0 END,
  at = GREATEST(b.at, :now),
  allowed = LEAST(:burst, b.tokens + GREATEST(0, :now - b.at) * :rate) >= 1
RETURNING allowed, tokens
""")

_PRUNE = text("DELETE FROM rate_limit_buckets WHERE at < :before")


# _TAKE for a plain psycopg connection (named placeholders %(name)s)
_TAKE_PSYCOPG = _TAKE.text.replace(":key", "%(key)s").replace(":burst", "%(burst)s").replace(
    ":now", "%(now)s").replace(":rate", "%(rate)s")


def take(store: Store, key: str, *, rate: float, burst: float, now: float,
         conns: AutocommitConnections | None = None) -> tuple[bool, float]:
    """Take one token from ``key``'s bucket (``burst`` tokens, refilled at ``rate`` a second) at ``now``:
    (whether there was one, the tokens left). One statement, atomic on its own: run in autocommit. Through
    ``conns`` (what :class:`SharedBuckets` passes) it is one round trip; through the engine's pool it also
    costs the pool's checkout ping."""
    params = {"key": key, "rate": rate, "burst": burst, "now": now}
    if conns is not None:
        row = conns.one(_TAKE_PSYCOPG, params)
        assert row is not None  # RETURNING of an upsert: always one row
        allowed, tokens = row
    else:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            allowed, tokens = conn.execute(_TAKE, params).one()
    return bool(allowed), float(tokens)


# _PRUNE as one statement that answers how many it deleted (AutocommitConnections returns rows, not a rowcount)
_PRUNE_COUNTED_PSYCOPG = ("WITH d AS (DELETE FROM rate_limit_buckets WHERE at < %(before)s RETURNING 1) "
                          "SELECT count(*) FROM d")


def prune(store: Store, *, before: float, conns: AutocommitConnections | None = None) -> int:
    """Delete the buckets last used before ``before`` (seconds since the epoch); how many were. Through ``conns``
    (what :class:`SharedBuckets` passes) it is one statement in autocommit on the limiter's sessions, whose commit
    does not wait for the disk: the rows it locks are released when the statement ends, not after a WAL flush (a
    take waiting on one of them runs on the API's event loop). Run again after a lost connection, it deletes what
    is left: harmless."""
    if conns is not None:
        row = conns.one(_PRUNE_COUNTED_PSYCOPG, {"before": before})
        return int(row[0]) if row is not None else 0
    with store.write() as conn:
        return conn.execute(_PRUNE, {"before": before}).rowcount


#: how long a take or a prune waits for a bucket's row lock, and how long either may run, in milliseconds (the
#: statement then fails: the request gets a 503, never a pass). A take runs in well under a millisecond.
LOCK_TIMEOUT_MS = 1000
STATEMENT_TIMEOUT_MS = 2000


class SharedBuckets:
    """:func:`take` and an occasional :func:`prune` on one store: what the API's rate limiter calls on PostgreSQL."""

    def __init__(self, store: Store, *, prune_every_s: float = 60.0) -> None:
        self.store = store
        self.prune_every_s = prune_every_s
        self._pruned_at = 0.0
        # one round trip a request (no pool ping, no BEGIN/COMMIT). The commit does not wait for the disk
        # (synchronous_commit off): a take lost in a server crash gives a client a token back — harmless — and a
        # bucket's row lock is held for the statement only, not a flush. The take runs on the API's event loop, so
        # its waits are bounded (LOCK_TIMEOUT_MS, STATEMENT_TIMEOUT_MS): past them :meth:`take` raises StoreBusy and
        # the request gets a 503, never a pass
        self._conns = AutocommitConnections(store, options=(
            f"-c synchronous_commit=off -c lock_timeout={LOCK_TIMEOUT_MS} -c statement_timeout={STATEMENT_TIMEOUT_MS}"),
            busy="the rate limiter's store did not answer in time", retry="retry in 1 s")

    def prune_due(self, now: float) -> bool:
        """Whether :meth:`prune_idle` is due (every ``prune_every_s``)."""
        return now - self._pruned_at >= self.prune_every_s

    def claim_prune(self, now: float) -> bool:
        """Whether :meth:`prune_idle` is due, and if so the claim to run it: the next calls answer False until
        ``prune_every_s`` later. The API's limiter claims on its event loop and prunes in a worker thread; asked
        only :meth:`prune_due`, every request the loop ran during that hand-over saw the prune still due and
        started a DELETE of its own."""
        if not self.prune_due(now):
            return False
        self._pruned_at = now
        return True

    def prune_idle(self, now: float, rate: float, burst: float) -> int:
        """Delete the buckets idle long enough to be full again; how many were. A bucket idle for burst / rate
        seconds is full again: the same as none. Ten minutes covers the node's limits (a burst is a fifth of a
        minute's requests); a longer idle time only keeps rows."""
        self._pruned_at = now
        return prune(self.store, before=now - max(600.0, burst / rate if rate > 0 else 0.0), conns=self._conns)

    def take(self, key: str, rate: float, burst: float, now: float) -> tuple[bool, float]:
        """One token from ``key``'s bucket (one upsert, one round trip); prunes first when due, unless the caller
        does (the API's rate limiter prunes off its event loop and then takes on it)."""
        if self.claim_prune(now):
            self.prune_idle(now, rate, burst)
        # a lock or statement timeout, a lost or refused connection: StoreBusy (from AutocommitConnections)
        return take(self.store, key, rate=rate, burst=burst, now=now, conns=self._conns)
